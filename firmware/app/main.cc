// The device application's entry point, the same for every board: the board supplies its
// streams, sensors and configuration storage through edge::platform; the Application does
// the rest (see application.h).
#include "application.h"
#include "edge/platform/platform.h"

namespace {
// The longest the loop sleeps with nothing to read: the jitter a sample time can have.
constexpr std::uint32_t kIdleUs = 1000;
}  // namespace

int main() {
  edge::platform::init();
  static edge::firmware::Application app(edge::platform::sensors(),
                                         edge::platform::config_storage(), EDGE_FIRMWARE_VERSION,
                                         EDGE_BOARD_NAME);
  app.boot(edge::platform::monotonic_us());
  for (;;) {
    app.poll(edge::platform::monotonic_us());
    edge::platform::idle(kIdleUs);
  }
}
