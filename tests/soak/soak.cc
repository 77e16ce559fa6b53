#include "soak.h"

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <spdlog/spdlog.h>

#include "heap_meter.h"

namespace edge::soak {
namespace {

std::uint64_t wall_clock_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * kSecond +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000U;
}

// Waits (real time) until Paho reports something; false on timeout.
bool wait_for_report(const gateway::Forwarder& forwarder, int timeout_ms) {
  pollfd fd{forwarder.wake_fd(), POLLIN, 0};
  return ::poll(&fd, 1, timeout_ms) == 1;
}

}  // namespace

bool Soak::set_up() {
  if (dir_.path().empty()) {
    std::fprintf(stderr, "edge-soak: cannot create a temporary directory\n");
    return false;
  }
  gateway::BufferOptions bo;
  bo.dir = dir_.path() + "/state";
  bo.max_bytes = 64ULL << 20U;
  bo.dedupe_window = kSoakDedupeWindow;
  auto opened = gateway::Buffer::open(bo);
  if (auto* error = std::get_if<gateway::BufferError>(&opened)) {
    std::fprintf(stderr, "edge-soak: buffer: %s\n", error->message.c_str());
    return false;
  }
  buffer_ = std::move(std::get<std::unique_ptr<gateway::Buffer>>(opened));

  for (std::uint32_t i = 0; i < o_.devices; ++i) {
    devices_.emplace_back(0x50A0'0000ULL + i);
    decoders_.push_back(std::make_unique<link::FrameDecoderBuffer<>>());
    sources_.push_back("sim:dev" + std::to_string(i));
    next_reboot_s_.push_back(kFirstRebootS + i * kRebootStaggerS);
  }
  acks_ = std::make_unique<LossyAckLink>(devices_);
  ingest_ = std::make_unique<gateway::Ingest>(*buffer_, *acks_,
                                              gateway::IngestOptions{4096, 250, kSoakDedupeWindow});

  const std::uint16_t port = gateway::free_loopback_port();
  // Without TCP_NODELAY, Nagle holds each small PUBACK back until the previous one is
  // acknowledged: measured here, twice the real time for the same simulated hour.
  broker_ =
      std::make_unique<gateway::MosquittoProcess>(dir_.path(), port, "set_tcp_nodelay true\n");
  if (const std::string why = broker_->start(); !why.empty()) {
    std::fprintf(stderr, "edge-soak: %s\n", why.c_str());
    return false;
  }
  const std::string uri = "tcp://127.0.0.1:" + std::to_string(port);
  sub_ = std::make_unique<Subscriber>(uri);
  if (const std::string why = sub_->connect(filter_); !why.empty()) {
    std::fprintf(stderr, "edge-soak: subscriber: %s\n", why.c_str());
    return false;
  }
  gateway::ForwarderOptions fo;
  fo.gateway_id = "soak-gw";
  fo.upstream.uri = uri;
  fo.upstream.status_interval_s = kStatusIntervalS;
  fo.upstream.drain_rate_events_s = kDrainRateEventsS;
  auto created = gateway::Forwarder::create(*buffer_, fo);
  if (auto* error = std::get_if<std::string>(&created)) {
    std::fprintf(stderr, "edge-soak: forwarder: %s\n", error->c_str());
    return false;
  }
  forwarder_ = std::move(std::get<std::unique_ptr<gateway::Forwarder>>(created));
  wall_origin_ = wall_clock_us() - (std::uint64_t{o_.sim_seconds} + 3600U) * kSecond;
  return true;
}

std::uint64_t Soak::buffered() const {
  auto stats = buffer_->stats();
  return std::holds_alternative<gateway::BufferStats>(stats)
             ? std::get<gateway::BufferStats>(stats).events
             : ~0ULL;
}

// One tick of every device: reboot when due (and its ring is empty), make the events due by now,
// send its whole ring (the frames cross the gateway's decoder, some corrupted), then one commit.
void Soak::tick_devices(bool produce) {
  const std::uint64_t t_s = (now_ - start_) / kSecond;
  const std::uint64_t period_us = std::uint64_t{o_.event_period_ms} * 1000U;
  std::vector<std::uint8_t> bytes;
  std::vector<std::pair<std::size_t, std::size_t>> frames;
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    SimDevice& device = devices_[i];
    bytes.clear();
    frames.clear();
    if (t_s == 0 && device.produced() == 0) {
      device.hello(bytes);
    }
    if (t_s >= next_reboot_s_[i] && device.ring_empty()) {
      device.reboot();
      device.hello(bytes);
      next_reboot_s_[i] += kRebootEveryS;
      ++reboots_;
    }
    if (produce) {
      const std::uint64_t due = (now_ - start_) / period_us + 1;
      while (device.produced() < due) {
        device.produce(now_);
        outage_events_ += broker_up_ ? 0U : 1U;
      }
    }
    device.send_ring(bytes, frames);
    for (const auto& [begin, end] : frames) {
      if (++frames_sent_ % kCorruptFrameEvery == 0) {
        // Flip bits in the middle of the frame: never into 0x00 (that would split the frame).
        std::uint8_t& b = bytes[begin + (end - begin) / 2];
        b ^= b == 0x5A ? 0xA5 : 0x5A;
        ++corrupted_;
      }
    }
    const auto session = static_cast<gateway::SessionId>(i + 1);
    decoders_[i]->feed(
        bytes,
        [&](std::span<const std::uint8_t> payload) {
          ingest_->on_frame(session, sources_[i], payload, wall(now_));
        },
        [&](link::FrameError error) {
          ingest_->on_frame_error(session, sources_[i], error, wall(now_));
        });
  }
  ingest_->flush(wall(now_));
  if (auto error = buffer_->sample_rates(wall(now_))) {
    spdlog::warn("rate log: {}", error->message);
  }
}

// Runs the forwarder from now_ to `until` (simulated): real waits only while Paho works (a
// connect attempt, PUBACKs outstanding), otherwise straight to whatever it waits for.
void Soak::forward_until(std::uint64_t until) {
  for (;;) {
    const std::uint64_t wait = forwarder_->poll(now_);
    const gateway::ForwarderStats s = forwarder_->stats();
    if (s.in_flight > 0 || (wait == 0 && !s.connected)) {
      const auto waited_from = std::chrono::steady_clock::now();
      if (!wait_for_report(*forwarder_, kReportTimeoutMs)) {
        ++paho_stalls_;
      }
      ++paho_waits_;
      paho_wait_s_ +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - waited_from).count();
      now_ += kPahoStepUs;
      if (now_ >= until && s.in_flight == 0) {
        return;
      }
      continue;
    }
    if (wait == 0 || now_ + wait > until) {
      return;  // idle until woken, or nothing due before the tick ends
    }
    now_ += wait;
  }
}

void Soak::outage_schedule() {
  const std::uint64_t t_s = (now_ - start_) / kSecond;
  if (next_outage_ >= kOutages.size()) {
    return;
  }
  const Outage& next = kOutages.at(next_outage_);
  if (next.to_s >= o_.sim_seconds) {
    next_outage_ = kOutages.size();  // does not fit in this run
    return;
  }
  if (broker_up_ && t_s >= next.from_s) {
    broker_->stop();
    broker_up_ = false;
    std::printf("t=%llus: broker stopped\n", static_cast<unsigned long long>(t_s));
  } else if (!broker_up_ && t_s >= next.to_s) {
    if (const std::string why = broker_->start(); !why.empty()) {
      std::fprintf(stderr, "edge-soak: broker restart: %s\n", why.c_str());
    }
    if (const std::string why = sub_->connect(filter_); !why.empty()) {
      std::fprintf(stderr, "edge-soak: subscriber reconnect: %s\n", why.c_str());
    }
    broker_up_ = true;
    ++next_outage_;
    ++outages_run_;
    std::printf("t=%llus: broker started again, backlog %llu events\n",
                static_cast<unsigned long long>(t_s), static_cast<unsigned long long>(buffered()));
  }
}

void Soak::sample_heap(std::uint64_t t_s) {
  if (o_.inject_heap_growth != 0 && !heap_samples_.empty()) {
    injected_.push_back(std::make_unique<char[]>(o_.inject_heap_growth));
    std::fill_n(injected_.back().get(), o_.inject_heap_growth, 'x');
  }
  const auto reading = heap_in_use();
  if (!reading) {
    heap_blind_ = true;
    return;
  }
  heap_source_ = reading->source;
  heap_samples_.emplace_back(t_s, reading->bytes);
  std::printf("heap t=%5llus: %10llu bytes in use (%s)\n", static_cast<unsigned long long>(t_s),
              static_cast<unsigned long long>(reading->bytes), reading->source.c_str());
}

int Soak::run() {
  if (!set_up()) {
    return 2;
  }
  if (o_.inject_leak != 0) {
    static char* volatile leaked = nullptr;
    leaked = new char[o_.inject_leak];
    leaked[0] = 1;
    leaked = nullptr;  // the only pointer is gone: memcheck must call it definitely lost
  }
  const auto real_start = std::chrono::steady_clock::now();
  const std::uint64_t end = start_ + std::uint64_t{o_.sim_seconds} * kSecond;
  next_sample_s_ = o_.warmup_seconds;
  std::uint64_t next_outlook_s = 0;
  while (now_ < end) {
    const std::uint64_t tick_end = now_ + std::uint64_t{o_.tick_ms} * 1000U;
    outage_schedule();
    tick_devices(true);
    if (!broker_up_) {
      max_backlog_ = std::max(max_backlog_, buffered());
    }
    forward_until(tick_end);
    sub_->drain();
    now_ = std::max(now_, tick_end);
    const std::uint64_t t_s = (now_ - start_) / kSecond;
    if (t_s >= next_outlook_s) {  // what the metrics endpoint computes, once a minute
      next_outlook_s = t_s + 60;
      auto stats = buffer_->stats();
      if (auto* s = std::get_if<gateway::BufferStats>(&stats)) {
        last_headroom_ = gateway::outlook_of(*s, wall(now_)).headroom;
      }
    }
    if (t_s >= next_sample_s_) {
      sample_heap(t_s);
      next_sample_s_ += kHeapSampleEverySeconds;
    }
  }
  // No new events: resend and forward until every device's ring and the buffer are empty and
  // the subscriber has them all.
  std::uint64_t produced = 0;
  for (const SimDevice& d : devices_) {
    produced += d.produced();
  }
  const auto deadline = std::chrono::steady_clock::now() + kFinalDrainTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const bool rings_empty = std::all_of(devices_.begin(), devices_.end(),
                                         [](const SimDevice& d) { return d.ring_empty(); });
    if (rings_empty && buffered() == 0 && sub_->unique() >= produced) {
      break;
    }
    const std::uint64_t tick_end = now_ + std::uint64_t{o_.tick_ms} * 1000U;
    tick_devices(false);
    forward_until(tick_end);
    sub_->drain();
    now_ = std::max(now_, tick_end);
  }
  const double real_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - real_start).count();
  std::printf("simulated %.0f s in %.1f s real (%.1f s of it in %llu waits for Paho)\n",
              static_cast<double>(now_ - start_) / static_cast<double>(kSecond), real_s,
              paho_wait_s_, static_cast<unsigned long long>(paho_waits_));
  return report();
}

}  // namespace edge::soak
