#include "edge/wire/messages.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "edge/link/frame.h"
#include "edge/wire/static_builder.h"

namespace edge::wire {
namespace {

using Bytes = std::vector<std::uint8_t>;

// Verification wants 8-aligned bytes; a copy into aligned storage, as the gateway makes.
struct AlignedCopy {
  explicit AlignedCopy(std::span<const std::uint8_t> bytes)
      : words((bytes.size() + 7) / 8), size(bytes.size()) {
    std::memcpy(words.data(), bytes.data(), bytes.size());
  }
  std::span<const std::uint8_t> span() const {
    return {reinterpret_cast<const std::uint8_t*>(words.data()), size};
  }
  std::span<std::uint8_t> mutable_span() {
    return {reinterpret_cast<std::uint8_t*>(words.data()), size};
  }
  std::vector<std::uint64_t> words;
  std::size_t size;
};

EventFields sample_event() {
  EventFields f;
  f.id = {0xA1, 3, 42};
  f.mono_us = 123456789;
  f.wall_ms = 1763900000000;
  f.sensor = "tmp105";
  f.channel = 0;
  f.reading = ReadingValue::temperature(21.5F);
  return f;
}

TEST(Event, EncodesAndVerifiesEveryReadingKind) {
  StaticBuilder<kEventBuilderSize> builder;
  const ReadingValue readings[] = {ReadingValue::temperature(-40.25F),
                                   ReadingValue::humidity(55.5F),
                                   ReadingValue::pressure(101325.0F),
                                   ReadingValue::vector3(0.1F, -0.2F, 0.45F, Unit::Gauss),
                                   ReadingValue::scalar_value(3.3, Unit::Volt),
                                   ReadingValue::scalar_value(7.0, Unit::Other, "dB")};
  for (const ReadingValue& r : readings) {
    EventFields f = sample_event();
    f.reading = r;
    const auto encoded = encode_event(builder.fbb(), f);
    ASSERT_TRUE(encoded.ok());
    const AlignedCopy copy(encoded.value());
    const auto verified = verify_event(copy.span());
    ASSERT_TRUE(verified.ok()) << to_string(verified.error());
    const Event& e = *verified.value();
    EXPECT_EQ(event_id_of(e), f.id);
    EXPECT_EQ(e.mono_us(), f.mono_us);
    EXPECT_EQ(e.wall_ms(), f.wall_ms);
    EXPECT_EQ(e.sensor()->str(), "tmp105");
    EXPECT_EQ(e.schema_version(), kSchemaVersion);
    ASSERT_EQ(e.reading_type(), r.kind);
    switch (r.kind) {
      case Reading::Temperature: EXPECT_EQ(e.reading_as_Temperature()->celsius(), r.x); break;
      case Reading::Humidity: EXPECT_EQ(e.reading_as_Humidity()->percent_rh(), r.x); break;
      case Reading::Pressure: EXPECT_EQ(e.reading_as_Pressure()->pascal(), r.x); break;
      case Reading::Vector3:
        EXPECT_EQ(e.reading_as_Vector3()->z(), r.z);
        EXPECT_EQ(e.reading_as_Vector3()->unit(), Unit::Gauss);
        break;
      case Reading::Scalar:
        EXPECT_EQ(e.reading_as_Scalar()->value(), r.scalar);
        EXPECT_EQ(e.reading_as_Scalar()->unit(), r.unit);
        if (!r.unit_name.empty()) {
          EXPECT_EQ(e.reading_as_Scalar()->unit_name()->str(), r.unit_name);
        }
        break;
      case Reading::NONE: FAIL();
    }
  }
}

TEST(Event, WallClockIsOptional) {
  flatbuffers::FlatBufferBuilder fbb;
  EventFields f = sample_event();
  f.wall_ms.reset();
  const auto encoded = encode_event(fbb, f);
  ASSERT_TRUE(encoded.ok());
  const AlignedCopy copy(encoded.value());
  const auto verified = verify_event(copy.span());
  ASSERT_TRUE(verified.ok());
  EXPECT_FALSE(verified.value()->wall_ms().has_value());
}

EventFields worst_case_event() {
  EventFields f;
  f.id = {UINT64_MAX, UINT32_MAX, UINT32_MAX};
  f.mono_us = UINT64_MAX;
  f.wall_ms = INT64_MIN;
  static const std::string sensor(kMaxSensorNameLength, 's');
  static const std::string unit(kMaxUnitNameLength, 'u');
  f.sensor = sensor;
  f.channel = 255;
  f.reading = ReadingValue::scalar_value(1e300, Unit::Other, unit);
  f.quality = Quality::SensorError | Quality::Stale;
  return f;
}

TEST(Event, WorstCaseFitsTheNamedBoundsInAStaticBuilder) {
  StaticBuilder<kEventBuilderSize> builder;
  const auto encoded = encode_event(builder.fbb(), worst_case_event());
  ASSERT_TRUE(encoded.ok());
  EXPECT_LE(encoded.value().size(), kMaxEventSize);
  const AlignedCopy copy(encoded.value());
  EXPECT_TRUE(verify_event(copy.span()).ok());
}

TEST(Event, FieldsAboveTheirBoundAreRefusedBeforeEncoding) {
  StaticBuilder<kEventBuilderSize> builder;
  EventFields f = sample_event();
  const std::string long_name(kMaxSensorNameLength + 1, 's');
  f.sensor = long_name;
  const auto refused = encode_event(builder.fbb(), f);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(), WireError::kFieldTooLong);
  f = sample_event();
  f.reading = ReadingValue::scalar_value(1.0, Unit::Other, long_name);
  EXPECT_FALSE(encode_event(builder.fbb(), f).ok());
}

TEST(Event, VerifyRefusesWhatIsNotAnEvent) {
  flatbuffers::FlatBufferBuilder fbb;
  const auto hello = encode_hello(fbb, {1, 2, "fw", "board", 64});
  ASSERT_TRUE(hello.ok());
  const AlignedCopy link(hello.value());
  const auto wrong_id = verify_event(link.span());
  ASSERT_FALSE(wrong_id.ok());
  EXPECT_EQ(wrong_id.error(), WireError::kBadIdentifier);

  const auto encoded = encode_event(fbb, sample_event());
  ASSERT_TRUE(encoded.ok());
  AlignedCopy event(encoded.value());
  const auto truncated = verify_event(event.span().first(event.size - 12));
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error(), WireError::kInvalid);

  const auto too_large = verify_event(event.span(), event.size - 1);
  ASSERT_FALSE(too_large.ok());
  EXPECT_EQ(too_large.error(), WireError::kTooLarge);

  // One byte past 8-aligned storage is misaligned whatever the allocator does.
  std::vector<std::uint64_t> words(event.words.size() + 1);
  auto* odd_start = reinterpret_cast<std::uint8_t*>(words.data()) + 1;
  std::copy(event.span().begin(), event.span().end(), odd_start);
  const auto misaligned = verify_event({odd_start, event.size});
  ASSERT_FALSE(misaligned.ok());
  EXPECT_EQ(misaligned.error(), WireError::kMisaligned);
}

TEST(Event, FutureMajorVersionIsRefusedFutureMinorAccepted) {
  flatbuffers::FlatBufferBuilder fbb;
  EventFields f = sample_event();
  f.schema_version = 0x0200;
  auto encoded = encode_event(fbb, f);
  ASSERT_TRUE(encoded.ok());
  const AlignedCopy future_major(encoded.value());
  const auto refused = verify_event(future_major.span());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(), WireError::kUnsupportedVersion);

  f.schema_version = 0x01FF;
  encoded = encode_event(fbb, f);
  ASSERT_TRUE(encoded.ok());
  const AlignedCopy future_minor(encoded.value());
  EXPECT_TRUE(verify_event(future_minor.span()).ok());
}

TEST(Event, RandomCorruptionNeverCrashesTheVerifier) {
  flatbuffers::FlatBufferBuilder fbb;
  const auto encoded = encode_event(fbb, worst_case_event());
  ASSERT_TRUE(encoded.ok());
  std::mt19937 rng(3);
  int refused = 0;
  for (int round = 0; round < 20000; ++round) {
    AlignedCopy copy(encoded.value());
    auto bytes = copy.mutable_span();
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) {
      bytes[rng() % bytes.size()] = static_cast<std::uint8_t>(rng());
    }
    const auto result = verify_event(copy.span());
    if (result.ok()) {
      // Accepted means every offset is in bounds: reading every field must be safe (ASan run).
      const Event& e = *result.value();
      (void)e.mono_us();
      if (e.sensor() != nullptr) {
        (void)e.sensor()->str();
      }
      if (const auto* s = e.reading_as_Scalar(); s != nullptr && s->unit_name() != nullptr) {
        (void)s->unit_name()->str();
      }
    } else {
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
}

TEST(Link, HelloRoundTrips) {
  StaticBuilder<kLinkBuilderSize> builder;
  const auto encoded = encode_hello(builder.fbb(), {0xBEEF, 9, "0.1.0", "lm3s6965evb", 128});
  ASSERT_TRUE(encoded.ok());
  const AlignedCopy copy(encoded.value());
  const auto verified = verify_link_message(copy.span());
  ASSERT_TRUE(verified.ok()) << to_string(verified.error());
  const Hello* hello = verified.value()->body_as_Hello();
  ASSERT_NE(hello, nullptr);
  EXPECT_EQ(hello->device(), 0xBEEFU);
  EXPECT_EQ(hello->boot(), 9U);
  EXPECT_EQ(hello->firmware_version()->str(), "0.1.0");
  EXPECT_EQ(hello->board()->str(), "lm3s6965evb");
  EXPECT_EQ(hello->ring_capacity(), 128U);
  EXPECT_EQ(hello->schema_version(), kSchemaVersion);
}

TEST(Link, FullBatchOfWorstCaseEventsFitsOneFrameAndTheStaticBuilder) {
  StaticBuilder<kEventBuilderSize> event_builder;
  std::vector<Bytes> stored;
  for (std::size_t i = 0; i < kMaxBatchEvents; ++i) {
    EventFields f = worst_case_event();
    f.id.seq = static_cast<std::uint32_t>(i);
    const auto encoded = encode_event(event_builder.fbb(), f);
    ASSERT_TRUE(encoded.ok());
    stored.emplace_back(encoded.value().begin(), encoded.value().end());
  }
  std::vector<std::span<const std::uint8_t>> events(stored.begin(), stored.end());
  StaticBuilder<kLinkBuilderSize> builder;
  const auto batch = encode_batch(builder.fbb(), UINT64_MAX, events, 7);
  ASSERT_TRUE(batch.ok());
  EXPECT_LE(batch.value().size(), link::kMaxFramePayload);

  const AlignedCopy copy(batch.value());
  const auto verified = verify_link_message(copy.span());
  ASSERT_TRUE(verified.ok()) << to_string(verified.error());
  const EventBatch* b = verified.value()->body_as_EventBatch();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->ring_dropped(), 7U);
  ASSERT_EQ(b->events()->size(), kMaxBatchEvents);
  for (flatbuffers::uoffset_t i = 0; i < b->events()->size(); ++i) {
    // Nested events are stored 8-aligned, so they verify in place, with no copy.
    const auto event = verify_event(blob_bytes(*b->events()->Get(i)));
    ASSERT_TRUE(event.ok()) << to_string(event.error());
    EXPECT_EQ(event.value()->id()->seq(), i);
    EXPECT_TRUE(
        std::equal(stored[i].begin(), stored[i].end(), blob_bytes(*b->events()->Get(i)).begin()));
  }
}

TEST(Link, BatchBoundsAreEnforced) {
  flatbuffers::FlatBufferBuilder fbb;
  const Bytes event(16, 1);
  std::vector<std::span<const std::uint8_t>> events(kMaxBatchEvents + 1, event);
  const auto too_many = encode_batch(fbb, 1, events, 0);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error(), WireError::kTooManyItems);
  const Bytes big(kMaxEventSize + 1, 1);
  const std::span<const std::uint8_t> one[] = {big};
  const auto too_big = encode_batch(fbb, 1, one, 0);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error(), WireError::kTooLarge);
}

TEST(Link, AckCarriesCumulativeAndSelectiveRanges) {
  StaticBuilder<kLinkBuilderSize> builder;
  const SeqRange ranges[] = {{10, 12}, {15, 15}};
  const auto encoded = encode_ack(builder.fbb(), {0xA1, 3, AckStatus::Busy, 7U, ranges, 250});
  ASSERT_TRUE(encoded.ok());
  const AlignedCopy copy(encoded.value());
  const auto verified = verify_link_message(copy.span());
  ASSERT_TRUE(verified.ok());
  const Ack* ack = verified.value()->body_as_Ack();
  ASSERT_NE(ack, nullptr);
  EXPECT_EQ(ack->status(), AckStatus::Busy);
  EXPECT_TRUE(ack->has_cumulative());
  EXPECT_EQ(ack->cumulative_seq(), 7U);
  ASSERT_EQ(ack->selective()->size(), 2U);
  EXPECT_EQ(ack->selective()->Get(0)->first(), 10U);
  EXPECT_EQ(ack->selective()->Get(1)->last(), 15U);
  EXPECT_EQ(ack->retry_after_ms(), 250U);

  const std::vector<SeqRange> too_many(kMaxSelectiveRanges + 1);
  EXPECT_FALSE(encode_ack(builder.fbb(), {1, 1, AckStatus::Ok, {}, too_many, 0}).ok());
}

TEST(Link, MessageWithoutBodyIsRefused) {
  flatbuffers::FlatBufferBuilder fbb;
  FinishLinkMessageBuffer(fbb, CreateLinkMessage(fbb, kSchemaVersion));
  const AlignedCopy copy({fbb.GetBufferPointer(), fbb.GetSize()});
  const auto result = verify_link_message(copy.span());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(), WireError::kMissingBody);
}

TEST(Link, OversizeMessageIsRefused) {
  const std::vector<std::uint64_t> words(link::kMaxFramePayload / 8 + 1);
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(words.data()),
                                            words.size() * 8);
  const auto result = verify_link_message(bytes);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(), WireError::kTooLarge);
}

}  // namespace
}  // namespace edge::wire
