#include "edge/link/cobs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

namespace edge::link {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes encode(const Bytes& in) {
  Bytes out(cobs_max_encoded_size(in.size()));
  const auto n = cobs_encode(in, out);
  EXPECT_TRUE(n.ok());
  out.resize(n.value());
  return out;
}

Bytes decode(const Bytes& in) {
  Bytes out(in.size());
  const auto n = cobs_decode(in, out);
  EXPECT_TRUE(n.ok());
  out.resize(n.ok() ? n.value() : 0);
  return out;
}

Bytes iota(std::uint8_t first, std::size_t count) {
  Bytes out(count);
  std::iota(out.begin(), out.end(), first);
  return out;
}

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The published examples (Cheshire & Baker; the Wikipedia table), including every 254-byte edge.
TEST(Cobs, EncodesThePublishedExamples) {
  EXPECT_EQ(encode({0x00}), (Bytes{0x01, 0x01}));
  EXPECT_EQ(encode({0x00, 0x00}), (Bytes{0x01, 0x01, 0x01}));
  EXPECT_EQ(encode({0x00, 0x11, 0x00}), (Bytes{0x01, 0x02, 0x11, 0x01}));
  EXPECT_EQ(encode({0x11, 0x22, 0x00, 0x33}), (Bytes{0x03, 0x11, 0x22, 0x02, 0x33}));
  EXPECT_EQ(encode({0x11, 0x22, 0x33, 0x44}), (Bytes{0x05, 0x11, 0x22, 0x33, 0x44}));
  EXPECT_EQ(encode({0x11, 0x00, 0x00, 0x00}), (Bytes{0x02, 0x11, 0x01, 0x01, 0x01}));
  // 01..FE: one full block, no trailing empty block.
  EXPECT_EQ(encode(iota(0x01, 254)), cat({0xFF}, iota(0x01, 254)));
  // 00 01..FE
  EXPECT_EQ(encode(cat({0x00}, iota(0x01, 254))), cat({0x01, 0xFF}, iota(0x01, 254)));
  // 01..FF: a full block, then a block holding the 255th byte.
  EXPECT_EQ(encode(iota(0x01, 255)), cat(cat({0xFF}, iota(0x01, 254)), {0x02, 0xFF}));
  // 02..FF 00
  EXPECT_EQ(encode(cat(iota(0x02, 254), {0x00})), cat(cat({0xFF}, iota(0x02, 254)), {0x01, 0x01}));
  // 03..FF 00 01
  EXPECT_EQ(encode(cat(iota(0x03, 253), {0x00, 0x01})),
            cat(cat({0xFE}, iota(0x03, 253)), {0x02, 0x01}));
}

TEST(Cobs, EmptyInputEncodesToOneByte) {
  EXPECT_EQ(encode({}), (Bytes{0x01}));
  EXPECT_TRUE(decode({0x01}).empty());
}

TEST(Cobs, RoundTripsTheRunEdgesAndAllZeroPayloads) {
  std::mt19937 rng(7);
  for (const std::size_t length : std::initializer_list<std::size_t>{1, 2, 253, 254, 255, 256, 507,
                                                                     508, 509, 762, 1000, 2052}) {
    Bytes nonzero(length);
    std::generate(nonzero.begin(), nonzero.end(),
                  [&] { return static_cast<std::uint8_t>(1 + rng() % 255); });
    Bytes zeros(length, 0x00);
    Bytes mixed(length);
    std::generate(mixed.begin(), mixed.end(), [&] { return static_cast<std::uint8_t>(rng() % 4); });
    for (const Bytes& in : {nonzero, zeros, mixed}) {
      const Bytes encoded = encode(in);
      EXPECT_LE(encoded.size(), cobs_max_encoded_size(in.size()));
      EXPECT_EQ(std::count(encoded.begin(), encoded.end(), 0x00), 0) << "length " << length;
      EXPECT_EQ(decode(encoded), in) << "length " << length;
    }
  }
}

TEST(Cobs, DecodesInPlace) {
  const Bytes in = {0x11, 0x00, 0x22, 0x33, 0x00, 0x00, 0x44};
  Bytes buffer = encode(in);
  const auto n = cobs_decode(buffer, buffer);
  ASSERT_TRUE(n.ok());
  buffer.resize(n.value());
  EXPECT_EQ(buffer, in);
}

TEST(Cobs, RefusesAZeroInsideEncodedData) {
  Bytes out(8);
  const auto as_code = cobs_decode(Bytes{0x02, 0x11, 0x00, 0x22}, out);
  ASSERT_FALSE(as_code.ok());
  EXPECT_EQ(as_code.error(), CobsError::kZeroInInput);
  const auto as_data = cobs_decode(Bytes{0x03, 0x11, 0x00}, out);
  ASSERT_FALSE(as_data.ok());
  EXPECT_EQ(as_data.error(), CobsError::kZeroInInput);
}

TEST(Cobs, RefusesACodeThatRunsPastTheEnd) {
  Bytes out(8);
  const auto result = cobs_decode(Bytes{0x05, 0x11, 0x22}, out);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(), CobsError::kTruncated);
}

TEST(Cobs, RefusesOutputBuffersThatAreTooSmall) {
  Bytes small(3);
  const auto encoded = cobs_encode(iota(1, 3), small);
  ASSERT_FALSE(encoded.ok());
  EXPECT_EQ(encoded.error(), CobsError::kOutputTooSmall);
  const auto decoded = cobs_decode(Bytes{0x05, 0x11, 0x22, 0x33, 0x44}, small);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error(), CobsError::kOutputTooSmall);
}

}  // namespace
}  // namespace edge::link
