// A TMP105 (datasheet SLLS648D) for the emulated I2C bus: host and Linux test code only.
//
// Behaviour modelled from the datasheet: the first written byte sets the pointer register
// (P7..P2 must be 0, else NACK); the temperature register is read-only (a data byte written to
// it is NACKed); configuration reads are 1 byte and OS always reads 0; T_LOW/T_HIGH take 2 bytes,
// MSB first, and keep only their 12 significant bits; bytes read past a register's width are
// 0xFF. Conversions are instantaneous: converting continuously (SD = 0) the temperature register
// follows set_temperature_milli_c() at once; shut down (SD = 1) it keeps the last conversion
// until OS is written. Unused LSBs read 0 at 9-, 10- and 11-bit resolution (Table 8).
#pragma once

#include <cstdint>
#include <span>

#include "edge/emulator/i2c_emulator.h"

namespace edge::drivers {

class Tmp105Emulator final : public emulator::ChipEmulator {
 public:
  bool write(std::span<const std::uint8_t> bytes) override;
  bool read(std::span<std::uint8_t> out) override;

  /// The die temperature. The ADC rounds it to the nearest 1/16 °C and saturates at
  /// -128 °C / +127.9375 °C (Table 5: +128 °C reads 0x7FF).
  void set_temperature_milli_c(std::int32_t milli_c);

  /// The temperature register as the master reads it (resolution applied).
  [[nodiscard]] std::uint16_t temperature_register() const;
  [[nodiscard]] std::uint8_t config() const { return config_; }
  [[nodiscard]] std::uint16_t t_low() const { return t_low_; }
  [[nodiscard]] std::uint16_t t_high() const { return t_high_; }
  /// Conversions finished so far.
  [[nodiscard]] int conversions() const { return conversions_; }

 private:
  void convert();

  std::int32_t milli_c_ = 0;
  std::uint8_t pointer_ = 0;
  std::uint8_t config_ = 0x00;     // power-up value (Table 6)
  std::uint16_t temperature_ = 0;  // 0 °C until the first conversion
  std::uint16_t t_low_ = 0x4B00;   // 75 °C
  std::uint16_t t_high_ = 0x5000;  // 80 °C
  int conversions_ = 0;
};

}  // namespace edge::drivers
