// I2cBus on Linux: /dev/i2c-N through ioctl(I2C_RDWR), for the Linux ARM agent (Raspberry Pi,
// BeagleBone, i.MX boards). A write-then-read is one I2C_RDWR call with two messages, so the
// kernel issues a repeated start between them.
#pragma once

#include <string>

#include "edge/bus/i2c_bus.h"

namespace edge::bus {

class LinuxI2cBus final : public I2cBus {
 public:
  LinuxI2cBus() = default;
  ~LinuxI2cBus();
  LinuxI2cBus(const LinuxI2cBus&) = delete;
  LinuxI2cBus& operator=(const LinuxI2cBus&) = delete;

  /// Opens the adapter (e.g. "/dev/i2c-1"). Returns "" or why not (the path and errno text).
  std::string open(const std::string& path);

  /// Errors, from the adapter driver's errno: kNack (ENXIO, EREMOTEIO: nobody acknowledged),
  /// kTimeout (ETIMEDOUT), kArbitrationLost (EAGAIN), kBusError (anything else, a bus that is
  /// not open, or both spans empty).
  BusStatus write_read(std::uint8_t address, std::span<const std::uint8_t> tx,
                       std::span<std::uint8_t> rx) override;

 private:
  int fd_ = -1;
};

}  // namespace edge::bus
