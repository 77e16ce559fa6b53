// CRC-32C (Castagnoli): polynomial 0x1EDC6F41 (reflected 0x82F63B78), init and final XOR
// 0xFFFFFFFF. Check value: crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstdint>
#include <span>

namespace edge::link {

inline constexpr std::uint32_t kCrc32cCheck = 0xE3069283U;

/// CRC of `data`. To checksum data in pieces, pass the previous result as `crc`.
[[nodiscard]] std::uint32_t crc32c(std::span<const std::uint8_t> data, std::uint32_t crc = 0);

}  // namespace edge::link
