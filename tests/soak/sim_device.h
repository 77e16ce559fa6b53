// A simulated device for the soak: encodes events and Hellos the way the firmware does (the
// schemas/ wire helpers and link framing), keeps its unacknowledged events in a bounded ring,
// resends them until an Ok ack covers them, and reboots (new boot counter, seq from 0).
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "edge/link/frame.h"
#include "edge/wire/messages.h"

namespace edge::soak {

/// Events a simulated device keeps unacknowledged at most (its RAM ring). At most the
/// gateway's dedupe window, so the gateway can dedupe every resend.
inline constexpr std::size_t kDeviceRingCapacity = 64;

class SimDevice {
 public:
  explicit SimDevice(std::uint64_t device) : device_(device) {}

  /// One new event at device time `mono_us` into the ring (the oldest is dropped, and counted
  /// as ring_dropped, when the ring is full).
  void produce(std::uint64_t mono_us);
  /// A Hello frame for the current boot, appended to `out`.
  void hello(std::vector<std::uint8_t>& out);
  /// Every event of the ring, in EventBatch frames of at most wire::kMaxBatchEvents, appended
  /// to `out` (one frame each; `frames` gets each frame's [begin, end) offset in `out`).
  void send_ring(std::vector<std::uint8_t>& out,
                 std::vector<std::pair<std::size_t, std::size_t>>& frames);
  /// Bytes the gateway sent back: Ok acks free the events they cover.
  void on_link_bytes(std::span<const std::uint8_t> bytes);
  /// A new boot: boot counter + 1, seq from 0. The ring must be empty (the caller reboots a
  /// device only once everything it made is acknowledged: nothing is lost at the reboot).
  void reboot();

  [[nodiscard]] std::uint64_t id() const { return device_; }
  [[nodiscard]] std::uint32_t boot() const { return boot_; }
  [[nodiscard]] bool ring_empty() const { return ring_.empty(); }
  [[nodiscard]] std::uint64_t produced() const { return produced_; }
  [[nodiscard]] std::uint64_t acked() const { return acked_; }  // freed by an Ok ack
  [[nodiscard]] std::uint64_t busy_acks() const { return busy_acks_; }
  [[nodiscard]] std::uint64_t invalid_acks() const { return invalid_acks_; }
  [[nodiscard]] std::uint32_t ring_dropped() const { return ring_dropped_; }
  [[nodiscard]] std::uint64_t bad_frames() const { return bad_frames_; }

 private:
  struct Held {
    std::uint32_t seq = 0;
    std::vector<std::uint8_t> bytes;  // the finished Event
  };
  void frame(std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out);
  void free_covered(const wire::Ack& ack);

  std::uint64_t device_;
  std::uint32_t boot_ = 1;
  std::uint32_t next_seq_ = 0;
  std::deque<Held> ring_;
  flatbuffers::FlatBufferBuilder event_fbb_;
  flatbuffers::FlatBufferBuilder link_fbb_;
  link::FrameDecoderBuffer<> decoder_;
  std::uint64_t produced_ = 0;
  std::uint64_t acked_ = 0;
  std::uint64_t busy_acks_ = 0;
  std::uint64_t invalid_acks_ = 0;
  std::uint32_t ring_dropped_ = 0;
  std::uint64_t bad_frames_ = 0;
};

}  // namespace edge::soak
