/* Reset and exception vectors for the LM3S6965 (Cortex-M3). Nothing must come before the C
 * runtime start on this chip (boards/common/cortex-m/cortex_m_runtime.c). */
#include <stdint.h>

#include "cortex_m_runtime.h"

extern uint32_t _estack;

__attribute__((noreturn)) void edge_reset_handler(void) {
  edge_cortex_m_run();
}

/* Under QEMU a fault ends the run with a distinctive status (0x7F) instead of hanging a test. */
static void fault_handler(void) {
  edge_platform_halt(0x7F);
}
static void ignore_interrupt(void) {}

typedef void (*Vector)(void);

/* Cortex-M3 core vectors (ARMv7-M ARM, B1.5.2); the LM3S6965's peripheral IRQs follow and are
 * not used yet. */
__attribute__((section(".vectors"), used)) const Vector kVectors[16] = {
    (Vector)(uintptr_t)&_estack, /* initial main stack pointer */
    edge_reset_handler,
    fault_handler, /* NMI */
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
};
