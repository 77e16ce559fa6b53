// SHT3x driver against the command-level emulator. Datasheet references are to the Sensirion
// SHT3x-DIS datasheet, version 5 (May 2018).
#include "edge/drivers/sht3x.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "edge/emulator/i2c_emulator.h"
#include "sht3x_emulator.h"

namespace edge::drivers {
namespace {

using emulator::EmulatedI2cBus;

class Sht3xTest : public ::testing::Test {
 protected:
  Sht3xTest() { bus_.attach(Sht3x::kDefaultAddress, chip_); }

  EmulatedI2cBus bus_;
  Sht3xEmulator chip_;
  Sht3x driver_{bus_};
};

// Table 20, "I2C CRC properties": CRC(0xBEEF) = 0x92.
TEST(Sht3xCrc, DatasheetExample) {
  constexpr std::array<std::uint8_t, 2> kBeef{0xBE, 0xEF};
  static_assert(Sht3x::crc8(kBeef) == 0x92);
  EXPECT_EQ(Sht3xEmulator::crc8(0xBE, 0xEF), 0x92);
  // Init 0xFF makes an all-zero word's CRC non-zero.
  constexpr std::array<std::uint8_t, 2> kZero{0x00, 0x00};
  EXPECT_EQ(Sht3x::crc8(kZero), 0x81);
  EXPECT_EQ(Sht3xEmulator::crc8(0x00, 0x00), 0x81);
}

// Section 4.13: T = -45 + 175 * S_T / (2^16 - 1), RH = 100 * S_RH / (2^16 - 1).
TEST(Sht3xConversion, RangeEnds) {
  EXPECT_EQ(Sht3x::temperature_milli_c(0), -45000);
  EXPECT_EQ(Sht3x::temperature_milli_c(65535), 130000);
  EXPECT_EQ(Sht3x::humidity_milli_percent(0), 0);
  EXPECT_EQ(Sht3x::humidity_milli_percent(65535), 100000);
  EXPECT_EQ(Sht3x::temperature_milli_c(1), -44997);  // one LSB = 2.67 m°C
  EXPECT_EQ(Sht3x::humidity_milli_percent(1), 2);    // one LSB = 1.53 m%RH
}

TEST(Sht3xConversion, MidScale) {
  EXPECT_EQ(Sht3x::temperature_milli_c(0x6666), 25000);  // 175 * 26214 / 65535 = 70.000
  EXPECT_EQ(Sht3x::humidity_milli_percent(0x6666), 40000);
  EXPECT_EQ(Sht3x::temperature_milli_c(0x8000), 42501);
  EXPECT_EQ(Sht3x::humidity_milli_percent(0x8000), 50001);
}

TEST(Sht3xConversion, IntegerMathsMatchesTheFormulaEverywhere) {
  for (std::uint32_t raw = 0; raw <= 0xFFFF; ++raw) {
    const auto s = static_cast<std::uint16_t>(raw);
    const double t = -45.0 + 175.0 * raw / 65535.0;
    const double rh = 100.0 * raw / 65535.0;
    ASSERT_LE(std::abs(Sht3x::temperature_milli_c(s) - t * 1000.0), 0.5) << raw;
    ASSERT_LE(std::abs(Sht3x::humidity_milli_percent(s) - rh * 1000.0), 0.5) << raw;
  }
}

TEST(Sht3xTiming, CommandsAndDurationsPerRepeatability) {
  // Table 4 maximum measurement durations; Table 9 commands (clock stretching disabled).
  EXPECT_EQ(Sht3x::measurement_time_us(Sht3x::Repeatability::kHigh), 15000U);
  EXPECT_EQ(Sht3x::measurement_time_us(Sht3x::Repeatability::kMedium), 6000U);
  EXPECT_EQ(Sht3x::measurement_time_us(Sht3x::Repeatability::kLow), 4000U);
  EXPECT_EQ(Sht3x::kCmdMeasureHigh, 0x2400);
  EXPECT_EQ(Sht3x::kCmdMeasureMedium, 0x240B);
  EXPECT_EQ(Sht3x::kCmdMeasureLow, 0x2416);
}

TEST_F(Sht3xTest, SingleShotHighRepeatability) {
  chip_.set_temperature_milli_c(23500);
  chip_.set_humidity_milli_percent(41250);
  const auto wait = driver_.start_measurement();
  ASSERT_TRUE(wait.ok());
  EXPECT_EQ(wait.value(), 15000U);
  EXPECT_EQ(chip_.last_command(), 0x2400);
  const auto reading = driver_.read_measurement();
  ASSERT_TRUE(reading.ok());
  // One LSB is 2.67 m°C and 1.53 m%RH: the round trip is within one LSB.
  EXPECT_NEAR(reading.value().temperature_milli_c, 23500, 3);
  EXPECT_NEAR(reading.value().humidity_milli_percent, 41250, 2);
}

TEST_F(Sht3xTest, MediumAndLowRepeatabilitySendTheirCommands) {
  EXPECT_EQ(driver_.start_measurement(Sht3x::Repeatability::kMedium).value(), 6000U);
  EXPECT_EQ(chip_.last_command(), 0x240B);
  EXPECT_EQ(driver_.start_measurement(Sht3x::Repeatability::kLow).value(), 4000U);
  EXPECT_EQ(chip_.last_command(), 0x2416);
  EXPECT_TRUE(driver_.read_measurement().ok());
}

TEST_F(Sht3xTest, RawRangeEndsThroughTheBus) {
  chip_.set_raw(0x0000, 0xFFFF);
  ASSERT_TRUE(driver_.start_measurement().ok());
  auto reading = driver_.read_measurement();
  ASSERT_TRUE(reading.ok());
  EXPECT_EQ(reading.value().temperature_milli_c, -45000);
  EXPECT_EQ(reading.value().humidity_milli_percent, 100000);

  chip_.set_raw(0xFFFF, 0x0000);
  ASSERT_TRUE(driver_.start_measurement().ok());
  reading = driver_.read_measurement();
  ASSERT_TRUE(reading.ok());
  EXPECT_EQ(reading.value().temperature_milli_c, 130000);
  EXPECT_EQ(reading.value().humidity_milli_percent, 0);
}

TEST_F(Sht3xTest, EmulatorClampsToTheSensorRange) {
  chip_.set_temperature_milli_c(200000);
  chip_.set_humidity_milli_percent(-5000);
  EXPECT_EQ(chip_.raw_temperature(), 0xFFFF);
  EXPECT_EQ(chip_.raw_humidity(), 0x0000);
}

// Section 4.3: without clock stretching the chip NACKs the read header until the measurement
// is done.
TEST_F(Sht3xTest, ReadBeforeTheMeasurementIsReadyIsNotReady) {
  chip_.set_busy_reads(2);
  chip_.set_raw(0x6666, 0x6666);
  ASSERT_TRUE(driver_.start_measurement().ok());
  EXPECT_EQ(driver_.read_measurement().error(), SensorError::kNotReady);
  EXPECT_EQ(driver_.read_measurement().error(), SensorError::kNotReady);
  const auto reading = driver_.read_measurement();
  ASSERT_TRUE(reading.ok());
  EXPECT_EQ(reading.value().temperature_milli_c, 25000);
  EXPECT_EQ(reading.value().humidity_milli_percent, 40000);
  // The data is read once: the next read header is NACKed again.
  EXPECT_EQ(driver_.read_measurement().error(), SensorError::kNotReady);
}

TEST_F(Sht3xTest, ReadWithoutAMeasurementIsNotReady) {
  EXPECT_EQ(driver_.read_measurement().error(), SensorError::kNotReady);
}

TEST_F(Sht3xTest, StatusAtPowerUpClearAndReset) {
  auto status = driver_.read_status();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status.value(), 0x8010);  // Table 18 defaults: alert pending, reset detected

  EXPECT_EQ(driver_.clear_status().value(), Sht3x::kCommandGapUs);
  EXPECT_EQ(chip_.last_command(), 0x3041);
  status = driver_.read_status();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status.value(), 0x0000);

  EXPECT_EQ(driver_.soft_reset().value(), Sht3x::kSoftResetUs);
  EXPECT_EQ(chip_.last_command(), 0x30A2);
  status = driver_.read_status();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status.value() & Sht3x::kStatusResetDetected, Sht3x::kStatusResetDetected);
}

TEST_F(Sht3xTest, HeaterShowsInTheStatus) {
  ASSERT_TRUE(driver_.set_heater(true).ok());
  EXPECT_EQ(chip_.last_command(), 0x306D);
  EXPECT_EQ(driver_.read_status().value() & Sht3x::kStatusHeaterOn, Sht3x::kStatusHeaterOn);
  ASSERT_TRUE(driver_.set_heater(false).ok());
  EXPECT_EQ(chip_.last_command(), 0x3066);
  EXPECT_EQ(driver_.read_status().value() & Sht3x::kStatusHeaterOn, 0);
}

TEST_F(Sht3xTest, SoftResetDropsAMeasurementInProgress) {
  ASSERT_TRUE(driver_.start_measurement().ok());
  ASSERT_TRUE(driver_.soft_reset().ok());
  EXPECT_EQ(driver_.read_measurement().error(), SensorError::kNotReady);
}

TEST_F(Sht3xTest, AlternateAddress) {
  Sht3xEmulator second;
  second.set_raw(0xFFFF, 0xFFFF);
  bus_.attach(Sht3x::kAlternateAddress, second);
  Sht3x other{bus_, Sht3x::kAlternateAddress};
  ASSERT_TRUE(other.start_measurement().ok());
  EXPECT_EQ(other.read_measurement().value().temperature_milli_c, 130000);
  EXPECT_EQ(chip_.measurements(), 0);
}

// Bus faults: NACKs and timeouts become statuses; a corrupted byte fails its word's CRC.

TEST_F(Sht3xTest, NackOnACommandIsBusNack) {
  bus_.nack_next(Sht3x::kDefaultAddress);
  EXPECT_EQ(driver_.start_measurement().error(), SensorError::kBusNack);
  EXPECT_EQ(chip_.measurements(), 0);
  bus_.nack_next(Sht3x::kDefaultAddress);
  EXPECT_EQ(driver_.read_status().error(), SensorError::kBusNack);
  bus_.nack_next(Sht3x::kDefaultAddress);
  EXPECT_EQ(driver_.soft_reset().error(), SensorError::kBusNack);
  bus_.nack_next(Sht3x::kDefaultAddress);
  EXPECT_EQ(driver_.set_heater(true).error(), SensorError::kBusNack);
}

TEST_F(Sht3xTest, AbsentChipIsBusNackOnTheCommand) {
  Sht3x nobody{bus_, Sht3x::kAlternateAddress};
  EXPECT_EQ(nobody.start_measurement().error(), SensorError::kBusNack);
  EXPECT_EQ(nobody.read_status().error(), SensorError::kBusNack);
}

TEST_F(Sht3xTest, TimeoutsAreBusTimeout) {
  bus_.timeout_next();
  EXPECT_EQ(driver_.start_measurement().error(), SensorError::kBusTimeout);
  ASSERT_TRUE(driver_.start_measurement().ok());
  bus_.timeout_next();
  EXPECT_EQ(driver_.read_measurement().error(), SensorError::kBusTimeout);
  bus_.timeout_next();
  EXPECT_EQ(driver_.clear_status().error(), SensorError::kBusTimeout);
}

// A device that acknowledges every command but NACKs every read header.
class NackReadsChip final : public emulator::ChipEmulator {
 public:
  bool write(std::span<const std::uint8_t>) override { return true; }
  bool read(std::span<std::uint8_t>) override { return false; }
};

TEST(Sht3xFaults, NackOnTheStatusReadHeaderIsBusNackNotNotReady) {
  // Only a measurement read turns a NACKed header into kNotReady; for status it is a bus fault.
  EmulatedI2cBus bus;
  NackReadsChip chip;
  bus.attach(Sht3x::kDefaultAddress, chip);
  Sht3x driver{bus};
  EXPECT_EQ(driver.read_status().error(), SensorError::kBusNack);
  EXPECT_EQ(driver.read_measurement().error(), SensorError::kNotReady);
}

TEST_F(Sht3xTest, EveryCorruptedMeasurementByteIsACrcError) {
  for (std::size_t index = 0; index < 6; ++index) {
    for (const int mask : {0x01, 0x80, 0xFF}) {
      ASSERT_TRUE(driver_.start_measurement().ok());
      bus_.corrupt_next_read(index, static_cast<std::uint8_t>(mask));
      EXPECT_EQ(driver_.read_measurement().error(), SensorError::kCrc)
          << "byte " << index << " mask " << mask;
    }
  }
}

TEST_F(Sht3xTest, CorruptedStatusIsACrcError) {
  for (std::size_t index = 0; index < 3; ++index) {
    bus_.corrupt_next_read(index, 0x04);
    EXPECT_EQ(driver_.read_status().error(), SensorError::kCrc) << index;
  }
}

// A device at 0x44 whose status word has a valid CRC but reserved bits set (Table 18: bits 14,
// 12, 3 and 2 read 0 on an SHT3x).
class ReservedBitsChip final : public emulator::ChipEmulator {
 public:
  bool write(std::span<const std::uint8_t>) override { return true; }
  bool read(std::span<std::uint8_t> out) override {
    const std::array<std::uint8_t, 3> word{0x40, 0x00, Sht3xEmulator::crc8(0x40, 0x00)};
    for (std::size_t i = 0; i < out.size() && i < word.size(); ++i) {
      out[i] = word[i];
    }
    return true;
  }
};

TEST(Sht3xIdentity, ReservedStatusBitsAreWrongChip) {
  EmulatedI2cBus bus;
  ReservedBitsChip chip;
  bus.attach(Sht3x::kDefaultAddress, chip);
  Sht3x driver{bus};
  EXPECT_EQ(driver.read_status().error(), SensorError::kWrongChip);
}

TEST(Sht3xEmulator, UnknownCommandSetsTheCommandStatusBit) {
  Sht3xEmulator chip;
  const std::array<std::uint8_t, 2> unknown{0x12, 0x34};
  EXPECT_TRUE(chip.write(unknown));
  EXPECT_EQ(chip.status() & Sht3x::kStatusCommandFailed, Sht3x::kStatusCommandFailed);
  const std::array<std::uint8_t, 2> heater_off{0x30, 0x66};
  EXPECT_TRUE(chip.write(heater_off));
  EXPECT_EQ(chip.status() & Sht3x::kStatusCommandFailed, 0);
}

}  // namespace
}  // namespace edge::drivers
