// EventId: the one identity an event carries from the device to every consumer.
//
//   device  64-bit device id (configured, or derived from a chip serial number)
//   boot    32-bit boot counter, persisted on the device and incremented at every boot
//   seq     32-bit sequence, 0 at every boot, +1 per event
//
// Unique per device across reboots as long as the boot counter is persisted before the first
// event of a boot is sent. Within one (device, boot), a missing seq is a gap.
//
// Text form (MQTT user property "event-id", JSON): 16 lowercase hex digits, '-', boot in
// decimal, '-', seq in decimal, e.g. "00000000000000a1-7-42".
// Key form (LMDB, sorting): 16 bytes, device, boot, seq, each big-endian, so byte order sorts
// by device, then boot, then seq.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "edge/base/result.h"

namespace edge {

struct EventId {
  std::uint64_t device = 0;
  std::uint32_t boot = 0;
  std::uint32_t seq = 0;

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  friend constexpr auto operator<=>(const EventId&, const EventId&) = default;
};

/// Longest text form: 16 + 1 + 10 + 1 + 10 characters.
inline constexpr std::size_t kEventIdTextMax = 38;
inline constexpr std::size_t kEventIdKeySize = 16;

enum class EventIdError { kBufferTooSmall, kMalformed };

/// Writes the text form into `out` (no terminating NUL). Returns the number of characters
/// written, or kBufferTooSmall if `out` is shorter than needed.
Result<std::size_t, EventIdError> format_event_id(const EventId& id, std::span<char> out);

/// Parses the text form. Returns kMalformed for anything that is not exactly the text form
/// (wrong digit count, uppercase hex, signs, spaces, overflow, trailing characters).
Result<EventId, EventIdError> parse_event_id(std::string_view text);

/// Writes the 16-byte key form.
void event_id_to_key(const EventId& id, std::span<std::uint8_t, kEventIdKeySize> out);
/// Reads the 16-byte key form.
EventId event_id_from_key(std::span<const std::uint8_t, kEventIdKeySize> key);

}  // namespace edge
