// DeviceSim: the device side of the serial link, as the gateway's integration tests need it.
//
// It produces events (device, boot, seq), keeps every one not yet acked in a bounded ring, sends
// them in EventBatch frames, reads Ack frames back, frees what the gateway made durable, resends
// what stays unacked after the ack timeout and holds off after a Busy ack. No threads, no
// globals: the caller owns the link fd and the clock, and calls service(now) whenever the fd is
// ready or next_deadline() has come (see runner.h for the poll loop). Tests drive it with a fake
// clock over a socketpair.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edge/event_id/event_id.h"
#include "edge/link/frame.h"
#include "edge/wire/messages.h"
#include "injections.h"
#include "latency.h"

namespace edge::devsim {

using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC on Linux
using TimePoint = Clock::time_point;

enum class RingFull { kBlock, kDropOldest };

struct SimConfig {
  std::uint64_t device = 0;
  std::uint32_t boot = 1;
  std::uint32_t first_seq = 0;
  std::uint64_t count = 0;  // events to produce; 0: no limit
  double rate = 0.0;        // events per second; 0: as fast as the ring allows
  std::size_t batch = wire::kMaxBatchEvents;
  std::size_t ring = 256;
  RingFull ring_full = RingFull::kBlock;
  std::chrono::milliseconds ack_timeout{500};
  std::string sensor = "devsim";
  std::string acked_log;  // file to append acked event ids to; empty: none
  std::vector<Injection> inject;
};

/// Throws std::invalid_argument when a value is out of range (batch, ring, sensor length, ...).
void validate(const SimConfig& config);

struct SimStats {
  std::uint64_t produced = 0;
  std::uint64_t acked = 0;           // events freed by an Ok ack
  std::uint64_t busy_acks = 0;       // Ack messages with status Busy (for this device and boot)
  std::uint64_t busy_events = 0;     // events covered by those Busy acks (each refusal counted)
  std::uint64_t invalid = 0;         // events dropped by an Invalid ack
  std::uint64_t retransmits = 0;     // event transmissions after the first one of that event
  std::uint64_t ring_dropped = 0;    // events dropped because the ring was full (drop_oldest)
  std::uint64_t reconnects = 0;      // attach() calls after the first
  std::uint64_t foreign_acks = 0;    // Ack messages for another device or boot, ignored
  std::uint64_t frames_sent = 0;     // EventBatch frames
  std::uint64_t bad_frames = 0;      // frames from the gateway refused by the decoder or verifier
  std::uint64_t other_messages = 0;  // verified messages that are not an Ack
  LatencyHistogram ack_latency_us;   // production of an event -> the Ok ack that freed it
  std::optional<TimePoint> first_produced;
  std::optional<TimePoint> last_acked;
};

enum class LinkState { kUp, kClosed };

class DeviceSim {
 public:
  /// Bound of the outgoing buffer; frames are only built while one more fits.
  static constexpr std::size_t kOutCapacity = 64 * 1024;
  /// Backoff after a Busy ack that carries no retry_after_ms: 50 ms doubling to 1 s.
  static constexpr std::chrono::milliseconds kBusyBackoffMin{50};
  static constexpr std::chrono::milliseconds kBusyBackoffMax{1000};

  /// Opens the acked log (throws std::system_error). Production starts at `start`.
  DeviceSim(SimConfig config, TimePoint start);
  ~DeviceSim();
  DeviceSim(const DeviceSim&) = delete;
  DeviceSim& operator=(const DeviceSim&) = delete;

  /// A link is up on `fd` (non-blocking; not owned). Queues a delimiter and the Hello, the
  /// injections on the first attach only, and marks every unacked event for sending again.
  void attach(int fd);
  /// The link is gone: drops unsent output and forgets the fd.
  void detach();
  [[nodiscard]] bool attached() const { return fd_ >= 0; }

  /// Reads and handles acks, produces the events due, sends what may be sent and flushes.
  /// Works detached too (production only). kClosed when the link hit EOF or an error; call
  /// detach() then.
  LinkState service(TimePoint now);

  /// When service() must run next even if the fd stays quiet; nullopt: only I/O can help.
  [[nodiscard]] std::optional<TimePoint> next_deadline() const;
  /// Output is waiting for the fd to become writable.
  [[nodiscard]] bool wants_write() const { return out_head_ < out_.size(); }
  /// count was reached and every event was acked, refused or dropped.
  [[nodiscard]] bool finished() const;

  [[nodiscard]] const SimStats& stats() const { return stats_; }
  [[nodiscard]] std::size_t pending() const { return ring_.size(); }
  [[nodiscard]] std::vector<std::uint32_t> pending_seqs() const;
  [[nodiscard]] const SimConfig& config() const { return config_; }

 private:
  struct Entry {
    std::uint32_t seq = 0;
    Bytes event;  // the finished Event buffer
    TimePoint produced_at{};
    bool in_flight = false;
    TimePoint sent_at{};
    std::uint32_t transmissions = 0;
  };

  LinkState read_link(TimePoint now);
  void on_frame(std::span<const std::uint8_t> payload, TimePoint now);
  void on_ack(const wire::Ack& ack, TimePoint now);
  void produce(TimePoint now);
  void produce_one(TimePoint now);
  void send_due(TimePoint now);
  LinkState flush();
  void queue_frame(std::span<const std::uint8_t> payload);
  void queue_raw(std::span<const std::uint8_t> bytes);
  [[nodiscard]] bool may_produce() const;
  [[nodiscard]] bool room_for_frame() const;
  [[nodiscard]] bool sendable(const Entry& e, TimePoint now) const;
  void log_acked(const std::vector<std::uint32_t>& seqs);

  SimConfig config_;
  SimStats stats_;
  std::chrono::nanoseconds period_{0};
  TimePoint next_produce_;
  TimePoint hold_until_{};
  std::chrono::milliseconds busy_backoff_{0};
  std::uint32_t next_seq_ = 0;
  std::deque<Entry> ring_;
  int fd_ = -1;
  bool is_socket_ = false;
  std::uint64_t attaches_ = 0;
  int log_fd_ = -1;
  Bytes out_;
  std::size_t out_head_ = 0;
  link::FrameDecoderBuffer<> decoder_;
  flatbuffers::FlatBufferBuilder event_fbb_{wire::kEventBuilderSize};
  flatbuffers::FlatBufferBuilder link_fbb_{wire::kLinkBuilderSize};
};

}  // namespace edge::devsim
