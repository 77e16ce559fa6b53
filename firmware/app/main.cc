// The device application's entry point, the same for every board: the board supplies its
// streams, sensors and configuration storage through edge::platform; the Application does
// the rest (see application.h).
#include "application.h"
#include "edge/platform/platform.h"

int main() {
  edge::platform::init();
  static edge::firmware::Application app(edge::platform::sensors(),
                                         edge::platform::config_storage(), EDGE_FIRMWARE_VERSION,
                                         EDGE_BOARD_NAME);
  app.boot(edge::platform::monotonic_us());
  for (;;) {
    app.poll(edge::platform::monotonic_us());
  }
}
