#include "edge/drivers/tmp105.h"

#include <array>
#include <cstdint>
#include <utility>

namespace edge::drivers {

SensorResult<std::uint16_t> Tmp105::read_word(std::uint8_t reg) {
  const std::array<std::uint8_t, 1> pointer{reg};
  std::array<std::uint8_t, 2> rx{};
  if (const auto status = bus_.write_read(address_, pointer, rx); status != bus::BusStatus::kOk) {
    return from_bus(status);
  }
  const auto word = static_cast<std::uint16_t>((rx[0] << 8U) | rx[1]);
  if ((word & kAlwaysZeroBits) != 0U) {
    return SensorError::kOutOfRange;
  }
  return word;
}

bus::BusStatus Tmp105::write_word(std::uint8_t reg, std::uint16_t word) {
  const std::array<std::uint8_t, 3> tx{reg, static_cast<std::uint8_t>(word >> 8U),
                                       static_cast<std::uint8_t>(word & 0xFFU)};
  return bus_.write_read(address_, tx, {});
}

SensorResult<std::uint8_t> Tmp105::write_config(std::uint8_t config) {
  const std::array<std::uint8_t, 2> tx{kRegConfig, config};
  if (const auto status = bus_.write_read(address_, tx, {}); status != bus::BusStatus::kOk) {
    return from_bus(status);
  }
  config_ = static_cast<std::uint8_t>(config & ~kConfigOneShot);
  return config;
}

SensorResult<std::uint8_t> Tmp105::init(Resolution resolution) {
  const auto config =
      static_cast<std::uint8_t>(static_cast<std::uint8_t>(resolution) << kConfigResolutionShift);
  if (auto written = write_config(config); !written.ok()) {
    return written.error();
  }
  std::uint8_t echoed = 0;
  EDGE_TRY_ASSIGN(echoed, read_config());
  // OS reads 0 on the TMP105 (QEMU echoes it); every other bit must read back as written.
  if (static_cast<std::uint8_t>(echoed & ~kConfigOneShot) != config) {
    return SensorError::kWrongChip;
  }
  if (auto temperature = read_word(kRegTemperature); !temperature.ok()) {
    return temperature.error() == SensorError::kOutOfRange ? SensorError::kWrongChip
                                                           : temperature.error();
  }
  return echoed;
}

SensorResult<std::uint8_t> Tmp105::read_config() {
  const std::array<std::uint8_t, 1> pointer{kRegConfig};
  std::array<std::uint8_t, 1> rx{};
  if (const auto status = bus_.write_read(address_, pointer, rx); status != bus::BusStatus::kOk) {
    return from_bus(status);
  }
  return rx[0];
}

SensorResult<std::int16_t> Tmp105::read_temperature_raw() {
  std::uint16_t word = 0;
  EDGE_TRY_ASSIGN(word, read_word(kRegTemperature));
  return static_cast<std::int16_t>(word);
}

SensorResult<std::int32_t> Tmp105::read_temperature_milli_c() {
  std::int16_t raw = 0;
  EDGE_TRY_ASSIGN(raw, read_temperature_raw());
  return to_milli_c(raw);
}

SensorResult<std::uint8_t> Tmp105::set_shutdown(bool shutdown) {
  const auto config =
      static_cast<std::uint8_t>(shutdown ? config_ | kConfigShutdown : config_ & ~kConfigShutdown);
  return write_config(config);
}

SensorResult<std::uint32_t> Tmp105::start_one_shot() {
  // OS starts a conversion only while the chip is shut down (datasheet, One-Shot).
  if ((config_ & kConfigShutdown) == 0U) {
    if (auto written = set_shutdown(true); !written.ok()) {
      return written.error();
    }
  }
  if (auto written = write_config(static_cast<std::uint8_t>(config_ | kConfigOneShot));
      !written.ok()) {
    return written.error();
  }
  const auto resolution =
      static_cast<Resolution>((config_ & kConfigResolutionMask) >> kConfigResolutionShift);
  return conversion_time_us(resolution);
}

SensorResult<Tmp105::Limits> Tmp105::set_limits(std::int32_t low_milli_c,
                                                std::int32_t high_milli_c) {
  if (low_milli_c > high_milli_c || low_milli_c < kMinMilliC || high_milli_c > kMaxMilliC) {
    return SensorError::kBadArgument;
  }
  const std::int16_t low = from_milli_c(low_milli_c);
  const std::int16_t high = from_milli_c(high_milli_c);
  for (const auto& [reg, word] : {std::pair{kRegTLow, low}, std::pair{kRegTHigh, high}}) {
    if (const auto status = write_word(reg, static_cast<std::uint16_t>(word));
        status != bus::BusStatus::kOk) {
      return from_bus(status);
    }
  }
  return Limits{to_milli_c(low), to_milli_c(high)};
}

SensorResult<Tmp105::Limits> Tmp105::read_limits() {
  std::uint16_t low = 0;
  std::uint16_t high = 0;
  EDGE_TRY_ASSIGN(low, read_word(kRegTLow));
  EDGE_TRY_ASSIGN(high, read_word(kRegTHigh));
  return Limits{to_milli_c(static_cast<std::int16_t>(low)),
                to_milli_c(static_cast<std::int16_t>(high))};
}

}  // namespace edge::drivers
