// Device builds have no heap. Any operator new is a bug that must show at once, not a slow
// leak on a board in the field: it traps (HardFault; QEMU ends the run with status 0x7F).
// malloc is not provided either: the board links no _sbrk, so pulling malloc in fails the link.
#include <cstddef>
#include <new>

namespace {
[[noreturn]] void heap_used() {
  __builtin_trap();
}
}  // namespace

void* operator new(std::size_t) {
  heap_used();
}
void* operator new[](std::size_t) {
  heap_used();
}
void* operator new(std::size_t, const std::nothrow_t&) noexcept {
  heap_used();
}
void* operator new[](std::size_t, const std::nothrow_t&) noexcept {
  heap_used();
}
// Deleting destructors of classes with virtual destructors reference these; nothing was ever
// allocated, so nothing is ever freed.
void operator delete(void*) noexcept {
  heap_used();
}
void operator delete[](void*) noexcept {
  heap_used();
}
void operator delete(void*, std::size_t) noexcept {
  heap_used();
}
void operator delete[](void*, std::size_t) noexcept {
  heap_used();
}
