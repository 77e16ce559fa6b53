// TI TMP105 digital temperature sensor (datasheet SLLS648D). A pointer register (Table 1/2)
// selects one of four registers: temperature (12-bit two's complement, left-justified, read
// only), configuration (8 bits), T_LOW and T_HIGH (12-bit limits for the ALERT pin).
//
// The TMP105 has no ID register. What stands in for one: init() writes the configuration register
// and reads it back (every bit but OS must echo), and the temperature and limit registers' low
// four bits always read 0 (Tables 4, 10, 11). A chip that fails either is kWrongChip / kOutOfRange.
// The chip has no CRC: a flipped bit among T11..T0 cannot be told from a real reading.
//
// QEMU models it (hw/sensor/tmp105.c, `-device tmp105,address=0x48`): same pointer register,
// 1-byte configuration reads, 2-byte temperature and limit reads, low bits masked per R1/R0,
// T_LOW/T_HIGH reset to 75/80 °C. QEMU echoes the OS bit outside shutdown; init() ignores OS.
#pragma once

#include <algorithm>
#include <cstdint>

#include "edge/bus/i2c_bus.h"
#include "edge/drivers/sensor_error.h"

namespace edge::drivers {

class Tmp105 {
 public:
  static constexpr std::uint8_t kDefaultAddress = 0x48;    // A0 to GND
  static constexpr std::uint8_t kAlternateAddress = 0x49;  // A0 to V+

  // Pointer register values (Table 2; P7..P2 must be 0).
  static constexpr std::uint8_t kRegTemperature = 0x00;
  static constexpr std::uint8_t kRegConfig = 0x01;
  static constexpr std::uint8_t kRegTLow = 0x02;
  static constexpr std::uint8_t kRegTHigh = 0x03;

  // Configuration register bits (Table 6: OS R1 R0 F1 F0 POL TM SD). Power-up value 0x00.
  static constexpr std::uint8_t kConfigShutdown = 0x01;        // SD: stop after this conversion
  static constexpr std::uint8_t kConfigInterruptMode = 0x02;   // TM: 0 comparator, 1 interrupt
  static constexpr std::uint8_t kConfigPolarity = 0x04;        // POL: ALERT active high
  static constexpr std::uint8_t kConfigFaultQueueMask = 0x18;  // F1 F0: 1, 2, 4, 6 faults
  static constexpr std::uint8_t kConfigResolutionMask = 0x60;  // R1 R0 (Table 8)
  static constexpr std::uint8_t kConfigResolutionShift = 5;
  static constexpr std::uint8_t kConfigOneShot = 0x80;  // OS: one conversion while shut down

  // Power-up values of the limit registers: T_LOW 75 °C, T_HIGH 80 °C.
  static constexpr std::uint16_t kResetTLow = 0x4B00;
  static constexpr std::uint16_t kResetTHigh = 0x5000;

  // Bits of every 16-bit temperature/limit word that always read 0 (Table 4: T3..T0 then 0000).
  static constexpr std::uint16_t kAlwaysZeroBits = 0x000F;

  // Representable range: -128 °C .. +127.9375 °C (Table 5: 0x8000 .. 0x7FF0).
  static constexpr std::int32_t kMinMilliC = -128000;
  static constexpr std::int32_t kMaxMilliC = 127937;

  /// Converter resolution, R1/R0 (Table 8): 0.5, 0.25, 0.125, 0.0625 °C per LSB.
  enum class Resolution : std::uint8_t { k9Bit = 0, k10Bit = 1, k11Bit = 2, k12Bit = 3 };

  struct Limits {
    std::int32_t low_milli_c;   // T_LOW
    std::int32_t high_milli_c;  // T_HIGH
  };

  explicit Tmp105(bus::I2cBus& bus, std::uint8_t address = kDefaultAddress)
      : bus_(bus), address_(address) {}

  /// Continuous conversion, comparator mode, active-low ALERT, one fault, at `resolution`; reads
  /// the configuration back and checks the temperature register's always-zero bits. Returns the
  /// configuration byte read back. Errors: a failed transfer (from_bus); kWrongChip when the
  /// configuration does not echo or the temperature register's low four bits are not zero.
  SensorResult<std::uint8_t> init(Resolution resolution = Resolution::k12Bit);

  /// The configuration register as the chip reports it. Errors: a failed transfer (from_bus).
  SensorResult<std::uint8_t> read_config();

  /// The latest conversion in milli-degrees C, rounded to nearest (halves away from zero: 0x7FF0,
  /// +127.9375 °C, reads 127938). Errors: a failed transfer (from_bus); kOutOfRange when a bit
  /// that always reads 0 is set (a corrupted byte).
  SensorResult<std::int32_t> read_temperature_milli_c();
  /// The same, as the raw register word (left-justified, 1/256 °C per LSB of the word).
  SensorResult<std::int16_t> read_temperature_raw();

  /// Enters (true) or leaves (false) shutdown; the chip stops after the current conversion.
  /// Returns the configuration byte written. Errors: a failed transfer (from_bus).
  SensorResult<std::uint8_t> set_shutdown(bool shutdown);

  /// Starts one conversion (shutting the chip down first if it was converting continuously).
  /// The chip has no ready flag (OS reads 0): returns the typical conversion time in
  /// microseconds to wait before read_temperature_milli_c(). Errors: a failed transfer.
  SensorResult<std::uint32_t> start_one_shot();

  /// Writes T_LOW and T_HIGH, rounded to the nearest 1/16 °C; returns the limits as written.
  /// Errors: kBadArgument when low > high or either is outside kMinMilliC..kMaxMilliC (nothing
  /// is written); a failed transfer (from_bus).
  SensorResult<Limits> set_limits(std::int32_t low_milli_c, std::int32_t high_milli_c);
  /// Reads T_LOW and T_HIGH. Errors: a failed transfer (from_bus); kOutOfRange when a bit that
  /// always reads 0 is set.
  SensorResult<Limits> read_limits();

  /// Register word (Table 5 format) to milli-degrees C, rounded to nearest, halves away from 0.
  static constexpr std::int32_t to_milli_c(std::int16_t raw) {
    const std::int32_t scaled = std::int32_t{raw} * 125;  // raw / 256 °C == raw * 125 / 32 m°C
    return scaled >= 0 ? (scaled + 16) / 32 : -((-scaled + 16) / 32);
  }
  /// Milli-degrees C to a register word, rounded to the nearest 1/16 °C and clamped to range.
  static constexpr std::int16_t from_milli_c(std::int32_t milli_c) {
    // sixteenths = milli_c * 16 / 1000 = milli_c * 2 / 125
    const std::int32_t twice = std::clamp(milli_c, kMinMilliC, kMaxMilliC) * 2;
    const std::int32_t sixteenths = twice >= 0 ? (twice + 62) / 125 : -((-twice + 62) / 125);
    return static_cast<std::int16_t>(sixteenths * 16);
  }
  /// Typical conversion time at `resolution` (Table 8: 27.5, 55, 110, 220 ms).
  static constexpr std::uint32_t conversion_time_us(Resolution resolution) {
    return 27500U << static_cast<std::uint8_t>(resolution);
  }

  /// Talks to the chip at `address` (7-bit) from now on, as a device configuration may say;
  /// call init() again before reading.
  void set_address(std::uint8_t address) { address_ = address; }
  [[nodiscard]] std::uint8_t address() const { return address_; }

 private:
  SensorResult<std::uint16_t> read_word(std::uint8_t reg);
  SensorResult<std::uint8_t> write_config(std::uint8_t config);
  bus::BusStatus write_word(std::uint8_t reg, std::uint16_t word);

  bus::I2cBus& bus_;
  std::uint8_t address_;
  std::uint8_t config_ = 0;  // the configuration last written (power-up value until then)
};

}  // namespace edge::drivers
