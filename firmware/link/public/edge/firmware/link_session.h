// The device's side of the link to the gateway: Hello, EventBatch frames out of the EventRing,
// Acks back in.
//
//   - Events leave the ring only on an Ack from the gateway: Ok (durable there) or Invalid
//     (refused for good, counted). A batch not acked within kAckTimeoutUs is sent again.
//   - A Busy ack holds every send for retry_after_ms (or a backoff from kBusyBackoffMinUs
//     doubling to kBusyBackoffMaxUs when the gateway gives none).
//   - Hello goes first, and again every kHelloIntervalUs until the gateway has acked something,
//     so a gateway that starts after the device still learns who it is.
//   - Every EventBatch carries ring.dropped(): events lost to a full ring are reported.
//   - Frames that fail CRC/COBS or verification, or acks for another device or boot, are
//     counted and ignored.
// Device code: no heap; the frame and builder buffers are members (about 7 KiB).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "edge/firmware/event_ring.h"
#include "edge/link/frame.h"
#include "edge/platform/platform.h"
#include "edge/wire/messages.h"
#include "edge/wire/static_builder.h"

namespace edge::firmware {

struct DeviceIdentity {
  std::uint64_t device = 0;
  std::uint32_t boot = 0;
  std::string_view firmware_version;
  std::string_view board;
};

struct LinkStats {
  std::uint32_t batches_sent = 0;
  std::uint32_t retransmits = 0;  // events sent again after the ack timeout
  std::uint32_t acked = 0;        // events freed by Ok acks
  std::uint32_t invalid = 0;      // events the gateway refused for good
  std::uint32_t busy_acks = 0;
  std::uint32_t refused_frames = 0;  // bad CRC/COBS, failed verification, not an Ack
  std::uint32_t foreign_acks = 0;    // for another device or boot
  std::uint32_t send_failures = 0;   // the link took less than a whole frame
};

// The session's named bounds.
inline constexpr std::uint64_t kAckTimeoutUs = 500'000;        // resend an unacked batch after
inline constexpr std::uint64_t kBusyBackoffMinUs = 50'000;     // Busy without retry_after_ms:
inline constexpr std::uint64_t kBusyBackoffMaxUs = 2'000'000;  // doubling from min to max
inline constexpr std::uint64_t kHelloIntervalUs = 5'000'000;   // Hello again until answered

template <std::size_t Capacity>
class LinkSession {
 public:
  using Ring = EventRing<Capacity, wire::kMaxEventSize>;

  LinkSession(platform::ByteStream& link, Ring& ring, DeviceIdentity identity)
      : link_(link), ring_(ring), id_(identity) {}

  /// Reads what arrived, applies acks, sends Hello / one batch when due. Call often.
  void poll(std::uint64_t now_us) {
    receive(now_us);
    if (!acked_once_ && (hello_at_us_ == 0 || now_us - hello_at_us_ >= kHelloIntervalUs)) {
      send_hello(now_us);
    }
    if (now_us < hold_until_us_) {
      return;
    }
    std::array<typename Ring::Slot*, wire::kMaxBatchEvents> due{};
    const std::size_t n = ring_.due(now_us, kAckTimeoutUs, due);
    if (n == 0) {
      return;
    }
    std::array<std::span<const std::uint8_t>, wire::kMaxBatchEvents> events{};
    for (std::size_t i = 0; i < n; ++i) {
      events[i] = due[i]->event();
    }
    const auto batch =
        wire::encode_batch(builder_.fbb(), id_.device, {events.data(), n}, ring_.dropped());
    if (!batch.ok() || !send(batch.value())) {
      return;  // tried again at the next poll
    }
    ++stats_.batches_sent;
    for (std::size_t i = 0; i < n; ++i) {
      stats_.retransmits += due[i]->sent ? 1U : 0U;
      Ring::mark_sent(*due[i], now_us);
    }
  }

  [[nodiscard]] const LinkStats& stats() const { return stats_; }
  [[nodiscard]] bool acked_once() const { return acked_once_; }

 private:
  void send_hello(std::uint64_t now_us) {
    hello_at_us_ = now_us == 0 ? 1 : now_us;
    const auto hello =
        wire::encode_hello(builder_.fbb(), {id_.device, id_.boot, id_.firmware_version, id_.board,
                                            static_cast<std::uint32_t>(Capacity)});
    if (hello.ok()) {
      // A leading delimiter ends whatever partial frame the gateway holds from before a reset.
      const std::array<std::uint8_t, 1> delimiter{link::kFrameDelimiter};
      (void)link_.write(delimiter);
      (void)send(hello.value());
    }
  }

  bool send(std::span<const std::uint8_t> payload) {
    const auto framed = link::encode_frame(payload, tx_);
    if (!framed.ok() || link_.write({tx_.data(), framed.value()}) != framed.value()) {
      ++stats_.send_failures;
      return false;
    }
    return true;
  }

  void receive(std::uint64_t now_us) {
    std::array<std::uint8_t, 128> rx{};
    for (std::size_t n = link_.read(rx); n > 0; n = link_.read(rx)) {
      decoder_.feed(
          {rx.data(), n}, [&](std::span<const std::uint8_t> payload) { on_frame(payload, now_us); },
          [&](link::FrameError) { ++stats_.refused_frames; });
    }
  }

  void on_frame(std::span<const std::uint8_t> payload, std::uint64_t now_us) {
    const auto message = wire::verify_link_message(payload);
    if (!message.ok() || message.value()->body_type() != wire::Body::Ack) {
      ++stats_.refused_frames;
      return;
    }
    const wire::Ack& ack = *message.value()->body_as_Ack();
    if (ack.device() != id_.device || ack.boot() != id_.boot) {
      ++stats_.foreign_acks;
      return;
    }
    acked_once_ = true;
    if (ack.status() == wire::AckStatus::Busy) {
      ++stats_.busy_acks;
      busy_backoff_us_ = busy_backoff_us_ == 0 ? kBusyBackoffMinUs
                                               : std::min(busy_backoff_us_ * 2, kBusyBackoffMaxUs);
      hold_until_us_ =
          now_us + (ack.retry_after_ms() != 0 ? std::uint64_t{ack.retry_after_ms()} * 1000U
                                              : busy_backoff_us_);
      return;
    }
    busy_backoff_us_ = 0;
    std::size_t freed = 0;
    if (ack.has_cumulative()) {
      freed += ring_.release(0, ack.cumulative_seq());
    }
    if (const auto* ranges = ack.selective(); ranges != nullptr) {
      for (const wire::SeqRange* range : *ranges) {
        freed += ring_.release(range->first(), range->last());
      }
    }
    (ack.status() == wire::AckStatus::Ok ? stats_.acked : stats_.invalid) +=
        static_cast<std::uint32_t>(freed);
  }

  platform::ByteStream& link_;
  Ring& ring_;
  DeviceIdentity id_;
  wire::StaticBuilder<wire::kLinkBuilderSize> builder_;
  link::FrameDecoderBuffer<> decoder_;
  std::array<std::uint8_t, link::max_encoded_frame_size(link::kMaxFramePayload)> tx_{};
  std::uint64_t hello_at_us_ = 0;
  std::uint64_t hold_until_us_ = 0;
  std::uint64_t busy_backoff_us_ = 0;
  bool acked_once_ = false;
  LinkStats stats_;
};

}  // namespace edge::firmware
