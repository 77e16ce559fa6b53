#include "edge/event_id/event_id.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace edge {
namespace {

std::string format(const EventId& id) {
  std::array<char, kEventIdTextMax> text{};
  const auto written = format_event_id(id, text);
  EXPECT_TRUE(written.ok());
  return {text.data(), written.value()};
}

TEST(EventId, FormatsDeviceAsHexAndCountersAsDecimal) {
  EXPECT_EQ(format({0xA1, 7, 42}), "00000000000000a1-7-42");
  EXPECT_EQ(format({0, 0, 0}), "0000000000000000-0-0");
}

TEST(EventId, LongestTextFitsTheNamedBound) {
  const EventId max{UINT64_MAX, UINT32_MAX, UINT32_MAX};
  const std::string text = format(max);
  EXPECT_EQ(text, "ffffffffffffffff-4294967295-4294967295");
  EXPECT_EQ(text.size(), kEventIdTextMax);
}

TEST(EventId, FormatRefusesAShortBuffer) {
  std::array<char, 20> small{};
  const auto result = format_event_id({1, 10, 10}, small);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(), EventIdError::kBufferTooSmall);
}

TEST(EventId, ParseRoundTripsFormat) {
  for (const EventId& id :
       {EventId{0, 0, 0}, EventId{0xA1, 7, 42}, EventId{0x0123456789ABCDEFULL, 1, UINT32_MAX},
        EventId{UINT64_MAX, UINT32_MAX, 0}}) {
    const auto parsed = parse_event_id(format(id));
    ASSERT_TRUE(parsed.ok()) << format(id);
    EXPECT_EQ(parsed.value(), id);
  }
}

TEST(EventId, ParseRefusesAnythingButTheExactTextForm) {
  for (const char* text :
       {"", "00000000000000a1-7", "00000000000000A1-7-42", "0000000000000a1-7-42",
        "000000000000000a1-7-42", "00000000000000a1-07-42", "00000000000000a1-7-+42",
        "00000000000000a1-7-42 ", "00000000000000a1--7-42", "00000000000000a1-7-4294967296",
        "00000000000000a1-7-42-1", "00000000000000a1_7_42", "00000000000000g1-7-42"}) {
    const auto parsed = parse_event_id(text);
    EXPECT_FALSE(parsed.ok()) << '"' << text << '"';
  }
}

TEST(EventId, KeyRoundTripsAndSortsByDeviceBootSeq) {
  std::vector<EventId> ids = {{2, 0, 0}, {1, 1, 0}, {1, 0, 300}, {1, 0, 2}, {1, 0, 0x01000000}};
  std::vector<std::array<std::uint8_t, kEventIdKeySize>> keys;
  for (const auto& id : ids) {
    std::array<std::uint8_t, kEventIdKeySize> key{};
    event_id_to_key(id, key);
    EXPECT_EQ(event_id_from_key(key), id);
    keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());  // byte order, as LMDB compares keys
  std::sort(ids.begin(), ids.end());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(event_id_from_key(keys[i]), ids[i]);
  }
}

}  // namespace
}  // namespace edge
