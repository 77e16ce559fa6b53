#include "edge/drivers/bme280.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <tuple>
#include <utility>

#include "bme280_emulator.h"

namespace edge::drivers {
namespace {

using emulator::FaultAt;

using emulator::Bme280Emulator;
constexpr Bme280::Calibration kCal = Bme280Emulator::kExampleCalibration;

// The datasheet's floating-point formulas (BME280 section 8.1, BMP280 section 8.1) as the
// reference for the integer ones.
struct Double {
  double celsius, pascal, percent;
};
Double reference(const Bme280::Calibration& c, const Bme280::Raw& raw) {
  const double t1 = raw.temperature / 16384.0 - c.t1 / 1024.0;
  const double t2 = raw.temperature / 131072.0 - c.t1 / 8192.0;
  const double fine_d = t1 * c.t2 + t2 * t2 * c.t3;
  const auto t_fine = static_cast<std::int32_t>(fine_d);
  double v1 = t_fine / 2.0 - 64000.0;
  double v2 = v1 * v1 * c.p6 / 32768.0 + v1 * c.p5 * 2.0;
  v2 = v2 / 4.0 + c.p4 * 65536.0;
  v1 = (c.p3 * v1 * v1 / 524288.0 + c.p2 * v1) / 524288.0;
  v1 = (1.0 + v1 / 32768.0) * c.p1;
  double p = 1048576.0 - raw.pressure;
  p = (p - v2 / 4096.0) * 6250.0 / v1;
  p += (c.p9 * p * p / 2147483648.0 + p * c.p8 / 32768.0 + c.p7) / 16.0;
  double h = t_fine - 76800.0;
  h = (raw.humidity - (c.h4 * 64.0 + c.h5 / 16384.0 * h)) *
      (c.h2 / 65536.0 * (1.0 + c.h6 / 67108864.0 * h * (1.0 + c.h3 / 67108864.0 * h)));
  h = std::clamp(h * (1.0 - c.h1 * h / 524288.0), 0.0, 100.0);
  return {fine_d / 5120.0, p, h};
}

class Bme280Test : public ::testing::Test {
 protected:
  Bme280Test() { bus.attach(Bme280::kDefaultAddress, chip); }

  SensorResult<Bme280::Reading> measure() {
    const auto started = bme.start_measurement();
    if (!started.ok()) {
      return started.error();
    }
    return bme.read();
  }

  emulator::EmulatedI2cBus bus;
  Bme280Emulator chip;
  FaultAt faulty{bus};
  Bme280 bme{faulty};
};

TEST(Bme280Compensation, DatasheetWorkedExampleTemperature) {
  // BMP280 datasheet section 3.12 (same T formula as BME280 section 4.2.3): dig_T1 = 27504,
  // dig_T2 = 26435, dig_T3 = -1000, adc_T = 519888 gives t_fine = 128422, T = 25.08 °C.
  const auto t = Bme280::compensate_temperature(kCal, 519888);
  EXPECT_EQ(t.t_fine, 128422);
  EXPECT_EQ(t.centi_c, 2508);
}

TEST(Bme280Compensation, DatasheetWorkedExamplePressure) {
  // Same example, dig_P1..P9 = 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000 and
  // adc_P = 415148: 100653.27 Pa. BME280_compensate_P_int64 gives Q24.8 25767233 (worked out
  // from the formula), 100653.254 Pa: the 64-bit formula's own rounding, 0.02 Pa off.
  const std::uint32_t q24_8 = Bme280::compensate_pressure(kCal, 415148, 128422);
  EXPECT_EQ(q24_8, 25767233U);
  EXPECT_NEAR(q24_8 / 256.0, 100653.27, 0.05);
  const auto reading = Bme280::compensate(kCal, {519888, 415148, 30000});
  ASSERT_TRUE(reading.ok());
  EXPECT_EQ(reading.value().temperature_milli_c, 25082);  // t_fine * 25 / 128, rounded
  EXPECT_EQ(reading.value().pressure_milli_pa, 100653254);
}

TEST(Bme280Compensation, IntegerFormulasFollowTheFloatingPointOnes) {
  int compared = 0;
  for (std::int32_t adc_t = 380000; adc_t <= 680000; adc_t += 7919) {
    for (std::int32_t adc_p = 250000; adc_p <= 650000; adc_p += 10007) {
      for (std::int32_t adc_h = 20000; adc_h <= 50000; adc_h += 1009) {
        const Bme280::Raw raw{adc_t, adc_p, adc_h};
        const Double want = reference(kCal, raw);
        const auto got = Bme280::compensate(kCal, raw);
        if (want.celsius < -39.9 || want.celsius > 84.9 || want.pascal < 30001.0 ||
            want.pascal > 109999.0) {
          continue;
        }
        ASSERT_TRUE(got.ok()) << adc_t << " " << adc_p;
        EXPECT_NEAR(got.value().temperature_milli_c, want.celsius * 1000.0, 5.0);
        EXPECT_NEAR(got.value().pressure_milli_pa, want.pascal * 1000.0, 1000.0);
        EXPECT_NEAR(got.value().humidity_milli_percent, want.percent * 1000.0, 20.0);
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 5000);
}

TEST(Bme280Compensation, HumidityIsClampedToZeroAndHundredPercent) {
  const std::int32_t t_fine = Bme280::compensate_temperature(kCal, 519888).t_fine;
  EXPECT_EQ(Bme280::compensate_humidity(kCal, 0, t_fine), 0U);
  EXPECT_EQ(Bme280::compensate_humidity(kCal, 65535, t_fine), 100U * 1024U);
  EXPECT_EQ(Bme280::compensate(kCal, {519888, 415148, 65535}).value().humidity_milli_percent,
            100000);
  EXPECT_EQ(Bme280::compensate(kCal, {519888, 415148, 0}).value().humidity_milli_percent, 0);
}

TEST(Bme280Compensation, H4AndH5TwelveBitPacking) {
  // Table 16: dig_H4 = 0xE4 [11:4] | 0xE5 [3:0], dig_H5 = 0xE6 [11:4] | 0xE5 [7:4], signed.
  std::array<std::uint8_t, Bme280::kCalib00Bytes> low = Bme280Emulator::pack_low(kCal);
  std::array<std::uint8_t, Bme280::kCalib26Bytes> high{0x6A, 0x01, 0x00, 0x13, 0x59, 0x03, 0x1E};
  auto cal = Bme280::parse_calibration(low, high);
  EXPECT_EQ(cal.h2, 362);
  EXPECT_EQ(cal.h4, 0x139);  // 313
  EXPECT_EQ(cal.h5, 0x035);  // 53
  EXPECT_EQ(cal.h6, 30);
  high = {0x00, 0x80, 0xFF, 0xF0, 0x8F, 0xFE, 0x80};
  cal = Bme280::parse_calibration(low, high);
  EXPECT_EQ(cal.h2, -32768);
  EXPECT_EQ(cal.h3, 255);
  EXPECT_EQ(cal.h4, -241);  // 0xF0F
  EXPECT_EQ(cal.h5, -24);   // 0xFE8
  EXPECT_EQ(cal.h6, -128);
  for (const auto& [h4, h5] : {std::pair{-2048, 2047}, std::pair{2047, -2048}, std::pair{0, -1}}) {
    Bme280::Calibration c = kCal;
    c.h4 = static_cast<std::int16_t>(h4);
    c.h5 = static_cast<std::int16_t>(h5);
    const auto back =
        Bme280::parse_calibration(Bme280Emulator::pack_low(c), Bme280Emulator::pack_high(c));
    EXPECT_EQ(back.h4, h4);
    EXPECT_EQ(back.h5, h5);
    EXPECT_EQ(back.t1, c.t1);
    EXPECT_EQ(back.p9, c.p9);
    EXPECT_EQ(back.h1, c.h1);
  }
}

TEST(Bme280Compensation, MeasurementTimeOfSection91) {
  // t_measure,max = 1.25 + 2.3 * T + (2.3 * P + 0.575) + (2.3 * H + 0.575) ms: 9.3 ms at 1x.
  EXPECT_EQ(Bme280::measurement_time_us({}), 9300U);
  Bme280::Config all16{Bme280::Oversampling::kX16, Bme280::Oversampling::kX16,
                       Bme280::Oversampling::kX16, Bme280::Filter::kOff};
  EXPECT_EQ(Bme280::measurement_time_us(all16), 112800U);
}

TEST_F(Bme280Test, ForcedMeasurementReadsWhatTheChipSenses) {
  const auto cal = bme.init();
  ASSERT_TRUE(cal.ok()) << to_string(cal.error());
  EXPECT_EQ(cal.value().t1, 27504);
  EXPECT_EQ(cal.value().h5, 50);
  EXPECT_EQ(faulty.count(), 9);  // NackOrTimeoutOnAnyTransferIsAStatus relies on this count
  EXPECT_EQ(chip.read_only_writes(), 0);
  EXPECT_EQ(bme.read().error(), SensorError::kNotReady);  // reset values: nothing measured yet

  chip.set_temperature_milli_c(21370);
  chip.set_pressure_milli_pa(98765000);
  chip.set_humidity_milli_percent(43210);
  const auto wait = bme.start_measurement();
  ASSERT_TRUE(wait.ok());
  EXPECT_EQ(wait.value(), 9300U);
  EXPECT_EQ(chip.regs[Bme280::kRegCtrlMeas], 0x24);  // osrs_t 1, osrs_p 1, back to sleep
  EXPECT_EQ(chip.latched_osrs_h(), 1);
  const auto reading = bme.read();
  ASSERT_TRUE(reading.ok()) << to_string(reading.error());
  // 16-bit resolution at 1x: about 5 m°C and 2.6 Pa per step.
  EXPECT_NEAR(reading.value().temperature_milli_c, 21370, 10);
  EXPECT_NEAR(reading.value().pressure_milli_pa, 98765000, 3000);
  EXPECT_NEAR(reading.value().humidity_milli_percent, 43210, 10);
}

TEST_F(Bme280Test, OversamplingAndFilterReachTheRegisters) {
  ASSERT_TRUE(bme.init({Bme280::Oversampling::kX2, Bme280::Oversampling::kX16,
                        Bme280::Oversampling::kX4, Bme280::Filter::kX8})
                  .ok());
  EXPECT_EQ(chip.regs[Bme280::kRegConfig], 0x0C);
  chip.set_pressure_milli_pa(100000000);
  const auto wait = bme.start_measurement();
  ASSERT_TRUE(wait.ok());
  EXPECT_EQ(wait.value(), 1250U + 4600U + 37375U + 9775U);
  EXPECT_EQ(chip.regs[Bme280::kRegCtrlMeas], 0x54);  // 010 101 00
  EXPECT_EQ(chip.latched_osrs_h(), 3);
  const auto reading = bme.read();
  ASSERT_TRUE(reading.ok());
  EXPECT_NEAR(reading.value().pressure_milli_pa, 100000000, 300);  // 20 bits with the filter
}

TEST_F(Bme280Test, CtrlHumWrittenAfterCtrlMeasDoesNotTakeEffect) {
  ASSERT_TRUE(bme.init().ok());
  chip.reset();  // ctrl_hum back to 0 (humidity skipped)
  // Wrong order, as one pair-wise transfer (section 6.2.1): ctrl_meas forced, then ctrl_hum.
  const std::array<std::uint8_t, 4> wrong{Bme280::kRegCtrlMeas, 0x25, Bme280::kRegCtrlHum, 0x01};
  ASSERT_EQ(bus.write_read(Bme280::kDefaultAddress, wrong, {}), bus::BusStatus::kOk);
  EXPECT_EQ(chip.regs[Bme280::kRegCtrlHum], 0x01);
  EXPECT_EQ(chip.regs[0xFD], 0x80);  // humidity skipped: 0x8000
  EXPECT_EQ(bme.read().error(), SensorError::kNotReady);
  // The driver writes ctrl_hum first, so the same chip measures humidity.
  EXPECT_TRUE(measure().ok());
}

TEST_F(Bme280Test, MeasuringStatusIsNotReady) {
  ASSERT_TRUE(bme.init().ok());
  chip.set_busy_reads(2);
  ASSERT_TRUE(bme.start_measurement().ok());
  EXPECT_EQ(bme.read().error(), SensorError::kNotReady);
  EXPECT_EQ(bme.read().error(), SensorError::kNotReady);
  EXPECT_TRUE(bme.read().ok());
  EXPECT_EQ(chip.measurements(), 1);
}

TEST_F(Bme280Test, OperatingRangeEndsAndBeyond) {
  ASSERT_TRUE(bme.init({Bme280::Oversampling::kX16, Bme280::Oversampling::kX16,
                        Bme280::Oversampling::kX16, Bme280::Filter::kOff})
                  .ok());
  for (const auto& [milli_c, milli_pa, milli_percent] :
       {std::tuple{-39990, 30001000, 0}, std::tuple{84990, 109999000, 100000},
        std::tuple{-39990, 109999000, 100000}, std::tuple{84990, 30001000, 0}}) {
    chip.set_temperature_milli_c(milli_c);
    chip.set_pressure_milli_pa(milli_pa);
    chip.set_humidity_milli_percent(milli_percent);
    const auto reading = measure();
    ASSERT_TRUE(reading.ok()) << milli_c << " " << milli_pa;
    EXPECT_NEAR(reading.value().temperature_milli_c, milli_c, 2);
    EXPECT_NEAR(reading.value().pressure_milli_pa, milli_pa, 300);
    EXPECT_NEAR(reading.value().humidity_milli_percent, milli_percent, 10);
  }
  chip.set_temperature_milli_c(86000);
  EXPECT_EQ(measure().error(), SensorError::kOutOfRange);
  chip.set_temperature_milli_c(20000);
  chip.set_pressure_milli_pa(111000000);
  EXPECT_EQ(measure().error(), SensorError::kOutOfRange);
  chip.set_pressure_milli_pa(29000000);
  EXPECT_EQ(measure().error(), SensorError::kOutOfRange);
}

TEST_F(Bme280Test, AnotherChipOrBlankCalibrationIsRefused) {
  chip.regs[Bme280::kRegChipId] = 0x58;  // a BMP280
  EXPECT_EQ(bme.init().error(), SensorError::kWrongChip);
  chip.regs[Bme280::kRegChipId] = Bme280::kChipId;
  chip.regs[Bme280::kRegStatus] = Bme280::kStatusImUpdate;  // NVM still loading
  EXPECT_EQ(bme.init().error(), SensorError::kNotReady);
  chip.regs[Bme280::kRegStatus] = 0;
  Bme280::Calibration blank = kCal;
  blank.t1 = 0;
  chip.set_calibration(blank);
  EXPECT_EQ(bme.init().error(), SensorError::kOutOfRange);
  blank = kCal;
  blank.p1 = 0xFFFF;
  chip.set_calibration(blank);
  EXPECT_EQ(bme.init().error(), SensorError::kOutOfRange);
  EXPECT_EQ(bme.read().error(), SensorError::kBadArgument);  // never initialised
  EXPECT_EQ(bme.start_measurement().error(), SensorError::kBadArgument);
  EXPECT_EQ(chip.regs[Bme280::kRegCtrlMeas], 0);  // nothing was written
}

TEST_F(Bme280Test, SettingsOutsideTheDatasheetAreBadArguments) {
  Bme280::Config config;
  config.humidity = static_cast<Bme280::Oversampling>(0);  // skipping is not offered
  EXPECT_EQ(bme.init(config).error(), SensorError::kBadArgument);
  config = {};
  config.pressure = static_cast<Bme280::Oversampling>(6);
  EXPECT_EQ(bme.init(config).error(), SensorError::kBadArgument);
  config = {};
  config.filter = static_cast<Bme280::Filter>(5);
  EXPECT_EQ(bme.init(config).error(), SensorError::kBadArgument);
  EXPECT_EQ(faulty.count(), 0);
}

TEST_F(Bme280Test, ResetChipReadsNotReady) {
  ASSERT_TRUE(bme.init().ok());
  ASSERT_TRUE(measure().ok());
  const std::array<std::uint8_t, 2> soft_reset{Bme280::kRegReset, Bme280::kResetCommand};
  ASSERT_EQ(bus.write_read(Bme280::kDefaultAddress, soft_reset, {}), bus::BusStatus::kOk);
  EXPECT_EQ(bme.read().error(), SensorError::kNotReady);  // results back to 0x80000 / 0x8000
}

TEST_F(Bme280Test, NackOrTimeoutOnAnyTransferIsAStatus) {
  // init() 9 transfers (id, status, 2 x two calibration blocks, 3 writes), start 2, read 3.
  for (int at = 0; at < 14; ++at) {
    for (const bool nack : {true, false}) {
      Bme280Emulator fresh;
      emulator::EmulatedI2cBus inner;
      inner.attach(Bme280::kDefaultAddress, fresh);
      FaultAt bus_at(inner);
      Bme280 driver(bus_at);
      const int phase = at < 9 ? 0 : (at < 11 ? 1 : 2);
      if (phase > 0) {
        ASSERT_TRUE(driver.init().ok());
      }
      if (phase > 1) {
        ASSERT_TRUE(driver.start_measurement().ok());
      }
      bus_at.arm(at - (phase == 0 ? 0 : (phase == 1 ? 9 : 11)),
                 [&] { nack ? inner.nack_next(Bme280::kDefaultAddress) : inner.timeout_next(); });
      const SensorError want = nack ? SensorError::kBusNack : SensorError::kBusTimeout;
      const SensorError got = phase == 0   ? driver.init().error()
                              : phase == 1 ? driver.start_measurement().error()
                                           : driver.read().error();
      EXPECT_EQ(got, want) << "transfer " << at;
    }
  }
}

TEST_F(Bme280Test, CorruptedBytesThatCanBeCaught) {
  // The BME280 has no CRC. The calibration is read twice: one corrupted copy is caught.
  faulty.arm(4, [&] { bus.corrupt_next_read(5, 0x02); });  // second read of calib00..25
  EXPECT_EQ(bme.init().error(), SensorError::kOutOfRange);
  faulty.arm(0, [&] { bus.corrupt_next_read(0, 0x01); });  // chip id 0x61
  EXPECT_EQ(bme.init().error(), SensorError::kWrongChip);
  ASSERT_TRUE(bme.init().ok());
  ASSERT_TRUE(bme.start_measurement().ok());
  // Results are read twice (forced mode holds them): a flipped low bit is caught.
  faulty.arm(2, [&] { bus.corrupt_next_read(4, 0x10); });
  EXPECT_EQ(bme.read().error(), SensorError::kOutOfRange);
  faulty.arm(1, [&] { bus.corrupt_next_read(7, 0x01); });
  EXPECT_EQ(bme.read().error(), SensorError::kOutOfRange);
  // The xlsb registers' bits 3:0 read 0.
  faulty.arm(1, [&] { bus.corrupt_next_read(2, 0x04); });
  EXPECT_EQ(bme.read().error(), SensorError::kOutOfRange);
  // A corrupted status byte only delays the reading.
  faulty.arm(0, [&] { bus.corrupt_next_read(0, Bme280::kStatusMeasuring); });
  EXPECT_EQ(bme.read().error(), SensorError::kNotReady);
  EXPECT_TRUE(bme.read().ok());
  // Not detectable: the same corruption in both reads, or a wrong calibration word the chip
  // itself returns consistently (a failing NVM) that keeps results in range.
}

TEST(Bme280Emulator, WritesAreRegisterDataPairs) {
  Bme280Emulator chip;
  const std::array<std::uint8_t, 4> pairs{Bme280::kRegConfig, 0x10, Bme280::kRegCtrlHum, 0x05};
  ASSERT_TRUE(chip.write(pairs));
  EXPECT_EQ(chip.regs[Bme280::kRegConfig], 0x10);
  EXPECT_EQ(chip.regs[Bme280::kRegCtrlHum], 0x05);
  EXPECT_EQ(chip.regs[Bme280::kRegStatus], 0x00);  // not an auto-incremented block
  EXPECT_EQ(chip.read_only_writes(), 0);
}

}  // namespace
}  // namespace edge::drivers
