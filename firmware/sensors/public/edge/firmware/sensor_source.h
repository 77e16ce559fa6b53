// A sensor as the application sees it: a name, an init, and a sample that yields up to
// kMaxChannels readings (a DPS310 gives temperature and pressure: channel 0 and 1). Adapters
// turn each driver's integer units into wire::ReadingValue; errors stay SensorErrors.
// Device code: no heap; boards own their sources statically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "edge/drivers/sensor_error.h"
#include "edge/wire/messages.h"

namespace edge::firmware {

inline constexpr std::size_t kMaxChannels = 3;

class SensorSource {
 public:
  SensorSource(const SensorSource&) = delete;
  SensorSource& operator=(const SensorSource&) = delete;

  /// The sensor's name in the console's keys, events and topics ("tmp105", "lsm303dlhc");
  /// board.json names the chip model instead ("lsm303dlhc_mag").
  [[nodiscard]] virtual std::string_view name() const = 0;
  /// Checks and configures the chip. Errors: the driver's (absent, wrong chip, bus).
  virtual drivers::SensorResult<bool> init() = 0;
  /// Talks to the chip at `address` from now on (a configured I2C address); init() again next.
  virtual void set_address(std::uint8_t address) = 0;
  /// Reads the chip now; fills out[0..n) and returns n. Errors: the driver's; nothing is
  /// filled then.
  virtual drivers::SensorResult<std::size_t> sample(
      std::span<wire::ReadingValue, kMaxChannels> out) = 0;

 protected:
  SensorSource() = default;
  ~SensorSource() = default;
};

}  // namespace edge::firmware
