// edge-gatewayd: the gateway daemon. Reads its TOML config, applies command-line overrides,
// opens the LMDB buffer and serves every configured link until SIGTERM/SIGINT.
//
// Exit status: 0 after a clean stop, 2 on a config or command-line error (the message names the
// file and the key), 1 when the buffer or a listener cannot be set up.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <string>
#include <vector>

#include "edge/gateway/buffer.h"
#include "edge/gateway/config.h"
#include "edge/gateway/ingest.h"
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
  return std::nullopt;
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
  edge::gateway::ForwarderOptions upstream;
  app.add_option("--mqtt", upstream.server_uri,
                 "forward to this MQTT broker, e.g. tcp://127.0.0.1:1883 (QoS 1, MQTT v5)");
  app.add_option("--mqtt-client-id", upstream.client_id, "MQTT client id (default: gateway id)");
  app.add_option("--mqtt-max-in-flight", upstream.max_in_flight,
                 "publishes awaiting PUBACK at most (the broker's Receive Maximum may lower it)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--ready-file", ready_file,
                 "write {\"pid\":..,\"tcp_ports\":[..]} here once every link is set up");
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

  auto logger = spdlog::stderr_color_mt("gateway");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  ::signal(SIGPIPE, SIG_IGN);

  edge::gateway::BufferOptions buffer_options;
  buffer_options.dir = config.state_dir;
  buffer_options.max_bytes = config.buffer_max_bytes;
  buffer_options.high_water_percent = config.buffer_high_water_percent;
  buffer_options.policy = config.buffer_full_policy;
  buffer_options.dedupe_window = config.ingest_dedupe_window;
  buffer_options.max_devices = config.ingest_max_devices;
  auto opened = edge::gateway::Buffer::open(buffer_options);
  if (auto* error = std::get_if<edge::gateway::BufferError>(&opened)) {
    spdlog::critical("buffer: {}", error->message);
    return 1;
  }
  auto& buffer = *std::get<std::unique_ptr<edge::gateway::Buffer>>(opened);
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
  edge::gateway::Ingest ingest(
      buffer, sink,
      {config.ingest_max_batch_events, config.buffer_busy_retry_ms, config.ingest_dedupe_window});
  edge::gateway::EventLoop loop(ingest,
                                {config.ingest_max_read_bytes, config.ingest_max_connections,
                                 config.ingest_commit_linger_us, 65536});
  loop_ptr = &loop;
  std::unique_ptr<edge::gateway::Forwarder> forwarder;
  if (!upstream.server_uri.empty()) {
    upstream.gateway_id = config.gateway_id;
    if (upstream.client_id.empty()) {
      upstream.client_id = config.gateway_id;
    }
    forwarder = std::make_unique<edge::gateway::Forwarder>(buffer, upstream);
    loop.set_forwarder(forwarder.get());
    spdlog::info("forwarding to {} as client '{}', topic {}/{}/<device>/<sensor>",
                 upstream.server_uri, upstream.client_id, upstream.topic_prefix,
                 upstream.gateway_id);
  }
  for (const auto& tcp : config.tcp) {
    if (auto error = loop.add_tcp(tcp)) {
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
  if (!ready_file.empty()) {
    std::string ports;
    for (const std::uint16_t p : loop.tcp_ports()) {
      ports += (ports.empty() ? "" : ",") + std::to_string(p);
    }
    const std::string tmp = ready_file + ".tmp";
    std::ofstream(tmp) << "{\"pid\":" << ::getpid() << ",\"tcp_ports\":[" << ports << "]}\n";
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
