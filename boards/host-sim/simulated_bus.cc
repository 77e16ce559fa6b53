// The host simulator's I2C bus 0: register-level emulators of the chips board.json lists
// (drivers/<chip>/<chip>_emulator.h), so the application runs its real drivers against them.
//
// The physical values drift slowly and smoothly (a day in the life of a room, compressed to
// minutes) so the demo's readings move; EDGE_SIM_TEMPERATURE_MILLI_C pins every chip's
// temperature instead, for tests that assert a reading. Chips without an emulator here are
// absent from the bus (their sensor reports bus_nack), as an unplugged breakout would be.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>

#include "bme280_emulator.h"
#include "edge/board/board_sensors.h"
#include "edge/emulator/i2c_emulator.h"
#include "edge/platform/platform.h"
#include "sht3x_emulator.h"
#include "tmp105_emulator.h"

namespace edge::platform {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::optional<std::int32_t> pinned_temperature() {
  const char* value = std::getenv("EDGE_SIM_TEMPERATURE_MILLI_C");
  if (value == nullptr || *value == '\0') {
    return std::nullopt;
  }
  char* end = nullptr;
  const long milli_c = std::strtol(value, &end, 10);
  if (*end != '\0' || milli_c < -40000 || milli_c > 85000) {
    return std::nullopt;  // out of every emulated chip's range: drift instead
  }
  return static_cast<std::int32_t>(milli_c);
}

class SimulatedBus final : public bus::I2cBus {
 public:
  SimulatedBus() {
    for (const auto& spec : board::kSensors) {
      switch (spec.chip) {
        case firmware::SensorChip::kTmp105: attach(spec.address, tmp105_); break;
        case firmware::SensorChip::kSht3x: attach(spec.address, sht3x_); break;
        case firmware::SensorChip::kBme280: attach(spec.address, bme280_); break;
        default: break;  // no emulator on this board: the address NACKs
      }
    }
  }

  bus::BusStatus write_read(std::uint8_t address, std::span<const std::uint8_t> tx,
                            std::span<std::uint8_t> rx) override {
    update(monotonic_us());
    return bus_.write_read(address, tx, rx);
  }

 private:
  template <typename Chip>
  void attach(std::uint8_t address, std::unique_ptr<Chip>& chip) {
    if (!chip) {
      chip = std::make_unique<Chip>();
    }
    bus_.attach(address, *chip);
  }

  // Temperature 21 °C ± 3 °C over 5 minutes, humidity 45 %RH ± 10 over 7, pressure
  // 1013.25 hPa ± 3 over 11: smooth, plausible, and never the same twice in a demo.
  void update(std::uint64_t now_us) {
    const double t = static_cast<double>(now_us) / 1e6;
    const auto wave = [t](double period_s, double amplitude) {
      return amplitude * std::sin(2.0 * kPi * t / period_s);
    };
    const std::int32_t milli_c =
        pinned_.value_or(static_cast<std::int32_t>(21000.0 + wave(300.0, 3000.0)));
    const auto milli_rh = static_cast<std::int32_t>(45000.0 + wave(420.0, 10000.0));
    const auto milli_pa = static_cast<std::int64_t>(101325000.0 + wave(660.0, 300000.0));
    if (tmp105_) {
      tmp105_->set_temperature_milli_c(milli_c);
    }
    if (sht3x_) {
      sht3x_->set_temperature_milli_c(milli_c);
      sht3x_->set_humidity_milli_percent(milli_rh);
    }
    if (bme280_) {
      bme280_->set_temperature_milli_c(milli_c);
      bme280_->set_humidity_milli_percent(milli_rh);
      bme280_->set_pressure_milli_pa(milli_pa);
    }
  }

  emulator::EmulatedI2cBus bus_;
  std::unique_ptr<drivers::Tmp105Emulator> tmp105_;
  std::unique_ptr<drivers::Sht3xEmulator> sht3x_;
  std::unique_ptr<emulator::Bme280Emulator> bme280_;
  std::optional<std::int32_t> pinned_ = pinned_temperature();
};

}  // namespace

bus::I2cBus* i2c_bus(unsigned index) {
  static SimulatedBus simulated;
  return index == 0 ? &simulated : nullptr;
}

}  // namespace edge::platform
