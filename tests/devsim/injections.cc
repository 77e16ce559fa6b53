#include "injections.h"

#include <algorithm>
#include <array>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>

#include "edge/link/cobs.h"
#include "edge/link/crc32c.h"
#include "edge/link/frame.h"
#include "edge/wire/messages.h"

namespace edge::devsim {
namespace {

constexpr std::array<std::pair<Injection, const char*>, 7> kNames = {{
    {Injection::kBadCrc, "bad_crc"},
    {Injection::kTruncated, "truncated"},
    {Injection::kOversize, "oversize"},
    {Injection::kBadIdentifier, "bad_identifier"},
    {Injection::kFutureVersion, "future_version"},
    {Injection::kGarbage, "garbage"},
    {Injection::kInvalidFlatbuffer, "invalid_flatbuffer"},
}};

// A seq the simulator never produces, for events that only exist inside injected frames.
constexpr std::uint32_t kInjectedSeq = std::numeric_limits<std::uint32_t>::max();
constexpr std::size_t kOversizeBytes = 5000;
constexpr std::size_t kGarbageBytes = 200;
constexpr std::uint32_t kGarbageSeed = 0x5EED0001U;

Bytes copy_of(std::span<const std::uint8_t> bytes) {
  return {bytes.begin(), bytes.end()};
}

Bytes hello_payload(std::uint64_t device, std::uint32_t boot) {
  flatbuffers::FlatBufferBuilder fbb(wire::kLinkBuilderSize);
  wire::HelloFields hello;
  hello.device = device;
  hello.boot = boot;
  hello.firmware_version = "devsim";
  hello.board = "devsim";
  const auto encoded = wire::encode_hello(fbb, hello);
  if (!encoded.ok()) {
    throw std::logic_error("devsim: encode_hello failed");
  }
  return copy_of(encoded.value());
}

Bytes event_payload(std::uint64_t device, std::uint32_t boot) {
  flatbuffers::FlatBufferBuilder fbb(wire::kEventBuilderSize);
  wire::EventFields fields;
  fields.id = {device, boot, kInjectedSeq};
  fields.sensor = "inject";
  fields.reading = wire::ReadingValue::temperature(0.0F);
  const auto encoded = wire::encode_event(fbb, fields);
  if (!encoded.ok()) {
    throw std::logic_error("devsim: encode_event failed");
  }
  return copy_of(encoded.value());
}

// Like wire::encode_batch, but with the LinkMessage's schema_version set by the caller.
Bytes batch_payload_with_version(std::uint64_t device, std::uint32_t boot, std::uint16_t version) {
  const Bytes event = event_payload(device, boot);
  flatbuffers::FlatBufferBuilder fbb(wire::kLinkBuilderSize);
  fbb.ForceVectorAlignment(event.size(), sizeof(std::uint8_t), 8);
  const auto data = fbb.CreateVector(event.data(), event.size());
  const std::array<flatbuffers::Offset<wire::EventBlob>, 1> blobs = {
      wire::CreateEventBlob(fbb, data)};
  const auto vector = fbb.CreateVector(blobs.data(), blobs.size());
  const auto batch = wire::CreateEventBatch(fbb, device, vector, 0);
  wire::FinishLinkMessageBuffer(
      fbb, wire::CreateLinkMessage(fbb, version, wire::Body::EventBatch, batch.Union()));
  return copy_of({fbb.GetBufferPointer(), fbb.GetSize()});
}

Bytes bad_crc(std::uint64_t device, std::uint32_t boot) {
  Bytes payload = hello_payload(device, boot);
  const std::uint32_t crc = link::crc32c(payload);
  payload[payload.size() / 2] ^= 0x01U;
  Bytes out(link::max_encoded_frame_size(payload.size()));
  link::CobsWriter writer(out);
  writer.put(payload);
  for (std::size_t i = 0; i < link::kFrameCrcSize; ++i) {
    writer.put(static_cast<std::uint8_t>(crc >> (8U * i)));
  }
  out.resize(writer.finish());
  out.push_back(link::kFrameDelimiter);
  return out;
}

// The first half of a good frame, lengthened byte by byte until the cut falls inside a COBS
// block, so the gateway's decoder reports bad_cobs (never a lucky bad_crc).
Bytes truncated(std::uint64_t device, std::uint32_t boot) {
  const Bytes whole = frame_of(hello_payload(device, boot));
  const std::size_t encoded = whole.size() - 1;
  for (std::size_t cut = encoded / 2; cut < encoded; ++cut) {
    Bytes out(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(cut));
    out.push_back(link::kFrameDelimiter);
    link::FrameDecoderBuffer<> decoder;
    bool bad_cobs = false;
    decoder.feed(
        out, [](std::span<const std::uint8_t>) {},
        [&](link::FrameError e) { bad_cobs = e == link::FrameError::kBadCobs; });
    if (bad_cobs) {
      return out;
    }
  }
  throw std::logic_error("devsim: no cut of the frame gives bad_cobs");
}

Bytes garbage() {
  std::mt19937 rng(kGarbageSeed);
  Bytes out(kGarbageBytes);
  for (auto& byte : out) {
    byte = static_cast<std::uint8_t>(1U + rng() % 255U);
  }
  out.push_back(link::kFrameDelimiter);
  return out;
}

// Root offset 12 and the "ELNK" identifier, then 0xA5: the root table's vtable offset points
// far outside the buffer, which the Verifier refuses.
Bytes invalid_flatbuffer() {
  Bytes payload(64, 0xA5U);
  const std::array<std::uint8_t, 8> header = {12, 0, 0, 0, 'E', 'L', 'N', 'K'};
  std::copy(header.begin(), header.end(), payload.begin());
  return frame_of(payload);
}

}  // namespace

const char* to_string(Injection injection) {
  for (const auto& [value, name] : kNames) {
    if (value == injection) {
      return name;
    }
  }
  return "unknown";
}

std::optional<Injection> parse_injection(std::string_view name) {
  for (const auto& [value, known] : kNames) {
    if (name == known) {
      return value;
    }
  }
  return std::nullopt;
}

std::vector<Injection> parse_injections(std::string_view names) {
  std::vector<Injection> out;
  if (names.empty()) {
    return out;
  }
  for (;;) {
    const std::size_t comma = names.find(',');
    const std::string_view name = names.substr(0, comma);
    const auto injection = parse_injection(name);
    if (!injection) {
      throw std::invalid_argument("unknown injection '" + std::string(name) + "'");
    }
    out.push_back(*injection);
    if (comma == std::string_view::npos) {
      return out;
    }
    names = names.substr(comma + 1);
  }
}

Bytes frame_of(std::span<const std::uint8_t> payload) {
  Bytes out(link::max_encoded_frame_size(payload.size()));
  const auto size = link::encode_frame(payload, out);
  if (!size.ok()) {
    throw std::logic_error(std::string("devsim: encode_frame: ") + link::to_string(size.error()));
  }
  out.resize(size.value());
  return out;
}

Bytes build_injection(Injection injection, std::uint64_t device, std::uint32_t boot) {
  switch (injection) {
    case Injection::kBadCrc: return bad_crc(device, boot);
    case Injection::kTruncated: return truncated(device, boot);
    case Injection::kOversize: {
      Bytes out(kOversizeBytes, 0x55U);
      out.push_back(link::kFrameDelimiter);
      return out;
    }
    case Injection::kBadIdentifier: return frame_of(event_payload(device, boot));
    case Injection::kFutureVersion:
      return frame_of(batch_payload_with_version(device, boot, 0x0200));
    case Injection::kGarbage: return garbage();
    case Injection::kInvalidFlatbuffer: return invalid_flatbuffer();
  }
  throw std::logic_error("devsim: unknown injection");
}

}  // namespace edge::devsim
