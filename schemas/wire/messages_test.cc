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

// Found by tests/fuzz/wire_verify_fuzz: the FlatBuffers Verifier accepts a union type with no
// table, and the gateway's JSON rendering dereferenced the missing reading (a null member call).
TEST(Event, AReadingTypeWithoutItsReadingIsRefusedAsInvalid) {
  for (const Reading kind : {Reading::Temperature, Reading::Humidity, Reading::Pressure,
                             Reading::Vector3, Reading::Scalar}) {
    flatbuffers::FlatBufferBuilder fbb;
    const edge::wire::EventId id(0xA1, 3, 42);
    EventBuilder event(fbb);
    event.add_schema_version(kSchemaVersion);
    event.add_id(&id);
    event.add_reading_type(kind);  // and no add_reading
    FinishEventBuffer(fbb, event.Finish());
    const AlignedCopy bytes({fbb.GetBufferPointer(), fbb.GetSize()});
    const auto refused = verify_event(bytes.span());
    ASSERT_FALSE(refused.ok()) << EnumNameReading(kind);
    EXPECT_EQ(refused.error(), WireError::kInvalid);
  }
  flatbuffers::FlatBufferBuilder fbb;
  const edge::wire::EventId id(0xA1, 3, 43);
  EventBuilder event(fbb);
  event.add_id(&id);
  event.add_schema_version(kSchemaVersion);
  FinishEventBuffer(fbb, event.Finish());
  const AlignedCopy no_reading({fbb.GetBufferPointer(), fbb.GetSize()});
  EXPECT_TRUE(verify_event(no_reading.span()).ok()) << "no reading at all (NONE) is still valid";
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

// An upstream batch as the forwarder publishes it: any number of events, each nested Event
// 8-aligned within the message (unless `align` is false; `pad` bytes are pushed first to move
// where the nested events land).
Bytes upstream_batch(std::uint64_t device, const std::vector<Bytes>& events, bool align = true,
                     std::uint32_t pad = 0) {
  flatbuffers::FlatBufferBuilder fbb;
  for (std::uint32_t i = 0; i < pad; ++i) {
    fbb.PushElement<std::uint8_t>(0);
  }
  std::vector<flatbuffers::Offset<EventBlob>> blobs;
  for (const Bytes& event : events) {
    if (align) {
      fbb.ForceVectorAlignment(event.size(), sizeof(std::uint8_t), 8);
    }
    blobs.push_back(CreateEventBlob(fbb, fbb.CreateVector(event)));
  }
  const auto batch = CreateEventBatch(fbb, device, fbb.CreateVector(blobs), 0);
  FinishLinkMessageBuffer(fbb,
                          CreateLinkMessage(fbb, kSchemaVersion, Body::EventBatch, batch.Union()));
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

std::vector<Bytes> encoded_events(std::uint64_t device, std::size_t count) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<Bytes> events;
  for (std::size_t i = 0; i < count; ++i) {
    EventFields f = sample_event();
    f.id = {device, 5, static_cast<std::uint32_t>(i)};
    const auto encoded = encode_event(fbb, f);
    EXPECT_TRUE(encoded.ok());
    events.emplace_back(encoded.value().begin(), encoded.value().end());
  }
  return events;
}

// The most events of one size that fit an upstream batch of kMaxUpstreamBatchBytes.
std::size_t events_that_fit(std::uint64_t device) {
  const std::size_t one = upstream_batch(device, encoded_events(device, 1)).size();
  const std::size_t two = upstream_batch(device, encoded_events(device, 2)).size();
  std::size_t count = (kMaxUpstreamBatchBytes - one) / (two - one) + 1;
  while (upstream_batch(device, encoded_events(device, count)).size() > kMaxUpstreamBatchBytes) {
    --count;
  }
  return count;
}

TEST(UpstreamBatch, BatchNearTheBoundVerifiesWithEveryEvent) {
  const std::uint64_t device = 0xC0FFEE;
  const std::size_t count = events_that_fit(device);
  const std::vector<Bytes> events = encoded_events(device, count);
  const Bytes bytes = upstream_batch(device, events);
  ASSERT_LE(bytes.size(), kMaxUpstreamBatchBytes);
  EXPECT_GT(bytes.size(), kMaxUpstreamBatchBytes - 2 * events[0].size() - 32);
  EXPECT_GT(bytes.size(), link::kMaxFramePayload);

  const AlignedCopy copy(bytes);
  const auto verified = verify_upstream_batch(copy.span());
  ASSERT_TRUE(verified.ok()) << to_string(verified.error());
  const EventBatch& batch = *verified.value();
  EXPECT_EQ(batch.device(), device);
  EXPECT_EQ(batch.ring_dropped(), 0U);
  ASSERT_NE(batch.events(), nullptr);
  ASSERT_EQ(batch.events()->size(), count);
  for (flatbuffers::uoffset_t i = 0; i < batch.events()->size(); ++i) {
    const auto event = verify_event(blob_bytes(*batch.events()->Get(i)));
    ASSERT_TRUE(event.ok()) << to_string(event.error());
    EXPECT_EQ(event_id_of(*event.value()), (edge::EventId{device, 5, i}));
  }
  // The serial-link verifier keeps its own, much smaller bound.
  const auto as_frame = verify_link_message(copy.span());
  ASSERT_FALSE(as_frame.ok());
  EXPECT_EQ(as_frame.error(), WireError::kTooLarge);
}

TEST(UpstreamBatch, ALinkFrameBatchIsAlsoAValidUpstreamBatch) {
  flatbuffers::FlatBufferBuilder fbb;
  const std::vector<Bytes> stored = encoded_events(0xA1, kMaxBatchEvents);
  const std::vector<std::span<const std::uint8_t>> events(stored.begin(), stored.end());
  const auto batch = encode_batch(fbb, 0xA1, events, 3);
  ASSERT_TRUE(batch.ok());
  const AlignedCopy copy(batch.value());
  const auto verified = verify_upstream_batch(copy.span());
  ASSERT_TRUE(verified.ok()) << to_string(verified.error());
  EXPECT_EQ(verified.value()->ring_dropped(), 3U);
  EXPECT_EQ(verified.value()->events()->size(), kMaxBatchEvents);
}

TEST(UpstreamBatch, ABatchAboveTheBoundIsRefused) {
  const std::uint64_t device = 0xC0FFEE;
  const Bytes bytes = upstream_batch(device, encoded_events(device, events_that_fit(device) + 1));
  ASSERT_GT(bytes.size(), kMaxUpstreamBatchBytes);
  const AlignedCopy copy(bytes);
  const auto refused = verify_upstream_batch(copy.span());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(), WireError::kTooLarge);
}

TEST(UpstreamBatch, AnEventOfAnotherDeviceIsRefused) {
  std::vector<Bytes> events = encoded_events(0xA1, 4);
  events[2] = encoded_events(0xB2, 3)[2];
  const AlignedCopy copy(upstream_batch(0xA1, events));
  const auto refused = verify_upstream_batch(copy.span());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(), WireError::kDeviceMismatch);
  EXPECT_STREQ(to_string(refused.error()), "device_mismatch");
}

TEST(UpstreamBatch, CorruptBytesAreRefused) {
  const Bytes bytes = upstream_batch(0xA1, encoded_events(0xA1, 4));
  AlignedCopy root(bytes);
  root.mutable_span()[1] = 0x7F;  // root offset far past the end
  const auto bad_root = verify_upstream_batch(root.span());
  ASSERT_FALSE(bad_root.ok());
  EXPECT_EQ(bad_root.error(), WireError::kInvalid);

  const AlignedCopy truncated{std::span<const std::uint8_t>(bytes).first(bytes.size() - 16)};
  const auto short_read = verify_upstream_batch(truncated.span());
  ASSERT_FALSE(short_read.ok());
  EXPECT_EQ(short_read.error(), WireError::kInvalid);

  // A nested event whose identifier is damaged: the message is sound, the event is not.
  AlignedCopy nested(bytes);
  const auto verified = verify_upstream_batch(nested.span());
  ASSERT_TRUE(verified.ok());
  const auto first_event = blob_bytes(*verified.value()->events()->Get(0));
  const auto at = static_cast<std::size_t>(first_event.data() - nested.span().data());
  nested.mutable_span()[at + 4] = 'X';
  const auto bad_nested = verify_upstream_batch(nested.span());
  ASSERT_FALSE(bad_nested.ok());
  EXPECT_EQ(bad_nested.error(), WireError::kBadIdentifier);
}

TEST(UpstreamBatch, WhatIsNotAnUpstreamBatchIsRefused) {
  flatbuffers::FlatBufferBuilder fbb;
  const auto event = encode_event(fbb, sample_event());
  ASSERT_TRUE(event.ok());
  const AlignedCopy edge(event.value());
  const auto not_link = verify_upstream_batch(edge.span());
  ASSERT_FALSE(not_link.ok());
  EXPECT_EQ(not_link.error(), WireError::kBadIdentifier);

  const auto hello = encode_hello(fbb, {1, 2, "fw", "board", 64});
  ASSERT_TRUE(hello.ok());
  const AlignedCopy hello_copy(hello.value());
  const auto not_batch = verify_upstream_batch(hello_copy.span());
  ASSERT_FALSE(not_batch.ok());
  EXPECT_EQ(not_batch.error(), WireError::kMissingBody);

  const Bytes bytes = upstream_batch(0xA1, encoded_events(0xA1, 2));
  AlignedCopy wrong_id(bytes);
  wrong_id.mutable_span()[7] = 'X';  // "ELNX"
  const auto bad_identifier = verify_upstream_batch(wrong_id.span());
  ASSERT_FALSE(bad_identifier.ok());
  EXPECT_EQ(bad_identifier.error(), WireError::kBadIdentifier);

  std::vector<std::uint64_t> words(bytes.size() / 8 + 2);
  auto* odd_start = reinterpret_cast<std::uint8_t*>(words.data()) + 4;
  std::copy(bytes.begin(), bytes.end(), odd_start);
  const auto misaligned = verify_upstream_batch({odd_start, bytes.size()});
  ASSERT_FALSE(misaligned.ok());
  EXPECT_EQ(misaligned.error(), WireError::kMisaligned);
}

TEST(UpstreamBatch, FutureMajorVersionIsRefused) {
  flatbuffers::FlatBufferBuilder event_fbb;
  EventFields f = sample_event();
  f.schema_version = 0x0200;
  const auto future = encode_event(event_fbb, f);
  ASSERT_TRUE(future.ok());
  const AlignedCopy copy(
      upstream_batch(f.id.device, {Bytes(future.value().begin(), future.value().end())}));
  const auto refused = verify_upstream_batch(copy.span());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(), WireError::kUnsupportedVersion);
}

TEST(UpstreamBatch, AMisalignedNestedEventIsRefused) {
  const std::vector<Bytes> events = encoded_events(0xA1, 1);
  bool seen = false;
  for (const std::uint32_t pad : {0U, 4U}) {
    const AlignedCopy copy(upstream_batch(0xA1, events, false, pad));
    const auto* root = GetLinkMessage(copy.span().data());
    const auto nested = blob_bytes(*root->body_as_EventBatch()->events()->Get(0));
    if ((reinterpret_cast<std::uintptr_t>(nested.data()) & 7U) == 0U) {
      continue;
    }
    seen = true;
    const auto refused = verify_upstream_batch(copy.span());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error(), WireError::kMisaligned);
  }
  EXPECT_TRUE(seen);
}

TEST(UpstreamBatch, RandomCorruptionNeverCrashesTheVerifier) {
  const Bytes bytes = upstream_batch(0xA1, encoded_events(0xA1, 8));
  std::mt19937 rng(5);
  int refused = 0;
  for (int round = 0; round < 5000; ++round) {
    AlignedCopy copy(bytes);
    auto span = copy.mutable_span();
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) {
      span[rng() % span.size()] = static_cast<std::uint8_t>(rng());
    }
    const auto result = verify_upstream_batch(copy.span());
    if (!result.ok()) {
      ++refused;
      continue;
    }
    // Accepted: every nested event verifies in place and reads safely (ASan run).
    if (result.value()->events() == nullptr) {
      continue;
    }
    for (const EventBlob* blob : *result.value()->events()) {
      const auto event = verify_event(blob_bytes(*blob));
      ASSERT_TRUE(event.ok());
      EXPECT_EQ(event_id_of(*event.value()).device, result.value()->device());
      if (event.value()->sensor() != nullptr) {
        (void)event.value()->sensor()->str();
      }
    }
  }
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace edge::wire
