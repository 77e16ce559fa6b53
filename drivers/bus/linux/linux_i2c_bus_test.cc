// What can be checked without an I2C adapter (containers and CI have none, and i2c-stub is a
// kernel module): opening fails with the path and the reason, and a descriptor that is not an
// I2C adapter gives kBusError, never a reading.
#include "edge/bus/linux_i2c_bus.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace edge::bus {
namespace {

TEST(LinuxI2cBus, AMissingAdapterIsNamedWithTheReason) {
  LinuxI2cBus bus;
  const std::string why = bus.open("/dev/i2c-does-not-exist");
  EXPECT_NE(why.find("/dev/i2c-does-not-exist"), std::string::npos);
  EXPECT_NE(why.find("No such file"), std::string::npos) << why;
  std::array<std::uint8_t, 2> rx{0xAA, 0xAA};
  EXPECT_EQ(bus.write_read(0x48, {}, rx), BusStatus::kBusError) << "a bus that is not open";
}

TEST(LinuxI2cBus, ADescriptorThatIsNotAnAdapterIsABusErrorNotAReading) {
  LinuxI2cBus bus;
  ASSERT_EQ(bus.open("/dev/null"), "");
  const std::array<std::uint8_t, 1> reg{0};
  std::array<std::uint8_t, 2> rx{0xAA, 0xAA};
  EXPECT_EQ(bus.write_read(0x48, reg, rx), BusStatus::kBusError);
  EXPECT_EQ(bus.write_read(0x48, {}, {}), BusStatus::kBusError);
}

}  // namespace
}  // namespace edge::bus
