/* Shared by the Cortex-M boards' startup.c and platform.cc (C and C++). */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/* Copies .data, zeroes .bss, runs static constructors, calls main and halts with its result.
 * The board's reset handler calls it last. */
__attribute__((noreturn)) void edge_cortex_m_run(void);
/* platform.cc: edge::platform::halt, for C callers. */
__attribute__((noreturn)) void edge_platform_halt(int exit_code);
/* platform.cc: the SysTick exception (SysTickClock::on_tick). */
void edge_systick_handler(void);

#ifdef __cplusplus
}
#endif
