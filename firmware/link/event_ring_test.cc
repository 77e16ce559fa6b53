#include "edge/firmware/event_ring.h"

#include <gtest/gtest.h>

#include <vector>

namespace edge::firmware {
namespace {

using Ring = EventRing<4, 16>;

std::vector<std::uint32_t> due_seqs(Ring& ring, std::uint64_t now, std::uint64_t timeout = 1000) {
  std::array<Ring::Slot*, 8> out{};
  const std::size_t n = ring.due(now, timeout, out);
  std::vector<std::uint32_t> seqs;
  for (std::size_t i = 0; i < n; ++i) {
    seqs.push_back(out[i]->seq);
  }
  return seqs;
}

TEST(EventRing, HoldsEventsUntilReleased) {
  Ring ring;
  const std::array<std::uint8_t, 3> bytes{1, 2, 3};
  for (std::uint32_t seq = 0; seq < 3; ++seq) {
    ASSERT_TRUE(ring.push(seq, bytes));
  }
  EXPECT_EQ(ring.size(), 3U);
  EXPECT_EQ(ring.release(0, 1), 2U);
  EXPECT_EQ(ring.size(), 1U);
  EXPECT_EQ(due_seqs(ring, 0), std::vector<std::uint32_t>{2});
}

TEST(EventRing, FullRingDropsTheOldestAndCountsIt) {
  Ring ring;
  const std::array<std::uint8_t, 1> bytes{9};
  for (std::uint32_t seq = 0; seq < 7; ++seq) {
    ASSERT_TRUE(ring.push(seq, bytes));
  }
  EXPECT_EQ(ring.size(), Ring::capacity());
  EXPECT_EQ(ring.dropped(), 3U);
  EXPECT_EQ(due_seqs(ring, 0), (std::vector<std::uint32_t>{3, 4, 5, 6}));
}

TEST(EventRing, SelectiveAcksLeaveHolesThatArePassedOver) {
  Ring ring;
  const std::array<std::uint8_t, 1> bytes{9};
  for (std::uint32_t seq = 10; seq < 14; ++seq) {
    ASSERT_TRUE(ring.push(seq, bytes));
  }
  EXPECT_EQ(ring.release(11, 12), 2U);  // a hole in the middle
  ASSERT_TRUE(ring.push(14, bytes));
  ASSERT_TRUE(ring.push(15, bytes));
  EXPECT_EQ(ring.dropped(), 1U) << "only the oldest real event (10) made room";
  EXPECT_EQ(due_seqs(ring, 0), (std::vector<std::uint32_t>{13, 14, 15}));
}

TEST(EventRing, SentEventsAreDueAgainOnlyAfterTheTimeout) {
  Ring ring;
  const std::array<std::uint8_t, 1> bytes{9};
  ASSERT_TRUE(ring.push(1, bytes));
  std::array<Ring::Slot*, 4> out{};
  ASSERT_EQ(ring.due(100, 1000, out), 1U);
  Ring::mark_sent(*out[0], 100);
  EXPECT_TRUE(due_seqs(ring, 500).empty());
  EXPECT_EQ(due_seqs(ring, 1100), std::vector<std::uint32_t>{1});
}

TEST(EventRing, RefusesAnEventLargerThanASlot) {
  Ring ring;
  const std::array<std::uint8_t, 17> big{};
  EXPECT_FALSE(ring.push(1, big));
  EXPECT_EQ(ring.size(), 0U);
  const std::array<std::uint8_t, 16> fits{};
  EXPECT_TRUE(ring.push(1, fits));
  EXPECT_EQ(ring.size(), 1U);
}

}  // namespace
}  // namespace edge::firmware
