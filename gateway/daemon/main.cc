// edge-gatewayd: the gateway daemon. Reads its TOML config, applies command-line overrides,
// opens the LMDB buffer and serves every configured link until SIGTERM/SIGINT.
//
// Exit status: 0 after a clean stop, 2 on a config or command-line error (the message names the
// file and the key), 1 when the buffer, a listener or the metrics endpoint cannot be set up.
// With --check-config it only reads and validates the config and the flags (0: valid, 2: not);
// files the config names (password_file, TLS files, token_file) are not opened then: it checks a
// config written for another machine too.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <string>
#include <sys/stat.h>
#include <utility>
#include <vector>

#include "edge/gateway/buffer.h"
#include "edge/gateway/config.h"
#include "edge/gateway/forwarder.h"
#include "edge/gateway/ingest.h"
#include "edge/gateway/link_auth.h"
#include "edge/gateway/metrics.h"
#include "event_loop.h"

namespace {

using edge::gateway::ConfigError;
using edge::gateway::GatewayConfig;

// Command-line values that override the file; unset ones leave the file's value alone.
struct Overrides {
  std::string state_dir;
  std::string gateway_id;
  std::string log_level;
  std::uint64_t max_bytes = 0;
  std::string full_policy;
  std::vector<std::string> tcp;
  std::vector<std::string> unix_sockets;
  std::vector<std::string> serial;
  std::string mqtt_uri;
  std::string mqtt_client_id;
  std::uint32_t mqtt_max_in_flight = 0;
  std::string metrics;
};

// Applies overrides by rendering them as TOML and parsing that with the same rules as the file,
// so a bad flag gets the same clear message a bad key would.
std::optional<ConfigError> apply(GatewayConfig& config, const Overrides& o) {
  std::string toml;
  const auto quoted = [](const std::string& s) { return "\"" + s + "\""; };
  toml += "[gateway]\n";
  if (!o.state_dir.empty()) {
    toml += "state_dir = " + quoted(o.state_dir) + "\n";
  }
  if (!o.gateway_id.empty()) {
    toml += "id = " + quoted(o.gateway_id) + "\n";
  }
  if (!o.log_level.empty()) {
    toml += "log_level = " + quoted(o.log_level) + "\n";
  }
  toml += "[buffer]\n";
  if (o.max_bytes != 0) {
    toml += "max_bytes = " + std::to_string(o.max_bytes) + "\n";
  }
  if (!o.full_policy.empty()) {
    toml += "full_policy = " + quoted(o.full_policy) + "\n";
  }
  for (const std::string& t : o.tcp) {
    toml += "[[ingest.tcp]]\nlisten = " + quoted(t) + "\n";
  }
  for (const std::string& u : o.unix_sockets) {
    toml += "[[ingest.unix]]\npath = " + quoted(u) + "\n";
  }
  for (const std::string& s : o.serial) {
    const auto colon = s.rfind(':');
    const bool has_baud = colon != std::string::npos && colon + 1 < s.size() &&
                          s.find_first_not_of("0123456789", colon + 1) == std::string::npos;
    toml += "[[ingest.serial]]\npath = " + quoted(has_baud ? s.substr(0, colon) : s) + "\n";
    if (has_baud) {
      toml += "baud = " + s.substr(colon + 1) + "\n";
    }
  }
  toml += "[upstream]\n";
  if (!o.mqtt_uri.empty()) {
    toml += "uri = " + quoted(o.mqtt_uri) + "\n";
  }
  if (!o.mqtt_client_id.empty()) {
    toml += "client_id = " + quoted(o.mqtt_client_id) + "\n";
  }
  if (o.mqtt_max_in_flight != 0) {
    toml += "max_in_flight = " + std::to_string(o.mqtt_max_in_flight) + "\n";
  }
  if (!o.metrics.empty()) {
    // The file's allow_remote applies to a --metrics address too.
    toml += "[metrics]\nlisten = " + quoted(o.metrics) +
            "\nallow_remote = " + (config.metrics_allow_remote ? "true" : "false") + "\n";
  }
  auto parsed = edge::gateway::parse_config(toml, "<command line>");
  if (auto* error = std::get_if<ConfigError>(&parsed)) {
    return *error;
  }
  const GatewayConfig& flags = std::get<GatewayConfig>(parsed);
  if (!o.state_dir.empty()) {
    config.state_dir = flags.state_dir;
  }
  if (!o.gateway_id.empty()) {
    config.gateway_id = flags.gateway_id;
  }
  if (!o.log_level.empty()) {
    config.log_level = flags.log_level;
  }
  if (o.max_bytes != 0) {
    config.buffer_max_bytes = flags.buffer_max_bytes;
  }
  if (!o.full_policy.empty()) {
    config.buffer_full_policy = flags.buffer_full_policy;
  }
  config.tcp.insert(config.tcp.end(), flags.tcp.begin(), flags.tcp.end());
  config.unix_sockets.insert(config.unix_sockets.end(), flags.unix_sockets.begin(),
                             flags.unix_sockets.end());
  config.serial.insert(config.serial.end(), flags.serial.begin(), flags.serial.end());
  if (!o.mqtt_uri.empty()) {
    config.upstream.uri = flags.upstream.uri;
  }
  if (!o.mqtt_client_id.empty()) {
    config.upstream.client_id = flags.upstream.client_id;
  }
  if (o.mqtt_max_in_flight != 0) {
    config.upstream.max_in_flight = flags.upstream.max_in_flight;
  }
  if (!o.metrics.empty()) {
    config.metrics_listen = flags.metrics_listen;
  }
  return std::nullopt;
}

// A secret named by `key`: refused unless it is a regular file that others cannot read or
// write (a key that anyone on the box can read is not a secret); with `owner_only` (the TLS
// private key, docs/configuration.md) its group cannot either. Returns the first line when
// `read` is set, "" otherwise.
std::variant<std::string, ConfigError> check_secret_file(const std::string& path,
                                                         const std::string& key,
                                                         const std::string& file, bool read,
                                                         bool owner_only = false) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return ConfigError{file, key, "cannot open " + path + ": " + std::strerror(errno)};
  }
  if (!S_ISREG(st.st_mode)) {
    return ConfigError{file, key, path + " is not a regular file"};
  }
  if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0U) {
    return ConfigError{file, key,
                       fmt::format("{} is accessible by other users (mode {:04o}); chmod o-rw it",
                                   path, st.st_mode & 07777U)};
  }
  if (owner_only && (st.st_mode & (S_IRGRP | S_IWGRP)) != 0U) {
    return ConfigError{
        file, key,
        fmt::format("{} is accessible by its group (mode {:04o}); a private key is for its owner "
                    "only: chmod go-rw it",
                    path, st.st_mode & 07777U)};
  }
  if (!read) {
    return std::string();
  }
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return ConfigError{file, key, "cannot read " + path};
  }
  return line;
}

}  // namespace

static int run(int argc, char** argv) {
  CLI::App app{"edge-gatewayd: buffers device events durably in LMDB and acks them"};
  std::string config_path;
  std::string ready_file;
  Overrides o;
  app.add_option("-c,--config", config_path, "TOML config file");
  app.add_option("--state-dir", o.state_dir, "directory of the LMDB buffer (gateway.state_dir)");
  app.add_option("--gateway-id", o.gateway_id, "gateway id (gateway.id)");
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error");
  app.add_option("--max-bytes", o.max_bytes, "buffer bound in bytes (buffer.max_bytes)");
  app.add_option("--full-policy", o.full_policy, "drop_oldest or refuse_new");
  app.add_option("--tcp", o.tcp, "listen for devices on HOST:PORT (repeatable)");
  app.add_option("--unix", o.unix_sockets, "listen for devices on a Unix socket (repeatable)");
  app.add_option("--serial", o.serial, "serial port PATH[:BAUD] (repeatable)");
  app.add_option("--mqtt", o.mqtt_uri,
                 "forward to this MQTT broker, e.g. tcp://127.0.0.1:1883 (upstream.uri)");
  app.add_option("--mqtt-client-id", o.mqtt_client_id,
                 "MQTT client id (upstream.client_id; default: gateway id)");
  app.add_option("--mqtt-max-in-flight", o.mqtt_max_in_flight,
                 "messages awaiting PUBACK at most (upstream.max_in_flight)");
  app.add_option("--metrics", o.metrics,
                 "serve Prometheus metrics on http://HOST:PORT/metrics (metrics.listen)");
  bool check_only = false;
  app.add_flag("--check-config", check_only,
               "validate the config and flags, print the verdict, exit 0 (valid) or 2");
  app.add_option("--ready-file", ready_file,
                 "write {\"pid\":..,\"tcp_ports\":[..],\"metrics_port\":..} here once every "
                 "link is set up");
  CLI11_PARSE(app, argc, argv);

  GatewayConfig config;
  const std::string origin = config_path.empty() ? "<command line>" : config_path;
  if (!config_path.empty()) {
    auto loaded = edge::gateway::load_config(config_path);
    if (auto* error = std::get_if<ConfigError>(&loaded)) {
      std::fprintf(stderr, "%s\n", error->to_string().c_str());
      return 2;
    }
    config = std::get<GatewayConfig>(loaded);
  }
  if (auto error = apply(config, o)) {
    std::fprintf(stderr, "%s\n", error->to_string().c_str());
    return 2;
  }
  if (auto error = edge::gateway::validate_config(config, origin)) {
    std::fprintf(stderr, "%s\n", error->to_string().c_str());
    return 2;
  }
  if (check_only) {
    std::printf("config ok: %s\n", origin.c_str());
    return 0;
  }

  edge::gateway::ForwarderOptions upstream{.upstream = config.upstream,
                                           .gateway_id = config.gateway_id};
  if (!config.upstream.password_file.empty()) {
    auto secret =
        check_secret_file(config.upstream.password_file, "upstream.password_file", origin, true);
    if (auto* error = std::get_if<ConfigError>(&secret)) {
      std::fprintf(stderr, "%s\n", error->to_string().c_str());
      return 2;
    }
    upstream.password = std::get<std::string>(secret);
  }
  if (!config.upstream.tls_key_file.empty()) {
    auto checked =
        check_secret_file(config.upstream.tls_key_file, "upstream.tls.key_file", origin, false,
                          /*owner_only=*/true);
    if (auto* error = std::get_if<ConfigError>(&checked)) {
      std::fprintf(stderr, "%s\n", error->to_string().c_str());
      return 2;
    }
  }

  // The shared tokens of [[ingest.tcp]] listeners, by listener index (nullopt: no token).
  std::vector<std::optional<std::string>> tokens(config.tcp.size());
  for (std::size_t i = 0; i < config.tcp.size(); ++i) {
    if (config.tcp[i].token_file.empty()) {
      continue;
    }
    const std::string key = "ingest.tcp[" + std::to_string(i) + "].token_file";
    auto secret = check_secret_file(config.tcp[i].token_file, key, origin, true);
    if (auto* error = std::get_if<ConfigError>(&secret)) {
      std::fprintf(stderr, "%s\n", error->to_string().c_str());
      return 2;
    }
    if (auto why = edge::gateway::check_token(std::get<std::string>(secret))) {
      std::fprintf(
          stderr, "%s\n",
          ConfigError{origin, key, config.tcp[i].token_file + ": " + *why}.to_string().c_str());
      return 2;
    }
    tokens[i] = std::move(std::get<std::string>(secret));
  }

  auto logger = spdlog::stderr_color_mt("gateway");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  ::signal(SIGPIPE, SIG_IGN);
  // SIGTERM and SIGINT belong to the event loop's signalfd. Blocked here, before the first
  // thread starts (the metrics server's), so every thread inherits the mask: a thread without
  // it took SIGTERM's default action and ended the daemon uncleanly (exit 143, no final
  // commit, no offline status) whenever metrics.listen was set.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  edge::gateway::BufferOptions buffer_options;
  buffer_options.dir = config.state_dir;
  buffer_options.max_bytes = config.buffer_max_bytes;
  buffer_options.high_water_percent = config.buffer_high_water_percent;
  buffer_options.policy = config.buffer_full_policy;
  buffer_options.dedupe_window = config.ingest_dedupe_window;
  buffer_options.max_devices = config.ingest_max_devices;
  buffer_options.sync = config.buffer_sync;
  if (config.buffer_sync != edge::gateway::BufferSync::kFull) {
    spdlog::warn(
        "buffer.sync = \"{}\": {}", edge::gateway::to_string(config.buffer_sync),
        config.buffer_sync == edge::gateway::BufferSync::kNoSync
            ? "LMDB does not fsync (MDB_NOSYNC): a power loss or OS crash may lose or corrupt "
              "events already acked to devices; only \"full\" keeps ack-after-durable across one"
            : "LMDB does not fsync its meta page (MDB_NOMETASYNC): a power loss or OS crash may "
              "undo the last commits, losing events already acked to devices (the database "
              "stays intact); only \"full\" keeps ack-after-durable across one");
  }
  auto opened = edge::gateway::Buffer::open(buffer_options);
  if (auto* error = std::get_if<edge::gateway::BufferError>(&opened)) {
    spdlog::critical("buffer: {}", error->message);
    return 1;
  }
  auto& buffer = *std::get<std::unique_ptr<edge::gateway::Buffer>>(opened);

  // Metrics before the links: a port already in use stops the start, like a listener would.
  std::unique_ptr<edge::gateway::Metrics> metrics;
  std::unique_ptr<edge::gateway::MetricsServer> metrics_server;
  if (!config.metrics_listen.empty()) {
    metrics = std::make_unique<edge::gateway::Metrics>(
        edge::gateway::MetricsInfo{.version = EDGE_GATEWAY_VERSION,
                                   .gateway_id = config.gateway_id,
                                   .upstream_configured = !config.upstream.uri.empty()},
        edge::gateway::monotonic_us());
    auto started = edge::gateway::MetricsServer::start(config.metrics_listen, metrics->registry());
    if (auto* error = std::get_if<std::string>(&started)) {
      spdlog::critical("{}", *error);
      return 1;
    }
    metrics_server = std::move(std::get<std::unique_ptr<edge::gateway::MetricsServer>>(started));
    spdlog::info("metrics on http://{}/metrics", config.metrics_listen);
  }
  spdlog::info("gateway {}: buffer {} ({} MiB bound, high water {}%, full policy {})",
               config.gateway_id, config.state_dir, config.buffer_max_bytes >> 20U,
               config.buffer_high_water_percent,
               config.buffer_full_policy == edge::gateway::FullPolicy::kDropOldest ? "drop_oldest"
                                                                                   : "refuse_new");

  edge::gateway::EventLoop* loop_ptr = nullptr;
  struct Sink final : edge::gateway::AckSink {
    edge::gateway::EventLoop** loop = nullptr;
    void send_frame(edge::gateway::SessionId s, std::span<const std::uint8_t> f) override {
      (*loop)->send_frame(s, f);
    }
  } sink;
  sink.loop = &loop_ptr;
  edge::gateway::Ingest ingest(buffer, sink,
                               {.max_batch_events = config.ingest_max_batch_events,
                                .busy_retry_ms = config.buffer_busy_retry_ms,
                                .dedupe_window = config.ingest_dedupe_window,
                                .link_rate_events_s = config.ingest_link_rate_events_s,
                                .link_burst_ms = config.ingest_link_burst_ms});
  edge::gateway::EventLoop loop(ingest, {.max_read_bytes = config.ingest_max_read_bytes,
                                         .max_connections = config.ingest_max_connections,
                                         .commit_linger_us = config.ingest_commit_linger_us,
                                         .max_pending_ack_bytes = 65536,
                                         .auth_timeout_ms = config.ingest_auth_timeout_ms});
  if (config.ingest_link_rate_events_s == 0) {
    spdlog::info("ingest: no per-link rate limit (link_rate_events_s = 0)");
  } else {
    spdlog::info("ingest: at most {} events/s per link, bursts of {} ms",
                 config.ingest_link_rate_events_s, config.ingest_link_burst_ms);
  }
  loop_ptr = &loop;
  std::unique_ptr<edge::gateway::Forwarder> forwarder;
  if (!config.upstream.uri.empty()) {
    auto created = edge::gateway::Forwarder::create(buffer, upstream);
    if (auto* error = std::get_if<std::string>(&created)) {
      std::fprintf(stderr, "%s\n", ConfigError{origin, "", *error}.to_string().c_str());
      return 2;
    }
    forwarder = std::move(std::get<std::unique_ptr<edge::gateway::Forwarder>>(created));
    loop.set_forwarder(forwarder.get());
    const edge::gateway::UpstreamConfig& up = config.upstream;
    spdlog::info(
        "forwarding to {} as client '{}' (MQTT {}, {} payload), topic {}, status on "
        "{}/{}/status",
        up.uri, up.client_id.empty() ? config.gateway_id : up.client_id,
        up.protocol == edge::gateway::MqttProtocol::kV5 ? "5" : "3.1.1",
        up.payload == edge::gateway::PayloadMode::kBatch  ? "batch"
        : up.payload == edge::gateway::PayloadMode::kJson ? "json"
                                                          : "flatbuffer",
        up.topic, up.topic_prefix, config.gateway_id);
  }
  for (std::size_t i = 0; i < config.tcp.size(); ++i) {
    if (auto error = loop.add_tcp(config.tcp[i], std::move(tokens[i]))) {
      spdlog::critical("{}", *error);
      return 1;
    }
  }
  for (const auto& unix_socket : config.unix_sockets) {
    if (auto error = loop.add_unix(unix_socket)) {
      spdlog::critical("{}", *error);
      return 1;
    }
  }
  for (const auto& serial : config.serial) {
    loop.add_serial(serial);
  }
  if (metrics) {
    ingest.set_commit_observer([&metrics](std::chrono::nanoseconds duration, bool ok) {
      metrics->observe_commit(duration, ok);
    });
  }
  // The rate log (edgectl buffer stats, the metrics and the status message read their rates off
  // it): a first point now, before any traffic, then one check per tick.
  const auto sample_rates = [&buffer] {
    if (auto error = buffer.sample_rates(edge::gateway::wall_clock_us())) {
      spdlog::debug("buffer: rate log not written: {}", error->message);
    }
  };
  sample_rates();
  loop.set_periodic(edge::gateway::kMetricsUpdateIntervalUs, [&](std::uint64_t now_us) {
    sample_rates();
    if (!metrics) {
      return;
    }
    edge::gateway::MetricsSample sample{
        .links = loop.links(), .now_us = now_us, .wall_us = edge::gateway::wall_clock_us()};
    auto stats = buffer.stats();
    if (auto* s = std::get_if<edge::gateway::BufferStats>(&stats)) {
      sample.buffer = std::move(*s);
    }
    if (forwarder) {
      sample.upstream = forwarder->stats();
    }
    metrics->update(sample);
  });
  if (!ready_file.empty()) {
    std::string ports;
    for (const std::uint16_t p : loop.tcp_ports()) {
      ports += (ports.empty() ? "" : ",") + std::to_string(p);
    }
    const std::string tmp = ready_file + ".tmp";
    const int metrics_port =
        metrics_server && !metrics_server->ports().empty() ? metrics_server->ports().front() : 0;
    std::ofstream(tmp) << "{\"pid\":" << ::getpid() << ",\"tcp_ports\":[" << ports
                       << "],\"metrics_port\":" << metrics_port << "}\n";
    std::rename(tmp.c_str(), ready_file.c_str());
  }
  const int status = loop.run();
  spdlog::info("stopped");
  return status;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // a bug, not bad input: say what and stop
    std::fprintf(stderr, "edge-gatewayd: fatal: %s\n", e.what());
    return 1;
  }
}
