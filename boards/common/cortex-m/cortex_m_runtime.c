/* The C runtime start every Cortex-M board shares: after the board's reset handler has done what
 * must come first on its chip (FPU access, VTOR), edge_cortex_m_run() copies .data from flash,
 * zeroes .bss, runs the static constructors, calls main and halts with its return value. C,
 * because C++ may not call main. The symbols come from the board's linker script. */
#include "cortex_m_runtime.h"

#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss;
typedef void (*InitFn)(void);
extern InitFn __preinit_array_start[], __preinit_array_end[];
extern InitFn __init_array_start[], __init_array_end[];

int main(void);

void edge_cortex_m_run(void) {
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
