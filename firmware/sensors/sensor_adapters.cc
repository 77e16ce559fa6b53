#include "edge/firmware/sensor_adapters.h"

namespace edge::firmware {
namespace {

float milli(std::int32_t value) {
  return static_cast<float>(value) / 1000.0F;
}

}  // namespace

drivers::SensorResult<bool> Tmp105Source::init() {
  if (const auto done = chip_.init(); !done.ok()) {
    return done.error();
  }
  return true;
}

drivers::SensorResult<std::size_t> Tmp105Source::sample(
    std::span<wire::ReadingValue, kMaxChannels> out) {
  std::int32_t milli_c = 0;
  EDGE_TRY_ASSIGN(milli_c, chip_.read_temperature_milli_c());
  out[0] = wire::ReadingValue::temperature(milli(milli_c));
  return std::size_t{1};
}

drivers::SensorResult<bool> Dps310Source::init() {
  if (const auto done = chip_.init(); !done.ok()) {
    return done.error();
  }
  return true;
}

drivers::SensorResult<std::size_t> Dps310Source::sample(
    std::span<wire::ReadingValue, kMaxChannels> out) {
  drivers::Dps310::Reading r{};
  EDGE_TRY_ASSIGN(r, chip_.read());
  out[0] = wire::ReadingValue::temperature(milli(r.temperature_milli_c));
  out[1] = wire::ReadingValue::pressure(milli(r.pressure_milli_pa));
  return std::size_t{2};
}

drivers::SensorResult<bool> Lsm303dlhcSource::init() {
  if (const auto done = chip_.init(); !done.ok()) {
    return done.error();
  }
  return true;
}

drivers::SensorResult<std::size_t> Lsm303dlhcSource::sample(
    std::span<wire::ReadingValue, kMaxChannels> out) {
  drivers::Lsm303dlhcMag::Field f{};
  EDGE_TRY_ASSIGN(f, chip_.read_field());
  // Nanotesla -> tesla.
  out[0] = wire::ReadingValue::vector3(static_cast<float>(f.x_nt) * 1e-9F,
                                       static_cast<float>(f.y_nt) * 1e-9F,
                                       static_cast<float>(f.z_nt) * 1e-9F, wire::Unit::Tesla);
  return std::size_t{1};
}

drivers::SensorResult<bool> Sht3xSource::init() {
  std::uint16_t status = 0;
  EDGE_TRY_ASSIGN(status, chip_.read_status());
  (void)status;
  return true;
}

drivers::SensorResult<std::size_t> Sht3xSource::sample(
    std::span<wire::ReadingValue, kMaxChannels> out) {
  std::uint32_t wait_us = 0;
  EDGE_TRY_ASSIGN(wait_us, chip_.start_measurement());
  delay_(wait_us);
  drivers::Sht3x::Measurement m{};
  EDGE_TRY_ASSIGN(m, chip_.read_measurement());
  out[0] = wire::ReadingValue::temperature(milli(m.temperature_milli_c));
  out[1] = wire::ReadingValue::humidity(milli(m.humidity_milli_percent));
  return std::size_t{2};
}

drivers::SensorResult<bool> Bme280Source::init() {
  if (const auto done = chip_.init(); !done.ok()) {
    return done.error();
  }
  return true;
}

drivers::SensorResult<std::size_t> Bme280Source::sample(
    std::span<wire::ReadingValue, kMaxChannels> out) {
  std::uint32_t wait_us = 0;
  EDGE_TRY_ASSIGN(wait_us, chip_.start_measurement());
  delay_(wait_us);
  drivers::Bme280::Reading r{};
  EDGE_TRY_ASSIGN(r, chip_.read());
  out[0] = wire::ReadingValue::temperature(milli(r.temperature_milli_c));
  out[1] = wire::ReadingValue::pressure(milli(r.pressure_milli_pa));
  out[2] = wire::ReadingValue::humidity(milli(r.humidity_milli_percent));
  return std::size_t{3};
}

}  // namespace edge::firmware
