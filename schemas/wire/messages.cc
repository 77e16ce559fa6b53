#include "edge/wire/messages.h"

#include <array>
#include <cstring>

#include "edge/link/frame.h"

namespace edge::wire {
namespace {

// Depth and table-count limits for untrusted buffers: an Event is 3 levels deep and holds at
// most 3 tables; a LinkMessage with a full batch holds 2 + 2 * kMaxBatchEvents.
constexpr flatbuffers::uoffset_t kVerifierMaxDepth = 8;
constexpr flatbuffers::uoffset_t kVerifierMaxTables = 64;
// An upstream batch: the LinkMessage, the EventBatch and one EventBlob per event. Each blob of a
// well-formed batch takes more than 16 bytes (its offset in the vector, its table, its data
// vector holding a nested Event), so none within kMaxUpstreamBatchBytes holds more tables; a
// hostile one pointing many offsets at the same blob is cut off here.
constexpr flatbuffers::uoffset_t kUpstreamVerifierMaxTables = 2 + kMaxUpstreamBatchBytes / 16;

std::span<const std::uint8_t> finished(const flatbuffers::FlatBufferBuilder& fbb) {
  return {fbb.GetBufferPointer(), fbb.GetSize()};
}

bool aligned8(const void* p) {
  return (reinterpret_cast<std::uintptr_t>(p) & 7U) == 0U;
}

flatbuffers::Offset<void> build_reading(flatbuffers::FlatBufferBuilder& fbb,
                                        const ReadingValue& r) {
  switch (r.kind) {
    case Reading::Temperature: return CreateTemperature(fbb, r.x).Union();
    case Reading::Humidity: return CreateHumidity(fbb, r.x).Union();
    case Reading::Pressure: return CreatePressure(fbb, r.x).Union();
    case Reading::Vector3: return CreateVector3(fbb, r.x, r.y, r.z, r.unit).Union();
    case Reading::Scalar: {
      const auto unit_name =
          r.unit_name.empty() ? 0 : fbb.CreateString(r.unit_name.data(), r.unit_name.size());
      return CreateScalar(fbb, r.scalar, r.unit, unit_name).Union();
    }
    case Reading::NONE: break;
  }
  return 0;
}

}  // namespace

const char* to_string(WireError error) {
  switch (error) {
    case WireError::kFieldTooLong: return "field_too_long";
    case WireError::kTooManyItems: return "too_many_items";
    case WireError::kTooLarge: return "too_large";
    case WireError::kMisaligned: return "misaligned";
    case WireError::kBadIdentifier: return "bad_identifier";
    case WireError::kInvalid: return "invalid_flatbuffer";
    case WireError::kUnsupportedVersion: return "unsupported_version";
    case WireError::kMissingBody: return "missing_body";
    case WireError::kDeviceMismatch: return "device_mismatch";
  }
  return "unknown";
}

Result<std::span<const std::uint8_t>, WireError> encode_event(flatbuffers::FlatBufferBuilder& fbb,
                                                              const EventFields& f) {
  if (f.sensor.size() > kMaxSensorNameLength || f.reading.unit_name.size() > kMaxUnitNameLength) {
    return WireError::kFieldTooLong;
  }
  fbb.Clear();
  const auto sensor = fbb.CreateString(f.sensor.data(), f.sensor.size());
  const auto reading = build_reading(fbb, f.reading);
  const edge::wire::EventId id(f.id.device, f.id.boot, f.id.seq);
  EventBuilder event(fbb);
  event.add_schema_version(f.schema_version);
  event.add_id(&id);
  event.add_mono_us(f.mono_us);
  if (f.wall_ms.has_value()) {
    event.add_wall_ms(*f.wall_ms);
  }
  event.add_sensor(sensor);
  event.add_channel(f.channel);
  event.add_reading_type(f.reading.kind);
  event.add_reading(reading);
  event.add_quality(f.quality);
  FinishEventBuffer(fbb, event.Finish());
  return finished(fbb);
}

Result<std::span<const std::uint8_t>, WireError> encode_hello(flatbuffers::FlatBufferBuilder& fbb,
                                                              const HelloFields& f) {
  if (f.firmware_version.size() > kMaxHelloStringLength || f.board.size() > kMaxHelloStringLength) {
    return WireError::kFieldTooLong;
  }
  fbb.Clear();
  const auto firmware = fbb.CreateString(f.firmware_version.data(), f.firmware_version.size());
  const auto board = fbb.CreateString(f.board.data(), f.board.size());
  const auto hello =
      CreateHello(fbb, f.device, f.boot, f.schema_version, firmware, board, f.ring_capacity);
  FinishLinkMessageBuffer(fbb,
                          CreateLinkMessage(fbb, f.schema_version, Body::Hello, hello.Union()));
  return finished(fbb);
}

Result<std::span<const std::uint8_t>, WireError> encode_batch(
    flatbuffers::FlatBufferBuilder& fbb, std::uint64_t device,
    std::span<const std::span<const std::uint8_t>> events, std::uint32_t ring_dropped) {
  if (events.size() > kMaxBatchEvents) {
    return WireError::kTooManyItems;
  }
  for (const auto& event : events) {
    if (event.size() > kMaxEventSize) {
      return WireError::kTooLarge;
    }
  }
  fbb.Clear();
  std::array<flatbuffers::Offset<EventBlob>, kMaxBatchEvents> blobs{};
  for (std::size_t i = 0; i < events.size(); ++i) {
    // A nested Event holds 8-byte fields: keep its first byte 8-aligned within the message.
    fbb.ForceVectorAlignment(events[i].size(), sizeof(std::uint8_t), 8);
    const auto data = fbb.CreateVector(events[i].data(), events[i].size());
    blobs[i] = CreateEventBlob(fbb, data);
  }
  const auto vector = fbb.CreateVector(blobs.data(), events.size());
  const auto batch = CreateEventBatch(fbb, device, vector, ring_dropped);
  FinishLinkMessageBuffer(fbb,
                          CreateLinkMessage(fbb, kSchemaVersion, Body::EventBatch, batch.Union()));
  return finished(fbb);
}

Result<std::span<const std::uint8_t>, WireError> encode_ack(flatbuffers::FlatBufferBuilder& fbb,
                                                            const AckFields& f) {
  if (f.selective.size() > kMaxSelectiveRanges) {
    return WireError::kTooManyItems;
  }
  fbb.Clear();
  const auto selective =
      f.selective.empty() ? 0 : fbb.CreateVectorOfStructs(f.selective.data(), f.selective.size());
  const auto ack = CreateAck(fbb, f.device, f.boot, f.status, f.cumulative_seq.has_value(),
                             f.cumulative_seq.value_or(0), selective, f.retry_after_ms);
  FinishLinkMessageBuffer(fbb, CreateLinkMessage(fbb, kSchemaVersion, Body::Ack, ack.Union()));
  return finished(fbb);
}

Result<const Event*, WireError> verify_event(std::span<const std::uint8_t> bytes,
                                             std::size_t max_size) {
  if (bytes.size() > max_size) {
    return WireError::kTooLarge;
  }
  if (!aligned8(bytes.data())) {
    return WireError::kMisaligned;
  }
  if (bytes.size() < 8 || !EventBufferHasIdentifier(bytes.data())) {
    return WireError::kBadIdentifier;
  }
  flatbuffers::Verifier verifier(bytes.data(), bytes.size(), kVerifierMaxDepth, kVerifierMaxTables);
  if (!VerifyEventBuffer(verifier)) {
    return WireError::kInvalid;
  }
  const Event* event = GetEvent(bytes.data());
  if (!schema_supported(event->schema_version())) {
    return WireError::kUnsupportedVersion;
  }
  // The FlatBuffers Verifier accepts a union type whose table is absent; every reader of a
  // reading (the JSON rendering, consumers) would dereference null, and no encoder makes one.
  if (event->reading_type() != Reading::NONE && event->reading() == nullptr) {
    return WireError::kInvalid;
  }
  return event;
}

Result<const LinkMessage*, WireError> verify_link_message(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > link::kMaxFramePayload) {
    return WireError::kTooLarge;
  }
  if (!aligned8(bytes.data())) {
    return WireError::kMisaligned;
  }
  if (bytes.size() < 8 || !LinkMessageBufferHasIdentifier(bytes.data())) {
    return WireError::kBadIdentifier;
  }
  flatbuffers::Verifier verifier(bytes.data(), bytes.size(), kVerifierMaxDepth, kVerifierMaxTables);
  if (!VerifyLinkMessageBuffer(verifier)) {
    return WireError::kInvalid;
  }
  const LinkMessage* message = GetLinkMessage(bytes.data());
  if (!schema_supported(message->schema_version())) {
    return WireError::kUnsupportedVersion;
  }
  if (message->body_type() == Body::NONE || message->body() == nullptr ||
      message->body_type() > Body::MAX) {
    return WireError::kMissingBody;
  }
  return message;
}

Result<const EventBatch*, WireError> verify_upstream_batch(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxUpstreamBatchBytes) {
    return WireError::kTooLarge;
  }
  if (!aligned8(bytes.data())) {
    return WireError::kMisaligned;
  }
  if (bytes.size() < 8 || !LinkMessageBufferHasIdentifier(bytes.data())) {
    return WireError::kBadIdentifier;
  }
  flatbuffers::Verifier verifier(bytes.data(), bytes.size(), kVerifierMaxDepth,
                                 kUpstreamVerifierMaxTables);
  if (!VerifyLinkMessageBuffer(verifier)) {
    return WireError::kInvalid;
  }
  const LinkMessage* message = GetLinkMessage(bytes.data());
  if (!schema_supported(message->schema_version())) {
    return WireError::kUnsupportedVersion;
  }
  const EventBatch* batch = message->body_as_EventBatch();
  if (batch == nullptr) {
    return WireError::kMissingBody;
  }
  if (batch->events() == nullptr) {
    return batch;
  }
  for (const EventBlob* blob : *batch->events()) {
    if (blob == nullptr || blob->data() == nullptr) {
      return WireError::kInvalid;
    }
    const auto event = verify_event(blob_bytes(*blob));
    if (!event.ok()) {
      return event.error();
    }
    if (event_id_of(*event.value()).device != batch->device()) {
      return WireError::kDeviceMismatch;
    }
  }
  return batch;
}

}  // namespace edge::wire
