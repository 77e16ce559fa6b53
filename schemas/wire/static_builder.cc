#include "edge/wire/static_builder.h"

namespace edge::wire {

// Weak so a board may route it to its fault handler (log, then reset).
[[gnu::weak, noreturn]] void arena_exhausted() {
  __builtin_trap();
}

std::uint8_t* ArenaAllocator::allocate(std::size_t size) {
  if (in_use_ || size > arena_.size()) {
    arena_exhausted();
  }
  in_use_ = true;
  return arena_.data();
}

void ArenaAllocator::deallocate(std::uint8_t* p, std::size_t /*size*/) {
  if (p == arena_.data()) {
    in_use_ = false;
  }
}

}  // namespace edge::wire
