// Malformed frames the simulator can put on the link (--inject), so the gateway's tests can check
// that each one is counted under its own reason and that the next good frame still gets through.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace edge::devsim {

using Bytes = std::vector<std::uint8_t>;

enum class Injection {
  kBadCrc,            // a valid frame with one payload bit flipped: bad_crc
  kTruncated,         // the first half of a frame, then the delimiter: bad_cobs
  kOversize,          // 5000 non-zero bytes, then the delimiter: oversize
  kBadIdentifier,     // a good frame carrying an Event ("EDGE") instead of a LinkMessage
  kFutureVersion,     // a good frame, LinkMessage EventBatch with schema_version 0x0200
  kGarbage,           // 200 pseudo-random non-zero bytes (fixed seed), then the delimiter
  kInvalidFlatbuffer  // a good frame, "ELNK" header then garbage the Verifier refuses
};

/// The --inject name ("bad_crc", ...).
[[nodiscard]] const char* to_string(Injection injection);
[[nodiscard]] std::optional<Injection> parse_injection(std::string_view name);
/// Comma-separated names; throws std::invalid_argument naming the unknown one.
[[nodiscard]] std::vector<Injection> parse_injections(std::string_view names);

/// The bytes one injection puts on the wire, its closing delimiter included. Deterministic for a
/// given device and boot.
[[nodiscard]] Bytes build_injection(Injection injection, std::uint64_t device, std::uint32_t boot);

/// One frame (COBS, CRC, delimiter) around `payload`.
[[nodiscard]] Bytes frame_of(std::span<const std::uint8_t> payload);

}  // namespace edge::devsim
