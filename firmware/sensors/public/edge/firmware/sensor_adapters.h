// SensorSource adapters for the drivers in drivers/: one small class per chip.
#pragma once

#include "edge/drivers/bme280.h"
#include "edge/drivers/dps310.h"
#include "edge/drivers/lsm303dlhc.h"
#include "edge/drivers/sht3x.h"
#include "edge/drivers/tmp105.h"
#include "edge/firmware/sensor_source.h"

namespace edge::firmware {

class Tmp105Source final : public SensorSource {
 public:
  explicit Tmp105Source(bus::I2cBus& bus, std::uint8_t address = drivers::Tmp105::kDefaultAddress)
      : chip_(bus, address) {}
  [[nodiscard]] std::string_view name() const override { return "tmp105"; }
  drivers::SensorResult<bool> init() override;
  void set_address(std::uint8_t address) override { chip_.set_address(address); }
  drivers::SensorResult<std::size_t> sample(
      std::span<wire::ReadingValue, kMaxChannels> out) override;

 private:
  drivers::Tmp105 chip_;
};

class Dps310Source final : public SensorSource {
 public:
  explicit Dps310Source(bus::I2cBus& bus, std::uint8_t address = drivers::Dps310::kDefaultAddress)
      : chip_(bus, address) {}
  [[nodiscard]] std::string_view name() const override { return "dps310"; }
  drivers::SensorResult<bool> init() override;
  void set_address(std::uint8_t address) override { chip_.set_address(address); }
  drivers::SensorResult<std::size_t> sample(
      std::span<wire::ReadingValue, kMaxChannels> out) override;

 private:
  drivers::Dps310 chip_;
};

class Lsm303dlhcSource final : public SensorSource {
 public:
  Lsm303dlhcSource(bus::I2cBus& bus, drivers::Lsm303dlhcMag::TempLayout layout,
                   std::uint8_t address = drivers::Lsm303dlhcMag::kDefaultAddress)
      : chip_(bus, address, layout) {}
  [[nodiscard]] std::string_view name() const override { return "lsm303dlhc"; }
  drivers::SensorResult<bool> init() override;
  void set_address(std::uint8_t address) override { chip_.set_address(address); }
  drivers::SensorResult<std::size_t> sample(
      std::span<wire::ReadingValue, kMaxChannels> out) override;

 private:
  drivers::Lsm303dlhcMag chip_;
};

/// Measurement chips that convert on request: sample() starts a conversion and waits for it
/// with `wait_us` (the board's delay), at most the driver's stated conversion time.
using DelayFn = void (*)(std::uint32_t microseconds);

class Sht3xSource final : public SensorSource {
 public:
  Sht3xSource(bus::I2cBus& bus, DelayFn delay,
              std::uint8_t address = drivers::Sht3x::kDefaultAddress)
      : chip_(bus, address), delay_(delay) {}
  [[nodiscard]] std::string_view name() const override { return "sht3x"; }
  drivers::SensorResult<bool> init() override;
  void set_address(std::uint8_t address) override { chip_.set_address(address); }
  drivers::SensorResult<std::size_t> sample(
      std::span<wire::ReadingValue, kMaxChannels> out) override;

 private:
  drivers::Sht3x chip_;
  DelayFn delay_;
};

class Bme280Source final : public SensorSource {
 public:
  Bme280Source(bus::I2cBus& bus, DelayFn delay,
               std::uint8_t address = drivers::Bme280::kDefaultAddress)
      : chip_(bus, address), delay_(delay) {}
  [[nodiscard]] std::string_view name() const override { return "bme280"; }
  drivers::SensorResult<bool> init() override;
  void set_address(std::uint8_t address) override { chip_.set_address(address); }
  drivers::SensorResult<std::size_t> sample(
      std::span<wire::ReadingValue, kMaxChannels> out) override;

 private:
  drivers::Bme280 chip_;
  DelayFn delay_;
};

}  // namespace edge::firmware
