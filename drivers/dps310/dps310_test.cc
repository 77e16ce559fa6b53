#include "edge/drivers/dps310.h"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <utility>

#include "dps310_emulator.h"

namespace edge::drivers {
namespace {

using emulator::FaultAt;

using emulator::Dps310Emulator;

// The coefficients QEMU 7.2 ships (bytes 0x10..0x21 of its reset image), decoded by hand with the
// section 8.11 packing: c0 = 0x0E1, c1 = 0xEDD, c00 = 0x13CA5, c10 = 0xF2152, then 16-bit words.
constexpr Dps310::Coefficients kQemuCoefficients{225,  -291,  81061, -57006, -1594,
                                                 1233, -9401, 91,    -1222};

// Section 4.9 in double precision: the datasheet's own formulas, as the reference.
struct Compensated {
  double celsius;
  double pascal;
};
Compensated reference(const Dps310::Coefficients& c, std::int32_t raw_p, double kp,
                      std::int32_t raw_t, double kt) {
  const double t = raw_t / kt;
  const double p = raw_p / kp;
  return {c.c0 * 0.5 + c.c1 * t,
          c.c00 + p * (c.c10 + p * (c.c20 + p * c.c30)) + t * c.c01 + t * p * (c.c11 + p * c.c21)};
}

class Dps310Test : public ::testing::Test {
 protected:
  explicit Dps310Test(Dps310Emulator::Model model = Dps310Emulator::Model::kDatasheet)
      : chip(model) {
    bus.attach(Dps310::kDefaultAddress, chip);
  }

  emulator::EmulatedI2cBus bus;
  Dps310Emulator chip;
  FaultAt faulty{bus};
  Dps310 dps{faulty};
};

class Dps310QemuTest : public Dps310Test {
 protected:
  Dps310QemuTest() : Dps310Test(Dps310Emulator::Model::kQemu72) {}
};

TEST(Dps310Conversion, CoefficientPackingOfQemusImage) {
  const auto image = std::span(Dps310Emulator::kQemuResetImage).subspan<0x10, 18>();
  const auto c = Dps310::parse_coefficients(image);
  EXPECT_EQ(c.c0, 225);
  EXPECT_EQ(c.c1, -291);
  EXPECT_EQ(c.c00, 81061);
  EXPECT_EQ(c.c10, -57006);
  EXPECT_EQ(c.c01, -1594);
  EXPECT_EQ(c.c11, 1233);
  EXPECT_EQ(c.c20, -9401);
  EXPECT_EQ(c.c21, 91);
  EXPECT_EQ(c.c30, -1222);
  const auto packed = Dps310Emulator::pack_coefficients(c);
  EXPECT_TRUE(std::equal(packed.begin(), packed.end(), image.begin()));
}

TEST(Dps310Conversion, CoefficientPackingAtTheFieldEnds) {
  // 12-bit c0/c1, 20-bit c00/c10, 16-bit others: both ends of each two's complement range.
  for (const Dps310::Coefficients c :
       {Dps310::Coefficients{-2048, 2047, -524288, 524287, -32768, 32767, -32768, 32767, -1},
        Dps310::Coefficients{2047, -2048, 524287, -524288, 32767, -32768, 32767, -32768, 0}}) {
    const auto back = Dps310::parse_coefficients(Dps310Emulator::pack_coefficients(c));
    EXPECT_EQ(back.c0, c.c0);
    EXPECT_EQ(back.c1, c.c1);
    EXPECT_EQ(back.c00, c.c00);
    EXPECT_EQ(back.c10, c.c10);
    EXPECT_EQ(back.c01, c.c01);
    EXPECT_EQ(back.c30, c.c30);
  }
  EXPECT_EQ(Dps310::sign_extend(0x800000, 24), -8388608);
  EXPECT_EQ(Dps310::sign_extend(0x7FFFFF, 24), 8388607);
  EXPECT_EQ(Dps310::sign_extend(0xFFF, 12), -1);
}

TEST(Dps310Conversion, ScaleFactorsOfTable9) {
  using O = Dps310::Oversampling;
  EXPECT_EQ(Dps310::scale_factor(O::kX1), 524288);
  EXPECT_EQ(Dps310::scale_factor(O::kX2), 1572864);
  EXPECT_EQ(Dps310::scale_factor(O::kX4), 3670016);
  EXPECT_EQ(Dps310::scale_factor(O::kX8), 7864320);
  EXPECT_EQ(Dps310::scale_factor(O::kX16), 253952);  // results shifted from here on (P_SHIFT)
  EXPECT_EQ(Dps310::scale_factor(O::kX32), 516096);
  EXPECT_EQ(Dps310::scale_factor(O::kX64), 1040384);
  EXPECT_EQ(Dps310::scale_factor(O::kX128), 2088960);
}

TEST(Dps310Conversion, FixedPointMatchesTheSection49FormulasInDouble) {
  // The DPS310 datasheet gives no numeric worked example; its formulas in double precision are
  // the reference. Sweep raw values across the operating range at both kinds of scale factor.
  int compared = 0;
  for (const std::int32_t k : {524288, 1572864, 253952, 2088960}) {
    // Traw_sc from 0.05 to 0.6 and Praw_sc from -1.2 to 1.2, in steps of about 0.0137 / 0.0123.
    for (int ti = 0; ti <= 40; ++ti) {
      for (int pi = 0; pi <= 195; ++pi) {
        const double t_sc = 0.05 + ti * 0.0137;
        const double p_sc = -1.2 + pi * 0.0123;
        const Dps310::Raw raw{static_cast<std::int32_t>(p_sc * k),
                              static_cast<std::int32_t>(t_sc * k)};
        const auto want = reference(kQemuCoefficients, raw.pressure, k, raw.temperature, k);
        const auto got = Dps310::compensate(kQemuCoefficients, raw, k, k);
        const bool in_range = want.celsius > -39.99 && want.celsius < 84.99 &&
                              want.pascal > 30000.01 && want.pascal < 119999.99;
        if (!in_range) {
          continue;
        }
        ASSERT_TRUE(got.ok()) << want.celsius << " " << want.pascal;
        EXPECT_NEAR(got.value().temperature_milli_c, want.celsius * 1000.0, 1.0);
        EXPECT_NEAR(got.value().pressure_milli_pa, want.pascal * 1000.0, 5.0);
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 3000);
}

TEST(Dps310Conversion, ExtremeRawValuesAreOutOfRangeNeverOverflow) {
  // The most extreme 24-bit values at the smallest scale factor (|x_sc| up to 33) are refused
  // before the fixed point could overflow (UBSan in the host-asan build would catch one).
  for (const std::int32_t p : {-(1 << 23), (1 << 23) - 1, 0}) {
    for (const std::int32_t t : {-(1 << 23), (1 << 23) - 1}) {
      EXPECT_EQ(Dps310::compensate(kQemuCoefficients, {p, t}, 253952, 253952).error(),
                SensorError::kOutOfRange);
    }
  }
  // Just inside the |x_sc| <= 4 bound: computed, then refused by the operating range.
  EXPECT_EQ(Dps310::compensate(kQemuCoefficients, {4 * 253952, 0}, 253952, 253952).error(),
            SensorError::kOutOfRange);
  EXPECT_EQ(Dps310::compensate(kQemuCoefficients, {0, 0}, 0, 524288).error(),
            SensorError::kBadArgument);
}

TEST_F(Dps310QemuTest, ReadsSensibleValuesFromQemus72RegisterImage) {
  const auto coefficients = dps.init();
  ASSERT_TRUE(coefficients.ok()) << to_string(coefficients.error());
  EXPECT_EQ(coefficients.value().c00, kQemuCoefficients.c00);
  // Read-modify-write kept QEMU's (stored) ready bits; TMP_EXT follows COEF_SRCE (0x90).
  EXPECT_EQ(chip.regs[Dps310::kRegMeasCfg], 0xF7);
  EXPECT_EQ(chip.regs[Dps310::kRegPrsCfg], 0x00);
  EXPECT_EQ(chip.regs[Dps310::kRegTmpCfg], 0x80);
  EXPECT_EQ(chip.regs[Dps310::kRegCfg], 0x00);

  const auto reading = dps.read();
  ASSERT_TRUE(reading.ok()) << to_string(reading.error());
  // Raw results 0xFE2FEE (-118802) and 0x0269A6 (158118), single oversampling.
  const auto want = reference(kQemuCoefficients, -118802, 524288, 158118, 524288);
  EXPECT_NEAR(reading.value().temperature_milli_c, want.celsius * 1000.0, 1.0);
  EXPECT_NEAR(reading.value().pressure_milli_pa, want.pascal * 1000.0, 20.0);
  EXPECT_NEAR(want.celsius, 24.74, 0.01);  // a room
  EXPECT_NEAR(want.pascal, 92946.0, 1.0);  // about 690 m above sea level
  // QEMU never clears its ready bits: every later read is a reading too.
  EXPECT_TRUE(dps.read().ok());
}

TEST_F(Dps310QemuTest, QemusModelReadsFFForTheProductIdAndUnimplementedRegisters) {
  std::array<std::uint8_t, 1> id{};
  const std::array<std::uint8_t, 1> reg{Dps310::kRegProductId};
  ASSERT_EQ(bus.write_read(Dps310::kDefaultAddress, reg, id), bus::BusStatus::kOk);
  EXPECT_EQ(id[0], 0xFF);
  std::array<std::uint8_t, 0x29> image{};
  const std::array<std::uint8_t, 1> zero{0};
  ASSERT_EQ(bus.write_read(Dps310::kDefaultAddress, zero, image), bus::BusStatus::kOk);
  EXPECT_EQ(image[0x08], 0xF0);
  EXPECT_EQ(image[0x0A], 0xFF);
  EXPECT_EQ(image[0x22], 0xFF);
  EXPECT_EQ(image[0x28], 0x90);
}

TEST_F(Dps310Test, BackgroundModeNotReadyUntilTheFirstResultsThenFollowsTheChip) {
  ASSERT_TRUE(dps.init().ok());
  EXPECT_EQ(faulty.count(), 12);  // NackOrTimeoutOnAnyTransferIsAStatus relies on this count
  EXPECT_EQ(chip.regs[Dps310::kRegMeasCfg] & Dps310::kMeasCtrlMask, 0x07);
  EXPECT_EQ(chip.read_only_writes(), 0);
  EXPECT_EQ(dps.read().error(), SensorError::kNotReady);

  chip.set_temperature_milli_c(21500);
  chip.set_pressure_milli_pa(101325000);
  chip.tick();
  auto reading = dps.read();
  ASSERT_TRUE(reading.ok()) << to_string(reading.error());
  EXPECT_NEAR(reading.value().temperature_milli_c, 21500, 2);
  EXPECT_NEAR(reading.value().pressure_milli_pa, 101325000, 150);  // ~0.1 Pa per raw LSB

  // The ready bits cleared on reading; background mode keeps the latest results readable.
  EXPECT_EQ(chip.regs[Dps310::kRegMeasCfg] & 0x30, 0);
  EXPECT_TRUE(dps.read().ok());
}

TEST_F(Dps310Test, HighOversamplingSetsTheShiftBitsAndUsesItsScaleFactor) {
  Dps310::Config config;
  config.pressure_oversampling = Dps310::Oversampling::kX64;
  config.temperature_oversampling = Dps310::Oversampling::kX16;
  config.pressure_rate = Dps310::Rate::k4Hz;
  ASSERT_TRUE(dps.init(config).ok());
  EXPECT_EQ(chip.regs[Dps310::kRegPrsCfg], 0x26);
  EXPECT_EQ(chip.regs[Dps310::kRegTmpCfg], 0x84);  // TMP_EXT from COEF_SRCE
  EXPECT_EQ(chip.regs[Dps310::kRegCfg], Dps310::kCfgPShift | Dps310::kCfgTShift);
  chip.set_temperature_milli_c(-5000);
  chip.set_pressure_milli_pa(95000000);
  chip.tick();
  const auto reading = dps.read();
  ASSERT_TRUE(reading.ok());
  EXPECT_NEAR(reading.value().temperature_milli_c, -5000, 2);
  EXPECT_NEAR(reading.value().pressure_milli_pa, 95000000, 300);
}

TEST_F(Dps310Test, OperatingRangeEndsReadAndBeyondIsOutOfRange) {
  ASSERT_TRUE(dps.init().ok());
  // Encoding quantises (about 0.5 m°C and 0.1 Pa per raw LSB), so ask for just inside the ends.
  for (const auto& [milli_c, milli_pa] :
       {std::pair{-39990, 30001000}, std::pair{84990, 119999000}, std::pair{-39990, 119999000},
        std::pair{84990, 30001000}}) {
    chip.set_temperature_milli_c(milli_c);
    chip.set_pressure_milli_pa(milli_pa);
    chip.tick();
    const auto reading = dps.read();
    ASSERT_TRUE(reading.ok()) << milli_c << " " << milli_pa;
    EXPECT_NEAR(reading.value().temperature_milli_c, milli_c, 2);
    EXPECT_NEAR(reading.value().pressure_milli_pa, milli_pa, 300);
  }
  chip.set_temperature_milli_c(86000);
  chip.tick();
  EXPECT_EQ(dps.read().error(), SensorError::kOutOfRange);
  chip.set_temperature_milli_c(25000);
  chip.set_pressure_milli_pa(29000000);
  chip.tick();
  EXPECT_EQ(dps.read().error(), SensorError::kOutOfRange);
}

TEST_F(Dps310Test, AnotherChipOrOneStillBootingIsRefused) {
  chip.regs[Dps310::kRegProductId] = 0x60;  // a BME280's ID
  EXPECT_EQ(dps.init().error(), SensorError::kWrongChip);
  chip.regs.fill(0xFF);  // a device answering 0xFF everywhere: MEAS_CFG's reserved bit is set
  EXPECT_EQ(dps.init().error(), SensorError::kWrongChip);
  chip.reset();
  chip.set_booting();
  const int before = faulty.count();
  EXPECT_EQ(dps.init().error(), SensorError::kNotReady);
  EXPECT_EQ(faulty.count() - before, 2);  // only the ID and MEAS_CFG reads: nothing written
  EXPECT_EQ(dps.read().error(), SensorError::kBadArgument);  // not initialised
}

TEST_F(Dps310Test, SettingsOutsideTheDatasheetAreBadArguments) {
  Dps310::Config config;
  config.pressure_oversampling = static_cast<Dps310::Oversampling>(8);
  EXPECT_EQ(dps.init(config).error(), SensorError::kBadArgument);
  config = {};
  config.pressure_oversampling = Dps310::Oversampling::kX128;  // 206.8 ms x 8 Hz > 1 s
  config.pressure_rate = Dps310::Rate::k8Hz;
  EXPECT_EQ(dps.init(config).error(), SensorError::kBadArgument);
  config.pressure_rate = Dps310::Rate::k4Hz;  // 827.2 ms + 3.6 ms fits
  EXPECT_TRUE(dps.init(config).ok());
}

TEST_F(Dps310Test, ResetChipIsNotReadyUntilInitAgain) {
  ASSERT_TRUE(dps.init().ok());
  chip.tick();
  ASSERT_TRUE(dps.read().ok());
  chip.reset();  // a brown-out: idle, results zero
  EXPECT_EQ(dps.read().error(), SensorError::kNotReady);
  ASSERT_TRUE(dps.init().ok());
  chip.tick();
  EXPECT_TRUE(dps.read().ok());
}

TEST_F(Dps310Test, NackOrTimeoutOnAnyTransferIsAStatus) {
  // init() makes 12 transfers (ID, MEAS_CFG, 2 x coefficients, COEF_SRCE, MEAS_CFG read and
  // write, three configuration writes, MEAS_CFG read and write), read() 2.
  for (int at = 0; at < 14; ++at) {
    for (const bool nack : {true, false}) {
      Dps310Emulator fresh;
      emulator::EmulatedI2cBus inner;
      inner.attach(Dps310::kDefaultAddress, fresh);
      FaultAt bus_at(inner);
      Dps310 driver(bus_at);
      if (at >= 12) {
        ASSERT_TRUE(driver.init().ok());
        fresh.tick();
      }
      bus_at.arm(at - (at >= 12 ? 12 : 0),
                 [&] { nack ? inner.nack_next(Dps310::kDefaultAddress) : inner.timeout_next(); });
      const SensorError want = nack ? SensorError::kBusNack : SensorError::kBusTimeout;
      if (at < 12) {
        EXPECT_EQ(driver.init().error(), want) << "init transfer " << at;
      } else {
        EXPECT_EQ(driver.read().error(), want) << "read transfer " << at - 12;
      }
    }
  }
}

TEST_F(Dps310Test, CorruptedBytesThatCanBeCaught) {
  // The DPS310 has no CRC. Coefficients are read twice: one corrupted copy is caught.
  faulty.arm(2, [&] { bus.corrupt_next_read(7, 0x10); });
  EXPECT_EQ(dps.init().error(), SensorError::kOutOfRange);
  ASSERT_TRUE(dps.init().ok());
  chip.tick();
  // MEAS_CFG's reserved bit 3 reads 0 on the chip.
  faulty.arm(0, [&] { bus.corrupt_next_read(0, Dps310::kMeasReserved); });
  EXPECT_EQ(dps.read().error(), SensorError::kOutOfRange);
  // A high bit flipped in a result takes it far out of the operating range.
  faulty.arm(1, [&] { bus.corrupt_next_read(0, 0x40); });
  EXPECT_EQ(dps.read().error(), SensorError::kOutOfRange);
  faulty.arm(1, [&] { bus.corrupt_next_read(3, 0x20); });
  EXPECT_EQ(dps.read().error(), SensorError::kOutOfRange);
  // Not detectable: a low bit flipped in PSR_B0/TMP_B0 is a plausible reading (about 0.1 Pa).
  faulty.arm(1, [&] { bus.corrupt_next_read(2, 0x01); });
  EXPECT_TRUE(dps.read().ok());
}

}  // namespace
}  // namespace edge::drivers
