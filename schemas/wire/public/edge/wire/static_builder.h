// FlatBuffers encoding on a device: a builder over a fixed, statically sized arena, no heap.
//
// StaticBuilder<N> owns N bytes and a FlatBufferBuilder that allocates exactly once, from that
// arena, on first use; Clear() between messages keeps the arena. A message that would need more
// than N bytes is a programming error (the encoders in messages.h bound every variable-length
// field so their worst case fits, and their tests build that worst case): the builder cannot
// grow, so the arena's exhaustion handler traps rather than write out of bounds.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "flatbuffers/flatbuffers.h"

namespace edge::wire {

/// Called when a builder needs more than its arena. Never returns. Defaults to a trap
/// instruction (HardFault on a Cortex-M, SIGILL on a host).
[[noreturn]] void arena_exhausted();

/// Hands out one borrowed arena, once at a time. Any other request calls arena_exhausted().
class ArenaAllocator final : public flatbuffers::Allocator {
 public:
  explicit ArenaAllocator(std::span<std::uint8_t> arena) : arena_(arena) {}

  std::uint8_t* allocate(std::size_t size) override;
  void deallocate(std::uint8_t* p, std::size_t size) override;

 private:
  std::span<std::uint8_t> arena_;
  bool in_use_ = false;
};

template <std::size_t kArenaSize>
class StaticBuilder {
  static_assert(kArenaSize % 8 == 0, "the builder rounds its allocation up to 8 bytes");

 public:
  StaticBuilder() = default;
  StaticBuilder(const StaticBuilder&) = delete;
  StaticBuilder& operator=(const StaticBuilder&) = delete;

  flatbuffers::FlatBufferBuilder& fbb() { return builder_; }
  static constexpr std::size_t capacity() { return kArenaSize; }

 private:
  alignas(8) std::array<std::uint8_t, kArenaSize> arena_{};
  ArenaAllocator allocator_{arena_};
  flatbuffers::FlatBufferBuilder builder_{kArenaSize, &allocator_, false, 8};
};

}  // namespace edge::wire
