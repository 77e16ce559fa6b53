#include "sht3x_emulator.h"

#include <algorithm>
#include <cmath>

namespace edge::drivers {

namespace {

constexpr std::uint16_t kAlertPending = 1U << 15U;
constexpr std::uint16_t kHeaterOn = 1U << 13U;
constexpr std::uint16_t kHumidityAlert = 1U << 11U;
constexpr std::uint16_t kTemperatureAlert = 1U << 10U;
constexpr std::uint16_t kResetDetected = 1U << 4U;
constexpr std::uint16_t kCommandFailed = 1U << 1U;
constexpr std::uint16_t kPowerUpStatus = kAlertPending | kResetDetected;

// The inverse of section 4.13: S = (value - offset) * 65535 / span, rounded and clamped.
std::uint16_t encode(double value, double offset, double span) {
  const double raw = std::round((value - offset) * 65535.0 / span);
  return static_cast<std::uint16_t>(std::clamp(raw, 0.0, 65535.0));
}

}  // namespace

std::uint8_t Sht3xEmulator::crc8(std::uint8_t msb, std::uint8_t lsb) {
  // Polynomial x^8 + x^5 + x^4 + 1, initial value 0xFF, MSB first, no final XOR.
  unsigned crc = 0xFFU;
  for (const std::uint8_t byte : {msb, lsb}) {
    for (int bit = 7; bit >= 0; --bit) {
      const unsigned in = (static_cast<unsigned>(byte) >> static_cast<unsigned>(bit)) & 1U;
      const unsigned top = (crc >> 7U) & 1U;
      crc = (crc << 1U) & 0xFFU;
      if ((in ^ top) != 0U) {
        crc ^= 0x31U;
      }
    }
  }
  return static_cast<std::uint8_t>(crc);
}

void Sht3xEmulator::set_temperature_milli_c(std::int32_t milli_c) {
  raw_temperature_ = encode(milli_c / 1000.0, -45.0, 175.0);
}

void Sht3xEmulator::set_humidity_milli_percent(std::int32_t milli_percent) {
  raw_humidity_ = encode(milli_percent / 1000.0, 0.0, 100.0);
}

void Sht3xEmulator::queue_word(std::uint16_t word) {
  const auto msb = static_cast<std::uint8_t>(word >> 8U);
  const auto lsb = static_cast<std::uint8_t>(word & 0xFFU);
  pending_.insert(pending_.end(), {msb, lsb, crc8(msb, lsb)});
}

bool Sht3xEmulator::write(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 2) {
    return true;  // address only, or an incomplete command: nothing happens
  }
  if (bytes.size() > 2) {
    return false;  // write-data commands (alert limits) are not modelled
  }
  const auto code = static_cast<std::uint16_t>((bytes[0] << 8U) | bytes[1]);
  last_command_ = code;
  pending_.clear();  // a new command discards unread data
  status_ = static_cast<std::uint16_t>(status_ & ~kCommandFailed);
  switch (code) {
    case 0x2400:  // single shot, clock stretching disabled: high, medium, low repeatability
    case 0x240B:
    case 0x2416:
    case 0x2C06:  // clock stretching enabled (the emulator is ready at once: nothing to stretch)
    case 0x2C0D:
    case 0x2C10:
      queue_word(raw_temperature_);
      queue_word(raw_humidity_);
      busy_left_ = (code & 0xFF00U) == 0x2C00U ? 0 : busy_reads_;
      ++measurements_;
      break;
    case 0xF32D: queue_word(status_); break;
    case 0x3041:
      status_ = static_cast<std::uint16_t>(
          status_ & ~(kAlertPending | kHumidityAlert | kTemperatureAlert | kResetDetected));
      break;
    case 0x30A2:
      status_ = kPowerUpStatus;
      busy_left_ = 0;
      break;
    case 0x306D: status_ = static_cast<std::uint16_t>(status_ | kHeaterOn); break;
    case 0x3066: status_ = static_cast<std::uint16_t>(status_ & ~kHeaterOn); break;
    default: status_ = static_cast<std::uint16_t>(status_ | kCommandFailed); break;
  }
  return true;
}

bool Sht3xEmulator::read(std::span<std::uint8_t> out) {
  if (pending_.empty()) {
    return false;  // no data: the read header is NACKed
  }
  if (busy_left_ > 0) {
    --busy_left_;
    return false;  // still measuring: the read header is NACKed (section 4.3)
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = i < pending_.size() ? pending_[i] : 0xFF;
  }
  pending_.clear();
  return true;
}

}  // namespace edge::drivers
