// Schema version carried in every Event, Hello and LinkMessage: major << 8 | minor.
//
// Minor: additive changes (fields appended at the end of a table, new union members). Old
// readers ignore what they do not know, so every minor of a major is accepted.
// Major: a change a reader cannot ignore. A reader refuses a major it was not built for
// (WireError::kUnsupportedVersion), and the gateway counts it as "unsupported_version".
#pragma once

#include <cstdint>

namespace edge::wire {

inline constexpr std::uint16_t kSchemaVersion = 0x0100;  // 1.0

[[nodiscard]] constexpr std::uint8_t schema_major(std::uint16_t version) {
  return static_cast<std::uint8_t>(version >> 8U);
}
[[nodiscard]] constexpr std::uint8_t schema_minor(std::uint16_t version) {
  return static_cast<std::uint8_t>(version & 0xFFU);
}
/// True when a reader built for kSchemaVersion can read `version`.
[[nodiscard]] constexpr bool schema_supported(std::uint16_t version) {
  return schema_major(version) == schema_major(kSchemaVersion);
}

}  // namespace edge::wire
