#include "edge/event_id/event_id.h"

#include <array>

namespace edge {
namespace {

constexpr std::array<char, 16> kHexDigits = {'0', '1', '2', '3', '4', '5', '6', '7',
                                             '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

// Writes `value` in decimal at out[pos...]; returns the new position.
std::size_t put_decimal(std::uint32_t value, std::span<char> out, std::size_t pos) {
  std::array<char, 10> digits{};
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10U);
    value /= 10U;
  } while (value != 0U);
  while (n > 0) {
    out[pos++] = digits[--n];
  }
  return pos;
}

std::size_t decimal_width(std::uint32_t value) {
  std::size_t n = 1;
  while (value >= 10U) {
    value /= 10U;
    ++n;
  }
  return n;
}

// Parses a decimal uint32 with no sign, no leading zeros (except "0" itself), no overflow.
bool take_decimal(std::string_view text, std::uint32_t& out) {
  if (text.empty() || text.size() > 10 || (text.size() > 1 && text[0] == '0')) {
    return false;
  }
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10U + static_cast<std::uint64_t>(c - '0');
  }
  if (value > UINT32_MAX) {
    return false;
  }
  out = static_cast<std::uint32_t>(value);
  return true;
}

}  // namespace

Result<std::size_t, EventIdError> format_event_id(const EventId& id, std::span<char> out) {
  const std::size_t needed = 16 + 1 + decimal_width(id.boot) + 1 + decimal_width(id.seq);
  if (out.size() < needed) {
    return EventIdError::kBufferTooSmall;
  }
  for (std::size_t i = 0; i < 16; ++i) {
    out[i] = kHexDigits[(id.device >> (60U - 4U * i)) & 0xFU];
  }
  std::size_t pos = 16;
  out[pos++] = '-';
  pos = put_decimal(id.boot, out, pos);
  out[pos++] = '-';
  pos = put_decimal(id.seq, out, pos);
  return pos;
}

Result<EventId, EventIdError> parse_event_id(std::string_view text) {
  if (text.size() < 20 || text[16] != '-') {
    return EventIdError::kMalformed;
  }
  EventId id;
  for (std::size_t i = 0; i < 16; ++i) {
    const char c = text[i];
    std::uint64_t nibble = 0;
    if (c >= '0' && c <= '9') {
      nibble = static_cast<std::uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      nibble = static_cast<std::uint64_t>(c - 'a') + 10U;
    } else {
      return EventIdError::kMalformed;
    }
    id.device = (id.device << 4U) | nibble;
  }
  const std::string_view rest = text.substr(17);
  const std::size_t dash = rest.find('-');
  if (dash == std::string_view::npos || !take_decimal(rest.substr(0, dash), id.boot) ||
      !take_decimal(rest.substr(dash + 1), id.seq)) {
    return EventIdError::kMalformed;
  }
  return id;
}

void event_id_to_key(const EventId& id, std::span<std::uint8_t, kEventIdKeySize> out) {
  for (std::size_t i = 0; i < 8; ++i) {
    out[i] = static_cast<std::uint8_t>(id.device >> (56U - 8U * i));
  }
  for (std::size_t i = 0; i < 4; ++i) {
    out[8 + i] = static_cast<std::uint8_t>(id.boot >> (24U - 8U * i));
    out[12 + i] = static_cast<std::uint8_t>(id.seq >> (24U - 8U * i));
  }
}

EventId event_id_from_key(std::span<const std::uint8_t, kEventIdKeySize> key) {
  EventId id;
  for (std::size_t i = 0; i < 8; ++i) {
    id.device = (id.device << 8U) | key[i];
  }
  for (std::size_t i = 0; i < 4; ++i) {
    id.boot = (id.boot << 8U) | key[8 + i];
    id.seq = (id.seq << 8U) | key[12 + i];
  }
  return id;
}

}  // namespace edge
