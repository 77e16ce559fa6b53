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
// Exit status (main.cc): 0 all checks passed; 1 a check failed (each failure is printed);
// 2 setup failed.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "edge/gateway/buffer.h"
#include "edge/gateway/forwarder.h"
#include "edge/gateway/ingest.h"
#include "edge/gateway/mosquitto_process.h"
#include "edge/gateway/outlook.h"
#include "edge/gateway/temp_dir.h"
#include "lossy_ack_link.h"
#include "sim_device.h"
#include "subscriber.h"

namespace edge::soak {

inline constexpr std::uint64_t kSecond = 1'000'000;

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
/// Every Nth event frame is corrupted on its way to the gateway (refused, resent); acks are lost
/// on the way back too (kLoseAckEvery, lossy_ack_link.h).
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

/// The scenario: set up, run the simulated time, check (Soak::report, soak_report.cc).
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
  std::size_t next_outage_ = 0;      // index in kOutages
  std::size_t outages_run_ = 0;      // broker stopped and started again
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

}  // namespace edge::soak
