// A token bucket: `rate` tokens a second, holding `burst_ms` worth of them (at least one token),
// full at the start, refilled continuously. One type for the gateway's two rate bounds:
// - ingest.link_rate_events_s (per link, strict): take() takes a token only if one is there;
// - upstream.drain_rate_events_s / drain_rate_bytes_s (the forwarder, overdraw allowed): a
//   message goes while the bucket holds anything (wait_us() == 0) and spend() may take it below
//   zero, so a batch larger than the burst still goes; the debt is refilled before the next one.
// Exact integer arithmetic in micro-tokens, so a test at a bound counts exactly.
//
// Ranges: rate < 2^32 a second and burst_ms <= 60,000 (what the configuration keys allow): the
// bucket holds at most 2.6e17 micro-tokens, and a debt of at most 2^40 tokens (spend()
// saturates there) keeps every sum inside int64. Time is the caller's monotonic microseconds; a
// clock that goes back refills nothing.
#pragma once

#include <algorithm>
#include <cstdint>

namespace edge::gateway {

class TokenBucket {
 public:
  static constexpr std::int64_t kUnit = 1'000'000;              // micro-tokens per token
  static constexpr std::uint64_t kMaxDebtTokens = 1ULL << 40U;  // spend() goes no lower

  /// `rate_per_s` >= 1 (a caller with rate 0, "no limit", keeps no bucket; 0 is taken as 1).
  TokenBucket(std::uint32_t rate_per_s, std::uint32_t burst_ms, std::uint64_t now_us)
      : rate_(std::max<std::int64_t>(rate_per_s, 1)),
        capacity_(std::max(kUnit, rate_ * static_cast<std::int64_t>(burst_ms) * 1000)),
        level_(capacity_),
        last_us_(now_us) {}

  /// Strict: takes `tokens` if the bucket holds them at `now_us` and returns true; otherwise
  /// takes nothing and returns false.
  bool take(std::uint64_t now_us, std::uint64_t tokens = 1) {
    refill(now_us);
    const std::int64_t want = units(tokens);
    if (level_ < want) {
      return false;
    }
    level_ -= want;
    return true;
  }

  /// Overdraw: takes `tokens` whatever the bucket holds, as of the last refill (take() or
  /// wait_us()); the level may go below zero.
  void spend(std::uint64_t tokens) {
    level_ -= static_cast<std::int64_t>(std::min(tokens, kMaxDebtTokens)) * kUnit;
    level_ = std::max(level_, -static_cast<std::int64_t>(kMaxDebtTokens) * kUnit);
  }

  /// Microseconds from `now_us` until the bucket holds something (more than zero); 0 if it
  /// does now.
  std::uint64_t wait_us(std::uint64_t now_us) {
    refill(now_us);
    if (level_ > 0) {
      return 0;
    }
    return static_cast<std::uint64_t>(-level_ / rate_) + 1U;  // rate_: micro-tokens per µs
  }

  /// Milliseconds until the bucket holds `tokens` again (its capacity at most), as of the last
  /// refill; at least 1.
  [[nodiscard]] std::uint32_t retry_after_ms(std::uint64_t tokens) const {
    const std::int64_t want = std::min(capacity_, units(std::max<std::uint64_t>(tokens, 1)));
    if (level_ >= want) {
      return 1;
    }
    const std::int64_t per_ms = rate_ * 1000;  // micro-tokens refilled per millisecond
    return static_cast<std::uint32_t>(
        std::max<std::int64_t>(1, (want - level_ + per_ms - 1) / per_ms));
  }

  /// When the bucket is full again if nothing more is taken (as of the last refill): from then
  /// on it is the same as a new bucket.
  [[nodiscard]] std::uint64_t full_at_us() const { return last_us_ + fill_us(); }

  /// Whole tokens held as of the last refill (0 while in debt).
  [[nodiscard]] std::uint64_t tokens() const {
    return level_ > 0 ? static_cast<std::uint64_t>(level_ / kUnit) : 0;
  }
  [[nodiscard]] std::uint64_t capacity() const {
    return static_cast<std::uint64_t>(capacity_ / kUnit);
  }

 private:
  // For take() and retry_after_ms(): more tokens than the bucket can hold ask for one more than
  // its capacity (never granted; retry_after_ms caps at the capacity).
  [[nodiscard]] std::int64_t units(std::uint64_t tokens) const {
    const auto most = static_cast<std::uint64_t>(capacity_ / kUnit) + 1U;
    return static_cast<std::int64_t>(std::min(tokens, most)) * kUnit;
  }

  // Microseconds the bucket takes to fill from its level (rounded up).
  [[nodiscard]] std::uint64_t fill_us() const {
    return static_cast<std::uint64_t>((capacity_ - level_ + rate_ - 1) / rate_);
  }

  void refill(std::uint64_t now_us) {
    if (now_us > last_us_) {
      // Past the time the bucket takes to fill, it is full: cap the product too.
      const auto elapsed = static_cast<std::int64_t>(std::min(now_us - last_us_, fill_us()));
      level_ = std::min(capacity_, level_ + elapsed * rate_);
    }
    last_us_ = now_us;
  }

  std::int64_t rate_;      // tokens per second = micro-tokens per microsecond
  std::int64_t capacity_;  // micro-tokens
  std::int64_t level_;     // micro-tokens; below zero after an overdraw
  std::uint64_t last_us_;
};

}  // namespace edge::gateway
