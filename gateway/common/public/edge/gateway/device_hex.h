// A device id as people and topics see it: 16 lowercase hex digits, the same as the first field
// of an event id's text form (edge/event_id/event_id.h), e.g. "00000000000000a1".
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace edge::gateway {

inline std::string device_hex(std::uint64_t device) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(device));
  return text;
}

}  // namespace edge::gateway
