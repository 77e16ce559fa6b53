// The device's bounded RAM ring of events not yet acked by the gateway.
//
// Invariants:
//   - An event stays until the gateway acks its seq (ok: durable there; invalid: refused for
//     good) or the ring is full and a new event arrives: then the OLDEST event is dropped and
//     counted in dropped() (the count goes to the gateway in every EventBatch, so the loss is
//     reported upstream, never silent).
//   - Storage is static: Capacity slots of MaxEventBytes each, inside the object. No heap.
//   - Acks may free events out of order (selective ranges); the holes are skipped.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace edge::firmware {

template <std::size_t Capacity, std::size_t MaxEventBytes>
class EventRing {
  static_assert(Capacity > 0 && MaxEventBytes > 0);

 public:
  struct Slot {
    std::uint32_t seq = 0;
    std::uint16_t size = 0;
    bool used = false;
    bool sent = false;
    std::uint64_t sent_at_us = 0;
    std::array<std::uint8_t, MaxEventBytes> bytes{};
    [[nodiscard]] std::span<const std::uint8_t> event() const { return {bytes.data(), size}; }
  };

  /// Appends an event (seqs must grow). When every slot is taken the oldest event is dropped
  /// first. Returns false, storing nothing, when `event` is larger than MaxEventBytes.
  bool push(std::uint32_t seq, std::span<const std::uint8_t> event) {
    if (event.size() > MaxEventBytes) {
      return false;
    }
    skip_holes();
    if (span_ == Capacity) {
      Slot& oldest = slots_[head_];
      if (oldest.used) {
        oldest.used = false;
        --count_;
        ++dropped_;
      }
      head_ = (head_ + 1) % Capacity;
      --span_;
      skip_holes();
    }
    Slot& slot = slots_[(head_ + span_) % Capacity];
    slot.seq = seq;
    slot.size = static_cast<std::uint16_t>(event.size());
    slot.used = true;
    slot.sent = false;
    slot.sent_at_us = 0;
    if (!event.empty()) {
      std::memcpy(slot.bytes.data(), event.data(), event.size());
    }
    ++span_;
    ++count_;
    return true;
  }

  /// Frees every event with first <= seq <= last. Returns how many were freed.
  std::size_t release(std::uint32_t first, std::uint32_t last) {
    std::size_t freed = 0;
    for (std::size_t i = 0; i < span_; ++i) {
      Slot& slot = slots_[(head_ + i) % Capacity];
      if (slot.used && slot.seq >= first && slot.seq <= last) {
        slot.used = false;
        --count_;
        ++freed;
      }
    }
    skip_holes();
    return freed;
  }

  /// Up to out.size() events to send now, oldest first: never sent, or sent at least
  /// `timeout_us` ago. Returns how many were written to `out`.
  std::size_t due(std::uint64_t now_us, std::uint64_t timeout_us, std::span<Slot*> out) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < span_ && n < out.size(); ++i) {
      Slot& slot = slots_[(head_ + i) % Capacity];
      if (slot.used && (!slot.sent || now_us - slot.sent_at_us >= timeout_us)) {
        out[n++] = &slot;
      }
    }
    return n;
  }

  static void mark_sent(Slot& slot, std::uint64_t now_us) {
    slot.sent = true;
    slot.sent_at_us = now_us;
  }

  [[nodiscard]] std::size_t size() const { return count_; }
  [[nodiscard]] static constexpr std::size_t capacity() { return Capacity; }
  [[nodiscard]] std::uint32_t dropped() const { return dropped_; }

 private:
  void skip_holes() {
    while (span_ > 0 && !slots_[head_].used) {
      head_ = (head_ + 1) % Capacity;
      --span_;
    }
  }

  std::array<Slot, Capacity> slots_{};
  std::size_t head_ = 0;   // oldest position
  std::size_t span_ = 0;   // positions from head_ holding events or holes
  std::size_t count_ = 0;  // events held
  std::uint32_t dropped_ = 0;
};

}  // namespace edge::firmware
