#include "edge/firmware/config_store.h"

#include <cstring>

#include "edge/link/crc32c.h"

namespace edge::firmware {
namespace {

constexpr std::array<std::uint8_t, 4> kMagic{'E', 'C', 'F', 'G'};
constexpr std::uint32_t kCrcOffset = kSlotBytes - 4;

void put16(std::uint8_t* at, std::uint16_t v) {
  at[0] = static_cast<std::uint8_t>(v);
  at[1] = static_cast<std::uint8_t>(v >> 8U);
}
void put32(std::uint8_t* at, std::uint32_t v) {
  for (std::uint32_t i = 0; i < 4; ++i) {
    at[i] = static_cast<std::uint8_t>(v >> (8U * i));
  }
}
std::uint16_t get16(const std::uint8_t* at) {
  return static_cast<std::uint16_t>(at[0] | (at[1] << 8U));
}
std::uint32_t get32(const std::uint8_t* at) {
  std::uint32_t v = 0;
  for (std::uint32_t i = 0; i < 4; ++i) {
    v |= static_cast<std::uint32_t>(at[i]) << (8U * i);
  }
  return v;
}

enum class SlotState : std::uint8_t { kValid, kBlank, kDamaged, kUnreadable };

// Reads slot `index`; on kValid fills config and generation.
SlotState read_slot(Storage& storage, int index, DeviceConfig& config, std::uint32_t& generation) {
  std::array<std::uint8_t, kSlotBytes> slot{};
  if (!storage.read(static_cast<std::uint32_t>(index) * kSlotBytes, slot)) {
    return SlotState::kUnreadable;
  }
  bool blank = true;  // never written: erased EEPROM/flash (0xFF) or a new file (0x00)
  for (const std::uint8_t byte : slot) {
    blank = blank && (byte == slot[0]) && (byte == 0xFF || byte == 0x00);
  }
  if (blank) {
    return SlotState::kBlank;
  }
  if (std::memcmp(slot.data(), kMagic.data(), kMagic.size()) != 0 ||
      get16(slot.data() + 4) != kConfigVersion || get16(slot.data() + 6) != sizeof(DeviceConfig) ||
      get32(slot.data() + kCrcOffset) !=
          link::crc32c(std::span<const std::uint8_t>(slot.data(), kCrcOffset))) {
    return SlotState::kDamaged;
  }
  generation = get32(slot.data() + 8);
  std::memcpy(&config, slot.data() + kSlotHeaderBytes, sizeof(DeviceConfig));
  return SlotState::kValid;
}

}  // namespace

LoadOutcome ConfigStore::load(DeviceConfig& config) {
  config = DeviceConfig{};
  newest_slot_ = -1;
  generation_ = 0;
  if (storage_.size() < 2 * kSlotBytes) {
    return LoadOutcome::kReadError;
  }
  std::array<DeviceConfig, 2> copies{};
  std::array<std::uint32_t, 2> generations{};
  std::array<SlotState, 2> states{};
  for (int i = 0; i < 2; ++i) {
    const auto u = static_cast<std::size_t>(i);
    states[u] = read_slot(storage_, i, copies[u], generations[u]);
    if (states[u] == SlotState::kUnreadable) {
      return LoadOutcome::kReadError;
    }
  }
  for (int i = 0; i < 2; ++i) {
    const auto u = static_cast<std::size_t>(i);
    // Generations only grow; the difference (not the value) decides, so a wrap is harmless.
    if (states[u] == SlotState::kValid &&
        (newest_slot_ < 0 || static_cast<std::int32_t>(generations[u] - generation_) > 0)) {
      newest_slot_ = i;
      generation_ = generations[u];
    }
  }
  if (newest_slot_ < 0) {
    return LoadOutcome::kDefaults;
  }
  config = copies[static_cast<std::size_t>(newest_slot_)];
  const bool damaged = states[0] == SlotState::kDamaged || states[1] == SlotState::kDamaged;
  return damaged ? LoadOutcome::kRecovered : LoadOutcome::kLoaded;
}

bool ConfigStore::save(const DeviceConfig& config) {
  if (storage_.size() < 2 * kSlotBytes) {
    return false;
  }
  const int target = newest_slot_ == 0 ? 1 : 0;
  const std::uint32_t generation = generation_ + 1U;
  std::array<std::uint8_t, kSlotBytes> slot{};
  std::memcpy(slot.data(), kMagic.data(), kMagic.size());
  put16(slot.data() + 4, kConfigVersion);
  put16(slot.data() + 6, static_cast<std::uint16_t>(sizeof(DeviceConfig)));
  put32(slot.data() + 8, generation);
  std::memcpy(slot.data() + kSlotHeaderBytes, &config, sizeof(DeviceConfig));
  put32(slot.data() + kCrcOffset,
        link::crc32c(std::span<const std::uint8_t>(slot.data(), kCrcOffset)));
  if (!storage_.write(static_cast<std::uint32_t>(target) * kSlotBytes, slot)) {
    return false;  // the other slot still holds the previous copy
  }
  newest_slot_ = target;
  generation_ = generation;
  return true;
}

bool ConfigStore::erase() {
  std::array<std::uint8_t, kSlotBytes> blank{};
  blank.fill(0xFF);
  const bool ok = storage_.write(0, blank) && storage_.write(kSlotBytes, blank);
  newest_slot_ = -1;
  generation_ = 0;
  return ok;
}

}  // namespace edge::firmware
