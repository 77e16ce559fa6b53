// The forwarder against a real Mosquitto, driven with a simulated monotonic clock: poll(now_us)
// takes the time from the caller, so an hour of outage passes in a second of real time while
// every connect attempt is a real one.
#include "edge/gateway/forwarder.h"

#include <poll.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>

#include "edge/gateway/mosquitto_process.h"
#include "edge/gateway/temp_dir.h"
#include "edge/wire/messages.h"
#include "upstream_message.h"

namespace edge::gateway {
namespace {

constexpr std::uint64_t kSecond = 1'000'000;

std::unique_ptr<Buffer> open_buffer(const TempDir& dir) {
  BufferOptions options;
  options.dir = dir.path() + "/state";
  options.max_bytes = 64ULL << 20U;
  auto opened = Buffer::open(options);
  if (auto* error = std::get_if<BufferError>(&opened)) {
    ADD_FAILURE() << error->message;
    return nullptr;
  }
  return std::move(std::get<std::unique_ptr<Buffer>>(opened));
}

// Events (device, boot 1, seq first_seq...) received at `received_us` (wall clock; 0: 1970).
void add_events(Buffer& buffer, std::uint64_t device, std::uint32_t count,
                std::uint64_t received_us = 0, std::uint32_t first_seq = 0) {
  flatbuffers::FlatBufferBuilder fbb;
  ASSERT_FALSE(buffer.begin().has_value());
  for (std::uint32_t seq = first_seq; seq < first_seq + count; ++seq) {
    wire::EventFields fields;
    fields.id = {device, 1, seq};
    fields.mono_us = seq;
    fields.sensor = "tmp105";
    fields.reading = wire::ReadingValue::temperature(21.5F);
    const auto bytes = wire::encode_event(fbb, fields);
    ASSERT_TRUE(bytes.ok());
    ASSERT_EQ(buffer.add_event(fields.id, bytes.value(), received_us), Disposition::kStored);
  }
  ASSERT_FALSE(buffer.commit().has_value());
}

std::uint64_t wall_us_now() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// A forwarder on a Mosquitto started for the test, with `configure` applied to its options.
struct Rig {
  TempDir dir;
  std::unique_ptr<Buffer> buffer = open_buffer(dir);
  std::uint16_t port = free_loopback_port();
  MosquittoProcess broker{dir.path(), port};
  std::unique_ptr<Forwarder> forwarder;

  explicit Rig(const std::function<void(UpstreamConfig&)>& configure) {
    EXPECT_EQ(broker.start(), "");
    ForwarderOptions options;
    options.upstream.uri = "tcp://127.0.0.1:" + std::to_string(port);
    options.upstream.status_interval_s = 0;
    configure(options.upstream);
    auto created = Forwarder::create(*buffer, options);
    if (auto* f = std::get_if<std::unique_ptr<Forwarder>>(&created)) {
      forwarder = std::move(*f);
    } else {
      ADD_FAILURE() << std::get<std::string>(created);
    }
  }
};

std::uint64_t buffered(const Buffer& buffer) {
  auto stats = buffer.stats();
  return std::holds_alternative<BufferStats>(stats) ? std::get<BufferStats>(stats).events : ~0ULL;
}

// Waits (real time) until Paho reports something, at most `timeout_ms`.
void wait_for_report(const Forwarder& forwarder, int timeout_ms) {
  pollfd fd{forwarder.wake_fd(), POLLIN, 0};
  ::poll(&fd, 1, timeout_ms);
}

TEST(ForwarderSimulatedTime, BrokerUpAnHourLaterDrainsTheBacklogWithBoundedRetries) {
  TempDir dir;
  auto buffer = open_buffer(dir);
  ASSERT_TRUE(buffer);
  add_events(*buffer, 0xA1, 300);
  add_events(*buffer, 0xA2, 300);

  const std::uint16_t port = free_loopback_port();
  ForwarderOptions options;
  options.upstream.uri = "tcp://127.0.0.1:" + std::to_string(port);
  options.upstream.backoff_min_ms = 100;
  options.upstream.backoff_max_ms = 30'000;
  options.upstream.status_interval_s = 0;
  auto created = Forwarder::create(*buffer, options);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<Forwarder>>(created));
  Forwarder& forwarder = *std::get<std::unique_ptr<Forwarder>>(created);

  // One simulated hour with nobody listening: every due attempt really connects and is refused.
  std::uint64_t now = 1000 * kSecond;
  const std::uint64_t broker_up_at = now + 3600 * kSecond;
  std::uint64_t longest_wait = 0;
  while (now < broker_up_at) {
    const std::uint64_t wait = forwarder.poll(now);
    if (wait == 0) {
      wait_for_report(forwarder, 5000);  // a connect attempt is under way
      continue;
    }
    longest_wait = std::max(longest_wait, wait);
    now += wait;
  }
  const ForwarderStats down = forwarder.stats();
  EXPECT_FALSE(down.connected);
  EXPECT_EQ(down.connects, 0U);
  // Capped exponential backoff with jitter over the upper half (15..30 s once capped): about
  // 120..240 attempts in the hour, never a tight loop, never giving up.
  EXPECT_GE(down.connect_failures, 110U);
  EXPECT_LE(down.connect_failures, 260U);
  EXPECT_LE(longest_wait, 30 * kSecond);
  EXPECT_EQ(buffered(*buffer), 600U) << "the backlog is kept while the broker is away";
  std::printf("simulated hour without a broker: %llu connect attempts, longest wait %llu ms\n",
              static_cast<unsigned long long>(down.connect_failures),
              static_cast<unsigned long long>(longest_wait / 1000U));

  // The broker comes back: the next attempt (at most backoff_max later) connects and drains.
  MosquittoProcess broker(dir.path(), port);
  ASSERT_EQ(broker.start(), "");
  const std::uint64_t came_up = now;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (buffered(*buffer) != 0 && std::chrono::steady_clock::now() < deadline) {
    const std::uint64_t wait = forwarder.poll(now);
    if (wait == 0) {
      wait_for_report(forwarder, 100);
      now += 1000;  // time also passes while the broker works
    } else {
      now += wait;
    }
  }
  EXPECT_EQ(buffered(*buffer), 0U);
  const ForwarderStats up = forwarder.stats();
  EXPECT_TRUE(up.connected);
  EXPECT_EQ(up.connects, 1U);
  EXPECT_EQ(up.acked_events, 600U);
  EXPECT_LE(now - came_up, 31 * kSecond) << "reconnected within one capped backoff";
}

// Grouped deletes at their bound: with the clock standing still, acknowledged events wait for
// their delete until kDeleteGroupEvents of them are waiting, are never published twice
// meanwhile, and the rest go once the oldest has waited kDeleteGroupUs.
TEST(ForwarderSimulatedTime, DeletesAcknowledgedEventsInGroupsAtTheBound) {
  Rig rig([](UpstreamConfig&) {});
  ASSERT_TRUE(rig.forwarder);
  std::unique_ptr<Buffer>& buffer = rig.buffer;
  std::unique_ptr<Forwarder>& forwarder = rig.forwarder;
  const std::uint32_t total = kDeleteGroupEvents + 300;
  add_events(*buffer, 0xB1, total);

  const std::uint64_t now = 1000 * kSecond;  // frozen: no group ever becomes due by age
  std::uint64_t acked_at_first_delete = 0;   // PUBACKs received when the first delete ran
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (forwarder->stats().acked < total && std::chrono::steady_clock::now() < deadline) {
    forwarder->poll(now);
    const ForwarderStats s = forwarder->stats();
    if (acked_at_first_delete == 0 && s.acked_events != 0) {
      acked_at_first_delete = s.acked;
    }
    wait_for_report(*forwarder, 100);
  }
  forwarder->poll(now);
  const ForwarderStats acked = forwarder->stats();
  ASSERT_EQ(acked.acked, total);
  EXPECT_EQ(acked.published, total) << "an acknowledged event waiting for its delete was resent";
  EXPECT_GE(acked_at_first_delete, kDeleteGroupEvents) << "deleted before the group was full";
  EXPECT_GE(acked.acked_events, kDeleteGroupEvents) << "the full group was deleted at once";
  EXPECT_LT(acked.acked_events, total) << "the rest waits for its age";
  EXPECT_EQ(buffered(*buffer), total - acked.acked_events);

  forwarder->poll(now + kDeleteGroupUs);
  EXPECT_EQ(buffered(*buffer), 0U) << "the last group goes once it has waited kDeleteGroupUs";
  EXPECT_EQ(forwarder->stats().acked_events, total);
  EXPECT_EQ(forwarder->stats().published, total);
}

// An ingest batch left open (the loop's commit_linger_us) holds the deletes back: nothing is
// lost or resent meanwhile, publishing pauses once kMaxPendingDeletes events wait, and all of
// them are deleted once the batch is committed.
TEST(ForwarderSimulatedTime, DeletesWaitForAnOpenIngestBatchAndPublishingPausesAtTheBound) {
  Rig rig([](UpstreamConfig&) {});
  ASSERT_TRUE(rig.forwarder);
  std::unique_ptr<Buffer>& buffer = rig.buffer;
  std::unique_ptr<Forwarder>& forwarder = rig.forwarder;
  const std::uint32_t total = kMaxPendingDeletes + 500;
  add_events(*buffer, 0xB3, total);

  std::uint64_t now = 1000 * kSecond;
  forwarder->poll(now);
  ASSERT_FALSE(buffer->begin().has_value());  // an ingest batch, open from here on
  std::uint64_t last_acked = ~0ULL;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    now += forwarder->poll(now) + 1;  // time passes: every group is due
    const ForwarderStats s = forwarder->stats();
    if (s.acked == last_acked && s.in_flight == 0 && s.acked != 0) {
      break;  // nothing more in flight and nothing new published: paused
    }
    last_acked = s.acked;
    wait_for_report(*forwarder, 200);
  }
  const ForwarderStats paused = forwarder->stats();
  EXPECT_EQ(paused.acked_events, 0U) << "deleted inside the ingest batch";
  EXPECT_GE(paused.published, kMaxPendingDeletes);
  EXPECT_LT(paused.published, kMaxPendingDeletes + UpstreamConfig{}.max_in_flight + 1)
      << "published on past kMaxPendingDeletes";
  EXPECT_EQ(paused.published, paused.acked) << "an event waiting for its delete was resent";

  ASSERT_FALSE(buffer->commit().has_value());  // the loop commits its batch
  const auto drained_by = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (buffered(*buffer) != 0 && std::chrono::steady_clock::now() < drained_by) {
    now += forwarder->poll(now) + 1;
    wait_for_report(*forwarder, 100);
  }
  EXPECT_EQ(buffered(*buffer), 0U);
  EXPECT_EQ(forwarder->stats().acked_events, total);
  EXPECT_EQ(forwarder->stats().published, total) << "nothing was published twice";
}

// Polls at simulated time `now` (standing still) until the forwarder is connected, at most 10 s
// of real time.
::testing::AssertionResult connect_at(Forwarder& forwarder, std::uint64_t now) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!forwarder.stats().connected) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return ::testing::AssertionFailure() << "not connected after 10 s";
    }
    forwarder.poll(now);
    wait_for_report(forwarder, 100);
  }
  return ::testing::AssertionSuccess();
}

// Runs the forwarder for `sim_us` of simulated time in 10 ms steps (acks arrive in real time).
void run_for(Forwarder& forwarder, std::uint64_t& now, std::uint64_t sim_us) {
  for (const std::uint64_t end = now + sim_us; now < end; now += 10'000) {
    forwarder.poll(now);
    wait_for_report(forwarder, 3);
  }
}

// upstream.drain_rate_events_s at its bound: the bucket's burst at once, then the rate.
TEST(ForwarderSimulatedTime, PacedDrainKeepsToTheEventRateAfterTheBurst) {
  Rig rig([](UpstreamConfig& up) {
    up.drain_rate_events_s = 200;
    up.drain_burst_ms = 500;  // a burst of 100 events
  });
  ASSERT_TRUE(rig.forwarder);
  add_events(*rig.buffer, 0xC1, 2000);
  std::uint64_t now = 1000 * kSecond;
  ASSERT_TRUE(connect_at(*rig.forwarder, now));
  // Two simulated seconds: the burst (100) and 2 s of the rate (400), however fast the
  // broker acks; then two more seconds at the rate alone.
  run_for(*rig.forwarder, now, 2 * kSecond);
  const std::uint64_t first = rig.forwarder->stats().published;
  EXPECT_GE(first, 100U + 400U - 10U);
  EXPECT_LE(first, 100U + 400U + 2U);
  run_for(*rig.forwarder, now, 2 * kSecond);
  const std::uint64_t second = rig.forwarder->stats().published - first;
  EXPECT_GE(second, 400U - 10U);
  EXPECT_LE(second, 400U + 2U);
  std::printf("paced at 200 ev/s, burst 100: %llu in the first 2 s, %llu in the next 2 s\n",
              static_cast<unsigned long long>(first), static_cast<unsigned long long>(second));
}

// upstream.drain_rate_bytes_s: payload bytes per second, one-event messages.
TEST(ForwarderSimulatedTime, PacedDrainKeepsToTheByteRate) {
  flatbuffers::FlatBufferBuilder fbb;
  wire::EventFields fields;
  fields.id = {0xC2, 1, 7};  // no default-valued field: the size of every stored event
  fields.mono_us = 7;
  fields.sensor = "tmp105";
  fields.reading = wire::ReadingValue::temperature(21.5F);
  const std::size_t event_bytes = wire::encode_event(fbb, fields).value().size();
  Rig rig([&](UpstreamConfig& up) {
    up.drain_rate_bytes_s = static_cast<std::uint32_t>(event_bytes * 100);  // 100 events/s
    up.drain_burst_ms = 100;                                                // 10 events
  });
  ASSERT_TRUE(rig.forwarder);
  add_events(*rig.buffer, 0xC2, 1000, 0, 1);
  std::uint64_t now = 1000 * kSecond;
  ASSERT_TRUE(connect_at(*rig.forwarder, now));
  run_for(*rig.forwarder, now, 3 * kSecond);
  const std::uint64_t published = rig.forwarder->stats().published;
  EXPECT_GE(published, 10U + 300U - 5U);
  EXPECT_LE(published, 10U + 300U + 2U);
}

// upstream.message_expiry_s: what waited longer is dropped, counted and deleted, never sent;
// the rest is forwarded.
TEST(ForwarderSimulatedTime, EventsOlderThanTheExpiryAreCountedAndDeletedNotSent) {
  Rig rig([](UpstreamConfig& up) { up.message_expiry_s = 3600; });
  ASSERT_TRUE(rig.forwarder);
  const std::uint64_t now_wall = wall_us_now();
  add_events(*rig.buffer, 0xC3, 40, now_wall - 3601 * kSecond);      // expired
  add_events(*rig.buffer, 0xC3, 30, now_wall - 3500 * kSecond, 40);  // not yet
  add_events(*rig.buffer, 0xC4, 25, now_wall - 7200 * kSecond);      // expired
  std::uint64_t now = 1000 * kSecond;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (buffered(*rig.buffer) != 0 && std::chrono::steady_clock::now() < deadline) {
    now += rig.forwarder->poll(now) + 1;
    wait_for_report(*rig.forwarder, 50);
  }
  EXPECT_EQ(buffered(*rig.buffer), 0U);
  const ForwarderStats s = rig.forwarder->stats();
  EXPECT_EQ(s.expired, 65U);
  EXPECT_EQ(s.published, 30U);
  EXPECT_EQ(s.acked_events, 30U);
  const auto stats = rig.buffer->stats();
  ASSERT_TRUE(std::holds_alternative<BufferStats>(stats));
  EXPECT_EQ(std::get<BufferStats>(stats).counters.at("expired"), 65U);
}

std::uint64_t buffered_of(const Buffer& buffer, std::uint64_t device) {
  std::uint64_t n = 0;
  (void)buffer.for_each_event(0, SIZE_MAX, [&](const StoredEvent& e) {
    n += e.record.device == device ? 1U : 0U;
    return true;
  });
  return n;
}

// live_first: events arriving while a backlog drains go out ahead of it; with the default
// (strict order) they wait for the whole backlog. Either way everything goes once.
void check_live_first(bool live_first) {
  Rig rig([&](UpstreamConfig& up) {
    up.live_first = live_first;
    up.drain_rate_events_s = 2000;  // slow the backlog down: 3,000 events take 1.5 s
    up.drain_burst_ms = 50;
  });
  ASSERT_TRUE(rig.forwarder);
  add_events(*rig.buffer, 0xD1, 3000);  // the backlog
  std::uint64_t now = 1000 * kSecond;
  ASSERT_TRUE(connect_at(*rig.forwarder, now));
  run_for(*rig.forwarder, now, 100'000);
  add_events(*rig.buffer, 0xD2, 20, wall_us_now());  // live events
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (buffered_of(*rig.buffer, 0xD2) != 0 && std::chrono::steady_clock::now() < deadline) {
    run_for(*rig.forwarder, now, 10'000);
  }
  ASSERT_EQ(buffered_of(*rig.buffer, 0xD2), 0U);
  const std::uint64_t backlog_left = buffered_of(*rig.buffer, 0xD1);
  if (live_first) {
    EXPECT_GT(backlog_left, 2000U) << "the live events waited behind the backlog";
  } else {
    EXPECT_EQ(backlog_left, 0U) << "strict order: the backlog goes first";
  }
  while (buffered(*rig.buffer) != 0 && std::chrono::steady_clock::now() < deadline) {
    run_for(*rig.forwarder, now, 10'000);
  }
  EXPECT_EQ(buffered(*rig.buffer), 0U);
  EXPECT_EQ(rig.forwarder->stats().published, 3020U) << "an event went twice or not at all";
  // Drained: new events keep flowing (strict order again).
  add_events(*rig.buffer, 0xD3, 5, wall_us_now());
  while (buffered(*rig.buffer) != 0 && std::chrono::steady_clock::now() < deadline) {
    run_for(*rig.forwarder, now, 10'000);
  }
  EXPECT_EQ(buffered(*rig.buffer), 0U);
}

TEST(ForwarderSimulatedTime, LiveFirstPublishesNewEventsAheadOfTheBacklog) {
  check_live_first(true);
}

TEST(ForwarderSimulatedTime, StrictOrderPublishesTheBacklogFirst) {
  check_live_first(false);
}

// What the broker acknowledged is deleted when the forwarder stops, not sent again next time.
TEST(ForwarderSimulatedTime, StoppingDeletesWhatWasAcknowledged) {
  Rig rig([](UpstreamConfig&) {});
  ASSERT_TRUE(rig.forwarder);
  std::unique_ptr<Buffer>& buffer = rig.buffer;
  std::unique_ptr<Forwarder>& forwarder = rig.forwarder;
  add_events(*buffer, 0xB2, 50);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (forwarder->stats().acked < 50 && std::chrono::steady_clock::now() < deadline) {
    forwarder->poll(1000 * kSecond);
    wait_for_report(*forwarder, 100);
  }
  forwarder->poll(1000 * kSecond);
  ASSERT_EQ(forwarder->stats().acked, 50U);
  EXPECT_EQ(buffered(*buffer), 50U) << "the group is not due yet";
  forwarder.reset();
  EXPECT_EQ(buffered(*buffer), 0U);
}

TEST(Forwarder, RefusesATopicTemplateItCannotRender) {
  TempDir dir;
  auto buffer = open_buffer(dir);
  ASSERT_TRUE(buffer);
  ForwarderOptions options;
  options.upstream.uri = "tcp://127.0.0.1:1883";
  options.upstream.topic = "edge/{site}/{device}";
  auto created = Forwarder::create(*buffer, options);
  ASSERT_TRUE(std::holds_alternative<std::string>(created));
  EXPECT_NE(std::get<std::string>(created).find("upstream.topic"), std::string::npos);
}

// Every batch the forwarder can build stays under batch_max_bytes and verifies as the consumer
// will verify it, each event whole and in order.
TEST(UpstreamBatch, StaysUnderTheByteBoundAndCarriesEveryEvent) {
  flatbuffers::FlatBufferBuilder event_fbb;
  flatbuffers::FlatBufferBuilder batch_fbb;
  for (const std::size_t max_bytes : {512U, 1000U, 5000U, 131072U}) {
    Outgoing out;
    std::uint32_t seq = 0;
    for (;; ++seq) {
      wire::EventFields fields;
      fields.id = {0xB1, 3, seq};
      fields.sensor = seq % 2 == 0 ? "tmp105" : "a-longer-name";
      fields.reading = wire::ReadingValue::pressure(101325.0F + static_cast<float>(seq));
      const auto bytes = wire::encode_event(event_fbb, fields);
      ASSERT_TRUE(bytes.ok());
      StoredEvent stored{seq, {0xB1, fields.id, 0, bytes.value()}};
      if (!add_to_batch(out, stored, wire::kSchemaVersion, fields.sensor, max_bytes)) {
        break;
      }
    }
    ASSERT_GT(out.keys.size(), 1U);
    const auto encoded = encode_upstream_batch(batch_fbb, out);
    EXPECT_LE(encoded.size(), max_bytes) << "events: " << out.keys.size();
    // A full batch is not much smaller than the bound: the overhead estimate is not wasteful.
    EXPECT_GT(encoded.size(), max_bytes * 3 / 4);
    const AlignedCopy copy(encoded);
    const auto batch = wire::verify_upstream_batch(copy.bytes());
    ASSERT_TRUE(batch.ok()) << wire::to_string(batch.error());
    ASSERT_EQ(batch.value()->events()->size(), out.keys.size());
    EXPECT_EQ(batch.value()->device(), 0xB1U);
    for (std::uint32_t i = 0; i < out.keys.size(); ++i) {
      const auto* data = batch.value()->events()->Get(i)->data();
      const auto event = wire::verify_event({data->data(), data->size()});
      ASSERT_TRUE(event.ok());
      EXPECT_EQ(wire::event_id_of(*event.value()).seq, i);
    }
  }
}

TEST(StatusJson, ReportsEveryFigureAndSumsDropsAndRefusals) {
  StatusFigures figures{.state = "online", .gateway_id = "gw"};
  figures.backlog = 7;
  figures.devices = 2;
  figures.counters = {{"forwarded", 10},      {"dropped_oldest", 3}, {"ring_dropped", 4},
                      {"rejected.135", 5},    {"duplicates", 6},     {"gaps", 1},
                      {"refused.bad_crc", 2}, {"refused.invalid", 1}};
  const auto j = nlohmann::json::parse(status_json(figures));
  EXPECT_EQ(j["state"], "online");
  EXPECT_EQ(j["backlog"], 7);
  EXPECT_EQ(j["devices"], 2);
  EXPECT_EQ(j["forwarded"], 10);
  EXPECT_EQ(j["dropped"]["oldest_evicted"], 3);
  EXPECT_EQ(j["dropped"]["device_ring"], 4);
  EXPECT_EQ(j["dropped"]["rejected_upstream"], 5);
  EXPECT_EQ(j["duplicates"], 6);
  EXPECT_EQ(j["gaps"], 1);
  EXPECT_EQ(j["refused_frames"], 3);
  EXPECT_EQ(j["dropped"]["expired"], 0);
  EXPECT_FALSE(j.contains("offline_headroom")) << "no outlook given, none shown";

  figures.counters["expired"] = 8;
  BufferOutlook outlook;
  outlook.ingest_per_s = 200.0;
  outlook.oldest_age_s = 12.5;
  outlook.headroom = {.kind = HeadroomKind::kEstimate, .seconds = 1664.0};
  figures.outlook = outlook;
  const auto k = nlohmann::json::parse(status_json(figures));
  EXPECT_EQ(k["dropped"]["expired"], 8);
  EXPECT_EQ(k["ingest_rate"], 200.0);
  EXPECT_EQ(k["oldest_age_s"], 12.5);
  EXPECT_EQ(k["offline_headroom_s"], 1664.0);
  EXPECT_TRUE(k["drain_rate"].is_null()) << "unknown rates are null, not 0";
}

}  // namespace
}  // namespace edge::gateway
