#include "edge/gateway/dedupe_window.h"

#include <gtest/gtest.h>

namespace edge::gateway {
namespace {

constexpr std::uint32_t kWindow = 128;

TEST(DedupeWindow, InOrderEventsAreNewAndAdvanceTheWatermark) {
  const DedupeWindow window(kWindow);
  DedupeState s;
  for (std::uint32_t seq = 0; seq < 1000; ++seq) {
    const Observation o = window.observe(s, 1, seq);
    ASSERT_EQ(o.verdict, Verdict::kNew) << seq;
    ASSERT_EQ(o.gaps, 0U);
  }
  EXPECT_EQ(s.next, 1000U);
  EXPECT_EQ(window.pending_holes(s), 0U);
}

TEST(DedupeWindow, ResendAfterLostAckIsADuplicate) {
  const DedupeWindow window(kWindow);
  DedupeState s;
  for (std::uint32_t seq = 0; seq < 6; ++seq) {
    ASSERT_EQ(window.observe(s, 1, seq).verdict, Verdict::kNew);
  }
  for (std::uint32_t seq = 0; seq < 6; ++seq) {
    EXPECT_EQ(window.observe(s, 1, seq).verdict, Verdict::kDuplicate) << seq;
  }
}

TEST(DedupeWindow, OutOfOrderInsideTheWindowIsExact) {
  const DedupeWindow window(kWindow);
  DedupeState s;
  EXPECT_EQ(window.observe(s, 1, 5).verdict, Verdict::kNew);
  EXPECT_EQ(window.observe(s, 1, 5).verdict, Verdict::kDuplicate);
  EXPECT_EQ(s.next, 0U);
  EXPECT_EQ(window.pending_holes(s), 5U);  // 0..4 missing, not gaps yet
  for (std::uint32_t seq = 0; seq < 5; ++seq) {
    EXPECT_EQ(window.observe(s, 1, seq).verdict, Verdict::kNew);
  }
  EXPECT_EQ(s.next, 6U);
  EXPECT_EQ(window.pending_holes(s), 0U);
}

TEST(DedupeWindow, SeqsThatSlideOutUnreceivedAreGaps) {
  const DedupeWindow window(kWindow);
  DedupeState s;
  ASSERT_EQ(window.observe(s, 1, 0).verdict, Verdict::kNew);
  // 1 and 2 are skipped; 3 arrives; nothing is a gap while 1, 2 are still inside the window.
  ASSERT_EQ(window.observe(s, 1, 3).gaps, 0U);
  // The first seq that pushes 1 out of the window: exactly at next + W.
  const Observation edge_case = window.observe(s, 1, 1 + kWindow);
  EXPECT_EQ(edge_case.verdict, Verdict::kNew);
  EXPECT_EQ(edge_case.gaps, 1U);  // seq 1
  const Observation next = window.observe(s, 1, 2 + kWindow);
  EXPECT_EQ(next.gaps, 1U);                                         // seq 2
  EXPECT_EQ(window.observe(s, 1, 1).verdict, Verdict::kDuplicate);  // settled
}

TEST(DedupeWindow, AJumpFarAheadCountsEverySkippedSeq) {
  const DedupeWindow window(kWindow);
  DedupeState s;
  ASSERT_EQ(window.observe(s, 1, 0).verdict, Verdict::kNew);
  const Observation o = window.observe(s, 1, 10'000);
  EXPECT_EQ(o.verdict, Verdict::kNew);
  // 1..10000-W slid out: all gaps. 10000-W+1 .. 9999 still in the window, pending.
  EXPECT_EQ(o.gaps, 10'000U - kWindow);
  EXPECT_EQ(window.pending_holes(s), kWindow - 1U);
}

TEST(DedupeWindow, NewBootResetsAndCountsTheOldBootsHoles) {
  const DedupeWindow window(kWindow);
  DedupeState s;
  ASSERT_EQ(window.observe(s, 4, 0).verdict, Verdict::kNew);
  ASSERT_EQ(window.observe(s, 4, 3).verdict, Verdict::kNew);  // 1, 2 missing
  const Observation reboot = window.observe(s, 5, 0);
  EXPECT_EQ(reboot.verdict, Verdict::kNew);
  EXPECT_EQ(reboot.gaps, 2U);
  EXPECT_EQ(s.boot, 5U);
  EXPECT_EQ(window.observe(s, 5, 0).verdict, Verdict::kDuplicate);
  EXPECT_EQ(window.observe(s, 4, 1).verdict, Verdict::kStaleBoot);
}

TEST(DedupeWindow, MemoryIsBoundedByTheWindowWhateverTheTraffic) {
  const DedupeWindow window(kWindow);
  DedupeState s;
  for (std::uint32_t seq = 0; seq < 100'000; seq += 3) {
    (void)window.observe(s, 1, seq);
  }
  EXPECT_EQ(s.bits.size(), kWindow / 64U);
}

TEST(DedupeWindow, TopOfTheSequenceSpaceDoesNotWrap) {
  const DedupeWindow window(kWindow);
  DedupeState s;
  EXPECT_EQ(window.observe(s, 1, UINT32_MAX - 1).verdict, Verdict::kNew);
  EXPECT_EQ(window.observe(s, 1, UINT32_MAX).verdict, Verdict::kNew);
  EXPECT_EQ(window.observe(s, 1, UINT32_MAX).verdict, Verdict::kDuplicate);
}

}  // namespace
}  // namespace edge::gateway
