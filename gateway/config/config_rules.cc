// Value rules and validate_config: everything about the config that does not depend on TOML.
#include "config_rules.h"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/un.h>
#include <utility>
#include <vector>

#include "edge/gateway/config.h"

namespace edge::gateway {
namespace config_rules {
namespace {

constexpr std::array<std::string_view, 5> kLogLevels{"trace", "debug", "info", "warn", "error"};
constexpr std::array<std::int64_t, 11> kBaudRates{1200,  2400,   4800,   9600,   19200, 38400,
                                                  57600, 115200, 230400, 460800, 921600};
// sun_path holds the path and its terminating NUL.
constexpr std::size_t kSunPathBytes = sizeof(sockaddr_un::sun_path);

bool is_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

// A value quoted for an error message; control bytes are escaped so a message stays one line.
std::string quote(std::string_view text) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20U || byte == 0x7fU) {
      out += "\\x";
      out += kHex[byte >> 4U];
      out += kHex[byte & 0xfU];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::optional<std::string> check_range(std::int64_t value, const Range& range) {
  if ((value >= range.min && value <= range.max && value % range.multiple_of == 0) ||
      (range.or_zero && value == 0)) {
    return std::nullopt;
  }
  std::string allowed = std::to_string(range.min) + ".." + std::to_string(range.max);
  if (range.multiple_of != 1) {
    allowed = "a multiple of " + std::to_string(range.multiple_of) + " in " + allowed;
  }
  if (range.or_zero) {
    allowed = "0 or " + allowed;
  }
  return "must be " + allowed + ", got " + std::to_string(value);
}

std::optional<std::string> check_buffer_bytes(std::uint64_t bytes) {
  if (bytes >= kMinBufferBytes && bytes <= kMaxBufferBytes) {
    return std::nullopt;
  }
  return std::string(kBufferBytesAllowed) + ", got " + std::to_string(bytes);
}

std::optional<std::string> check_gateway_id(std::string_view id) {
  if (!id.empty() && id.size() <= kMaxGatewayIdChars && std::ranges::all_of(id, is_id_char)) {
    return std::nullopt;
  }
  return "must be 1.." + std::to_string(kMaxGatewayIdChars) +
         " characters from [A-Za-z0-9._-], got " + quote(id);
}

std::optional<std::string> check_not_empty(std::string_view text) {
  if (!text.empty()) {
    return std::nullopt;
  }
  return "must not be empty";
}

std::optional<std::string> check_log_level(std::string_view level) {
  if (std::ranges::find(kLogLevels, level) != kLogLevels.end()) {
    return std::nullopt;
  }
  return "must be one of trace, debug, info, warn, error; got " + quote(level);
}

std::optional<std::string> check_baud(std::int64_t baud) {
  if (std::ranges::find(kBaudRates, baud) != kBaudRates.end()) {
    return std::nullopt;
  }
  std::string allowed;
  for (const std::int64_t rate : kBaudRates) {
    allowed += (allowed.empty() ? "" : ", ") + std::to_string(rate);
  }
  return "must be one of " + allowed + "; got " + std::to_string(baud);
}

std::optional<std::string> check_unix_path(std::string_view path) {
  if (path.empty()) {
    return "must not be empty";
  }
  if (path.size() >= kSunPathBytes) {
    return "must be shorter than " + std::to_string(kSunPathBytes) +
           " bytes (the sun_path limit), got " + std::to_string(path.size()) + " bytes";
  }
  return std::nullopt;
}

std::optional<IpKind> ip_kind(const std::string& host) {
  std::array<unsigned char, sizeof(in6_addr)> ip{};
  if (::inet_pton(AF_INET, host.c_str(), ip.data()) == 1) {
    // 127.0.0.0/8; 0.0.0.0 (INADDR_ANY).
    if (ip[0] == 127) {
      return IpKind::kLoopback;
    }
    return std::all_of(ip.begin(), ip.begin() + 4, [](unsigned char b) { return b == 0; })
               ? IpKind::kWildcard
               : IpKind::kOther;
  }
  if (::inet_pton(AF_INET6, host.c_str(), ip.data()) != 1) {
    return std::nullopt;
  }
  const auto zero = [](unsigned char b) { return b == 0; };
  if (std::all_of(ip.begin(), ip.end() - 1, zero)) {  // :: (in6addr_any) or ::1 (loopback)
    return ip.back() == 1 ? IpKind::kLoopback : ip.back() == 0 ? IpKind::kWildcard : IpKind::kOther;
  }
  // An IPv4-mapped address (::ffff:a.b.c.d) is the IPv4 address a.b.c.d on a dual-stack socket.
  if (std::all_of(ip.begin(), ip.begin() + 10, zero) && ip[10] == 0xff && ip[11] == 0xff) {
    if (ip[12] == 127) {
      return IpKind::kLoopback;
    }
    return std::all_of(ip.begin() + 12, ip.end(), zero) ? IpKind::kWildcard : IpKind::kOther;
  }
  return IpKind::kOther;
}

std::optional<std::string> check_tcp(const TcpSource& tcp) {
  if (tcp.host.empty()) {
    return "host must not be empty";
  }
  if (tcp.port == 0) {
    return "port must be 1..65535, got 0";
  }
  const std::string address = quote(listen_string(tcp));
  const std::optional<IpKind> kind = ip_kind(tcp.host);
  if (!kind) {
    return "expected an IP address and port (\"127.0.0.1:7700\", \"[::1]:7700\"), not a host "
           "name; got " +
           address;
  }
  if (*kind == IpKind::kWildcard) {
    return address +
           " listens on every interface; bind the address of the interface the devices are on "
           "(with a token_file), or a loopback address";
  }
  if (*kind == IpKind::kOther && tcp.token_file.empty()) {
    return address +
           " is not a loopback address; a listener reachable from other hosts needs a "
           "token_file (the shared token every connection must send first)";
  }
  return std::nullopt;
}

std::optional<std::string> check_metrics_listen(std::string_view listen, bool allow_remote) {
  if (listen.empty()) {
    return std::nullopt;  // no metrics endpoint
  }
  std::string why;
  const std::optional<TcpSource> address = parse_listen(listen, &why);
  if (!address) {
    return why;
  }
  // The HTTP server (civetweb) binds IP addresses only, not host names.
  const std::optional<IpKind> kind = ip_kind(address->host);
  if (!kind) {
    return "expected an IP address and port (\"127.0.0.1:9464\", \"[::1]:9464\"), got " +
           quote(listen);
  }
  const bool loopback = *kind == IpKind::kLoopback;
  if (!loopback && !allow_remote) {
    return quote(address->host) +
           " is not a loopback address; the metrics endpoint has no authentication and no TLS, "
           "so serving it beyond this host needs metrics.allow_remote = true";
  }
  return std::nullopt;
}

bool is_tls_uri(std::string_view uri) {
  return std::ranges::any_of(kTlsSchemes, [uri](std::string_view s) { return uri.starts_with(s); });
}

std::optional<std::string> check_upstream_uri(std::string_view uri) {
  if (uri.empty()) {
    return std::nullopt;  // forwarding off
  }
  std::string_view address;
  for (const auto& schemes : {kPlainSchemes, kTlsSchemes}) {
    for (const std::string_view scheme : schemes) {
      if (uri.starts_with(scheme)) {
        address = uri.substr(scheme.size());
      }
    }
  }
  std::string why;
  if (!address.empty() && parse_listen(address, &why)) {
    return std::nullopt;
  }
  return "must be tcp://HOST:PORT, ssl://HOST:PORT, mqtt://HOST:PORT or mqtts://HOST:PORT "
         "(PORT 1..65535, an IPv6 HOST in brackets), or empty for no forwarding; got " +
         quote(uri);
}

std::optional<std::string> check_client_id(std::string_view id) {
  if (id.size() <= kMaxClientIdChars && std::ranges::all_of(id, is_id_char)) {
    return std::nullopt;
  }
  return "must be at most " + std::to_string(kMaxClientIdChars) +
         " characters from [A-Za-z0-9._-] (empty: the gateway id), got " + quote(id);
}

std::optional<std::string> check_topic_prefix(std::string_view prefix) {
  if (prefix.empty()) {
    return "must not be empty";
  }
  if (prefix.find_first_of("+#") != std::string_view::npos) {
    return "must not contain '+' or '#' (MQTT wildcards), got " + quote(prefix);
  }
  if (prefix.find('\0') != std::string_view::npos) {
    return "must not contain a NUL byte, got " + quote(prefix);
  }
  if (prefix.starts_with('/') || prefix.ends_with('/')) {
    return "must not start or end with '/', got " + quote(prefix);
  }
  return std::nullopt;
}

// The same rules as TopicTemplate::compile (gateway/forwarder), checked here first so that the
// error names the key and the line.
std::optional<std::string> check_topic_template(std::string_view topic) {
  static constexpr std::array<std::string_view, 4> kPlaceholders{"prefix", "gateway", "device",
                                                                 "sensor"};
  bool device = false;
  for (std::size_t open = topic.find('{'); open != std::string_view::npos;
       open = topic.find('{', open + 1)) {
    const std::size_t close = topic.find('}', open);
    if (close == std::string_view::npos) {
      return "unclosed '{' at offset " + std::to_string(open) + " in " + quote(topic);
    }
    const std::string_view name = topic.substr(open + 1, close - open - 1);
    if (std::ranges::find(kPlaceholders, name) == kPlaceholders.end()) {
      return "unknown placeholder " + quote("{" + std::string(name) + "}") +
             " (expected {prefix}, {gateway}, {device} or {sensor}) in " + quote(topic);
    }
    device = device || name == "device";
    open = close;
  }
  if (topic.find_first_of("+#") != std::string_view::npos) {
    return "must not contain '+' or '#' (MQTT wildcards are invalid in publish topics), got " +
           quote(topic);
  }
  if (topic.find('\0') != std::string_view::npos) {
    return "must not contain a NUL byte, got " + quote(topic);
  }
  if (topic.starts_with('$')) {
    return "must not start with '$' (reserved for broker topics such as $SYS), got " + quote(topic);
  }
  if (!device) {
    return "must contain {device} (events of different devices must not share a topic), got " +
           quote(topic);
  }
  return std::nullopt;
}

std::string tls_needs_tls_uri(std::string_view uri) {
  return "TLS settings need an ssl:// or mqtts:// uri; upstream.uri is " + quote(uri);
}

std::optional<UpstreamError> check_upstream_fields(const UpstreamConfig& upstream) {
  if (upstream.backoff_min_ms > upstream.backoff_max_ms) {
    return UpstreamError{"backoff_min_ms",
                         "must not exceed upstream.backoff_max_ms (" +
                             std::to_string(upstream.backoff_max_ms) + "), got " +
                             std::to_string(upstream.backoff_min_ms),
                         "backoff_max_ms"};
  }
  if (!upstream.uri.empty() && !is_tls_uri(upstream.uri)) {
    const std::string message = tls_needs_tls_uri(upstream.uri);
    const std::array<std::pair<std::string_view, bool>, 4> tls{{
        {"tls.ca_file", !upstream.tls_ca_file.empty()},
        {"tls.cert_file", !upstream.tls_cert_file.empty()},
        {"tls.key_file", !upstream.tls_key_file.empty()},
        {"tls.verify", !upstream.tls_verify},
    }};
    for (const auto& [key, set] : tls) {
      if (set) {
        return UpstreamError{std::string(key), message, "uri"};
      }
    }
  }
  if (upstream.tls_cert_file.empty() != upstream.tls_key_file.empty()) {
    const bool cert = !upstream.tls_cert_file.empty();
    return UpstreamError{
        cert ? "tls.cert_file" : "tls.key_file",
        std::string(cert ? "needs upstream.tls.key_file" : "needs upstream.tls.cert_file") +
            " too (client-certificate authentication uses both)",
        ""};
  }
  if (!upstream.password_file.empty() && upstream.username.empty()) {
    return UpstreamError{"password_file",
                         "needs upstream.username (the password is sent with a user name)",
                         "username"};
  }
  if (upstream.protocol == MqttProtocol::kV311 && upstream.session_expiry_s != 0) {
    return UpstreamError{"session_expiry_s",
                         "must be 0 with protocol \"3.1.1\" (session expiry is MQTT 5 only), "
                         "got " +
                             std::to_string(upstream.session_expiry_s),
                         "protocol"};
  }
  return std::nullopt;
}

std::optional<FullPolicy> parse_full_policy(std::string_view text) {
  for (const FullPolicy policy : {FullPolicy::kDropOldest, FullPolicy::kRefuseNew}) {
    if (text == to_string(policy)) {
      return policy;
    }
  }
  return std::nullopt;
}

std::optional<MqttProtocol> parse_protocol(std::string_view text) {
  const auto* found =
      std::ranges::find(kMqttProtocols, text, &std::pair<std::string_view, MqttProtocol>::first);
  return found == kMqttProtocols.end() ? std::nullopt : std::optional(found->second);
}

std::optional<PayloadMode> parse_payload_mode(std::string_view text) {
  const auto* found =
      std::ranges::find(kPayloadModes, text, &std::pair<std::string_view, PayloadMode>::first);
  return found == kPayloadModes.end() ? std::nullopt : std::optional(found->second);
}

std::optional<TcpSource> parse_listen(std::string_view text, std::string* why) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {  // "[::1]:7700"
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || text.substr(close + 1).size() < 1 ||
        text[close + 1] != ':') {
      *why = "expected \"[v6-host]:port\", got " + quote(text);
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      *why = "expected \"host:port\" (IPv6 as \"[::1]:7700\"), got " + quote(text);
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      *why = "an IPv6 host needs brackets, as in \"[::1]:7700\"; got " + quote(text);
      return std::nullopt;
    }
  }
  if (host.empty()) {
    *why = "host must not be empty, got " + quote(text);
    return std::nullopt;
  }
  std::uint32_t number = 0;
  const bool digits = !port.empty() && port.size() <= 5 &&
                      std::ranges::all_of(port, [](char c) { return c >= '0' && c <= '9'; });
  for (const char c : digits ? port : std::string_view{}) {
    number = number * 10U + static_cast<std::uint32_t>(c - '0');
  }
  if (number < 1 || number > std::numeric_limits<std::uint16_t>::max()) {
    *why = "port must be 1..65535, got " + quote(text);
    return std::nullopt;
  }
  TcpSource tcp;
  tcp.host = host;
  tcp.port = static_cast<std::uint16_t>(number);
  return tcp;
}

std::string listen_string(const TcpSource& tcp) {
  const bool v6 = tcp.host.find(':') != std::string::npos;
  return (v6 ? "[" + tcp.host + "]" : tcp.host) + ":" + std::to_string(tcp.port);
}

}  // namespace config_rules

namespace {

std::string indexed(std::string_view array, std::size_t index, std::string_view key) {
  return std::string(array) + "[" + std::to_string(index) + "]." + std::string(key);
}

// Keeps the first failed check; later checks are still evaluated but not recorded.
class FirstError {
 public:
  explicit FirstError(const std::string& file) : file_(file) {}

  void check(std::string key, std::optional<std::string> message) {
    if (!error_ && message) {
      error_ = ConfigError{file_, std::move(key), std::move(*message)};
    }
  }

  // An error on `array[i].key` for the first item whose name repeats an earlier item's.
  template <typename T, typename NameOf>
  void check_unique(const std::vector<T>& items, std::string_view array, std::string_view key,
                    NameOf name_of) {
    std::map<std::string, std::size_t> first_index;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const auto [it, inserted] = first_index.emplace(name_of(items[i]), i);
      if (!inserted) {
        check(indexed(array, i, key), "duplicate of " + indexed(array, it->second, key) + " (" +
                                          config_rules::quote(it->first) + ")");
        return;
      }
    }
  }

  [[nodiscard]] std::optional<ConfigError> error() && { return std::move(error_); }

 private:
  const std::string& file_;
  std::optional<ConfigError> error_;
};

}  // namespace

std::string_view to_string(FullPolicy policy) {
  switch (policy) {
    case FullPolicy::kDropOldest: return "drop_oldest";
    case FullPolicy::kRefuseNew: return "refuse_new";
  }
  return "unknown";
}

std::string_view to_string(BufferSync sync) {
  for (const auto& [name, value] : config_rules::kBufferSyncs) {
    if (value == sync) {
      return name;
    }
  }
  return "unknown";
}

std::string ConfigError::to_string() const {
  std::string out = "config error: " + file;
  if (line != 0) {
    out += ":" + std::to_string(line) + ":" + std::to_string(column);
  }
  out += ": ";
  if (!key.empty()) {
    out += "key '" + key + "': ";
  }
  return out + message;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, unsigned>, 6> kSuffixes{
      {{"", 0U}, {"B", 0U}, {"KiB", 10U}, {"MiB", 20U}, {"GiB", 30U}, {"TiB", 40U}}};
  const std::size_t digits = text.find_first_not_of("0123456789");
  const std::string_view number = text.substr(0, digits);
  const std::string_view suffix = digits == std::string_view::npos ? "" : text.substr(digits);
  const auto* unit =
      std::ranges::find_if(kSuffixes, [&](const auto& u) { return u.first == suffix; });
  if (number.empty() || unit == kSuffixes.end()) {
    return std::nullopt;
  }
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max() >> unit->second;
  std::uint64_t value = 0;
  for (const char c : number) {
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (max - digit) / 10U) {
      return std::nullopt;
    }
    value = value * 10U + digit;
  }
  return value << unit->second;
}

std::optional<ConfigError> validate_config(const GatewayConfig& config, const std::string& file) {
  using namespace config_rules;
  FirstError first(file);
  first.check("gateway.id", check_gateway_id(config.gateway_id));
  first.check("gateway.state_dir", check_not_empty(config.state_dir));
  first.check("gateway.log_level", check_log_level(config.log_level));
  first.check("buffer.max_bytes", check_buffer_bytes(config.buffer_max_bytes));
  for (const Uint32Key& key : kUint32Keys) {
    first.check(std::string(key.table) + "." + std::string(key.name),
                check_range(config.*key.member, key.range));
  }

  if (config.serial.empty() && config.tcp.empty() && config.unix_sockets.empty()) {
    first.check("ingest",
                "no sources: configure [[ingest.serial]], [[ingest.tcp]] or [[ingest.unix]]");
  }
  for (std::size_t i = 0; i < config.serial.size(); ++i) {
    first.check(indexed("ingest.serial", i, "path"), check_not_empty(config.serial[i].path));
    first.check(indexed("ingest.serial", i, "baud"), check_baud(config.serial[i].baud));
  }
  for (std::size_t i = 0; i < config.tcp.size(); ++i) {
    first.check(indexed("ingest.tcp", i, "listen"), check_tcp(config.tcp[i]));
  }
  for (std::size_t i = 0; i < config.unix_sockets.size(); ++i) {
    first.check(indexed("ingest.unix", i, "path"), check_unix_path(config.unix_sockets[i].path));
  }

  first.check_unique(config.serial, "ingest.serial", "path",
                     [](const SerialSource& s) { return s.path; });
  first.check_unique(config.tcp, "ingest.tcp", "listen", listen_string);
  first.check_unique(config.unix_sockets, "ingest.unix", "path",
                     [](const UnixSource& s) { return s.path; });

  const UpstreamConfig& upstream = config.upstream;
  first.check("upstream.uri", check_upstream_uri(upstream.uri));
  first.check("upstream.client_id", check_client_id(upstream.client_id));
  first.check("upstream.topic_prefix", check_topic_prefix(upstream.topic_prefix));
  first.check("upstream.topic", check_topic_template(upstream.topic));
  for (const UpstreamUint32Key& key : kUpstreamUint32Keys) {
    first.check("upstream." + std::string(key.name), check_range(upstream.*key.member, key.range));
  }
  if (std::optional<UpstreamError> error = check_upstream_fields(upstream)) {
    first.check("upstream." + error->key, std::move(error->message));
  }
  first.check("metrics.listen",
              check_metrics_listen(config.metrics_listen, config.metrics_allow_remote));
  return std::move(first).error();
}

}  // namespace edge::gateway
