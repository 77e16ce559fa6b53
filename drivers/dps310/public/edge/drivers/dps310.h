// Infineon DPS310 barometric pressure and temperature sensor (datasheet v01_01, 2017/2019).
// Register map (section 7): PSR_B2..B0 0x00, TMP_B2..B0 0x03 (24-bit two's complement results),
// PRS_CFG 0x06, TMP_CFG 0x07, MEAS_CFG 0x08, CFG_REG 0x09, RESET 0x0C, Product ID 0x0D (0x10),
// calibration coefficients 0x10..0x21 (section 8.11), COEF_SRCE 0x28.
//
// The driver runs the chip in background mode (continuous pressure and temperature) and
// compensates with the section 4.9 formulas, evaluated in 64-bit fixed point (no FPU needed):
//   Traw_sc = Traw / kT, Praw_sc = Praw / kP (kT, kP: Table 9, by oversampling)
//   Tcomp = c0 * 0.5 + c1 * Traw_sc
//   Pcomp = c00 + Praw_sc * (c10 + Praw_sc * (c20 + Praw_sc * c30))
//           + Traw_sc * c01 + Traw_sc * Praw_sc * (c11 + Praw_sc * c21)
//
// The chip has no CRC. What is checked: the product ID, MEAS_CFG's reserved bit 3 (reads 0) and
// its COEF_RDY / SENSOR_RDY / measurement-mode bits, the coefficients are read twice and must
// agree, and compensated results must lie in the operating range (-40..85 °C, 300..1200 hPa).
// A flipped bit in a result byte that keeps the value in range cannot be detected.
//
// QEMU 7.2 models the chip (hw/sensor/dps310.c, `-device dps310,address=0x77`) with a fixed
// register image captured from a real part (T ≈ 24.7 °C, P ≈ 929.5 hPa) and two quirks this
// driver tolerates: the Product ID register is not implemented and reads 0xFF, and MEAS_CFG
// stores every bit written, so the driver updates it read-modify-write (as Linux's regmap does),
// which keeps the model's ready bits set; the real chip ignores writes to those read-only bits.
#pragma once

#include <cstdint>
#include <span>

#include "edge/bus/i2c_bus.h"
#include "edge/drivers/sensor_error.h"

namespace edge::drivers {

class Dps310 {
 public:
  static constexpr std::uint8_t kDefaultAddress = 0x77;    // SDO high (or open)
  static constexpr std::uint8_t kAlternateAddress = 0x76;  // SDO to GND

  // Registers (section 7, register map).
  static constexpr std::uint8_t kRegPsrB2 = 0x00;  // PSR_B2..B0 then TMP_B2..B0: 6-byte burst
  static constexpr std::uint8_t kRegTmpB2 = 0x03;
  static constexpr std::uint8_t kRegPrsCfg = 0x06;
  static constexpr std::uint8_t kRegTmpCfg = 0x07;
  static constexpr std::uint8_t kRegMeasCfg = 0x08;
  static constexpr std::uint8_t kRegCfg = 0x09;
  static constexpr std::uint8_t kRegReset = 0x0C;
  static constexpr std::uint8_t kRegProductId = 0x0D;
  static constexpr std::uint8_t kRegCoef = 0x10;  // c0..c30, 18 bytes to 0x21
  static constexpr std::uint8_t kCoefBytes = 18;
  static constexpr std::uint8_t kRegCoefSrce = 0x28;

  static constexpr std::uint8_t kProductId = 0x10;      // REV_ID 1, PROD_ID 0 (section 8.10)
  static constexpr std::uint8_t kQemuProductId = 0xFF;  // QEMU 7.2 leaves 0x0D unimplemented

  // MEAS_CFG (section 8.5): status bits read-only, MEAS_CTRL read-write.
  static constexpr std::uint8_t kMeasCoefReady = 0x80;
  static constexpr std::uint8_t kMeasSensorReady = 0x40;
  static constexpr std::uint8_t kMeasTmpReady = 0x20;
  static constexpr std::uint8_t kMeasPrsReady = 0x10;
  static constexpr std::uint8_t kMeasReserved = 0x08;
  static constexpr std::uint8_t kMeasCtrlMask = 0x07;
  static constexpr std::uint8_t kMeasCtrlIdle = 0x00;
  static constexpr std::uint8_t kMeasCtrlBackgroundBoth = 0x07;
  // PRS_CFG / TMP_CFG (sections 8.3, 8.4): rate in bits 6:4, oversampling in 3:0.
  static constexpr std::uint8_t kTmpExternal = 0x80;  // TMP_EXT, must match COEF_SRCE bit 7
  static constexpr std::uint8_t kCoefSrceExternal = 0x80;
  // CFG_REG (section 8.6): result shift, required above 8x oversampling.
  static constexpr std::uint8_t kCfgTShift = 0x08;
  static constexpr std::uint8_t kCfgPShift = 0x04;
  static constexpr std::uint8_t kSoftResetCommand = 0x09;  // RESET register, SOFT_RST = 1001

  // Operating range (datasheet features): results outside it are taken as corrupted transfers.
  static constexpr std::int32_t kMinMilliC = -40000;
  static constexpr std::int32_t kMaxMilliC = 85000;
  static constexpr std::int32_t kMinMilliPa = 30000000;   // 300 hPa
  static constexpr std::int32_t kMaxMilliPa = 120000000;  // 1200 hPa

  /// Oversampling (PM_PRC / TMP_PRC, Table 9).
  enum class Oversampling : std::uint8_t { kX1, kX2, kX4, kX8, kX16, kX32, kX64, kX128 };
  /// Measurements per second in background mode (PM_RATE / TMP_RATE).
  enum class Rate : std::uint8_t { k1Hz, k2Hz, k4Hz, k8Hz, k16Hz, k32Hz, k64Hz, k128Hz };

  struct Config {
    Oversampling pressure_oversampling = Oversampling::kX1;  // QEMU's image assumes 1x
    Oversampling temperature_oversampling = Oversampling::kX1;
    Rate pressure_rate = Rate::k1Hz;
    Rate temperature_rate = Rate::k1Hz;
  };

  /// Calibration coefficients (section 8.11), sign-extended.
  struct Coefficients {
    std::int32_t c0, c1;                   // 12-bit
    std::int32_t c00, c10;                 // 20-bit
    std::int32_t c01, c11, c20, c21, c30;  // 16-bit
  };
  struct Raw {
    std::int32_t pressure;  // 24-bit two's complement, sign-extended
    std::int32_t temperature;
  };
  struct Reading {
    std::int32_t temperature_milli_c;
    std::int32_t pressure_milli_pa;
  };

  explicit Dps310(bus::I2cBus& bus, std::uint8_t address = kDefaultAddress)
      : bus_(bus), address_(address) {}

  /// Checks the product ID, waits for nothing: returns kNotReady until COEF_RDY and SENSOR_RDY
  /// are set (about 40 ms after power-up). Reads the coefficients (twice) and COEF_SRCE, stops
  /// measuring, writes PRS_CFG / TMP_CFG / CFG_REG, then starts background pressure and
  /// temperature measurement. Returns the coefficients. Errors: a failed transfer (from_bus);
  /// kWrongChip (product ID neither 0x10 nor QEMU's 0xFF, or MEAS_CFG bit 3 set); kBadArgument
  /// (a setting outside the enums, or rates x measurement times above one second: measurement-time
  /// table); kOutOfRange when the two coefficient reads differ (a corrupted transfer).
  SensorResult<Coefficients> init(const Config& config);
  /// init() with the default Config (single oversampling, 1 Hz: what QEMU's image assumes).
  SensorResult<Coefficients> init() { return init(Config{}); }

  /// The latest background results. Errors: kBadArgument before init(); a failed transfer
  /// (from_bus); kNotReady until the first pressure and temperature results exist, or when the
  /// chip is no longer measuring (it was reset: call init() again); kOutOfRange when MEAS_CFG's
  /// reserved bit reads 1 or a result is outside the operating range (a corrupted transfer).
  SensorResult<Reading> read();
  /// The raw results register pair (no ready check). Errors: a failed transfer (from_bus).
  SensorResult<Raw> read_raw();

  /// Coefficients from the 18 bytes at 0x10..0x21 (section 8.11 packing).
  static constexpr Coefficients parse_coefficients(std::span<const std::uint8_t, kCoefBytes> b) {
    const auto u = [&](int i) { return static_cast<std::uint32_t>(b[static_cast<unsigned>(i)]); };
    return {sign_extend((u(0) << 4U) | (u(1) >> 4U), 12),
            sign_extend(((u(1) & 0x0FU) << 8U) | u(2), 12),
            sign_extend((u(3) << 12U) | (u(4) << 4U) | (u(5) >> 4U), 20),
            sign_extend(((u(5) & 0x0FU) << 16U) | (u(6) << 8U) | u(7), 20),
            sign_extend((u(8) << 8U) | u(9), 16),
            sign_extend((u(10) << 8U) | u(11), 16),
            sign_extend((u(12) << 8U) | u(13), 16),
            sign_extend((u(14) << 8U) | u(15), 16),
            sign_extend((u(16) << 8U) | u(17), 16)};
  }
  /// Compensation scale factor kP / kT for an oversampling setting (Table 9).
  static constexpr std::int32_t scale_factor(Oversampling oversampling) {
    constexpr std::int32_t kTable[] = {524288, 1572864, 3670016, 7864320,
                                       253952, 516096,  1040384, 2088960};
    return kTable[static_cast<std::uint8_t>(oversampling) & 0x07U];
  }
  /// Two's complement of the low `bits` bits.
  static constexpr std::int32_t sign_extend(std::uint32_t value, unsigned bits) {
    const std::uint32_t sign = 1U << (bits - 1U);
    const std::uint32_t masked = value & ((sign << 1U) - 1U);
    return static_cast<std::int32_t>(masked ^ sign) - static_cast<std::int32_t>(sign);
  }

  /// Section 4.9 compensation of one result pair; kp / kt = scale_factor() of the pressure and
  /// temperature oversampling. Errors: kOutOfRange when |Praw_sc| or |Traw_sc| exceeds
  /// kMaxScaledRaw (real parts stay within ±1 over the whole operating range; the bound also
  /// keeps the 64-bit fixed point from overflowing) or a result is outside the operating range;
  /// kBadArgument when kp or kt is not positive.
  static SensorResult<Reading> compensate(const Coefficients& c, Raw raw, std::int32_t kp,
                                          std::int32_t kt);
  static constexpr std::int32_t kMaxScaledRaw = 4;

  /// Talks to the chip at `address` (7-bit) from now on, as a device configuration may say;
  /// call init() again before reading.
  void set_address(std::uint8_t address) { address_ = address; }
  [[nodiscard]] std::uint8_t address() const { return address_; }

 private:
  bus::BusStatus read_regs(std::uint8_t reg, std::span<std::uint8_t> out);
  bus::BusStatus write_reg(std::uint8_t reg, std::uint8_t value);
  SensorResult<std::uint8_t> set_meas_ctrl(std::uint8_t ctrl);

  bus::I2cBus& bus_;
  std::uint8_t address_;
  Coefficients coefficients_{};
  std::int32_t kp_ = 0;  // 0 until init() succeeds
  std::int32_t kt_ = 0;
  bool have_results_ = false;
};

}  // namespace edge::drivers
