#include "edge/gateway/ingest.h"

#include <stdlib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "edge/gateway/aligned_copy.h"
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

TEST(RateLimitedLog, AdmitsOncePerIntervalAndCountsTheRest) {
  RateLimitedLog log(1000);
  EXPECT_EQ(log.admit("k", 0), 1U);
  EXPECT_EQ(log.admit("k", 10), 0U);
  EXPECT_EQ(log.admit("k", 20), 0U);
  EXPECT_EQ(log.admit("other", 20), 1U);
  EXPECT_EQ(log.admit("k", 1500), 3U);
}

}  // namespace
}  // namespace edge::gateway
