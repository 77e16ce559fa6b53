// What a driver call ends in when it gives no reading. Every driver returns
// Result<Reading, SensorError> (edge/base/result.h): a failed bus transfer, a chip that is not
// the one expected, a CRC mismatch or a conversion not finished are errors, never a number.
#pragma once

#include <cstdint>

#include "edge/base/result.h"
#include "edge/bus/i2c_bus.h"

namespace edge::drivers {

enum class SensorError : std::uint8_t {
  kBusNack,      // the chip did not acknowledge (absent, wrong address, busy)
  kBusTimeout,   // the bus or the chip did not finish in time
  kBusError,     // arbitration lost or another controller error
  kWrongChip,    // the ID register does not name the expected chip
  kCrc,          // the chip's own CRC over the data did not match (SHT3x, ...)
  kNotReady,     // no finished conversion yet; try again later
  kOutOfRange,   // the raw value is outside what the chip can report (a corrupted transfer)
  kBadArgument,  // a configuration value the chip does not support
};

template <typename T>
using SensorResult = Result<T, SensorError>;

/// The SensorError for a failed transfer; call only with status != kOk.
constexpr SensorError from_bus(bus::BusStatus status) {
  switch (status) {
    case bus::BusStatus::kNack: return SensorError::kBusNack;
    case bus::BusStatus::kTimeout: return SensorError::kBusTimeout;
    default: return SensorError::kBusError;
  }
}

/// A short stable name ("bus_nack", "crc", ...) for logs and the console.
constexpr const char* to_string(SensorError error) {
  switch (error) {
    case SensorError::kBusNack: return "bus_nack";
    case SensorError::kBusTimeout: return "bus_timeout";
    case SensorError::kBusError: return "bus_error";
    case SensorError::kWrongChip: return "wrong_chip";
    case SensorError::kCrc: return "crc";
    case SensorError::kNotReady: return "not_ready";
    case SensorError::kOutOfRange: return "out_of_range";
    case SensorError::kBadArgument: return "bad_argument";
  }
  return "unknown";
}

}  // namespace edge::drivers
