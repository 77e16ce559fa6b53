// edgectl: the operator's CLI. Reads the gateway's LMDB buffer read-only (safe while the daemon
// runs) and prints what a person or a script needs.
//
//   edgectl [--state-dir DIR | -c CONFIG] buffer stats [--json]
//   edgectl [--state-dir DIR | -c CONFIG] buffer dump [--json] [--from KEY] [--limit N]
//   edgectl [--state-dir DIR | -c CONFIG] buffer count
//   edgectl [--state-dir DIR | -c CONFIG] devices [--json]
//   edgectl sub [--broker URI] [--topic T] [--share GROUP] [--count N] [--timeout-s S]
//               [--protocol 5|3.1.1] [--cafile PEM] [--cert PEM] [--key PEM]
//               [--username U] [--password P]
//   edgectl console PORT                       a device's serial console (see device_console.h)
//   edgectl config apply PORT device.toml [--reboot]
//   edgectl [-c CONFIG] health [--metrics HOST:PORT] [--max-offline-s S] [--timeout-s S]
//
// Exit status: 0, 1 when the buffer cannot be read (health: unhealthy), 2 on a usage or config
// error.
#include <CLI/CLI.hpp>
#include <array>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "device_console.h"
#include "edge/gateway/aligned_copy.h"
#include "edge/gateway/buffer.h"
#include "edge/gateway/config.h"
#include "edge/gateway/device_hex.h"
#include "edge/gateway/event_json.h"
#include "edge/gateway/outlook.h"
#include "health.h"
#include "sub.h"

namespace {

using edge::gateway::Buffer;
using edge::gateway::BufferError;

std::uint64_t wall_now_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000U +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000U;
}

std::string per_s(const std::optional<double>& rate) {
  if (!rate) {
    return "n/a";
  }
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%.1f", *rate);
  return std::string(text.data()) + " events/s";
}

std::string age(std::uint64_t then_us) {
  const std::uint64_t now_us = wall_now_us();
  const std::uint64_t s = now_us > then_us ? (now_us - then_us) / 1'000'000U : 0;
  return std::to_string(s / 3600) + " h " + std::to_string(s / 60 % 60) + " min " +
         std::to_string(s % 60) + " s";
}

int fail(const BufferError& e) {
  std::fprintf(stderr, "edgectl: %s\n", e.message.c_str());
  return 1;
}

// The event payload, copied to 8-aligned storage (LMDB aligns values to 2 bytes only).
nlohmann::json decode(std::span<const std::uint8_t> payload, edge::gateway::AlignedCopy& scratch) {
  const auto event = edge::wire::verify_event(scratch.assign(payload));
  if (!event.ok()) {
    return {{"error", edge::wire::to_string(event.error())}};
  }
  return edge::gateway::event_to_json(*event.value());
}

}  // namespace

static int run(int argc, char** argv) {
  CLI::App app{"edgectl: inspect and operate an edge gateway"};
  app.require_subcommand(1);
  std::string state_dir;
  std::string config_path;
  app.add_option("--state-dir", state_dir, "the gateway's buffer directory");
  app.add_option("-c,--config", config_path, "read the state directory from this gateway config");

  auto* buffer_cmd = app.add_subcommand("buffer", "the LMDB event buffer");
  buffer_cmd->require_subcommand(1);
  bool json = false;
  std::uint64_t from = 0;
  std::size_t limit = SIZE_MAX;
  auto* stats_cmd = buffer_cmd->add_subcommand("stats", "events, bytes, bound, counters");
  stats_cmd->add_flag("--json", json, "JSON output");
  auto* dump_cmd = buffer_cmd->add_subcommand("dump", "every buffered event, oldest first");
  dump_cmd->add_flag("--json", json, "one JSON object per line");
  dump_cmd->add_option("--from", from, "first buffer key");
  dump_cmd->add_option("--limit", limit, "at most this many events");
  auto* count_cmd = buffer_cmd->add_subcommand("count", "number of buffered events");
  auto* devices_cmd = app.add_subcommand("devices", "per-device state, gaps, last seen");
  devices_cmd->add_flag("--json", json, "JSON output");
  edge::edgectl::SubOptions sub;
  auto* sub_cmd = app.add_subcommand(
      "sub", "subscribe upstream, print unique events as JSON lines, report duplicates and gaps");
  sub_cmd->add_option("--broker", sub.broker, "MQTT broker URI");
  sub_cmd->add_option("--topic", sub.topic, "topic filter");
  sub_cmd->add_option("--share", sub.share, "MQTT v5 shared-subscription group");
  sub_cmd->add_option("--client-id", sub.client_id,
                      "MQTT client id (default edgectl-sub-<host>-<pid>)");
  sub_cmd->add_option("--count", sub.count, "exit after this many unique events");
  sub_cmd->add_option("--timeout-s", sub.timeout_s, "give up after this many seconds (exit 4)");
  sub_cmd
      ->add_option("--reconnect-ms", sub.reconnect_ms,
                   "first reconnect delay after a lost connection (resubscribes)")
      ->check(CLI::Range(10, 60000));
  sub_cmd->add_option("--protocol", sub.protocol, "MQTT version: 5, or 3.1.1 (no --share)")
      ->check(CLI::IsMember({"5", "3.1.1"}));
  sub_cmd
      ->add_option("--cafile", sub.ca_file,
                   "PEM CA certificates for an ssl:// broker (default: system trust store)")
      ->check(CLI::ExistingFile);
  sub_cmd->add_option("--cert", sub.cert_file, "PEM client certificate (TLS)")
      ->check(CLI::ExistingFile);
  sub_cmd->add_option("--key", sub.key_file, "PEM private key of --cert")->check(CLI::ExistingFile);
  sub_cmd->add_option("--username", sub.username, "MQTT user name");
  sub_cmd->add_option("--password", sub.password, "MQTT password (needs --username)");
  std::string console_port;
  auto* console_cmd = app.add_subcommand("console", "a device's serial console, interactively");
  console_cmd->add_option("port", console_port, "serial device PATH[:BAUD] or tcp:HOST:PORT")
      ->required();
  auto* config_cmd = app.add_subcommand("config", "device configuration over its console");
  std::string device_file;
  bool reboot_after = false;
  auto* apply_cmd = config_cmd->add_subcommand("apply", "set and save settings from a TOML file");
  apply_cmd->add_option("port", console_port, "serial device PATH[:BAUD] or tcp:HOST:PORT")
      ->required();
  apply_cmd->add_option("file", device_file, "device.toml")->required();
  apply_cmd->add_flag("--reboot", reboot_after, "reboot the device afterwards");
  config_cmd->require_subcommand(1);
  edge::edgectl::HealthOptions health;
  std::string health_metrics;
  auto* health_cmd = app.add_subcommand(
      "health", "scrape the gateway's metrics endpoint: exit 0 healthy, 1 unhealthy");
  health_cmd->add_option("--metrics", health_metrics,
                         "the gateway's metrics endpoint HOST:PORT (default: metrics.listen of "
                         "-c CONFIG, else 127.0.0.1:9464)");
  health_cmd
      ->add_option("--max-offline-s", health.max_offline_s,
                   "unhealthy when the broker has been unreachable longer (if upstream is "
                   "configured)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  health_cmd->add_option("--timeout-s", health.timeout_s, "connect and read timeout")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 60.0));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is a success; every other parse error is a usage error: status 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (console_cmd->parsed()) {
    return edge::edgectl::run_console(console_port);
  }
  if (apply_cmd->parsed()) {
    return edge::edgectl::run_config_apply(console_port, device_file, reboot_after);
  }
  if (sub_cmd->parsed()) {
    return edge::edgectl::run_sub(sub);
  }
  if (health_cmd->parsed()) {
    if (!health_metrics.empty()) {
      health.metrics = health_metrics;
    } else if (!config_path.empty()) {
      auto loaded = edge::gateway::load_config(config_path);
      if (auto* error = std::get_if<edge::gateway::ConfigError>(&loaded)) {
        std::fprintf(stderr, "%s\n", error->to_string().c_str());
        return 2;
      }
      const auto& config = std::get<edge::gateway::GatewayConfig>(loaded);
      if (!config.metrics_listen.empty()) {
        health.metrics = config.metrics_listen;
      }
    }
    return edge::edgectl::run_health(health);
  }

  edge::gateway::BufferOptions options;
  options.read_only = true;
  options.dir = state_dir;
  if (!config_path.empty()) {
    auto loaded = edge::gateway::load_config(config_path);
    if (auto* error = std::get_if<edge::gateway::ConfigError>(&loaded)) {
      std::fprintf(stderr, "%s\n", error->to_string().c_str());
      return 2;
    }
    const auto& config = std::get<edge::gateway::GatewayConfig>(loaded);
    if (state_dir.empty()) {
      options.dir = config.state_dir;
    }
    options.high_water_percent = config.buffer_high_water_percent;
  }
  if (options.dir.empty()) {
    options.dir = edge::gateway::GatewayConfig{}.state_dir;
  }
  auto opened = Buffer::open(options);
  if (auto* error = std::get_if<BufferError>(&opened)) {
    return fail(*error);
  }
  const Buffer& buffer = *std::get<std::unique_ptr<Buffer>>(opened);

  if (stats_cmd->parsed() || count_cmd->parsed()) {
    auto result = buffer.stats();
    if (auto* error = std::get_if<BufferError>(&result)) {
      return fail(*error);
    }
    const auto& s = std::get<edge::gateway::BufferStats>(result);
    if (count_cmd->parsed()) {
      std::cout << s.events << "\n";
      return 0;
    }
    const edge::gateway::BufferOutlook outlook = edge::gateway::outlook_of(s, wall_now_us());
    if (json) {
      nlohmann::json j = {{"events", s.events},       {"used_bytes", s.used_bytes},
                          {"max_bytes", s.max_bytes}, {"value_bytes", s.payload_bytes},
                          {"devices", s.devices},     {"counters", s.counters}};
      if (s.oldest_received_us) {
        j["oldest_received_us"] = *s.oldest_received_us;
      }
      edge::gateway::add_outlook(j, outlook);
      std::cout << j.dump() << "\n";
      return 0;
    }
    std::cout << "buffer:   " << options.dir << "\n"
              << "events:   " << s.events << " (" << s.payload_bytes << " bytes of records)\n"
              << "disk:     " << s.used_bytes << " of " << s.max_bytes << " bytes ("
              << (s.max_bytes ? s.used_bytes * 100 / s.max_bytes : 0) << "%), full policy at "
              << outlook.limit_bytes << (outlook.full ? " (FULL)" : "") << "\n"
              << "devices:  " << s.devices << "\n";
    if (s.oldest_received_us) {
      std::cout << "oldest:   " << age(*s.oldest_received_us) << " ago\n";
    }
    const auto window = static_cast<long long>(outlook.rate_window_s);
    std::cout << "ingest:   " << per_s(outlook.ingest_per_s) << " (last " << window << " s)\n"
              << "drain:    " << per_s(outlook.drain_per_s) << " (last " << window << " s)\n";
    if (outlook.bytes_per_event) {
      std::cout << "size:     " << static_cast<long long>(*outlook.bytes_per_event)
                << " bytes per event on disk\n";
    }
    std::cout << "offline headroom: " << edge::gateway::describe(outlook.headroom, outlook) << "\n";
    for (const auto& [name, value] : s.counters) {
      if (name != "next_key" && name != "buffered_bytes") {
        std::cout << "  " << name << ": " << value << "\n";
      }
    }
    return 0;
  }

  if (dump_cmd->parsed()) {
    edge::gateway::AlignedCopy scratch;
    const auto error = buffer.for_each_event(from, limit, [&](const edge::gateway::StoredEvent& e) {
      nlohmann::json event = decode(e.record.payload, scratch);
      if (json) {
        nlohmann::json line = {{"key", e.key}, {"received_us", e.record.received_us}};
        line["event"] = std::move(event);
        std::cout << line.dump() << "\n";
      } else {
        std::cout << e.key << " " << event.value("event_id", "?") << " "
                  << event.value("sensor", "") << " " << event["reading"].dump() << "\n";
      }
      return true;
    });
    return error ? fail(*error) : 0;
  }

  if (devices_cmd->parsed()) {
    auto result = buffer.devices();
    if (auto* error = std::get_if<BufferError>(&result)) {
      return fail(*error);
    }
    for (const auto& d : std::get<std::vector<edge::gateway::DeviceRecord>>(result)) {
      if (json) {
        std::cout << nlohmann::json{{"device", edge::gateway::device_hex(d.device)},
                                    {"boot", d.dedupe.boot},
                                    {"next_seq", d.dedupe.next},
                                    {"stored", d.stored},
                                    {"duplicates", d.duplicates},
                                    {"gaps", d.gaps},
                                    {"dropped", d.dropped},
                                    {"refused_busy", d.refused_busy},
                                    {"stale_boot", d.stale_boot},
                                    {"ring_dropped", d.ring_dropped},
                                    {"firmware", d.firmware},
                                    {"board", d.board},
                                    {"last_seen_us", d.last_seen_us}}
                         .dump()
                  << "\n";
      } else {
        std::cout << edge::gateway::device_hex(d.device) << "  boot " << d.dedupe.boot
                  << "  stored " << d.stored << "  duplicates " << d.duplicates << "  gaps "
                  << d.gaps << "  dropped " << d.dropped << "  ring_dropped " << d.ring_dropped
                  << "  last seen " << (d.last_seen_us ? age(d.last_seen_us) + " ago" : "never")
                  << "\n";
      }
    }
    return 0;
  }
  return 2;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edgectl: fatal: %s\n", e.what());
    return 1;
  }
}
