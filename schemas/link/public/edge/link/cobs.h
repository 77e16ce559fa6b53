// Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999): removes every 0x00 from a block so
// 0x00 can delimit frames. Overhead is one byte per started run of 254 non-zero bytes, plus one.
//
// Encoded form: a sequence of blocks, each a code byte c (1..255) followed by c-1 data bytes; a
// block with c < 255 is followed by an implicit 0x00, except at the very end of the data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "edge/base/result.h"

namespace edge::link {

enum class CobsError {
  kOutputTooSmall,  // `out` cannot hold the result
  kZeroInInput,     // decode: a 0x00 inside encoded data (it is the delimiter, never data)
  kTruncated,       // decode: a code byte promises more bytes than remain
};

/// Largest encoded size for `n` input bytes (without the frame delimiter).
[[nodiscard]] constexpr std::size_t cobs_max_encoded_size(std::size_t n) {
  return n + n / 254U + 1U;
}

/// Streaming encoder: put bytes in any number of pieces, then finish(). `out` must hold
/// cobs_max_encoded_size(total bytes put); the caller checks that once, up front, so the hot loop
/// carries no bounds checks. Produces the canonical encoding (no empty block after a full run
/// that ends the data).
class CobsWriter {
 public:
  explicit CobsWriter(std::span<std::uint8_t> out) : out_(out) {}

  void put(std::span<const std::uint8_t> bytes) {
    for (const std::uint8_t byte : bytes) {
      put(byte);
    }
  }

  void put(std::uint8_t byte) {
    if (block_full_) {
      code_pos_ = write_++;
      code_ = 1;
      block_full_ = false;
    }
    if (byte == 0U) {
      out_[code_pos_] = code_;
      code_pos_ = write_++;
      code_ = 1;
      return;
    }
    out_[write_++] = byte;
    if (++code_ == 0xFFU) {
      out_[code_pos_] = code_;
      block_full_ = true;
    }
  }

  /// Closes the last block. Returns the encoded size.
  [[nodiscard]] std::size_t finish() {
    if (!block_full_) {
      out_[code_pos_] = code_;
    }
    return write_;
  }

 private:
  std::span<std::uint8_t> out_;
  std::size_t code_pos_ = 0;
  std::size_t write_ = 1;
  std::uint8_t code_ = 1;
  bool block_full_ = false;
};

/// Encodes `in` into `out`. Returns the encoded size, or kOutputTooSmall.
/// `in` and `out` must not overlap.
Result<std::size_t, CobsError> cobs_encode(std::span<const std::uint8_t> in,
                                           std::span<std::uint8_t> out);

/// Decodes `in` (one frame, delimiter removed) into `out`. Returns the decoded size, or an error.
/// Decoding in place (out.data() == in.data()) is allowed: output never overtakes input.
Result<std::size_t, CobsError> cobs_decode(std::span<const std::uint8_t> in,
                                           std::span<std::uint8_t> out);

}  // namespace edge::link
