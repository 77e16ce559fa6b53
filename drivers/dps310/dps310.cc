#include "edge/drivers/dps310.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace edge::drivers {
namespace {

// Fraction bits of Praw_sc / Traw_sc (x_sc) and of the pascal accumulator. With |x_sc| <= 4
// (2^26 here) and 16-bit / 20-bit coefficients every product below stays under 2^59.
constexpr int kScFrac = 24;
constexpr int kPaFrac = 12;
constexpr int kDown = kScFrac - kPaFrac;

// Measurement time of one result in microseconds: 2 ms plus 1.6 ms per sample (datasheet
// measurement time table: 3.6 ms single .. 206.8 ms at 128x).
constexpr std::uint32_t measurement_time_us(Dps310::Oversampling oversampling) {
  return 2000U + (1600U << static_cast<std::uint8_t>(oversampling));
}

constexpr std::int32_t raw24(std::span<const std::uint8_t> b) {
  return Dps310::sign_extend(
      (std::uint32_t{b[0]} << 16U) | (std::uint32_t{b[1]} << 8U) | std::uint32_t{b[2]}, 24);
}

}  // namespace

SensorResult<Dps310::Reading> Dps310::compensate(const Coefficients& c, Raw raw, std::int32_t kp,
                                                 std::int32_t kt) {
  if (kp <= 0 || kt <= 0) {
    return SensorError::kBadArgument;
  }
  const std::int64_t limit = std::int64_t{kMaxScaledRaw} << kScFrac;
  const std::int64_t p = (std::int64_t{raw.pressure} << kScFrac) / kp;     // Praw_sc
  const std::int64_t t = (std::int64_t{raw.temperature} << kScFrac) / kt;  // Traw_sc
  if (p > limit || p < -limit || t > limit || t < -limit) {
    return SensorError::kOutOfRange;
  }
  // Tcomp = c0 * 0.5 + c1 * Traw_sc, in milli-degrees.
  const std::int64_t milli_c =
      std::int64_t{c.c0} * 500 + ((std::int64_t{c.c1} * 1000 * t) >> kScFrac);
  // Horner's form of c10*p + c20*p^2 + c30*p^3, in pascal with kPaFrac fraction bits.
  std::int64_t poly = (std::int64_t{c.c20} << kPaFrac) + ((std::int64_t{c.c30} * p) >> kDown);
  poly = (std::int64_t{c.c10} << kPaFrac) + ((poly * p) >> kScFrac);
  poly = (poly * p) >> kScFrac;
  // Temperature terms: t*c01 + t*p*(c11 + p*c21).
  std::int64_t cross = (std::int64_t{c.c11} << kPaFrac) + ((std::int64_t{c.c21} * p) >> kDown);
  cross = (((cross * p) >> kScFrac) * t) >> kScFrac;
  const std::int64_t linear_t = (std::int64_t{c.c01} * t) >> kDown;
  const std::int64_t pa_q = (std::int64_t{c.c00} << kPaFrac) + poly + linear_t + cross;
  const std::int64_t milli_pa = (pa_q * 1000) >> kPaFrac;
  if (milli_c < kMinMilliC || milli_c > kMaxMilliC || milli_pa < kMinMilliPa ||
      milli_pa > kMaxMilliPa) {
    return SensorError::kOutOfRange;
  }
  return Reading{static_cast<std::int32_t>(milli_c), static_cast<std::int32_t>(milli_pa)};
}

SensorResult<Dps310::Coefficients> Dps310::init(const Config& config) {
  kp_ = 0;
  kt_ = 0;
  have_results_ = false;
  const auto prs_os = static_cast<std::uint8_t>(config.pressure_oversampling);
  const auto tmp_os = static_cast<std::uint8_t>(config.temperature_oversampling);
  const auto prs_rate = static_cast<std::uint8_t>(config.pressure_rate);
  const auto tmp_rate = static_cast<std::uint8_t>(config.temperature_rate);
  if (prs_os > 7 || tmp_os > 7 || prs_rate > 7 || tmp_rate > 7) {
    return SensorError::kBadArgument;
  }
  // Background mode must fit all measurements into one second.
  if ((measurement_time_us(config.pressure_oversampling) << prs_rate) +
          (measurement_time_us(config.temperature_oversampling) << tmp_rate) >
      1000000U) {
    return SensorError::kBadArgument;
  }

  std::array<std::uint8_t, 1> id{};
  if (const auto status = read_regs(kRegProductId, id); status != bus::BusStatus::kOk) {
    return from_bus(status);
  }
  std::array<std::uint8_t, 1> meas{};
  if (const auto status = read_regs(kRegMeasCfg, meas); status != bus::BusStatus::kOk) {
    return from_bus(status);
  }
  if ((id[0] != kProductId && id[0] != kQemuProductId) || (meas[0] & kMeasReserved) != 0) {
    return SensorError::kWrongChip;
  }
  if ((meas[0] & (kMeasCoefReady | kMeasSensorReady)) != (kMeasCoefReady | kMeasSensorReady)) {
    return SensorError::kNotReady;
  }

  std::array<std::uint8_t, kCoefBytes> first{};
  std::array<std::uint8_t, kCoefBytes> second{};
  std::array<std::uint8_t, 1> source{};
  for (auto* out : {&first, &second}) {
    if (const auto status = read_regs(kRegCoef, *out); status != bus::BusStatus::kOk) {
      return from_bus(status);
    }
  }
  if (first != second) {
    return SensorError::kOutOfRange;  // no CRC: two reads that differ mean a corrupted transfer
  }
  if (const auto status = read_regs(kRegCoefSrce, source); status != bus::BusStatus::kOk) {
    return from_bus(status);
  }

  // Standby while reconfiguring, then background pressure and temperature.
  if (const auto idle = set_meas_ctrl(kMeasCtrlIdle); !idle.ok()) {
    return idle.error();
  }
  const auto prs_cfg = static_cast<std::uint8_t>((prs_rate << 4U) | prs_os);
  const auto tmp_cfg =
      static_cast<std::uint8_t>((source[0] & kCoefSrceExternal) | (tmp_rate << 4U) | tmp_os);
  const auto cfg =
      static_cast<std::uint8_t>((prs_os > 3 ? kCfgPShift : 0U) | (tmp_os > 3 ? kCfgTShift : 0U));
  const std::array<std::array<std::uint8_t, 2>, 3> writes{
      {{kRegPrsCfg, prs_cfg}, {kRegTmpCfg, tmp_cfg}, {kRegCfg, cfg}}};
  for (const auto& write : writes) {
    if (const auto status = write_reg(write[0], write[1]); status != bus::BusStatus::kOk) {
      return from_bus(status);
    }
  }
  if (const auto started = set_meas_ctrl(kMeasCtrlBackgroundBoth); !started.ok()) {
    return started.error();
  }
  coefficients_ = parse_coefficients(first);
  kp_ = scale_factor(config.pressure_oversampling);
  kt_ = scale_factor(config.temperature_oversampling);
  return coefficients_;
}

SensorResult<Dps310::Raw> Dps310::read_raw() {
  std::array<std::uint8_t, 6> b{};
  if (const auto status = read_regs(kRegPsrB2, b); status != bus::BusStatus::kOk) {
    return from_bus(status);
  }
  return Raw{raw24(std::span(b).first<3>()), raw24(std::span(b).last<3>())};
}

SensorResult<Dps310::Reading> Dps310::read() {
  if (kp_ == 0) {
    return SensorError::kBadArgument;
  }
  std::array<std::uint8_t, 1> meas{};
  if (const auto status = read_regs(kRegMeasCfg, meas); status != bus::BusStatus::kOk) {
    return from_bus(status);
  }
  if ((meas[0] & kMeasReserved) != 0) {
    return SensorError::kOutOfRange;
  }
  if ((meas[0] & kMeasCtrlMask) != kMeasCtrlBackgroundBoth) {
    have_results_ = false;  // reset (power loss, soft reset): the caller must init() again
    return SensorError::kNotReady;
  }
  // PRS_RDY / TMP_RDY clear when a result is read; background mode keeps the latest results in
  // the result registers, so once both have appeared the registers always hold a measurement.
  if (!have_results_) {
    if ((meas[0] & (kMeasPrsReady | kMeasTmpReady)) != (kMeasPrsReady | kMeasTmpReady)) {
      return SensorError::kNotReady;
    }
    have_results_ = true;
  }
  Raw raw{};
  EDGE_TRY_ASSIGN(raw, read_raw());
  return compensate(coefficients_, raw, kp_, kt_);
}

SensorResult<std::uint8_t> Dps310::set_meas_ctrl(std::uint8_t ctrl) {
  // Read-modify-write: the status bits written back are ignored by the chip (read-only) and keep
  // QEMU's model, which stores the whole byte, reporting them.
  std::array<std::uint8_t, 1> meas{};
  if (const auto status = read_regs(kRegMeasCfg, meas); status != bus::BusStatus::kOk) {
    return from_bus(status);
  }
  const auto value = static_cast<std::uint8_t>((meas[0] & ~(kMeasCtrlMask | kMeasReserved)) | ctrl);
  if (const auto status = write_reg(kRegMeasCfg, value); status != bus::BusStatus::kOk) {
    return from_bus(status);
  }
  return value;
}

bus::BusStatus Dps310::read_regs(std::uint8_t reg, std::span<std::uint8_t> out) {
  return bus::read_registers(bus_, address_, reg, out);
}

bus::BusStatus Dps310::write_reg(std::uint8_t reg, std::uint8_t value) {
  return bus::write_register(bus_, address_, reg, value);
}

}  // namespace edge::drivers
