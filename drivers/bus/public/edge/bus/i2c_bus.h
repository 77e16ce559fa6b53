// The I2C bus a driver is handed. Backends: the Stellaris I2C master (lm3s6965evb), Linux
// /dev/i2c-N (ioctl I2C_RDWR), and register-level chip emulators for host tests.
#pragma once

#include <cstdint>
#include <span>

namespace edge::bus {

/// What a bus transfer can end in. Drivers turn anything but kOk into a status of their own;
/// they never turn a failed transfer into a reading.
enum class [[nodiscard]] BusStatus : std::uint8_t{
    kOk,
    kNack,  // no device acknowledged the address, or a data byte was not acknowledged
    kArbitrationLost,
    kTimeout,   // the bus or the device did not finish in time (clock stretching, stuck SDA)
    kBusError,  // anything else the controller reports
};

class I2cBus {
 public:
  I2cBus(const I2cBus&) = delete;
  I2cBus& operator=(const I2cBus&) = delete;

  /// Writes `tx` to the 7-bit `address`, then (repeated start) reads `rx.size()` bytes into
  /// `rx`. Either span may be empty. `rx` is unspecified unless the result is kOk.
  virtual BusStatus write_read(std::uint8_t address, std::span<const std::uint8_t> tx,
                               std::span<std::uint8_t> rx) = 0;

 protected:
  I2cBus() = default;
  ~I2cBus() = default;
};

/// The register-pointer read most chips use: writes `reg`, then reads out.size() bytes from it on.
inline BusStatus read_registers(I2cBus& bus, std::uint8_t address, std::uint8_t reg,
                                std::span<std::uint8_t> out) {
  const std::uint8_t pointer[1] = {reg};
  return bus.write_read(address, pointer, out);
}

/// Writes one register: the register address, then its value, in one transfer.
inline BusStatus write_register(I2cBus& bus, std::uint8_t address, std::uint8_t reg,
                                std::uint8_t value) {
  const std::uint8_t bytes[2] = {reg, value};
  return bus.write_read(address, bytes, {});
}

}  // namespace edge::bus
