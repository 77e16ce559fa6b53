// Ack latency of one simulated device: from an event's production to the Ok ack that frees it.
//
// A log-linear histogram (HdrHistogram's layout, 32 sub-buckets per power of two: every value
// is kept to within 1/32 = 3%) over microseconds, fixed size, so a run of any length uses the
// same memory. The benchmarks (bench/) read p50/p99/p999 from the summary line.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace edge::devsim {

class LatencyHistogram {
 public:
  static constexpr unsigned kSubBits = 5;  // 32 sub-buckets per power of two
  static constexpr std::size_t kSub = std::size_t{1} << kSubBits;
  static constexpr std::size_t kBuckets = (64 - kSubBits + 1) * kSub;

  void record(std::uint64_t us) {
    ++counts_[index_of(us)];
    ++samples_;
    if (us > max_) {
      max_ = us;
    }
  }

  [[nodiscard]] std::uint64_t samples() const { return samples_; }
  [[nodiscard]] std::uint64_t max() const { return max_; }

  /// The smallest recorded bucket's upper bound at or above quantile q (0..1); 0 when empty.
  [[nodiscard]] std::uint64_t quantile(double q) const {
    if (samples_ == 0) {
      return 0;
    }
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(samples_) + 0.5);
    rank = rank == 0 ? 1 : rank;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        const std::uint64_t upper = upper_of(i);
        return upper < max_ ? upper : max_;
      }
    }
    return max_;
  }

 private:
  // Values below kSub map to themselves; above, the top kSubBits bits below the leading one
  // pick the sub-bucket of the value's power of two.
  static std::size_t index_of(std::uint64_t v) {
    if (v < kSub) {
      return static_cast<std::size_t>(v);
    }
    const unsigned shift = static_cast<unsigned>(std::bit_width(v)) - kSubBits - 1;
    return static_cast<std::size_t>((shift + 1) * kSub + ((v >> shift) - kSub));
  }
  static std::uint64_t upper_of(std::size_t i) {
    if (i < kSub) {
      return i;
    }
    const std::size_t shift = i / kSub - 1;
    const std::uint64_t base = (kSub + i % kSub) << shift;
    return base + ((std::uint64_t{1} << shift) - 1);
  }

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t samples_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace edge::devsim
