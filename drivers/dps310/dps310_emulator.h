// A DPS310 for the emulated I2C bus: host and Linux test code only.
//
// Two models:
//  - kDatasheet: the register behaviour the datasheet describes. Product ID 0x10; MEAS_CFG's
//    status bits are read-only (only MEAS_CTRL is stored); command mode (MEAS_CTRL 1 or 2)
//    measures at once and returns to idle; background mode (5, 6, 7) produces a result each
//    time tick() is called; PRS_RDY / TMP_RDY clear when the result's bytes are read; writing
//    0x09 to RESET restores the power-up state (COEF_RDY / SENSOR_RDY set, idle).
//  - kQemu72: QEMU 7.2's hw/sensor/dps310.c, byte for byte: its fixed reset image (results,
//    configuration, coefficients captured from a real part), MEAS_CFG reset to 0xF0, every
//    register outside its implemented set (and above 0x32) reading 0xFF (so the Product ID reads
//    0xFF), writes stored whole to PRS_CFG / TMP_CFG / MEAS_CFG / CFG_REG only, no measuring.
//
// The setters encode a physical value into raw results by inverting the section 4.9 formulas
// with the loaded coefficients and the scale factors the configuration registers select.
#pragma once

#include <array>
#include <cstdint>

#include "edge/drivers/dps310.h"
#include "edge/emulator/i2c_emulator.h"

namespace edge::emulator {

class Dps310Emulator final : public RegisterChip {
 public:
  enum class Model : std::uint8_t { kDatasheet, kQemu72 };

  /// QEMU 7.2's dps310_reset() register image, registers 0x00..0x32 (MEAS_CFG then set to 0xF0).
  static constexpr std::array<std::uint8_t, 0x33> kQemuResetImage{
      0xfe, 0x2f, 0xee, 0x02, 0x69, 0xa6, 0x00, 0x80, 0xc7, 0x00, 0x00, 0x00, 0x00,
      0x10, 0x00, 0x00, 0x0e, 0x1e, 0xdd, 0x13, 0xca, 0x5f, 0x21, 0x52, 0xf9, 0xc6,
      0x04, 0xd1, 0xdb, 0x47, 0x00, 0x5b, 0xfb, 0x3a, 0x00, 0x00, 0x20, 0x49, 0x4e,
      0xa5, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x60, 0x15, 0x02};

  explicit Dps310Emulator(Model model = Model::kDatasheet);

  /// Back to power-up (datasheet) or QEMU's reset image (kQemu72); keeps the physical values.
  void reset();
  /// Writes the coefficients into 0x10..0x21 with the section 8.11 packing.
  void set_coefficients(const drivers::Dps310::Coefficients& c);
  static std::array<std::uint8_t, drivers::Dps310::kCoefBytes> pack_coefficients(
      const drivers::Dps310::Coefficients& c);

  /// Physical values; a result is produced from them at the next measurement.
  void set_temperature_milli_c(std::int32_t milli_c) { milli_c_ = milli_c; }
  void set_pressure_milli_pa(std::int64_t milli_pa) { milli_pa_ = milli_pa; }
  /// Puts raw results straight into the result registers (and sets both ready bits).
  void set_raw(std::int32_t pressure, std::int32_t temperature);
  /// One background-mode measurement period (datasheet model): both results and ready bits.
  void tick();
  /// Clears COEF_RDY and SENSOR_RDY (the first ~40 ms after power-up).
  void set_booting() { regs[drivers::Dps310::kRegMeasCfg] &= 0x3FU; }

  /// The raw values the setters encode to with the current configuration.
  [[nodiscard]] std::int32_t encode_temperature() const;
  [[nodiscard]] std::int32_t encode_pressure() const;
  [[nodiscard]] int read_only_writes() const { return read_only_writes_; }

 protected:
  bool on_write(std::uint8_t reg, std::uint8_t value) override;
  std::uint8_t on_read(std::uint8_t reg) override;

 private:
  [[nodiscard]] drivers::Dps310::Coefficients coefficients() const;
  [[nodiscard]] double kt() const;
  [[nodiscard]] double kp() const;
  void measure(bool pressure, bool temperature);

  Model model_;
  // The coefficient fuses: reset() restores them (QEMU's bytes unless set_coefficients()).
  std::array<std::uint8_t, drivers::Dps310::kCoefBytes> fuses_{};
  std::int32_t milli_c_ = 25000;
  std::int64_t milli_pa_ = 101325000;
  int read_only_writes_ = 0;
};

}  // namespace edge::emulator
