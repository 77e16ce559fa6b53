#include "edge/gateway/outlook.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace edge::gateway {
namespace {

constexpr std::uint64_t kS = 1'000'000;  // microseconds per second
constexpr std::uint64_t kT0 = 1'700'000'000ULL * kS;

// ---- the headroom arithmetic at its bounds ---------------------------------------------------

TEST(OfflineHeadroom, IsRemainingBytesOverBytesPerEventTimesRate) {
  const Headroom h = offline_headroom(200'000, 1'000'000, false, 160.0, 50.0);
  EXPECT_EQ(h.kind, HeadroomKind::kEstimate);
  EXPECT_DOUBLE_EQ(h.seconds, 800'000.0 / (160.0 * 50.0));  // 100 s
}

TEST(OfflineHeadroom, ZeroIngestRateIsUnboundedNotADivisionByZero) {
  const Headroom h = offline_headroom(200'000, 1'000'000, false, 160.0, 0.0);
  EXPECT_EQ(h.kind, HeadroomKind::kUnbounded);
  EXPECT_EQ(h.seconds, 0);
}

TEST(OfflineHeadroom, AnUnknownRateOrEventSizeIsUnknown) {
  EXPECT_EQ(offline_headroom(200'000, 1'000'000, false, 160.0, std::nullopt).kind,
            HeadroomKind::kUnknown);
  EXPECT_EQ(offline_headroom(200'000, 1'000'000, false, std::nullopt, 50.0).kind,
            HeadroomKind::kUnknown);
  EXPECT_EQ(offline_headroom(200'000, 1'000'000, false, 0.0, 50.0).kind, HeadroomKind::kUnknown);
}

TEST(OfflineHeadroom, AFullBufferHasNoneWhateverTheRate) {
  for (const std::optional<double> rate :
       {std::optional<double>{}, std::optional(0.0), std::optional(1000.0)}) {
    const Headroom at_limit = offline_headroom(1'000'000, 1'000'000, false, 160.0, rate);
    EXPECT_EQ(at_limit.kind, HeadroomKind::kFull);
    EXPECT_EQ(at_limit.seconds, 0);
    EXPECT_EQ(offline_headroom(1'200'000, 1'000'000, false, 160.0, rate).kind,
              HeadroomKind::kFull);  // above the mark (the learned limit fell below it)
    EXPECT_EQ(offline_headroom(990'000, 1'000'000, true, 160.0, rate).kind, HeadroomKind::kFull);
  }
}

TEST(OfflineHeadroom, TinyRemainingSpaceIsATinyEstimateNotFullAndNotNegative) {
  const Headroom h = offline_headroom(999'999, 1'000'000, false, 160.0, 1000.0);
  EXPECT_EQ(h.kind, HeadroomKind::kEstimate);
  EXPECT_GT(h.seconds, 0);
  EXPECT_LT(h.seconds, 1e-5);
  EXPECT_EQ(format_duration(h.seconds), "under 1 s");
}

TEST(OfflineHeadroom, ATinyRateGivesAHugeButFiniteEstimate) {
  const Headroom h = offline_headroom(0, 1ULL << 40U, false, 100.0, 1e-9);
  EXPECT_EQ(h.kind, HeadroomKind::kEstimate);
  EXPECT_TRUE(std::isfinite(h.seconds));
  EXPECT_EQ(format_duration(h.seconds), "more than 30000 years");
}

TEST(FormatDuration, ShowsTheTwoLargestUnits) {
  EXPECT_EQ(format_duration(14 * 3600 + 20 * 60 + 59), "14 h 20 min");
  EXPECT_EQ(format_duration(3 * 86400 + 4 * 3600 + 5), "3 d 4 h");
  EXPECT_EQ(format_duration(5 * 60 + 12.7), "5 min 12 s");
  EXPECT_EQ(format_duration(42.9), "42 s");
  EXPECT_EQ(format_duration(1), "1 s");
  EXPECT_EQ(format_duration(0.99), "under 1 s");
  EXPECT_EQ(format_duration(std::numeric_limits<double>::quiet_NaN()), "under 1 s");
}

// ---- rates read off the log ------------------------------------------------------------------

RateSample at(std::uint64_t s, std::uint64_t stored, std::uint64_t forwarded = 0) {
  return {kT0 + s * kS, stored, forwarded};
}

TEST(RatePerS, SteadyTrafficGivesItsRateOverTheWindow) {
  std::vector<RateSample> log;
  for (std::uint64_t s = 0; s <= 100; s += 5) {
    log.push_back(at(s, 50 * s, 20 * s));  // 50 stored/s, 20 forwarded/s
  }
  const std::uint64_t now = kT0 + 102 * kS;
  const auto ingest = rate_per_s(log, &RateSample::stored, 50 * 102, now);
  const auto drain = rate_per_s(log, &RateSample::forwarded, 20 * 102, now);
  ASSERT_TRUE(ingest && drain);
  EXPECT_NEAR(*ingest, 50.0, 1e-9);
  EXPECT_NEAR(*drain, 20.0, 1e-9);
}

TEST(RatePerS, AYoungLogUsesItsWholeAgeAndATooYoungOneNone) {
  const std::vector<RateSample> log{at(0, 0)};
  EXPECT_NEAR(*rate_per_s(log, &RateSample::stored, 100, kT0 + 10 * kS), 10.0, 1e-9);
  EXPECT_FALSE(rate_per_s(log, &RateSample::stored, 100, kT0 + kMinRateSpanUs - 1));
  EXPECT_FALSE(rate_per_s({}, &RateSample::stored, 100, kT0));
}

TEST(RatePerS, TrafficAfterAQuietSpellIsNotSpreadOverTheSpell) {
  // 100 events, then quiet from 10 s to 590 s (the log marks its end), then 600 events in the
  // last 10 s: 10 per second over the last minute, not 600 / (600 - 10).
  const std::vector<RateSample> log{at(0, 0), at(10, 100), at(590, 100), at(600, 700)};
  const auto r = rate_per_s(log, &RateSample::stored, 700, kT0 + 600 * kS);
  ASSERT_TRUE(r);
  EXPECT_NEAR(*r, 10.0, 1e-9);
}

TEST(RatePerS, NothingMovingForLongerThanTheWindowIsZero) {
  const std::vector<RateSample> log{at(0, 0), at(5, 500)};
  EXPECT_NEAR(*rate_per_s(log, &RateSample::stored, 500, kT0 + 3600 * kS), 0.0, 1e-12);
}

TEST(RatePerS, PointsFromAClockThatWentBackAreIgnored) {
  const std::vector<RateSample> log{at(0, 0), at(100, 1000)};
  EXPECT_NEAR(*rate_per_s(log, &RateSample::stored, 200, kT0 + 20 * kS), 10.0, 1e-9);
}

TEST(RatePerS, ATotalBelowTheLogMeansAWipedBufferAndNoRate) {
  const std::vector<RateSample> log{at(0, 1000)};
  EXPECT_FALSE(rate_per_s(log, &RateSample::stored, 10, kT0 + 30 * kS));
}

// ---- one snapshot ------------------------------------------------------------------------------

BufferStats snapshot() {
  BufferStats s;
  s.max_bytes = 10'000'000;
  s.high_water_bytes = 8'000'000;
  s.used_bytes = 2'000'000;
  s.events = 10'000;
  s.events_bytes = 1'600'000;  // 160 bytes per event
  s.oldest_received_us = kT0;
  s.counters = {{"stored", 10'000}, {"forwarded", 0}};
  s.rate_log = RateLog{.high_water_bytes = 8'000'000, .samples = {at(0, 0, 0)}};
  return s;
}

TEST(OutlookOf, CombinesAgeRatesSizeAndHeadroom) {
  const BufferOutlook o = outlook_of(snapshot(), kT0 + 100 * kS);
  EXPECT_DOUBLE_EQ(*o.oldest_age_s, 100.0);
  // One point: the total at the window's start (40 s) reads as that point's.
  EXPECT_NEAR(*o.ingest_per_s, 10'000.0 / 60.0, 1e-6);
  EXPECT_NEAR(*o.drain_per_s, 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(o.rate_window_s, 60.0);
  EXPECT_DOUBLE_EQ(*o.bytes_per_event, 160.0);
  EXPECT_FALSE(o.full);
  EXPECT_EQ(o.headroom.kind, HeadroomKind::kEstimate);
  EXPECT_NEAR(o.headroom.seconds, 6'000'000.0 / (160.0 * 10'000.0 / 60.0), 1e-6);
}

TEST(OutlookOf, FewEventsUseTheDaemonsLastMeasuredSize) {
  BufferStats s = snapshot();
  s.events = 3;
  s.events_bytes = 4096;
  s.rate_log->bytes_per_event = 170;
  EXPECT_DOUBLE_EQ(*outlook_of(s, kT0 + 100 * kS).bytes_per_event, 170.0);
  s.rate_log->bytes_per_event = 0;  // never measured: the rough figure of what is there
  EXPECT_NEAR(*outlook_of(s, kT0 + 100 * kS).bytes_per_event, 4096.0 / 3.0, 1e-9);
  s.events = 0;
  s.events_bytes = 0;
  EXPECT_FALSE(outlook_of(s, kT0 + 100 * kS).bytes_per_event);
}

TEST(OutlookOf, DropOldestIsFullWithinTwiceItsEvictionBandOfTheMark) {
  BufferStats s = snapshot();  // the log records drop_oldest (policy 0)
  const std::uint64_t band = s.max_bytes * kEvictHysteresisPercent / 100U;
  s.used_bytes = s.high_water_bytes - 2 * band;
  BufferOutlook o = outlook_of(s, kT0 + 100 * kS);
  EXPECT_TRUE(o.full);
  EXPECT_EQ(o.headroom.kind, HeadroomKind::kFull);
  EXPECT_EQ(describe(o.headroom, o), "none: the buffer is full, the full policy applies");
  s.used_bytes -= 1;
  o = outlook_of(s, kT0 + 100 * kS);
  EXPECT_FALSE(o.full);
  EXPECT_EQ(o.headroom.kind, HeadroomKind::kEstimate);
}

TEST(OutlookOf, RefuseNewIsFullFromTheMarkOn) {
  BufferStats s = snapshot();
  s.rate_log->policy = 1;
  s.used_bytes = s.high_water_bytes - 1;
  EXPECT_FALSE(outlook_of(s, kT0 + 100 * kS).full);
  s.used_bytes = s.high_water_bytes;
  EXPECT_TRUE(outlook_of(s, kT0 + 100 * kS).full);
}

TEST(OutlookOf, NoLogMeansNoRatesAndAnUnknownHeadroom) {
  BufferStats s = snapshot();
  s.rate_log.reset();
  s.oldest_received_us.reset();
  const BufferOutlook o = outlook_of(s, kT0 + 100 * kS);
  EXPECT_FALSE(o.oldest_age_s);
  EXPECT_FALSE(o.ingest_per_s);
  EXPECT_EQ(o.headroom.kind, HeadroomKind::kUnknown);
  EXPECT_EQ(describe(o.headroom, o).rfind("n/a", 0), 0U);
  nlohmann::json j = nlohmann::json::object();
  add_outlook(j, o);
  EXPECT_TRUE(j["ingest_rate"].is_null());
  EXPECT_TRUE(j["offline_headroom_s"].is_null());
  EXPECT_EQ(j["offline_headroom"], "unknown");
}

TEST(OutlookOf, JsonCarriesEveryFigure) {
  const BufferOutlook o = outlook_of(snapshot(), kT0 + 100 * kS);
  nlohmann::json j = {{"events", 1}};
  add_outlook(j, o);
  EXPECT_EQ(j["events"], 1);  // existing keys stay
  EXPECT_EQ(j["high_water_bytes"], 8'000'000);
  EXPECT_EQ(j["full"], false);
  EXPECT_DOUBLE_EQ(j["oldest_age_s"].get<double>(), 100.0);
  EXPECT_GT(j["ingest_rate"].get<double>(), 0);
  EXPECT_EQ(j["offline_headroom"], "estimate");
  EXPECT_NEAR(j["offline_headroom_s"].get<double>(), o.headroom.seconds, 1e-9);
  EXPECT_DOUBLE_EQ(j["bytes_per_event"].get<double>(), 160.0);
}

}  // namespace
}  // namespace edge::gateway
