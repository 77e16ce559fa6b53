// The Cortex-M SysTick as a board's time base (ARMv7-M Architecture Reference Manual, B3.3):
// a 1 kHz interrupt counts milliseconds, and the down-counter between two ticks gives the
// microseconds. Device code: no heap; one static instance per board.
#pragma once

#include <cstdint>

namespace edge::board {

class SysTickClock {
 public:
  static constexpr std::uint32_t kTickHz = 1000;

  /// Starts the 1 kHz tick from the processor clock `core_hz` (and its interrupt).
  void start(std::uint32_t core_hz) {
    core_hz_ = core_hz;
    reg(kLoad) = core_hz / kTickHz - 1U;
    reg(kVal) = 0;
    reg(kCtrl) = 0x7;  // processor clock, interrupt, enable
  }
  /// The SysTick exception handler's whole work.
  void on_tick() { ticks_ = ticks_ + 1; }

  /// Microseconds since start(); monotonic.
  [[nodiscard]] std::uint64_t now_us() const {
    // Read ticks and the down-counter consistently: retry if a tick landed in between.
    std::uint64_t ticks = 0;
    std::uint32_t current = 0;
    do {
      ticks = ticks_;
      current = reg(kVal);
    } while (ticks != ticks_);
    const std::uint64_t elapsed_cycles = core_hz_ / kTickHz - 1U - current;
    return ticks * (1'000'000U / kTickHz) + elapsed_cycles * 1'000'000U / core_hz_;
  }
  /// Busy-waits `microseconds`.
  void delay_us(std::uint32_t microseconds) const {
    const std::uint64_t until = now_us() + microseconds;
    while (now_us() < until) {
    }
  }

 private:
  static constexpr std::uintptr_t kCtrl = 0xE000E010;
  static constexpr std::uintptr_t kLoad = 0xE000E014;
  static constexpr std::uintptr_t kVal = 0xE000E018;
  static volatile std::uint32_t& reg(std::uintptr_t address) {
    return *reinterpret_cast<volatile std::uint32_t*>(address);
  }

  volatile std::uint64_t ticks_ = 0;
  std::uint32_t core_hz_ = 1;
};

}  // namespace edge::board
