#include "dps310_emulator.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace edge::emulator {
namespace {

using drivers::Dps310;

constexpr std::int32_t kRawMin = -(1 << 23);
constexpr std::int32_t kRawMax = (1 << 23) - 1;

std::int32_t to_raw(double value) {
  return static_cast<std::int32_t>(std::clamp<long long>(std::llround(value), kRawMin, kRawMax));
}

void put24(std::array<std::uint8_t, 256>& regs, std::uint8_t reg, std::int32_t raw) {
  const auto u = static_cast<std::uint32_t>(raw) & 0xFFFFFFU;
  regs[reg] = static_cast<std::uint8_t>(u >> 16U);
  regs[reg + 1U] = static_cast<std::uint8_t>(u >> 8U);
  regs[reg + 2U] = static_cast<std::uint8_t>(u);
}

// Registers QEMU 7.2's dps310_read() answers; every other one reads 0xFF.
bool qemu_implements(std::uint8_t reg) {
  return reg <= Dps310::kRegCfg || (reg >= 0x10 && reg <= 0x21) || reg == Dps310::kRegCoefSrce ||
         reg == 0x32;
}

}  // namespace

Dps310Emulator::Dps310Emulator(Model model) : model_(model) {
  std::copy_n(kQemuResetImage.begin() + Dps310::kRegCoef, fuses_.size(), fuses_.begin());
  reset();
}

void Dps310Emulator::reset() {
  regs.fill(model_ == Model::kQemu72 ? 0xFF : 0x00);
  std::copy(kQemuResetImage.begin(), kQemuResetImage.end(), regs.begin());
  std::copy(fuses_.begin(), fuses_.end(), regs.begin() + Dps310::kRegCoef);
  if (model_ == Model::kQemu72) {
    regs[Dps310::kRegMeasCfg] = 0xF0;  // COEF_RDY | SENSOR_RDY | TMP_RDY | PRS_RDY
    return;
  }
  // Datasheet power-up: results 0, configuration 0, idle with coefficients and sensor ready,
  // Product ID 0x10, the same real coefficients, coefficients from the external (MEMS) sensor.
  std::fill_n(regs.begin(), 8, std::uint8_t{0});
  regs[Dps310::kRegMeasCfg] = Dps310::kMeasCoefReady | Dps310::kMeasSensorReady;
  regs[Dps310::kRegProductId] = Dps310::kProductId;
  regs[Dps310::kRegCoefSrce] = Dps310::kCoefSrceExternal;
  std::fill(regs.begin() + 0x22, regs.begin() + Dps310::kRegCoefSrce, std::uint8_t{0});
}

std::array<std::uint8_t, Dps310::kCoefBytes> Dps310Emulator::pack_coefficients(
    const Dps310::Coefficients& c) {
  const auto u = [](std::int32_t v) { return static_cast<std::uint32_t>(v); };
  const auto b = [](std::uint32_t v) { return static_cast<std::uint8_t>(v & 0xFFU); };
  const auto hi = [&](std::int32_t v) { return b(u(v) >> 8U); };
  return {b(u(c.c0) >> 4U),  b(((u(c.c0) & 0x0FU) << 4U) | ((u(c.c1) >> 8U) & 0x0FU)),
          b(u(c.c1)),        b(u(c.c00) >> 12U),
          b(u(c.c00) >> 4U), b(((u(c.c00) & 0x0FU) << 4U) | ((u(c.c10) >> 16U) & 0x0FU)),
          b(u(c.c10) >> 8U), b(u(c.c10)),
          hi(c.c01),         b(u(c.c01)),
          hi(c.c11),         b(u(c.c11)),
          hi(c.c20),         b(u(c.c20)),
          hi(c.c21),         b(u(c.c21)),
          hi(c.c30),         b(u(c.c30))};
}

void Dps310Emulator::set_coefficients(const Dps310::Coefficients& c) {
  fuses_ = pack_coefficients(c);
  std::copy(fuses_.begin(), fuses_.end(), regs.begin() + Dps310::kRegCoef);
}

Dps310::Coefficients Dps310Emulator::coefficients() const {
  std::array<std::uint8_t, Dps310::kCoefBytes> bytes{};
  std::copy_n(regs.begin() + Dps310::kRegCoef, bytes.size(), bytes.begin());
  return Dps310::parse_coefficients(bytes);
}

double Dps310Emulator::kt() const {
  return Dps310::scale_factor(static_cast<Dps310::Oversampling>(regs[Dps310::kRegTmpCfg] & 0x07U));
}

double Dps310Emulator::kp() const {
  return Dps310::scale_factor(static_cast<Dps310::Oversampling>(regs[Dps310::kRegPrsCfg] & 0x07U));
}

std::int32_t Dps310Emulator::encode_temperature() const {
  const auto c = coefficients();
  // Tcomp = c0 / 2 + c1 * Traw / kT, solved for Traw.
  return to_raw((static_cast<double>(milli_c_) / 1000.0 - c.c0 * 0.5) / c.c1 * kt());
}

std::int32_t Dps310Emulator::encode_pressure() const {
  const auto c = coefficients();
  const double t = encode_temperature() / kt();
  const double target = static_cast<double>(milli_pa_) / 1000.0;
  // Newton's method on Pcomp(s) - target from s = 0 (Pcomp is monotonic over the sensor range).
  double s = 0.0;
  for (int i = 0; i < 50; ++i) {
    const double f = c.c00 + s * (c.c10 + s * (c.c20 + s * c.c30)) + t * c.c01 +
                     t * s * (c.c11 + s * c.c21) - target;
    const double df = c.c10 + s * (2.0 * c.c20 + 3.0 * s * c.c30) + t * (c.c11 + 2.0 * s * c.c21);
    if (df == 0.0) {
      break;
    }
    s -= f / df;
  }
  return to_raw(s * kp());
}

void Dps310Emulator::set_raw(std::int32_t pressure, std::int32_t temperature) {
  put24(regs, Dps310::kRegPsrB2, pressure);
  put24(regs, Dps310::kRegTmpB2, temperature);
  regs[Dps310::kRegMeasCfg] |= Dps310::kMeasPrsReady | Dps310::kMeasTmpReady;
}

void Dps310Emulator::measure(bool pressure, bool temperature) {
  if (temperature) {
    put24(regs, Dps310::kRegTmpB2, encode_temperature());
    regs[Dps310::kRegMeasCfg] |= Dps310::kMeasTmpReady;
  }
  if (pressure) {
    put24(regs, Dps310::kRegPsrB2, encode_pressure());
    regs[Dps310::kRegMeasCfg] |= Dps310::kMeasPrsReady;
  }
}

void Dps310Emulator::tick() {
  if (model_ != Model::kDatasheet) {
    return;
  }
  const std::uint8_t ctrl = regs[Dps310::kRegMeasCfg] & Dps310::kMeasCtrlMask;
  if (ctrl >= 5) {
    measure((ctrl & 0x01U) != 0, (ctrl & 0x02U) != 0);
  }
}

bool Dps310Emulator::on_write(std::uint8_t reg, std::uint8_t value) {
  if (reg == Dps310::kRegReset) {
    if ((value & 0x0FU) == Dps310::kSoftResetCommand) {
      reset();
    }
    return true;
  }
  if (model_ == Model::kQemu72) {
    if (reg == Dps310::kRegPrsCfg || reg == Dps310::kRegTmpCfg || reg == Dps310::kRegMeasCfg ||
        reg == Dps310::kRegCfg) {
      regs[reg] = value;  // QEMU stores the whole byte, read-only status bits included
    }
    return true;
  }
  if (reg == Dps310::kRegMeasCfg) {
    const std::uint8_t ctrl = value & Dps310::kMeasCtrlMask;
    regs[reg] = static_cast<std::uint8_t>((regs[reg] & 0xF0U) | ctrl);
    if (ctrl == 0x01 || ctrl == 0x02) {  // command mode: one measurement, then idle
      measure(ctrl == 0x01, ctrl == 0x02);
      regs[reg] &= 0xF0U;
    }
    return true;
  }
  if (reg == Dps310::kRegPrsCfg || reg == Dps310::kRegTmpCfg || reg == Dps310::kRegCfg) {
    regs[reg] = value;
    return true;
  }
  ++read_only_writes_;  // results, Product ID, coefficients: the chip ignores the byte
  return true;
}

std::uint8_t Dps310Emulator::on_read(std::uint8_t reg) {
  if (model_ == Model::kQemu72) {
    return qemu_implements(reg) ? regs[reg] : std::uint8_t{0xFF};
  }
  if (reg <= 0x02) {
    regs[Dps310::kRegMeasCfg] &= static_cast<std::uint8_t>(~Dps310::kMeasPrsReady);
  } else if (reg <= 0x05) {
    regs[Dps310::kRegMeasCfg] &= static_cast<std::uint8_t>(~Dps310::kMeasTmpReady);
  }
  return regs[reg];
}

}  // namespace edge::emulator
