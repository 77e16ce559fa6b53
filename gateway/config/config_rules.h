// The config's bounds and value rules, shared by parse_config (which reports them with the line
// and column of the value) and validate_config (which re-checks them after command-line
// overrides). Private to gateway/config.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "edge/gateway/config.h"

namespace edge::gateway::config_rules {

// An inclusive range of an integer key, and the step its value must be a multiple of.
// `or_zero`: 0 is allowed too, below `min` ("0 (off) or 5..65535").
struct Range {
  std::int64_t min;
  std::int64_t max;
  std::int64_t multiple_of = 1;
  bool or_zero = false;
};

// A key held as a std::uint32_t in GatewayConfig, and its bounds.
struct Uint32Key {
  std::string_view table;  // "buffer" or "ingest"
  std::string_view name;
  Range range;
  std::uint32_t GatewayConfig::*member;
};

inline constexpr std::array<Uint32Key, 11> kUint32Keys{{
    {"buffer", "high_water_percent", {1, 99}, &GatewayConfig::buffer_high_water_percent},
    {"buffer", "busy_retry_ms", {1, 600'000}, &GatewayConfig::buffer_busy_retry_ms},
    {"ingest", "max_devices", {1, 1'000'000}, &GatewayConfig::ingest_max_devices},
    // The dedupe bitmap is kept in 64-bit words.
    {"ingest", "dedupe_window", {64, 1'048'576, 64}, &GatewayConfig::ingest_dedupe_window},
    {"ingest", "max_batch_events", {1, 1'000'000}, &GatewayConfig::ingest_max_batch_events},
    {"ingest", "commit_linger_us", {0, 1'000'000}, &GatewayConfig::ingest_commit_linger_us},
    {"ingest", "max_read_bytes", {256, 16'777'216}, &GatewayConfig::ingest_max_read_bytes},
    {"ingest", "max_connections", {1, 65'536}, &GatewayConfig::ingest_max_connections},
    {"ingest",
     "link_rate_events_s",
     {.min = 1, .max = 10'000'000, .or_zero = true},
     &GatewayConfig::ingest_link_rate_events_s},
    {"ingest", "link_burst_ms", {1, 60'000}, &GatewayConfig::ingest_link_burst_ms},
    {"ingest", "auth_timeout_ms", {100, 60'000}, &GatewayConfig::ingest_auth_timeout_ms},
}};

// A key of [upstream] held as a std::uint32_t in UpstreamConfig, and its bounds.
struct UpstreamUint32Key {
  std::string_view name;
  Range range;
  std::uint32_t UpstreamConfig::*member;
};

inline constexpr std::array<UpstreamUint32Key, 12> kUpstreamUint32Keys{{
    {"max_in_flight", {1, 65'535}, &UpstreamConfig::max_in_flight},
    {"keep_alive_s", {.min = 5, .max = 65'535, .or_zero = true}, &UpstreamConfig::keep_alive_s},
    {"session_expiry_s", {0, 4'294'967'295}, &UpstreamConfig::session_expiry_s},
    {"backoff_min_ms", {1, 600'000}, &UpstreamConfig::backoff_min_ms},
    {"backoff_max_ms", {1, 3'600'000}, &UpstreamConfig::backoff_max_ms},
    // Sized by default under the 5 KB billing unit of brokers such as AWS IoT Core; always
    // under 128 KiB.
    {"batch_max_bytes", {512, 131'072}, &UpstreamConfig::batch_max_bytes},
    {"batch_linger_ms", {0, 60'000}, &UpstreamConfig::batch_linger_ms},
    {"status_interval_s", {0, 86'400}, &UpstreamConfig::status_interval_s},
    {"drain_rate_events_s",
     {.min = 1, .max = 10'000'000, .or_zero = true},
     &UpstreamConfig::drain_rate_events_s},
    {"drain_rate_bytes_s",
     {.min = 1, .max = 4'294'967'295, .or_zero = true},
     &UpstreamConfig::drain_rate_bytes_s},
    {"drain_burst_ms", {1, 60'000}, &UpstreamConfig::drain_burst_ms},
    {"message_expiry_s",
     {.min = 1, .max = 31'536'000, .or_zero = true},
     &UpstreamConfig::message_expiry_s},
}};

// buffer.sync: the names in the config file.
inline constexpr std::array<std::pair<std::string_view, BufferSync>, 3> kBufferSyncs{{
    {"full", BufferSync::kFull},
    {"no_meta_sync", BufferSync::kNoMetaSync},
    {"no_sync", BufferSync::kNoSync},
}};

// upstream.protocol and upstream.payload: the names in the config file.
inline constexpr std::array<std::pair<std::string_view, MqttProtocol>, 2> kMqttProtocols{{
    {"5", MqttProtocol::kV5},
    {"3.1.1", MqttProtocol::kV311},
}};
inline constexpr std::array<std::pair<std::string_view, PayloadMode>, 3> kPayloadModes{{
    {"flatbuffer", PayloadMode::kFlatbuffer},
    {"json", PayloadMode::kJson},
    {"batch", PayloadMode::kBatch},
}};

// The URI schemes of upstream.uri, plain and TLS (Paho's names and their mqtt aliases).
inline constexpr std::array<std::string_view, 2> kPlainSchemes{"tcp://", "mqtt://"};
inline constexpr std::array<std::string_view, 2> kTlsSchemes{"ssl://", "mqtts://"};

inline constexpr std::size_t kMaxClientIdChars = 64;

// buffer.max_bytes: the LMDB map size.
inline constexpr std::uint64_t kMinBufferBytes = 1ULL << 20U;  // 1 MiB
inline constexpr std::uint64_t kMaxBufferBytes = 1ULL << 40U;  // 1 TiB
inline constexpr std::string_view kBufferBytesAllowed =
    "must be 1MiB..1TiB (1048576..1099511627776 bytes)";

inline constexpr std::size_t kMaxGatewayIdChars = 64;

// `text` in double quotes, control bytes escaped, for an error message.
std::string quote(std::string_view text);

// Each check returns nullopt when the value is allowed, else the message naming what is allowed.
std::optional<std::string> check_range(std::int64_t value, const Range& range);
std::optional<std::string> check_buffer_bytes(std::uint64_t bytes);
std::optional<std::string> check_gateway_id(std::string_view id);
std::optional<std::string> check_not_empty(std::string_view text);
std::optional<std::string> check_log_level(std::string_view level);
std::optional<std::string> check_baud(std::int64_t baud);
std::optional<std::string> check_unix_path(std::string_view path);
// What an IP address text is to a listener: IPv4 or IPv6, an IPv4-mapped IPv6 address counting
// as its IPv4 address. nullopt: not an IP address (a host name, garbage).
enum class IpKind {
  kLoopback,  // 127.0.0.0/8, ::1
  kWildcard,  // 0.0.0.0, :: (every interface)
  kOther,     // one specific non-loopback address
};
std::optional<IpKind> ip_kind(const std::string& host);

// ingest.tcp[i].listen: a port, and an IP address (not a host name) that is loopback
// (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104), or another specific address only with a token_file;
// never a wildcard (0.0.0.0, ::), with or without a token.
std::optional<std::string> check_tcp(const TcpSource& tcp);
std::optional<std::string> check_upstream_uri(std::string_view uri);
std::optional<std::string> check_client_id(std::string_view id);
std::optional<std::string> check_topic_prefix(std::string_view prefix);
std::optional<std::string> check_topic_template(std::string_view topic);

// metrics.listen: empty (off), or an IP address and port ("127.0.0.1:9464", "[::1]:9464"); a
// non-loopback address only with metrics.allow_remote = true.
std::optional<std::string> check_metrics_listen(std::string_view listen, bool allow_remote);

// An error about one key of [upstream]: `key` is relative to "upstream" ("tls.ca_file").
// `related` is the other key of the rule: parse_config reports its line when `key` is not in
// the file (backoff_max_ms = 50 under the default backoff_min_ms = 100).
struct UpstreamError {
  std::string key;
  std::string message;
  std::string related;
};

// The message for an [upstream.tls] key while upstream.uri is plain (tcp:// or mqtt://).
std::string tls_needs_tls_uri(std::string_view uri);

// The rules between keys of [upstream] and [upstream.tls] (backoff order, TLS settings need a
// TLS uri, cert and key together, password needs a user name, session expiry needs v5).
// "Set" means different from the default: TLS keys that keep their defaults are ignored.
std::optional<UpstreamError> check_upstream_fields(const UpstreamConfig& upstream);

// True when `uri` starts with ssl:// or mqtts://.
bool is_tls_uri(std::string_view uri);

std::optional<FullPolicy> parse_full_policy(std::string_view text);
std::optional<MqttProtocol> parse_protocol(std::string_view text);
std::optional<PayloadMode> parse_payload_mode(std::string_view text);

// Parses "host:port" or "[v6-host]:port"; on failure returns nullopt and sets *why.
std::optional<TcpSource> parse_listen(std::string_view text, std::string* why);

// "host:port", bracketing an IPv6 host: the form parse_listen reads.
std::string listen_string(const TcpSource& tcp);

}  // namespace edge::gateway::config_rules
