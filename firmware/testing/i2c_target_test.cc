// The board's I2C bus with the real drivers, on the board itself: under QEMU the lm3s6965evb's
// Stellaris I2C master and QEMU's own TMP105, LSM303DLHC and AT24C models (board.json lists
// them; boards/lm3s6965evb/board.cmake attaches them).
#include <array>

#include "edge/bus/i2c_bus.h"
#include "edge/drivers/at24c.h"
#include "edge/drivers/lsm303dlhc.h"
#include "edge/drivers/tmp105.h"
#include "edge/platform/platform.h"
#include "edge/testing/target_test.h"

namespace {

edge::bus::I2cBus& bus() {
  edge::bus::I2cBus* bus = edge::platform::i2c_bus(0);
  EDGE_EXPECT(bus != nullptr);
  return *bus;
}

// QEMU resets its TMP105 model to 0 °C after applying -device properties, so the reading is
// 0 m°C here (setting another value needs qom-set over QMP while the firmware runs).
void tmp105_reads_the_temperature_qemu_holds() {
  edge::drivers::Tmp105 sensor(bus());
  EDGE_EXPECT(sensor.init().ok());
  const auto t = sensor.read_temperature_milli_c();
  EDGE_EXPECT(t.ok());
  EDGE_EXPECT(t.value() == 0);
}

void lsm303dlhc_identifies_itself_and_reads() {
  edge::drivers::Lsm303dlhcMag mag(bus(), edge::drivers::Lsm303dlhcMag::kDefaultAddress,
                                   edge::drivers::Lsm303dlhcMag::TempLayout::kRightAligned);
  EDGE_EXPECT(mag.init().ok());
  EDGE_EXPECT(mag.read_field().ok());
}

void eeprom_write_across_a_page_reads_back() {
  edge::drivers::At24c eeprom(bus(), edge::drivers::at24c::k24c32);
  std::array<std::uint8_t, 40> out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint8_t>(0xA0U + i);
  }
  EDGE_EXPECT(eeprom.write(20, out).ok());  // 20..59 crosses the 32-byte page at 32
  std::array<std::uint8_t, 40> in{};
  EDGE_EXPECT(eeprom.read(20, in).ok());
  EDGE_EXPECT(in == out);
}

void an_absent_address_is_a_nack_not_a_reading() {
  std::array<std::uint8_t, 2> rx{};
  const std::array<std::uint8_t, 1> reg{0};
  EDGE_EXPECT(bus().write_read(0x2A, reg, rx) == edge::bus::BusStatus::kNack);
  edge::drivers::Tmp105 missing(bus(), 0x49);
  const auto t = missing.read_temperature_milli_c();
  EDGE_EXPECT(!t.ok());
  EDGE_EXPECT(t.error() == edge::drivers::SensorError::kBusNack);
}

constexpr edge::testing::TestCase kTests[] = {
    {"tmp105_reads_the_temperature_qemu_holds", tmp105_reads_the_temperature_qemu_holds},
    {"lsm303dlhc_identifies_itself_and_reads", lsm303dlhc_identifies_itself_and_reads},
    {"eeprom_write_across_a_page_reads_back", eeprom_write_across_a_page_reads_back},
    {"an_absent_address_is_a_nack_not_a_reading", an_absent_address_is_a_nack_not_a_reading},
};

}  // namespace

int main() {
  edge::platform::init();
  return edge::testing::run_all(kTests);
}
