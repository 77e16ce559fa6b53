#include "edge/link/crc32c.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>

namespace edge::link {
namespace {

std::span<const std::uint8_t> bytes(const char* text) {
  return {reinterpret_cast<const std::uint8_t*>(text), std::strlen(text)};
}

TEST(Crc32c, MatchesTheCatalogueCheckValue) {
  EXPECT_EQ(crc32c(bytes("123456789")), kCrc32cCheck);
  EXPECT_EQ(kCrc32cCheck, 0xE3069283U);
}

TEST(Crc32c, MatchesRfc3720TestVectors) {
  // iSCSI (RFC 3720, B.4): 32 bytes of zeros, of 0xFF, and an incrementing sequence.
  std::array<std::uint8_t, 32> data{};
  EXPECT_EQ(crc32c(data), 0x8A9136AAU);
  data.fill(0xFF);
  EXPECT_EQ(crc32c(data), 0x62A8AB43U);
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<std::uint8_t>(i);
  }
  EXPECT_EQ(crc32c(data), 0x46DD794EU);
}

TEST(Crc32c, PiecewiseEqualsOneShot) {
  const auto all = bytes("123456789");
  const std::uint32_t first = crc32c(all.first(4));
  EXPECT_EQ(crc32c(all.subspan(4), first), kCrc32cCheck);
}

TEST(Crc32c, EmptyInputIsZero) {
  EXPECT_EQ(crc32c({}), 0U);
}

}  // namespace
}  // namespace edge::link
