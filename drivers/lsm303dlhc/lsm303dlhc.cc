#include "edge/drivers/lsm303dlhc.h"

#include <array>

namespace edge::drivers {
namespace {

constexpr std::uint8_t kCraRateShift = 2;  // DO[2:0] in bits 4:2
constexpr std::uint8_t kCrbGainShift = 5;  // GN[2:0] in bits 7:5

constexpr std::int16_t be16(std::uint8_t high, std::uint8_t low) {
  return static_cast<std::int16_t>(static_cast<std::uint16_t>((high << 8U) | low));
}

constexpr bool valid_output(std::int16_t raw) {
  return raw >= Lsm303dlhcMag::kRawMin && raw <= Lsm303dlhcMag::kRawMax;
}

}  // namespace

SensorResult<std::uint8_t> Lsm303dlhcMag::write_register(std::uint8_t reg, std::uint8_t value) {
  // One register per transfer: QEMU's model keeps the pointer on writes.
  const std::array<std::uint8_t, 2> tx = {reg, value};
  const bus::BusStatus status = bus_.write_read(address_, tx, {});
  if (status != bus::BusStatus::kOk) {
    return from_bus(status);
  }
  return value;
}

SensorResult<Lsm303dlhcMag::Config> Lsm303dlhcMag::init(const Config& config) {
  const auto rate = static_cast<std::uint8_t>(config.rate);
  const auto gain = static_cast<std::uint8_t>(config.gain);
  const auto mode = static_cast<std::uint8_t>(config.mode);
  if (rate > 7 || gain < 1 || gain > 7 || (mode != 0 && mode != 1 && mode != 3)) {
    return SensorError::kBadArgument;
  }
  const std::array<std::uint8_t, 1> id_reg = {kRegIra};
  std::array<std::uint8_t, 3> id{};
  const bus::BusStatus status = bus_.write_read(address_, id_reg, id);
  if (status != bus::BusStatus::kOk) {
    return from_bus(status);
  }
  if (id[0] != kIdentity[0] || id[1] != kIdentity[1] || id[2] != kIdentity[2]) {
    return SensorError::kWrongChip;
  }
  const auto cra = static_cast<std::uint8_t>((config.temperature ? kCraTempEnable : 0U) |
                                             (rate << kCraRateShift));
  std::uint8_t written = 0;
  EDGE_TRY_ASSIGN(written, write_register(kRegCra, cra));
  EDGE_TRY_ASSIGN(written,
                  write_register(kRegCrb, static_cast<std::uint8_t>(gain << kCrbGainShift)));
  gain_ = config.gain;
  EDGE_TRY_ASSIGN(written, write_register(kRegMr, mode));
  static_cast<void>(written);
  return config;
}

SensorResult<Lsm303dlhcMag::Mode> Lsm303dlhcMag::set_mode(Mode mode) {
  const auto md = static_cast<std::uint8_t>(mode);
  if (md != 0 && md != 1 && md != 3) {
    return SensorError::kBadArgument;
  }
  std::uint8_t written = 0;
  EDGE_TRY_ASSIGN(written, write_register(kRegMr, md));
  static_cast<void>(written);
  return mode;
}

SensorResult<bool> Lsm303dlhcMag::data_ready() {
  const std::array<std::uint8_t, 1> reg = {kRegSr};
  std::array<std::uint8_t, 1> sr{};
  const bus::BusStatus status = bus_.write_read(address_, reg, sr);
  if (status != bus::BusStatus::kOk) {
    return from_bus(status);
  }
  return (sr[0] & kSrDrdy) != 0;
}

SensorResult<Lsm303dlhcMag::Raw> Lsm303dlhcMag::read_raw() {
  const std::array<std::uint8_t, 1> reg = {kRegOutXH};
  std::array<std::uint8_t, 6> out{};  // X_H X_L Z_H Z_L Y_H Y_L
  const bus::BusStatus status = bus_.write_read(address_, reg, out);
  if (status != bus::BusStatus::kOk) {
    return from_bus(status);
  }
  const Raw raw{be16(out[0], out[1]), be16(out[4], out[5]), be16(out[2], out[3])};
  // An overflowed axis (kOverflow) is outside -2048..2047 too: no number for it.
  if (!valid_output(raw.x) || !valid_output(raw.y) || !valid_output(raw.z)) {
    return SensorError::kOutOfRange;
  }
  return raw;
}

SensorResult<Lsm303dlhcMag::Field> Lsm303dlhcMag::read_field() {
  Raw raw;
  EDGE_TRY_ASSIGN(raw, read_raw());
  const auto gn = static_cast<std::uint8_t>(gain_);
  return Field{to_nanotesla(raw.x, kXyLsbPerGauss[gn]), to_nanotesla(raw.y, kXyLsbPerGauss[gn]),
               to_nanotesla(raw.z, kZLsbPerGauss[gn])};
}

SensorResult<std::int32_t> Lsm303dlhcMag::read_temperature_milli_c() {
  const std::array<std::uint8_t, 1> reg = {kRegTempOutH};
  std::array<std::uint8_t, 2> out{};
  const bus::BusStatus status = bus_.write_read(address_, reg, out);
  if (status != bus::BusStatus::kOk) {
    return from_bus(status);
  }
  const std::int16_t word = be16(out[0], out[1]);
  std::int16_t counts = 0;
  if (temp_layout_ == TempLayout::kDatasheet) {
    if ((out[1] & 0x0FU) != 0) {  // TEMP_OUT_L_M bits 3:0 are always zero
      return SensorError::kOutOfRange;
    }
    counts = static_cast<std::int16_t>(word / 16);  // exact: the low nibble is zero
  } else {
    counts = word;
    if (!valid_output(counts)) {  // the top nibble must repeat the sign of a 12-bit value
      return SensorError::kOutOfRange;
    }
  }
  return static_cast<std::int32_t>(counts) * 125;  // 8 LSB/°C
}

}  // namespace edge::drivers
