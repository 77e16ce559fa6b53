// The LM3S6965's I2C master as an edge::bus::I2cBus (DS-LM3S6965 section 14, "Inter-Integrated
// Circuit Interface"): polled, 100 kHz, one transfer at a time. Private to the board.
#pragma once

#include <cstdint>

#include "edge/bus/i2c_bus.h"

namespace edge::board {

class StellarisI2c final : public bus::I2cBus {
 public:
  explicit constexpr StellarisI2c(std::uintptr_t base) : base_(base) {}

  /// Clocks the module and its pins (I2C0: PB2 SCL, PB3 SDA) and enables the master at 100 kHz.
  void init(std::uint32_t system_clock_hz) const;

  /// The write phase ends with a STOP and the read phase starts anew (no repeated start).
  /// Errors: kNack (address or data byte not acknowledged, or arbitration lost, which on this
  /// single-master board only QEMU reports, for a NACKed address; a STOP is sent), kTimeout (the
  /// controller stayed busy), kBusError (both spans empty: the controller cannot send an
  /// address alone).
  bus::BusStatus write_read(std::uint8_t address, std::span<const std::uint8_t> tx,
                            std::span<std::uint8_t> rx) override;

 private:
  bus::BusStatus run(std::uint32_t command) const;

  std::uintptr_t base_;
};

}  // namespace edge::board
