#include "edge/gateway/dedupe_window.h"

#include <bit>

namespace edge::gateway {

bool DedupeWindow::test(const DedupeState& s, std::uint64_t seq) const {
  const std::uint64_t bit = seq % window_bits_;
  return ((s.bits[bit / 64U] >> (bit % 64U)) & 1U) != 0U;
}

void DedupeWindow::set(DedupeState& s, std::uint64_t seq) const {
  const std::uint64_t bit = seq % window_bits_;
  s.bits[bit / 64U] |= std::uint64_t{1} << (bit % 64U);
}

void DedupeWindow::clear(DedupeState& s, std::uint64_t seq) const {
  const std::uint64_t bit = seq % window_bits_;
  s.bits[bit / 64U] &= ~(std::uint64_t{1} << (bit % 64U));
}

std::uint64_t DedupeWindow::slide(DedupeState& s, std::uint64_t count) const {
  std::uint64_t gaps = 0;
  // Past one full window every bit has been visited; the rest were never inside it.
  const std::uint64_t visited = count < window_bits_ ? count : window_bits_;
  for (std::uint64_t i = 0; i < visited; ++i) {
    const std::uint64_t seq = s.next + i;
    if (test(s, seq)) {
      clear(s, seq);
    } else {
      ++gaps;
    }
  }
  gaps += count - visited;
  s.next += count;
  return gaps;
}

std::uint64_t DedupeWindow::pending_holes(const DedupeState& s) const {
  std::uint64_t received = 0;
  for (const std::uint64_t word : s.bits) {
    received += static_cast<std::uint64_t>(std::popcount(word));
  }
  return s.end > s.next ? (s.end - s.next) - received : 0;
}

Observation DedupeWindow::observe(DedupeState& s, std::uint32_t boot, std::uint32_t seq) const {
  Observation out;
  if (s.bits.size() != window_bits_ / 64U) {
    // A different window size than stored: start the window afresh at `next`. Nothing settled
    // is forgotten; events inside the old window may be stored twice (at-least-once).
    s.bits.assign(window_bits_ / 64U, 0);
    s.end = s.next;
  }
  if (s.started && boot < s.boot) {
    out.verdict = Verdict::kStaleBoot;
    return out;
  }
  if (!s.started || boot > s.boot) {
    if (s.started) {
      out.gaps += pending_holes(s);
    }
    s.boot = boot;
    s.started = true;
    s.next = 0;
    s.end = 0;
    s.bits.assign(window_bits_ / 64U, 0);
  }
  if (seq < s.next) {
    out.verdict = Verdict::kDuplicate;
    return out;
  }
  if (seq >= s.next + window_bits_) {
    out.gaps += slide(s, seq - (s.next + window_bits_) + 1U);
  }
  if (test(s, seq)) {
    out.verdict = Verdict::kDuplicate;
    return out;
  }
  set(s, seq);
  if (seq + 1U > s.end) {
    s.end = seq + 1U;
  }
  while (s.next < s.end && test(s, s.next)) {
    clear(s, s.next);
    ++s.next;
  }
  return out;
}

}  // namespace edge::gateway
