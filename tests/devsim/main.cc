// edge-devsim: a simulated device on the gateway's serial link, for the integration tests.
// See tests/devsim/README.md for the options, the summary line and the exit codes.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <exception>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <sys/signalfd.h>
#include <system_error>

#include "device_sim.h"
#include "endpoint.h"
#include "runner.h"

namespace {

using namespace edge::devsim;  // NOLINT(google-build-using-namespace)

std::uint64_t parse_device(const std::string& text) {
  const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  const char* begin = text.data() + (hex ? 2 : 0);
  const char* end = text.data() + text.size();
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(begin, end, value, hex ? 16 : 10);
  if (begin == end || ec != std::errc() || ptr != end) {
    throw std::invalid_argument("--device: '" + text + "' is not a decimal or 0x-hex u64");
  }
  return value;
}

std::string hex16(std::uint64_t value) {
  std::array<char, 17> text{};
  std::snprintf(text.data(), text.size(), "%016llx", static_cast<unsigned long long>(value));
  return text.data();
}

void print_summary(const DeviceSim& sim) {
  const SimStats& s = sim.stats();
  nlohmann::ordered_json j;
  j["device"] = hex16(sim.config().device);
  j["boot"] = sim.config().boot;
  j["produced"] = s.produced;
  j["acked"] = s.acked;
  j["busy_acks"] = s.busy_acks;
  j["busy_events"] = s.busy_events;
  j["invalid"] = s.invalid;
  j["retransmits"] = s.retransmits;
  j["ring_dropped"] = s.ring_dropped;
  j["reconnects"] = s.reconnects;
  j["foreign_acks"] = s.foreign_acks;
  j["bad_frames"] = s.bad_frames;
  j["pending"] = sim.pending();
  // Ack latency (production -> Ok ack) and the run's span on CLOCK_MONOTONIC, for bench/.
  const auto mono_us = [](const std::optional<TimePoint>& t) -> std::int64_t {
    return t ? std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count()
             : 0;
  };
  const LatencyHistogram& h = s.ack_latency_us;
  j["ack_latency_us"] = {{"samples", h.samples()},
                         {"p50", h.quantile(0.50)},
                         {"p99", h.quantile(0.99)},
                         {"p999", h.quantile(0.999)},
                         {"max", h.max()}};
  j["first_produced_mono_us"] = mono_us(s.first_produced);
  j["last_acked_mono_us"] = mono_us(s.last_acked);
  std::cout << j.dump() << std::endl;
}

// SIGINT and SIGTERM arrive on a signalfd the poll loop watches; SIGPIPE is ignored.
int stop_signals_fd() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) < 0) {
    throw std::system_error(errno, std::generic_category(), "sigprocmask");
  }
  std::signal(SIGPIPE, SIG_IGN);
  const int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) {
    throw std::system_error(errno, std::generic_category(), "signalfd");
  }
  return fd;
}

int devsim_main(int argc, char** argv) {
  CLI::App app{"edge-devsim: a simulated device on the gateway's serial link"};
  SimConfig config;
  RunOptions run_options;
  std::string connect;
  std::string pty_link;
  std::string device;
  std::string ring_full = "block";
  std::string inject;
  std::uint32_t ack_timeout_ms = 500;
  std::uint32_t timeout_s = 60;

  auto* connect_opt = app.add_option("--connect", connect,
                                     "tcp:HOST:PORT | unix:PATH | serial:PATH[:BAUD] (115200)");
  auto* pty_opt = app.add_option("--pty-link", pty_link, "create a pty; symlink PATH -> its slave");
  connect_opt->excludes(pty_opt);
  app.add_option("--device", device, "device id, decimal or 0x-hex u64")->required();
  app.add_option("--boot", config.boot, "boot counter (u32)")->capture_default_str();
  app.add_option("--first-seq", config.first_seq, "seq of the first event")->capture_default_str();
  app.add_option("--count", config.count, "events to produce, 0: until SIGTERM/SIGINT")
      ->capture_default_str();
  app.add_option("--rate", config.rate, "events per second, 0: as fast as the ring allows")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--batch", config.batch, "events per EventBatch frame")
      ->check(CLI::Range(std::size_t{1}, edge::wire::kMaxBatchEvents))
      ->capture_default_str();
  app.add_option("--ring", config.ring, "ring capacity, events")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--ring-full", ring_full, "when the ring is full: block | drop_oldest")
      ->check(CLI::IsMember({"block", "drop_oldest"}))
      ->capture_default_str();
  app.add_option("--ack-timeout-ms", ack_timeout_ms, "resend an unacked event after this")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_flag("--reconnect", run_options.reconnect, "retry a lost link (50 ms doubling to 1 s)");
  app.add_option("--acked-log", config.acked_log, "append the id of every event acked Ok");
  app.add_flag("--exit-when-acked", run_options.exit_when_acked,
               "exit 0 once --count events are produced and all acked or refused");
  app.add_option("--timeout-s", timeout_s, "give up after this, exit 4 (0: never)")
      ->capture_default_str();
  app.add_option("--inject", inject,
                 "comma-separated: bad_crc,truncated,oversize,bad_identifier,future_version,"
                 "garbage,invalid_flatbuffer");
  app.add_option("--sensor", config.sensor, "sensor name (<= 15 bytes)")->capture_default_str();
  std::string token_file;
  app.add_option("--token-file", token_file,
                 "send \"EDGE-TOKEN <the file's first line>\\n\" first on every connect (a "
                 "gateway listener with a token_file)");
  std::uint64_t start_at_mono_us = 0;
  app.add_option("--start-at-mono-us", start_at_mono_us,
                 "connect and start producing at this CLOCK_MONOTONIC time (us), so a fleet of "
                 "processes begins together; 0: at once");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);
    return kExitUsage;
  }

  std::unique_ptr<Endpoint> endpoint;
  std::unique_ptr<DeviceSim> sim;
  int stop_fd = -1;
  try {
    if (connect_opt->count() + pty_opt->count() != 1) {
      throw std::invalid_argument("give exactly one of --connect and --pty-link");
    }
    if (run_options.exit_when_acked && config.count == 0) {
      throw std::invalid_argument("--exit-when-acked needs --count > 0");
    }
    config.device = parse_device(device);
    config.ring_full = ring_full == "block" ? RingFull::kBlock : RingFull::kDropOldest;
    config.ack_timeout = std::chrono::milliseconds(ack_timeout_ms);
    config.inject = parse_injections(inject);
    run_options.timeout = std::chrono::seconds(timeout_s);
    validate(config);
    const EndpointSpec spec = connect.empty() ? EndpointSpec{} : parse_endpoint(connect);
    stop_fd = stop_signals_fd();
    run_options.stop_fd = stop_fd;
    if (start_at_mono_us != 0) {
      const timespec at{static_cast<time_t>(start_at_mono_us / 1'000'000U),
                        static_cast<long>(start_at_mono_us % 1'000'000U) * 1000L};
      while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr) == EINTR) {
      }
    }
    sim = std::make_unique<DeviceSim>(config, Clock::now());
    endpoint = connect.empty() ? std::unique_ptr<Endpoint>(std::make_unique<PtyEndpoint>(pty_link))
                               : make_endpoint(spec);
    if (!token_file.empty()) {
      endpoint =
          with_first_line(std::move(endpoint), "EDGE-TOKEN " + read_first_line(token_file) + "\n");
    }
  } catch (const std::exception& e) {
    std::cerr << "edge-devsim: " << e.what() << "\n";
    return kExitUsage;
  }

  int code = kExitLinkLost;
  try {
    code = run(*sim, *endpoint, run_options, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "edge-devsim: " << e.what() << "\n";
  }
  print_summary(*sim);
  endpoint.reset();
  ::close(stop_fd);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return devsim_main(argc, argv);
  } catch (...) {
    std::fputs("edge-devsim: unexpected exception\n", stderr);
    return kExitLinkLost;
  }
}
