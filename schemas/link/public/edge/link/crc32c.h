// CRC-32C (Castagnoli): polynomial 0x1EDC6F41 (reflected 0x82F63B78), init and final XOR
// 0xFFFFFFFF. Check value: crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstdint>
#include <span>

namespace edge::link {

inline constexpr std::uint32_t kCrc32cCheck = 0xE3069283U;

/// CRC of `data`. To checksum data in pieces, pass the previous result as `crc`. On x86-64
/// with SSE 4.2 and on aarch64 Linux with the CRC32 extension (checked at run time) the CPU's
/// CRC-32C instructions compute it; elsewhere (Cortex-M firmware included) crc32c_table does.
[[nodiscard]] std::uint32_t crc32c(std::span<const std::uint8_t> data, std::uint32_t crc = 0);

/// The portable table-driven CRC (one byte per step, 1 KiB table): the reference crc32c() must
/// equal, and what it uses without the instructions.
[[nodiscard]] std::uint32_t crc32c_table(std::span<const std::uint8_t> data, std::uint32_t crc = 0);

/// Whether crc32c() uses the CPU's instructions on this machine.
[[nodiscard]] bool crc32c_hardware_used();

}  // namespace edge::link
