// Bosch BME280 humidity, pressure and temperature sensor (datasheet BST-BME280-DS002).
// Memory map (section 5.3): calib00..25 at 0x88..0xA1, chip id 0xD0 (0x60), reset 0xE0,
// calib26..41 at 0xE1..0xF0, ctrl_hum 0xF2, status 0xF3, ctrl_meas 0xF4, config 0xF5, then the
// results press 0xF7..0xF9, temp 0xFA..0xFC (20 bits, xlsb in bits 7:4) and hum 0xFD..0xFE.
//
// The driver uses forced mode: start_measurement() writes ctrl_hum and then ctrl_meas (a
// ctrl_hum change only takes effect with the next ctrl_meas write, section 5.4.3), and read()
// fetches and compensates with the datasheet's integer formulas (section 4.2.3):
// BME280_compensate_T_int32 (t_fine), BME280_compensate_P_int64 (Pa, Q24.8) and
// bme280_compensate_H_int32 (%RH, Q22.10), here with 64-bit intermediates where the datasheet
// relies on inputs from a real part to stay within 32 bits.
//
// The chip has no CRC. What is checked: the chip id; the calibration is read twice and must
// agree and dig_T1 / dig_P1 must be neither 0 nor 0xFFFF (blank or unpowered NVM, and the P
// formula divides by dig_P1's product); the results are read twice (forced mode holds them until
// the next measurement) and must agree; the xlsb registers' bits 3:0 read 0; 0x80000 / 0x8000 is
// the "skipped / not measured" value (reset value; a real result equal to it is taken as not
// ready too, 1 in 2^20 or 2^16); compensated temperature and pressure must lie in the operating
// range (-40..85 °C, 300..1100 hPa). Humidity is clamped to 0..100 %RH by the formula itself,
// so a wrong but in-range humidity, or any corruption repeated identically in both reads, cannot
// be detected. QEMU 7.2 does not model the BME280.
#pragma once

#include <cstdint>
#include <span>

#include "edge/bus/i2c_bus.h"
#include "edge/drivers/sensor_error.h"

namespace edge::drivers {

class Bme280 {
 public:
  static constexpr std::uint8_t kDefaultAddress = 0x76;    // SDO to GND
  static constexpr std::uint8_t kAlternateAddress = 0x77;  // SDO to VDDIO

  // Registers (section 5.3).
  static constexpr std::uint8_t kRegCalib00 = 0x88;  // 26 bytes: dig_T1..dig_P9, (0xA0), dig_H1
  static constexpr std::uint8_t kCalib00Bytes = 26;
  static constexpr std::uint8_t kRegChipId = 0xD0;
  static constexpr std::uint8_t kRegReset = 0xE0;
  static constexpr std::uint8_t kRegCalib26 = 0xE1;  // 7 bytes: dig_H2..dig_H6
  static constexpr std::uint8_t kCalib26Bytes = 7;
  static constexpr std::uint8_t kRegCtrlHum = 0xF2;
  static constexpr std::uint8_t kRegStatus = 0xF3;
  static constexpr std::uint8_t kRegCtrlMeas = 0xF4;
  static constexpr std::uint8_t kRegConfig = 0xF5;
  static constexpr std::uint8_t kRegData = 0xF7;  // press, temp, hum: 8-byte burst to 0xFE
  static constexpr std::uint8_t kDataBytes = 8;

  static constexpr std::uint8_t kChipId = 0x60;
  static constexpr std::uint8_t kResetCommand = 0xB6;
  static constexpr std::uint8_t kStatusMeasuring = 0x08;  // status bit 3
  static constexpr std::uint8_t kStatusImUpdate = 0x01;   // NVM copying to image registers
  static constexpr std::uint8_t kModeSleep = 0x00;
  static constexpr std::uint8_t kModeForced = 0x01;
  static constexpr std::int32_t kSkipped20 = 0x80000;  // temperature / pressure not measured
  static constexpr std::int32_t kSkipped16 = 0x8000;   // humidity not measured

  // Operating range (section 1, specification).
  static constexpr std::int32_t kMinMilliC = -40000;
  static constexpr std::int32_t kMaxMilliC = 85000;
  static constexpr std::int64_t kMinMilliPa = 30000000;   // 300 hPa
  static constexpr std::int64_t kMaxMilliPa = 110000000;  // 1100 hPa

  /// osrs_h / osrs_t / osrs_p codes (sections 5.4.3, 5.4.5); skipping a quantity is not offered.
  enum class Oversampling : std::uint8_t { kX1 = 1, kX2, kX4, kX8, kX16 };
  /// IIR filter coefficient, config bits 4:2 (section 5.4.6).
  enum class Filter : std::uint8_t { kOff, kX2, kX4, kX8, kX16 };

  struct Config {
    Oversampling temperature = Oversampling::kX1;
    Oversampling pressure = Oversampling::kX1;
    Oversampling humidity = Oversampling::kX1;
    Filter filter = Filter::kOff;
  };

  /// Trimming parameters (section 4.2.2, Table 16).
  struct Calibration {
    std::uint16_t t1;
    std::int16_t t2, t3;
    std::uint16_t p1;
    std::int16_t p2, p3, p4, p5, p6, p7, p8, p9;
    std::uint8_t h1;
    std::int16_t h2;
    std::uint8_t h3;
    std::int16_t h4, h5;  // 12-bit, packed across 0xE4..0xE6
    std::int8_t h6;
  };
  struct Raw {
    std::int32_t temperature;  // adc_T, 20 bits
    std::int32_t pressure;     // adc_P, 20 bits
    std::int32_t humidity;     // adc_H, 16 bits
  };
  struct Reading {
    std::int32_t temperature_milli_c;
    std::int32_t pressure_milli_pa;
    std::int32_t humidity_milli_percent;  // milli-%RH: 0..100000
  };
  struct Temperature {
    std::int32_t centi_c;  // BME280_compensate_T_int32's result
    std::int32_t t_fine;
  };

  explicit Bme280(bus::I2cBus& bus, std::uint8_t address = kDefaultAddress)
      : bus_(bus), address_(address) {}

  /// Checks the chip id, reads the calibration twice, puts the chip to sleep and writes config
  /// (filter) and ctrl_hum. Returns the calibration. Errors: a failed transfer (from_bus);
  /// kWrongChip (id not 0x60); kNotReady (status im_update: NVM still loading after power-up);
  /// kOutOfRange (the two calibration reads differ, or dig_T1 / dig_P1 is 0 or 0xFFFF);
  /// kBadArgument (a setting outside the enums).
  SensorResult<Calibration> init(const Config& config);
  SensorResult<Calibration> init() { return init(Config{}); }

  /// Starts one forced-mode measurement. Returns the maximum measurement time in microseconds
  /// (section 9.1) to wait before read(). Errors: kBadArgument before init(); a failed transfer.
  SensorResult<std::uint32_t> start_measurement();

  /// The results of the last measurement. Errors: kBadArgument before init(); a failed transfer
  /// (from_bus); kNotReady (still measuring, or a quantity holds the skipped value: nothing
  /// measured since reset); kOutOfRange (the two reads differ, an xlsb low bit is set, or
  /// temperature / pressure is outside the operating range).
  SensorResult<Reading> read();
  /// One burst of the results registers. Errors: a failed transfer; kOutOfRange (xlsb low bits).
  SensorResult<Raw> read_raw();

  /// Trimming parameters from calib00..25 (0x88..0xA1) and calib26..32 (0xE1..0xE7).
  static Calibration parse_calibration(std::span<const std::uint8_t, kCalib00Bytes> low,
                                       std::span<const std::uint8_t, kCalib26Bytes> high);
  /// BME280_compensate_T_int32: 0.01 °C and t_fine.
  static Temperature compensate_temperature(const Calibration& cal, std::int32_t adc_t);
  /// BME280_compensate_P_int64: pascal in Q24.8 (0 when dig_P1 makes the divisor 0).
  static std::uint32_t compensate_pressure(const Calibration& cal, std::int32_t adc_p,
                                           std::int32_t t_fine);
  /// bme280_compensate_H_int32: %RH in Q22.10, clamped to 0..100 %RH.
  static std::uint32_t compensate_humidity(const Calibration& cal, std::int32_t adc_h,
                                           std::int32_t t_fine);
  /// Raw results to a reading; errors as read() for the values themselves.
  static SensorResult<Reading> compensate(const Calibration& cal, const Raw& raw);
  /// t_measure,max of section 9.1: 1.25 ms + 2.3 ms per sample (+0.575 ms for P and H).
  static constexpr std::uint32_t measurement_time_us(const Config& config) {
    const auto samples = [](Oversampling o) { return 1U << (static_cast<std::uint8_t>(o) - 1U); };
    return 1250U + 2300U * samples(config.temperature) + 2300U * samples(config.pressure) + 575U +
           2300U * samples(config.humidity) + 575U;
  }

  /// Talks to the chip at `address` (7-bit) from now on, as a device configuration may say;
  /// call init() again before reading.
  void set_address(std::uint8_t address) { address_ = address; }
  [[nodiscard]] std::uint8_t address() const { return address_; }

 private:
  bus::BusStatus read_regs(std::uint8_t reg, std::span<std::uint8_t> out);
  bus::BusStatus write_reg(std::uint8_t reg, std::uint8_t value);

  bus::I2cBus& bus_;
  std::uint8_t address_;
  Calibration cal_{};
  Config config_{};
  bool initialised_ = false;
};

}  // namespace edge::drivers
