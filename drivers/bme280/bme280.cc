#include "edge/drivers/bme280.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace edge::drivers {
namespace {

constexpr std::uint16_t le16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] | (b[at + 1] << 8U));
}

constexpr std::int16_t le16s(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::int16_t>(le16(b, at));
}

// The calibration words that must be programmed on every part: both feed a multiplication
// that scales the whole result (dig_P1 also the divisor of the pressure formula).
constexpr bool plausible(const Bme280::Calibration& cal) {
  return cal.t1 != 0 && cal.t1 != 0xFFFF && cal.p1 != 0 && cal.p1 != 0xFFFF;
}

}  // namespace

Bme280::Calibration Bme280::parse_calibration(std::span<const std::uint8_t, kCalib00Bytes> low,
                                              std::span<const std::uint8_t, kCalib26Bytes> high) {
  Calibration cal{};
  cal.t1 = le16(low, 0);
  cal.t2 = le16s(low, 2);
  cal.t3 = le16s(low, 4);
  cal.p1 = le16(low, 6);
  cal.p2 = le16s(low, 8);
  cal.p3 = le16s(low, 10);
  cal.p4 = le16s(low, 12);
  cal.p5 = le16s(low, 14);
  cal.p6 = le16s(low, 16);
  cal.p7 = le16s(low, 18);
  cal.p8 = le16s(low, 20);
  cal.p9 = le16s(low, 22);
  cal.h1 = low[25];  // 0xA1; 0xA0 is reserved
  cal.h2 = le16s(high, 0);
  cal.h3 = high[2];
  // dig_H4 = 0xE4 [11:4] and 0xE5 [3:0]; dig_H5 = 0xE6 [11:4] and 0xE5 [7:4]; both signed
  // 12-bit, so the upper byte carries the sign.
  const auto upper = [](std::uint8_t byte) {
    return static_cast<std::int16_t>(static_cast<std::int8_t>(byte) * 16);
  };
  cal.h4 = static_cast<std::int16_t>(upper(high[3]) | (high[4] & 0x0F));
  cal.h5 = static_cast<std::int16_t>(upper(high[5]) | (high[4] >> 4U));
  cal.h6 = static_cast<std::int8_t>(high[6]);
  return cal;
}

Bme280::Temperature Bme280::compensate_temperature(const Calibration& cal, std::int32_t adc_t) {
  const std::int64_t t1 = cal.t1;
  const std::int64_t coarse = adc_t >> 3;
  const std::int64_t fine = (adc_t >> 4) - t1;
  const std::int64_t linear = ((coarse - (t1 << 1)) * cal.t2) >> 11;
  const std::int64_t square = (((fine * fine) >> 12) * cal.t3) >> 14;
  const auto t_fine = static_cast<std::int32_t>(linear + square);
  return {static_cast<std::int32_t>((std::int64_t{t_fine} * 5 + 128) >> 8), t_fine};
}

std::uint32_t Bme280::compensate_pressure(const Calibration& cal, std::int32_t adc_p,
                                          std::int32_t t_fine) {
  const std::int64_t x = std::int64_t{t_fine} - 128000;
  const std::int64_t offset = x * x * cal.p6 + ((x * cal.p5) << 17) + (std::int64_t{cal.p4} << 35);
  const std::int64_t sensitivity =
      ((((std::int64_t{1} << 47) + ((x * x * cal.p3) >> 8) + ((x * cal.p2) << 12))) * cal.p1) >> 33;
  if (sensitivity == 0) {
    return 0;
  }
  std::int64_t p = 1048576 - std::int64_t{adc_p};
  p = (((p << 31) - offset) * 3125) / sensitivity;
  const std::int64_t square = (std::int64_t{cal.p9} * (p >> 13) * (p >> 13)) >> 25;
  const std::int64_t linear = (std::int64_t{cal.p8} * p) >> 19;
  return static_cast<std::uint32_t>(((p + square + linear) >> 8) + (std::int64_t{cal.p7} << 4));
}

std::uint32_t Bme280::compensate_humidity(const Calibration& cal, std::int32_t adc_h,
                                          std::int32_t t_fine) {
  const std::int64_t x = std::int64_t{t_fine} - 76800;
  const std::int64_t offset =
      ((std::int64_t{adc_h} << 14) - (std::int64_t{cal.h4} << 20) - (cal.h5 * x) + 16384) >> 15;
  const std::int64_t gain =
      ((((((x * cal.h6) >> 10) * (((x * cal.h3) >> 11) + 32768)) >> 10) + 2097152) * cal.h2 +
       8192) >>
      14;
  std::int64_t h = offset * gain;
  h -= ((((h >> 15) * (h >> 15)) >> 7) * cal.h1) >> 4;
  h = h < 0 ? 0 : (h > 419430400 ? 419430400 : h);  // 0..100 %RH in Q22.10 << 12
  return static_cast<std::uint32_t>(h >> 12);
}

SensorResult<Bme280::Reading> Bme280::compensate(const Calibration& cal, const Raw& raw) {
  if (raw.temperature == kSkipped20 || raw.pressure == kSkipped20 || raw.humidity == kSkipped16) {
    return SensorError::kNotReady;
  }
  const Temperature t = compensate_temperature(cal, raw.temperature);
  // T = t_fine / 5120 °C, so milli-degrees = t_fine * 25 / 128 (rounded).
  const auto milli_c = static_cast<std::int32_t>((std::int64_t{t.t_fine} * 25 + 64) >> 7);
  if (milli_c < kMinMilliC || milli_c > kMaxMilliC) {
    return SensorError::kOutOfRange;  // also keeps t_fine small for the pressure formula
  }
  // Q24.8 Pa to mPa: * 1000 / 256; Q22.10 %RH to milli-%: * 1000 / 1024 (rounded).
  const std::int64_t milli_pa =
      (std::int64_t{compensate_pressure(cal, raw.pressure, t.t_fine)} * 125 + 16) >> 5;
  if (milli_pa < kMinMilliPa || milli_pa > kMaxMilliPa) {
    return SensorError::kOutOfRange;
  }
  const std::uint32_t humidity = compensate_humidity(cal, raw.humidity, t.t_fine);
  return Reading{milli_c, static_cast<std::int32_t>(milli_pa),
                 static_cast<std::int32_t>((humidity * 125U + 64U) >> 7U)};
}

SensorResult<Bme280::Calibration> Bme280::init(const Config& config) {
  initialised_ = false;
  for (const Oversampling o : {config.temperature, config.pressure, config.humidity}) {
    if (o < Oversampling::kX1 || o > Oversampling::kX16) {
      return SensorError::kBadArgument;
    }
  }
  if (config.filter > Filter::kX16) {
    return SensorError::kBadArgument;
  }
  std::array<std::uint8_t, 1> id{};
  std::array<std::uint8_t, 1> status{};
  if (const auto s = read_regs(kRegChipId, id); s != bus::BusStatus::kOk) {
    return from_bus(s);
  }
  if (id[0] != kChipId) {
    return SensorError::kWrongChip;
  }
  if (const auto s = read_regs(kRegStatus, status); s != bus::BusStatus::kOk) {
    return from_bus(s);
  }
  if ((status[0] & kStatusImUpdate) != 0) {
    return SensorError::kNotReady;
  }
  std::array<std::array<std::uint8_t, kCalib00Bytes>, 2> low{};
  std::array<std::array<std::uint8_t, kCalib26Bytes>, 2> high{};
  for (std::size_t i = 0; i < 2; ++i) {
    if (const auto s = read_regs(kRegCalib00, low[i]); s != bus::BusStatus::kOk) {
      return from_bus(s);
    }
    if (const auto s = read_regs(kRegCalib26, high[i]); s != bus::BusStatus::kOk) {
      return from_bus(s);
    }
  }
  if (low[0] != low[1] || high[0] != high[1]) {
    return SensorError::kOutOfRange;  // no CRC: two reads that differ mean a corrupted transfer
  }
  const Calibration cal = parse_calibration(low[0], high[0]);
  if (!plausible(cal)) {
    return SensorError::kOutOfRange;
  }
  // Sleep first: config writes in normal mode may be ignored (section 5.4.6).
  const std::array<std::array<std::uint8_t, 2>, 3> writes{
      {{kRegCtrlMeas, kModeSleep},
       {kRegConfig, static_cast<std::uint8_t>(static_cast<std::uint8_t>(config.filter) << 2U)},
       {kRegCtrlHum, static_cast<std::uint8_t>(config.humidity)}}};
  for (const auto& write : writes) {
    if (const auto s = write_reg(write[0], write[1]); s != bus::BusStatus::kOk) {
      return from_bus(s);
    }
  }
  cal_ = cal;
  config_ = config;
  initialised_ = true;
  return cal;
}

SensorResult<std::uint32_t> Bme280::start_measurement() {
  if (!initialised_) {
    return SensorError::kBadArgument;
  }
  // ctrl_hum first: it only takes effect with the ctrl_meas write that follows (section 5.4.3).
  const auto ctrl_meas =
      static_cast<std::uint8_t>((static_cast<std::uint8_t>(config_.temperature) << 5U) |
                                (static_cast<std::uint8_t>(config_.pressure) << 2U) | kModeForced);
  if (const auto s = write_reg(kRegCtrlHum, static_cast<std::uint8_t>(config_.humidity));
      s != bus::BusStatus::kOk) {
    return from_bus(s);
  }
  if (const auto s = write_reg(kRegCtrlMeas, ctrl_meas); s != bus::BusStatus::kOk) {
    return from_bus(s);
  }
  return measurement_time_us(config_);
}

SensorResult<Bme280::Raw> Bme280::read_raw() {
  std::array<std::uint8_t, kDataBytes> b{};
  if (const auto s = read_regs(kRegData, b); s != bus::BusStatus::kOk) {
    return from_bus(s);
  }
  if ((b[2] & 0x0FU) != 0 || (b[5] & 0x0FU) != 0) {
    return SensorError::kOutOfRange;  // xlsb bits 3:0 always read 0
  }
  const auto adc20 = [&](std::size_t at) {
    return static_cast<std::int32_t>((std::uint32_t{b[at]} << 12U) |
                                     (std::uint32_t{b[at + 1]} << 4U) | (b[at + 2] >> 4U));
  };
  return Raw{adc20(3), adc20(0), static_cast<std::int32_t>((b[6] << 8U) | b[7])};
}

SensorResult<Bme280::Reading> Bme280::read() {
  if (!initialised_) {
    return SensorError::kBadArgument;
  }
  std::array<std::uint8_t, 1> status{};
  if (const auto s = read_regs(kRegStatus, status); s != bus::BusStatus::kOk) {
    return from_bus(s);
  }
  if ((status[0] & (kStatusMeasuring | kStatusImUpdate)) != 0) {
    return SensorError::kNotReady;
  }
  Raw first{};
  Raw second{};
  EDGE_TRY_ASSIGN(first, read_raw());
  EDGE_TRY_ASSIGN(second, read_raw());
  if (first.temperature != second.temperature || first.pressure != second.pressure ||
      first.humidity != second.humidity) {
    return SensorError::kOutOfRange;  // forced mode holds the results: a transfer was corrupted
  }
  return compensate(cal_, first);
}

bus::BusStatus Bme280::read_regs(std::uint8_t reg, std::span<std::uint8_t> out) {
  return bus::read_registers(bus_, address_, reg, out);
}

bus::BusStatus Bme280::write_reg(std::uint8_t reg, std::uint8_t value) {
  return bus::write_register(bus_, address_, reg, value);
}

}  // namespace edge::drivers
