#include "edge/gateway/ingest.h"

#include <stdlib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "edge/gateway/aligned_copy.h"
#include "edge/gateway/link_auth.h"
#include "edge/gateway/temp_dir.h"

namespace edge::gateway {
namespace {

struct ReceivedAck {
  SessionId session;
  std::uint64_t device;
  std::uint32_t boot;
  wire::AckStatus status;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges;
  std::uint32_t retry_after_ms;
};

// Decodes every frame the ingest sends, as a device would.
class RecordingSink : public AckSink {
 public:
  void send_frame(SessionId session, std::span<const std::uint8_t> frame) override {
    decoder_.feed(
        frame,
        [&](std::span<const std::uint8_t> payload) {
          const auto message = wire::verify_link_message(payload);
          ASSERT_TRUE(message.ok());
          const wire::Ack* ack = message.value()->body_as_Ack();
          ASSERT_NE(ack, nullptr);
          ReceivedAck r{session, ack->device(),        ack->boot(), ack->status(),
                        {},      ack->retry_after_ms()};
          if (ack->selective() != nullptr) {
            for (const wire::SeqRange* range : *ack->selective()) {
              r.ranges.emplace_back(range->first(), range->last());
            }
          }
          acks.push_back(r);
        },
        [](link::FrameError) { FAIL() << "ingest sent a bad frame"; });
  }
  std::vector<ReceivedAck> acks;

 private:
  link::FrameDecoderBuffer<> decoder_;
};

// An 8-aligned LinkMessage payload, as the frame decoder delivers it.
using Payload = AlignedCopy;

Payload batch(std::uint64_t device, std::uint32_t boot, const std::vector<std::uint32_t>& seqs,
              std::uint16_t event_version = wire::kSchemaVersion, std::uint64_t event_device = 0) {
  flatbuffers::FlatBufferBuilder event_fbb;
  std::vector<std::vector<std::uint8_t>> stored;
  for (const std::uint32_t seq : seqs) {
    wire::EventFields f;
    f.id = {event_device != 0 ? event_device : device, boot, seq};
    f.sensor = "tmp105";
    f.reading = wire::ReadingValue::temperature(20.0F);
    f.schema_version = event_version;
    const auto e = wire::encode_event(event_fbb, f);
    stored.emplace_back(e.value().begin(), e.value().end());
  }
  std::vector<std::span<const std::uint8_t>> spans(stored.begin(), stored.end());
  flatbuffers::FlatBufferBuilder fbb;
  return Payload(wire::encode_batch(fbb, device, spans, 0).value());
}

class IngestTest : public testing::Test {
 protected:
  void SetUp() override { open(FullPolicy::kDropOldest, 64U << 20U); }
  void open(FullPolicy policy, std::uint64_t max_bytes) {
    ingest_.reset();
    buffer_.reset();
    BufferOptions o;
    o.dir = dir_.path();
    o.max_bytes = max_bytes;
    o.policy = policy;
    o.high_water_percent = 50;
    auto opened = Buffer::open(o);
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<Buffer>>(opened));
    buffer_ = std::move(std::get<std::unique_ptr<Buffer>>(opened));
    ingest_ = std::make_unique<Ingest>(*buffer_, sink_, IngestOptions{4096, 250, 4096});
  }
  BufferStats stats() { return std::get<BufferStats>(buffer_->stats()); }

  TempDir dir_;
  RecordingSink sink_;
  std::unique_ptr<Buffer> buffer_;
  std::unique_ptr<Ingest> ingest_;
};

TEST_F(IngestTest, AcksOnlyAfterTheCommitAndCoversExactlyTheBatch) {
  ingest_->on_frame(1, "tcp:test", batch(0xA1, 3, {0, 1, 2}).bytes(), 100);
  EXPECT_TRUE(sink_.acks.empty()) << "acked before the commit";
  EXPECT_EQ(stats().events, 0U);
  ingest_->flush(100);
  EXPECT_EQ(stats().events, 3U);
  ASSERT_EQ(sink_.acks.size(), 1U);
  EXPECT_EQ(sink_.acks[0].status, wire::AckStatus::Ok);
  EXPECT_EQ(sink_.acks[0].device, 0xA1U);
  EXPECT_EQ(sink_.acks[0].boot, 3U);
  EXPECT_EQ(sink_.acks[0].ranges, (std::vector<std::pair<std::uint32_t, std::uint32_t>>{{0, 2}}));
}

TEST_F(IngestTest, AResendAfterALostAckIsAckedAgainButStoredOnce) {
  ingest_->on_frame(1, "tcp:test", batch(0xA1, 3, {0, 1}).bytes(), 100);
  ingest_->flush(100);
  ingest_->on_frame(2, "tcp:test", batch(0xA1, 3, {0, 1, 2}).bytes(), 200);
  ingest_->flush(200);
  EXPECT_EQ(stats().events, 3U);
  EXPECT_EQ(stats().counters.at("duplicates"), 2U);
  ASSERT_EQ(sink_.acks.size(), 2U);
  EXPECT_EQ(sink_.acks[1].session, 2U);
  EXPECT_EQ(sink_.acks[1].ranges, (std::vector<std::pair<std::uint32_t, std::uint32_t>>{{0, 2}}));
}

TEST_F(IngestTest, BadMessagesAreCountedPerReasonAndTheNextGoodOneAccepted) {
  flatbuffers::FlatBufferBuilder fbb;
  wire::EventFields f;
  f.id = {0xA1, 1, 0};
  const Payload event_not_link(wire::encode_event(fbb, f).value());
  ingest_->on_frame(1, "serial:/dev/x", event_not_link.bytes(), 1);
  std::vector<std::uint8_t> garbage(64, 0x5A);
  std::memcpy(garbage.data() + 4, "ELNK", 4);
  const Payload invalid(garbage);
  ingest_->on_frame(1, "serial:/dev/x", invalid.bytes(), 2);
  ingest_->on_frame_error(1, "serial:/dev/x", link::FrameError::kBadCrc, 3);
  ingest_->on_frame(1, "serial:/dev/x", batch(0xA1, 1, {0}).bytes(), 4);
  ingest_->flush(5);
  const auto& refused = ingest_->refused().at("serial:/dev/x");
  EXPECT_EQ(refused.at("bad_identifier"), 1U);
  EXPECT_EQ(refused.at("invalid_flatbuffer"), 1U);
  EXPECT_EQ(refused.at("bad_crc"), 1U);
  EXPECT_EQ(stats().events, 1U);
  EXPECT_EQ(stats().counters.at("refused.bad_crc"), 1U);  // persisted with the batch
  ASSERT_EQ(sink_.acks.size(), 1U);
  EXPECT_EQ(sink_.acks[0].status, wire::AckStatus::Ok);
}

TEST_F(IngestTest, AFutureMajorEventIsAckedInvalidSoTheDeviceStopsResendingIt) {
  ingest_->on_frame(1, "tcp:test", batch(0xA1, 1, {0}, 0x0200).bytes(), 1);
  ingest_->on_frame(1, "tcp:test", batch(0xA1, 1, {1}).bytes(), 1);
  ingest_->flush(1);
  EXPECT_EQ(stats().events, 1U);
  EXPECT_EQ(ingest_->refused().at("tcp:test").at("unsupported_version"), 1U);
  ASSERT_EQ(sink_.acks.size(), 2U);
  EXPECT_EQ(sink_.acks[0].status, wire::AckStatus::Invalid);
  EXPECT_EQ(sink_.acks[0].ranges, (std::vector<std::pair<std::uint32_t, std::uint32_t>>{{0, 0}}));
  EXPECT_EQ(sink_.acks[1].status, wire::AckStatus::Ok);
}

TEST_F(IngestTest, AnEventOfAnotherDeviceInABatchIsRefused) {
  ingest_->on_frame(1, "tcp:test", batch(0xA1, 1, {0}, wire::kSchemaVersion, 0xB2).bytes(), 1);
  ingest_->flush(1);
  EXPECT_EQ(stats().events, 0U);
  EXPECT_EQ(ingest_->refused().at("tcp:test").at("device_mismatch"), 1U);
  EXPECT_TRUE(sink_.acks.empty());
}

TEST_F(IngestTest, RefuseNewWhenFullAcksBusyWithRetryAfter) {
  open(FullPolicy::kRefuseNew, 1U << 20U);
  std::uint32_t seq = 0;
  while (sink_.acks.empty() || sink_.acks.back().status == wire::AckStatus::Ok) {
    ASSERT_LT(seq, 20'000U) << "never became full";
    ingest_->on_frame(1, "tcp:test",
                      batch(0xA1, 1, {seq, seq + 1, seq + 2, seq + 3, seq + 4, seq + 5}).bytes(),
                      seq);
    ingest_->flush(seq);
    seq += 6;
  }
  const ReceivedAck& busy = sink_.acks.back();
  EXPECT_EQ(busy.status, wire::AckStatus::Busy);
  EXPECT_EQ(busy.retry_after_ms, 250U);
  EXPECT_GT(stats().counters.at("refused_busy"), 0U);
}

TEST_F(IngestTest, HelloRegistersTheDevice) {
  flatbuffers::FlatBufferBuilder fbb;
  const Payload hello(wire::encode_hello(fbb, {0xC3, 4, "1.2.3", "lm3s6965evb", 64}).value());
  ingest_->on_frame(1, "tcp:test", hello.bytes(), 1);
  ingest_->flush(1);
  const auto devices = std::get<std::vector<DeviceRecord>>(buffer_->devices());
  ASSERT_EQ(devices.size(), 1U);
  EXPECT_EQ(devices[0].device, 0xC3U);
  EXPECT_EQ(devices[0].firmware, "1.2.3");
  EXPECT_EQ(devices[0].board, "lm3s6965evb");
  EXPECT_EQ(devices[0].hello_boot, 4U);
}

// ---- per-link rate limit (ingest.link_rate_events_s, ingest.link_burst_ms) ----

class IngestRateTest : public IngestTest {
 protected:
  // rate 1000 events/s, burst 500 ms: the bucket holds 500 events.
  static constexpr std::uint32_t kRate = 1000;
  static constexpr std::uint32_t kBurstMs = 500;
  void SetUp() override {
    IngestTest::SetUp();
    ingest_ = std::make_unique<Ingest>(
        *buffer_, sink_,
        IngestOptions{
            .busy_retry_ms = 250, .link_rate_events_s = kRate, .link_burst_ms = kBurstMs});
  }
  // Events acked Ok / Busy to `session` so far.
  std::uint64_t acked(SessionId session, wire::AckStatus status) const {
    std::uint64_t n = 0;
    for (const ReceivedAck& a : sink_.acks) {
      if (a.session == session && a.status == status) {
        for (const auto& [first, last] : a.ranges) {
          n += last - first + 1;
        }
      }
    }
    return n;
  }
};

TEST_F(IngestRateTest, AtRateAndBurstExactlyTheBucketPlusTheRateIsTakenOverTwoSeconds) {
  // One event every 100 us (10,000 events/s offered, ten times the rate) for 2 s of simulated
  // time, a commit every 100 ms. Taken by time t: the full bucket (500) plus everything the rate
  // refilled by then, floor(1000 * t): the last offer is at t = 1.9999 s.
  constexpr std::uint32_t kOffers = 20'000;
  for (std::uint32_t i = 0; i < kOffers; ++i) {
    const std::uint64_t now_us = 1'000'000 + std::uint64_t{i} * 100U;
    ingest_->on_frame(1, "tcp:flood", batch(0xA1, 1, {i}).bytes(), now_us);
    if (i % 1000 == 999) {
      ingest_->flush(now_us);
    }
  }
  const std::uint64_t expected = 500 + 1999;
  EXPECT_EQ(acked(1, wire::AckStatus::Ok), expected);
  EXPECT_EQ(acked(1, wire::AckStatus::Busy), kOffers - expected);
  EXPECT_EQ(stats().events, expected) << "a refused event was stored";
  EXPECT_EQ(stats().counters.at("refused.rate_limited"), kOffers - expected);
  EXPECT_EQ(ingest_->refused().at("tcp:flood").at("rate_limited"), kOffers - expected);
  EXPECT_EQ(stats().counters.count("refused_busy"), 0U) << "not the buffer's busy";
}

TEST_F(IngestRateTest, ABusyAckSaysWhenTheBucketHoldsWhatWasRefused) {
  // 506 events in one instant: 500 taken (the burst), the last 6 refused in one frame.
  std::vector<std::uint32_t> seqs;
  for (std::uint32_t seq = 0; seq < 500; ++seq) {
    ingest_->on_frame(1, "tcp:a", batch(0xA1, 1, {seq}).bytes(), 5'000'000);
  }
  ingest_->on_frame(1, "tcp:a", batch(0xA1, 1, {500, 501, 502, 503, 504, 505}).bytes(), 5'000'000);
  ingest_->flush(5'000'000);
  ASSERT_EQ(sink_.acks.size(), 2U);
  EXPECT_EQ(sink_.acks[0].status, wire::AckStatus::Ok);
  EXPECT_EQ(sink_.acks[1].status, wire::AckStatus::Busy);
  EXPECT_EQ(sink_.acks[1].ranges,
            (std::vector<std::pair<std::uint32_t, std::uint32_t>>{{500, 505}}));
  EXPECT_EQ(sink_.acks[1].retry_after_ms, 6U) << "6 events at 1000/s: 6 ms";
  // Resent after exactly that long: all six taken.
  ingest_->on_frame(1, "tcp:a", batch(0xA1, 1, {500, 501, 502, 503, 504, 505}).bytes(), 5'006'000);
  ingest_->flush(5'006'000);
  EXPECT_EQ(sink_.acks.back().status, wire::AckStatus::Ok);
  EXPECT_EQ(stats().events, 506U);
  // Refused again 1 us later: one event's refill is 1 ms, the least retry_after is 1 ms.
  ingest_->on_frame(1, "tcp:a", batch(0xA1, 1, {506}).bytes(), 5'006'001);
  ingest_->flush(5'006'001);
  EXPECT_EQ(sink_.acks.back().status, wire::AckStatus::Busy);
  EXPECT_EQ(sink_.acks.back().retry_after_ms, 1U);
}

TEST_F(IngestRateTest, AFloodingLinkDoesNotTakeAnotherLinksEvents) {
  for (std::uint32_t seq = 0; seq < 3000; seq += 6) {
    ingest_->on_frame(1, "tcp:flood",
                      batch(0xA1, 1, {seq, seq + 1, seq + 2, seq + 3, seq + 4, seq + 5}).bytes(),
                      7'000'000);
  }
  for (std::uint32_t seq = 0; seq < 100; ++seq) {
    ingest_->on_frame(2, "tcp:polite", batch(0xB2, 1, {seq}).bytes(), 7'000'000);
  }
  ingest_->flush(7'000'000);
  EXPECT_EQ(acked(1, wire::AckStatus::Ok), 500U);
  EXPECT_EQ(acked(1, wire::AckStatus::Busy), 2500U);
  EXPECT_EQ(acked(2, wire::AckStatus::Ok), 100U);
  EXPECT_EQ(acked(2, wire::AckStatus::Busy), 0U);
  EXPECT_EQ(ingest_->refused().count("tcp:polite"), 0U);
}

TEST_F(IngestRateTest, AnIdleLinkRefillsOnlyUpToItsBurst) {
  for (std::uint32_t seq = 0; seq < 600; ++seq) {
    ingest_->on_frame(1, "tcp:a", batch(0xA1, 1, {seq}).bytes(), 1'000'000);
  }
  ingest_->flush(1'000'000);
  ASSERT_EQ(acked(1, wire::AckStatus::Ok), 500U);
  // An hour idle: the bucket holds its 500 again, not 3.6 million.
  for (std::uint32_t seq = 600; seq < 1200; ++seq) {
    ingest_->on_frame(1, "tcp:a", batch(0xA1, 1, {seq}).bytes(), 3'601'000'000);
  }
  ingest_->flush(3'601'000'000);
  EXPECT_EQ(acked(1, wire::AckStatus::Ok), 1000U);
  // A wall clock that went back an hour refills nothing and refuses nothing it would not.
  ingest_->on_frame(1, "tcp:a", batch(0xA1, 1, {1200}).bytes(), 1'000);
  ingest_->flush(1'000);
  EXPECT_EQ(sink_.acks.back().status, wire::AckStatus::Busy);
  ingest_->on_frame(1, "tcp:a", batch(0xA1, 1, {1200}).bytes(), 2'000);
  ingest_->flush(2'000);
  EXPECT_EQ(sink_.acks.back().status, wire::AckStatus::Ok);
}

TEST_F(IngestRateTest, RateZeroIsNoLimit) {
  ingest_ = std::make_unique<Ingest>(*buffer_, sink_,
                                     IngestOptions{.link_rate_events_s = 0, .link_burst_ms = 1});
  for (std::uint32_t seq = 0; seq < 5000; seq += 6) {
    ingest_->on_frame(
        1, "tcp:a", batch(0xA1, 1, {seq, seq + 1, seq + 2, seq + 3, seq + 4, seq + 5}).bytes(), 1);
  }
  ingest_->flush(1);
  EXPECT_EQ(acked(1, wire::AckStatus::Ok), 5004U);
  EXPECT_EQ(acked(1, wire::AckStatus::Busy), 0U);
}

// Connections are sources of their own ("tcp:127.0.0.1:7700#12"): every connection that sent
// one bad frame used to leave its refusal counts and its log state behind for good, so a host
// reconnecting with garbage grew the daemon without bound.
TEST_F(IngestRateTest, AClosedLinkLeavesNoStateBehind) {
  ingest_->on_frame_error(7, "tcp:x#7", link::FrameError::kBadCrc, 1);
  for (std::uint32_t seq = 0; seq < 501; ++seq) {
    ingest_->on_frame(7, "tcp:x#7", batch(0xA1, 1, {seq}).bytes(), 1);
  }
  ingest_->flush(1);
  EXPECT_EQ(ingest_->refused().at("tcp:x#7").at("rate_limited"), 1U);
  ingest_->forget_session(7, 1);
  EXPECT_EQ(ingest_->refused().count("tcp:x#7"), 0U);
  EXPECT_EQ(ingest_->retained_rates(), 1U) << "the emptied bucket is kept for device A1";
  // Half a second later the kept bucket is full again: the device's next link takes it, and the
  // map is empty again.
  for (std::uint32_t seq = 501; seq < 1001; ++seq) {
    ingest_->on_frame(8, "tcp:x#8", batch(0xA1, 1, {seq}).bytes(), 500'001);
  }
  ingest_->flush(500'001);
  EXPECT_EQ(acked(8, wire::AckStatus::Ok), 500U);
  EXPECT_EQ(ingest_->retained_rates(), 0U);
  // A bucket already full again when its link closes is not kept at all.
  ingest_->forget_session(8, 1'000'002);
  EXPECT_EQ(ingest_->retained_rates(), 0U);
  // The persisted totals stay.
  EXPECT_EQ(stats().counters.at("refused.rate_limited"), 1U);
  EXPECT_EQ(stats().counters.at("refused.bad_crc"), 1U);
}

// A device that reconnects carries its bucket over: without it, closing and reopening the link
// after every burst got a fresh burst each time (20,000 events per reconnect by default), so a
// reconnect loop went around the rate.
TEST_F(IngestRateTest, AReconnectingDeviceGetsItsOldBucketNotAFreshBurst) {
  std::uint32_t seq = 0;
  std::uint64_t ok = 0;
  // Ten links, each opened, flooded and closed within the same millisecond: at 1,000/s with a
  // burst of 500, exactly the burst and one millisecond's refill get in, not ten bursts.
  for (SessionId session = 1; session <= 10; ++session) {
    for (int i = 0; i < 600; ++i, ++seq) {
      ingest_->on_frame(session, "tcp:r#" + std::to_string(session), batch(0xA1, 1, {seq}).bytes(),
                        2'000'000 + session * 100);
    }
    ingest_->flush(2'000'000 + session * 100);
    ok += acked(session, wire::AckStatus::Ok);
    ingest_->forget_session(session, 2'000'000 + session * 100);
  }
  EXPECT_EQ(ok, 500U);
  // Another device on a new link is not charged for it: a full burst.
  for (std::uint32_t i = 0; i < 600; ++i) {
    ingest_->on_frame(20, "tcp:r#20", batch(0xB2, 1, {i}).bytes(), 2'001'000);
  }
  ingest_->flush(2'001'000);
  EXPECT_EQ(acked(20, wire::AckStatus::Ok), 500U);
  // The reconnecting device again, one second later: it has refilled to its burst, no more.
  for (int i = 0; i < 600; ++i, ++seq) {
    ingest_->on_frame(11, "tcp:r#11", batch(0xA1, 1, {seq}).bytes(), 3'001'000);
  }
  ingest_->flush(3'001'000);
  EXPECT_EQ(acked(11, wire::AckStatus::Ok), 500U);
}

// kMaxRetainedRates at its bound: buckets already full again make room; when none is, a closed
// link's bucket is not kept (that device's next link starts full, as before buckets were kept).
TEST_F(IngestRateTest, RetainedBucketsStayWithinTheirBound) {
  // One event each: the bucket is a token short, full again 1 ms later (1,000/s).
  const auto send_one_and_close = [&](SessionId session, std::uint64_t device,
                                      std::uint64_t now_us) {
    ingest_->on_frame(session, "tcp:b", batch(device, 1, {0}).bytes(), now_us);
    ingest_->forget_session(session, now_us);  // before a flush: the device would resend
  };
  for (SessionId s = 0; s < kMaxRetainedRates; ++s) {
    send_one_and_close(s + 1, 0x1000 + s, 10'000'000);
  }
  ASSERT_EQ(ingest_->retained_rates(), kMaxRetainedRates);
  send_one_and_close(kMaxRetainedRates + 1, 0x9000, 10'000'500);
  EXPECT_EQ(ingest_->retained_rates(), kMaxRetainedRates) << "full, none full again: not kept";
  // Past every kept bucket's refill, the next one clears them all and is kept.
  send_one_and_close(kMaxRetainedRates + 2, 0x9001, 10'001'000);
  EXPECT_EQ(ingest_->retained_rates(), 1U);
}

TEST_F(IngestRateTest, ALinkRefusedBeforeItsFirstFrameIsCountedForItsListener) {
  ingest_->on_link_refused("tcp:127.0.0.1:7700", "auth", "127.0.0.1:40000: wrong token line", 1);
  ingest_->on_link_refused("tcp:127.0.0.1:7700", "auth", "127.0.0.1:40002: no token line in time",
                           2);
  ingest_->flush(3);
  EXPECT_EQ(ingest_->refused().at("tcp:127.0.0.1:7700").at("auth"), 2U);
  EXPECT_EQ(stats().counters.at("refused.auth"), 2U);
  EXPECT_TRUE(sink_.acks.empty());
}

// ---- the token line of a listener with a token_file ----

std::span<const std::uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

constexpr std::string_view kToken = "s3cret-token-0123456789";

TEST(LinkAuth, TheRightLineIsAcceptedAndWhatFollowsIsFrameBytes) {
  const LinkAuth auth{std::string(kToken)};
  LinkAuth::Line line;
  const std::string frame("\x05\x01\x02\x00", 4);
  const std::string sent = "EDGE-TOKEN " + std::string(kToken) + "\n" + frame;
  const LinkAuth::Step step = auth.feed(line, bytes_of(sent));
  EXPECT_EQ(step.verdict, LinkAuth::Step::Verdict::kAccepted);
  EXPECT_EQ(step.consumed, sent.size() - frame.size()) << "the frame is not the line's";
  EXPECT_TRUE(line.accepted());
}

TEST(LinkAuth, TheLineMayArriveAByteAtATime) {
  const LinkAuth auth{std::string(kToken)};
  LinkAuth::Line line;
  const std::string sent = "EDGE-TOKEN " + std::string(kToken) + "\n";
  for (std::size_t i = 0; i + 1 < sent.size(); ++i) {
    const LinkAuth::Step step = auth.feed(line, bytes_of(sent).subspan(i, 1));
    ASSERT_EQ(step.verdict, LinkAuth::Step::Verdict::kNeedMore) << i;
    EXPECT_EQ(step.consumed, 1U);
  }
  EXPECT_EQ(auth.feed(line, bytes_of("\n")).verdict, LinkAuth::Step::Verdict::kAccepted);
}

TEST(LinkAuth, WrongLinesAreRefused) {
  const LinkAuth auth{std::string(kToken)};
  const std::string token(kToken);
  for (const std::string& sent :
       {"EDGE-TOKEN " + token.substr(0, token.size() - 1) + "\n",  // a prefix of the token
        "EDGE-TOKEN " + token + "x\n",                             // the token and more
        "EDGE-TOKEN " + token + "\r\n",                            // CRLF is not the line
        "EDGE-TOKEN  " + token + "\n", "edge-token " + token + "\n", token + "\n",
        std::string("\n"), std::string("EDGE-TOKEN \n")}) {
    LinkAuth::Line line;
    const LinkAuth::Step step = auth.feed(line, bytes_of(sent));
    EXPECT_EQ(step.verdict, LinkAuth::Step::Verdict::kRefused) << sent;
    EXPECT_EQ(step.refusal, AuthRefusal::kWrongToken) << sent;
    EXPECT_FALSE(line.accepted());
  }
}

TEST(LinkAuth, ALineAtTheBoundIsReadAndOnePastItIsRefusedBeforeItEnds) {
  const std::string token(kMaxTokenBytes, 'k');
  const LinkAuth auth{token};
  // kMaxAuthLineBytes - 1 bytes and the newline: read to the end (wrong, not too long).
  LinkAuth::Line at_bound;
  const std::string longest(kMaxAuthLineBytes - 1, 'x');
  EXPECT_EQ(auth.feed(at_bound, bytes_of(longest)).verdict, LinkAuth::Step::Verdict::kNeedMore);
  const LinkAuth::Step wrong = auth.feed(at_bound, bytes_of("\n"));
  EXPECT_EQ(wrong.verdict, LinkAuth::Step::Verdict::kRefused);
  EXPECT_EQ(wrong.refusal, AuthRefusal::kWrongToken);
  // kMaxAuthLineBytes bytes without a newline: refused at once, in one read or in two.
  LinkAuth::Line past;
  const std::string too_long(kMaxAuthLineBytes, 'x');
  const LinkAuth::Step step = auth.feed(past, bytes_of(too_long));
  EXPECT_EQ(step.verdict, LinkAuth::Step::Verdict::kRefused);
  EXPECT_EQ(step.refusal, AuthRefusal::kTooLong);
  LinkAuth::Line split;
  EXPECT_EQ(auth.feed(split, bytes_of(longest)).verdict, LinkAuth::Step::Verdict::kNeedMore);
  EXPECT_EQ(auth.feed(split, bytes_of("x")).refusal, AuthRefusal::kTooLong);
  // The longest token's line fits the bound.
  LinkAuth::Line longest_token;
  EXPECT_EQ(auth.feed(longest_token, bytes_of("EDGE-TOKEN " + token + "\n")).verdict,
            LinkAuth::Step::Verdict::kAccepted);
}

TEST(LinkAuth, TokenRule) {
  EXPECT_EQ(check_token(std::string(kMinTokenBytes, 'a')), std::nullopt);
  EXPECT_EQ(check_token(std::string(kMaxTokenBytes, '~')), std::nullopt);
  EXPECT_EQ(check_token(std::string(kMinTokenBytes - 1, 'a')),
            "the token (the file's first line) must be 16..256 bytes, got 15");
  EXPECT_EQ(check_token(std::string(kMaxTokenBytes + 1, 'a')),
            "the token (the file's first line) must be 16..256 bytes, got 257");
  EXPECT_EQ(check_token("0123456789abcdef \r"),
            "the token (the file's first line) must be printable ASCII without spaces; byte 17 "
            "is not");
  const std::optional<std::string> high = check_token("0123456789abcdef\xc3\xa9");
  ASSERT_TRUE(high.has_value());
  EXPECT_EQ(high->find('\xc3'), std::string::npos) << "the message quotes no token bytes";
}

TEST(RateLimitedLog, AdmitsOncePerIntervalAndCountsTheRest) {
  RateLimitedLog log(1000);
  EXPECT_EQ(log.admit("k", 0), 1U);
  EXPECT_EQ(log.admit("k", 10), 0U);
  EXPECT_EQ(log.admit("k", 20), 0U);
  EXPECT_EQ(log.admit("other", 20), 1U);
  EXPECT_EQ(log.admit("k", 1500), 3U);
}

TEST(RateLimitedLog, ForgetDropsTheKeysOfAPrefix) {
  RateLimitedLog log(1000);
  log.admit("tcp:a#1/bad_crc", 0);
  log.admit("tcp:a#1/rate_limited", 0);
  log.admit("tcp:a#12/bad_crc", 0);
  log.forget("tcp:a#1/");
  EXPECT_EQ(log.keys(), 1U);
  EXPECT_EQ(log.admit("tcp:a#12/bad_crc", 10), 0U) << "another link's state is kept";
}

}  // namespace
}  // namespace edge::gateway
