#include "latency.h"

#include <gtest/gtest.h>

namespace edge::devsim {
namespace {

TEST(LatencyHistogram, EmptyReportsZero) {
  const LatencyHistogram h;
  EXPECT_EQ(h.samples(), 0U);
  EXPECT_EQ(h.quantile(0.99), 0U);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (std::uint64_t us = 1; us <= 20; ++us) {
    h.record(us);
  }
  EXPECT_EQ(h.quantile(0.5), 10U);
  EXPECT_EQ(h.quantile(1.0), 20U);
  EXPECT_EQ(h.max(), 20U);
}

TEST(LatencyHistogram, LargeValuesStayWithinThreePercent) {
  LatencyHistogram h;
  for (std::uint64_t i = 0; i < 990; ++i) {
    h.record(1000);  // 1 ms
  }
  for (std::uint64_t i = 0; i < 10; ++i) {
    h.record(250'000);  // a 250 ms tail: p99 must not hide it past p99's rank
  }
  EXPECT_NEAR(static_cast<double>(h.quantile(0.5)), 1000.0, 1000.0 * 0.035);
  EXPECT_NEAR(static_cast<double>(h.quantile(0.999)), 250'000.0, 250'000.0 * 0.035);
  EXPECT_EQ(h.max(), 250'000U);
}

}  // namespace
}  // namespace edge::devsim
