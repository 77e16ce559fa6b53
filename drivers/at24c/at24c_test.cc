#include "edge/drivers/at24c.h"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "at24c_emulator.h"

namespace edge::drivers {
namespace {

using emulator::At24cEmulator;
using emulator::EmulatedI2cBus;

std::vector<std::uint8_t> pattern(std::size_t length, std::uint8_t first = 1) {
  std::vector<std::uint8_t> bytes(length);
  std::iota(bytes.begin(), bytes.end(), first);
  return bytes;
}

struct Rig {
  explicit Rig(const At24cGeometry& geometry,
               At24cEmulator::Flavour flavour = At24cEmulator::Flavour::kChip)
      : chip(geometry, flavour), eeprom(bus, geometry) {
    chip.attach(bus);
  }
  std::vector<std::uint8_t> read_back(std::uint32_t offset, std::size_t length) {
    std::vector<std::uint8_t> out(length);
    const auto read = eeprom.read(offset, out);
    EXPECT_TRUE(read.ok());
    return out;
  }

  EmulatedI2cBus bus;
  At24cEmulator chip;
  At24c eeprom;
};

// AT24C02 datasheet, "Page Write": the 8-byte page's three low address bits roll over, so a
// ninth byte overwrites the page's first. The emulator must do the same, or the tests below could
// not see a driver that forgets to split writes.
TEST(At24cEmulator, PageWriteRollsOverInsideThePage) {
  EmulatedI2cBus bus;
  At24cEmulator chip(at24c::k24c02);
  chip.attach(bus);
  const std::array<std::uint8_t, 11> tx = {0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  ASSERT_EQ(bus.write_read(0x50, tx, {}), bus::BusStatus::kOk);
  const std::vector<std::uint8_t> page(chip.memory().begin() + 0x10, chip.memory().begin() + 0x18);
  EXPECT_EQ(page, (std::vector<std::uint8_t>{9, 10, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(chip.memory()[0x18], 0xFF);  // the next page is untouched
}

TEST(At24c, WritesSplitAtEightBytePagesOnA24c02) {
  Rig rig(at24c::k24c02);
  const auto data = pattern(20);
  const auto written = rig.eeprom.write(5, data);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written.value(), 20U);
  EXPECT_EQ(rig.read_back(5, 20), data);
  EXPECT_EQ(rig.chip.write_cycles(), 4);  // 5..7, 8..15, 16..23, 24
  EXPECT_EQ(rig.chip.largest_write(), 8U);
  EXPECT_EQ(rig.chip.memory()[4], 0xFF);
  EXPECT_EQ(rig.chip.memory()[25], 0xFF);
  EXPECT_EQ(rig.chip.short_addresses(), 0);
}

TEST(At24c, WritesSplitAt32BytePagesWithTwoAddressBytesOnA24c64) {
  Rig rig(at24c::k24c64);
  const auto data = pattern(40);
  ASSERT_TRUE(rig.eeprom.write(0x1FFE, std::span(data).first(2)).ok());  // the last two bytes
  ASSERT_TRUE(rig.eeprom.write(30, data).ok());
  EXPECT_EQ(rig.read_back(30, 40), data);
  EXPECT_EQ(rig.chip.write_cycles(), 4);  // 0x1FFE..; then 30..31, 32..63, 64..69
  EXPECT_EQ(rig.chip.memory()[0x1FFF], 2);
  EXPECT_EQ(rig.chip.memory()[0], 0xFF);  // no wrap-around to the start of memory
}

TEST(At24c, WholeChipRoundTripOnA24c32) {
  Rig rig(at24c::k24c32);
  std::vector<std::uint8_t> data(4096);
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<std::uint8_t>(i * 7U + i / 256U);
  }
  ASSERT_TRUE(rig.eeprom.write(0, data).ok());
  EXPECT_EQ(rig.chip.write_cycles(), 128);
  EXPECT_EQ(rig.read_back(0, data.size()), data);
}

// "Acknowledge Polling": during the self-timed write cycle (tWR <= 5 ms) the chip does not
// acknowledge its address; once the cycle is over it does.
TEST(At24c, PollsForTheEndOfEveryWriteCycle) {
  Rig rig(at24c::k24c02);
  rig.chip.set_write_cycle_naks(5);
  const auto data = pattern(16);
  ASSERT_TRUE(rig.eeprom.write(0, data).ok());
  EXPECT_EQ(rig.chip.write_cycles(), 2);
  EXPECT_EQ(rig.chip.naks_while_busy(), 10);
  EXPECT_EQ(rig.bus.transfers(), 2U * (1 + 5 + 1));  // page, 5 NACKed polls, the acked one
  EXPECT_EQ(rig.read_back(0, 16), data);             // readable at once after write() returns
}

TEST(At24c, AChipThatNeverComesBackIsABusTimeout) {
  EmulatedI2cBus bus;
  At24cEmulator chip(at24c::k24c32);
  chip.attach(bus);
  chip.set_stuck_after_write(true);
  At24c eeprom(bus, at24c::k24c32, At24c::kDefaultAddress, 10);
  const auto data = pattern(40);
  EXPECT_EQ(eeprom.write(0, data).error(), SensorError::kBusTimeout);
  EXPECT_EQ(bus.transfers(), 1U + 10U);  // one page write, then exactly the bounded polls
  EXPECT_EQ(chip.write_cycles(), 1);     // it stopped at the first page
  std::array<std::uint8_t, 4> out{};
  EXPECT_EQ(eeprom.read(0, out).error(), SensorError::kBusNack);  // still busy
}

// Fails one chosen transfer with `status`, passing the others on.
class FailOneTransfer final : public bus::I2cBus {
 public:
  FailOneTransfer(bus::I2cBus& inner, std::size_t fail_at, bus::BusStatus status)
      : inner_(inner), fail_at_(fail_at), status_(status) {}
  bus::BusStatus write_read(std::uint8_t address, std::span<const std::uint8_t> tx,
                            std::span<std::uint8_t> rx) override {
    return ++count_ == fail_at_ ? status_ : inner_.write_read(address, tx, rx);
  }

 private:
  bus::I2cBus& inner_;
  std::size_t fail_at_;
  bus::BusStatus status_;
  std::size_t count_ = 0;
};

TEST(At24c, OnlyANackIsPolledAgain) {
  EmulatedI2cBus bus;
  At24cEmulator chip(at24c::k24c02);
  chip.attach(bus);
  const auto data = pattern(4);
  FailOneTransfer timeout_in_poll(bus, 2, bus::BusStatus::kTimeout);
  EXPECT_EQ(At24c(timeout_in_poll, at24c::k24c02).write(0, data).error(), SensorError::kBusTimeout);
  FailOneTransfer error_in_poll(bus, 2, bus::BusStatus::kArbitrationLost);
  EXPECT_EQ(At24c(error_in_poll, at24c::k24c02).write(0, data).error(), SensorError::kBusError);
  FailOneTransfer nack_in_poll(bus, 2, bus::BusStatus::kNack);
  EXPECT_TRUE(At24c(nack_in_poll, at24c::k24c02).write(0, data).ok());
}

TEST(At24c, SequentialReadCrossesPagesInOneTransfer) {
  Rig rig(at24c::k24c64);
  std::iota(rig.chip.memory().begin(), rig.chip.memory().end(), std::uint8_t{0});
  std::vector<std::uint8_t> out(100);
  ASSERT_TRUE(rig.eeprom.read(3, out).ok());
  EXPECT_EQ(out, pattern(100, 3));
  EXPECT_EQ(rig.bus.transfers(), 1U);
}

// AT24C16 datasheet, "Device Addressing": A10..A8 go in the device address as P2..P0, so a 24C16
// answers at 0x50..0x57, one 256-byte block each.
TEST(At24c, BlockBitsGoInTheDeviceAddressOnA24c16) {
  Rig rig(at24c::k24c16);
  const auto data = pattern(40);
  ASSERT_TRUE(rig.eeprom.write(0x1F0, data).ok());  // blocks 1 and 2
  EXPECT_EQ(rig.chip.memory()[0x1F0], 1);
  EXPECT_EQ(rig.chip.memory()[0x200], 17);
  EXPECT_EQ(rig.chip.memory()[0x217], 40);
  EXPECT_EQ(rig.read_back(0x1F0, 40), data);
  EXPECT_EQ(rig.read_back(0x7FF, 1), std::vector<std::uint8_t>{0xFF});  // block 7, 0x57
  std::iota(rig.chip.memory().begin(), rig.chip.memory().end(), std::uint8_t{0});
  std::vector<std::uint8_t> all(2048);
  ASSERT_TRUE(rig.eeprom.read(0, all).ok());
  EXPECT_EQ(all, rig.chip.memory());
}

TEST(At24c, SpansOutsideTheChipAreBadArguments) {
  Rig rig(at24c::k24c02);
  std::array<std::uint8_t, 8> buffer{};
  EXPECT_EQ(rig.eeprom.read(249, buffer).error(), SensorError::kBadArgument);
  EXPECT_EQ(rig.eeprom.write(249, buffer).error(), SensorError::kBadArgument);
  EXPECT_EQ(rig.eeprom.read(0xFFFFFFFFU, buffer).error(), SensorError::kBadArgument);
  EXPECT_EQ(rig.eeprom.write(257, std::span(buffer).first(0)).error(), SensorError::kBadArgument);
  std::vector<std::uint8_t> too_big(257);
  EXPECT_EQ(rig.eeprom.write(0, too_big).error(), SensorError::kBadArgument);
  EXPECT_EQ(rig.bus.transfers(), 0U);
  EXPECT_EQ(rig.eeprom.read(248, buffer).value(), 8U);  // the last 8 bytes fit
  EXPECT_EQ(rig.eeprom.write(256, std::span(buffer).first(0)).value(), 0U);
}

TEST(At24c, InvalidGeometriesAreBadArguments) {
  EXPECT_TRUE(At24c::valid(at24c::k24c01));
  EXPECT_TRUE(At24c::valid(at24c::k24c512));
  EXPECT_TRUE(At24c::valid(at24c::kQemu72Rom256));
  for (const At24cGeometry& bad :
       {At24cGeometry{256, 0, 1}, At24cGeometry{256, 12, 1}, At24cGeometry{256, 8, 3},
        At24cGeometry{4096, 32, 1}, At24cGeometry{131072, 128, 2}, At24cGeometry{4, 8, 1}}) {
    EXPECT_FALSE(At24c::valid(bad));
    EmulatedI2cBus bus;
    At24c eeprom(bus, bad);
    std::array<std::uint8_t, 1> byte{};
    EXPECT_EQ(eeprom.read(0, byte).error(), SensorError::kBadArgument);
    EXPECT_EQ(eeprom.write(0, byte).error(), SensorError::kBadArgument);
  }
}

// A 24Cxx has no checksum or status to check: a byte corrupted on the bus reads as valid data, and
// the configuration stored here carries its own CRC one layer up. What the driver must do is turn
// NACKs and timeouts into statuses, never into data.
TEST(At24c, NackAndTimeoutAreStatuses) {
  Rig rig(at24c::k24c32);
  std::array<std::uint8_t, 4> out{};
  rig.bus.nack_next(At24c::kDefaultAddress);
  EXPECT_EQ(rig.eeprom.read(0, out).error(), SensorError::kBusNack);
  rig.bus.timeout_next();
  EXPECT_EQ(rig.eeprom.read(0, out).error(), SensorError::kBusTimeout);
  rig.bus.nack_next(At24c::kDefaultAddress);
  EXPECT_EQ(rig.eeprom.write(0, out).error(), SensorError::kBusNack);  // the page write itself
  rig.bus.timeout_next();
  EXPECT_EQ(rig.eeprom.write(0, out).error(), SensorError::kBusTimeout);
  EXPECT_EQ(rig.chip.write_cycles(), 0);
  At24c absent(rig.bus, at24c::k24c32, 0x57);
  EXPECT_EQ(absent.read(0, out).error(), SensorError::kBusNack);
}

// QEMU 7.2's at24c-eeprom (hw/nvram/eeprom_at24c.c) always takes two address bytes: the 24C32
// and 24C64 geometries match it, a 256-byte rom needs kQemu72Rom256, and the one-byte 24C02
// geometry misaddresses it (its first data byte would become the low address byte).
TEST(At24c, AddressesQemu72sModel) {
  for (const At24cGeometry& geometry : {at24c::k24c32, at24c::k24c64, at24c::kQemu72Rom256}) {
    Rig rig(geometry, At24cEmulator::Flavour::kQemu72);
    const auto data = pattern(50);
    ASSERT_TRUE(rig.eeprom.write(geometry.size_bytes - 60, data).ok());
    EXPECT_EQ(rig.read_back(geometry.size_bytes - 60, 50), data);
    EXPECT_EQ(rig.chip.memory()[geometry.size_bytes - 60], 1);
    EXPECT_EQ(rig.chip.short_addresses(), 0);
  }
  Rig wrong(at24c::k24c02, At24cEmulator::Flavour::kQemu72);
  const auto data = pattern(4);
  ASSERT_TRUE(wrong.eeprom.write(0x20, data).ok());
  EXPECT_NE(wrong.chip.memory()[0x20], 1);
  EXPECT_GT(wrong.chip.short_addresses(), 0);  // the polls and reads send one byte of two
}

}  // namespace
}  // namespace edge::drivers
