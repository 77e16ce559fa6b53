// The gateway daemon's configuration: a TOML file (toml++) with command-line overrides (CLI11).
//
// Every key has a default here, a bound checked by load_config, and a line in
// docs/configuration.md. A config error names the file, the key and what was expected, and the
// daemon refuses to start on it; unknown keys are errors too (a typo must not silently fall
// back to a default).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace edge::gateway {

enum class FullPolicy {
  kDropOldest,  // evict the oldest buffered events, count them per device, keep accepting
  kRefuseNew,   // ack new events with status busy; devices keep them and retry
};

/// The policy's name in the config file: "drop_oldest" or "refuse_new".
[[nodiscard]] std::string_view to_string(FullPolicy policy);

/// [buffer] sync: how LMDB makes a commit durable. Only kFull keeps "ack after durable" across
/// an OS crash or a power loss; a crash of the daemon alone loses nothing in every mode (the
/// committed pages are in the kernel's page cache).
enum class BufferSync {
  kFull,        // "full": fsync of data and meta page at every commit (LMDB's default)
  kNoMetaSync,  // "no_meta_sync" (MDB_NOMETASYNC): an OS crash or power loss may undo the last
                // commit(s) (events already acked); the database stays intact
  kNoSync,      // "no_sync" (MDB_NOSYNC): no fsync at all; a power loss may lose or corrupt
                // recently acked events, the database included
};

/// The mode's name in the config file: "full", "no_meta_sync" or "no_sync".
[[nodiscard]] std::string_view to_string(BufferSync sync);

struct SerialSource {
  std::string path;             // e.g. /dev/ttyUSB0
  std::uint32_t baud = 115200;  // one of the standard termios rates
};

/// [[ingest.tcp]]. `host` is an IP address: a loopback one (127.0.0.0/8, ::1), or the address
/// of one interface only when `token_file` is set; never a wildcard (0.0.0.0, ::) nor a host
/// name (config_rules::check_tcp).
struct TcpSource {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  // First line: the shared token (16..256 printable ASCII bytes, no spaces) every connection
  // must send as "EDGE-TOKEN <token>\n" before its first frame. Empty: no token. Read and
  // checked (o-rw like upstream.password_file) when the daemon starts, not by the parser.
  std::string token_file;
};

struct UnixSource {
  std::string path;
};

enum class MqttProtocol {
  kV5,    // "5": reason codes on PUBACK, Receive Maximum, user properties
  kV311,  // "3.1.1": for brokers without v5 (RabbitMQ 3.10's MQTT plugin)
};

enum class PayloadMode {
  kFlatbuffer,  // "flatbuffer": one message per event, the device's Event bytes as they are
  kJson,        // "json": one message per event, rendered by event_to_json
  kBatch,       // "batch": consecutive events of one device in one LinkMessage{EventBatch}
};

/// [upstream]: where and how events are forwarded. Forwarding is off while `uri` is empty.
struct UpstreamConfig {
  std::string uri;        // tcp://host:port, ssl://host:port (also mqtt://, mqtts://)
  std::string client_id;  // empty: the gateway id
  MqttProtocol protocol = MqttProtocol::kV5;
  // Topic template; placeholders {prefix} {gateway} {device} (16 hex digits) {sensor}
  // ("batch" in batch mode). The status topic is always {prefix}/{gateway}/status.
  std::string topic_prefix = "edge";
  std::string topic = "{prefix}/{gateway}/{device}/{sensor}";
  PayloadMode payload = PayloadMode::kFlatbuffer;
  std::uint32_t max_in_flight = 20;       // 1..65535; the broker's Receive Maximum may lower it
  std::uint32_t keep_alive_s = 30;        // 0 (off) or 5..65535
  bool clean_start = true;                // v5 clean start / v3.1.1 clean session
  std::uint32_t session_expiry_s = 0;     // v5 only; 0: the session ends with the connection
  std::uint32_t backoff_min_ms = 100;     // first reconnect delay; doubles per failure
  std::uint32_t backoff_max_ms = 30'000;  // cap (also the wait after refused credentials)
  std::uint32_t batch_max_bytes = 5000;   // 512..131072: one batch message at most (payload)
  std::uint32_t batch_linger_ms = 50;     // 0..60000: wait this long for a batch to fill
  std::uint32_t status_interval_s = 60;   // 0 (off) or 1..86400: periodic status message
  // Paced drain: token buckets over everything forwarded, so a reconnect after a long outage
  // cannot flood the broker or a metered link. 0: off.
  std::uint32_t drain_rate_events_s = 0;  // 0 (off) or 1..10,000,000 events per second
  std::uint32_t drain_rate_bytes_s = 0;   // 0 (off) or 1..4,294,967,295 payload bytes per second
  std::uint32_t drain_burst_ms = 1000;    // 1..60000: each bucket holds this long's worth of rate
  // Events buffered longer than this are dropped at forward time and counted as "expired".
  std::uint32_t message_expiry_s = 0;  // 0 (off) or 1..31,536,000 (a year)
  // While a backlog drains, publish what arrives meanwhile first (per-device order is then not
  // kept across the two; consumers order by event ID). false: strict buffer order (FIFO).
  bool live_first = false;
  std::string username;       // empty: none
  std::string password_file;  // first line is the password; refused when group/other-readable
  // [upstream.tls]: used with ssl:// or mqtts://
  std::string tls_ca_file;    // PEM; empty: the system's trust store
  std::string tls_cert_file;  // PEM client certificate (client-certificate auth)
  std::string tls_key_file;   // PEM private key; refused when group/other-readable
  bool tls_verify = true;     // verify the broker's certificate and host name
};

struct GatewayConfig {
  // [gateway]
  std::string gateway_id = "edge-gateway";
  std::string state_dir = "/var/lib/edge-gateway";  // holds the LMDB environment
  std::string log_level = "info";                   // trace, debug, info, warn, error

  // [buffer]
  std::uint64_t buffer_max_bytes = 256ULL << 20U;  // LMDB map size: the hard disk bound
  std::uint32_t buffer_high_water_percent = 80;    // of max_bytes; the full policy applies above
  FullPolicy buffer_full_policy = FullPolicy::kDropOldest;
  std::uint32_t buffer_busy_retry_ms = 1000;   // retry_after_ms in busy acks
  BufferSync buffer_sync = BufferSync::kFull;  // anything else: logged as a warning at start

  // [ingest]
  std::uint32_t ingest_max_devices = 1024;       // devices registered at most
  std::uint32_t ingest_dedupe_window = 4096;     // per-device bitmap window, events
  std::uint32_t ingest_max_batch_events = 4096;  // events in one write transaction at most
  std::uint32_t ingest_commit_linger_us = 0;     // wait this long to group more frames
  std::uint32_t ingest_max_read_bytes = 65536;   // per source per loop iteration (fairness)
  std::uint32_t ingest_max_connections = 256;    // accepted TCP + Unix connections at most
  // Per link (one serial port or one accepted connection): a token bucket of this many events
  // per second holding link_burst_ms worth; events beyond it are acked busy. 0: no limit.
  std::uint32_t ingest_link_rate_events_s = 20'000;  // 0 (off) or 1..10,000,000
  std::uint32_t ingest_link_burst_ms = 1000;         // 1..60000
  // A connection to a listener with a token_file must send its token line within this.
  std::uint32_t ingest_auth_timeout_ms = 5000;  // 100..60000
  std::vector<SerialSource> serial;
  std::vector<TcpSource> tcp;
  std::vector<UnixSource> unix_sockets;

  // [upstream] and [upstream.tls]
  UpstreamConfig upstream;

  // [metrics]: Prometheus text on http://LISTEN/metrics; off while empty. "IP:PORT" or
  // "[IPv6]:PORT", a loopback address unless metrics_allow_remote (the endpoint has neither
  // authentication nor TLS).
  std::string metrics_listen;
  bool metrics_allow_remote = false;
};

/// A config error: the file, the dotted key ("buffer.max_bytes", "ingest.tcp[1].listen") and
/// what was expected. `key` is empty when the error is not about one key (file unreadable, TOML
/// syntax); `line` and `column` are 1-based and 0 when unknown (errors from validate_config).
struct ConfigError {
  std::string file;
  std::string key;
  std::string message;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  /// "config error: FILE:LINE:COL: key 'KEY': MESSAGE"; ":LINE:COL" is left out when unknown
  /// and "key 'KEY': " when `key` is empty.
  [[nodiscard]] std::string to_string() const;
};

/// Parses a byte size as written in the config file and on the command line: decimal digits,
/// optionally followed by one of the suffixes B, KiB, MiB, GiB, TiB ("256MiB", "1GiB", "4096").
/// Returns nullopt on anything else (empty, sign, spaces, unknown suffix, above 2^64 - 1).
[[nodiscard]] std::optional<std::uint64_t> parse_size(std::string_view text);

/// Parses the TOML file at `path` on top of the defaults. Returns the first error found (file
/// missing or unreadable, TOML syntax, unknown key, wrong type, value out of range). Does not
/// require a source: call validate_config once command-line overrides are applied.
std::variant<GatewayConfig, ConfigError> load_config(const std::string& path);

/// Parses TOML text (for tests and for `edgectl config check`); `file` names it in errors.
std::variant<GatewayConfig, ConfigError> parse_config(const std::string& text,
                                                      const std::string& file);

/// Checks cross-field rules after command-line overrides were applied (at least one source,
/// high water in 1..99, ...). Returns the first error, naming `file` and the key.
std::optional<ConfigError> validate_config(const GatewayConfig& config, const std::string& file);

}  // namespace edge::gateway
