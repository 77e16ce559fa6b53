#include "tmp105_emulator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>

namespace edge::drivers {

namespace {

constexpr std::uint8_t kShutdown = 0x01;
constexpr std::uint8_t kOneShot = 0x80;

}  // namespace

void Tmp105Emulator::set_temperature_milli_c(std::int32_t milli_c) {
  milli_c_ = milli_c;
  if ((config_ & kShutdown) == 0U) {
    convert();  // converting continuously
  }
}

void Tmp105Emulator::convert() {
  // 12-bit ADC: sixteenths of a degree, saturating at the ends of Table 5.
  const auto sixteenths =
      std::clamp(std::lround(static_cast<double>(milli_c_) * 16.0 / 1000.0), -2048L, 2047L);
  temperature_ = static_cast<std::uint16_t>(static_cast<std::uint16_t>(sixteenths) << 4U);
  ++conversions_;
}

std::uint16_t Tmp105Emulator::temperature_register() const {
  // R1/R0 = 0..3 keep 9..12 bits; the unused LSBs read 0.
  const unsigned resolution = (config_ >> 5U) & 0x3U;
  const auto keep = static_cast<std::uint16_t>(0xFFF0U << (3U - resolution));
  return static_cast<std::uint16_t>(temperature_ & keep);
}

bool Tmp105Emulator::write(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) {
    return true;  // address only
  }
  if ((bytes[0] & 0xFCU) != 0U) {
    return false;  // Table 1: P7..P2 are 0
  }
  pointer_ = bytes[0];
  const auto data = bytes.subspan(1);
  if (data.empty()) {
    return true;
  }
  switch (pointer_) {
    case 0x00: return false;  // the temperature register is read-only
    case 0x01: {
      if (data.size() != 1) {
        return false;
      }
      config_ = static_cast<std::uint8_t>(data[0] & ~kOneShot);
      if ((data[0] & kOneShot) != 0U && (config_ & kShutdown) != 0U) {
        convert();  // one-shot: a single conversion, then back to shutdown
      }
      return true;
    }
    default: {
      if (data.size() > 2) {
        return false;
      }
      if (data.size() == 2) {
        const auto word = static_cast<std::uint16_t>(
            ((static_cast<std::uint32_t>(data[0]) << 8U) | data[1]) & 0xFFF0U);
        (pointer_ == 0x02 ? t_low_ : t_high_) = word;
      }
      return true;
    }
  }
}

bool Tmp105Emulator::read(std::span<std::uint8_t> out) {
  std::array<std::uint8_t, 2> reg{};
  std::size_t width = 2;
  std::uint16_t word = 0;
  switch (pointer_) {
    case 0x00: word = temperature_register(); break;
    case 0x01:
      reg[0] = config_;  // OS reads 0
      width = 1;
      break;
    case 0x02: word = t_low_; break;
    default: word = t_high_; break;
  }
  if (width == 2) {
    reg = {static_cast<std::uint8_t>(word >> 8U), static_cast<std::uint8_t>(word & 0xFFU)};
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = i < width ? reg[i] : 0xFF;
  }
  return true;
}

}  // namespace edge::drivers
