// edge-bench-encode-frame: encode + frame one event the way the firmware does (an Event into a
// StaticBuilder arena, a one-event EventBatch LinkMessage around it, COBS + CRC-32C framing),
// N times. bench/run runs it under callgrind with two N and divides the difference in executed
// instructions by the difference in N: instructions per event, start-up excluded.
//
//   edge-bench-encode-frame [--events N]
//
// Prints {"events":N,"ns_per_event":..,"frame_bytes":..} (wall clock; meaningful only outside
// valgrind).
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>

#include "edge/link/frame.h"
#include "edge/wire/messages.h"
#include "edge/wire/static_builder.h"

namespace {

edge::wire::StaticBuilder<edge::wire::kEventBuilderSize> g_event_builder;
edge::wire::StaticBuilder<edge::wire::kLinkBuilderSize> g_link_builder;
std::array<std::uint8_t, edge::link::max_encoded_frame_size(edge::link::kMaxFramePayload)> g_tx{};

// One sample as the firmware's application makes it; returns the frame's size, 0 on error.
// noinline: callgrind attributes the work to this one function.
[[gnu::noinline]] std::size_t encode_and_frame(std::uint32_t seq) {
  edge::wire::EventFields fields;
  fields.id = {0xC0FFEE, 7, seq};
  fields.mono_us = std::uint64_t{seq} * 1000U;
  fields.sensor = "tmp105";
  fields.reading = edge::wire::ReadingValue::temperature(20.0F + static_cast<float>(seq % 100U));
  const auto event = edge::wire::encode_event(g_event_builder.fbb(), fields);
  if (!event.ok()) {
    return 0;
  }
  const std::array<std::span<const std::uint8_t>, 1> events{event.value()};
  const auto batch = edge::wire::encode_batch(g_link_builder.fbb(), 0xC0FFEE, events, 0);
  if (!batch.ok()) {
    return 0;
  }
  const auto framed = edge::link::encode_frame(batch.value(), g_tx);
  return framed.ok() ? framed.value() : 0;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned long events = 1000000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--events") == 0) {
      events = std::strtoul(argv[i + 1], nullptr, 10);
    } else {
      std::fputs("usage: edge-bench-encode-frame [--events N]\n", stderr);
      return 2;
    }
  }
  std::size_t bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (unsigned long i = 0; i < events; ++i) {
    bytes = encode_and_frame(static_cast<std::uint32_t>(i));
    if (bytes == 0) {
      std::fputs("edge-bench-encode-frame: encoding failed\n", stderr);
      return 1;
    }
  }
  const double ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"events\":%lu,\"ns_per_event\":%.1f,\"frame_bytes\":%zu}\n", events,
              events > 0 ? ns / static_cast<double>(events) : 0.0, bytes);
  return 0;
}
