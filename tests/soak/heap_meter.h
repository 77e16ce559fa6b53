// Heap in use, measured whoever owns malloc: glibc (mallinfo2) or memcheck (its leak-check
// tally: valgrind 3.19 does not intercept mallinfo2, which then reports 0). Sanitizer builds
// have their own allocator and do not build the soak (tests/CMakeLists.txt).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace edge::soak {

struct HeapReading {
  std::uint64_t bytes = 0;  // allocated and not yet freed, all threads
  std::string source;       // "mallinfo2" or "memcheck"
};

/// The heap in use now. nullopt when no source can tell (a reading of 0 bytes in a process
/// that holds allocations means the source is blind: the caller must fail, not pass).
[[nodiscard]] std::optional<HeapReading> heap_in_use();

/// True when the process runs under valgrind.
[[nodiscard]] bool under_valgrind();

}  // namespace edge::soak
