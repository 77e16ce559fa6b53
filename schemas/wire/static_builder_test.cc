#include "edge/wire/static_builder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "edge/wire/messages.h"

// Counts every heap allocation in this test binary, so a test can prove a window of code made
// none.
namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// None of these is inlined: inlined into a new- or delete-expression, GCC 12 (-O2) sees malloc
// or free where it expects operator new or delete and warns (-Wmismatched-new-delete, an error
// here), though these operators are malloc and free.
[[gnu::noinline]] void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size) {
  return operator new(size);
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace edge::wire {
namespace {

TEST(StaticBuilder, EncodesEventsAndLinkMessagesWithoutTouchingTheHeap) {
  StaticBuilder<kEventBuilderSize> events;
  StaticBuilder<kLinkBuilderSize> link;
  const long before = g_allocations.load();
  for (std::uint32_t seq = 0; seq < 1000; ++seq) {
    EventFields f;
    f.id = {7, 1, seq};
    f.sensor = "dps310";
    f.reading = ReadingValue::pressure(100000.0F + static_cast<float>(seq));
    const auto event = encode_event(events.fbb(), f);
    ASSERT_TRUE(event.ok());
    const std::span<const std::uint8_t> batch[] = {event.value()};
    ASSERT_TRUE(encode_batch(link.fbb(), 7, batch, 0).ok());
    ASSERT_TRUE(encode_hello(link.fbb(), {7, 1, "0.1.0", "host-sim", 64}).ok());
    ASSERT_TRUE(encode_ack(link.fbb(), {7, 1, AckStatus::Ok, seq, {}, 0}).ok());
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
}

TEST(StaticBuilder, CountingAllocatorSeesHeapUse) {
  // The counter above must be able to fail: a heap builder is seen.
  const long before = g_allocations.load();
  flatbuffers::FlatBufferBuilder heap;
  EventFields f;
  f.sensor = "x";
  ASSERT_TRUE(encode_event(heap, f).ok());
  EXPECT_GT(g_allocations.load() - before, 0);
}

TEST(StaticBuilderDeathTest, ArenaTooSmallTrapsInsteadOfOverflowing) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        StaticBuilder<64> tiny;
        EventFields f;
        f.sensor = "a-long-sensor";
        f.reading = ReadingValue::scalar_value(1.0, Unit::Other, "unit-name-here");
        (void)encode_event(tiny.fbb(), f);
      },
      "");
}

}  // namespace
}  // namespace edge::wire
