// libFuzzer target: FlatBuffers verification (schemas/wire): verify_event, verify_link_message
// and verify_upstream_batch on the same untrusted bytes, then everything the gateway does with a
// buffer that passed: read every field, verify each nested event as ingest does, and render it
// as JSON as the forwarder and edgectl do (gateway/render).
//
// Invariants checked besides "no crash, no sanitizer report":
//   - a verified Event reads back through every accessor, renders to JSON that serialises
//     (dump() never throws), and re-encodes (encode_event) to an Event that verifies with the
//     same field values;
//   - a refused buffer is refused with one of the documented errors, and the same bytes one
//     byte off 8-alignment are refused as kMisaligned;
//   - a verified upstream batch holds only events that verify in place, of its own device
//     (the contract in messages.h).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "edge/gateway/event_json.h"
#include "edge/wire/messages.h"
#include "fuzz_check.h"

namespace {

using edge::wire::WireError;

std::string_view text(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view{} : std::string_view(s->c_str(), s->size());
}

template <typename Float>
bool same_float(Float a, Float b) {
  return a == b || (std::isnan(a) && std::isnan(b));
}

// The fields of a verified Event, or false when a field cannot be re-encoded as it is (a string
// above the encoder's bound, or a union member this build does not know: both legal in a buffer,
// but not what encode_event produces). verify_event refuses a reading type without its reading.
bool fields_of(const edge::wire::Event& e, edge::wire::EventFields& f) {
  using edge::wire::Reading;
  using edge::wire::ReadingValue;
  f.id = edge::wire::event_id_of(e);
  f.mono_us = e.mono_us();
  f.wall_ms = e.wall_ms();
  f.sensor = text(e.sensor());
  f.channel = e.channel();
  f.quality = e.quality();
  f.schema_version = e.schema_version();
  switch (e.reading_type()) {
    case Reading::NONE: f.reading = {}; break;
    case Reading::Temperature:
      FUZZ_CHECK(e.reading_as_Temperature() != nullptr,
                 "a verified event has a reading type without its reading");
      f.reading = ReadingValue::temperature(e.reading_as_Temperature()->celsius());
      break;
    case Reading::Humidity:
      FUZZ_CHECK(e.reading_as_Humidity() != nullptr,
                 "a verified event has a reading type without its reading");
      f.reading = ReadingValue::humidity(e.reading_as_Humidity()->percent_rh());
      break;
    case Reading::Pressure:
      FUZZ_CHECK(e.reading_as_Pressure() != nullptr,
                 "a verified event has a reading type without its reading");
      f.reading = ReadingValue::pressure(e.reading_as_Pressure()->pascal());
      break;
    case Reading::Vector3: {
      const auto* v = e.reading_as_Vector3();
      FUZZ_CHECK(v != nullptr, "a verified event has a reading type without its reading");
      f.reading = ReadingValue::vector3(v->x(), v->y(), v->z(), v->unit());
      break;
    }
    case Reading::Scalar: {
      const auto* s = e.reading_as_Scalar();
      FUZZ_CHECK(s != nullptr, "a verified event has a reading type without its reading");
      f.reading = ReadingValue::scalar_value(s->value(), s->unit(), text(s->unit_name()));
      break;
    }
    default: return false;
  }
  return f.sensor.size() <= edge::wire::kMaxSensorNameLength &&
         f.reading.unit_name.size() <= edge::wire::kMaxUnitNameLength;
}

bool same_fields(const edge::wire::EventFields& a, const edge::wire::EventFields& b) {
  return a.id == b.id && a.mono_us == b.mono_us && a.wall_ms == b.wall_ms && a.sensor == b.sensor &&
         a.channel == b.channel && a.quality == b.quality && a.schema_version == b.schema_version &&
         a.reading.kind == b.reading.kind && same_float(a.reading.x, b.reading.x) &&
         same_float(a.reading.y, b.reading.y) && same_float(a.reading.z, b.reading.z) &&
         same_float(a.reading.scalar, b.reading.scalar) && a.reading.unit == b.reading.unit &&
         a.reading.unit_name == b.reading.unit_name;
}

// What the gateway does with a verified event: ingest reads its id, the forwarder and edgectl
// render it. And the encoder must reproduce it.
void use_event(const edge::wire::Event& event) {
  const nlohmann::json json = edge::gateway::event_to_json(event);
  const std::string dumped = json.dump();  // the forwarder's json payload: must not throw
  FUZZ_CHECK(!dumped.empty(), "an event rendered to nothing");

  edge::wire::EventFields fields;
  if (!fields_of(event, fields)) {
    return;
  }
  flatbuffers::FlatBufferBuilder fbb;
  const auto encoded = edge::wire::encode_event(fbb, fields);
  FUZZ_CHECK(encoded.ok(), "a verified event's fields do not encode");
  const auto again = edge::wire::verify_event(encoded.value());
  FUZZ_CHECK(again.ok(), "a re-encoded event does not verify");
  edge::wire::EventFields round_trip;
  FUZZ_CHECK(fields_of(*again.value(), round_trip), "a re-encoded event cannot be read back");
  FUZZ_CHECK(same_fields(fields, round_trip), "a re-encoded event reads back different");
}

void check_verifier_error(WireError error) {
  FUZZ_CHECK(static_cast<std::size_t>(error) < edge::wire::kWireErrorCount,
             "an undocumented error");
  FUZZ_CHECK(error != WireError::kFieldTooLong && error != WireError::kTooManyItems,
             "a verifier returned an encoder's error");
}

void verify_as_event(std::span<const std::uint8_t> bytes) {
  const auto event = edge::wire::verify_event(bytes);
  if (!event.ok()) {
    check_verifier_error(event.error());
    FUZZ_CHECK(
        event.error() != WireError::kMissingBody && event.error() != WireError::kDeviceMismatch,
        "verify_event returned a link message's error");
    return;
  }
  FUZZ_CHECK(event.value()->id() != nullptr, "a verified event has no id");
  FUZZ_CHECK(edge::wire::schema_supported(event.value()->schema_version()),
             "a verified event has an unsupported version");
  use_event(*event.value());
}

void verify_as_link_message(std::span<const std::uint8_t> bytes) {
  const auto message = edge::wire::verify_link_message(bytes);
  if (!message.ok()) {
    check_verifier_error(message.error());
    return;
  }
  const edge::wire::LinkMessage& m = *message.value();
  FUZZ_CHECK(m.body() != nullptr, "a verified link message has no body");
  if (const auto* hello = m.body_as_Hello()) {
    volatile std::size_t sink =
        text(hello->firmware_version()).size() + text(hello->board()).size() + hello->boot();
    (void)sink;
  } else if (const auto* batch = m.body_as_EventBatch()) {
    if (batch->events() != nullptr) {
      for (const edge::wire::EventBlob* blob : *batch->events()) {
        if (blob->data() == nullptr) {
          continue;
        }
        // As ingest does: an aligned copy of each nested event, then verify_event.
        const std::span<const std::uint8_t> nested = edge::wire::blob_bytes(*blob);
        const std::vector<std::uint8_t> copy(nested.begin(), nested.end());
        verify_as_event(copy);
      }
    }
  } else if (const auto* ack = m.body_as_Ack()) {
    if (ack->selective() != nullptr) {
      std::uint64_t sum = 0;
      for (const edge::wire::SeqRange* range : *ack->selective()) {
        sum += range->last() - range->first();
      }
      volatile std::uint64_t sink = sum;
      (void)sink;
    }
  }
}

void verify_as_upstream_batch(std::span<const std::uint8_t> bytes) {
  const auto batch = edge::wire::verify_upstream_batch(bytes);
  if (!batch.ok()) {
    check_verifier_error(batch.error());
    return;
  }
  if (batch.value()->events() == nullptr) {
    return;
  }
  for (const edge::wire::EventBlob* blob : *batch.value()->events()) {
    const auto event = edge::wire::verify_event(edge::wire::blob_bytes(*blob));
    FUZZ_CHECK(event.ok(), "an event of a verified upstream batch does not verify in place");
    FUZZ_CHECK(edge::wire::event_id_of(*event.value()).device == batch.value()->device(),
               "an event of a verified upstream batch names another device");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An exact-size heap copy: 8-aligned (operator new gives 16), and ASan sees one byte past it.
  const std::vector<std::uint8_t> aligned(data, data + size);
  verify_as_event(aligned);
  verify_as_link_message(aligned);
  verify_as_upstream_batch(aligned);

  // The same bytes one off alignment: refused before anything reads them.
  if (size >= 8 && size <= edge::wire::kMaxEventSize) {
    std::vector<std::uint8_t> shifted(size + 1);
    std::copy(data, data + size, shifted.begin() + 1);
    const auto event = edge::wire::verify_event(std::span(shifted).subspan(1));
    FUZZ_CHECK(!event.ok() && event.error() == WireError::kMisaligned,
               "a misaligned event was not refused as misaligned");
    const auto message = edge::wire::verify_link_message(std::span(shifted).subspan(1));
    FUZZ_CHECK(!message.ok() && message.error() == WireError::kMisaligned,
               "a misaligned link message was not refused as misaligned");
  }
  return 0;
}
