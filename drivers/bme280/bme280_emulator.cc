#include "bme280_emulator.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>

namespace edge::emulator {
namespace {

using drivers::Bme280;

// The adc value in [0, limit) whose `value(adc)` is closest to `target`, for a monotonic
// `value` (increasing or decreasing).
std::int32_t closest(std::int32_t limit, std::int64_t target,
                     const std::function<std::int64_t(std::int32_t)>& value) {
  const bool increasing = value(limit / 2) >= value(limit / 4);
  std::int32_t lo = 0;
  std::int32_t hi = limit - 1;
  while (lo < hi) {  // first adc whose value reaches the target
    const std::int32_t mid = lo + (hi - lo) / 2;
    if (increasing ? value(mid) >= target : value(mid) <= target) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  if (lo > 0 && std::llabs(value(lo - 1) - target) <= std::llabs(value(lo) - target)) {
    return lo - 1;
  }
  return lo;
}

void put_le16(std::span<std::uint8_t> out, std::size_t at, std::uint16_t word) {
  out[at] = static_cast<std::uint8_t>(word & 0xFFU);
  out[at + 1] = static_cast<std::uint8_t>(word >> 8U);
}

}  // namespace

Bme280Emulator::Bme280Emulator() {
  set_calibration(kExampleCalibration);
  regs[Bme280::kRegChipId] = Bme280::kChipId;
  reset();
}

std::array<std::uint8_t, Bme280::kCalib00Bytes> Bme280Emulator::pack_low(
    const Bme280::Calibration& cal) {
  std::array<std::uint8_t, Bme280::kCalib00Bytes> out{};
  const std::array<std::uint16_t, 12> words{cal.t1,
                                            static_cast<std::uint16_t>(cal.t2),
                                            static_cast<std::uint16_t>(cal.t3),
                                            cal.p1,
                                            static_cast<std::uint16_t>(cal.p2),
                                            static_cast<std::uint16_t>(cal.p3),
                                            static_cast<std::uint16_t>(cal.p4),
                                            static_cast<std::uint16_t>(cal.p5),
                                            static_cast<std::uint16_t>(cal.p6),
                                            static_cast<std::uint16_t>(cal.p7),
                                            static_cast<std::uint16_t>(cal.p8),
                                            static_cast<std::uint16_t>(cal.p9)};
  for (std::size_t i = 0; i < words.size(); ++i) {
    put_le16(out, 2 * i, words[i]);
  }
  out[25] = cal.h1;
  return out;
}

std::array<std::uint8_t, Bme280::kCalib26Bytes> Bme280Emulator::pack_high(
    const Bme280::Calibration& cal) {
  std::array<std::uint8_t, Bme280::kCalib26Bytes> out{};
  put_le16(out, 0, static_cast<std::uint16_t>(cal.h2));
  out[2] = cal.h3;
  const auto h4 = static_cast<std::uint16_t>(cal.h4);
  const auto h5 = static_cast<std::uint16_t>(cal.h5);
  out[3] = static_cast<std::uint8_t>((h4 >> 4U) & 0xFFU);                   // 0xE4: H4 [11:4]
  out[4] = static_cast<std::uint8_t>(((h5 & 0x0FU) << 4U) | (h4 & 0x0FU));  // 0xE5
  out[5] = static_cast<std::uint8_t>((h5 >> 4U) & 0xFFU);                   // 0xE6: H5 [11:4]
  out[6] = static_cast<std::uint8_t>(cal.h6);
  return out;
}

void Bme280Emulator::set_calibration(const Bme280::Calibration& cal) {
  const auto low = pack_low(cal);
  const auto high = pack_high(cal);
  std::copy(low.begin(), low.end(), regs.begin() + Bme280::kRegCalib00);
  std::copy(high.begin(), high.end(), regs.begin() + Bme280::kRegCalib26);
}

Bme280::Calibration Bme280Emulator::calibration() const {
  std::array<std::uint8_t, Bme280::kCalib00Bytes> low{};
  std::array<std::uint8_t, Bme280::kCalib26Bytes> high{};
  std::copy_n(regs.begin() + Bme280::kRegCalib00, low.size(), low.begin());
  std::copy_n(regs.begin() + Bme280::kRegCalib26, high.size(), high.begin());
  return Bme280::parse_calibration(low, high);
}

void Bme280Emulator::reset() {
  for (const std::uint8_t reg :
       {Bme280::kRegCtrlHum, Bme280::kRegStatus, Bme280::kRegCtrlMeas, Bme280::kRegConfig}) {
    regs[reg] = 0;
  }
  const std::array<std::uint8_t, Bme280::kDataBytes> skipped{0x80, 0, 0, 0x80, 0, 0, 0x80, 0};
  std::copy(skipped.begin(), skipped.end(), regs.begin() + Bme280::kRegData);
  osrs_h_ = 0;
  pending_ = false;
  busy_left_ = 0;
}

Bme280::Raw Bme280Emulator::encode() const {
  if (raw_) {
    return *raw_;
  }
  const Bme280::Calibration cal = calibration();
  const auto t_fine = [&](std::int32_t adc) {
    return Bme280::compensate_temperature(cal, adc).t_fine;
  };
  Bme280::Raw raw{};
  // T = t_fine / 5120 °C: search t_fine for milli_c * 5120 / 1000.
  raw.temperature = closest(1 << 20, std::int64_t{milli_c_} * 512 / 100,
                            [&](std::int32_t adc) { return std::int64_t{t_fine(adc)}; });
  const std::int32_t fine = t_fine(raw.temperature);
  raw.pressure = closest(1 << 20, milli_pa_ * 256 / 1000, [&](std::int32_t adc) {
    // Signed: far beyond the sensor's range the Q24.8 result goes negative.
    return std::int64_t{static_cast<std::int32_t>(Bme280::compensate_pressure(cal, adc, fine))};
  });
  raw.humidity = closest(
      1 << 16, std::int64_t{milli_percent_} * 1024 / 1000,
      [&](std::int32_t adc) { return std::int64_t{Bme280::compensate_humidity(cal, adc, fine)}; });
  return raw;
}

void Bme280Emulator::finish_measurement() {
  pending_ = false;
  ++measurements_;
  const std::uint8_t ctrl_meas = regs[Bme280::kRegCtrlMeas];
  const auto osrs_t = static_cast<std::uint8_t>(ctrl_meas >> 5U);
  const auto osrs_p = static_cast<std::uint8_t>((ctrl_meas >> 2U) & 0x07U);
  const bool filtered = (regs[Bme280::kRegConfig] & 0x1CU) != 0;
  const Bme280::Raw raw = encode();
  // Bits below the resolution read 0 (16 + osrs - 1 bits; 20 with the filter).
  const auto resolve = [&](std::int32_t adc, std::uint8_t osrs) {
    const unsigned bits = filtered ? 20U : std::min(20U, 15U + std::min<unsigned>(osrs, 5U));
    return static_cast<std::uint32_t>(adc) & ~((1U << (20U - bits)) - 1U);
  };
  const auto put20 = [&](std::uint8_t reg, std::uint32_t adc) {
    regs[reg] = static_cast<std::uint8_t>(adc >> 12U);
    regs[reg + 1U] = static_cast<std::uint8_t>(adc >> 4U);
    regs[reg + 2U] = static_cast<std::uint8_t>((adc & 0x0FU) << 4U);
  };
  put20(0xF7, osrs_p == 0 ? std::uint32_t{Bme280::kSkipped20} : resolve(raw.pressure, osrs_p));
  put20(0xFA, osrs_t == 0 ? std::uint32_t{Bme280::kSkipped20} : resolve(raw.temperature, osrs_t));
  const auto hum = static_cast<std::uint32_t>(osrs_h_ == 0 ? Bme280::kSkipped16 : raw.humidity);
  regs[0xFD] = static_cast<std::uint8_t>(hum >> 8U);
  regs[0xFE] = static_cast<std::uint8_t>(hum & 0xFFU);
  if ((ctrl_meas & 0x03U) != 0x03U) {
    regs[Bme280::kRegCtrlMeas] &= 0xFCU;  // forced mode ends in sleep
  }
}

bool Bme280Emulator::write(std::span<const std::uint8_t> bytes) {
  // Register/data pairs; a lone register byte (or a trailing one) only sets the pointer.
  for (std::size_t i = 0; i < bytes.size(); i += 2) {
    if (!RegisterChip::write(bytes.subspan(i, std::min<std::size_t>(2, bytes.size() - i)))) {
      return false;
    }
  }
  return true;
}

bool Bme280Emulator::on_write(std::uint8_t reg, std::uint8_t value) {
  switch (reg) {
    case Bme280::kRegReset:
      if (value == Bme280::kResetCommand) {
        reset();
      }
      return true;
    case Bme280::kRegCtrlHum: regs[reg] = value & 0x07U; return true;
    case Bme280::kRegConfig: regs[reg] = value & 0xFDU; return true;
    case Bme280::kRegCtrlMeas:
      regs[reg] = value;
      osrs_h_ = regs[Bme280::kRegCtrlHum];  // ctrl_hum takes effect now (section 5.4.3)
      if ((value & 0x03U) != 0) {
        pending_ = true;
        busy_left_ = busy_reads_;
        if (busy_left_ == 0) {
          finish_measurement();
        }
      }
      return true;
    default: ++read_only_writes_; return true;  // id, calibration, status, results
  }
}

std::uint8_t Bme280Emulator::on_read(std::uint8_t reg) {
  if (reg == Bme280::kRegStatus && pending_) {
    if (busy_left_ > 0) {
      --busy_left_;
      return Bme280::kStatusMeasuring;
    }
    finish_measurement();
  }
  return regs[reg];
}

}  // namespace edge::emulator
