#include "edge/link/cobs.h"

namespace edge::link {

Result<std::size_t, CobsError> cobs_encode(std::span<const std::uint8_t> in,
                                           std::span<std::uint8_t> out) {
  if (out.size() < cobs_max_encoded_size(in.size())) {
    return CobsError::kOutputTooSmall;
  }
  CobsWriter writer(out);
  writer.put(in);
  return writer.finish();
}

Result<std::size_t, CobsError> cobs_decode(std::span<const std::uint8_t> in,
                                           std::span<std::uint8_t> out) {
  std::size_t read = 0;
  std::size_t write = 0;
  while (read < in.size()) {
    const std::uint8_t code = in[read++];
    if (code == 0U) {
      return CobsError::kZeroInInput;
    }
    const std::size_t run = static_cast<std::size_t>(code) - 1U;
    if (run > in.size() - read) {
      return CobsError::kTruncated;
    }
    if (run > out.size() - write) {
      return CobsError::kOutputTooSmall;
    }
    for (std::size_t i = 0; i < run; ++i) {
      const std::uint8_t byte = in[read++];
      if (byte == 0U) {
        return CobsError::kZeroInInput;
      }
      out[write++] = byte;
    }
    // Every block but a full one (0xFF) and the last is followed by an implicit zero.
    if (code != 0xFFU && read < in.size()) {
      if (write >= out.size()) {
        return CobsError::kOutputTooSmall;
      }
      out[write++] = 0U;
    }
  }
  return write;
}

}  // namespace edge::link
