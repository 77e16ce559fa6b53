#include "edge/drivers/sht3x.h"

#include <array>
#include <cstdint>

namespace edge::drivers {

namespace {

/// Whether byte 2 is the CRC of bytes 0 and 1 (Table 20).
constexpr bool word_crc_ok(std::span<const std::uint8_t> three) {
  return Sht3x::crc8(three.first(2)) == three[2];
}

constexpr std::uint16_t word_of(std::span<const std::uint8_t> two) {
  return static_cast<std::uint16_t>((two[0] << 8U) | two[1]);
}

}  // namespace

SensorResult<std::uint32_t> Sht3x::command(std::uint16_t code, std::uint32_t wait_us) {
  const std::array<std::uint8_t, 2> tx{static_cast<std::uint8_t>(code >> 8U),
                                       static_cast<std::uint8_t>(code & 0xFFU)};
  if (const auto status = bus_.write_read(address_, tx, {}); status != bus::BusStatus::kOk) {
    return from_bus(status);
  }
  return wait_us;
}

SensorResult<std::uint32_t> Sht3x::start_measurement(Repeatability repeatability) {
  std::uint16_t code = kCmdMeasureHigh;
  switch (repeatability) {
    case Repeatability::kMedium: code = kCmdMeasureMedium; break;
    case Repeatability::kLow: code = kCmdMeasureLow; break;
    case Repeatability::kHigh: break;
  }
  return command(code, measurement_time_us(repeatability));
}

SensorResult<Sht3x::Measurement> Sht3x::read_measurement() {
  std::array<std::uint8_t, 6> rx{};  // T MSB, T LSB, CRC, RH MSB, RH LSB, CRC (section 4.4)
  const auto status = bus_.write_read(address_, {}, rx);
  if (status == bus::BusStatus::kNack) {
    return SensorError::kNotReady;  // the read header is NACKed while measuring
  }
  if (status != bus::BusStatus::kOk) {
    return from_bus(status);
  }
  const std::span<const std::uint8_t> bytes{rx};
  if (!word_crc_ok(bytes.first(3)) || !word_crc_ok(bytes.subspan(3))) {
    return SensorError::kCrc;
  }
  return Measurement{temperature_milli_c(word_of(bytes.first(2))),
                     humidity_milli_percent(word_of(bytes.subspan(3, 2)))};
}

SensorResult<std::uint16_t> Sht3x::read_status() {
  if (auto sent = command(kCmdReadStatus, 0); !sent.ok()) {
    return sent.error();
  }
  std::array<std::uint8_t, 3> rx{};
  if (const auto status = bus_.write_read(address_, {}, rx); status != bus::BusStatus::kOk) {
    return from_bus(status);
  }
  if (!word_crc_ok(rx)) {
    return SensorError::kCrc;
  }
  const std::uint16_t word = word_of(rx);
  if ((word & kStatusReservedZero) != 0U) {
    return SensorError::kWrongChip;
  }
  return word;
}

SensorResult<std::uint32_t> Sht3x::clear_status() {
  return command(kCmdClearStatus, kCommandGapUs);
}

SensorResult<std::uint32_t> Sht3x::soft_reset() {
  return command(kCmdSoftReset, kSoftResetUs);
}

SensorResult<std::uint32_t> Sht3x::set_heater(bool on) {
  return command(on ? kCmdHeaterOn : kCmdHeaterOff, kCommandGapUs);
}

}  // namespace edge::drivers
