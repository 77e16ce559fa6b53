// The config's bounds and value rules, shared by parse_config (which reports them with the line
// and column of the value) and validate_config (which re-checks them after command-line
// overrides). Private to gateway/config.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "edge/gateway/config.h"

namespace edge::gateway::config_rules {

// An inclusive range of an integer key, and the step its value must be a multiple of.
struct Range {
  std::int64_t min;
  std::int64_t max;
  std::int64_t multiple_of = 1;
};

// A key held as a std::uint32_t in GatewayConfig, and its bounds.
struct Uint32Key {
  std::string_view table;  // "buffer" or "ingest"
  std::string_view name;
  Range range;
  std::uint32_t GatewayConfig::*member;
};

inline constexpr std::array<Uint32Key, 8> kUint32Keys{{
    {"buffer", "high_water_percent", {1, 99}, &GatewayConfig::buffer_high_water_percent},
    {"buffer", "busy_retry_ms", {1, 600'000}, &GatewayConfig::buffer_busy_retry_ms},
    {"ingest", "max_devices", {1, 1'000'000}, &GatewayConfig::ingest_max_devices},
    // The dedupe bitmap is kept in 64-bit words.
    {"ingest", "dedupe_window", {64, 1'048'576, 64}, &GatewayConfig::ingest_dedupe_window},
    {"ingest", "max_batch_events", {1, 1'000'000}, &GatewayConfig::ingest_max_batch_events},
    {"ingest", "commit_linger_us", {0, 1'000'000}, &GatewayConfig::ingest_commit_linger_us},
    {"ingest", "max_read_bytes", {256, 16'777'216}, &GatewayConfig::ingest_max_read_bytes},
    {"ingest", "max_connections", {1, 65'536}, &GatewayConfig::ingest_max_connections},
}};

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
std::optional<std::string> check_tcp(const TcpSource& tcp);

std::optional<FullPolicy> parse_full_policy(std::string_view text);

// Parses "host:port" or "[v6-host]:port"; on failure returns nullopt and sets *why.
std::optional<TcpSource> parse_listen(std::string_view text, std::string* why);

// "host:port", bracketing an IPv6 host: the form parse_listen reads.
std::string listen_string(const TcpSource& tcp);

}  // namespace edge::gateway::config_rules
