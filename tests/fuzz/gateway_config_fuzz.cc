// libFuzzer target: the gateway's config parser (gateway/config: TOML through toml++, then our
// key readers and bounds). The input is the config file's text.
//
// Invariants checked besides "no crash, no sanitizer report":
//   - parse_config returns a config or a ConfigError, never throws (toml++ and our readers
//     throw internally; the daemon must get a status);
//   - an error names the file and has a message, and its line is within the text;
//   - an accepted config holds only values its own rules accept (each key re-checked with the
//     rule parse_config applied), and each TCP listen address reads back from its own text;
//   - validate_config of an accepted config returns, and parsing is deterministic;
//   - parse_size of the raw text is either refused or a value its digits produce.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "config_rules.h"
#include "edge/gateway/config.h"
#include "fuzz_check.h"

namespace {

namespace rules = edge::gateway::config_rules;
using edge::gateway::ConfigError;
using edge::gateway::GatewayConfig;

constexpr const char* kFile = "fuzz.toml";

void check_accepted(const GatewayConfig& c) {
  for (const rules::Uint32Key& key : rules::kUint32Keys) {
    FUZZ_CHECK(!rules::check_range(c.*key.member, key.range), "an accepted key is out of range");
  }
  for (const rules::UpstreamUint32Key& key : rules::kUpstreamUint32Keys) {
    FUZZ_CHECK(!rules::check_range(c.upstream.*key.member, key.range),
               "an accepted upstream key is out of range");
  }
  FUZZ_CHECK(!rules::check_buffer_bytes(c.buffer_max_bytes), "buffer.max_bytes out of range");
  FUZZ_CHECK(!rules::check_gateway_id(c.gateway_id), "gateway.id not allowed");
  FUZZ_CHECK(!rules::check_log_level(c.log_level), "gateway.log_level not allowed");
  for (const auto& serial : c.serial) {
    FUZZ_CHECK(!rules::check_not_empty(serial.path), "an empty serial path");
    FUZZ_CHECK(!rules::check_baud(serial.baud), "a serial baud not allowed");
  }
  for (const auto& unix_socket : c.unix_sockets) {
    FUZZ_CHECK(!rules::check_unix_path(unix_socket.path), "a unix path not allowed");
  }
  for (const auto& tcp : c.tcp) {
    FUZZ_CHECK(!rules::check_tcp(tcp), "a tcp listen address not allowed");
    std::string why;
    const auto again = rules::parse_listen(rules::listen_string(tcp), &why);
    FUZZ_CHECK(again.has_value() && again->host == tcp.host && again->port == tcp.port,
               "a tcp listen address does not read back from its own text");
  }
  if (!c.upstream.uri.empty()) {
    FUZZ_CHECK(!rules::check_upstream_uri(c.upstream.uri), "upstream.uri not allowed");
  }
  FUZZ_CHECK(!rules::check_upstream_fields(c.upstream), "upstream keys break their rules");
  if (!c.metrics_listen.empty()) {
    FUZZ_CHECK(!rules::check_metrics_listen(c.metrics_listen, c.metrics_allow_remote),
               "metrics.listen not allowed");
  }
}

void check_size_text(std::string_view text) {
  const std::optional<std::uint64_t> size = edge::gateway::parse_size(text);
  if (!size) {
    return;
  }
  FUZZ_CHECK(!text.empty() && text.front() >= '0' && text.front() <= '9',
             "parse_size accepted text not starting with a digit");
  const std::size_t digits = static_cast<std::size_t>(
      std::find_if(text.begin(), text.end(), [](char c) { return c < '0' || c > '9'; }) -
      text.begin());
  const std::string_view suffix = text.substr(digits);
  std::uint64_t number = 0;
  for (const char c : text.substr(0, digits)) {
    number = number * 10U + static_cast<std::uint64_t>(c - '0');  // wraps only if refused below
  }
  const std::uint64_t scale = suffix.empty() || suffix == "B" ? 1
                              : suffix == "KiB"               ? 1ULL << 10U
                              : suffix == "MiB"               ? 1ULL << 20U
                              : suffix == "GiB"               ? 1ULL << 30U
                              : suffix == "TiB"               ? 1ULL << 40U
                                                              : 0;
  FUZZ_CHECK(scale != 0, "parse_size accepted an unknown suffix");
  FUZZ_CHECK(*size / scale == number && *size % scale == 0, "parse_size got the value wrong");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::variant<GatewayConfig, ConfigError> parsed;
  try {
    parsed = edge::gateway::parse_config(text, kFile);
  } catch (...) {
    FUZZ_CHECK(false, "parse_config threw instead of returning a ConfigError");
  }
  if (const auto* error = std::get_if<ConfigError>(&parsed)) {
    FUZZ_CHECK(error->file == kFile, "an error does not name its file");
    FUZZ_CHECK(!error->message.empty(), "an error without a message");
    const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    FUZZ_CHECK(error->line <= lines, "an error points past the last line");
    FUZZ_CHECK(error->to_string().find(kFile) != std::string::npos,
               "an error message does not name its file");
  } else {
    const GatewayConfig& config = std::get<GatewayConfig>(parsed);
    check_accepted(config);
    (void)edge::gateway::validate_config(config, kFile);
    const auto again = edge::gateway::parse_config(text, kFile);
    FUZZ_CHECK(std::holds_alternative<GatewayConfig>(again), "parsing is not deterministic");
  }
  check_size_text(text);
  return 0;
}
