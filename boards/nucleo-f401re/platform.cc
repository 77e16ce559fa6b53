// edge::platform for the NUCLEO-F401RE: USART1 = link (PA9/PA10, Arduino D8/D2), USART2 =
// console (PA2/PA3, the ST-LINK virtual COM port), I2C1 = bus 0 (PB8/PB9, D15/D14), SysTick =
// time base, flash sectors (board.json config_store) = configuration.
//
// Register addresses and fields: RM0368 (STM32F401 reference manual) sections 3 (Flash
// interface), 6 (RCC), 8 (GPIO); pin alternate functions: DS10086 (STM32F401xD/E datasheet),
// Table 9 "Alternate function mapping"; SysTick, SCB: ARMv7-M Architecture Reference Manual B3.
#include "edge/platform/platform.h"

#include <cstdint>

#include "cortex_m_runtime.h"
#include "edge/board/board_sensors.h"
#include "edge/firmware/config_store.h"
#include "edge/firmware/sensor_set.h"
#include "stm32_flash.h"
#include "stm32_i2c.h"
#include "stm32_usart.h"
#include "stm32f401.h"
#include "systick_clock.h"

namespace edge::platform {
namespace {

using board::stm32::reg;
using board::stm32::set_bits;

// -- Clock tree (RM0368 6.2): HSI 16 MHz -> PLL -> 84 MHz SYSCLK; APB1 42 MHz, APB2 84 MHz ----
constexpr std::uint32_t kHsiHz = 16'000'000;
constexpr std::uint32_t kPllM = 8;    // VCO input 2 MHz (RM0368 6.3.2: 2 MHz limits PLL jitter)
constexpr std::uint32_t kPllN = 168;  // VCO output 336 MHz (192..432 MHz)
constexpr std::uint32_t kPllP = 4;    // SYSCLK 84 MHz (the F401's maximum)
constexpr std::uint32_t kPllQ = 7;    // 48 MHz for USB (unused, but kept in range)
constexpr std::uint32_t kPllHz = kHsiHz / kPllM * kPllN / kPllP;
static_assert(kPllHz == EDGE_BOARD_CLOCK_HZ, "PLL settings must give board.json clock_hz");
static_assert(kHsiHz / kPllM * kPllN / kPllQ == 48'000'000);
constexpr std::uint32_t kFlashWaitStates = 2;  // RM0368 3.4.1, Table 6: 60 < HCLK <= 84 MHz, 3.3 V

constexpr std::uintptr_t kRccCr = board::stm32::kRcc + 0x00;
constexpr std::uintptr_t kRccPllcfgr = board::stm32::kRcc + 0x04;
constexpr std::uintptr_t kRccCfgr = board::stm32::kRcc + 0x08;
constexpr std::uintptr_t kRccAhb1enr = board::stm32::kRcc + 0x30;
constexpr std::uintptr_t kRccApb1enr = board::stm32::kRcc + 0x40;
constexpr std::uintptr_t kRccApb2enr = board::stm32::kRcc + 0x44;
constexpr std::uintptr_t kFlashAcr = board::stm32::kFlash + 0x00;

constexpr std::uint32_t kCrHsiRdy = 1U << 1U;
constexpr std::uint32_t kCrPllOn = 1U << 24U;
constexpr std::uint32_t kCrPllRdy = 1U << 25U;
// PLLCFGR fields (PLLSRC, bit 22, left 0: HSI); the other bits are reserved, kept as they are.
constexpr std::uint32_t kPllcfgrFields =
    0x3FU | (0x1FFU << 6U) | (3U << 16U) | (1U << 22U) | (0xFU << 24U);
constexpr std::uint32_t kPllcfgr =
    kPllM | (kPllN << 6U) | ((kPllP / 2U - 1U) << 16U) | (kPllQ << 24U);
constexpr std::uint32_t kCfgrSwMask = 3U;
constexpr std::uint32_t kCfgrSwPll = 2U;
constexpr std::uint32_t kCfgrSwsShift = 2U;
constexpr std::uint32_t kCfgrPpre1Div2 = 4U << 10U;  // HPRE /1, PPRE2 /1 (all zero)
constexpr std::uint32_t kCfgrPrescalers = (0xFU << 4U) | (7U << 10U) | (7U << 13U);
constexpr std::uint32_t kAcrPrften = 1U << 8U;
constexpr std::uint32_t kAcrIcen = 1U << 9U;
constexpr std::uint32_t kAcrDcen = 1U << 10U;

constexpr std::uint32_t kReadyPolls = 100'000;  // HSI and PLL settle in well under 1 ms

struct Clocks {
  std::uint32_t sysclk;
  std::uint32_t pclk1;  // APB1: USART2, I2C1
  std::uint32_t pclk2;  // APB2: USART1
};

bool wait_set(std::uintptr_t address, std::uint32_t mask, std::uint32_t value) {
  for (std::uint32_t polls = 0; polls < kReadyPolls; ++polls) {
    if ((reg(address) & mask) == value) {
      return true;
    }
  }
  return false;
}

// Runs the core from the PLL. If the PLL does not lock (it should always, from the HSI), the
// board stays on the 16 MHz HSI and every divisor below is computed from that instead.
Clocks start_clocks() {
  constexpr Clocks kHsiOnly{kHsiHz, kHsiHz, kHsiHz};
  if (!wait_set(kRccCr, kCrHsiRdy, kCrHsiRdy)) {
    return kHsiOnly;
  }
  // A debugger may have left the PLL running: back to the HSI before reprogramming it.
  reg(kRccCfgr) = reg(kRccCfgr) & ~kCfgrSwMask;
  (void)wait_set(kRccCfgr, kCfgrSwMask << kCfgrSwsShift, 0);
  reg(kRccCr) = reg(kRccCr) & ~kCrPllOn;
  (void)wait_set(kRccCr, kCrPllRdy, 0);
  reg(kRccPllcfgr) = (reg(kRccPllcfgr) & ~kPllcfgrFields) | kPllcfgr;
  set_bits(kRccCr, kCrPllOn);
  if (!wait_set(kRccCr, kCrPllRdy, kCrPllRdy)) {
    return kHsiOnly;
  }
  // Wait states first (RM0368 3.4.1: read ACR back before raising the clock), then the APB1
  // prescaler (42 MHz maximum), then the switch. VOS keeps its reset value, scale 2: 84 MHz.
  reg(kFlashAcr) = kFlashWaitStates | kAcrPrften | kAcrIcen | kAcrDcen;
  if ((reg(kFlashAcr) & 0xFU) != kFlashWaitStates) {
    return kHsiOnly;
  }
  reg(kRccCfgr) = (reg(kRccCfgr) & ~kCfgrPrescalers) | kCfgrPpre1Div2;
  reg(kRccCfgr) = (reg(kRccCfgr) & ~kCfgrSwMask) | kCfgrSwPll;
  if (!wait_set(kRccCfgr, kCfgrSwMask << kCfgrSwsShift, kCfgrSwPll << kCfgrSwsShift)) {
    return Clocks{kHsiHz, kHsiHz / 2U, kHsiHz};
  }
  return Clocks{kPllHz, kPllHz / 2U, kPllHz};
}

// -- Pins (RM0368 8.4; alternate functions: DS10086 Table 9) --------------------------------
struct Pin {
  std::uintptr_t port;
  std::uint32_t number;
  std::uint32_t alternate_function;
  bool open_drain;  // I2C
};
constexpr Pin kPins[] = {
    {board::stm32::kGpioA, 2, 7, false},   // USART2_TX, console (ST-LINK VCP)
    {board::stm32::kGpioA, 3, 7, false},   // USART2_RX
    {board::stm32::kGpioA, 9, 7, false},   // USART1_TX, link (D8)
    {board::stm32::kGpioA, 10, 7, false},  // USART1_RX (D2)
    {board::stm32::kGpioB, 8, 4, true},    // I2C1_SCL (D15)
    {board::stm32::kGpioB, 9, 4, true},    // I2C1_SDA (D14)
};

void configure(const Pin& pin) {
  constexpr std::uintptr_t kModer = 0x00;
  constexpr std::uintptr_t kOtyper = 0x04;
  constexpr std::uintptr_t kOspeedr = 0x08;
  constexpr std::uintptr_t kPupdr = 0x0C;
  constexpr std::uintptr_t kAfrl = 0x20;  // AFRH at 0x24 for pins 8-15
  const std::uint32_t two = pin.number * 2U;
  const std::uintptr_t afr = pin.port + kAfrl + (pin.number / 8U) * 4U;
  const std::uint32_t four = (pin.number % 8U) * 4U;
  reg(afr) = (reg(afr) & ~(0xFU << four)) | (pin.alternate_function << four);
  reg(pin.port + kOtyper) =
      (reg(pin.port + kOtyper) & ~(1U << pin.number)) | ((pin.open_drain ? 1U : 0U) << pin.number);
  reg(pin.port + kOspeedr) = (reg(pin.port + kOspeedr) & ~(3U << two)) | (1U << two);  // medium
  // Pull-ups: an unconnected RX idles high instead of reading noise as bytes; on I2C they only
  // back up the breakout boards' own (about 40 kOhm, too weak on their own).
  reg(pin.port + kPupdr) = (reg(pin.port + kPupdr) & ~(3U << two)) | (1U << two);
  reg(pin.port + kModer) = (reg(pin.port + kModer) & ~(3U << two)) | (2U << two);  // alternate
}

// -- Peripherals ------------------------------------------------------------------------------
constexpr std::uint32_t kUsart1Irq = 37;  // startup.c routes these to edge_usart*_irq
constexpr std::uint32_t kUsart2Irq = 38;
constexpr std::uint32_t kBaud = 115200;

Clocks g_clocks{kHsiHz, kHsiHz, kHsiHz};
board::SysTickClock g_clock;

board::Stm32Usart g_link(board::stm32::kUsart1);
board::Stm32Usart g_console(board::stm32::kUsart2);
board::Stm32I2c g_i2c1(board::stm32::kI2c1);  // board.json i2c.bus0

// board.json config_store: one configuration copy per flash sector.
static_assert(board::flash_sector_address(EDGE_CONFIG_SECTOR_A) == EDGE_CONFIG_ORIGIN,
              "board.json config_store origin must be the first sector's address");
static_assert(EDGE_CONFIG_SECTOR_A != EDGE_CONFIG_SECTOR_B &&
              EDGE_CONFIG_SECTOR_A < board::kFlashSectors &&
              EDGE_CONFIG_SECTOR_B < board::kFlashSectors);
board::FlashStorage g_config_flash(EDGE_CONFIG_SECTOR_A, EDGE_CONFIG_SECTOR_B);

firmware::SensorSet<board::kSensors.size()> g_sensors;

void console_line(const char* text) {
  std::size_t n = 0;
  while (text[n] != '\0') {
    ++n;
  }
  g_console.write({reinterpret_cast<const std::uint8_t*>(text), n});
  constexpr std::uint8_t kCrLf[] = {'\r', '\n'};
  g_console.write(kCrLf);
}

[[noreturn]] void system_reset() {
  // SCB AIRCR: VECTKEY 0x05FA, SYSRESETREQ (ARMv7-M ARM B3.2.6).
  asm volatile("dsb" ::: "memory");
  reg(board::stm32::kScbAircr) = 0x05FA'0004U;
  asm volatile("dsb" ::: "memory");
  for (;;) {
  }
}

}  // namespace

void init() {
  g_clocks = start_clocks();
  set_bits(kRccAhb1enr, (1U << 0U) | (1U << 1U));    // GPIOA, GPIOB
  set_bits(kRccApb1enr, (1U << 17U) | (1U << 21U));  // USART2, I2C1
  set_bits(kRccApb2enr, 1U << 4U);                   // USART1
  board::stm32::touch(
      kRccApb2enr);  // ES0222: one read before the first access to a newly clocked unit
  for (const Pin& pin : kPins) {
    configure(pin);
  }
  g_link.init(g_clocks.pclk2, kBaud);
  g_console.init(g_clocks.pclk1, kBaud);
  // NVIC_ISER1 (ARMv7-M ARM B3.4.4): IRQ 37 USART1, IRQ 38 USART2 (RM0368 10.2, Table 38).
  reg(board::stm32::kNvicIser1) = (1U << (kUsart1Irq - 32U)) | (1U << (kUsart2Irq - 32U));
  g_i2c1.init(g_clocks.pclk1);
  g_clock.start(g_clocks.sysclk);
}

std::span<firmware::SensorSource* const> sensors() {
  return g_sensors.build(board::kSensors, i2c_bus, delay_us);
}

firmware::Storage* config_storage() {
  return &g_config_flash;
}

void idle(std::uint32_t /*max_us*/) {
  // Sleep until an interrupt: a USART's received byte or the next 1 ms SysTick. The receive
  // interrupts keep the bytes, so sleeping loses none (unlike a polled UART).
  asm volatile("wfi");
}

void delay_us(std::uint32_t microseconds) {
  g_clock.delay_us(microseconds);
}

void reboot() {
  g_console.flush();
  system_reset();
}

bus::I2cBus* i2c_bus(unsigned index) {
  return index == 0 ? &g_i2c1 : nullptr;
}

ByteStream& link() {
  return g_link;
}
bool set_link_baud(std::uint32_t baud) {
  // BRR = pclk / baud must fit its 16 bits and be at least 16 (oversampling by 16).
  if (baud == 0 || g_clocks.pclk2 / baud < 16U || g_clocks.pclk2 / baud > 0xFFFFU) {
    return false;
  }
  g_link.flush();
  g_link.init(g_clocks.pclk2, baud);
  return true;
}
ByteStream& console() {
  return g_console;
}

std::uint64_t monotonic_us() {
  return g_clock.now_us();
}

// No semihosting here: without a debugger a BKPT would fault. So halt() says why on the
// console and resets (platform.h: "a reset on hardware"); with a debugger attached it stops at
// a breakpoint instead, the exit code in r0, so a debugging session sees where it ended.
void halt(int exit_code) {
  asm volatile("cpsid i" ::: "memory");
  char line[] = "edge: halt, exit code -0000000000";
  char* digits = line + sizeof("edge: halt, exit code ") - 1;
  auto value =
      static_cast<std::uint32_t>(exit_code < 0 ? -static_cast<std::int64_t>(exit_code) : exit_code);
  if (exit_code < 0) {
    *digits++ = '-';
  }
  char reversed[10] = {};
  std::size_t n = 0;
  do {
    reversed[n++] = static_cast<char>('0' + value % 10U);
    value /= 10U;
  } while (value != 0U);
  while (n > 0) {
    *digits++ = reversed[--n];
  }
  *digits = '\0';
  console_line(line);
  g_console.flush();
  if ((reg(board::stm32::kDhcsr) & 1U) != 0U) {
    register int r0 asm("r0") = exit_code;
    asm volatile("bkpt 0" : : "r"(r0) : "memory");
  }
  system_reset();
}

void test_log(const char* line) {
  console_line(line);
}

}  // namespace edge::platform

extern "C" void edge_systick_handler() {
  edge::platform::g_clock.on_tick();
}

extern "C" void edge_usart1_irq() {
  edge::platform::g_link.on_interrupt();
}

extern "C" void edge_usart2_irq() {
  edge::platform::g_console.on_interrupt();
}

extern "C" [[noreturn]] void edge_platform_halt(int exit_code) {
  edge::platform::halt(exit_code);
}
