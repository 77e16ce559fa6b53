#include "heap_meter.h"

#include <malloc.h>

#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define EDGE_SOAK_HAVE_MEMCHECK 1
#endif

namespace edge::soak {

bool under_valgrind() {
#ifdef EDGE_SOAK_HAVE_MEMCHECK
  return RUNNING_ON_VALGRIND != 0;
#else
  return false;
#endif
}

std::optional<HeapReading> heap_in_use() {
  HeapReading reading;
#ifdef EDGE_SOAK_HAVE_MEMCHECK
  if (RUNNING_ON_VALGRIND != 0) {
    // Every block not freed is in one of the four leak-check kinds: their sum is the heap in
    // use. The quick check prints a LEAK SUMMARY; its findings are not counted as errors.
    VALGRIND_DO_QUICK_LEAK_CHECK;
    unsigned long leaked = 0;      // NOLINT(google-runtime-int): the client request's own type
    unsigned long dubious = 0;     // NOLINT(google-runtime-int)
    unsigned long reachable = 0;   // NOLINT(google-runtime-int)
    unsigned long suppressed = 0;  // NOLINT(google-runtime-int)
    VALGRIND_COUNT_LEAKS(leaked, dubious, reachable, suppressed);
    reading.bytes = leaked + dubious + reachable + suppressed;
    reading.source = "memcheck";
    return reading.bytes != 0 ? std::optional(reading) : std::nullopt;
  }
#endif
  const struct mallinfo2 info = ::mallinfo2();
  // uordblks: chunks in use in every arena; hblkhd: chunks above the mmap threshold.
  reading.bytes = info.uordblks + info.hblkhd;
  reading.source = "mallinfo2";
  if (reading.bytes == 0) {
    return std::nullopt;
  }
  return reading;
}

}  // namespace edge::soak
