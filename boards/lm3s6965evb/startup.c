/* Reset and exception vectors for the LM3S6965 (Cortex-M3). Copies .data, zeroes .bss, runs
 * static constructors, calls main, and halts with main's return value. C, because C++ may not
 * call main. */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
typedef void (*InitFn)(void);
extern InitFn __preinit_array_start[], __preinit_array_end[];
extern InitFn __init_array_start[], __init_array_end[];

int main(void);
void edge_systick_handler(void);
/* platform.cc: edge::platform::halt for C callers. */
__attribute__((noreturn)) void edge_platform_halt(int exit_code);

__attribute__((noreturn)) void edge_reset_handler(void) {
  const uint32_t* src = &_sidata;
  for (uint32_t* dst = &_sdata; dst < &_edata;) {
    *dst++ = *src++;
  }
  for (uint32_t* dst = &_sbss; dst < &_ebss;) {
    *dst++ = 0;
  }
  for (InitFn* fn = __preinit_array_start; fn < __preinit_array_end; ++fn) {
    (*fn)();
  }
  for (InitFn* fn = __init_array_start; fn < __init_array_end; ++fn) {
    (*fn)();
  }
  edge_platform_halt(main());
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

/* Static objects are never destroyed on a device (main never returns to anything that would
 * run destructors), so their registration is a no-op and no atexit table is linked. */
void* __dso_handle = 0;
int __aeabi_atexit(void* object, void (*destructor)(void*), void* dso_handle);
int __aeabi_atexit(void* object, void (*destructor)(void*), void* dso_handle) {
  (void)object;
  (void)destructor;
  (void)dso_handle;
  return 0;
}
