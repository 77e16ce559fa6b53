#include "edge/firmware/config_store.h"

#include <gtest/gtest.h>

#include <vector>

namespace edge::firmware {
namespace {

// An EEPROM in RAM that can cut a write off after `fail_after` bytes (power loss mid-write).
class MemoryStorage final : public Storage {
 public:
  explicit MemoryStorage(std::size_t size, std::uint8_t fill = 0xFF) : bytes(size, fill) {}
  bool read(std::uint32_t offset, std::span<std::uint8_t> out) override {
    if (unreadable || offset + out.size() > bytes.size()) {
      return false;
    }
    std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(offset), out.size(), out.begin());
    return true;
  }
  bool write(std::uint32_t offset, std::span<const std::uint8_t> in) override {
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (fail_after >= 0 && static_cast<std::ptrdiff_t>(i) >= fail_after) {
        return false;
      }
      bytes.at(offset + i) = in[i];
    }
    return true;
  }
  [[nodiscard]] std::uint32_t size() const override {
    return static_cast<std::uint32_t>(bytes.size());
  }
  std::vector<std::uint8_t> bytes;
  std::ptrdiff_t fail_after = -1;
  bool unreadable = false;
};

DeviceConfig config_with(std::uint64_t id, std::uint32_t boot) {
  DeviceConfig c;
  c.device_id = id;
  c.boot_counter = boot;
  c.sample_interval_ms[0] = 1000;
  c.i2c_address[0] = 0x48;
  return c;
}

TEST(ConfigStore, BlankStorageGivesDefaultsForErasedAndZeroedMedia) {
  for (const int fill : {0xFF, 0x00}) {
    MemoryStorage storage(1024, static_cast<std::uint8_t>(fill));
    ConfigStore store(storage);
    DeviceConfig c = config_with(9, 9);
    EXPECT_EQ(store.load(c), LoadOutcome::kDefaults);
    EXPECT_EQ(c.device_id, 0U);
    EXPECT_EQ(c.link_baud, 115200U);
  }
}

TEST(ConfigStore, SavedConfigLoadsBackAfterARestartAndTheNewestWins) {
  MemoryStorage storage(1024);
  {
    ConfigStore store(storage);
    DeviceConfig c;
    ASSERT_EQ(store.load(c), LoadOutcome::kDefaults);
    for (std::uint32_t boot = 1; boot <= 5; ++boot) {
      ASSERT_TRUE(store.save(config_with(0xA1, boot)));
    }
  }
  ConfigStore again(storage);  // a reboot
  DeviceConfig c;
  EXPECT_EQ(again.load(c), LoadOutcome::kLoaded);
  EXPECT_EQ(c.device_id, 0xA1U);
  EXPECT_EQ(c.boot_counter, 5U);
  EXPECT_EQ(c.sample_interval_ms[0], 1000U);
}

// Power cut at every byte of a save: the device always comes back with the old or the new
// configuration, never garbage and never defaults.
TEST(ConfigStore, AWriteCutOffAtAnyByteNeverLosesBothCopies) {
  for (std::ptrdiff_t cut = 0; cut < static_cast<std::ptrdiff_t>(kSlotBytes); ++cut) {
    MemoryStorage storage(1024);
    ConfigStore store(storage);
    DeviceConfig c;
    (void)store.load(c);
    ASSERT_TRUE(store.save(config_with(0xB2, 1)));
    ASSERT_TRUE(store.save(config_with(0xB2, 2)));
    storage.fail_after = cut;
    EXPECT_FALSE(store.save(config_with(0xB2, 3)));
    storage.fail_after = -1;
    ConfigStore after(storage);
    const LoadOutcome outcome = after.load(c);
    ASSERT_TRUE(outcome == LoadOutcome::kLoaded || outcome == LoadOutcome::kRecovered)
        << "cut at " << cut;
    EXPECT_EQ(c.device_id, 0xB2U);
    EXPECT_EQ(c.boot_counter, 2U) << "cut at " << cut;
  }
}

TEST(ConfigStore, AFlippedBitInTheNewestCopyFallsBackToTheOlderOne) {
  MemoryStorage storage(1024);
  ConfigStore store(storage);
  DeviceConfig c;
  (void)store.load(c);
  ASSERT_TRUE(store.save(config_with(0xC3, 1)));  // slot A
  ASSERT_TRUE(store.save(config_with(0xC3, 2)));  // slot B
  storage.bytes[kSlotBytes + kSlotHeaderBytes + 3] ^= 0x10U;
  ConfigStore after(storage);
  EXPECT_EQ(after.load(c), LoadOutcome::kRecovered);
  EXPECT_EQ(c.boot_counter, 1U);
  // The next save overwrites the damaged slot, keeping the good one.
  ASSERT_TRUE(after.save(config_with(0xC3, 3)));
  ConfigStore third(storage);
  EXPECT_EQ(third.load(c), LoadOutcome::kLoaded);
  EXPECT_EQ(c.boot_counter, 3U);
}

TEST(ConfigStore, UnreadableOrTooSmallStorageIsReportedNotGuessed) {
  MemoryStorage storage(1024);
  storage.unreadable = true;
  ConfigStore store(storage);
  DeviceConfig c;
  EXPECT_EQ(store.load(c), LoadOutcome::kReadError);
  MemoryStorage small(kSlotBytes);  // room for one copy only
  ConfigStore tiny(small);
  EXPECT_EQ(tiny.load(c), LoadOutcome::kReadError);
  EXPECT_FALSE(tiny.save(c));
}

TEST(ConfigStore, AnotherVersionsLayoutIsNotMisread) {
  MemoryStorage storage(1024);
  ConfigStore store(storage);
  DeviceConfig c;
  (void)store.load(c);
  ASSERT_TRUE(store.save(config_with(0xD4, 1)));
  storage.bytes[4] = static_cast<std::uint8_t>(kConfigVersion + 1U);  // a future layout
  ConfigStore after(storage);
  EXPECT_EQ(after.load(c), LoadOutcome::kDefaults) << "no valid copy left";
  EXPECT_EQ(c.device_id, 0U) << "defaults, not a misread";
}

}  // namespace
}  // namespace edge::firmware
