// Register-level LSM303DLHC magnetometer for host tests: reset values, identification bytes, the
// X,Z,Y output order, the read pointer wrapping 0x08 -> 0x03 and 0x0C -> 0x00 (as QEMU's model
// does), DRDY, the 0xF000 overflow value, and setters that encode a field with the gain CRB holds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "edge/drivers/lsm303dlhc.h"
#include "edge/emulator/i2c_emulator.h"

namespace edge::emulator {

class Lsm303dlhcMagEmulator final : public RegisterChip {
 public:
  using Mag = drivers::Lsm303dlhcMag;

  Lsm303dlhcMagEmulator() {
    regs[Mag::kRegCra] = 0x10;  // 15 Hz, temperature off
    regs[Mag::kRegCrb] = 0x20;  // GN=001, ±1.3 gauss
    regs[Mag::kRegMr] = 0x03;   // sleep
    regs[Mag::kRegIra] = 'H';
    regs[Mag::kRegIra + 1] = '4';
    regs[Mag::kRegIra + 2] = '3';
  }

  /// Output registers as the chip holds them (12-bit values, or Mag::kOverflow); sets DRDY.
  void set_raw(std::int16_t x, std::int16_t y, std::int16_t z) {
    put16(Mag::kRegOutXH, x);
    put16(Mag::kRegOutXH + 2, z);  // Z before Y
    put16(Mag::kRegOutXH + 4, y);
    regs[Mag::kRegSr] |= Mag::kSrDrdy;
  }
  /// A field in nanotesla encoded with the current CRB gain (rounded); an axis beyond the 12-bit
  /// range reads as the overflow value 0xF000, as the chip reports it.
  void set_field_nt(std::int32_t x, std::int32_t y, std::int32_t z) {
    const std::size_t gn = regs[Mag::kRegCrb] >> 5U;
    set_raw(encode(x, Mag::kXyLsbPerGauss[gn]), encode(y, Mag::kXyLsbPerGauss[gn]),
            encode(z, Mag::kZLsbPerGauss[gn]));
  }
  /// Temperature at 8 LSB/°C in the given layout (the datasheet's left-aligned 12 bits by default).
  void set_temperature_milli_c(std::int32_t milli_c,
                               Mag::TempLayout layout = Mag::TempLayout::kDatasheet) {
    const std::int32_t counts = milli_c / 125;
    temp_word_ =
        static_cast<std::uint16_t>(layout == Mag::TempLayout::kDatasheet ? counts * 16 : counts);
  }

  /// TEMP_OUT_H_M:TEMP_OUT_L_M as the chip holds them.
  [[nodiscard]] std::uint16_t temp_word() const { return temp_word_; }
  /// Transfers that wrote more than one register (the driver must never need the chip to
  /// auto-increment on writes: QEMU's model does not).
  [[nodiscard]] int multi_register_writes() const { return multi_register_writes_; }
  /// Writes to read-only registers (acknowledged and dropped).
  [[nodiscard]] int read_only_writes() const { return read_only_writes_; }

  bool write(std::span<const std::uint8_t> bytes) override {
    if (bytes.size() > 2) {
      ++multi_register_writes_;
    }
    return RegisterChip::write(bytes);
  }

 protected:
  bool on_write(std::uint8_t reg, std::uint8_t value) override {
    if (reg > Mag::kRegMr) {
      ++read_only_writes_;
      return true;
    }
    regs[reg] = value;
    if (reg == Mag::kRegMr && (value & 0x03U) == 0x01U) {
      regs[Mag::kRegSr] |= Mag::kSrDrdy;  // a single conversion, finished at once
    }
    return true;
  }
  std::uint8_t on_read(std::uint8_t reg) override {
    const bool temp_on = (regs[Mag::kRegCra] & Mag::kCraTempEnable) != 0;
    if (reg == Mag::kRegTempOutH) {
      return temp_on ? static_cast<std::uint8_t>(temp_word_ >> 8U) : 0;
    }
    if (reg == Mag::kRegTempOutH + 1) {
      return temp_on ? static_cast<std::uint8_t>(temp_word_ & 0xFFU) : 0;
    }
    if (reg == Mag::kRegOutXH + 5) {  // the last output byte read: the set is consumed
      const std::uint8_t value = regs[reg];
      regs[Mag::kRegSr] &= static_cast<std::uint8_t>(~Mag::kSrDrdy);
      return value;
    }
    return regs[reg];
  }
  std::uint8_t next(std::uint8_t reg) override {
    if (reg == Mag::kRegOutXH + 5) {
      return Mag::kRegOutXH;
    }
    if (reg == Mag::kRegIra + 2) {
      return Mag::kRegCra;
    }
    return static_cast<std::uint8_t>(reg + 1U);
  }

 private:
  static std::int16_t encode(std::int32_t nt, std::uint16_t lsb_per_gauss) {
    const std::int64_t num = static_cast<std::int64_t>(nt) * lsb_per_gauss;
    const std::int64_t raw = num >= 0 ? (num + 50000) / 100000 : (num - 50000) / 100000;
    return raw < Mag::kRawMin || raw > Mag::kRawMax ? Mag::kOverflow
                                                    : static_cast<std::int16_t>(raw);
  }
  void put16(std::size_t reg, std::int16_t value) {
    const auto word = static_cast<std::uint16_t>(value);
    regs[reg] = static_cast<std::uint8_t>(word >> 8U);
    regs[reg + 1] = static_cast<std::uint8_t>(word & 0xFFU);
  }

  std::uint16_t temp_word_ = 0;
  int multi_register_writes_ = 0;
  int read_only_writes_ = 0;
};

}  // namespace edge::emulator
