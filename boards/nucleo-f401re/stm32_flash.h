// The configuration store's Storage on two sectors of the STM32F401's internal flash (RM0368
// section 3, "Embedded Flash memory interface"). Private to the board.
//
// Storage offsets [0, kSlotBytes) are slot A, the first bytes of sector `sector_a`; offsets
// [kSlotBytes, 2 * kSlotBytes) are slot B, the first bytes of sector `sector_b`. Flash is erased
// a whole sector at a time, so one slot per sector is what keeps ConfigStore's promise: a write
// cut off half-way (reset, power loss) damages only the sector being written, never the copy in
// the other one.
#pragma once

#include <array>
#include <cstdint>

#include "edge/firmware/config_store.h"

namespace edge::board {

/// Start address of STM32F401xE flash sector `sector` (RM0368 3.3, Table 5): sectors 0-3 are
/// 16 KiB, 4 is 64 KiB, 5-7 are 128 KiB.
constexpr std::uintptr_t flash_sector_address(unsigned sector) {
  if (sector < 4) {
    return 0x0800'0000U + sector * 0x4000U;
  }
  if (sector == 4) {
    return 0x0801'0000U;
  }
  return 0x0802'0000U + (sector - 5U) * 0x2'0000U;
}
inline constexpr unsigned kFlashSectors = 8;

class FlashStorage final : public firmware::Storage {
 public:
  constexpr FlashStorage(unsigned sector_a, unsigned sector_b) : sectors_{sector_a, sector_b} {}

  /// Copies from the memory-mapped sectors. False only for a range outside size().
  bool read(std::uint32_t offset, std::span<std::uint8_t> out) override;
  /// For each slot the range touches: keeps the slot's other bytes, erases its sector and
  /// programs the slot back, then reads it back. False for a range outside size(), when the
  /// flash reports an error (write protection, programming sequence) or stays busy, or when the
  /// read-back differs; the slot is then erased or partly written, the other slot untouched.
  /// The CPU stalls while a sector is erased (about 1 s for 128 KiB, DS10086 "Flash memory
  /// programming"), since code runs from the same flash: ticks are lost meanwhile.
  bool write(std::uint32_t offset, std::span<const std::uint8_t> bytes) override;
  [[nodiscard]] std::uint32_t size() const override { return 2U * firmware::kSlotBytes; }

 private:
  bool write_slot(unsigned slot, std::uint32_t offset_in_slot,
                  std::span<const std::uint8_t> bytes) const;

  std::array<unsigned, 2> sectors_;
};

}  // namespace edge::board
