// Reads the gateway's TOML config with toml++ (header-only, exceptions on). Exceptions stay in
// this file: toml::parse_error and our own Failure are turned into a ConfigError by
// parse_config.
#include "edge/gateway/config.h"

// Header-only: no link dependency on Debian's libtomlplusplus.so (simpler cross builds).
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 1  // parse errors arrive as toml::parse_error, caught in parse_config

// toml++ 3.3.0 (Debian 12) asserts where it should report a syntax error: a table header such as
// "[[[1]]]" or "[\x19" reaches its key parser with a character no key starts with (found by
// tests/fuzz/gateway_config_fuzz; fixed upstream by marzer/tomlplusplus#301). With NDEBUG the
// assertion is compiled out and toml++ throws its parse_error; without it (the Debug host-asan
// build, the fuzz build) the process aborted. A failed toml++ assertion is thrown instead, and
// parse_config reports it as a syntax error like any other.
namespace edge::gateway {
namespace {
struct TomlAssertion {
  const char* expression;
};
}  // namespace
}  // namespace edge::gateway
#define TOML_ASSERT(expr) \
  ((expr) ? static_cast<void>(0) : throw ::edge::gateway::TomlAssertion{#expr})
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
// In toml++'s few noexcept functions a failed TOML_ASSERT cannot be thrown: it terminates, as
// toml++'s own assert would abort. GCC says so for each (-Wterminate, an error here).
// (Clang has no such warning.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wterminate"
#endif
#include <toml++/toml.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <utility>
#include <variant>
#include <vector>

#include "config_rules.h"
#include "toml_guard.h"

namespace edge::gateway {
namespace {

using namespace config_rules;
using Keys = std::span<const std::string_view>;

constexpr std::array<std::string_view, 5> kRootKeys{"gateway", "buffer", "ingest", "upstream",
                                                    "metrics"};
constexpr std::array<std::string_view, 3> kGatewayKeys{"id", "state_dir", "log_level"};
constexpr std::array<std::string_view, 5> kBufferKeys{"max_bytes", "high_water_percent",
                                                      "full_policy", "busy_retry_ms", "sync"};
constexpr std::array<std::string_view, 12> kIngestKeys{"max_devices",
                                                       "max_connections",
                                                       "dedupe_window",
                                                       "max_batch_events",
                                                       "commit_linger_us",
                                                       "max_read_bytes",
                                                       "link_rate_events_s",
                                                       "link_burst_ms",
                                                       "auth_timeout_ms",
                                                       "serial",
                                                       "tcp",
                                                       "unix"};
constexpr std::array<std::string_view, 2> kSerialKeys{"path", "baud"};
constexpr std::array<std::string_view, 2> kTcpKeys{"listen", "token_file"};
constexpr std::array<std::string_view, 1> kUnixKeys{"path"};
constexpr std::array<std::string_view, 23> kUpstreamKeys{"uri",
                                                         "client_id",
                                                         "protocol",
                                                         "topic_prefix",
                                                         "topic",
                                                         "payload",
                                                         "max_in_flight",
                                                         "keep_alive_s",
                                                         "clean_start",
                                                         "session_expiry_s",
                                                         "backoff_min_ms",
                                                         "backoff_max_ms",
                                                         "batch_max_bytes",
                                                         "batch_linger_ms",
                                                         "status_interval_s",
                                                         "drain_rate_events_s",
                                                         "drain_rate_bytes_s",
                                                         "drain_burst_ms",
                                                         "message_expiry_s",
                                                         "live_first",
                                                         "username",
                                                         "password_file",
                                                         "tls"};
constexpr std::array<std::string_view, 2> kMetricsKeys{"listen", "allow_remote"};
constexpr std::array<std::string_view, 4> kUpstreamTlsKeys{"ca_file", "cert_file", "key_file",
                                                           "verify"};

// Thrown by the readers below on the first error; caught only by parse_config.
struct Failure {
  ConfigError error;
};

std::string_view describe(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

// One table of the document, with its dotted path for error messages.
class Table {
 public:
  Table(const toml::table& table, std::string path, const std::string& file)
      : table_(table), path_(std::move(path)), file_(file) {}

  [[noreturn]] void fail(const toml::node& at, std::string_view name, std::string message) const {
    const toml::source_position begin = at.source().begin;
    throw Failure{ConfigError{file_, key(name), std::move(message), begin.line, begin.column}};
  }

  // Fails on the first key of this table that is not in `known`.
  void reject_unknown(Keys known) const {
    for (const auto& [name, node] : table_) {
      if (std::ranges::find(known, name.str()) != known.end()) {
        continue;
      }
      const bool table = node.is_table() || node.is_array_of_tables();
      std::string message = table ? "unknown table" : "unknown key";
      for (std::size_t i = 0; i < known.size(); ++i) {
        message += (i == 0 ? " (expected one of: " : ", ") + std::string(known[i]);
      }
      fail(node, name.str(), message + ")");
    }
  }

  // The sub-table `name`, or nullopt when absent.
  std::optional<Table> table(std::string_view name) const {
    const toml::node* node = get(name, toml::node_type::table, "a table");
    if (node == nullptr) {
      return std::nullopt;
    }
    return Table(*node->as_table(), key(name), file_);
  }

  // The elements of the array of tables `name` ([[path.name]]); empty when absent.
  std::vector<Table> tables(std::string_view name) const {
    std::vector<Table> out;
    const std::string expected = "an array of tables ([[" + key(name) + "]])";
    const toml::node* node = get(name, toml::node_type::array, expected);
    if (node == nullptr) {
      return out;
    }
    const toml::array& array = *node->as_array();
    for (std::size_t i = 0; i < array.size(); ++i) {
      const std::string element = std::string(name) + "[" + std::to_string(i) + "]";
      if (!array[i].is_table()) {
        fail(array[i], element,
             "expected a table, found " + std::string(describe(array[i].type())));
      }
      out.emplace_back(*array[i].as_table(), key(element), file_);
    }
    return out;
  }

  // `expected` names what is wanted in the wrong-type message.
  std::optional<std::string> string(std::string_view name,
                                    std::string_view expected = "a string") const {
    const toml::node* node = get(name, toml::node_type::string, expected);
    return node == nullptr ? std::nullopt : std::optional(node->as_string()->get());
  }

  std::optional<std::int64_t> integer(std::string_view name) const {
    const toml::node* node = get(name, toml::node_type::integer, "an integer");
    return node == nullptr ? std::nullopt : std::optional(node->as_integer()->get());
  }

  std::optional<bool> boolean(std::string_view name) const {
    const toml::node* node = get(name, toml::node_type::boolean, "a boolean");
    return node == nullptr ? std::nullopt : std::optional(node->as_boolean()->get());
  }

  std::string required_string(std::string_view name) const {
    std::optional<std::string> value = string(name);
    if (!value) {
      fail(table_, name, "required key missing");
    }
    return std::move(*value);
  }

  // When `name` is present: fails with check(value)'s message, or stores the value in `out`.
  template <typename Check>
  void read_string(std::string_view name, std::string& out, Check check) const {
    if (std::optional<std::string> value = string(name)) {
      fail_if(name, check(*value));
      out = std::move(*value);
    }
  }

  // Reads an integer within `range` into `out`; the range check comes before narrowing.
  void read_uint32(std::string_view name, const Range& range, std::uint32_t& out) const {
    if (const std::optional<std::int64_t> value = integer(name)) {
      fail_if(name, check_range(*value, range));
      out = static_cast<std::uint32_t>(*value);
    }
  }

  void read_bool(std::string_view name, bool& out) const {
    if (const std::optional<bool> value = boolean(name)) {
      out = *value;
    }
  }

  // When `name` is present: fails unless it is one of the names in `values`, else stores the
  // value of that name in `out` ("5" -> MqttProtocol::kV5).
  template <typename Enum, std::size_t N>
  void read_enum(std::string_view name,
                 const std::array<std::pair<std::string_view, Enum>, N>& values, Enum& out) const {
    std::string allowed;
    for (std::size_t i = 0; i < N; ++i) {
      allowed += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + quote(values[i].first);
    }
    const std::optional<std::string> text = string(name, "a string (" + allowed + ")");
    if (!text) {
      return;
    }
    const auto* found = std::ranges::find(values, *text, &std::pair<std::string_view, Enum>::first);
    if (found == values.end()) {
      fail(*table_.get(name), name, "must be " + allowed + "; got " + quote(*text));
    }
    out = found->second;
  }

  void fail_if(std::string_view name, std::optional<std::string> message) const {
    if (message) {
      fail(*table_.get(name), name, std::move(*message));
    }
  }

  const toml::node* node(std::string_view name) const { return table_.get(name); }

  // The table itself, for an error about no one key of it.
  const toml::node& self() const { return table_; }

 private:
  std::string key(std::string_view name) const {
    return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
  }

  // The value of `name` when it has type `type`, nullptr when absent; fails on another type.
  const toml::node* get(std::string_view name, toml::node_type type,
                        std::string_view expected) const {
    const toml::node* node = table_.get(name);
    if (node != nullptr && node->type() != type) {
      fail(*node, name,
           "expected " + std::string(expected) + ", found " + std::string(describe(node->type())));
    }
    return node;
  }

  const toml::table& table_;
  std::string path_;
  const std::string& file_;
};

// The integer keys of kUint32Keys that live in `section`.
void read_uint32_keys(const Table& table, std::string_view section, GatewayConfig& config) {
  for (const Uint32Key& key : kUint32Keys) {
    if (key.table == section) {
      table.read_uint32(key.name, key.range, config.*key.member);
    }
  }
}

void read_gateway(const Table& table, GatewayConfig& config) {
  table.reject_unknown(kGatewayKeys);
  table.read_string("id", config.gateway_id, check_gateway_id);
  table.read_string("state_dir", config.state_dir, check_not_empty);
  table.read_string("log_level", config.log_level, check_log_level);
}

void read_buffer(const Table& table, GatewayConfig& config) {
  table.reject_unknown(kBufferKeys);
  if (const toml::node* node = table.node("max_bytes")) {
    std::optional<std::uint64_t> bytes;
    if (const auto* integer = node->as_integer(); integer != nullptr && integer->get() >= 0) {
      bytes = static_cast<std::uint64_t>(integer->get());
    } else if (integer != nullptr) {
      table.fail(*node, "max_bytes",
                 std::string(kBufferBytesAllowed) + ", got " + std::to_string(integer->get()));
    } else if (const auto* text = node->as_string()) {
      bytes = parse_size(text->get());
      if (!bytes) {
        table.fail(*node, "max_bytes",
                   "expected a size like \"256MiB\" (suffix B, KiB, MiB, GiB or TiB), got " +
                       quote(text->get()));
      }
    } else {
      table.fail(*node, "max_bytes",
                 "expected an integer or a size string like \"256MiB\", found " +
                     std::string(describe(node->type())));
    }
    table.fail_if("max_bytes", check_buffer_bytes(*bytes));
    config.buffer_max_bytes = *bytes;
  }
  std::string policy(to_string(config.buffer_full_policy));
  table.read_string("full_policy", policy, [](std::string_view text) {
    return parse_full_policy(text) ? std::nullopt
                                   : std::optional<std::string>(
                                         "must be drop_oldest or refuse_new; got " + quote(text));
  });
  config.buffer_full_policy = *parse_full_policy(policy);
  table.read_enum("sync", kBufferSyncs, config.buffer_sync);
  read_uint32_keys(table, "buffer", config);
}

void read_ingest(const Table& table, GatewayConfig& config) {
  table.reject_unknown(kIngestKeys);
  read_uint32_keys(table, "ingest", config);
  for (const Table& source : table.tables("serial")) {
    source.reject_unknown(kSerialKeys);
    SerialSource serial{.path = source.required_string("path")};
    source.fail_if("path", check_not_empty(serial.path));
    if (const std::optional<std::int64_t> baud = source.integer("baud")) {
      source.fail_if("baud", check_baud(*baud));
      serial.baud = static_cast<std::uint32_t>(*baud);
    }
    config.serial.push_back(std::move(serial));
  }
  for (const Table& source : table.tables("tcp")) {
    source.reject_unknown(kTcpKeys);
    std::string why;
    std::optional<TcpSource> tcp = parse_listen(source.required_string("listen"), &why);
    source.fail_if("listen", tcp ? std::nullopt : std::optional(why));
    // The daemon reads the file and checks its permissions and token when it starts.
    source.read_string("token_file", tcp->token_file, check_not_empty);
    source.fail_if("listen", check_tcp(*tcp));
    config.tcp.push_back(std::move(*tcp));
  }
  for (const Table& source : table.tables("unix")) {
    source.reject_unknown(kUnixKeys);
    UnixSource unix_socket{.path = source.required_string("path")};
    source.fail_if("path", check_unix_path(unix_socket.path));
    config.unix_sockets.push_back(std::move(unix_socket));
  }
}

std::optional<std::string> any_string(std::string_view /*text*/) {
  return std::nullopt;
}

// The node of `key` ("backoff_min_ms", "tls.ca_file") under [upstream]; nullptr when absent.
const toml::node* upstream_node(const Table& upstream, const std::optional<Table>& tls,
                                std::string_view key) {
  constexpr std::string_view kTls = "tls.";
  if (key.starts_with(kTls)) {
    return tls ? tls->node(key.substr(kTls.size())) : nullptr;
  }
  return key.empty() ? nullptr : upstream.node(key);
}

void read_upstream(const Table& table, UpstreamConfig& upstream) {
  table.reject_unknown(kUpstreamKeys);
  table.read_string("uri", upstream.uri, check_upstream_uri);
  table.read_string("client_id", upstream.client_id, check_client_id);
  table.read_enum("protocol", kMqttProtocols, upstream.protocol);
  table.read_string("topic_prefix", upstream.topic_prefix, check_topic_prefix);
  table.read_string("topic", upstream.topic, check_topic_template);
  table.read_enum("payload", kPayloadModes, upstream.payload);
  for (const UpstreamUint32Key& key : kUpstreamUint32Keys) {
    table.read_uint32(key.name, key.range, upstream.*key.member);
  }
  table.read_bool("clean_start", upstream.clean_start);
  table.read_bool("live_first", upstream.live_first);
  table.read_string("username", upstream.username, any_string);
  // The daemon checks the file's permissions when it starts; the parser only the path.
  table.read_string("password_file", upstream.password_file, check_not_empty);

  const std::optional<Table> tls = table.table("tls");
  if (tls) {
    tls->reject_unknown(kUpstreamTlsKeys);
    tls->read_string("ca_file", upstream.tls_ca_file, check_not_empty);
    tls->read_string("cert_file", upstream.tls_cert_file, check_not_empty);
    tls->read_string("key_file", upstream.tls_key_file, check_not_empty);
    tls->read_bool("verify", upstream.tls_verify);
    // Any key written in [upstream.tls], even one equal to its default, needs a TLS uri.
    if (!upstream.uri.empty() && !is_tls_uri(upstream.uri)) {
      for (const std::string_view key : kUpstreamTlsKeys) {
        if (const toml::node* node = tls->node(key)) {
          tls->fail(*node, key, tls_needs_tls_uri(upstream.uri));
        }
      }
    }
  }

  if (std::optional<UpstreamError> error = check_upstream_fields(upstream)) {
    const toml::node* at = upstream_node(table, tls, error->key);
    if (at == nullptr) {
      at = upstream_node(table, tls, error->related);
    }
    table.fail(at == nullptr ? table.self() : *at, error->key, std::move(error->message));
  }
}

void read_metrics(const Table& table, GatewayConfig& config) {
  table.reject_unknown(kMetricsKeys);
  table.read_bool("allow_remote", config.metrics_allow_remote);
  table.read_string("listen", config.metrics_listen, [&config](std::string_view listen) {
    return check_metrics_listen(listen, config.metrics_allow_remote);
  });
}

}  // namespace

std::variant<GatewayConfig, ConfigError> parse_config(const std::string& text,
                                                      const std::string& file) {
  GatewayConfig config;
  if (const std::optional<toml_guard::Refusal> refused = toml_guard::check(text)) {
    return ConfigError{file, "", refused->message, refused->line, refused->column};
  }
  try {
    const toml::table document = toml::parse(text, file);
    const Table root(document, "", file);
    root.reject_unknown(kRootKeys);
    if (const std::optional<Table> gateway = root.table("gateway")) {
      read_gateway(*gateway, config);
    }
    if (const std::optional<Table> buffer = root.table("buffer")) {
      read_buffer(*buffer, config);
    }
    if (const std::optional<Table> ingest = root.table("ingest")) {
      read_ingest(*ingest, config);
    }
    if (const std::optional<Table> upstream = root.table("upstream")) {
      read_upstream(*upstream, config.upstream);
    }
    if (const std::optional<Table> metrics = root.table("metrics")) {
      read_metrics(*metrics, config);
    }
  } catch (const toml::parse_error& error) {
    const toml::source_position begin = error.source().begin;
    return ConfigError{file, "", std::string(error.description()), begin.line, begin.column};
  } catch (const Failure& failure) {
    return failure.error;
  } catch (const TomlAssertion& assertion) {
    return ConfigError{
        file, "",
        std::string("not valid TOML (the parser stopped at: ") + assertion.expression + ")"};
  }
  return config;
}

std::variant<GatewayConfig, ConfigError> load_config(const std::string& path) {
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             &std::fclose);
  if (!file) {
    return ConfigError{path, "", "cannot open: " + std::generic_category().message(errno)};
  }
  std::string text;
  std::array<char, 4096> chunk{};
  std::size_t got = 0;
  while ((got = std::fread(chunk.data(), 1, chunk.size(), file.get())) > 0) {
    text.append(chunk.data(), got);
  }
  if (std::ferror(file.get()) != 0) {
    return ConfigError{path, "", "cannot read: " + std::generic_category().message(errno)};
  }
  return parse_config(text, path);
}

}  // namespace edge::gateway
