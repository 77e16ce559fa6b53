// 24Cxx I2C serial EEPROMs (Microchip/Atmel AT24C, ST M24C and compatibles) at 0x50..0x57.
// Datasheet facts (AT24C02/04/08/16 and AT24C32/64 datasheets: "Device Addressing", "Write
// Operations", "Read Operations"):
//  - a write or read starts with the word address: one byte on 24C01..24C16 (whose 512 B..2 KiB
//    parts take address bits A10..A8 from the device address, P2..P0), two bytes (high first)
//    from 24C32 up;
//  - a page write stores up to one page; the low address bits roll over inside the page, so a
//    write crossing a page boundary would overwrite the page's start. write() splits at pages;
//  - after the stop the chip is busy for tWR (<= 5 ms) and does not acknowledge its address;
//    write() polls it (acknowledge polling) a bounded number of times after every page;
//  - a sequential read continues across pages.
// The chip has no checksum: a corrupted byte on the bus is not detectable here, so data that must
// be trusted (configuration, counters) carries its own CRC in the layer above.
//
// QEMU: `-device at24c-eeprom,address=0x50,rom-size=N` (hw/nvram/eeprom_at24c.c). QEMU 7.2 takes
// TWO address bytes whatever rom-size is (QEMU >= 8.0 takes one for rom-size <= 256); it models no
// pages and no write cycle. Use a two-byte geometry there: at24c::k24c32 (rom-size=4096) or
// at24c::k24c64 (rom-size=8192) address the same on every QEMU version and on the real parts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "edge/bus/i2c_bus.h"
#include "edge/drivers/sensor_error.h"

namespace edge::drivers {

struct At24cGeometry {
  std::uint32_t size_bytes = 0;
  std::uint16_t page_bytes = 0;    // a power of two
  std::uint8_t address_bytes = 0;  // word-address bytes after the device address: 1 or 2
};

namespace at24c {
inline constexpr At24cGeometry k24c01{128, 8, 1};
inline constexpr At24cGeometry k24c02{256, 8, 1};
inline constexpr At24cGeometry k24c04{512, 16, 1};
inline constexpr At24cGeometry k24c08{1024, 16, 1};
inline constexpr At24cGeometry k24c16{2048, 16, 1};
inline constexpr At24cGeometry k24c32{4096, 32, 2};
inline constexpr At24cGeometry k24c64{8192, 32, 2};
inline constexpr At24cGeometry k24c128{16384, 64, 2};
inline constexpr At24cGeometry k24c256{32768, 64, 2};
inline constexpr At24cGeometry k24c512{65536, 128, 2};
/// A 256-byte `at24c-eeprom` in QEMU 7.2, which wants two address bytes even for rom-size=256.
inline constexpr At24cGeometry kQemu72Rom256{256, 8, 2};
}  // namespace at24c

class At24c {
 public:
  static constexpr std::uint8_t kDefaultAddress = 0x50;
  /// Address polls after each page write before giving up. One poll is a start, the device
  /// address and the word address (some 30 bit times: 75 us at 400 kHz), so 200 polls outlast
  /// tWR = 5 ms at up to 400 kHz.
  static constexpr std::uint16_t kDefaultPollAttempts = 200;
  /// Data bytes sent in one transfer (a page of a 24C512); larger pages are written in parts.
  static constexpr std::size_t kMaxWriteChunk = 128;

  At24c(bus::I2cBus& bus, const At24cGeometry& geometry, std::uint8_t address = kDefaultAddress,
        std::uint16_t poll_attempts = kDefaultPollAttempts)
      : bus_(bus), geometry_(geometry), address_(address), poll_attempts_(poll_attempts) {}

  /// Fills `out` from `offset` with sequential reads. Returns out.size(); kBadArgument when the
  /// span does not fit in the chip or the geometry is invalid; a bus error (from_bus) when a
  /// transfer fails (kBusNack also while the chip is still busy with a write cycle).
  SensorResult<std::size_t> read(std::uint32_t offset, std::span<std::uint8_t> out);
  /// Writes `data` at `offset`, one page write per page touched, each followed by acknowledge
  /// polling. Returns data.size(); kBadArgument as read(); a bus error when a transfer fails;
  /// kBusTimeout when the chip never acknowledges again after a page write. After an error the
  /// pages before the failing one are written, the failing one may be partly written.
  SensorResult<std::size_t> write(std::uint32_t offset, std::span<const std::uint8_t> data);

  [[nodiscard]] const At24cGeometry& geometry() const { return geometry_; }

  /// One or two address bytes; a power-of-two page that divides the size; sizes up to 2 KiB
  /// with one address byte (8 blocks of 256 B in the device address), 64 KiB with two.
  static constexpr bool valid(const At24cGeometry& g) {
    const std::uint32_t max_size = g.address_bytes == 1 ? 2048U : 65536U;
    return (g.address_bytes == 1 || g.address_bytes == 2) && g.page_bytes != 0 &&
           (g.page_bytes & (g.page_bytes - 1U)) == 0 && g.size_bytes >= g.page_bytes &&
           g.size_bytes <= max_size && g.size_bytes % g.page_bytes == 0;
  }

 private:
  [[nodiscard]] bool fits(std::uint32_t offset, std::size_t length) const;
  /// The device address for `offset` (with block bits P2..P0 on one-address-byte parts).
  [[nodiscard]] std::uint8_t device_address(std::uint32_t offset) const;
  /// Writes the word address for `offset` into `out`; returns how many bytes.
  [[nodiscard]] std::size_t word_address(std::uint32_t offset, std::span<std::uint8_t> out) const;
  /// Acknowledge polling; returns the polls it took.
  SensorResult<std::uint16_t> wait_write_cycle(std::uint32_t offset);

  bus::I2cBus& bus_;
  At24cGeometry geometry_;
  std::uint8_t address_;
  std::uint16_t poll_attempts_;
};

}  // namespace edge::drivers
