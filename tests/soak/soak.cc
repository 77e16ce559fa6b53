// edge-soak: one hour of the gateway's life in simulated time, through its real modules (link
// framing, ingest, the LMDB buffer with its dedupe windows, the forwarder, the outlook) on a real
// LMDB in a temporary directory and a real Mosquitto on a free loopback port. Simulated devices
// produce events, lose acks and suffer corrupt frames, reboot; the broker goes away twice (the
// backlog grows, then drains); a subscriber checks that every event arrived once at least.
// Heap in use is sampled every simulated 5 minutes after a warm-up and must stay flat.
//
// Time: the loop advances a simulated clock in 5 s ticks; the forwarder (poll(now_us)) and the
// buffer (received and rate-log times) take it from the loop, so reconnect backoff, delete
// groups, the drain pacing, status messages and the rate log run on simulated time. Only Paho's
// network round trips and LMDB's fsyncs take real time. Defaults: 6 devices x one event per
// 2 s for 3,600 simulated seconds = 10,788 events (plus resends), 1 + 15 min of broker outage:
// about 20 s of real time (tests/soak/CMakeLists.txt has the measured figures).
//
// Exit status: 0 all checks passed; 1 a check failed (each failure is printed); 2 setup failed.
#include <poll.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <spdlog/spdlog.h>
#include <string>
#include <vector>

#include "edge/gateway/buffer.h"
#include "edge/gateway/forwarder.h"
#include "edge/gateway/ingest.h"
#include "edge/gateway/mosquitto_process.h"
#include "edge/gateway/outlook.h"
#include "edge/gateway/temp_dir.h"
#include "heap_meter.h"
#include "sim_device.h"
#include "subscriber.h"

namespace edge::soak {
namespace {

using gateway::ForwarderStats;

constexpr std::uint64_t kSecond = 1'000'000;

// ---- the scenario's named bounds and defaults (each default is a flag below) -------------------
inline constexpr std::uint32_t kDefaultSimSeconds = 3600;
inline constexpr std::uint32_t kDefaultDevices = 6;
inline constexpr std::uint32_t kDefaultEventPeriodMs = 2000;  // per device
/// One loop iteration: every device sends its ring, one ingest commit, the forwarder runs
/// through the tick's simulated time.
inline constexpr std::uint32_t kDefaultTickMs = 5000;
/// Heap samples start after this much simulated time: every path (a reboot per device, an
/// outage and its drain, refused frames, lost acks, status messages, window slides) has run.
inline constexpr std::uint32_t kDefaultWarmupSeconds = 600;
inline constexpr std::uint32_t kHeapSampleEverySeconds = 300;
/// The heap in use may rise this much above the first sample after the warm-up, at most.
/// Measured: 13-22 KiB with glibc (what happens to be queued in Paho and our containers at the
/// sample), under 2 KiB under memcheck. Anything that grew with events (8 bytes per event is
/// 70 KiB over the 9,000 events after the warm-up), backlog or uptime would exceed it.
inline constexpr std::uint64_t kDefaultMaxHeapGrowthBytes = 64U << 10U;
/// A small dedupe window (ingest.dedupe_window's minimum is 64): every device's window slides
/// past its bitmap many times an hour.
inline constexpr std::uint32_t kSoakDedupeWindow = 128;
inline constexpr std::uint32_t kStatusIntervalS = 60;
inline constexpr std::uint32_t kDrainRateEventsS = 100;  // the backlog drains over many ticks
/// Every Nth ack frame is lost on its way to the device (it resends: duplicates)...
inline constexpr std::uint64_t kLoseAckEvery = 53;
/// ...and every Nth event frame is corrupted on its way to the gateway (refused, resent).
inline constexpr std::uint64_t kCorruptFrameEvery = 71;
/// Device i reboots first at kFirstRebootS + i * kRebootStaggerS, then every kRebootEveryS.
inline constexpr std::uint64_t kFirstRebootS = 150;
inline constexpr std::uint64_t kRebootStaggerS = 45;
inline constexpr std::uint64_t kRebootEveryS = 900;
/// Broker outages, simulated seconds [from, to): a short one inside the warm-up, a long one
/// after it (heap samples run through it). Episodes past the end of a shorter run are skipped.
struct Outage {
  std::uint64_t from_s;
  std::uint64_t to_s;
};
inline constexpr std::array<Outage, 2> kOutages{{{240, 300}, {1500, 2400}}};
/// Real-time bounds: one wait for Paho, and the final drain.
inline constexpr int kReportTimeoutMs = 10'000;
inline constexpr std::uint64_t kPahoStepUs = 1000;  // simulated time per real wait for Paho
inline constexpr std::chrono::seconds kFinalDrainTimeout{120};

struct Options {
  std::uint32_t sim_seconds = kDefaultSimSeconds;
  std::uint32_t devices = kDefaultDevices;
  std::uint32_t event_period_ms = kDefaultEventPeriodMs;
  std::uint32_t tick_ms = kDefaultTickMs;
  std::uint32_t warmup_seconds = kDefaultWarmupSeconds;
  std::uint64_t max_heap_growth = kDefaultMaxHeapGrowthBytes;
  // Self-tests that prove the checks can fail: hold this many more bytes at each heap sample
  // (the growth check must fire), or leak this many bytes for good (valgrind must report it).
  std::uint64_t inject_heap_growth = 0;
  std::uint64_t inject_leak = 0;
  std::string log_level = "warn";
};

std::uint64_t wall_clock_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * kSecond +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000U;
}

// Acks from the ingest to the devices, losing every kLoseAckEvery-th frame. Counts the events
// the lost Ok acks covered: each is resent once and must come back as exactly one duplicate.
class LossyAckLink final : public gateway::AckSink {
 public:
  explicit LossyAckLink(std::deque<SimDevice>& devices) : devices_(devices) {}
  void send_frame(gateway::SessionId session, std::span<const std::uint8_t> frame) override {
    if (++frames_ % kLoseAckEvery == 0) {
      ++lost_frames_;
      decoder_.feed(
          frame,
          [&](std::span<const std::uint8_t> payload) {
            const auto message = wire::verify_link_message(payload);
            const wire::Ack* ack = message.ok() ? message.value()->body_as_Ack() : nullptr;
            if (ack != nullptr && ack->status() == wire::AckStatus::Ok &&
                ack->selective() != nullptr) {
              for (const wire::SeqRange* r : *ack->selective()) {
                lost_ok_events_ += r->last() - r->first() + 1U;
              }
            }
          },
          [](link::FrameError) {});
      return;
    }
    devices_.at(session - 1).on_link_bytes(frame);
  }
  [[nodiscard]] std::uint64_t lost_frames() const { return lost_frames_; }
  [[nodiscard]] std::uint64_t lost_ok_events() const { return lost_ok_events_; }

 private:
  std::deque<SimDevice>& devices_;
  link::FrameDecoderBuffer<> decoder_;
  std::uint64_t frames_ = 0;
  std::uint64_t lost_frames_ = 0;
  std::uint64_t lost_ok_events_ = 0;
};

// Waits (real time) until Paho reports something; false on timeout.
bool wait_for_report(const gateway::Forwarder& forwarder, int timeout_ms) {
  pollfd fd{forwarder.wake_fd(), POLLIN, 0};
  return ::poll(&fd, 1, timeout_ms) == 1;
}

struct Checks {
  int failed = 0;
  void expect(bool ok, const std::string& what) {
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
    failed += ok ? 0 : 1;
  }
};

std::string num(std::uint64_t v) {
  return std::to_string(v);
}

class Soak {
 public:
  explicit Soak(const Options& o) : o_(o) {}
  int run();

 private:
  bool set_up();
  void tick_devices(bool produce);
  void forward_until(std::uint64_t until);
  void outage_schedule();
  void sample_heap(std::uint64_t t_s);
  [[nodiscard]] std::uint64_t buffered() const;
  [[nodiscard]] std::uint64_t wall(std::uint64_t mono) const {
    return wall_origin_ + mono - start_;
  }
  int report();

  Options o_;
  gateway::TempDir dir_;
  std::unique_ptr<gateway::Buffer> buffer_;
  std::deque<SimDevice> devices_;
  std::vector<std::unique_ptr<link::FrameDecoderBuffer<>>> decoders_;  // the gateway's, per link
  std::vector<std::string> sources_;
  std::vector<std::uint64_t> next_reboot_s_;
  std::unique_ptr<LossyAckLink> acks_;
  std::unique_ptr<gateway::Ingest> ingest_;
  std::unique_ptr<gateway::MosquittoProcess> broker_;
  std::unique_ptr<Subscriber> sub_;
  std::unique_ptr<gateway::Forwarder> forwarder_;
  std::string filter_ = "edge/#";

  // Simulated time: the monotonic clock starts at start_, the wall clock at wall_origin_ (far
  // enough in the past that simulated wall times never pass the real one, which the status
  // message's outlook reads).
  std::uint64_t start_ = 1000 * kSecond;
  std::uint64_t now_ = start_;
  std::uint64_t wall_origin_ = 0;

  bool broker_up_ = true;
  std::size_t outages_run_ = 0;
  std::uint64_t outage_events_ = 0;  // produced while the broker was away
  std::uint64_t max_backlog_ = 0;    // buffered events, at most, while it was away
  std::uint64_t frames_sent_ = 0;
  std::uint64_t corrupted_ = 0;
  std::uint64_t reboots_ = 0;
  std::uint64_t paho_stalls_ = 0;
  std::uint64_t paho_waits_ = 0;  // real waits for Paho, and their total
  double paho_wait_s_ = 0;
  std::uint64_t next_sample_s_ = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> heap_samples_;  // (t_s, bytes)
  std::string heap_source_;
  bool heap_blind_ = false;
  std::vector<std::unique_ptr<char[]>> injected_;
  gateway::Headroom last_headroom_;
};

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
    const ForwarderStats s = forwarder_->stats();
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
  if (outages_run_ >= kOutages.size()) {
    return;
  }
  const Outage& next = kOutages.at(outages_run_);
  if (next.to_s >= o_.sim_seconds) {
    outages_run_ = kOutages.size();  // does not fit in this run
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

int Soak::report() {
  Checks c;
  std::uint64_t produced = 0;
  std::uint64_t acked = 0;
  std::uint64_t invalid_acks = 0;
  std::uint64_t ring_dropped = 0;
  for (const SimDevice& d : devices_) {
    produced += d.produced();
    acked += d.acked();
    invalid_acks += d.invalid_acks();
    ring_dropped += d.ring_dropped();
  }
  const auto stats_or = buffer_->stats();
  if (!std::holds_alternative<gateway::BufferStats>(stats_or)) {
    std::printf("FAIL buffer stats: %s\n",
                std::get<gateway::BufferError>(stats_or).message.c_str());
    return 1;
  }
  const auto& stats = std::get<gateway::BufferStats>(stats_or);
  const auto counter = [&](const std::string& name) {
    const auto it = stats.counters.find(name);
    return it == stats.counters.end() ? 0ULL : it->second;
  };
  std::uint64_t refused_frames = 0;
  for (const auto& [name, value] : stats.counters) {
    refused_frames += name.starts_with("refused.") ? value : 0U;
  }
  const ForwarderStats f = forwarder_->stats();
  std::printf(
      "devices %zu, events produced %llu, acked to devices %llu, reboots %llu; frames sent %llu, "
      "corrupted %llu; acks lost %llu (covering %llu events)\n",
      devices_.size(), static_cast<unsigned long long>(produced),
      static_cast<unsigned long long>(acked), static_cast<unsigned long long>(reboots_),
      static_cast<unsigned long long>(frames_sent_), static_cast<unsigned long long>(corrupted_),
      static_cast<unsigned long long>(acks_->lost_frames()),
      static_cast<unsigned long long>(acks_->lost_ok_events()));
  std::printf(
      "forwarder: connects %llu, connect failures %llu, published %llu, acked events %llu; "
      "subscriber: unique %llu, duplicates %llu, gaps %llu, status messages %llu; outages %zu, "
      "backlog at most %llu (%llu events made while away); offline headroom at the last "
      "minute: %s; Paho waits over %d ms: %llu\n",
      static_cast<unsigned long long>(f.connects),
      static_cast<unsigned long long>(f.connect_failures),
      static_cast<unsigned long long>(f.published), static_cast<unsigned long long>(f.acked_events),
      static_cast<unsigned long long>(sub_->unique()),
      static_cast<unsigned long long>(sub_->duplicates()),
      static_cast<unsigned long long>(sub_->gaps()),
      static_cast<unsigned long long>(sub_->status_messages()), outages_run_,
      static_cast<unsigned long long>(max_backlog_),
      static_cast<unsigned long long>(outage_events_), gateway::to_string(last_headroom_.kind),
      kReportTimeoutMs, static_cast<unsigned long long>(paho_stalls_));

  // Delivery: nothing lost end to end, at least once.
  c.expect(acked == produced, "every event produced was acked to its device (" + num(acked) +
                                  " of " + num(produced) + ")");
  c.expect(ring_dropped == 0 && invalid_acks == 0,
           "no device dropped or had an event refused (ring drops " + num(ring_dropped) +
               ", invalid acks " + num(invalid_acks) + ")");
  c.expect(stats.events == 0, "the buffer drained (" + num(stats.events) + " left)");
  c.expect(sub_->unique() == produced, "the subscriber received every event (" +
                                           num(sub_->unique()) + " unique of " + num(produced) +
                                           ")");
  c.expect(sub_->gaps() == 0 && sub_->pending_holes() == 0 && sub_->invalid() == 0,
           "no gap, hole or invalid message upstream (gaps " + num(sub_->gaps()) + ", holes " +
               num(sub_->pending_holes()) + ", invalid " + num(sub_->invalid()) + ")");
  // Dedupe across lost acks, window slides and reboots: each event of a lost Ok ack was resent
  // once and stored once.
  c.expect(acks_->lost_ok_events() > 0 && counter("duplicates") == acks_->lost_ok_events(),
           "duplicates counted by the gateway == events of lost acks (" +
               num(counter("duplicates")) + " == " + num(acks_->lost_ok_events()) + ")");
  c.expect(corrupted_ > 0 && refused_frames == corrupted_, "refused frames == corrupted frames (" +
                                                               num(refused_frames) +
                                                               " == " + num(corrupted_) + ")");
  c.expect(reboots_ >= devices_.size(), "every device rebooted (" + num(reboots_) + " reboots)");
  // The outages: the backlog grew while the broker was away, and drained after.
  const bool long_run = o_.sim_seconds > kOutages.back().to_s;
  c.expect(f.connects == outages_run_ + 1U, "one connect per broker start (" + num(f.connects) +
                                                " connects, " + num(outages_run_) + " outages)");
  if (outages_run_ > 0) {
    c.expect(outage_events_ > 0 && max_backlog_ >= outage_events_ * 9 / 10,
             "the backlog grew during the outages (" + num(max_backlog_) + " buffered of " +
                 num(outage_events_) + " made while away)");
    c.expect(f.connect_failures > 0,
             "reconnects were refused while the broker was away (" + num(f.connect_failures) + ")");
  }
  if (long_run) {
    // Status every kStatusIntervalS of connected simulated time (half of the hour at least).
    c.expect(sub_->status_messages() * kStatusIntervalS >= o_.sim_seconds / 2U,
             "status messages arrived (" + num(sub_->status_messages()) + ")");
  }

  // Memory: flat after the warm-up.
  c.expect(!heap_blind_, "the heap could be measured");
  if (heap_samples_.size() >= 2) {
    const std::uint64_t first = heap_samples_.front().second;
    std::uint64_t highest = first;
    for (const auto& [t, bytes] : heap_samples_) {
      highest = std::max(highest, bytes);
    }
    const std::uint64_t growth = highest - first;
    c.expect(growth <= o_.max_heap_growth, "heap growth after the warm-up " + num(growth) +
                                               " bytes, bound " + num(o_.max_heap_growth) + " (" +
                                               num(heap_samples_.size()) + " samples, " +
                                               heap_source_ + ")");
  } else {
    c.expect(false,
             "at least two heap samples after the warm-up (" + num(heap_samples_.size()) + ")");
  }
  return c.failed == 0 ? 0 : 1;
}

int run(int argc, char** argv) {
  CLI::App app{"edge-soak: an hour of the gateway in simulated time, memory flat, nothing lost"};
  Options o;
  app.add_option("--sim-seconds", o.sim_seconds, "simulated seconds to run")
      ->check(CLI::Range(60U, 86400U));
  app.add_option("--devices", o.devices, "simulated devices")->check(CLI::Range(1U, 64U));
  app.add_option("--event-period-ms", o.event_period_ms, "one event per device this often")
      ->check(CLI::Range(10U, 3'600'000U));
  app.add_option("--tick-ms", o.tick_ms, "simulated time per loop iteration")
      ->check(CLI::Range(10U, 60'000U));
  app.add_option("--warmup-seconds", o.warmup_seconds, "heap samples start here");
  app.add_option("--max-heap-growth", o.max_heap_growth, "bytes the heap may grow after warm-up");
  app.add_option("--inject-heap-growth", o.inject_heap_growth,
                 "self-test: hold this many more bytes at each heap sample");
  app.add_option("--inject-leak", o.inject_leak, "self-test: leak this many bytes");
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  std::printf("edge-soak: %u devices, one event per %u ms each, %u simulated s, warm-up %u s%s\n",
              o.devices, o.event_period_ms, o.sim_seconds, o.warmup_seconds,
              under_valgrind() ? ", under valgrind" : "");
  Soak soak(o);
  return soak.run();
}

}  // namespace
}  // namespace edge::soak

int main(int argc, char** argv) {
  try {
    return edge::soak::run(argc, argv);
  } catch (const std::exception& e) {  // a bug, not a scenario outcome: say what and stop
    std::fprintf(stderr, "edge-soak: fatal: %s\n", e.what());
    return 2;
  }
}
