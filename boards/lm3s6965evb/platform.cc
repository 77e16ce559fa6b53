// edge::platform for the LM3S6965: UART0 = link, UART1 = console, SysTick = time base,
// semihosting = exit status and test output (QEMU's -semihosting-config enable=on).
//
// Register offsets: Stellaris LM3S6965 datasheet (DS-LM3S6965), sections 5 (System Control),
// 12 (UART, PL011-compatible); SysTick: ARMv7-M Architecture Reference Manual, B3.3.
#include "edge/platform/platform.h"

#include <cstdint>

#include "cortex_m_runtime.h"
#include "edge/board/board_sensors.h"
#include "edge/drivers/at24c.h"
#include "edge/firmware/config_store.h"
#include "edge/firmware/sensor_set.h"
#include "stellaris_i2c.h"
#include "systick_clock.h"

namespace edge::platform {
namespace {

constexpr std::uint32_t kSystemClockHz = 50'000'000;  // board.json clock_hz (PLL, 50 MHz)
constexpr std::uint32_t kBaud = 115200;

template <typename T = std::uint32_t>
volatile T& reg(std::uintptr_t address) {
  return *reinterpret_cast<volatile T*>(address);
}

constexpr std::uintptr_t kSysctlRcgc1 = 0x400FE104;  // UART0 bit 0, UART1 bit 1
constexpr std::uintptr_t kSysctlRcgc2 = 0x400FE108;  // GPIOA bit 0, GPIOD bit 3
constexpr std::uintptr_t kSysctlRis = 0x400FE050;    // raw interrupt status: PLLLRIS bit 6
constexpr std::uintptr_t kSysctlRcc = 0x400FE060;

// RCC fields (datasheet 6.4, "Run-Mode Clock Configuration").
constexpr std::uint32_t kRccBypass = 1U << 11U;
constexpr std::uint32_t kRccPwrdn = 1U << 13U;
constexpr std::uint32_t kRccUseSysdiv = 1U << 22U;
constexpr std::uint32_t kRccXtalMask = 0x1FU << 6U;
constexpr std::uint32_t kRccXtal8MHz = 0xEU << 6U;  // the EVB's 8 MHz crystal
constexpr std::uint32_t kRccOscsrcMask = 3U << 4U;  // 0: the main oscillator
constexpr std::uint32_t kRccSysdivMask = 0xFU << 23U;
constexpr std::uint32_t kRccSysdiv4 = 3U << 23U;  // PLL 200 MHz / 4 = 50 MHz
constexpr std::uint32_t kRisPllLock = 1U << 6U;
constexpr std::uint32_t kPllLockPolls = 100'000;

// The PLL at 50 MHz, datasheet 6.3 ("Initialization and Configuration"): bypass it, set the
// crystal and power it up, choose the divisor, wait (bounded) for lock, then switch over.
// Without this the chip (and QEMU, which derives SysTick's rate from RCC.SYSDIV) runs at
// 12.5 MHz and every time base would be four times slow. If the PLL never locks, the board
// stays bypassed and its time base is wrong: reported at boot by nothing but slow samples.
void start_pll() {
  std::uint32_t rcc = reg(kSysctlRcc);
  rcc = (rcc | kRccBypass) & ~kRccUseSysdiv;
  reg(kSysctlRcc) = rcc;
  rcc = (rcc & ~(kRccXtalMask | kRccOscsrcMask | kRccPwrdn)) | kRccXtal8MHz;
  rcc = (rcc & ~kRccSysdivMask) | kRccSysdiv4 | kRccUseSysdiv;
  reg(kSysctlRcc) = rcc;
  for (std::uint32_t polls = 0; polls < kPllLockPolls; ++polls) {
    if ((reg(kSysctlRis) & kRisPllLock) != 0U) {
      reg(kSysctlRcc) = rcc & ~kRccBypass;
      return;
    }
  }
}

board::SysTickClock g_clock;

class Uart final : public ByteStream {
 public:
  explicit constexpr Uart(std::uintptr_t base) : base_(base) {}

  void init(std::uint32_t baud = kBaud) const {
    // 8N1, FIFOs on. Divisor = clock / (16 * baud), in 64ths: 115200 -> 27.126 -> IBRD 27,
    // FBRD 8 (datasheet 12.2.2, "Baud-Rate Generation").
    const std::uint32_t div_x64 = (kSystemClockHz * 4U + baud / 2U) / baud;
    reg(base_ + kCtl) = 0;
    reg(base_ + kIbrd) = div_x64 / 64U;
    reg(base_ + kFbrd) = div_x64 % 64U;
    reg(base_ + kLcrh) = kLcrhWordLength8 | kLcrhFifoEnable;
    reg(base_ + kCtl) = kCtlUartEnable | kCtlTxEnable | kCtlRxEnable;
  }

  std::size_t write(std::span<const std::uint8_t> bytes) override {
    for (const std::uint8_t b : bytes) {
      while ((reg(base_ + kFr) & kFrTxFull) != 0U) {
      }
      reg(base_ + kDr) = b;
    }
    return bytes.size();
  }

  std::size_t read(std::span<std::uint8_t> out) override {
    std::size_t n = 0;
    while (n < out.size() && (reg(base_ + kFr) & kFrRxEmpty) == 0U) {
      out[n++] = static_cast<std::uint8_t>(reg(base_ + kDr) & 0xFFU);
    }
    return n;
  }

 private:
  static constexpr std::uintptr_t kDr = 0x000;
  static constexpr std::uintptr_t kFr = 0x018;
  static constexpr std::uintptr_t kIbrd = 0x024;
  static constexpr std::uintptr_t kFbrd = 0x028;
  static constexpr std::uintptr_t kLcrh = 0x02C;
  static constexpr std::uintptr_t kCtl = 0x030;
  static constexpr std::uint32_t kFrRxEmpty = 1U << 4U;
  static constexpr std::uint32_t kFrTxFull = 1U << 5U;
  static constexpr std::uint32_t kLcrhFifoEnable = 1U << 4U;
  static constexpr std::uint32_t kLcrhWordLength8 = 3U << 5U;
  static constexpr std::uint32_t kCtlUartEnable = 1U << 0U;
  static constexpr std::uint32_t kCtlTxEnable = 1U << 8U;
  static constexpr std::uint32_t kCtlRxEnable = 1U << 9U;

  std::uintptr_t base_;
};

Uart g_link(0x4000C000);     // UART0
Uart g_console(0x4000D000);  // UART1

// ARM semihosting (IHI 0057): operation in r0, argument block in r1, BKPT 0xAB on M-profile.
std::uint32_t semihost(std::uint32_t op, const void* arg) {
  register std::uint32_t r0 asm("r0") = op;
  register const void* r1 asm("r1") = arg;
  asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}
constexpr std::uint32_t kSysWrite0 = 0x04;
constexpr std::uint32_t kSysExitExtended = 0x20;
constexpr std::uint32_t kAdpStoppedApplicationExit = 0x20026;

edge::board::StellarisI2c g_i2c0(0x40020000);  // board.json i2c.bus0 (I2C0)

// The configuration lives in the AT24C at 0x50 (board.json role "config-store").
class EepromStorage final : public firmware::Storage {
 public:
  explicit EepromStorage(bus::I2cBus& bus) : chip_(bus, drivers::at24c::k24c32) {}
  bool read(std::uint32_t offset, std::span<std::uint8_t> out) override {
    return chip_.read(offset, out).ok();
  }
  bool write(std::uint32_t offset, std::span<const std::uint8_t> bytes) override {
    return chip_.write(offset, bytes).ok();
  }
  [[nodiscard]] std::uint32_t size() const override { return drivers::at24c::k24c32.size_bytes; }

 private:
  drivers::At24c chip_;
};

EepromStorage g_eeprom(g_i2c0);

// board.json i2c devices with a driver (QEMU's LSM303DLHC model right-aligns the temperature
// bits: its entry says "temp-right-aligned").
firmware::SensorSet<board::kSensors.size()> g_sensors;

}  // namespace

void init() {
  start_pll();
  reg(kSysctlRcgc1) = reg(kSysctlRcgc1) | 0x3U;
  reg(kSysctlRcgc2) = reg(kSysctlRcgc2) | 0x9U;
  g_link.init();
  g_console.init();
  g_i2c0.init(kSystemClockHz);
  g_clock.start(kSystemClockHz);
}

std::span<firmware::SensorSource* const> sensors() {
  return g_sensors.build(board::kSensors, i2c_bus, delay_us);
}

firmware::Storage* config_storage() {
  return &g_eeprom;
}

void idle(std::uint32_t /*max_us*/) {
  // The main loop polls the UART FIFOs; no RX interrupts wake a WFI (see platform.h).
}

void delay_us(std::uint32_t microseconds) {
  g_clock.delay_us(microseconds);
}

void reboot() {
  // SCB AIRCR: VECTKEY 0x05FA, SYSRESETREQ (ARMv7-M ARM B3.2.6). QEMU resets the machine.
  reg(0xE000ED0C) = 0x05FA0004U;
  for (;;) {
  }
}

bus::I2cBus* i2c_bus(unsigned index) {
  return index == 0 ? &g_i2c0 : nullptr;
}

ByteStream& link() {
  return g_link;
}
bool set_link_baud(std::uint32_t baud) {
  // IBRD must be at least 1: the 50 MHz clock makes up to 3.125 Mbaud.
  if (baud == 0 || baud > kSystemClockHz / 16U) {
    return false;
  }
  g_link.init(baud);
  return true;
}
ByteStream& console() {
  return g_console;
}

std::uint64_t monotonic_us() {
  return g_clock.now_us();
}

void halt(int exit_code) {
  const std::uint32_t block[2] = {kAdpStoppedApplicationExit,
                                  static_cast<std::uint32_t>(exit_code)};
  semihost(kSysExitExtended, block);
  for (;;) {
    asm volatile("wfi");
  }
}

void test_log(const char* line) {
  semihost(kSysWrite0, line);
  semihost(kSysWrite0, "\n");
}

}  // namespace edge::platform

extern "C" void edge_systick_handler() {
  edge::platform::g_clock.on_tick();
}

extern "C" [[noreturn]] void edge_platform_halt(int exit_code) {
  edge::platform::halt(exit_code);
}
