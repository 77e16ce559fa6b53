// A BME280 for the emulated I2C bus: host and Linux test code only.
//
// Modelled from the datasheet: reads auto-increment from the register pointer; a write
// transfer is register/data pairs (section 6.2.1: "reg, data, reg, data"), not an
// auto-incrementing block; id 0xD0 reads 0x60; writing 0xB6 to 0xE0 resets the control and
// result registers (the calibration NVM stays); ctrl_hum is latched only by the next ctrl_meas
// write (section 5.4.3); a ctrl_meas write in forced mode starts a measurement: status bit 3
// (measuring) reads 1 for set_busy_reads() status reads, then the results appear and the mode
// returns to sleep; a skipped quantity (oversampling 0) reads 0x80000 / 0x8000, as do all results
// after reset. Temperature and pressure carry 16 + (osrs - 1) significant bits without the IIR
// filter and 20 bits with it (datasheet, measurement flow); xlsb bits 3:0 read 0.
//
// The setters hold physical values; a measurement encodes them into adc values by searching
// the datasheet compensation (monotonic in each adc value) for the closest result.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "edge/drivers/bme280.h"
#include "edge/emulator/i2c_emulator.h"

namespace edge::emulator {

class Bme280Emulator final : public RegisterChip {
 public:
  /// The BMP280 datasheet's worked example (section 3.12) for T and P, and plausible humidity
  /// trimming values (Bosch publishes no worked humidity example).
  static constexpr drivers::Bme280::Calibration kExampleCalibration{
      27504, 26435,  -1000, 36477, -10685, 3024, 2855, 140, -7,
      15500, -14600, 6000,  75,    362,    0,    313,  50,  30};

  Bme280Emulator();

  bool write(std::span<const std::uint8_t> bytes) override;

  /// Writes the trimming parameters into 0x88..0xA1 and 0xE1..0xE7 (Table 16 packing).
  void set_calibration(const drivers::Bme280::Calibration& cal);
  static std::array<std::uint8_t, drivers::Bme280::kCalib00Bytes> pack_low(
      const drivers::Bme280::Calibration& cal);
  static std::array<std::uint8_t, drivers::Bme280::kCalib26Bytes> pack_high(
      const drivers::Bme280::Calibration& cal);

  void set_temperature_milli_c(std::int32_t milli_c) { milli_c_ = milli_c; }
  void set_pressure_milli_pa(std::int64_t milli_pa) { milli_pa_ = milli_pa; }
  void set_humidity_milli_percent(std::int32_t milli_percent) { milli_percent_ = milli_percent; }
  /// Measure these adc values instead of encoding the physical ones (until cleared).
  void set_raw(std::optional<drivers::Bme280::Raw> raw) { raw_ = raw; }
  /// Status reads that show "measuring" after each forced-mode start.
  void set_busy_reads(int reads) { busy_reads_ = reads; }
  /// Power-on / soft reset: control registers 0, results 0x80000 / 0x8000, sleep mode.
  void reset();

  /// The adc values a measurement would produce now.
  [[nodiscard]] drivers::Bme280::Raw encode() const;
  [[nodiscard]] int measurements() const { return measurements_; }
  [[nodiscard]] int read_only_writes() const { return read_only_writes_; }
  /// osrs_h as latched by the last ctrl_meas write.
  [[nodiscard]] std::uint8_t latched_osrs_h() const { return osrs_h_; }

 protected:
  bool on_write(std::uint8_t reg, std::uint8_t value) override;
  std::uint8_t on_read(std::uint8_t reg) override;

 private:
  [[nodiscard]] drivers::Bme280::Calibration calibration() const;
  void finish_measurement();

  std::int32_t milli_c_ = 25000;
  std::int64_t milli_pa_ = 101325000;
  std::int32_t milli_percent_ = 50000;
  std::optional<drivers::Bme280::Raw> raw_;
  std::uint8_t osrs_h_ = 0;
  int busy_reads_ = 0;
  int busy_left_ = 0;
  bool pending_ = false;
  int measurements_ = 0;
  int read_only_writes_ = 0;
};

}  // namespace edge::emulator
