#include "stm32_flash.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "stm32f401.h"

namespace edge::board {
namespace {

using firmware::kSlotBytes;
using stm32::clear_bits;
using stm32::reg;
using stm32::set_bits;

// Flash interface registers (RM0368 3.8): offsets from the interface base.
constexpr std::uintptr_t kAcr = stm32::kFlash + 0x00;
constexpr std::uintptr_t kKeyr = stm32::kFlash + 0x04;
constexpr std::uintptr_t kSr = stm32::kFlash + 0x0C;
constexpr std::uintptr_t kCr = stm32::kFlash + 0x10;

constexpr std::uint32_t kKey1 = 0x4567'0123;  // RM0368 3.5.1: the unlock sequence
constexpr std::uint32_t kKey2 = 0xCDEF'89AB;

constexpr std::uint32_t kSrBsy = 1U << 16U;
// EOP, OPERR, WRPERR, PGAERR, PGPERR, PGSERR, RDERR: cleared by writing 1 (rc_w1).
constexpr std::uint32_t kSrEop = 1U << 0U;
constexpr std::uint32_t kSrErrors =
    (1U << 1U) | (1U << 4U) | (1U << 5U) | (1U << 6U) | (1U << 7U) | (1U << 8U);

constexpr std::uint32_t kCrPg = 1U << 0U;
constexpr std::uint32_t kCrSer = 1U << 1U;
constexpr std::uint32_t kCrSnbShift = 3U;
constexpr std::uint32_t kCrSnbMask = 0xFU << kCrSnbShift;
// x32 parallelism (RM0368 3.5.2, Table 8): needs VDD 2.7-3.6 V; the Nucleo runs at 3.3 V.
constexpr std::uint32_t kCrPsizeX32 = 2U << 8U;
constexpr std::uint32_t kCrPsizeMask = 3U << 8U;
constexpr std::uint32_t kCrStrt = 1U << 16U;
constexpr std::uint32_t kCrLock = 1U << 31U;

constexpr std::uint32_t kAcrDcen = 1U << 10U;
constexpr std::uint32_t kAcrDcrst = 1U << 12U;

// The polling loop may run from the ART instruction cache while the flash is busy, so the bound
// is in polls: at several core cycles per poll, 400 M polls is well over the 2 s maximum erase
// time of a 128 KiB sector at x32 (DS10086 "Flash memory programming").
constexpr std::uint32_t kBusyPolls = 400'000'000;

static_assert(kSlotBytes % 4U == 0U, "slots are programmed a 32-bit word at a time");

bool wait_idle() {
  for (std::uint32_t polls = 0; polls < kBusyPolls; ++polls) {
    if ((reg(kSr) & kSrBsy) == 0U) {
      return (reg(kSr) & kSrErrors) == 0U;
    }
  }
  return false;
}

bool unlock() {
  if ((reg(kCr) & kCrLock) != 0U) {
    reg(kKeyr) = kKey1;
    reg(kKeyr) = kKey2;
  }
  return (reg(kCr) & kCrLock) == 0U;
}

void lock() {
  clear_bits(kCr, kCrPg | kCrSer | kCrSnbMask);
  set_bits(kCr, kCrLock);
}

// Sector erase (RM0368 3.5.3), then word programming (3.5.4) of `words` at `address`.
bool erase_and_program(unsigned sector, std::uintptr_t address,
                       std::span<const std::uint32_t> words) {
  reg(kSr) = kSrErrors | kSrEop;  // stale flags from an earlier failure would stop this one
  if (!wait_idle() || !unlock()) {
    return false;
  }
  bool ok = true;
  reg(kCr) = (reg(kCr) & ~(kCrPsizeMask | kCrSnbMask | kCrPg)) | kCrPsizeX32 | kCrSer |
             (sector << kCrSnbShift);
  set_bits(kCr, kCrStrt);
  ok = wait_idle();
  clear_bits(kCr, kCrSer | kCrSnbMask);
  if (ok) {
    set_bits(kCr, kCrPg);
    for (std::size_t i = 0; ok && i < words.size(); ++i) {
      reg(address + 4U * i) = words[i];
      ok = wait_idle();
    }
  }
  lock();
  // The data cache may still hold the sector's old contents: reset it, which RM0368 3.4 allows
  // only while it is disabled.
  clear_bits(kAcr, kAcrDcen);
  set_bits(kAcr, kAcrDcrst);
  clear_bits(kAcr, kAcrDcrst);
  set_bits(kAcr, kAcrDcen);
  return ok;
}

}  // namespace

bool FlashStorage::read(std::uint32_t offset, std::span<std::uint8_t> out) {
  if (offset > size() || out.size() > size() - offset) {
    return false;
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto at = static_cast<std::uint32_t>(offset + i);
    const std::uintptr_t address =
        flash_sector_address(sectors_[at / kSlotBytes]) + at % kSlotBytes;
    out[i] = reg<std::uint8_t>(address);
  }
  return true;
}

bool FlashStorage::write(std::uint32_t offset, std::span<const std::uint8_t> bytes) {
  if (offset > size() || bytes.size() > size() - offset) {
    return false;
  }
  // One slot at a time: a range over both slots erases them one after the other.
  while (!bytes.empty()) {
    const unsigned slot = offset / kSlotBytes;
    const std::uint32_t in_slot = offset % kSlotBytes;
    const std::size_t n = std::min<std::size_t>(bytes.size(), kSlotBytes - in_slot);
    if (!write_slot(slot, in_slot, bytes.first(n))) {
      return false;
    }
    offset += static_cast<std::uint32_t>(n);
    bytes = bytes.subspan(n);
  }
  return true;
}

bool FlashStorage::write_slot(unsigned slot, std::uint32_t offset_in_slot,
                              std::span<const std::uint8_t> bytes) const {
  const std::uintptr_t base = flash_sector_address(sectors_[slot]);
  std::array<std::uint32_t, kSlotBytes / 4U> words{};
  std::memcpy(words.data(), reinterpret_cast<const void*>(base), kSlotBytes);
  std::memcpy(reinterpret_cast<std::uint8_t*>(words.data()) + offset_in_slot, bytes.data(),
              bytes.size());
  if (!erase_and_program(sectors_[slot], base, words)) {
    return false;
  }
  return std::memcmp(words.data(), reinterpret_cast<const void*>(base), kSlotBytes) == 0;
}

}  // namespace edge::board
