// Schema evolution: buffers from the first schema (checked-in fixtures) read by today's code,
// and buffers from a future minor (testdata/event_next.fbs) read by today's code.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "edge/wire/event_next_generated.h"
#include "edge/wire/messages.h"
#include "testdata/fixture.h"

namespace edge::wire {
namespace {

// File contents in 8-aligned storage, as verification requires.
class Loaded {
 public:
  explicit Loaded(const std::string& name) {
    std::ifstream in(std::string(EDGE_WIRE_TESTDATA_DIR) + "/" + name, std::ios::binary);
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in), {}};
    size_ = bytes.size();
    words_.resize((size_ + 7) / 8);
    std::memcpy(words_.data(), bytes.data(), size_);
  }
  std::span<const std::uint8_t> bytes() const {
    return {reinterpret_cast<const std::uint8_t*>(words_.data()), size_};
  }

 private:
  std::vector<std::uint64_t> words_;
  std::size_t size_ = 0;
};

void expect_v1_values(const Event& e, std::uint32_t seq) {
  const EventFields want = fixture::v1_event(seq);
  EXPECT_EQ(event_id_of(e), want.id);
  EXPECT_EQ(e.mono_us(), want.mono_us);
  EXPECT_EQ(e.wall_ms(), want.wall_ms);
  EXPECT_EQ(e.sensor()->str(), want.sensor);
  ASSERT_EQ(e.reading_type(), Reading::Temperature);
  EXPECT_EQ(e.reading_as_Temperature()->celsius(), 21.5F);
  EXPECT_EQ(e.quality(), Quality::Estimated);
  EXPECT_EQ(e.schema_version(), 0x0100);
}

TEST(Evolution, CheckedInV1EventReadsWithTodaysCode) {
  const Loaded file(fixture::kEventFile);
  ASSERT_GT(file.bytes().size(), 0U) << "fixture missing";
  const auto event = verify_event(file.bytes());
  ASSERT_TRUE(event.ok()) << to_string(event.error());
  expect_v1_values(*event.value(), 42);
}

TEST(Evolution, CheckedInV1BatchReadsWithTodaysCode) {
  const Loaded file(fixture::kBatchFile);
  const auto message = verify_link_message(file.bytes());
  ASSERT_TRUE(message.ok()) << to_string(message.error());
  const EventBatch* batch = message.value()->body_as_EventBatch();
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->device(), 0xA1U);
  EXPECT_EQ(batch->ring_dropped(), fixture::kBatchRingDropped);
  ASSERT_EQ(batch->events()->size(), fixture::kBatchEvents);
  for (std::uint32_t i = 0; i < fixture::kBatchEvents; ++i) {
    const auto event = verify_event(blob_bytes(*batch->events()->Get(i)));
    ASSERT_TRUE(event.ok());
    expect_v1_values(*event.value(), i);
  }
}

TEST(Evolution, V1EventReadsWithNextMinorCode) {
  const Loaded file(fixture::kEventFile);
  flatbuffers::Verifier verifier(file.bytes().data(), file.bytes().size());
  ASSERT_TRUE(next::VerifyEventBuffer(verifier));
  const next::Event* e = next::GetEvent(file.bytes().data());
  EXPECT_EQ(e->id()->seq(), 42U);
  EXPECT_EQ(e->reading_as_Temperature()->celsius(), 21.5F);
  EXPECT_EQ(e->battery_mv(), 0);  // absent in 1.0: the default
}

std::vector<std::uint64_t> build_next(next::Reading kind) {
  flatbuffers::FlatBufferBuilder fbb;
  const auto sensor = fbb.CreateString("mq135");
  const auto reading = kind == next::Reading::Gas ? next::CreateGas(fbb, 412.0F).Union()
                                                  : next::CreateTemperature(fbb, 19.0F).Union();
  const next::EventId id(0xB2, 1, 7);
  next::EventBuilder b(fbb);
  b.add_schema_version(0x0101);
  b.add_id(&id);
  b.add_mono_us(99);
  b.add_sensor(sensor);
  b.add_reading_type(kind);
  b.add_reading(reading);
  b.add_battery_mv(3300);
  next::FinishEventBuffer(fbb, b.Finish());
  std::vector<std::uint64_t> words((fbb.GetSize() + 7) / 8 + 1);
  std::memcpy(words.data(), fbb.GetBufferPointer(), fbb.GetSize());
  words.back() = fbb.GetSize();  // size in the last word
  return words;
}

std::span<const std::uint8_t> bytes_of(const std::vector<std::uint64_t>& words) {
  return {reinterpret_cast<const std::uint8_t*>(words.data()),
          static_cast<std::size_t>(words.back())};
}

TEST(Evolution, NextMinorEventReadsWithTodaysCode) {
  const auto words = build_next(next::Reading::Temperature);
  const auto event = verify_event(bytes_of(words));
  ASSERT_TRUE(event.ok()) << to_string(event.error());
  EXPECT_EQ(event.value()->schema_version(), 0x0101);
  EXPECT_EQ(event_id_of(*event.value()), (edge::EventId{0xB2, 1, 7}));
  EXPECT_EQ(event.value()->reading_as_Temperature()->celsius(), 19.0F);
  EXPECT_EQ(event.value()->sensor()->str(), "mq135");
}

TEST(Evolution, NextMinorUnionMemberIsAnUnknownReadingNotAnError) {
  const auto words = build_next(next::Reading::Gas);
  const auto event = verify_event(bytes_of(words));
  ASSERT_TRUE(event.ok()) << to_string(event.error());
  const Event& e = *event.value();
  EXPECT_GT(static_cast<int>(e.reading_type()), static_cast<int>(Reading::MAX));
  EXPECT_EQ(e.reading_as_Temperature(), nullptr);
  EXPECT_EQ(e.reading_as_Scalar(), nullptr);
  EXPECT_EQ(event_id_of(e), (edge::EventId{0xB2, 1, 7}));  // the rest is intact
}

}  // namespace
}  // namespace edge::wire
