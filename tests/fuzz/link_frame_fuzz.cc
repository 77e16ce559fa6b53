// libFuzzer target: the link frame decoder (schemas/link: COBS + CRC-32C + 0x00), fed bytes as
// they arrive from a serial line. The input is the raw byte stream.
//
// Invariants checked on every input, besides "no crash, no sanitizer report":
//   - a stream fed in one piece and fed in pieces of fuzzer-chosen sizes reports the same
//     frames and errors in the same order (the decoder's state across feed() calls is sound);
//   - exactly one report per non-empty segment between delimiters (every refused frame is
//     reported, hence counted by ingest; empty frames are never reported);
//   - each report agrees with a reference decoder written here from the format in frame.h;
//   - every accepted payload is 1..max_payload() bytes, and re-encodes to the bytes it came
//     from (or to the canonical form of them: COBS allows one redundant trailing empty block);
//   - pending() after the stream is the length of its unterminated tail, bounded by the storage;
//   - COBS encode then decode of the raw input gives the input back.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "edge/link/cobs.h"
#include "edge/link/crc32c.h"
#include "edge/link/frame.h"
#include "fuzz_check.h"

namespace {

using edge::link::FrameError;
using Bytes = std::vector<std::uint8_t>;
using Report = std::variant<Bytes, FrameError>;

// Straight from the format in cobs.h, without the library's streaming tricks.
std::optional<Bytes> reference_cobs_decode(std::span<const std::uint8_t> in) {
  Bytes out;
  std::size_t i = 0;
  while (i < in.size()) {
    const std::uint8_t code = in[i++];
    if (code == 0 || static_cast<std::size_t>(code - 1) > in.size() - i) {
      return std::nullopt;
    }
    for (int k = 1; k < code; ++k) {
      if (in[i] == 0) {
        return std::nullopt;
      }
      out.push_back(in[i++]);
    }
    if (code != 0xFF && i < in.size()) {
      out.push_back(0);
    }
  }
  return out;
}

// What frame.h says a decoder with `storage` bytes reports for one non-empty segment.
Report reference_frame(std::span<const std::uint8_t> segment, std::size_t storage,
                       std::size_t max_payload) {
  if (segment.size() > storage) {
    return FrameError::kOversize;
  }
  const std::optional<Bytes> decoded = reference_cobs_decode(segment);
  if (!decoded) {
    return FrameError::kBadCobs;
  }
  if (decoded->size() < edge::link::kFrameCrcSize + 1) {
    return FrameError::kTooShort;
  }
  const std::size_t n = decoded->size() - edge::link::kFrameCrcSize;
  if (n > max_payload) {
    return FrameError::kOversize;
  }
  std::uint32_t crc = 0;
  for (std::size_t i = 0; i < edge::link::kFrameCrcSize; ++i) {
    crc |= static_cast<std::uint32_t>((*decoded)[n + i]) << (8U * i);
  }
  if (edge::link::crc32c(std::span(decoded->data(), n)) != crc) {
    return FrameError::kBadCrc;
  }
  return Bytes(decoded->begin(), decoded->begin() + static_cast<std::ptrdiff_t>(n));
}

template <std::size_t kMaxPayload>
void check_decoder(std::span<const std::uint8_t> stream) {
  constexpr std::size_t kStorage =
      edge::link::cobs_max_encoded_size(kMaxPayload + edge::link::kFrameCrcSize);

  std::vector<Report> whole;
  edge::link::FrameDecoderBuffer<kMaxPayload> one_piece;
  FUZZ_CHECK(one_piece.max_payload() == kMaxPayload, "max_payload() is the size it was built for");
  one_piece.feed(
      stream,
      [&](std::span<const std::uint8_t> p) { whole.emplace_back(Bytes(p.begin(), p.end())); },
      [&](FrameError e) { whole.emplace_back(e); });

  // The same stream in pieces whose sizes come from the stream itself (1..16 bytes).
  std::vector<Report> pieces;
  edge::link::FrameDecoderBuffer<kMaxPayload> in_pieces;
  for (std::size_t at = 0; at < stream.size();) {
    const std::size_t n = std::min<std::size_t>(1U + (stream[at] & 0x0FU), stream.size() - at);
    in_pieces.feed(
        stream.subspan(at, n),
        [&](std::span<const std::uint8_t> p) { pieces.emplace_back(Bytes(p.begin(), p.end())); },
        [&](FrameError e) { pieces.emplace_back(e); });
    at += n;
  }
  FUZZ_CHECK(whole == pieces, "feeding in pieces changes what is decoded");

  // One report per non-empty segment, each as the reference decoder says.
  std::size_t report = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    if (stream[i] != edge::link::kFrameDelimiter) {
      continue;
    }
    const std::span<const std::uint8_t> segment = stream.subspan(start, i - start);
    start = i + 1;
    if (segment.empty()) {
      continue;
    }
    FUZZ_CHECK(report < whole.size(), "a non-empty frame was not reported");
    const Report& got = whole[report++];
    FUZZ_CHECK(got == reference_frame(segment, kStorage, kMaxPayload),
               "report differs from the reference decoder");
    if (const Bytes* payload = std::get_if<Bytes>(&got)) {
      FUZZ_CHECK(!payload->empty() && payload->size() <= kMaxPayload, "payload size out of bounds");
      Bytes wire(edge::link::max_encoded_frame_size(payload->size()));
      const auto encoded = edge::link::encode_frame(*payload, wire, kMaxPayload);
      FUZZ_CHECK(encoded.ok(), "an accepted payload does not re-encode");
      wire.resize(encoded.value());
      Bytes original(segment.begin(), segment.end());
      original.push_back(edge::link::kFrameDelimiter);
      // The one non-canonical form COBS decoders accept: an empty last block after a full one.
      const bool canonical_of_original = original.size() == wire.size() + 1 &&
                                         original[original.size() - 2] == 0x01 &&
                                         std::equal(wire.begin(), wire.end() - 1, original.begin());
      FUZZ_CHECK(wire == original || canonical_of_original,
                 "an accepted frame does not re-encode to its own bytes");
    }
  }
  FUZZ_CHECK(report == whole.size(), "more reports than frames");
  const std::size_t tail = stream.size() - start;
  FUZZ_CHECK(one_piece.pending() == std::min(tail, kStorage), "pending() is not the tail");
  FUZZ_CHECK(in_pieces.pending() == one_piece.pending(), "pending() depends on the pieces");
}

void check_cobs_round_trip(std::span<const std::uint8_t> data) {
  Bytes encoded(edge::link::cobs_max_encoded_size(data.size()));
  const auto n = edge::link::cobs_encode(data, encoded);
  FUZZ_CHECK(n.ok(), "cobs_encode refused a buffer of its own bound");
  encoded.resize(n.value());
  FUZZ_CHECK(std::find(encoded.begin(), encoded.end(), 0) == encoded.end(), "COBS emitted a zero");
  Bytes decoded(data.size());
  const auto m = edge::link::cobs_decode(encoded, decoded);
  FUZZ_CHECK(m.ok() && m.value() == data.size(), "COBS did not decode its own encoding");
  FUZZ_CHECK(std::equal(data.begin(), data.end(), decoded.begin()), "COBS round trip differs");
  // Decoding in place, as the frame decoder does.
  const auto k = edge::link::cobs_decode(encoded, encoded);
  FUZZ_CHECK(k.ok() && std::equal(data.begin(), data.end(), encoded.begin()),
             "in-place COBS decode differs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> stream(data, size);
  check_decoder<edge::link::kMaxFramePayload>(stream);  // the gateway's and the device's bound
  check_decoder<64>(stream);                            // a small one: oversize paths are cheap
  check_cobs_round_trip(stream);
  return 0;
}
