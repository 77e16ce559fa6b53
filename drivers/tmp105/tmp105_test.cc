// TMP105 driver against the register-level emulator. Datasheet references are to TI SLLS648D.
#include "edge/drivers/tmp105.h"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "edge/emulator/i2c_emulator.h"
#include "tmp105_emulator.h"

namespace edge::drivers {
namespace {

using emulator::EmulatedI2cBus;

class Tmp105Test : public ::testing::Test {
 protected:
  Tmp105Test() { bus_.attach(Tmp105::kDefaultAddress, chip_); }

  EmulatedI2cBus bus_;
  Tmp105Emulator chip_;
  Tmp105 driver_{bus_};
};

// Table 5, "Temperature Data Format": each row's 12-bit code, left-justified in the 16-bit
// register as Tables 3 and 4 lay it out.
struct Table5Row {
  std::int32_t milli_c;  // the table's temperature (127.9375 °C rounded to 127938 m°C)
  std::uint16_t word;
};
constexpr std::array<Table5Row, 11> kTable5{{
    {127938, 0x7FF0},
    {100000, 0x6400},
    {80000, 0x5000},
    {75000, 0x4B00},
    {50000, 0x3200},
    {25000, 0x1900},
    {250, 0x0040},
    {0, 0x0000},
    {-250, 0xFFC0},
    {-25000, 0xE700},
    {-55000, 0xC900},
}};

TEST(Tmp105Conversion, Table5WordsToMilliDegrees) {
  for (const auto& row : kTable5) {
    EXPECT_EQ(Tmp105::to_milli_c(static_cast<std::int16_t>(row.word)), row.milli_c)
        << std::hex << row.word;
  }
}

TEST(Tmp105Conversion, RangeEndsAndOneLsb) {
  EXPECT_EQ(Tmp105::to_milli_c(static_cast<std::int16_t>(0x8000)), -128000);  // -128 °C
  EXPECT_EQ(Tmp105::to_milli_c(0x0010), 63);    // +0.0625 °C, half rounded away from zero
  EXPECT_EQ(Tmp105::to_milli_c(-0x0010), -63);  // -0.0625 °C (0xFFF0)
  EXPECT_EQ(Tmp105::from_milli_c(127937), 0x7FF0);
  EXPECT_EQ(Tmp105::from_milli_c(128000), 0x7FF0);  // saturates, as Table 5's +128 °C row
  EXPECT_EQ(Tmp105::from_milli_c(-128000), static_cast<std::int16_t>(0x8000));
  EXPECT_EQ(Tmp105::from_milli_c(-200000), static_cast<std::int16_t>(0x8000));
  EXPECT_EQ(Tmp105::from_milli_c(75000), 0x4B00);
  EXPECT_EQ(Tmp105::from_milli_c(-25000), static_cast<std::int16_t>(0xE700));
}

TEST(Tmp105Conversion, ConversionTimesFollowTable8) {
  EXPECT_EQ(Tmp105::conversion_time_us(Tmp105::Resolution::k9Bit), 27500U);
  EXPECT_EQ(Tmp105::conversion_time_us(Tmp105::Resolution::k10Bit), 55000U);
  EXPECT_EQ(Tmp105::conversion_time_us(Tmp105::Resolution::k11Bit), 110000U);
  EXPECT_EQ(Tmp105::conversion_time_us(Tmp105::Resolution::k12Bit), 220000U);
}

TEST_F(Tmp105Test, ReadsEveryTable5RowThroughTheBus) {
  ASSERT_TRUE(driver_.init().ok());
  for (const auto& row : kTable5) {
    chip_.set_temperature_milli_c(row.milli_c);
    EXPECT_EQ(chip_.temperature_register(), row.word) << row.milli_c;
    const auto reading = driver_.read_temperature_milli_c();
    ASSERT_TRUE(reading.ok());
    EXPECT_EQ(reading.value(), row.milli_c);
  }
  // Table 5's first row: +128 °C reads as 0x7FF, i.e. +127.9375 °C.
  chip_.set_temperature_milli_c(128000);
  EXPECT_EQ(driver_.read_temperature_raw().value(), 0x7FF0);
  chip_.set_temperature_milli_c(-128000);
  EXPECT_EQ(driver_.read_temperature_milli_c().value(), -128000);
}

TEST_F(Tmp105Test, InitWritesResolutionAndReadsItBack) {
  const auto config = driver_.init(Tmp105::Resolution::k12Bit);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config.value(), 0x60);  // R1 = R0 = 1, continuous, comparator mode
  EXPECT_EQ(chip_.config(), 0x60);
  ASSERT_TRUE(driver_.init(Tmp105::Resolution::k9Bit).ok());
  EXPECT_EQ(chip_.config(), 0x00);
}

TEST_F(Tmp105Test, LowerResolutionsReadWithUnusedBitsZero) {
  // Table 8: 9 bits = 0.5 °C, 10 bits = 0.25 °C, 11 bits = 0.125 °C, 12 bits = 0.0625 °C.
  chip_.set_temperature_milli_c(25937);  // 25.9375 °C
  const std::array<std::int32_t, 4> expected{25500, 25750, 25875, 25938};
  for (std::uint8_t r = 0; r < 4; ++r) {
    ASSERT_TRUE(driver_.init(static_cast<Tmp105::Resolution>(r)).ok());
    EXPECT_EQ(driver_.read_temperature_milli_c().value(), expected[r]) << int{r};
  }
}

TEST_F(Tmp105Test, OneShotConvertsOnceWhileShutDown) {
  ASSERT_TRUE(driver_.init(Tmp105::Resolution::k10Bit).ok());
  chip_.set_temperature_milli_c(20000);
  ASSERT_TRUE(driver_.set_shutdown(true).ok());
  EXPECT_EQ(chip_.config() & Tmp105::kConfigShutdown, Tmp105::kConfigShutdown);

  chip_.set_temperature_milli_c(30000);  // shut down: the register keeps the last conversion
  EXPECT_EQ(driver_.read_temperature_milli_c().value(), 20000);

  const auto wait = driver_.start_one_shot();
  ASSERT_TRUE(wait.ok());
  EXPECT_EQ(wait.value(), 55000U);  // 10 bits: 55 ms typical (Table 8)
  EXPECT_EQ(driver_.read_temperature_milli_c().value(), 30000);
  EXPECT_EQ(driver_.read_config().value() & Tmp105::kConfigOneShot, 0);  // OS reads 0

  ASSERT_TRUE(driver_.set_shutdown(false).ok());
  chip_.set_temperature_milli_c(31000);
  EXPECT_EQ(driver_.read_temperature_milli_c().value(), 31000);
}

TEST_F(Tmp105Test, OneShotFromContinuousShutsDownFirst) {
  ASSERT_TRUE(driver_.init().ok());
  const int before = chip_.conversions();
  ASSERT_TRUE(driver_.start_one_shot().ok());
  EXPECT_EQ(chip_.config() & Tmp105::kConfigShutdown, Tmp105::kConfigShutdown);
  EXPECT_EQ(chip_.conversions(), before + 1);
}

TEST_F(Tmp105Test, LimitsResetTo75And80AndRoundTrip) {
  const auto reset = driver_.read_limits();
  ASSERT_TRUE(reset.ok());
  EXPECT_EQ(reset.value().low_milli_c, 75000);
  EXPECT_EQ(reset.value().high_milli_c, 80000);

  const auto written = driver_.set_limits(-10030, 50000);  // -10.03 °C -> nearest 1/16: -10.0
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written.value().low_milli_c, -10000);
  EXPECT_EQ(chip_.t_low(), 0xF600);
  EXPECT_EQ(chip_.t_high(), 0x3200);
  const auto read = driver_.read_limits();
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read.value().low_milli_c, -10000);
  EXPECT_EQ(read.value().high_milli_c, 50000);
}

TEST_F(Tmp105Test, LimitsOutsideTheRangeOrCrossedAreRejectedUnwritten) {
  const std::size_t transfers = bus_.transfers();
  EXPECT_EQ(driver_.set_limits(60000, 50000).error(), SensorError::kBadArgument);
  EXPECT_EQ(driver_.set_limits(0, 128000).error(), SensorError::kBadArgument);
  EXPECT_EQ(driver_.set_limits(-128001, 0).error(), SensorError::kBadArgument);
  EXPECT_EQ(bus_.transfers(), transfers);
  EXPECT_EQ(chip_.t_low(), Tmp105::kResetTLow);
}

TEST_F(Tmp105Test, AlternateAddress) {
  Tmp105Emulator second;
  bus_.attach(Tmp105::kAlternateAddress, second);
  Tmp105 other{bus_, Tmp105::kAlternateAddress};
  second.set_temperature_milli_c(-40000);
  EXPECT_EQ(other.read_temperature_milli_c().value(), -40000);
}

// Bus faults. The TMP105 has no CRC and no ID register: a corrupted bit among T11..T0 is
// indistinguishable from a real temperature. What the chip does give is bits that always read 0
// (the low four of every 16-bit word, Tables 4, 10 and 11) and a configuration that echoes.

TEST_F(Tmp105Test, NackBecomesBusNack) {
  bus_.nack_next(Tmp105::kDefaultAddress);
  EXPECT_EQ(driver_.read_temperature_milli_c().error(), SensorError::kBusNack);
  bus_.nack_next(Tmp105::kDefaultAddress);
  EXPECT_EQ(driver_.init().error(), SensorError::kBusNack);
  bus_.nack_next(Tmp105::kDefaultAddress);
  EXPECT_EQ(driver_.read_limits().error(), SensorError::kBusNack);
  bus_.nack_next(Tmp105::kDefaultAddress);
  EXPECT_EQ(driver_.set_limits(0, 1000).error(), SensorError::kBusNack);
  bus_.nack_next(Tmp105::kDefaultAddress);
  EXPECT_EQ(driver_.start_one_shot().error(), SensorError::kBusNack);
}

TEST_F(Tmp105Test, AbsentChipIsBusNack) {
  Tmp105 nobody{bus_, Tmp105::kAlternateAddress};
  EXPECT_EQ(nobody.init().error(), SensorError::kBusNack);
  EXPECT_EQ(nobody.read_temperature_milli_c().error(), SensorError::kBusNack);
}

TEST_F(Tmp105Test, TimeoutBecomesBusTimeout) {
  bus_.timeout_next();
  EXPECT_EQ(driver_.read_temperature_milli_c().error(), SensorError::kBusTimeout);
  bus_.timeout_next();
  EXPECT_EQ(driver_.read_config().error(), SensorError::kBusTimeout);
  bus_.timeout_next();
  EXPECT_EQ(driver_.set_shutdown(true).error(), SensorError::kBusTimeout);
  bus_.timeout_next();
  EXPECT_EQ(driver_.init().error(), SensorError::kBusTimeout);
  bus_.timeout_next();
  EXPECT_EQ(driver_.read_limits().error(), SensorError::kBusTimeout);
}

TEST_F(Tmp105Test, CorruptedAlwaysZeroBitsAreOutOfRange) {
  chip_.set_temperature_milli_c(25000);
  for (std::uint8_t bit = 0; bit < 4; ++bit) {
    bus_.corrupt_next_read(1, static_cast<std::uint8_t>(1U << bit));
    EXPECT_EQ(driver_.read_temperature_milli_c().error(), SensorError::kOutOfRange) << int{bit};
  }
  bus_.corrupt_next_read(1, 0x01);
  EXPECT_EQ(driver_.read_limits().error(), SensorError::kOutOfRange);
  EXPECT_EQ(driver_.read_temperature_milli_c().value(), 25000);  // the next read is clean
}

TEST_F(Tmp105Test, CorruptedConfigEchoIsWrongChip) {
  bus_.corrupt_next_read(0, 0x20);  // R0 flips on the way back
  EXPECT_EQ(driver_.init().error(), SensorError::kWrongChip);
}

// A device at 0x48 that is not a TMP105: every register reads 0xFF.
class StuckHighChip final : public emulator::ChipEmulator {
 public:
  bool write(std::span<const std::uint8_t>) override { return true; }
  bool read(std::span<std::uint8_t> out) override {
    for (auto& byte : out) {
      byte = 0xFF;
    }
    return true;
  }
};

TEST(Tmp105Identity, AChipThatDoesNotEchoTheConfigurationIsWrongChip) {
  EmulatedI2cBus bus;
  StuckHighChip chip;
  bus.attach(Tmp105::kDefaultAddress, chip);
  Tmp105 driver{bus};
  EXPECT_EQ(driver.init().error(), SensorError::kWrongChip);
  EXPECT_EQ(driver.read_temperature_milli_c().error(), SensorError::kOutOfRange);
}

// A device that echoes the configuration but whose temperature word has low bits set.
class EchoingChip final : public emulator::ChipEmulator {
 public:
  bool write(std::span<const std::uint8_t> bytes) override {
    if (!bytes.empty()) {
      pointer_ = bytes[0];
    }
    if (bytes.size() == 2 && pointer_ == 0x01) {
      config_ = bytes[1];
    }
    return true;
  }
  bool read(std::span<std::uint8_t> out) override {
    const std::array<std::uint8_t, 2> reg =
        pointer_ == 0x01 ? std::array<std::uint8_t, 2>{config_, config_}
                         : std::array<std::uint8_t, 2>{0x19, 0x0F};  // low nibble set
    for (std::size_t i = 0; i < out.size() && i < reg.size(); ++i) {
      out[i] = reg[i];
    }
    return true;
  }

 private:
  std::uint8_t pointer_ = 0;
  std::uint8_t config_ = 0;
};

TEST(Tmp105Identity, NonZeroLowTemperatureBitsAreWrongChipAtInit) {
  EmulatedI2cBus bus;
  EchoingChip chip;
  bus.attach(Tmp105::kDefaultAddress, chip);
  Tmp105 driver{bus};
  EXPECT_EQ(driver.init().error(), SensorError::kWrongChip);
}

TEST(Tmp105Emulator, PointerHighBitsAndTemperatureWritesAreNacked) {
  Tmp105Emulator chip;
  const std::array<std::uint8_t, 1> bad_pointer{0x04};
  EXPECT_FALSE(chip.write(bad_pointer));
  const std::array<std::uint8_t, 3> write_temperature{0x00, 0x12, 0x30};
  EXPECT_FALSE(chip.write(write_temperature));
}

}  // namespace
}  // namespace edge::drivers
