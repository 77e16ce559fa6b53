// The Linux agent's I2C bus 0: the adapter named by EDGE_I2C_BUS (e.g. /dev/i2c-1 on a
// Raspberry Pi), driven with ioctl(I2C_RDWR). Without it the board has no bus, and board.json's
// sensors report bus_nack on the console (the agent still runs and keeps its link).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "edge/bus/linux_i2c_bus.h"
#include "edge/platform/platform.h"

namespace edge::platform {

bus::I2cBus* i2c_bus(unsigned index) {
  static bus::LinuxI2cBus adapter;
  static const bool opened = [] {
    const char* path = std::getenv("EDGE_I2C_BUS");
    if (path == nullptr || *path == '\0') {
      return false;
    }
    const std::string why = adapter.open(path);
    if (!why.empty()) {
      std::fprintf(stderr, "i2c: %s\n", why.c_str());
    }
    return why.empty();
  }();
  return index == 0 && opened ? &adapter : nullptr;
}

}  // namespace edge::platform
