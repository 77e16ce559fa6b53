// STM32F401 register access and the peripheral addresses this board uses. Private to the board.
//
// Addresses: RM0368 (STM32F401xB/C and STM32F401xD/E reference manual), section 2.3 "Memory
// map", Table 1; core registers: ARMv7-M Architecture Reference Manual, B3.
#pragma once

#include <cstdint>

namespace edge::board::stm32 {

template <typename T = std::uint32_t>
volatile T& reg(std::uintptr_t address) {
  return *reinterpret_cast<volatile T*>(address);
}

inline void set_bits(std::uintptr_t address, std::uint32_t bits) {
  reg(address) = reg(address) | bits;
}
inline void clear_bits(std::uintptr_t address, std::uint32_t bits) {
  reg(address) = reg(address) & ~bits;
}
/// Reads a register for its side effect (clearing a status flag, completing a clock enable).
inline void touch(std::uintptr_t address) {
  const std::uint32_t value = reg(address);
  static_cast<void>(value);
}

// Peripherals (RM0368 Table 1).
constexpr std::uintptr_t kUsart2 = 0x4000'4400;  // APB1
constexpr std::uintptr_t kI2c1 = 0x4000'5400;    // APB1
constexpr std::uintptr_t kUsart1 = 0x4001'1000;  // APB2
constexpr std::uintptr_t kGpioA = 0x4002'0000;   // AHB1
constexpr std::uintptr_t kGpioB = 0x4002'0400;   // AHB1
constexpr std::uintptr_t kRcc = 0x4002'3800;     // AHB1
constexpr std::uintptr_t kFlash = 0x4002'3C00;   // AHB1: the flash interface registers

// Cortex-M4 system control space (ARMv7-M ARM B3.2, B3.4; SysTick: common/cortex-m).
constexpr std::uintptr_t kNvicIser1 = 0xE000'E104;  // set-enable, IRQ 32..63
constexpr std::uintptr_t kScbAircr = 0xE000'ED0C;
constexpr std::uintptr_t kDhcsr = 0xE000'EDF0;  // C_DEBUGEN (bit 0): a debugger is attached

/// Masks interrupts for the lifetime of the object (PRIMASK), restoring the previous state.
/// For the few register sequences that must not be stretched by an interrupt.
class InterruptLock {
 public:
  InterruptLock() { asm volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask_) : : "memory"); }
  ~InterruptLock() { asm volatile("msr primask, %0" : : "r"(primask_) : "memory"); }
  InterruptLock(const InterruptLock&) = delete;
  InterruptLock& operator=(const InterruptLock&) = delete;

 private:
  std::uint32_t primask_ = 0;
};

}  // namespace edge::board::stm32
