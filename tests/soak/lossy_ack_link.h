// The soak's ack path from the ingest back to the simulated devices, losing every
// kLoseAckEvery-th frame on the way.
#pragma once

#include <cstdint>
#include <deque>
#include <span>

#include "edge/gateway/ingest.h"
#include "edge/link/frame.h"
#include "sim_device.h"

namespace edge::soak {

/// Every Nth ack frame is lost on its way to the device (it resends: duplicates).
inline constexpr std::uint64_t kLoseAckEvery = 53;

// Acks from the ingest to the devices, losing every kLoseAckEvery-th frame. Counts the events
// the lost Ok acks covered: each is resent once and must come back as exactly one duplicate.
class LossyAckLink final : public gateway::AckSink {
 public:
  explicit LossyAckLink(std::deque<SimDevice>& devices) : devices_(devices) {}
  void send_frame(gateway::SessionId session, std::span<const std::uint8_t> frame) override {
    if (++frames_ % kLoseAckEvery == 0) {
      ++lost_frames_;
      count_lost(frame);
      return;
    }
    devices_.at(session - 1).on_link_bytes(frame);
  }
  [[nodiscard]] std::uint64_t lost_frames() const { return lost_frames_; }
  [[nodiscard]] std::uint64_t lost_ok_events() const { return lost_ok_events_; }

 private:
  void count_lost(std::span<const std::uint8_t> frame);

  std::deque<SimDevice>& devices_;
  link::FrameDecoderBuffer<> decoder_;
  std::uint64_t frames_ = 0;
  std::uint64_t lost_frames_ = 0;
  std::uint64_t lost_ok_events_ = 0;
};

}  // namespace edge::soak
