// The device application's entry point, the same for every board.
//
// Today it announces the device on both UARTs and then serves the link: it decodes every frame
// the gateway sends, verifies it, and counts acks and refused frames. Sampling sensors into
// events, the event ring, the persisted boot counter and the configuration console arrive with
// the firmware issue; until then the device reports itself unprovisioned (device id 0).
#include <array>
#include <cstring>

#include "edge/link/frame.h"
#include "edge/platform/platform.h"
#include "edge/wire/messages.h"
#include "edge/wire/static_builder.h"

namespace {

constexpr std::uint64_t kUnprovisionedDevice = 0;
constexpr std::uint32_t kRingCapacity = 0;

edge::wire::StaticBuilder<edge::wire::kLinkBuilderSize> g_link_builder;
edge::link::FrameDecoderBuffer<> g_decoder;
std::array<std::uint8_t, edge::link::max_encoded_frame_size(edge::link::kMaxFramePayload)> g_tx;

struct Counters {
  std::uint32_t acks = 0;
  std::uint32_t refused_frames = 0;
} g_counters;

void console_write(const char* text) {
  edge::platform::console().write({reinterpret_cast<const std::uint8_t*>(text), std::strlen(text)});
}

bool send_hello() {
  const auto hello = edge::wire::encode_hello(
      g_link_builder.fbb(),
      {kUnprovisionedDevice, 0, EDGE_FIRMWARE_VERSION, EDGE_BOARD_NAME, kRingCapacity});
  if (!hello.ok()) {
    return false;
  }
  const auto framed = edge::link::encode_frame(hello.value(), g_tx);
  if (!framed.ok()) {
    return false;
  }
  // A leading delimiter flushes whatever partial frame the gateway holds from before a reset.
  const std::uint8_t delimiter[] = {edge::link::kFrameDelimiter};
  edge::platform::link().write(delimiter);
  return edge::platform::link().write({g_tx.data(), framed.value()}) == framed.value();
}

void serve_link() {
  std::array<std::uint8_t, 64> rx{};
  const std::size_t n = edge::platform::link().read(rx);
  g_decoder.feed(
      {rx.data(), n},
      [](std::span<const std::uint8_t> payload) {
        const auto message = edge::wire::verify_link_message(payload);
        if (message.ok() && message.value()->body_type() == edge::wire::Body::Ack) {
          ++g_counters.acks;
        } else {
          ++g_counters.refused_frames;
        }
      },
      [](edge::link::FrameError) { ++g_counters.refused_frames; });
}

}  // namespace

int main() {
  edge::platform::init();
  console_write("edge-firmware " EDGE_FIRMWARE_VERSION " on " EDGE_BOARD_NAME "\r\n");
  console_write(send_hello() ? "link: hello sent\r\n" : "link: hello failed\r\n");
  for (;;) {
    serve_link();
  }
}
