// One link's event rate bound (ingest.link_rate_events_s, ingest.link_burst_ms): a token bucket
// that holds burst_ms worth of the rate, starts full, and refills continuously. Exact integer
// arithmetic in micro-events (an event is 1,000,000), so a test at the bound can count exactly.
#pragma once

#include <algorithm>
#include <cstdint>

namespace edge::gateway {

class LinkRate {
 public:
  static constexpr std::uint64_t kEvent = 1'000'000;  // micro-events per event

  /// `rate_events_s` >= 1 (0 means "no limit": the caller keeps no LinkRate then). The bucket
  /// holds rate × burst_ms / 1000 events, at least one.
  LinkRate(std::uint32_t rate_events_s, std::uint32_t burst_ms, std::uint64_t now_us)
      : rate_(std::max<std::uint64_t>(rate_events_s, 1)),
        capacity_(std::max(kEvent, rate_ * burst_ms * 1000U)),
        level_(capacity_),
        last_us_(now_us) {}

  /// Takes one event's token if the bucket holds one at `now_us`. A clock that went back
  /// refills nothing (the bucket carries on from the new time).
  bool take(std::uint64_t now_us) {
    refill(now_us);
    if (level_ < kEvent) {
      return false;
    }
    level_ -= kEvent;
    return true;
  }

  /// Milliseconds until the bucket holds `events` tokens again (the bucket's size at most), as
  /// of the last take(); at least 1.
  [[nodiscard]] std::uint32_t retry_after_ms(std::uint64_t events) const {
    const std::uint64_t want = std::min(capacity_, std::max<std::uint64_t>(events, 1) * kEvent);
    if (level_ >= want) {
      return 1;
    }
    const std::uint64_t per_ms = rate_ * 1000U;  // micro-events refilled per millisecond
    return static_cast<std::uint32_t>(
        std::max<std::uint64_t>(1, (want - level_ + per_ms - 1) / per_ms));
  }

  /// Whole events the bucket holds (tests, logs).
  [[nodiscard]] std::uint64_t tokens() const { return level_ / kEvent; }
  [[nodiscard]] std::uint64_t capacity_events() const { return capacity_ / kEvent; }

 private:
  void refill(std::uint64_t now_us) {
    if (now_us > last_us_) {
      // Past the time an empty bucket takes to fill, the bucket is full: cap the product too.
      const std::uint64_t fill_us = capacity_ / rate_ + 1;
      level_ = std::min(capacity_, level_ + std::min(now_us - last_us_, fill_us) * rate_);
    }
    last_us_ = now_us;
  }

  std::uint64_t rate_;      // events per second = micro-events per microsecond
  std::uint64_t capacity_;  // micro-events
  std::uint64_t level_;     // micro-events
  std::uint64_t last_us_;
};

}  // namespace edge::gateway
