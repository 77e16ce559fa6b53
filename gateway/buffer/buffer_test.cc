#include "edge/gateway/buffer.h"

#include <lmdb.h>
#include <stdlib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "edge/gateway/temp_dir.h"

namespace edge::gateway {
namespace {

std::unique_ptr<Buffer> open_buffer(const BufferOptions& options) {
  auto opened = Buffer::open(options);
  if (auto* error = std::get_if<BufferError>(&opened)) {
    ADD_FAILURE() << error->message;
    return nullptr;
  }
  return std::move(std::get<std::unique_ptr<Buffer>>(opened));
}

BufferOptions small(const TempDir& dir, FullPolicy policy = FullPolicy::kDropOldest) {
  BufferOptions o;
  o.dir = dir.path();
  o.max_bytes = 1U << 20U;
  o.high_water_percent = 50;
  o.policy = policy;
  o.dedupe_window = 256;
  return o;
}

std::vector<std::uint8_t> payload(std::uint32_t seq, std::size_t size = 200) {
  std::vector<std::uint8_t> p(size);
  for (std::size_t i = 0; i < size; ++i) {
    p[i] = static_cast<std::uint8_t>(seq + i);
  }
  return p;
}

BufferStats stats_of(const Buffer& buffer) {
  auto s = buffer.stats();
  EXPECT_TRUE(std::holds_alternative<BufferStats>(s));
  return std::get<BufferStats>(s);
}

std::vector<EventId> ids_in(const Buffer& buffer) {
  std::vector<EventId> ids;
  EXPECT_FALSE(buffer.for_each_event(0, SIZE_MAX, [&](const StoredEvent& e) {
    ids.push_back(e.record.id);
    return true;
  }));
  return ids;
}

TEST(Buffer, CommittedEventsReadBackInArrivalOrderWithTheirPayload) {
  TempDir dir;
  auto buffer = open_buffer(small(dir));
  ASSERT_TRUE(buffer);
  ASSERT_FALSE(buffer->begin());
  for (std::uint32_t seq = 0; seq < 10; ++seq) {
    ASSERT_EQ(buffer->add_event({7, 1, seq}, payload(seq), 1000 + seq), Disposition::kStored);
  }
  ASSERT_FALSE(buffer->commit());
  std::uint32_t expected = 0;
  std::uint64_t last_key = 0;
  ASSERT_FALSE(buffer->for_each_event(0, 100, [&](const StoredEvent& e) {
    EXPECT_GT(e.key, last_key);
    last_key = e.key;
    EXPECT_EQ(e.record.id, (EventId{7, 1, expected}));
    EXPECT_EQ(e.record.received_us, 1000U + expected);
    const auto want = payload(expected);
    EXPECT_TRUE(
        std::equal(want.begin(), want.end(), e.record.payload.begin(), e.record.payload.end()));
    ++expected;
    return true;
  }));
  EXPECT_EQ(expected, 10U);
  EXPECT_EQ(stats_of(*buffer).events, 10U);
}

TEST(Buffer, ADuplicateIsNotStoredTwiceEvenAfterARestart) {
  TempDir dir;
  {
    auto buffer = open_buffer(small(dir));
    ASSERT_FALSE(buffer->begin());
    ASSERT_EQ(buffer->add_event({7, 1, 0}, payload(0), 1), Disposition::kStored);
    ASSERT_EQ(buffer->add_event({7, 1, 0}, payload(0), 1), Disposition::kDuplicate);
    ASSERT_FALSE(buffer->commit());
  }
  auto buffer = open_buffer(small(dir));
  ASSERT_FALSE(buffer->begin());
  EXPECT_EQ(buffer->add_event({7, 1, 0}, payload(0), 2), Disposition::kDuplicate);
  EXPECT_EQ(buffer->add_event({7, 1, 1}, payload(1), 2), Disposition::kStored);
  ASSERT_FALSE(buffer->commit());
  EXPECT_EQ(ids_in(*buffer), (std::vector<EventId>{{7, 1, 0}, {7, 1, 1}}));
  const BufferStats s = stats_of(*buffer);
  EXPECT_EQ(s.counters.at("duplicates"), 2U);
  EXPECT_EQ(s.counters.at("stored"), 2U);
}

TEST(Buffer, AnAbortedBatchLeavesNoEventAndNoDedupeMark) {
  TempDir dir;
  auto buffer = open_buffer(small(dir));
  ASSERT_FALSE(buffer->begin());
  ASSERT_EQ(buffer->add_event({7, 1, 0}, payload(0), 1), Disposition::kStored);
  buffer->abort();
  EXPECT_EQ(stats_of(*buffer).events, 0U);
  ASSERT_FALSE(buffer->begin());
  EXPECT_EQ(buffer->add_event({7, 1, 0}, payload(0), 1), Disposition::kStored);
  ASSERT_FALSE(buffer->commit());
  EXPECT_EQ(stats_of(*buffer).counters.at("stored"), 1U);
}

TEST(Buffer, GapsAndRebootsAreRecordedPerDevice) {
  TempDir dir;
  auto buffer = open_buffer(small(dir));
  ASSERT_FALSE(buffer->begin());
  ASSERT_EQ(buffer->add_event({9, 1, 0}, payload(0), 1), Disposition::kStored);
  ASSERT_EQ(buffer->add_event({9, 1, 2}, payload(2), 1), Disposition::kStored);  // 1 missing
  ASSERT_EQ(buffer->add_event({9, 2, 0}, payload(0), 1), Disposition::kStored);  // reboot
  ASSERT_EQ(buffer->add_event({9, 1, 1}, payload(1), 1), Disposition::kStaleBoot);
  ASSERT_FALSE(buffer->commit());
  const auto devices = std::get<std::vector<DeviceRecord>>(buffer->devices());
  ASSERT_EQ(devices.size(), 1U);
  EXPECT_EQ(devices[0].gaps, 1U);
  EXPECT_EQ(devices[0].stored, 4U);  // the stale one too: it cannot be deduplicated
  EXPECT_EQ(devices[0].stale_boot, 1U);
  EXPECT_EQ(devices[0].dedupe.boot, 2U);
}

// Fills a 1 MiB buffer far past its 50 % high-water mark in many batches, as a long outage
// would.
struct FillResult {
  std::uint64_t stored = 0;
  std::uint64_t busy = 0;
};
FillResult fill(Buffer& buffer, std::uint32_t events, std::uint32_t per_batch,
                std::size_t size = 200) {
  FillResult r;
  for (std::uint32_t seq = 0; seq < events;) {
    EXPECT_FALSE(buffer.begin());
    std::uint64_t stored_in_batch = 0;
    for (std::uint32_t i = 0; i < per_batch && seq < events; ++i, ++seq) {
      const Disposition d = buffer.add_event({7, 1, seq}, payload(seq, size), seq);
      stored_in_batch += d == Disposition::kStored ? 1U : 0U;
      r.busy += d == Disposition::kBusy ? 1U : 0U;
    }
    if (buffer.commit()) {
      r.busy += stored_in_batch;  // the whole batch was not stored
    } else {
      r.stored += stored_in_batch;
    }
  }
  return r;
}

TEST(Buffer, DropOldestAtTheBoundEvictsCountsAndKeepsAccepting) {
  TempDir dir;
  auto buffer = open_buffer(small(dir, FullPolicy::kDropOldest));
  const FillResult r = fill(*buffer, 20'000, 100);  // ~4.6 MB of values into a 1 MiB map
  EXPECT_EQ(r.busy, 0U);
  EXPECT_EQ(r.stored, 20'000U);
  const BufferStats s = stats_of(*buffer);
  EXPECT_LE(s.used_bytes, s.high_water_bytes + s.max_bytes / 50);
  ASSERT_TRUE(s.counters.contains("dropped_oldest"));
  // Nothing vanished unaccounted: every stored event is either still here or counted dropped.
  EXPECT_EQ(s.events + s.counters.at("dropped_oldest"), r.stored);
  // The newest events are the ones kept.
  EXPECT_EQ(ids_in(*buffer).back(), (EventId{7, 1, 19'999}));
  const auto devices = std::get<std::vector<DeviceRecord>>(buffer->devices());
  EXPECT_EQ(devices[0].dropped, s.counters.at("dropped_oldest"));
}

TEST(Buffer, RefuseNewAtTheBoundAcksBusyAndStillRecognisesDuplicates) {
  TempDir dir;
  auto buffer = open_buffer(small(dir, FullPolicy::kRefuseNew));
  const FillResult r = fill(*buffer, 20'000, 100);
  EXPECT_GT(r.busy, 0U);
  const BufferStats s = stats_of(*buffer);
  EXPECT_EQ(s.events, r.stored);  // nothing evicted
  EXPECT_FALSE(s.counters.contains("dropped_oldest"));
  EXPECT_EQ(s.counters.at("refused_busy"), r.busy);
  EXPECT_LE(s.used_bytes, s.max_bytes);
  // A stored event sent again is still a duplicate while full; a refused one is still busy.
  ASSERT_FALSE(buffer->begin());
  EXPECT_EQ(buffer->add_event({7, 1, 0}, payload(0), 1), Disposition::kDuplicate);
  EXPECT_EQ(buffer->add_event({7, 1, 19'999}, payload(19'999), 1), Disposition::kBusy);
  ASSERT_FALSE(buffer->commit());
}

class BufferMapFull : public testing::TestWithParam<FullPolicy> {};

// With the high-water mark at 99 % and events of 60 KB (LMDB overflow pages), an insert below the
// mark still needs more than the map has left: MDB_MAP_FULL is met whatever the policy. It must
// come back as busy for the batch, never as a crash, and the next batch works.
TEST_P(BufferMapFull, NeverEscapesAndTheBufferRecovers) {
  TempDir dir;
  BufferOptions o = small(dir, GetParam());
  o.high_water_percent = 99;
  auto buffer = open_buffer(o);
  const FillResult r = fill(*buffer, 200, 4, 60'000);
  const BufferStats s = stats_of(*buffer);
  ASSERT_TRUE(s.counters.contains("map_full"))
      << "the bound was never reached: " << s.events << " events, " << s.used_bytes << " of "
      << s.max_bytes << " bytes used, " << r.busy << " busy";
  EXPECT_GT(r.busy, 0U);
  const std::uint64_t dropped =
      s.counters.contains("dropped_oldest") ? s.counters.at("dropped_oldest") : 0;
  EXPECT_EQ(s.events + dropped, r.stored);
  ASSERT_FALSE(buffer->begin());
  EXPECT_EQ(buffer->add_event({8, 1, 0}, payload(0), 1),
            GetParam() == FullPolicy::kDropOldest ? Disposition::kStored : Disposition::kBusy);
  EXPECT_FALSE(buffer->commit());
}

// Regression: after MDB_MAP_FULL the write transaction is broken and LMDB refuses mdb_stat on it,
// so the level where the map filled was read as two pages and the learned limit became 0: once
// full, a drained buffer still refused every new event (refuse_new) or evicted each one as it
// came (drop_oldest), forever. Recovery after full must bring the buffer back to normal.
TEST_P(BufferMapFull, RegressionMapFullLearnedAZeroLimitAndTheDrainedBufferNeverRecovered) {
  TempDir dir;
  BufferOptions o = small(dir, GetParam());
  o.high_water_percent = 99;
  auto buffer = open_buffer(o);
  (void)fill(*buffer, 200, 4, 60'000);
  ASSERT_TRUE(stats_of(*buffer).counters.contains("map_full"));
  // The broker is back: everything is forwarded and deleted.
  std::vector<std::uint64_t> keys;
  ASSERT_FALSE(buffer->for_each_event(0, SIZE_MAX, [&](const StoredEvent& e) {
    keys.push_back(e.key);
    return true;
  }));
  ASSERT_FALSE(buffer->begin());
  EXPECT_EQ(buffer->erase(keys), keys.size());
  ASSERT_FALSE(buffer->commit());
  ASSERT_EQ(stats_of(*buffer).events, 0U);
  // New events are stored again, and kept.
  ASSERT_FALSE(buffer->begin());
  for (std::uint32_t seq = 0; seq < 10; ++seq) {
    EXPECT_EQ(buffer->add_event({9, 1, seq}, payload(seq), 1), Disposition::kStored) << seq;
  }
  ASSERT_FALSE(buffer->commit());
  const BufferStats s = stats_of(*buffer);
  EXPECT_EQ(s.events, 10U);
  EXPECT_GT(s.high_water_bytes, s.max_bytes / 2) << "the learned limit did not recover";
}

// Regression: a batch that failed mid-way (MDB_MAP_FULL in add_event) left no transaction, so
// in_batch() said false; ingest began a new batch for the next frame of the same loop turn, its
// commit succeeded, and the failed batch's events, still pending as "stored", were acked Ok:
// acked and lost (248 of 6136 in the 99 % refuse_new integration test).
TEST_P(BufferMapFull, RegressionAFailedBatchWasReplacedAndItsEventsAckedByTheNextCommit) {
  TempDir dir;
  BufferOptions o = small(dir, GetParam());
  o.high_water_percent = 99;
  auto buffer = open_buffer(o);
  ASSERT_FALSE(buffer->begin());
  bool failed = false;
  for (std::uint32_t seq = 0; seq < 40 && !failed; ++seq) {
    failed = buffer->add_event({7, 1, seq}, payload(seq, 60'000), seq) == Disposition::kBusy;
  }
  ASSERT_TRUE(failed) << "MDB_MAP_FULL never met";
  EXPECT_TRUE(buffer->in_batch());  // the failed batch is still open until commit() says so
  EXPECT_TRUE(buffer->begin());     // and nothing replaces it
  EXPECT_EQ(buffer->add_event({8, 1, 0}, payload(0), 1), Disposition::kBusy);
  EXPECT_TRUE(buffer->commit());  // the failure, for every event of the batch
  EXPECT_FALSE(buffer->in_batch());
  EXPECT_EQ(stats_of(*buffer).events, 0U);
  ASSERT_FALSE(buffer->begin());  // then batches work again
  buffer->abort();
}

INSTANTIATE_TEST_SUITE_P(Policies, BufferMapFull,
                         testing::Values(FullPolicy::kDropOldest, FullPolicy::kRefuseNew));

TEST(Buffer, DevicesBeyondTheBoundAreRefused) {
  TempDir dir;
  BufferOptions o = small(dir);
  o.max_devices = 2;
  auto buffer = open_buffer(o);
  ASSERT_FALSE(buffer->begin());
  EXPECT_EQ(buffer->add_event({1, 1, 0}, payload(0), 1), Disposition::kStored);
  EXPECT_TRUE(buffer->note_hello(2, 1, "fw", "board", 64, 1));
  EXPECT_EQ(buffer->add_event({3, 1, 0}, payload(0), 1), Disposition::kDeviceLimit);
  EXPECT_FALSE(buffer->note_hello(4, 1, "fw", "board", 64, 1));
  ASSERT_FALSE(buffer->commit());
  EXPECT_EQ(stats_of(*buffer).counters.at("device_limit"), 2U);
}

TEST(Buffer, RingDropsAreSummedAcrossBoots) {
  TempDir dir;
  auto buffer = open_buffer(small(dir));
  ASSERT_FALSE(buffer->begin());
  buffer->note_ring_dropped(5, 1, 3);
  buffer->note_ring_dropped(5, 1, 3);  // same running count: nothing new
  buffer->note_ring_dropped(5, 1, 7);
  buffer->note_ring_dropped(5, 2, 2);  // new boot restarts the device's count
  ASSERT_FALSE(buffer->commit());
  const auto devices = std::get<std::vector<DeviceRecord>>(buffer->devices());
  ASSERT_EQ(devices.size(), 1U);
  EXPECT_EQ(devices[0].ring_dropped, 9U);
}

TEST(Buffer, AReaderSeesCommittedEventsWhileTheWriterRuns) {
  TempDir dir;
  auto writer = open_buffer(small(dir));
  ASSERT_FALSE(writer->begin());
  ASSERT_EQ(writer->add_event({7, 1, 0}, payload(0), 1), Disposition::kStored);
  ASSERT_FALSE(writer->commit());
  ASSERT_FALSE(writer->begin());
  ASSERT_EQ(writer->add_event({7, 1, 1}, payload(1), 1), Disposition::kStored);  // uncommitted
  BufferOptions ro = small(dir);
  ro.read_only = true;
  auto reader = open_buffer(ro);
  ASSERT_TRUE(reader);
  EXPECT_EQ(stats_of(*reader).events, 1U);
  ASSERT_FALSE(writer->commit());
  EXPECT_EQ(stats_of(*reader).events, 2U);
}

TEST(Buffer, EraseDeletesForwardedEventsAndSkipsOnesAlreadyGone) {
  TempDir dir;
  auto buffer = open_buffer(small(dir));
  ASSERT_FALSE(buffer->begin());
  for (std::uint32_t seq = 0; seq < 5; ++seq) {
    ASSERT_EQ(buffer->add_event({7, 1, seq}, payload(seq), 1), Disposition::kStored);
  }
  ASSERT_FALSE(buffer->commit());
  std::vector<std::uint64_t> keys;
  ASSERT_FALSE(buffer->for_each_event(0, 2, [&](const StoredEvent& e) {
    keys.push_back(e.key);
    return true;
  }));
  keys.push_back(999);  // never existed
  ASSERT_FALSE(buffer->begin());
  EXPECT_EQ(buffer->erase(keys), 2U);
  ASSERT_FALSE(buffer->commit());
  const BufferStats s = stats_of(*buffer);
  EXPECT_EQ(s.events, 3U);
  EXPECT_EQ(s.counters.at("forwarded"), 2U);
  EXPECT_EQ(ids_in(*buffer).front(), (EventId{7, 1, 2}));
  // A deleted event sent again by its device is still a duplicate: the window remembers it.
  ASSERT_FALSE(buffer->begin());
  EXPECT_EQ(buffer->add_event({7, 1, 0}, payload(0), 1), Disposition::kDuplicate);
  ASSERT_FALSE(buffer->commit());
}

TEST(Buffer, ReadOnlyOpenOfAMissingBufferSaysWhere) {
  BufferOptions o;
  o.dir = "/nonexistent/edge-buffer";
  o.read_only = true;
  auto opened = Buffer::open(o);
  ASSERT_TRUE(std::holds_alternative<BufferError>(opened));
  EXPECT_NE(std::get<BufferError>(opened).message.find("/nonexistent/edge-buffer"),
            std::string::npos);
}

// buffer.sync: the relaxed modes reach mdb_env_open, and the default is LMDB's full sync.
TEST(Buffer, TheSyncModeIsTheFlagLmdbOpensWith) {
  const auto flags_of = [](const Buffer& buffer) {
    const auto flags = buffer.env_flags();
    EXPECT_TRUE(std::holds_alternative<unsigned>(flags));
    return std::holds_alternative<unsigned>(flags) ? std::get<unsigned>(flags) : ~0U;
  };
  for (const auto& [sync, want] : {std::pair{BufferSync::kFull, 0U},
                                   std::pair{BufferSync::kNoMetaSync, unsigned{MDB_NOMETASYNC}},
                                   std::pair{BufferSync::kNoSync, unsigned{MDB_NOSYNC}}}) {
    TempDir dir;
    BufferOptions o = small(dir);
    o.sync = sync;
    auto buffer = open_buffer(o);
    ASSERT_TRUE(buffer);
    EXPECT_EQ(flags_of(*buffer) & (MDB_NOMETASYNC | MDB_NOSYNC), want) << to_string(sync);
    // Events still go in and read back (a process that stops keeps them in every mode).
    ASSERT_FALSE(buffer->begin());
    ASSERT_EQ(buffer->add_event({0xA1, 1, 0}, payload(0), 1), Disposition::kStored);
    ASSERT_FALSE(buffer->commit());
    buffer.reset();
    // edgectl's read-only open never asks for a weaker sync than it found.
    BufferOptions ro = small(dir);
    ro.read_only = true;
    ro.sync = BufferSync::kNoSync;
    auto reader = open_buffer(ro);
    ASSERT_TRUE(reader);
    EXPECT_EQ(flags_of(*reader) & (MDB_NOMETASYNC | MDB_NOSYNC), 0U) << to_string(sync);
    EXPECT_EQ(ids_in(*reader).size(), 1U);
  }
}

// ---- the rate log (sample_rates) ----------------------------------------------------------------

constexpr std::uint64_t kWall = 1'700'000'000'000'000ULL;  // a wall-clock time, microseconds

void store(Buffer& buffer, std::uint32_t first_seq, std::uint32_t count) {
  ASSERT_FALSE(buffer.begin());
  for (std::uint32_t seq = first_seq; seq < first_seq + count; ++seq) {
    ASSERT_EQ(buffer.add_event({7, 1, seq}, payload(seq), kWall), Disposition::kStored);
  }
  ASSERT_FALSE(buffer.commit());
}

std::vector<RateSample> rate_samples(const Buffer& buffer) {
  const BufferStats s = stats_of(buffer);
  return s.rate_log ? s.rate_log->samples : std::vector<RateSample>{};
}

TEST(BufferRateLog, APointPerIntervalWhileTotalsMoveAndNoneWhileQuiet) {
  TempDir dir;
  auto buffer = open_buffer(small(dir));
  ASSERT_TRUE(buffer);
  ASSERT_FALSE(buffer->sample_rates(kWall));  // the daemon's first call: a point at the start
  EXPECT_EQ(rate_samples(*buffer), (std::vector<RateSample>{{kWall, 0, 0}}));
  store(*buffer, 0, 10);
  ASSERT_FALSE(buffer->sample_rates(kWall + kRateSampleIntervalUs - 1));  // moved, not yet due
  EXPECT_EQ(rate_samples(*buffer).size(), 1U);
  ASSERT_FALSE(buffer->sample_rates(kWall + kRateSampleIntervalUs));
  EXPECT_EQ(rate_samples(*buffer).back(), (RateSample{kWall + kRateSampleIntervalUs, 10, 0}));
  // Quiet for ten minutes: no writes (the log on disk is unchanged)...
  for (std::uint64_t s = 10; s < 600; s += 5) {
    ASSERT_FALSE(buffer->sample_rates(kWall + s * 1'000'000));
  }
  EXPECT_EQ(rate_samples(*buffer).size(), 2U);
  // ...then traffic: a point marking the end of the quiet spell, and the new totals.
  store(*buffer, 10, 5);
  ASSERT_FALSE(buffer->sample_rates(kWall + 600'000'000));
  const auto log = rate_samples(*buffer);
  ASSERT_EQ(log.size(), 4U);
  EXPECT_EQ(log[2], (RateSample{kWall + 595'000'000, 10, 0}));
  EXPECT_EQ(log[3], (RateSample{kWall + 600'000'000, 15, 0}));
}

TEST(BufferRateLog, StaysBoundedWhateverTheUptime) {
  TempDir dir;
  auto buffer = open_buffer(small(dir));
  ASSERT_TRUE(buffer);
  for (std::uint32_t i = 0; i < 3 * kRateLogSamples; ++i) {
    store(*buffer, i, 1);
    ASSERT_FALSE(buffer->sample_rates(kWall + i * kRateSampleIntervalUs));
  }
  const auto log = rate_samples(*buffer);
  ASSERT_EQ(log.size(), kRateLogSamples);
  EXPECT_EQ(log.back().stored, 3 * kRateLogSamples);  // the newest kept, the oldest gone
  EXPECT_EQ(log.front().stored, 2 * kRateLogSamples + 1);
}

TEST(BufferRateLog, AClockThatWentBackStartsTheLogAgain) {
  TempDir dir;
  auto buffer = open_buffer(small(dir));
  ASSERT_TRUE(buffer);
  ASSERT_FALSE(buffer->sample_rates(kWall));
  store(*buffer, 0, 3);
  ASSERT_FALSE(buffer->sample_rates(kWall - 3600'000'000ULL));
  EXPECT_EQ(rate_samples(*buffer), (std::vector<RateSample>{{kWall - 3600'000'000ULL, 3, 0}}));
}

TEST(BufferRateLog, AReadOnlyReaderSeesTheLogTheMarkAndTheMeasuredEventSize) {
  TempDir dir;
  {
    auto buffer = open_buffer(small(dir, FullPolicy::kRefuseNew));
    ASSERT_TRUE(buffer);
    ASSERT_FALSE(buffer->sample_rates(kWall));
    store(*buffer, 0, 200);
    ASSERT_FALSE(buffer->sample_rates(kWall + kRateSampleIntervalUs));
  }
  BufferOptions ro;
  ro.dir = dir.path();
  ro.read_only = true;
  ro.high_water_percent = 80;  // the reader's guess; the daemon's recorded mark wins
  auto reader = open_buffer(ro);
  ASSERT_TRUE(reader);
  const BufferStats s = stats_of(*reader);
  ASSERT_TRUE(s.rate_log);
  EXPECT_EQ(s.rate_log->policy, 1);
  EXPECT_EQ(s.high_water_bytes, (1U << 20U) / 2);  // small(): 50 %
  EXPECT_EQ(s.rate_log->samples.back().stored, 200U);
  // 200 events of 232-byte records: a bit over their size each, well under a page.
  EXPECT_GT(s.rate_log->bytes_per_event, 232U);
  EXPECT_LT(s.rate_log->bytes_per_event, 400U);
  EXPECT_EQ(s.events_bytes / s.events, s.rate_log->bytes_per_event);
}

TEST(BufferRateLog, ABufferWithoutTheLogReadsWithoutRates) {
  TempDir dir;
  {
    auto buffer = open_buffer(small(dir));
    ASSERT_TRUE(buffer);
    store(*buffer, 0, 3);  // never sampled
  }
  BufferOptions ro;
  ro.dir = dir.path();
  ro.read_only = true;
  auto reader = open_buffer(ro);
  ASSERT_TRUE(reader);
  const BufferStats s = stats_of(*reader);
  EXPECT_EQ(s.events, 3U);
  EXPECT_FALSE(s.rate_log);
  EXPECT_EQ(s.high_water_bytes, (1U << 20U) * 80 / 100);  // the reader's configured share
}

// A buffer written before the "meta" database existed (three databases only).
TEST(BufferRateLog, ABufferFromBeforeTheMetaDatabaseStillOpensReadOnly) {
  TempDir dir;
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 4), 0);
  ASSERT_EQ(mdb_env_open(env, dir.path().c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  for (const char* name : {"events", "devices", "counters"}) {
    MDB_dbi dbi = 0;
    ASSERT_EQ(mdb_dbi_open(txn, name, MDB_CREATE, &dbi), 0);
  }
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  BufferOptions ro;
  ro.dir = dir.path();
  ro.read_only = true;
  auto reader = open_buffer(ro);
  ASSERT_TRUE(reader);
  const BufferStats s = stats_of(*reader);
  EXPECT_EQ(s.events, 0U);
  EXPECT_FALSE(s.rate_log);
}

// The buffer holds every event and device identity on disk: nobody but the gateway's user may
// read it, whatever umask the daemon was started with (the systemd unit sets UMask=0077; a
// shell may have 000). Sets the process umask for the test and restores it.
class BufferPermissions : public testing::Test {
 protected:
  void SetUp() override { old_umask_ = ::umask(0); }
  void TearDown() override { ::umask(old_umask_); }
  static unsigned mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777U;
  }

 private:
  mode_t old_umask_ = 0;
};

TEST_F(BufferPermissions, ANewDirectoryIs0700AndItsFiles0600UnderAPermissiveUmask) {
  TempDir dir;
  BufferOptions o = small(dir);
  o.dir = dir.path() + "/state";
  auto buffer = open_buffer(o);
  ASSERT_TRUE(buffer);
  ASSERT_FALSE(buffer->begin().has_value());
  ASSERT_EQ(buffer->add_event({0xA1, 1, 0}, payload(0), 1), Disposition::kStored);
  ASSERT_FALSE(buffer->commit().has_value());
  EXPECT_EQ(mode_of(o.dir), 0700U);
  EXPECT_EQ(mode_of(o.dir + "/data.mdb"), 0600U);
  EXPECT_EQ(mode_of(o.dir + "/lock.mdb"), 0600U);
}

TEST_F(BufferPermissions, AnExistingLooseDirectoryIsTightenedTo0700AtOpen) {
  TempDir dir;
  BufferOptions o = small(dir);
  o.dir = dir.path() + "/state";
  ASSERT_EQ(::mkdir(o.dir.c_str(), 0777), 0);
  ASSERT_EQ(mode_of(o.dir), 0777U) << "the umask was not 000";
  auto buffer = open_buffer(o);
  ASSERT_TRUE(buffer);
  EXPECT_EQ(mode_of(o.dir), 0700U);
  EXPECT_EQ(mode_of(o.dir + "/data.mdb"), 0600U);
  EXPECT_EQ(mode_of(o.dir + "/lock.mdb"), 0600U);
}

}  // namespace
}  // namespace edge::gateway
