#include "edge/gateway/token_bucket.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace edge::gateway {
namespace {

TEST(TokenBucket, BucketSizeRetryAndTheLargestValues) {
  TokenBucket one(1, 1, 0);  // 1 token/s, 1 ms: less than a token's worth, so one token
  EXPECT_EQ(one.capacity(), 1U);
  EXPECT_TRUE(one.take(0));
  EXPECT_FALSE(one.take(999'999));
  EXPECT_EQ(one.retry_after_ms(1), 1U);
  EXPECT_TRUE(one.take(1'000'000));
  EXPECT_EQ(one.retry_after_ms(5), 1000U) << "asks for the bucket's size at most";
  // The largest configurable buckets: 4,294,967,295 bytes/s or 10,000,000 events/s for 60 s.
  TokenBucket big(10'000'000, 60'000, 0);
  EXPECT_EQ(big.capacity(), 600'000'000U);
  EXPECT_TRUE(big.take(std::uint64_t{1} << 62U));
  EXPECT_EQ(big.tokens(), 599'999'999U);
  TokenBucket bytes(UINT32_MAX, 60'000, 0);
  EXPECT_EQ(bytes.capacity(), std::uint64_t{UINT32_MAX} * 60U);
  bytes.spend(TokenBucket::kMaxDebtTokens * 4U);  // saturates at the largest debt
  EXPECT_EQ(bytes.tokens(), 0U);
  EXPECT_GT(bytes.wait_us(0), 0U);
  EXPECT_EQ(bytes.wait_us(std::uint64_t{1} << 62U), 0U) << "refilled to full, no overflow";
  EXPECT_EQ(bytes.tokens(), bytes.capacity());
}

TEST(TokenBucket, TakeIsStrictAtTheBound) {
  TokenBucket b(1000, 500, 0);  // 1,000/s, holds 500
  std::uint64_t taken = 0;
  for (int i = 0; i < 600; ++i) {
    taken += b.take(0) ? 1U : 0U;
  }
  EXPECT_EQ(taken, 500U) << "the burst, not one more";
  EXPECT_FALSE(b.take(999));  // 0.999 of a token refilled
  EXPECT_TRUE(b.take(1000));  // one
  EXPECT_FALSE(b.take(1000, 2)) << "a take of two with none left takes nothing";
  EXPECT_TRUE(b.take(3000, 2));  // two more refilled
  EXPECT_EQ(b.tokens(), 0U);
  EXPECT_FALSE(b.take(500, 1)) << "a clock that went back refills nothing";
}

TEST(TokenBucket, SpendOverdrawsAndTheDebtIsPaidBeforeTheNextMessage) {
  TokenBucket b(100, 1000, 0);  // 100/s, holds 100
  EXPECT_EQ(b.wait_us(0), 0U);
  b.spend(250);  // a batch bigger than the burst still goes
  EXPECT_EQ(b.tokens(), 0U);
  // 150 tokens of debt at 100/s: 1.5 s until the bucket holds anything again.
  EXPECT_EQ(b.wait_us(0), 1'500'001U);
  EXPECT_EQ(b.wait_us(1'000'000), 500'001U);
  EXPECT_GT(b.wait_us(1'500'000), 0U) << "empty is not enough: it must hold something";
  EXPECT_EQ(b.wait_us(1'500'001), 0U);
  EXPECT_EQ(b.retry_after_ms(1), 10U) << "a whole token at 100/s";
}

TEST(TokenBucket, RefillStopsAtTheCapacityFromAnyDebt) {
  TokenBucket b(10, 1000, 0);
  b.spend(1'000'000);
  EXPECT_EQ(b.wait_us(0), 99'999'000'001U) << "999,990 tokens of debt at 10/s";
  EXPECT_EQ(b.wait_us(std::uint64_t{1} << 50U), 0U);
  EXPECT_EQ(b.tokens(), 10U) << "full, not more";
}

TEST(TokenBucket, FullAtIsWhenItIsTheSameAsANewBucket) {
  TokenBucket b(1000, 500, 1'000);  // holds 500, 1 token a millisecond
  EXPECT_EQ(b.full_at_us(), 1'000U) << "full from the start";
  ASSERT_TRUE(b.take(2'000, 3));
  EXPECT_EQ(b.full_at_us(), 5'000U) << "3 tokens at 1,000/s: 3 ms";
  b.spend(2);  // 495 left
  EXPECT_EQ(b.full_at_us(), 7'000U);
  EXPECT_EQ(b.wait_us(7'000), 0U);
  EXPECT_EQ(b.tokens(), 500U);
  EXPECT_EQ(b.full_at_us(), 7'000U) << "full: no later than now";
}

}  // namespace
}  // namespace edge::gateway
