#include "edge/link/frame.h"

#include "edge/link/crc32c.h"

namespace edge::link {
namespace {

void put_le32(std::uint32_t value, std::span<std::uint8_t, kFrameCrcSize> out) {
  for (std::size_t i = 0; i < kFrameCrcSize; ++i) {
    out[i] = static_cast<std::uint8_t>(value >> (8U * i));
  }
}

std::uint32_t get_le32(std::span<const std::uint8_t, kFrameCrcSize> in) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < kFrameCrcSize; ++i) {
    value |= static_cast<std::uint32_t>(in[i]) << (8U * i);
  }
  return value;
}

// Largest payload whose encoded form fits `storage_size` bytes (inverse of the COBS bound).
std::size_t payload_capacity(std::size_t storage_size) {
  std::size_t n = storage_size;
  while (n > 0 && cobs_max_encoded_size(n) > storage_size) {
    --n;
  }
  return n > kFrameCrcSize ? n - kFrameCrcSize : 0;
}

}  // namespace

const char* to_string(FrameError error) {
  switch (error) {
    case FrameError::kEmptyPayload: return "empty_payload";
    case FrameError::kPayloadTooLarge: return "payload_too_large";
    case FrameError::kOutputTooSmall: return "output_too_small";
    case FrameError::kTooShort: return "too_short";
    case FrameError::kBadCobs: return "bad_cobs";
    case FrameError::kBadCrc: return "bad_crc";
    case FrameError::kOversize: return "oversize";
  }
  return "unknown";
}

Result<std::size_t, FrameError> encode_frame(std::span<const std::uint8_t> payload,
                                             std::span<std::uint8_t> out, std::size_t max_payload) {
  if (payload.empty()) {
    return FrameError::kEmptyPayload;
  }
  if (payload.size() > max_payload) {
    return FrameError::kPayloadTooLarge;
  }
  if (out.size() < max_encoded_frame_size(payload.size())) {
    return FrameError::kOutputTooSmall;
  }
  std::array<std::uint8_t, kFrameCrcSize> crc{};
  put_le32(crc32c(payload), crc);
  CobsWriter writer(out);
  writer.put(payload);
  writer.put(crc);
  std::size_t size = writer.finish();
  out[size++] = kFrameDelimiter;
  return size;
}

FrameDecoder::FrameDecoder(std::span<std::uint8_t> storage)
    : storage_(storage), max_payload_(payload_capacity(storage.size())) {}

Result<std::span<const std::uint8_t>, FrameError> FrameDecoder::finish() {
  const std::size_t length = length_;
  const bool overflowed = overflowed_;
  reset();
  if (overflowed) {
    return FrameError::kOversize;
  }
  if (length == 0) {
    return std::span<const std::uint8_t>{};
  }
  const Result<std::size_t, CobsError> decoded =
      cobs_decode(storage_.first(length), storage_.first(length));
  if (!decoded.ok()) {
    return FrameError::kBadCobs;
  }
  const std::size_t size = decoded.value();
  if (size < kFrameCrcSize + 1U) {
    return FrameError::kTooShort;
  }
  const std::size_t payload_size = size - kFrameCrcSize;
  // The storage bounds the encoded frame, not the payload: COBS turns a run of zeros into one
  // byte each, so up to storage - 5 payload bytes decode from a frame that fits. Past the bound
  // the frame is refused whatever its CRC, as the contract says.
  if (payload_size > max_payload_) {
    return FrameError::kOversize;
  }
  const std::span<const std::uint8_t> payload = storage_.first(payload_size);
  const std::uint32_t expected = get_le32(
      std::span<const std::uint8_t, kFrameCrcSize>(storage_.data() + payload_size, kFrameCrcSize));
  if (crc32c(payload) != expected) {
    return FrameError::kBadCrc;
  }
  return payload;
}

}  // namespace edge::link
