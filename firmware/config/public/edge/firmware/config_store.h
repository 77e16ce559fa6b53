// The device's persistent configuration and boot counter, in two copies so that a write cut off
// half-way (power loss, reset) never loses both.
//
// Layout on the storage: slot A at offset 0, slot B at offset kSlotBytes. Each slot is
//   magic "ECFG" | version u16 | length u16 | generation u32 | DeviceConfig (length bytes) |
//   crc32c u32 over everything before it
// save() writes the slot holding the older generation (or the damaged one), with generation + 1;
// load() takes the valid slot with the newer generation. So at every instant at least one
// complete, CRC-checked copy exists: the one not being written.
//
// Device code: no heap, no exceptions. The Storage is an I2C EEPROM on the QEMU board, a flash
// page on a real board, a file on host and Linux.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace edge::firmware {

/// A small non-volatile byte area. Both calls return false when the medium failed (the bus
/// NACKed, the file could not be written); a false write may have changed part of the range.
class Storage {
 public:
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  virtual bool read(std::uint32_t offset, std::span<std::uint8_t> out) = 0;
  virtual bool write(std::uint32_t offset, std::span<const std::uint8_t> bytes) = 0;
  [[nodiscard]] virtual std::uint32_t size() const = 0;

 protected:
  Storage() = default;
  ~Storage() = default;
};

inline constexpr std::size_t kMaxSensors = 8;  // sensors a device configuration describes

/// What the console can set and `save` persists. Plain data with a fixed layout (the stored
/// bytes are this struct; kConfigVersion changes whenever it does).
struct DeviceConfig {
  std::uint64_t device_id = 0;
  std::uint32_t boot_counter = 0;
  std::uint32_t link_baud = 115200;
  std::array<std::uint32_t, kMaxSensors> sample_interval_ms{};  // 0: the sensor is off
  std::array<std::uint8_t, kMaxSensors> i2c_address{};          // 0: the board's default
};

inline constexpr std::uint16_t kConfigVersion = 1;
inline constexpr std::uint32_t kSlotHeaderBytes = 12;
inline constexpr std::uint32_t kSlotBytes = kSlotHeaderBytes + sizeof(DeviceConfig) + 4;

enum class LoadOutcome : std::uint8_t {
  kLoaded,     // a valid copy was found (the newer one if both are valid); the other is valid
               // or was never written
  kRecovered,  // one copy was damaged (a cut-off write, a flipped bit); the other was used
  kDefaults,   // no valid copy (new device, or both damaged): defaults returned
  kReadError,  // the storage could not be read: defaults returned, nothing written
};

class ConfigStore {
 public:
  explicit ConfigStore(Storage& storage) : storage_(storage) {}

  /// Reads both slots and fills `config` from the valid one with the newer generation, or with
  /// defaults. Never writes.
  LoadOutcome load(DeviceConfig& config);
  /// Writes `config` into the slot not holding the newest valid copy. Returns false when the
  /// storage is too small or the write failed (the other copy is then still intact).
  bool save(const DeviceConfig& config);
  /// Erases both copies (factory reset): the next load() gives defaults. False on a failed write.
  bool erase();

 private:
  Storage& storage_;
  std::uint32_t generation_ = 0;  // of the newest valid copy seen
  int newest_slot_ = -1;          // 0 or 1; -1 when none is valid
};

}  // namespace edge::firmware
