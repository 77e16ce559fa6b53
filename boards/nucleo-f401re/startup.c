/* Reset and exception vectors for the STM32F401RE (Cortex-M4F). Enables the FPU and points VTOR
 * at the table, then starts the C runtime (boards/common/cortex-m/cortex_m_runtime.c). */
#include <stdint.h>

#include "cortex_m_runtime.h"

extern uint32_t _estack;

void edge_usart1_irq(void); /* platform.cc: the link's receive interrupt */
void edge_usart2_irq(void); /* platform.cc: the console's receive interrupt */

typedef void (*Vector)(void);
enum { kCoreVectors = 16, kIrqVectors = 85 }; /* RM0368 10.2, Table 38: IRQ 0 (WWDG)..84 (SPI4) */
extern const Vector kVectors[];

#define SCB_VTOR (*(volatile uint32_t*)0xE000ED08u)  /* ARMv7-M ARM B3.2.5 */
#define SCB_CPACR (*(volatile uint32_t*)0xE000ED88u) /* ARMv7-M ARM B3.2.20 */
#define CPACR_CP10_CP11_FULL (0xFu << 20)

/* With -mfloat-abi=hard the compiler may use FPU registers in any function, so access to
 * coprocessors 10 and 11 is granted first (PM0214, Cortex-M4 programming manual, 4.6.1 CPACR
 * and 4.6.6 "Enabling the FPU"). Not inlined, so nothing can be scheduled ahead of it. */
__attribute__((noinline)) static void enable_fpu(void) {
  SCB_CPACR |= CPACR_CP10_CP11_FULL;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
}

__attribute__((noreturn)) void edge_reset_handler(void) {
  enable_fpu();
  /* The table is in flash at 0x08000000, aliased at 0 only while BOOT0 is low: say where it is. */
  SCB_VTOR = (uint32_t)(uintptr_t)kVectors;
  edge_cortex_m_run();
}

/* A fault halts with a distinctive status (0x7F): halt() reports it on the console and resets. */
static void fault_handler(void) {
  edge_platform_halt(0x7F);
}
/* Only the USARTs' receive interrupts are enabled, so any other that fires is a bug: 0x7E. */
static void unexpected_interrupt(void) {
  edge_platform_halt(0x7E);
}
static void ignore_interrupt(void) {}

#define IRQ_X1 unexpected_interrupt
#define IRQ_X5 IRQ_X1, IRQ_X1, IRQ_X1, IRQ_X1, IRQ_X1
#define IRQ_X10 IRQ_X5, IRQ_X5

/* Cortex-M4 core vectors (ARMv7-M ARM B1.5.2), then the F401's 85 peripheral interrupts. */
__attribute__((section(".vectors"), used)) const Vector kVectors[] = {
    (Vector)(uintptr_t)&_estack, /* initial main stack pointer */
    edge_reset_handler,
    fault_handler, /* NMI (the clock security system, unused here) */
    fault_handler, /* HardFault */
    fault_handler, /* MemManage */
    fault_handler, /* BusFault */
    fault_handler, /* UsageFault */
    0,
    0,
    0,
    0,
    ignore_interrupt, /* SVCall */
    ignore_interrupt, /* DebugMonitor */
    0,
    ignore_interrupt, /* PendSV */
    edge_systick_handler,
    IRQ_X10,
    IRQ_X10,
    IRQ_X10, /* IRQ 0..29 */
    IRQ_X5,
    IRQ_X1,
    IRQ_X1,          /* IRQ 30..36 */
    edge_usart1_irq, /* IRQ 37: USART1, the link */
    edge_usart2_irq, /* IRQ 38: USART2, the console */
    IRQ_X10,
    IRQ_X10,
    IRQ_X10,
    IRQ_X10, /* IRQ 39..78 */
    IRQ_X5,
    IRQ_X1, /* IRQ 79..84 (81: FPU, 84: SPI4) */
};
_Static_assert(sizeof(kVectors) == (kCoreVectors + kIrqVectors) * sizeof(Vector),
               "one vector per core exception and per STM32F401 interrupt");
