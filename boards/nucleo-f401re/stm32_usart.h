// An STM32F4 USART as a platform::ByteStream (RM0368 section 19, "Universal synchronous
// asynchronous receiver transmitter"): 8N1, no flow control; polled transmit, interrupt-driven
// receive into a ring. Private to the board.
//
// The receive register holds one byte, which at 115200 baud must be read within 87 us; the main
// loop spends milliseconds on an I2C sensor read, so the receive interrupt moves each byte into
// kRxRingBytes of RAM and read() takes them from there.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "edge/platform/platform.h"

namespace edge::board {

class Stm32Usart final : public platform::ByteStream {
 public:
  static constexpr std::uint32_t kRxRingBytes = 256;  // 22 ms of input at 115200 baud

  explicit constexpr Stm32Usart(std::uintptr_t base) : base_(base) {}

  /// Sets `baud` 8N1 from the peripheral's bus clock `pclk_hz`, enables TX, RX and the receive
  /// interrupt. The peripheral clock and pins must already be on, and the caller enables the
  /// USART's interrupt in the NVIC (platform.cc).
  void init(std::uint32_t pclk_hz, std::uint32_t baud) const;

  /// Waits for room before each byte; returns bytes.size(), or fewer if the transmitter stayed
  /// full for far longer than a byte takes (the USART is off or unclocked).
  std::size_t write(std::span<const std::uint8_t> bytes) override;
  /// Copies what the receive interrupt has stored, up to out.size() bytes, without waiting; 0
  /// when nothing arrived. Bytes that found the ring full, or that arrived while interrupts
  /// could not run (an overrun: the CPU stalled by a flash erase), are lost and counted in
  /// rx_dropped(): the link's framing and CRC notice the gap.
  std::size_t read(std::span<std::uint8_t> out) override;

  /// The receive interrupt's work: the USART's IRQ handler calls this (startup.c vectors).
  void on_interrupt();
  /// Bytes lost on receive since boot (ring full or hardware overrun).
  [[nodiscard]] std::uint32_t rx_dropped() const { return dropped_.load(); }

  /// Waits (bounded) until the last byte has left the shift register, before a reset.
  void flush() const;

 private:
  std::uintptr_t base_;
  // Single producer (the interrupt) and consumer (read()): each index has one writer.
  std::array<std::uint8_t, kRxRingBytes> rx_{};
  std::atomic<std::uint32_t> head_{0};  // written by on_interrupt()
  std::atomic<std::uint32_t> tail_{0};  // written by read()
  std::atomic<std::uint32_t> dropped_{0};
};

}  // namespace edge::board
