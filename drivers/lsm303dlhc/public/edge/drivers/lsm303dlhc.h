// ST LSM303DLHC e-compass, magnetometer half only (I2C 0x1E; the accelerometer sits at 0x19 and
// is not handled here). Datasheet DocID018771: Table 3 (M_GN sensitivities, TSDr), Table 17
// (register map) and section 7.2 (magnetometer registers).
//
// Reports the field in integer nanotesla (1 gauss = 100 000 nT) and the temperature in milli-°C.
// Every call returns a SensorError instead of a number when a transfer fails (from_bus: kBusNack,
// kBusTimeout, kBusError) or the bytes cannot be what the chip sends (kOutOfRange).
//
// Works against QEMU 7.2's `lsm303dlhc_mag` model (hw/sensor/lsm303dlhc_mag.c), which the driver
// allows for: it writes one register per transfer (QEMU does not advance the pointer on writes),
// reads the outputs X,Z,Y from 0x03 in one transfer, and ignores SR LOCK (QEMU sets it during
// every read). QEMU places TEMP_OUT right-aligned instead of the datasheet's left-aligned 12 bits:
// pass TempLayout::kRightAligned when talking to QEMU.
#pragma once

#include <cstdint>

#include "edge/bus/i2c_bus.h"
#include "edge/drivers/sensor_error.h"

namespace edge::drivers {

class Lsm303dlhcMag {
 public:
  static constexpr std::uint8_t kDefaultAddress = 0x1E;

  // Register map (datasheet Table 17, magnetometer part).
  static constexpr std::uint8_t kRegCra = 0x00;       // CRA_REG_M: TEMP_EN, data rate
  static constexpr std::uint8_t kRegCrb = 0x01;       // CRB_REG_M: gain
  static constexpr std::uint8_t kRegMr = 0x02;        // MR_REG_M: operating mode
  static constexpr std::uint8_t kRegOutXH = 0x03;     // then X_L, Z_H, Z_L, Y_H, Y_L: X, Z, Y order
  static constexpr std::uint8_t kRegSr = 0x09;        // SR_REG_M: LOCK (bit 1), DRDY (bit 0)
  static constexpr std::uint8_t kRegIra = 0x0A;       // IRA/IRB/IRC_REG_M: 'H', '4', '3'
  static constexpr std::uint8_t kRegTempOutH = 0x31;  // then TEMP_OUT_L_M 0x32
  static constexpr std::uint8_t kIdentity[3] = {'H', '4', '3'};
  static constexpr std::uint8_t kCraTempEnable = 0x80;
  static constexpr std::uint8_t kSrDrdy = 0x01;
  static constexpr std::uint8_t kSrLock = 0x02;
  /// An output register holds this (0xF000) when its axis overflowed (datasheet 7.2, OUT_*_M).
  static constexpr std::int16_t kOverflow = -4096;
  static constexpr std::int16_t kRawMin = -2048;  // 12-bit outputs, 0xF800..0x07FF
  static constexpr std::int16_t kRawMax = 2047;

  /// CRA_REG_M DO[2:0] (bits 4:2): minimum output data rate.
  enum class DataRate : std::uint8_t {
    k0_75Hz = 0,
    k1_5Hz,
    k3Hz,
    k7_5Hz,
    k15Hz,
    k30Hz,
    k75Hz,
    k220Hz
  };
  /// CRB_REG_M GN[2:0] (bits 7:5): input range in gauss. GN=000 is not a setting.
  enum class Gain : std::uint8_t {
    k1_3Gauss = 1,
    k1_9Gauss,
    k2_5Gauss,
    k4_0Gauss,
    k4_7Gauss,
    k5_6Gauss,
    k8_1Gauss
  };
  /// MR_REG_M MD[1:0]: 00 continuous, 01 single conversion, 1x sleep (the reset state).
  enum class Mode : std::uint8_t { kContinuous = 0, kSingle = 1, kSleep = 3 };
  /// Where TEMP_OUT_H_M/TEMP_OUT_L_M put the 12-bit two's-complement temperature: the datasheet
  /// left-aligns it (TEMP11..TEMP4, then TEMP3..TEMP0 in the top nibble of the low byte); QEMU
  /// 7.2's model right-aligns it (sign-extended 16-bit value).
  enum class TempLayout : std::uint8_t { kDatasheet, kRightAligned };

  struct Config {
    DataRate rate = DataRate::k15Hz;
    Gain gain = Gain::k1_3Gauss;
    Mode mode = Mode::kContinuous;
    bool temperature = true;  // CRA TEMP_EN
  };
  struct Raw {  // output registers as sent, in the chip's X, Z, Y order put back to x, y, z
    std::int16_t x = 0;
    std::int16_t y = 0;
    std::int16_t z = 0;
  };
  struct Field {  // nanotesla
    std::int32_t x_nt = 0;
    std::int32_t y_nt = 0;
    std::int32_t z_nt = 0;
  };

  explicit Lsm303dlhcMag(bus::I2cBus& bus, std::uint8_t address = kDefaultAddress,
                         TempLayout temp_layout = TempLayout::kDatasheet)
      : bus_(bus), address_(address), temp_layout_(temp_layout) {}

  /// Checks IRA/IRB/IRC ('H','4','3', else kWrongChip), then writes CRA, CRB and MR. Returns the
  /// configuration applied; kBadArgument for a rate, gain or mode outside the enums; a bus error
  /// if any transfer fails (the chip may then be partly configured: call init again).
  SensorResult<Config> init(const Config& config);
  /// init() with the defaults: 15 Hz, ±1.3 gauss, continuous, temperature on.
  SensorResult<Config> init() { return init(Config{}); }
  /// Writes MR_REG_M (kSingle starts one conversion). Returns the mode, kBadArgument or a bus
  /// error.
  SensorResult<Mode> set_mode(Mode mode);
  /// SR_REG_M DRDY: true when a new set of outputs is ready. Returns a bus error on failure.
  SensorResult<bool> data_ready();
  /// The three outputs. kOutOfRange when an axis overflowed (0xF000: lower the gain) or a value is
  /// outside -2048..2047 (a corrupted transfer); a bus error on a failed transfer.
  SensorResult<Raw> read_raw();
  /// read_raw() converted with the gain last set by init() (the reset gain ±1.3 G before).
  SensorResult<Field> read_field();
  /// TEMP_OUT at 8 LSB/°C (datasheet Table 3, TSDr), as milli-°C. The datasheet gives no absolute
  /// zero point (real parts are reported to read some 20 °C low); QEMU's model is absolute.
  /// kOutOfRange when the bits that must be zero (or the sign) are not; a bus error otherwise.
  /// Needs Config::temperature (TEMP_EN).
  SensorResult<std::int32_t> read_temperature_milli_c();

  /// Sensitivity in LSB/gauss for X/Y and for Z (datasheet Table 3, M_GN); 0 for GN=000.
  static constexpr std::uint16_t kXyLsbPerGauss[8] = {0, 1100, 855, 670, 450, 400, 330, 230};
  static constexpr std::uint16_t kZLsbPerGauss[8] = {0, 980, 760, 600, 400, 355, 295, 205};

  /// raw / (LSB/gauss) gauss in nanotesla, rounded to nearest: raw * 100000 / lsb_per_gauss.
  static constexpr std::int32_t to_nanotesla(std::int16_t raw, std::uint16_t lsb_per_gauss) {
    const std::int32_t num = static_cast<std::int32_t>(raw) * 100000;
    const std::int32_t den = lsb_per_gauss;
    const std::int32_t half = den / 2;
    return num >= 0 ? (num + half) / den : (num - half) / den;
  }

  /// Talks to the chip at `address` (7-bit) from now on, as a device configuration may say;
  /// call init() again before reading.
  void set_address(std::uint8_t address) { address_ = address; }
  [[nodiscard]] std::uint8_t address() const { return address_; }

 private:
  SensorResult<std::uint8_t> write_register(std::uint8_t reg, std::uint8_t value);

  bus::I2cBus& bus_;
  std::uint8_t address_;
  TempLayout temp_layout_;
  Gain gain_ = Gain::k1_3Gauss;  // CRB reset value 0x20
};

}  // namespace edge::drivers
