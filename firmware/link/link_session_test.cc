#include "edge/firmware/link_session.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <vector>

namespace edge::firmware {
namespace {

// Both directions of a link in memory.
class PipeStream final : public platform::ByteStream {
 public:
  std::size_t write(std::span<const std::uint8_t> bytes) override {
    to_gateway.insert(to_gateway.end(), bytes.begin(), bytes.end());
    return bytes.size();
  }
  std::size_t read(std::span<std::uint8_t> out) override {
    std::size_t n = 0;
    while (n < out.size() && !to_device.empty()) {
      out[n++] = to_device.front();
      to_device.pop_front();
    }
    return n;
  }
  std::vector<std::uint8_t> to_gateway;
  std::deque<std::uint8_t> to_device;
};

constexpr std::uint64_t kDevice = 0xD1;
constexpr std::uint32_t kBoot = 4;
constexpr std::uint64_t kMs = 1000;

struct Sent {
  std::vector<wire::Body> kinds;
  std::vector<std::vector<std::uint32_t>> batches;  // seqs per EventBatch
  std::uint32_t ring_dropped = 0;
};

class LinkSessionTest : public ::testing::Test {
 protected:
  // What the device sent since the last call, decoded as the gateway would.
  Sent drain() {
    Sent sent;
    link::FrameDecoderBuffer<> decoder;
    decoder.feed(
        pipe.to_gateway,
        [&](std::span<const std::uint8_t> payload) {
          const auto message = wire::verify_link_message(payload);
          ASSERT_TRUE(message.ok());
          sent.kinds.push_back(message.value()->body_type());
          if (const auto* batch = message.value()->body_as_EventBatch()) {
            std::vector<std::uint32_t> seqs;
            for (const wire::EventBlob* blob : *batch->events()) {
              const auto event = wire::verify_event({blob->data()->data(), blob->data()->size()});
              EXPECT_TRUE(event.ok());
              seqs.push_back(wire::event_id_of(*event.value()).seq);
            }
            sent.batches.push_back(seqs);
            sent.ring_dropped = batch->ring_dropped();
          }
        },
        [](link::FrameError) { ADD_FAILURE() << "the device sent a bad frame"; });
    pipe.to_gateway.clear();
    return sent;
  }

  void ack(wire::AckStatus status, std::vector<wire::SeqRange> ranges, std::uint32_t retry_ms = 0,
           std::uint64_t device = kDevice) {
    flatbuffers::FlatBufferBuilder fbb;
    const auto message =
        wire::encode_ack(fbb, {device, kBoot, status, std::nullopt, ranges, retry_ms});
    ASSERT_TRUE(message.ok());
    std::array<std::uint8_t, link::max_encoded_frame_size(link::kMaxFramePayload)> frame{};
    const auto n = link::encode_frame(message.value(), frame);
    ASSERT_TRUE(n.ok());
    pipe.to_device.insert(pipe.to_device.end(), frame.begin(),
                          frame.begin() + static_cast<std::ptrdiff_t>(n.value()));
  }

  void produce(std::uint32_t count) {
    flatbuffers::FlatBufferBuilder fbb;
    for (std::uint32_t i = 0; i < count; ++i) {
      wire::EventFields fields;
      fields.id = {kDevice, kBoot, next_seq};
      fields.sensor = "tmp105";
      fields.reading = wire::ReadingValue::temperature(20.0F);
      const auto bytes = wire::encode_event(fbb, fields);
      ASSERT_TRUE(bytes.ok());
      ASSERT_TRUE(ring.push(next_seq++, bytes.value()));
    }
  }

  PipeStream pipe;
  LinkSession<16>::Ring ring;
  LinkSession<16> session{pipe, ring, {kDevice, kBoot, "1.0", "test"}};
  std::uint32_t next_seq = 0;
};

TEST_F(LinkSessionTest, HelloFirstThenBatchesAndOkAcksFreeTheRing) {
  produce(8);
  session.poll(1 * kMs);
  Sent sent = drain();
  ASSERT_GE(sent.kinds.size(), 2U);
  EXPECT_EQ(sent.kinds[0], wire::Body::Hello);
  ASSERT_EQ(sent.batches.size(), 1U);
  EXPECT_EQ(sent.batches[0], (std::vector<std::uint32_t>{0, 1, 2, 3, 4, 5}));
  session.poll(2 * kMs);
  EXPECT_EQ(drain().batches, (std::vector<std::vector<std::uint32_t>>{{6, 7}}));
  ack(wire::AckStatus::Ok, {{0, 5}, {7, 7}});
  session.poll(3 * kMs);
  EXPECT_EQ(ring.size(), 1U) << "6 awaits its ack";
  EXPECT_EQ(session.stats().acked, 7U);
  EXPECT_TRUE(drain().batches.empty()) << "nothing due before the ack timeout";
}

TEST_F(LinkSessionTest, UnackedEventsAreSentAgainAfterTheTimeout) {
  produce(2);
  session.poll(0);
  drain();
  session.poll(kAckTimeoutUs - 1);
  EXPECT_TRUE(drain().batches.empty());
  session.poll(kAckTimeoutUs + 1);
  EXPECT_EQ(drain().batches, (std::vector<std::vector<std::uint32_t>>{{0, 1}}));
  EXPECT_EQ(session.stats().retransmits, 2U);
}

TEST_F(LinkSessionTest, BusyHoldsEverySendForRetryAfter) {
  produce(1);
  session.poll(0);
  drain();
  ack(wire::AckStatus::Busy, {}, 200);
  produce(1);
  session.poll(10 * kMs);
  EXPECT_TRUE(drain().batches.empty());
  session.poll(209 * kMs);
  EXPECT_TRUE(drain().batches.empty());
  session.poll(211 * kMs);
  EXPECT_EQ(drain().batches.size(), 1U);
  EXPECT_EQ(session.stats().busy_acks, 1U);
  EXPECT_EQ(ring.size(), 2U) << "busy frees nothing";
}

TEST_F(LinkSessionTest, InvalidAcksDropAndCount) {
  produce(3);
  session.poll(0);
  drain();
  ack(wire::AckStatus::Invalid, {{1, 1}});
  session.poll(1 * kMs);
  EXPECT_EQ(session.stats().invalid, 1U);
  EXPECT_EQ(ring.size(), 2U);
}

TEST_F(LinkSessionTest, ForeignAcksAndGarbageAreCountedAndIgnored) {
  produce(2);
  session.poll(0);
  drain();
  ack(wire::AckStatus::Ok, {{0, 1}}, 0, kDevice + 1);
  for (const int b : {0x13, 0x37, 0x00, 0x55, 0x00}) {
    pipe.to_device.push_back(static_cast<std::uint8_t>(b));
  }
  session.poll(1 * kMs);
  EXPECT_EQ(ring.size(), 2U);
  EXPECT_EQ(session.stats().foreign_acks, 1U);
  EXPECT_GE(session.stats().refused_frames, 1U);
  ack(wire::AckStatus::Ok, {{0, 1}});
  session.poll(2 * kMs);
  EXPECT_EQ(ring.size(), 0U) << "the next good ack still works";
}

TEST_F(LinkSessionTest, RingDropsAreReportedInEveryBatch) {
  produce(20);  // capacity 16: 4 dropped
  session.poll(0);
  const Sent sent = drain();
  ASSERT_EQ(sent.batches.size(), 1U);
  EXPECT_EQ(sent.batches[0].front(), 4U);
  EXPECT_EQ(sent.ring_dropped, 4U);
}

TEST_F(LinkSessionTest, HelloIsRepeatedUntilTheGatewayAnswers) {
  session.poll(0);
  session.poll(kHelloIntervalUs + 1);
  int hellos = 0;
  for (const wire::Body kind : drain().kinds) {
    hellos += kind == wire::Body::Hello ? 1 : 0;
  }
  EXPECT_EQ(hellos, 2);
  produce(1);
  session.poll(kHelloIntervalUs + 2);
  drain();
  ack(wire::AckStatus::Ok, {{0, 0}});
  session.poll(kHelloIntervalUs + 3);
  session.poll(3 * kHelloIntervalUs);
  for (const wire::Body kind : drain().kinds) {
    EXPECT_NE(kind, wire::Body::Hello);
  }
}

// A mebibyte of hostile input on the device's link: random bytes, mixed with well-framed
// (CRC-correct) random payloads that only the FlatBuffers verifier can refuse. No crash, every
// refusal counted, the ring untouched, and the next genuine ack still frees it.
TEST_F(LinkSessionTest, OneMebibyteOfRandomBytesThenAGenuineAck) {
  produce(5);
  session.poll(0);
  drain();
  std::mt19937 rng(11);
  std::size_t fed = 0;
  std::uint64_t now = kMs;
  std::array<std::uint8_t, link::max_encoded_frame_size(link::kMaxFramePayload)> frame{};
  while (fed < (std::size_t{1} << 20U)) {
    std::vector<std::uint8_t> chunk(1 + rng() % 300);
    for (auto& b : chunk) {
      b = static_cast<std::uint8_t>(rng());
    }
    if (rng() % 4 == 0) {  // a valid frame around random payload bytes
      const auto n = link::encode_frame(chunk, frame);
      ASSERT_TRUE(n.ok());
      chunk.assign(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(n.value()));
    }
    fed += chunk.size();
    pipe.to_device.insert(pipe.to_device.end(), chunk.begin(), chunk.end());
    session.poll(now += 10);
  }
  pipe.to_device.push_back(0x00);  // ends whatever frame the noise left open
  session.poll(now += 10);
  EXPECT_GT(session.stats().refused_frames, 1000U);
  EXPECT_TRUE(pipe.to_device.empty()) << "the session read everything";
  EXPECT_EQ(ring.size(), 5U) << "noise never acked anything";
  ack(wire::AckStatus::Ok, {{0, 4}});
  session.poll(now + 10);
  EXPECT_EQ(ring.size(), 0U) << "the next genuine ack still works";
}

}  // namespace
}  // namespace edge::firmware
