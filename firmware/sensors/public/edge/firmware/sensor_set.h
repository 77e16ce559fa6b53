// A board's sensors built from its descriptor: boards/<board>/board.json lists the chips on
// each I2C bus ("i2c": {"bus0": {"devices": [{"chip": "tmp105", "address": "0x48"}]}}), the
// build turns that list into a constexpr table of SensorSpecs (edge/board/board_sensors.h, see
// scripts/cmake/EdgeBoard.cmake), and SensorSet makes one SensorSource per entry, in order, in
// static storage. So which sensors a board has is data, never an #ifdef.
//
// Device code: no heap. Each source lives in a slot sized for the largest adapter.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

#include "edge/bus/i2c_bus.h"
#include "edge/firmware/sensor_adapters.h"

namespace edge::firmware {

enum class SensorChip : std::uint8_t { kTmp105, kDps310, kLsm303dlhc, kSht3x, kBme280 };

/// Per-entry driver options a descriptor may give ("options": ["temp-right-aligned"]).
enum class SensorOption : std::uint8_t {
  kNone = 0,
  kTempRightAligned = 1,  // LSM303DLHC temperature bits right-aligned (QEMU 7.2's model)
};

struct SensorSpec {
  SensorChip chip = SensorChip::kTmp105;
  std::uint8_t bus = 0;      // platform::i2c_bus(bus)
  std::uint8_t address = 0;  // 7-bit I2C address
  SensorOption option = SensorOption::kNone;
};

/// A descriptor entry whose bus the board does not have (a Linux agent started without
/// EDGE_I2C_BUS): it keeps its place and name, and init() fails with kBusNack.
class AbsentSensor final : public SensorSource {
 public:
  explicit AbsentSensor(std::string_view name) : name_(name) {}
  [[nodiscard]] std::string_view name() const override { return name_; }
  drivers::SensorResult<bool> init() override { return drivers::SensorError::kBusNack; }
  void set_address(std::uint8_t /*address*/) override {}
  drivers::SensorResult<std::size_t> sample(
      std::span<wire::ReadingValue, kMaxChannels> /*out*/) override {
    return drivers::SensorError::kBusNack;
  }

 private:
  std::string_view name_;
};

/// The chip's name as board.json and the console spell it.
std::string_view to_string(SensorChip chip);

/// Storage for one source of any supported chip.
using SensorSlot = std::variant<std::monostate, AbsentSensor, Tmp105Source, Dps310Source,
                                Lsm303dlhcSource, Sht3xSource, Bme280Source>;

/// Constructs the source `spec` describes in `slot`, on `bus` (nullptr: an AbsentSensor), and
/// returns it. Never fails: every SensorChip has an adapter.
SensorSource& make_sensor(SensorSlot& slot, const SensorSpec& spec, bus::I2cBus* bus,
                          DelayFn delay);

template <std::size_t N>
class SensorSet {
 public:
  using BusLookup = bus::I2cBus* (*)(unsigned index);

  /// Builds the sources once (later calls return the same ones) and returns them in table
  /// order, ready for Application.
  std::span<SensorSource* const> build(const std::array<SensorSpec, N>& specs, BusLookup buses,
                                       DelayFn delay) {
    if (!built_) {
      for (std::size_t i = 0; i < N; ++i) {
        sources_[i] = &make_sensor(slots_[i], specs[i], buses(specs[i].bus), delay);
      }
      built_ = true;
    }
    return sources_;
  }

 private:
  std::array<SensorSlot, N> slots_{};
  std::array<SensorSource*, N> sources_{};
  bool built_ = false;
};

}  // namespace edge::firmware
