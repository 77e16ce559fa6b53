// Per-device dedupe index: the current boot, a contiguous watermark, and a fixed-size bitmap
// window above it. Bounded: window_bits / 8 bytes per device, whatever the traffic.
//
//   seqs:   ... settled ... | next | next+1 | ...              | next+W-1 | beyond
//                           '--------- bitmap window (W bits) ---------'
//
//   settled   every seq below `next` was received, or was declared a gap when the window slid
//             past it. A settled seq arriving again is a duplicate.
//   window    bit set = received. `next` advances over received seqs as they become contiguous.
//   beyond    a seq at next+W or above slides the window: seqs leaving it unreceived are gaps.
//
// A new boot counter starts a new window (the holes left in the old one are gaps); an older boot
// than the current one is stale. Exact as long as the device's ring of unacked events is no
// larger than the window (the gateway warns when a Hello says otherwise): a device can then
// never resend a seq that has already slid out.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace edge::gateway {

enum class Verdict {
  kNew,        // first time seen: store it
  kDuplicate,  // seen before in this boot (or settled): ack again, do not store
  kStaleBoot,  // from a boot older than the device's current one
};

struct DedupeState {
  std::uint32_t boot = 0;
  bool started = false;             // an event of `boot` has been seen
  std::uint64_t next = 0;           // lowest seq not yet settled
  std::uint64_t end = 0;            // one past the highest seq seen in this boot
  std::vector<std::uint64_t> bits;  // window, bit (seq % W) for seq in [next, next + W)
};

struct Observation {
  Verdict verdict = Verdict::kNew;
  std::uint64_t gaps = 0;  // seqs declared missing by this observation
};

class DedupeWindow {
 public:
  /// `window_bits`: a multiple of 64, at least 64.
  explicit DedupeWindow(std::uint32_t window_bits) : window_bits_(window_bits) {}

  /// Classifies (boot, seq) and records it in `state` (resized to this window if needed).
  Observation observe(DedupeState& state, std::uint32_t boot, std::uint32_t seq) const;

  /// Seqs currently missing below the highest seen: not gaps yet, but will be if they never come.
  [[nodiscard]] std::uint64_t pending_holes(const DedupeState& state) const;

  [[nodiscard]] std::uint32_t window_bits() const { return window_bits_; }

 private:
  [[nodiscard]] bool test(const DedupeState& s, std::uint64_t seq) const;
  void set(DedupeState& s, std::uint64_t seq) const;
  void clear(DedupeState& s, std::uint64_t seq) const;
  // Moves `next` forward by `count`, counting the unreceived seqs it passes.
  std::uint64_t slide(DedupeState& s, std::uint64_t count) const;

  std::uint32_t window_bits_;
};

}  // namespace edge::gateway
