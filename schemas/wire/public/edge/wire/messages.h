// Encoding and verifying the wire messages of schemas/event.fbs and schemas/link.fbs.
//
// Encoders write into a FlatBufferBuilder the caller owns (a StaticBuilder<N> on a device, a
// heap builder on the gateway) and return a span over its finished buffer, valid until the
// builder is used again. Every variable-length input has a named bound, checked before anything
// is written, so a StaticBuilder sized by the k*Max*Size constants below never overflows.
//
// Verifiers are the only way untrusted bytes become typed messages: identifier, FlatBuffers
// Verifier (bounds, offsets, depth, alignment), schema major, and required fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "edge/base/result.h"
#include "edge/event_id/event_id.h"
#include "edge/wire/event_generated.h"
#include "edge/wire/link_generated.h"
#include "edge/wire/version.h"

namespace edge::wire {

/// Longest sensor name ("tmp105", "bme280.1", ...), bytes.
inline constexpr std::size_t kMaxSensorNameLength = 15;
/// Longest unit name of a Scalar reading, bytes.
inline constexpr std::size_t kMaxUnitNameLength = 15;
/// Longest firmware version or board string in a Hello, bytes.
inline constexpr std::size_t kMaxHelloStringLength = 31;
/// Largest encoded Event. Encoders cannot exceed it (see the worst-case tests); verifiers refuse
/// anything larger as kTooLarge.
inline constexpr std::size_t kMaxEventSize = 256;
/// Most events in one EventBatch; with kMaxEventSize it bounds a batch under kMaxFramePayload.
inline constexpr std::size_t kMaxBatchEvents = 6;
/// Most selective ranges in one Ack.
inline constexpr std::size_t kMaxSelectiveRanges = 16;
/// Largest LinkMessage{EventBatch} the gateway publishes upstream (the forwarder's "batch" payload,
/// [upstream] batch_max_bytes at most). Far above kMaxFramePayload, the serial-link bound that
/// verify_link_message applies, hence verify_upstream_batch.
inline constexpr std::size_t kMaxUpstreamBatchBytes = 131072;
/// Arena sizes that hold the worst case of each encoder (payload plus builder bookkeeping).
inline constexpr std::size_t kEventBuilderSize = 512;
inline constexpr std::size_t kLinkBuilderSize = 2560;

enum class WireError {
  kFieldTooLong,        // encode: a string above its bound
  kTooManyItems,        // encode: more events or ranges than the bound
  kTooLarge,            // verify: buffer above its bound
  kMisaligned,          // verify: buffer not 8-byte aligned (copy it first)
  kBadIdentifier,       // verify: not an "EDGE" / "ELNK" buffer
  kInvalid,             // verify: FlatBuffers Verifier refused it (corrupt or hostile)
  kUnsupportedVersion,  // verify: schema major this build does not read
  kMissingBody,         // verify: LinkMessage without a known body (or not the expected one)
  kDeviceMismatch,      // verify: an event in a batch belongs to another device than the batch
};
inline constexpr std::size_t kWireErrorCount = 9;

/// Stable lower-case name for logs and metric labels ("bad_identifier", ...).
[[nodiscard]] const char* to_string(WireError error);

/// One reading, with the value in the field its kind names.
struct ReadingValue {
  Reading kind = Reading::NONE;
  float x = 0.0F;  // celsius, percent_rh, pascal, or vector x
  float y = 0.0F;
  float z = 0.0F;
  double scalar = 0.0;
  Unit unit = Unit::None;
  std::string_view unit_name;

  static ReadingValue temperature(float celsius) {
    return {Reading::Temperature, celsius, 0.0F, 0.0F, 0.0, Unit::Celsius, {}};
  }
  static ReadingValue humidity(float percent_rh) {
    return {Reading::Humidity, percent_rh, 0.0F, 0.0F, 0.0, Unit::PercentRh, {}};
  }
  static ReadingValue pressure(float pascal) {
    return {Reading::Pressure, pascal, 0.0F, 0.0F, 0.0, Unit::Pascal, {}};
  }
  static ReadingValue vector3(float x, float y, float z, Unit unit) {
    return {Reading::Vector3, x, y, z, 0.0, unit, {}};
  }
  static ReadingValue scalar_value(double value, Unit unit, std::string_view unit_name = {}) {
    return {Reading::Scalar, 0.0F, 0.0F, 0.0F, value, unit, unit_name};
  }
};

struct EventFields {
  edge::EventId id;  // the C++ id type; wire::EventId is the generated FlatBuffers struct
  std::uint64_t mono_us = 0;
  std::optional<std::int64_t> wall_ms;
  std::string_view sensor;
  std::uint8_t channel = 0;
  ReadingValue reading;
  Quality quality = Quality::NONE;
  std::uint16_t schema_version = kSchemaVersion;
};

/// Builds one finished Event buffer (identifier "EDGE"). Errors: kFieldTooLong.
Result<std::span<const std::uint8_t>, WireError> encode_event(flatbuffers::FlatBufferBuilder& fbb,
                                                              const EventFields& fields);

struct HelloFields {
  std::uint64_t device = 0;
  std::uint32_t boot = 0;
  std::string_view firmware_version;
  std::string_view board;
  std::uint32_t ring_capacity = 0;
  std::uint16_t schema_version = kSchemaVersion;
};

/// Builds a LinkMessage holding a Hello. Errors: kFieldTooLong.
Result<std::span<const std::uint8_t>, WireError> encode_hello(flatbuffers::FlatBufferBuilder& fbb,
                                                              const HelloFields& fields);

/// Builds a LinkMessage holding an EventBatch of finished Event buffers (each as encode_event
/// returned it). Errors: kTooManyItems (more than kMaxBatchEvents), kTooLarge (an event above
/// kMaxEventSize).
Result<std::span<const std::uint8_t>, WireError> encode_batch(
    flatbuffers::FlatBufferBuilder& fbb, std::uint64_t device,
    std::span<const std::span<const std::uint8_t>> events, std::uint32_t ring_dropped);

struct AckFields {
  std::uint64_t device = 0;
  std::uint32_t boot = 0;
  AckStatus status = AckStatus::Ok;
  std::optional<std::uint32_t> cumulative_seq;
  std::span<const SeqRange> selective;
  std::uint32_t retry_after_ms = 0;
};

/// Builds a LinkMessage holding an Ack. Errors: kTooManyItems (above kMaxSelectiveRanges).
Result<std::span<const std::uint8_t>, WireError> encode_ack(flatbuffers::FlatBufferBuilder& fbb,
                                                            const AckFields& fields);

/// Verifies an Event buffer. Errors: kTooLarge, kMisaligned, kBadIdentifier, kInvalid (also a
/// reading type without its reading table), kUnsupportedVersion. On success the pointer is
/// valid as long as `bytes`, and reading() is non-null whenever reading_type() is not NONE.
Result<const Event*, WireError> verify_event(std::span<const std::uint8_t> bytes,
                                             std::size_t max_size = kMaxEventSize);

/// Verifies a LinkMessage buffer (one frame's payload), including the structure of nested
/// events; call verify_event on each event to check its identifier and version. Errors:
/// kTooLarge, kMisaligned, kBadIdentifier, kInvalid, kUnsupportedVersion, kMissingBody.
Result<const LinkMessage*, WireError> verify_link_message(std::span<const std::uint8_t> bytes);

/// Verifies an upstream batch message: a LinkMessage (identifier "ELNK") whose body is an
/// EventBatch, as the forwarder publishes in "batch" payload mode, and every Event nested in it.
/// Neither allocates nor throws (device code rules). Errors:
///   kTooLarge           `bytes` above kMaxUpstreamBatchBytes
///   kMisaligned         `bytes` not 8-byte aligned (copy it first), or a nested Event not
///                       8-aligned within it (encode_batch aligns them; a sender must too)
///   kBadIdentifier      not an "ELNK" buffer, or a nested event not an "EDGE" buffer
///   kInvalid            the FlatBuffers Verifier refused the message or a nested event, or a
///                       blob has no data
///   kUnsupportedVersion schema major of the message or of a nested event not readable
///   kMissingBody        the body is not an EventBatch (none, Hello, Ack, or unknown)
///   kDeviceMismatch     a nested event's id names another device than EventBatch.device
/// A nested event above kMaxEventSize is refused as kTooLarge. events() may be null (a batch
/// with no events). On success the pointer is valid as long as `bytes`, and every blob verifies
/// with verify_event in place.
Result<const EventBatch*, WireError> verify_upstream_batch(std::span<const std::uint8_t> bytes);

/// The event id of a verified Event.
[[nodiscard]] inline edge::EventId event_id_of(const Event& event) {
  const edge::wire::EventId* id = event.id();
  return edge::EventId{id->device(), id->boot(), id->seq()};
}

/// The bytes of one blob of a verified EventBatch.
[[nodiscard]] inline std::span<const std::uint8_t> blob_bytes(const EventBlob& blob) {
  return {blob.data()->data(), blob.data()->size()};
}

}  // namespace edge::wire
