// edge-bench-peer-publisher: the device side of the peer set-up (a Mosquitto edge broker with
// persistence, bridged upstream), and the per-event ceiling (the same client straight to the
// upstream broker).
//
//   edge-bench-peer-publisher --broker tcp://127.0.0.1:PORT --device ID --count N
//       [--window 20] [--rate R] [--boot B] [--first-seq S] [--topic-prefix edge/peer]
//       [--acked-log FILE] [--client-id ID] [--timeout-s 120] [--start-at-mono-us T]
//
// --start-at-mono-us: connect and start at this CLOCK_MONOTONIC time (us), so a fleet of
// processes begins together (as edge-devsim's option of the same name).
//
// Publishes N events at QoS 1 with MQTT v5, the same FlatBuffers Event bytes edge-devsim sends
// (wire::encode_event: device, boot, seq, mono_us = CLOCK_MONOTONIC at production, sensor
// "devsim", Temperature 20 + (seq % 100) / 10), on {prefix}/{device hex}/devsim. At most
// `window` publishes await their PUBACK (also capped by the broker's Receive Maximum, which
// Paho enforces). Latency: production -> PUBACK. --acked-log gets one event id per line per
// PUBACK (one write(2) each, as edge-devsim's), so a crash test knows what was acknowledged.
//
// Prints one JSON line: published, acked, failed, seconds (first publish -> last PUBACK),
// acked_per_s, ack_latency_us {p50,p99,p999,max}. Exit 0 when all were acked, 1 otherwise,
// 2 on a usage error.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mqtt/async_client.h>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "edge/event_id/event_id.h"
#include "edge/wire/messages.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string broker;
  std::uint64_t device = 0;
  std::uint64_t count = 0;
  std::uint32_t window = 20;
  double rate = 0.0;
  std::uint32_t boot = 1;
  std::uint32_t first_seq = 0;
  std::string topic_prefix = "edge/peer";
  std::string acked_log;
  std::string client_id;
  std::uint32_t timeout_s = 120;
  std::uint64_t start_at_mono_us = 0;
};

std::uint64_t micros(Clock::time_point t) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count());
}

// Shared between the publishing loop and Paho's callback thread.
class Window final : public mqtt::iaction_listener {
 public:
  Window(const Options& o, int log_fd) : o_(o), log_fd_(log_fd), produced_us_(o.count, 0) {}

  void sent(std::uint64_t index, std::uint64_t produced_us) {
    std::unique_lock lock(mu_);
    produced_us_[index] = produced_us;
    ++in_flight_;
  }
  // Waits until fewer than `limit` publishes are outstanding, or the deadline.
  bool wait_below(std::uint32_t limit, Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return in_flight_ < limit; });
  }
  void failed_to_send() {
    std::unique_lock lock(mu_);
    --in_flight_;
    ++failed_;
    cv_.notify_all();
  }

  void on_success(const mqtt::token& token) override { done(token, true); }
  void on_failure(const mqtt::token& token) override { done(token, false); }

  std::uint64_t acked() {
    std::unique_lock lock(mu_);
    return acked_;
  }
  std::uint64_t failed() {
    std::unique_lock lock(mu_);
    return failed_;
  }
  Clock::time_point last_ack() {
    std::unique_lock lock(mu_);
    return last_ack_;
  }
  std::vector<std::uint64_t> latencies() {
    std::unique_lock lock(mu_);
    return latencies_;
  }

 private:
  void done(const mqtt::token& token, bool ok) {
    const auto now = Clock::now();
    const auto index = reinterpret_cast<std::uintptr_t>(token.get_user_context());
    std::unique_lock lock(mu_);
    --in_flight_;
    if (!ok) {
      ++failed_;
    } else {
      ++acked_;
      last_ack_ = now;
      latencies_.push_back(micros(now) - produced_us_[index]);
      if (log_fd_ >= 0) {
        std::array<char, edge::kEventIdTextMax + 1> text{};
        const auto n = edge::format_event_id(
            {o_.device, o_.boot, o_.first_seq + static_cast<std::uint32_t>(index)},
            std::span<char>(text.data(), edge::kEventIdTextMax));
        if (n.ok()) {
          text[n.value()] = '\n';
          (void)!::write(log_fd_, text.data(), n.value() + 1);
        }
      }
    }
    cv_.notify_all();
  }

  const Options& o_;
  int log_fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint32_t in_flight_ = 0;
  std::uint64_t acked_ = 0;
  std::uint64_t failed_ = 0;
  Clock::time_point last_ack_{};
  std::vector<std::uint64_t> produced_us_;
  std::vector<std::uint64_t> latencies_;
};

std::uint64_t quantile(const std::vector<std::uint64_t>& sorted, double q) {
  if (sorted.empty()) {
    return 0;
  }
  const auto rank =
      static_cast<std::size_t>(std::lround(q * static_cast<double>(sorted.size() - 1)));
  return sorted[std::min(rank, sorted.size() - 1)];
}

int usage(const char* why) {
  std::fprintf(stderr,
               "edge-bench-peer-publisher: %s\nusage: edge-bench-peer-publisher --broker URI "
               "--device ID --count N [--window W] [--rate R] [--boot B] [--first-seq S] "
               "[--topic-prefix P] [--acked-log FILE] [--client-id ID] [--timeout-s S] "
               "[--start-at-mono-us T]\n",
               why);
  return 2;
}

int run(const Options& o) {
  int log_fd = -1;
  if (!o.acked_log.empty()) {
    log_fd = ::open(o.acked_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
      std::perror(o.acked_log.c_str());
      return 2;
    }
  }
  std::array<char, 17> device_hex{};
  std::snprintf(device_hex.data(), device_hex.size(), "%016llx",
                static_cast<unsigned long long>(o.device));
  const std::string topic = o.topic_prefix + "/" + device_hex.data() + "/devsim";
  const std::string client_id =
      o.client_id.empty() ? "peer-pub-" + std::string(device_hex.data()) : o.client_id;

  if (o.start_at_mono_us != 0) {
    std::this_thread::sleep_until(Clock::time_point(std::chrono::microseconds(o.start_at_mono_us)));
  }
  Window window(o, log_fd);
  mqtt::async_client client(o.broker, client_id,
                            mqtt::create_options(MQTTVERSION_5, static_cast<int>(o.window) + 16),
                            nullptr);
  try {
    client
        .connect(mqtt::connect_options_builder()
                     .mqtt_version(MQTTVERSION_5)
                     .clean_start(true)
                     .keep_alive_interval(std::chrono::seconds(30))
                     .finalize())
        ->wait_for(std::chrono::seconds(10));
  } catch (const mqtt::exception& e) {
    std::fprintf(stderr, "edge-bench-peer-publisher: connect %s: %s\n", o.broker.c_str(), e.what());
    return 1;
  }
  if (!client.is_connected()) {
    std::fprintf(stderr, "edge-bench-peer-publisher: connect %s timed out\n", o.broker.c_str());
    return 1;
  }

  flatbuffers::FlatBufferBuilder fbb(edge::wire::kEventBuilderSize);
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(o.timeout_s);
  const std::chrono::nanoseconds period =
      o.rate > 0 ? std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / o.rate))
                 : std::chrono::nanoseconds(0);
  std::uint64_t published = 0;
  bool timed_out = false;
  for (std::uint64_t i = 0; i < o.count; ++i) {
    if (period.count() > 0) {
      std::this_thread::sleep_until(start + period * static_cast<std::int64_t>(i));
    }
    if (!window.wait_below(o.window, deadline)) {
      timed_out = true;
      break;
    }
    const auto now = Clock::now();
    const std::uint32_t seq = o.first_seq + static_cast<std::uint32_t>(i);
    edge::wire::EventFields fields;
    fields.id = {o.device, o.boot, seq};
    fields.mono_us = micros(now);
    fields.sensor = "devsim";
    fields.reading =
        edge::wire::ReadingValue::temperature(20.0F + static_cast<float>(seq % 100U) / 10.0F);
    const auto event = edge::wire::encode_event(fbb, fields);
    if (!event.ok()) {
      std::fputs("edge-bench-peer-publisher: encode_event failed\n", stderr);
      return 1;
    }
    auto message = mqtt::make_message(topic, event.value().data(), event.value().size(), 1, false);
    window.sent(i, micros(now));
    try {
      // Paho's user context is a void*; it carries a number here, never an address.
      client.publish(message,
                     reinterpret_cast<void*>(  // NOLINT(performance-no-int-to-ptr)
                         static_cast<std::uintptr_t>(i)),
                     window);
      ++published;
    } catch (const mqtt::exception& e) {
      window.failed_to_send();
      std::fprintf(stderr, "edge-bench-peer-publisher: publish: %s\n", e.what());
      break;
    }
  }
  // Every outstanding PUBACK, or the deadline.
  if (!window.wait_below(1, deadline)) {
    timed_out = true;
  }
  const std::uint64_t acked = window.acked();
  const double seconds = std::chrono::duration<double>(window.last_ack() - start).count();
  std::vector<std::uint64_t> lat = window.latencies();
  std::sort(lat.begin(), lat.end());
  try {
    client.disconnect()->wait_for(std::chrono::seconds(2));
  } catch (const mqtt::exception&) {  // the numbers are what matters now
  }
  std::printf(
      "{\"device\":\"%s\",\"published\":%llu,\"acked\":%llu,\"failed\":%llu,\"timed_out\":%s,"
      "\"seconds\":%.4f,\"acked_per_s\":%.1f,\"first_produced_mono_us\":%llu,"
      "\"ack_latency_us\":{\"samples\":%zu,\"p50\":%llu,\"p99\":%llu,\"p999\":%llu,"
      "\"max\":%llu}}\n",
      device_hex.data(), static_cast<unsigned long long>(published),
      static_cast<unsigned long long>(acked), static_cast<unsigned long long>(window.failed()),
      timed_out ? "true" : "false", seconds,
      seconds > 0 ? static_cast<double>(acked) / seconds : 0.0,
      static_cast<unsigned long long>(micros(start)), lat.size(),
      static_cast<unsigned long long>(quantile(lat, 0.5)),
      static_cast<unsigned long long>(quantile(lat, 0.99)),
      static_cast<unsigned long long>(quantile(lat, 0.999)),
      static_cast<unsigned long long>(lat.empty() ? 0 : lat.back()));
  if (log_fd >= 0) {
    ::close(log_fd);
  }
  return acked == o.count ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      return usage(("missing value for " + flag).c_str());
    }
    const char* v = argv[i + 1];
    if (flag == "--broker") {
      o.broker = v;
    } else if (flag == "--device") {
      o.device = std::strtoull(v, nullptr, 0);
    } else if (flag == "--count") {
      o.count = std::strtoull(v, nullptr, 10);
    } else if (flag == "--window") {
      o.window = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
    } else if (flag == "--rate") {
      o.rate = std::strtod(v, nullptr);
    } else if (flag == "--boot") {
      o.boot = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
    } else if (flag == "--first-seq") {
      o.first_seq = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
    } else if (flag == "--topic-prefix") {
      o.topic_prefix = v;
    } else if (flag == "--acked-log") {
      o.acked_log = v;
    } else if (flag == "--client-id") {
      o.client_id = v;
    } else if (flag == "--start-at-mono-us") {
      o.start_at_mono_us = std::strtoull(v, nullptr, 10);
    } else if (flag == "--timeout-s") {
      o.timeout_s = static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
    } else {
      return usage(("unknown option " + flag).c_str());
    }
  }
  if (o.broker.empty() || o.count == 0 || o.window == 0) {
    return usage("--broker, --count > 0 and --window > 0 are required");
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edge-bench-peer-publisher: %s\n", e.what());
    return 1;
  }
}
