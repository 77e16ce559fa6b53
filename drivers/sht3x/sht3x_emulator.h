// An SHT3x-DIS (datasheet version 5) for the emulated I2C bus: host and Linux test code only.
// Command-based, so it derives ChipEmulator directly rather than RegisterChip.
//
// Behaviour modelled from the datasheet: a write is one 16-bit command, MSB first. Single-shot
// measurement commands (Table 9) encode the set temperature and humidity as the chip would
// (section 4.13, inverted) and make the next read return T, CRC, RH, CRC; a read header is NACKed
// while the measurement runs (set_busy_reads) and whenever no data is waiting, and data is gone
// once read. Read status (0xF32D) makes the next read return the status word and CRC; clear
// status (0x3041) clears bits 15, 11, 10, 4; soft reset (0x30A2) restores the power-up status
// 0x8010 with the heater off; heater on/off (0x306D/0x3066) sets bit 13. Any other command is
// acknowledged but not processed, and sets the command status bit (Table 18, bit 1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "edge/emulator/i2c_emulator.h"

namespace edge::drivers {

class Sht3xEmulator final : public emulator::ChipEmulator {
 public:
  bool write(std::span<const std::uint8_t> bytes) override;
  bool read(std::span<std::uint8_t> out) override;

  /// The physical quantities a measurement reports (clamped to -45..130 °C and 0..100 %RH).
  void set_temperature_milli_c(std::int32_t milli_c);
  void set_humidity_milli_percent(std::int32_t milli_percent);
  /// The raw sensor outputs S_T and S_RH directly.
  void set_raw(std::uint16_t temperature, std::uint16_t humidity) {
    raw_temperature_ = temperature;
    raw_humidity_ = humidity;
  }
  /// Read headers NACKed after each measurement command before the data is ready.
  void set_busy_reads(int count) { busy_reads_ = count; }

  [[nodiscard]] std::uint16_t raw_temperature() const { return raw_temperature_; }
  [[nodiscard]] std::uint16_t raw_humidity() const { return raw_humidity_; }
  [[nodiscard]] std::uint16_t status() const { return status_; }
  [[nodiscard]] std::uint16_t last_command() const { return last_command_; }
  [[nodiscard]] int measurements() const { return measurements_; }

  /// CRC-8 of the datasheet (Table 20), computed independently of the driver's.
  static std::uint8_t crc8(std::uint8_t msb, std::uint8_t lsb);

 private:
  void queue_word(std::uint16_t word);

  std::uint16_t raw_temperature_ = 0x6666;  // about 25 °C
  std::uint16_t raw_humidity_ = 0x8000;     // about 50 %RH
  std::uint16_t status_ = 0x8010;           // power-up value (Table 18)
  std::uint16_t last_command_ = 0;
  std::vector<std::uint8_t> pending_;  // what the next read returns; empty: NACK the header
  int busy_reads_ = 0;
  int busy_left_ = 0;
  int measurements_ = 0;
};

}  // namespace edge::drivers
