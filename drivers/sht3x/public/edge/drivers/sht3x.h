// Sensirion SHT3x-DIS humidity and temperature sensor (datasheet version 5, May 2018). The chip
// takes 16-bit commands, MSB first; every 16-bit word it sends is followed by a CRC-8 (Table 20:
// polynomial 0x31, init 0xFF, no reflection, no final XOR; CRC(0xBEEF) = 0x92).
//
// Single-shot measurements without clock stretching (Table 9): start_measurement() sends the
// command, the caller waits the returned time, read_measurement() reads T, CRC, RH, CRC. While
// the chip is still measuring it NACKs the read header (section 4.3); read_measurement() turns
// that NACK into kNotReady.
//
// The SHT3x has no ID register. What stands in for one: the status word arrives with a valid
// Sensirion CRC and its reserved bits 14, 12, 3 and 2 read 0 (Table 18), else kWrongChip.
//
// The chip needs the bus left idle between commands (at least 1 ms, Table 9's "SCL free"); this
// driver never sleeps, so each command returns how long to wait before the next one.
#pragma once

#include <cstdint>
#include <span>

#include "edge/bus/i2c_bus.h"
#include "edge/drivers/sensor_error.h"

namespace edge::drivers {

class Sht3x {
 public:
  static constexpr std::uint8_t kDefaultAddress = 0x44;    // ADDR to VSS
  static constexpr std::uint8_t kAlternateAddress = 0x45;  // ADDR to VDD

  // Commands (Tables 9, 13, 16, 17, 19).
  static constexpr std::uint16_t kCmdMeasureHigh = 0x2400;  // single shot, no clock stretching
  static constexpr std::uint16_t kCmdMeasureMedium = 0x240B;
  static constexpr std::uint16_t kCmdMeasureLow = 0x2416;
  static constexpr std::uint16_t kCmdSoftReset = 0x30A2;
  static constexpr std::uint16_t kCmdHeaterOn = 0x306D;
  static constexpr std::uint16_t kCmdHeaterOff = 0x3066;
  static constexpr std::uint16_t kCmdReadStatus = 0xF32D;
  static constexpr std::uint16_t kCmdClearStatus = 0x3041;

  // Status register bits (Table 18). Power-up value 0x8010 (alert pending, reset detected).
  static constexpr std::uint16_t kStatusAlertPending = 1U << 15U;
  static constexpr std::uint16_t kStatusHeaterOn = 1U << 13U;
  static constexpr std::uint16_t kStatusHumidityAlert = 1U << 11U;
  static constexpr std::uint16_t kStatusTemperatureAlert = 1U << 10U;
  static constexpr std::uint16_t kStatusResetDetected = 1U << 4U;
  static constexpr std::uint16_t kStatusCommandFailed = 1U << 1U;
  static constexpr std::uint16_t kStatusWriteCrcFailed = 1U << 0U;
  static constexpr std::uint16_t kStatusReservedZero = (1U << 14U) | (1U << 12U) | (3U << 2U);

  // Waiting times in microseconds: bus idle between commands (Table 9), soft reset (max).
  static constexpr std::uint32_t kCommandGapUs = 1000;
  static constexpr std::uint32_t kSoftResetUs = 1500;

  enum class Repeatability : std::uint8_t { kHigh, kMedium, kLow };

  struct Measurement {
    std::int32_t temperature_milli_c;     // -45000 .. 130000
    std::int32_t humidity_milli_percent;  // 0 .. 100000
  };

  explicit Sht3x(bus::I2cBus& bus, std::uint8_t address = kDefaultAddress)
      : bus_(bus), address_(address) {}

  /// Starts a single-shot measurement; returns its maximum duration in microseconds (wait that
  /// long before read_measurement()). Errors: a failed transfer (from_bus).
  SensorResult<std::uint32_t> start_measurement(Repeatability repeatability = Repeatability::kHigh);

  /// Reads the finished measurement. Errors: kNotReady when the chip NACKs the read header (still
  /// measuring, or no measurement started); kCrc when either word's CRC does not match; any other
  /// failed transfer (from_bus).
  SensorResult<Measurement> read_measurement();

  /// The status register (Table 18). Errors: a failed transfer (from_bus); kCrc; kWrongChip when
  /// a reserved bit that reads 0 is set.
  SensorResult<std::uint16_t> read_status();

  /// Clears the alert and reset-detected flags. Returns the time to wait (us). Errors: from_bus.
  SensorResult<std::uint32_t> clear_status();
  /// Soft reset: reloads calibration, heater off. Returns the time to wait (us). Errors: from_bus.
  SensorResult<std::uint32_t> soft_reset();
  /// Switches the heater. Returns the time to wait (us). Errors: a failed transfer (from_bus).
  SensorResult<std::uint32_t> set_heater(bool on);

  /// CRC-8 over `bytes` (Table 20).
  static constexpr std::uint8_t crc8(std::span<const std::uint8_t> bytes) {
    std::uint32_t crc = 0xFF;  // unsigned arithmetic throughout: no promotion to int
    for (const std::uint8_t byte : bytes) {
      crc ^= byte;
      for (int bit = 0; bit < 8; ++bit) {
        crc = ((crc & 0x80U) != 0U ? (crc << 1U) ^ 0x31U : crc << 1U) & 0xFFU;
      }
    }
    return static_cast<std::uint8_t>(crc);
  }

  /// T = -45 + 175 * raw / 65535 °C (section 4.13), in milli-degrees, rounded to nearest.
  static constexpr std::int32_t temperature_milli_c(std::uint16_t raw) {
    return static_cast<std::int32_t>(scale_milli(175U, raw)) - 45000;
  }
  /// RH = 100 * raw / 65535 % (section 4.13), in milli-percent, rounded to nearest.
  static constexpr std::int32_t humidity_milli_percent(std::uint16_t raw) {
    return static_cast<std::int32_t>(scale_milli(100U, raw));
  }
  /// Maximum measurement duration (Table 4): 15 ms high, 6 ms medium, 4 ms low repeatability.
  static constexpr std::uint32_t measurement_time_us(Repeatability repeatability) {
    switch (repeatability) {
      case Repeatability::kMedium: return 6000;
      case Repeatability::kLow: return 4000;
      case Repeatability::kHigh: break;
    }
    return 15000;
  }

  /// Talks to the chip at `address` (7-bit) from now on, as a device configuration may say;
  /// call init() again before reading.
  void set_address(std::uint8_t address) { address_ = address; }
  [[nodiscard]] std::uint8_t address() const { return address_; }

 private:
  /// round(1000 * full_scale * raw / 65535) in 32-bit arithmetic (no 64-bit division on the M3).
  static constexpr std::uint32_t scale_milli(std::uint32_t full_scale, std::uint16_t raw) {
    const std::uint32_t product = full_scale * raw;
    const std::uint32_t whole = product / 65535U;
    const std::uint32_t rest = product % 65535U;
    return whole * 1000U + (rest * 1000U + 32767U) / 65535U;
  }

  SensorResult<std::uint32_t> command(std::uint16_t code, std::uint32_t wait_us);

  bus::I2cBus& bus_;
  std::uint8_t address_;
};

}  // namespace edge::drivers
