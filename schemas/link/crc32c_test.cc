#include "edge/link/crc32c.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
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

// The instructions (when this machine has them) and the table agree on every length around the
// 8-byte steps, every alignment and every starting CRC tried.
TEST(Crc32c, HardwareAndTableAgree) {
  std::array<std::uint8_t, 600> data{};
  std::uint32_t seed = 0x12345678U;
  for (std::uint8_t& b : data) {
    seed = seed * 1664525U + 1013904223U;
    b = static_cast<std::uint8_t>(seed >> 24U);
  }
  for (std::size_t offset = 0; offset < 9; ++offset) {
    for (std::size_t length = 0; length + offset <= 300; ++length) {
      const auto piece = std::span<const std::uint8_t>(data).subspan(offset, length);
      ASSERT_EQ(crc32c(piece), crc32c_table(piece)) << offset << " " << length;
      ASSERT_EQ(crc32c(piece, 0xDEADBEEFU), crc32c_table(piece, 0xDEADBEEFU));
    }
  }
  std::printf("crc32c: %s\n", crc32c_hardware_used() ? "CPU instructions" : "table");
}

}  // namespace
}  // namespace edge::link
