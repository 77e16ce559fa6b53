#include "edge/firmware/sensor_set.h"

namespace edge::firmware {

std::string_view to_string(SensorChip chip) {
  switch (chip) {
    case SensorChip::kTmp105: return "tmp105";
    case SensorChip::kDps310: return "dps310";
    case SensorChip::kLsm303dlhc: return "lsm303dlhc";
    case SensorChip::kSht3x: return "sht3x";
    case SensorChip::kBme280: return "bme280";
  }
  return "unknown";
}

SensorSource& make_sensor(SensorSlot& slot, const SensorSpec& spec, bus::I2cBus* bus,
                          DelayFn delay) {
  if (bus == nullptr) {
    return slot.emplace<AbsentSensor>(to_string(spec.chip));
  }
  switch (spec.chip) {
    case SensorChip::kTmp105: return slot.emplace<Tmp105Source>(*bus, spec.address);
    case SensorChip::kDps310: return slot.emplace<Dps310Source>(*bus, spec.address);
    case SensorChip::kLsm303dlhc:
      return slot.emplace<Lsm303dlhcSource>(*bus,
                                            spec.option == SensorOption::kTempRightAligned
                                                ? drivers::Lsm303dlhcMag::TempLayout::kRightAligned
                                                : drivers::Lsm303dlhcMag::TempLayout::kDatasheet,
                                            spec.address);
    case SensorChip::kSht3x: return slot.emplace<Sht3xSource>(*bus, delay, spec.address);
    case SensorChip::kBme280: return slot.emplace<Bme280Source>(*bus, delay, spec.address);
  }
  return slot.emplace<AbsentSensor>("unknown");
}

}  // namespace edge::firmware
