#include "edge/drivers/lsm303dlhc.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "lsm303dlhc_emulator.h"

namespace edge::drivers {
namespace {

using Mag = Lsm303dlhcMag;

class Lsm303dlhcTest : public ::testing::Test {
 protected:
  Lsm303dlhcTest() { bus.attach(Mag::kDefaultAddress, chip); }

  void init(Mag::Gain gain = Mag::Gain::k1_3Gauss) {
    Mag::Config config;
    config.gain = gain;
    const auto applied = mag.init(config);
    ASSERT_TRUE(applied.ok());
  }

  emulator::EmulatedI2cBus bus;
  emulator::Lsm303dlhcMagEmulator chip;
  Mag mag{bus};
};

TEST_F(Lsm303dlhcTest, InitChecksIdentityThenWritesOneRegisterPerTransfer) {
  Mag::Config config;
  config.rate = Mag::DataRate::k75Hz;
  config.gain = Mag::Gain::k4_0Gauss;
  const auto applied = mag.init(config);
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(applied.value().gain, Mag::Gain::k4_0Gauss);
  // Section 7.2 (CRA_REG_M, CRB_REG_M, MR_REG_M): CRA = TEMP_EN | DO=110 << 2; CRB = GN=100 << 5;
  // MR = 00 continuous.
  EXPECT_EQ(chip.regs[Mag::kRegCra], 0x98);
  EXPECT_EQ(chip.regs[Mag::kRegCrb], 0x80);
  EXPECT_EQ(chip.regs[Mag::kRegMr], 0x00);
  EXPECT_EQ(chip.multi_register_writes(), 0);  // QEMU's model needs single-register writes
  EXPECT_EQ(chip.read_only_writes(), 0);
}

TEST_F(Lsm303dlhcTest, AnotherChipIsRefusedBeforeAnyWrite) {
  chip.regs[Mag::kRegIra + 2] = 0x32;  // 'H','4','2' is not this chip
  const auto applied = mag.init();
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.error(), SensorError::kWrongChip);
  EXPECT_EQ(chip.regs[Mag::kRegMr], 0x03);  // still the reset value (sleep)
}

TEST_F(Lsm303dlhcTest, SettingsOutsideTheDatasheetAreBadArguments) {
  Mag::Config config;
  config.gain = static_cast<Mag::Gain>(0);  // GN=000 is not a setting
  EXPECT_EQ(mag.init(config).error(), SensorError::kBadArgument);
  config = {};
  config.rate = static_cast<Mag::DataRate>(8);
  EXPECT_EQ(mag.init(config).error(), SensorError::kBadArgument);
  config = {};
  config.mode = static_cast<Mag::Mode>(2);
  EXPECT_EQ(mag.init(config).error(), SensorError::kBadArgument);
  EXPECT_EQ(mag.set_mode(static_cast<Mag::Mode>(4)).error(), SensorError::kBadArgument);
  EXPECT_EQ(bus.transfers(), 0U);
}

// Datasheet Table 3 (M_GN): at GN=001 (±1.3 gauss) 1100 LSB/gauss on X/Y and 980 on Z, down to
// 230 and 205 LSB/gauss at GN=111 (±8.1 gauss): one gain's worth of counts is 1 gauss = 100 000 nT.
TEST(Lsm303dlhcConversion, OneGaussAtEveryGainOfTable3) {
  for (int gn = 1; gn <= 7; ++gn) {
    const auto xy = static_cast<std::int16_t>(Mag::kXyLsbPerGauss[gn]);
    const auto z = static_cast<std::int16_t>(Mag::kZLsbPerGauss[gn]);
    EXPECT_EQ(Mag::to_nanotesla(xy, Mag::kXyLsbPerGauss[gn]), 100000) << gn;
    EXPECT_EQ(Mag::to_nanotesla(z, Mag::kZLsbPerGauss[gn]), 100000) << gn;
    EXPECT_EQ(Mag::to_nanotesla(static_cast<std::int16_t>(-xy), Mag::kXyLsbPerGauss[gn]), -100000);
  }
  EXPECT_EQ(Mag::kXyLsbPerGauss[1], 1100);
  EXPECT_EQ(Mag::kZLsbPerGauss[1], 980);
}

TEST(Lsm303dlhcConversion, RangeEndsRoundToTheNearestNanotesla) {
  // 2047 / 1100 G = 1.86090909 G; -2048 / 1100 G = -1.86181818 G.
  EXPECT_EQ(Mag::to_nanotesla(Mag::kRawMax, 1100), 186091);
  EXPECT_EQ(Mag::to_nanotesla(Mag::kRawMin, 1100), -186182);
  // ±8.1 gauss: 2047 / 230 G = 8.9 G exactly; Z -2048 / 205 G = -9.99024 G.
  EXPECT_EQ(Mag::to_nanotesla(Mag::kRawMax, 230), 890000);
  EXPECT_EQ(Mag::to_nanotesla(Mag::kRawMin, 205), -999024);
  EXPECT_EQ(Mag::to_nanotesla(0, 1100), 0);
  EXPECT_EQ(Mag::to_nanotesla(1, 1100), 91);  // one LSB is 90.9 nT
}

TEST_F(Lsm303dlhcTest, OutputsComeInTheDatasheetsXZYOrder) {
  init();
  chip.set_raw(1, 2, 3);
  // 0x03..0x08: X_H X_L Z_H Z_L Y_H Y_L.
  EXPECT_EQ(chip.regs[0x04], 1);
  EXPECT_EQ(chip.regs[0x06], 3);
  EXPECT_EQ(chip.regs[0x08], 2);
  const auto raw = mag.read_raw();
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw.value().x, 1);
  EXPECT_EQ(raw.value().y, 2);
  EXPECT_EQ(raw.value().z, 3);
}

TEST_F(Lsm303dlhcTest, FieldUsesTheGainInitSet) {
  init(Mag::Gain::k4_0Gauss);  // 450 LSB/gauss X/Y, 400 Z
  chip.set_field_nt(20000, -50000, 400000);
  EXPECT_EQ(chip.regs[0x04], 90);  // 0.2 G * 450
  const auto field = mag.read_field();
  ASSERT_TRUE(field.ok());
  EXPECT_EQ(field.value().x_nt, 20000);
  EXPECT_EQ(field.value().y_nt, -50000);
  EXPECT_EQ(field.value().z_nt, 400000);
}

TEST_F(Lsm303dlhcTest, FullScaleAtBothEnds) {
  init();
  chip.set_raw(Mag::kRawMax, Mag::kRawMin, Mag::kRawMax);
  const auto field = mag.read_field();
  ASSERT_TRUE(field.ok());
  EXPECT_EQ(field.value().x_nt, 186091);
  EXPECT_EQ(field.value().y_nt, -186182);
  EXPECT_EQ(field.value().z_nt, 208878);  // 2047 / 980 G
}

TEST_F(Lsm303dlhcTest, AnOverflowedAxisIsNoReading) {
  init();
  chip.set_field_nt(0, 0, 300000);   // 3 gauss on a ±1.3 gauss range
  EXPECT_EQ(chip.regs[0x05], 0xF0);  // the datasheet's overflow value 0xF000
  EXPECT_EQ(chip.regs[0x06], 0x00);
  EXPECT_EQ(mag.read_field().error(), SensorError::kOutOfRange);
}

// QEMU 7.2 (hw/sensor/lsm303dlhc_mag.c) turns the mag-x property (nT) into counts with
// nT * gain / 100000, truncated; the driver must give back the set value within one LSB.
TEST_F(Lsm303dlhcTest, ReadsBackWhatQemusPropertyEncodes) {
  init();
  for (const std::int32_t nt : {0, 1000, 45000, 100000, 186000}) {
    const auto counts = static_cast<std::int16_t>(static_cast<std::int64_t>(nt) * 1100 / 100000);
    chip.set_raw(counts, counts, static_cast<std::int16_t>(nt * 980LL / 100000));
    const auto field = mag.read_field();
    ASSERT_TRUE(field.ok());
    EXPECT_NEAR(field.value().x_nt, nt, 91) << nt;
    EXPECT_NEAR(field.value().z_nt, nt, 103) << nt;
  }
}

TEST_F(Lsm303dlhcTest, SingleConversionAndDataReady) {
  init();
  const auto mode = mag.set_mode(Mag::Mode::kSingle);
  ASSERT_TRUE(mode.ok());
  EXPECT_EQ(chip.regs[Mag::kRegMr], 0x01);
  auto ready = mag.data_ready();
  ASSERT_TRUE(ready.ok());
  EXPECT_TRUE(ready.value());
  ASSERT_TRUE(mag.read_raw().ok());
  ready = mag.data_ready();
  ASSERT_TRUE(ready.ok());
  EXPECT_FALSE(ready.value());
  chip.regs[Mag::kRegSr] = Mag::kSrLock | Mag::kSrDrdy;  // QEMU reads SR as 0x03
  EXPECT_TRUE(mag.data_ready().value());
}

// TSDr = 8 LSB/°C (Table 3); TEMP11..TEMP4 in TEMP_OUT_H_M, TEMP3..TEMP0 in TEMP_OUT_L_M[7:4]
// (section 7.2, TEMP_OUT_H_M/TEMP_OUT_L_M).
TEST_F(Lsm303dlhcTest, TemperatureInTheDatasheetLayout) {
  init();
  chip.set_temperature_milli_c(25000);  // 200 counts = 0x0C8, left-aligned 0x0C80
  EXPECT_EQ(chip.temp_word(), 0x0C80);
  auto temp = mag.read_temperature_milli_c();
  ASSERT_TRUE(temp.ok());
  EXPECT_EQ(temp.value(), 25000);
  chip.set_temperature_milli_c(-40000);
  EXPECT_EQ(mag.read_temperature_milli_c().value(), -40000);
  chip.set_temperature_milli_c(255875);  // the 12-bit ends: 2047 and -2048 counts
  EXPECT_EQ(mag.read_temperature_milli_c().value(), 255875);
  chip.set_temperature_milli_c(-256000);
  EXPECT_EQ(mag.read_temperature_milli_c().value(), -256000);
  chip.set_temperature_milli_c(125);
  EXPECT_EQ(mag.read_temperature_milli_c().value(), 125);
}

TEST_F(Lsm303dlhcTest, TemperatureInQemusRightAlignedLayout) {
  Mag qemu_mag{bus, Mag::kDefaultAddress, Mag::TempLayout::kRightAligned};
  ASSERT_TRUE(qemu_mag.init().ok());
  chip.set_temperature_milli_c(23500, Mag::TempLayout::kRightAligned);  // 188 = 0x00BC
  EXPECT_EQ(qemu_mag.read_temperature_milli_c().value(), 23500);
  chip.set_temperature_milli_c(-256000, Mag::TempLayout::kRightAligned);
  EXPECT_EQ(qemu_mag.read_temperature_milli_c().value(), -256000);
  bus.corrupt_next_read(0, 0x40);  // 0x40BC: not a sign-extended 12-bit value
  chip.set_temperature_milli_c(23500, Mag::TempLayout::kRightAligned);
  EXPECT_EQ(qemu_mag.read_temperature_milli_c().error(), SensorError::kOutOfRange);
}

// The LSM303DLHC has no CRC: a corrupted byte is caught only where it leaves the 12-bit output
// range or sets the temperature bits that are always zero. A flip in the low bits of an output
// is a plausible value no driver can tell from a real one.
TEST_F(Lsm303dlhcTest, CorruptedBytesThatLeaveTheRangeAreNoReading) {
  init();
  chip.set_raw(100, -100, 5);
  bus.corrupt_next_read(0, 0x40);  // X_H 0x00 -> 0x40
  EXPECT_EQ(mag.read_field().error(), SensorError::kOutOfRange);
  bus.corrupt_next_read(4, 0x10);  // Y_H 0xFF -> 0xEF
  EXPECT_EQ(mag.read_raw().error(), SensorError::kOutOfRange);
  chip.set_temperature_milli_c(25000);
  bus.corrupt_next_read(1, 0x01);  // a bit of TEMP_OUT_L_M[3:0], always zero
  EXPECT_EQ(mag.read_temperature_milli_c().error(), SensorError::kOutOfRange);
  bus.corrupt_next_read(0, 0x01);  // IRA 'H' -> 'I'
  EXPECT_EQ(mag.init().error(), SensorError::kWrongChip);
}

TEST_F(Lsm303dlhcTest, NackAndTimeoutAreStatusesNeverReadings) {
  bus.nack_next(Mag::kDefaultAddress);
  EXPECT_EQ(mag.init().error(), SensorError::kBusNack);
  init();
  chip.set_raw(1, 2, 3);
  bus.nack_next(Mag::kDefaultAddress);
  EXPECT_EQ(mag.read_field().error(), SensorError::kBusNack);
  bus.timeout_next();
  EXPECT_EQ(mag.read_raw().error(), SensorError::kBusTimeout);
  bus.timeout_next();
  EXPECT_EQ(mag.read_temperature_milli_c().error(), SensorError::kBusTimeout);
  bus.nack_next(Mag::kDefaultAddress);
  EXPECT_EQ(mag.data_ready().error(), SensorError::kBusNack);
  bus.timeout_next();
  EXPECT_EQ(mag.set_mode(Mag::Mode::kSleep).error(), SensorError::kBusTimeout);
  Mag absent{bus, 0x1F};
  EXPECT_EQ(absent.init().error(), SensorError::kBusNack);  // nobody at 0x1F
  EXPECT_TRUE(mag.read_raw().ok());
}

// Fails one chosen transfer, passing the others to the emulated bus.
class FailOneTransfer final : public bus::I2cBus {
 public:
  FailOneTransfer(bus::I2cBus& inner, std::size_t fail_at) : inner_(inner), fail_at_(fail_at) {}
  bus::BusStatus write_read(std::uint8_t address, std::span<const std::uint8_t> tx,
                            std::span<std::uint8_t> rx) override {
    return ++count_ == fail_at_ ? bus::BusStatus::kBusError : inner_.write_read(address, tx, rx);
  }

 private:
  bus::I2cBus& inner_;
  std::size_t fail_at_;
  std::size_t count_ = 0;
};

TEST_F(Lsm303dlhcTest, AFailedWriteInsideInitKeepsTheOldGain) {
  init();                         // ±1.3 gauss
  FailOneTransfer flaky{bus, 3};  // ID read, CRA, then CRB fails
  Mag other{flaky};
  Mag::Config config;
  config.gain = Mag::Gain::k8_1Gauss;
  EXPECT_EQ(other.init(config).error(), SensorError::kBusError);
  EXPECT_EQ(chip.regs[Mag::kRegCrb], 0x20);
  chip.set_raw(1100, 0, 0);
  EXPECT_EQ(other.read_field().value().x_nt, 100000);  // still converted at 1100 LSB/gauss
}

}  // namespace
}  // namespace edge::drivers
