// Link framing: how one message crosses a serial line (or TCP / Unix stream) between a device
// and its gateway.
//
//   on the wire:   COBS( payload | crc32c(payload) ) 0x00
//
//   payload   1 .. kMaxFramePayload bytes (a LinkMessage FlatBuffer, see schemas/link.fbs)
//   crc32c    4 bytes, little-endian, over the payload only (edge/link/crc32c.h)
//   COBS      removes every 0x00, so 0x00 only ever appears as the delimiter (edge/link/cobs.h)
//
// A reader that joins mid-stream, or loses bytes to noise, drops what it has at the next 0x00
// and starts clean: at most one frame is lost per burst of noise. Senders may emit an extra
// 0x00 before a frame (at link start, after a pause) to flush a peer's partial frame; empty
// frames are ignored by the decoder, never reported.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "edge/base/result.h"
#include "edge/link/cobs.h"

namespace edge::link {

/// Largest payload one frame carries. Bounds the decoder's memory on a device and the
/// gateway's per-link buffer; a frame that decodes longer is refused as kOversize.
inline constexpr std::size_t kMaxFramePayload = 2048;
inline constexpr std::size_t kFrameCrcSize = 4;
inline constexpr std::uint8_t kFrameDelimiter = 0x00;

/// Bytes on the wire for a payload of `n` bytes, delimiter included.
[[nodiscard]] constexpr std::size_t max_encoded_frame_size(std::size_t n) {
  return cobs_max_encoded_size(n + kFrameCrcSize) + 1U;
}

enum class FrameError {
  kEmptyPayload,     // encode: nothing to send
  kPayloadTooLarge,  // encode: payload above the decoder's bound
  kOutputTooSmall,   // encode: `out` shorter than max_encoded_frame_size(payload)
  kTooShort,         // decode: fewer bytes than a CRC plus one payload byte
  kBadCobs,          // decode: not valid COBS (noise, or bytes lost inside the frame)
  kBadCrc,           // decode: CRC mismatch (bit flips)
  kOversize,         // decode: longer than the bound; skipped up to the next delimiter
};
inline constexpr std::size_t kFrameErrorCount = 7;

/// Stable lower-case name for logs, metrics labels and counters ("bad_crc", ...).
[[nodiscard]] const char* to_string(FrameError error);

/// Encodes one frame (payload, CRC, COBS, delimiter) into `out`. Returns the number of bytes to
/// send, or kEmptyPayload / kPayloadTooLarge / kOutputTooSmall; `out` is untouched on error.
Result<std::size_t, FrameError> encode_frame(std::span<const std::uint8_t> payload,
                                             std::span<std::uint8_t> out,
                                             std::size_t max_payload = kMaxFramePayload);

/// Streaming decoder over a borrowed buffer. Feed it whatever the link delivers, in pieces of
/// any size; it calls back once per frame, good or bad, in order. It never reads or writes
/// outside `storage`, whatever the input. Use FrameDecoderBuffer<N> to own the storage.
class FrameDecoder {
 public:
  /// `storage` must hold cobs_max_encoded_size(max_payload + kFrameCrcSize) bytes; frames whose
  /// payload would exceed what it holds are refused as kOversize.
  explicit FrameDecoder(std::span<std::uint8_t> storage);

  /// Consumes `bytes`. For each complete frame calls `on_frame(std::span<const std::uint8_t>)`
  /// with the payload (valid only during the call), or `on_error(FrameError)` for a refused one.
  template <typename OnFrame, typename OnError>
  void feed(std::span<const std::uint8_t> bytes, OnFrame&& on_frame, OnError&& on_error) {
    while (!bytes.empty()) {
      // Up to the next delimiter at once (memchr and memcpy run many bytes per step).
      const void* found = std::memchr(bytes.data(), kFrameDelimiter, bytes.size());
      const std::size_t run =
          found != nullptr
              ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(found) - bytes.data())
              : bytes.size();
      const std::size_t take = std::min(run, storage_.size() - length_);
      std::memcpy(storage_.data() + length_, bytes.data(), take);
      length_ += take;
      if (take < run) {
        overflowed_ = true;  // keep skipping until the delimiter
      }
      if (found == nullptr) {
        return;
      }
      bytes = bytes.subspan(run + 1);
      const Result<std::span<const std::uint8_t>, FrameError> frame = finish();
      if (frame.ok()) {
        if (!frame.value().empty()) {
          on_frame(frame.value());
        }
      } else {
        on_error(frame.error());
      }
    }
  }

  /// Bytes held of a frame not yet delimited (for tests and link diagnostics).
  [[nodiscard]] std::size_t pending() const { return length_; }
  /// Drops a partial frame, e.g. when the link is reopened.
  void reset() {
    length_ = 0;
    overflowed_ = false;
  }
  /// Largest payload accepted.
  [[nodiscard]] std::size_t max_payload() const { return max_payload_; }

 private:
  // Decodes the buffered frame in place. An empty span for an empty frame (ignored).
  Result<std::span<const std::uint8_t>, FrameError> finish();

  std::span<std::uint8_t> storage_;
  std::size_t max_payload_;
  std::size_t length_ = 0;
  bool overflowed_ = false;
};

/// A FrameDecoder that owns storage for payloads up to `kMaxPayload` bytes.
template <std::size_t kMaxPayload = kMaxFramePayload>
class FrameDecoderBuffer : public FrameDecoder {
 public:
  FrameDecoderBuffer() : FrameDecoder(buffer_) {}
  FrameDecoderBuffer(const FrameDecoderBuffer&) = delete;
  FrameDecoderBuffer& operator=(const FrameDecoderBuffer&) = delete;

 private:
  // 8-aligned: a decoded payload starts here, and FlatBuffers with 8-byte fields need it.
  alignas(8) std::array<std::uint8_t, cobs_max_encoded_size(kMaxPayload + kFrameCrcSize)> buffer_{};
};

}  // namespace edge::link
