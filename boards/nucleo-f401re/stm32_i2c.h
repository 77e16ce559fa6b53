// The STM32F4's I2C master (the "v1" peripheral, RM0368 section 18) as an edge::bus::I2cBus:
// polled, 100 kHz standard mode, one transfer at a time. Private to the board.
#pragma once

#include <cstdint>

#include "edge/bus/i2c_bus.h"

namespace edge::board {

class Stm32I2c final : public bus::I2cBus {
 public:
  explicit constexpr Stm32I2c(std::uintptr_t base) : base_(base) {}

  /// Resets the peripheral and enables it as a 100 kHz master from the APB1 clock `pclk1_hz`
  /// (2..42 MHz). The peripheral clock and the open-drain pins must already be on (platform.cc).
  void init(std::uint32_t pclk1_hz);

  /// START, address + write, `tx`; then, if `rx` is not empty, a repeated START, address +
  /// read, `rx`; then STOP. Both spans empty: an address probe (START, address, STOP).
  /// Errors (a STOP is sent, the bus is free for the next call):
  ///   kNack            the address or a written byte was not acknowledged
  ///   kArbitrationLost another master won the bus (none on this board: a glitch on the wires)
  ///   kBusError        a misplaced START or STOP seen on the bus
  ///   kTimeout         a step did not complete within about 10 ms (a device stretching the
  ///                    clock for too long, SDA held low, the bus busy before the START); the
  ///                    peripheral is reset so the next call starts clean
  bus::BusStatus write_read(std::uint8_t address, std::span<const std::uint8_t> tx,
                            std::span<std::uint8_t> rx) override;

 private:
  bus::BusStatus start(std::uint8_t address_byte) const;
  bus::BusStatus transmit(std::uint8_t address, std::span<const std::uint8_t> tx) const;
  bus::BusStatus receive(std::uint8_t address, std::span<std::uint8_t> rx) const;
  bus::BusStatus wait_for(std::uint32_t sr1_flag) const;
  void stop() const;
  void wait_stopped() const;
  void recover(bus::BusStatus failure);

  std::uintptr_t base_;
  std::uint32_t pclk1_hz_ = 0;
};

}  // namespace edge::board
