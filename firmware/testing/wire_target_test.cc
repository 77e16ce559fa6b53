// The wire contract, run on the board itself: CRC, COBS, framing, the no-heap FlatBuffers
// builder and verification, on the target's CPU, alignment rules and C library. Under QEMU
// this is the Cortex-M3 of the lm3s6965evb; on ARM Linux it runs under qemu-user.
#include <array>
#include <cstring>

#include "edge/event_id/event_id.h"
#include "edge/link/crc32c.h"
#include "edge/link/frame.h"
#include "edge/platform/platform.h"
#include "edge/testing/target_test.h"
#include "edge/wire/messages.h"
#include "edge/wire/static_builder.h"

namespace {

using edge::link::FrameError;

void crc32c_check_value() {
  const char* text = "123456789";
  const auto crc = edge::link::crc32c({reinterpret_cast<const std::uint8_t*>(text), 9});
  EDGE_EXPECT(crc == 0xE3069283U);
}

void cobs_round_trips_254_byte_runs() {
  static std::array<std::uint8_t, 600> in{};
  static std::array<std::uint8_t, 610> encoded{};
  static std::array<std::uint8_t, 610> decoded{};
  for (const std::size_t length :
       {std::size_t{253}, std::size_t{254}, std::size_t{255}, std::size_t{508}, std::size_t{600}}) {
    for (std::size_t i = 0; i < length; ++i) {
      in[i] = static_cast<std::uint8_t>(1U + i % 255U);
    }
    const auto n = edge::link::cobs_encode({in.data(), length}, encoded);
    EDGE_EXPECT(n.ok());
    const auto m = edge::link::cobs_decode({encoded.data(), n.value()}, decoded);
    EDGE_EXPECT(m.ok() && m.value() == length);
    EDGE_EXPECT(std::memcmp(in.data(), decoded.data(), length) == 0);
  }
  in.fill(0);
  const auto n = edge::link::cobs_encode(in, encoded);
  EDGE_EXPECT(n.ok() && n.value() == in.size() + 1);
}

// A full batch of events, encoded with the static builders, framed, corrupted once, and decoded:
// the corrupted frame is refused and the clean one verifies in place.
void batch_frames_and_verifies_without_heap() {
  static edge::wire::StaticBuilder<edge::wire::kEventBuilderSize> event_builder;
  static edge::wire::StaticBuilder<edge::wire::kLinkBuilderSize> link_builder;
  static std::array<std::array<std::uint8_t, edge::wire::kMaxEventSize>,
                    edge::wire::kMaxBatchEvents>
      ring{};
  static std::array<std::span<const std::uint8_t>, edge::wire::kMaxBatchEvents> events{};
  for (std::uint32_t seq = 0; seq < edge::wire::kMaxBatchEvents; ++seq) {
    edge::wire::EventFields f;
    f.id = {0xC0FFEE, 2, seq};
    f.mono_us = edge::platform::monotonic_us();
    f.sensor = "tmp105";
    f.reading = edge::wire::ReadingValue::temperature(20.0F + static_cast<float>(seq));
    const auto e = edge::wire::encode_event(event_builder.fbb(), f);
    EDGE_EXPECT(e.ok());
    std::memcpy(ring[seq].data(), e.value().data(), e.value().size());
    events[seq] = {ring[seq].data(), e.value().size()};
  }
  const auto batch = edge::wire::encode_batch(link_builder.fbb(), 0xC0FFEE, events, 0);
  EDGE_EXPECT(batch.ok());

  static std::array<std::uint8_t, edge::link::max_encoded_frame_size(edge::link::kMaxFramePayload)>
      wire{};
  const auto framed = edge::link::encode_frame(batch.value(), wire);
  EDGE_EXPECT(framed.ok());
  static std::array<std::uint8_t, sizeof(wire)> corrupted{};
  corrupted = wire;
  // Flip a bit in the middle without making a 0x00, so the damage stays inside one frame.
  std::uint8_t& victim = corrupted[framed.value() / 2];
  victim = static_cast<std::uint8_t>(victim ^ (victim == 0x10U ? 0x20U : 0x10U));

  static edge::link::FrameDecoderBuffer<> decoder;
  int good = 0;
  int bad = 0;
  auto on_frame = [&](std::span<const std::uint8_t> payload) {
    ++good;
    const auto message = edge::wire::verify_link_message(payload);
    EDGE_EXPECT(message.ok());
    const auto* b = message.value()->body_as_EventBatch();
    EDGE_EXPECT(b != nullptr && b->events()->size() == edge::wire::kMaxBatchEvents);
    for (flatbuffers::uoffset_t i = 0; i < b->events()->size(); ++i) {
      const auto event = edge::wire::verify_event(edge::wire::blob_bytes(*b->events()->Get(i)));
      EDGE_EXPECT(event.ok());
      EDGE_EXPECT(event.value()->id()->seq() == i);
      EDGE_EXPECT(event.value()->reading_as_Temperature()->celsius() ==
                  20.0F + static_cast<float>(i));
    }
  };
  auto on_error = [&](FrameError) { ++bad; };
  decoder.feed({corrupted.data(), framed.value()}, on_frame, on_error);
  decoder.feed({wire.data(), framed.value()}, on_frame, on_error);
  EDGE_EXPECT(bad == 1);
  EDGE_EXPECT(good == 1);
}

void event_id_text_form() {
  std::array<char, edge::kEventIdTextMax> text{};
  const auto n = edge::format_event_id({0xA1, 7, 42}, text);
  EDGE_EXPECT(n.ok() && n.value() == 21);
  EDGE_EXPECT(std::memcmp(text.data(), "00000000000000a1-7-42", 21) == 0);
}

void clock_advances() {
  const std::uint64_t start = edge::platform::monotonic_us();
  std::uint64_t now = start;
  for (std::uint32_t spins = 0; spins < 50'000'000U && now < start + 2000U; ++spins) {
    now = edge::platform::monotonic_us();
  }
  EDGE_EXPECT(now >= start + 2000U);
}

void link_uart_accepts_a_frame() {
  const std::uint8_t hello[] = {0x00, 0x02, 0x41, 0x00};
  EDGE_EXPECT(edge::platform::link().write(hello) == sizeof(hello));
}

constexpr edge::testing::TestCase kTests[] = {
    {"crc32c_check_value", crc32c_check_value},
    {"cobs_round_trips_254_byte_runs", cobs_round_trips_254_byte_runs},
    {"batch_frames_and_verifies_without_heap", batch_frames_and_verifies_without_heap},
    {"event_id_text_form", event_id_text_form},
    {"clock_advances", clock_advances},
    {"link_uart_accepts_a_frame", link_uart_accepts_a_frame},
};

}  // namespace

int main() {
  edge::platform::init();
  return edge::testing::run_all(kTests);
}
