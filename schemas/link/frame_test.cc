#include "edge/link/frame.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace edge::link {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes frame(const Bytes& payload) {
  Bytes out(max_encoded_frame_size(payload.size()));
  const auto n = encode_frame(payload, out);
  EXPECT_TRUE(n.ok());
  out.resize(n.ok() ? n.value() : 0);
  return out;
}

Bytes payload_of(std::size_t size, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(size);
  for (auto& b : out) {
    b = static_cast<std::uint8_t>(rng() % 3 == 0 ? 0 : rng());  // plenty of zeros to stuff
  }
  return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

// Collects what a decoder reports, in order.
struct Sink {
  std::vector<Bytes> frames;
  std::vector<FrameError> errors;

  void feed(FrameDecoder& decoder, const Bytes& bytes) {
    decoder.feed(
        bytes, [&](std::span<const std::uint8_t> p) { frames.emplace_back(p.begin(), p.end()); },
        [&](FrameError e) { errors.push_back(e); });
  }
};

TEST(Frame, RoundTripsWhateverTheChunking) {
  const Bytes a = payload_of(100, 1);
  const Bytes b = payload_of(1, 2);
  const Bytes c = payload_of(kMaxFramePayload, 3);
  const Bytes wire = cat({frame(a), frame(b), frame(c)});
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{255}, wire.size()}) {
    FrameDecoderBuffer<> decoder;
    Sink sink;
    for (std::size_t at = 0; at < wire.size(); at += chunk) {
      sink.feed(decoder, Bytes(wire.begin() + static_cast<std::ptrdiff_t>(at),
                               wire.begin() +
                                   static_cast<std::ptrdiff_t>(std::min(wire.size(), at + chunk))));
    }
    EXPECT_TRUE(sink.errors.empty()) << "chunk " << chunk;
    ASSERT_EQ(sink.frames.size(), 3U) << "chunk " << chunk;
    EXPECT_EQ(sink.frames[0], a);
    EXPECT_EQ(sink.frames[1], b);
    EXPECT_EQ(sink.frames[2], c);
    EXPECT_EQ(decoder.pending(), 0U);
  }
}

TEST(Frame, WireFormatIsCobsOfPayloadAndLittleEndianCrcThenDelimiter) {
  // "123456789" has CRC-32C 0xE3069283: bytes 83 92 06 E3 on the wire; no zeros, one block.
  const Bytes payload = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  const Bytes expected = {14,  '1', '2',  '3',  '4',  '5',  '6', '7',
                          '8', '9', 0x83, 0x92, 0x06, 0xE3, 0x00};
  EXPECT_EQ(frame(payload), expected);
}

TEST(Frame, EmptyFramesAndLeadingDelimitersAreIgnored) {
  FrameDecoderBuffer<> decoder;
  Sink sink;
  sink.feed(decoder, cat({{0, 0, 0}, frame({0x42}), {0, 0}}));
  EXPECT_TRUE(sink.errors.empty());
  ASSERT_EQ(sink.frames.size(), 1U);
  EXPECT_EQ(sink.frames[0], Bytes{0x42});
}

TEST(Frame, TruncatedFrameIsRefusedAndTheNextGoodFrameAccepted) {
  const Bytes good = payload_of(64, 4);
  Bytes cut = frame(payload_of(64, 5));
  cut.resize(cut.size() - 6);  // lose the tail and the delimiter, as a reset device would
  FrameDecoderBuffer<> decoder;
  Sink sink;
  // The cut frame runs into the next one: the decoder sees one long bad frame, then resyncs.
  sink.feed(decoder, cat({cut, {0x00}, frame(good)}));
  ASSERT_EQ(sink.errors.size(), 1U);
  EXPECT_TRUE(sink.errors[0] == FrameError::kBadCrc || sink.errors[0] == FrameError::kBadCobs)
      << to_string(sink.errors[0]);
  ASSERT_EQ(sink.frames.size(), 1U);
  EXPECT_EQ(sink.frames[0], good);
}

TEST(Frame, ShortFrameIsRefusedAsTooShort) {
  FrameDecoderBuffer<> decoder;
  Sink sink;
  sink.feed(decoder, {0x04, 0x11, 0x22, 0x33, 0x00});  // three bytes: less than a CRC
  ASSERT_EQ(sink.errors.size(), 1U);
  EXPECT_EQ(sink.errors[0], FrameError::kTooShort);
}

TEST(Frame, BitFlipInTheDataIsRefusedAsBadCrc) {
  const Bytes payload = payload_of(200, 6);
  Bytes wire = frame(payload);
  // Flip one bit of a data byte that stays non-zero, so COBS still decodes and only the CRC can
  // tell.
  std::size_t at = wire.size() / 2;
  while (wire[at] == 0x01 || wire[at] == 0x00) {
    ++at;
  }
  wire[at] ^= 0x01;
  FrameDecoderBuffer<> decoder;
  Sink sink;
  sink.feed(decoder, cat({wire, frame(payload)}));
  ASSERT_GE(sink.errors.size(), 1U);
  for (const FrameError e : sink.errors) {
    EXPECT_TRUE(e == FrameError::kBadCrc || e == FrameError::kBadCobs) << to_string(e);
  }
  ASSERT_EQ(sink.frames.size(), 1U);
  EXPECT_EQ(sink.frames[0], payload);
}

TEST(Frame, EverySingleBitFlipIsRefusedNeverDeliveredCorrupt) {
  const Bytes payload = payload_of(300, 7);
  const Bytes clean = frame(payload);
  for (std::size_t byte = 0; byte + 1 < clean.size(); ++byte) {  // all but the delimiter
    for (unsigned bit = 0; bit < 8; ++bit) {
      Bytes wire = clean;
      wire[byte] = static_cast<std::uint8_t>(wire[byte] ^ (1U << bit));
      FrameDecoderBuffer<> decoder;
      Sink sink;
      sink.feed(decoder, cat({wire, frame(payload)}));
      EXPECT_GE(sink.errors.size(), 1U) << byte << ":" << bit;
      ASSERT_FALSE(sink.frames.empty());
      // Whatever the flip did, the only frame delivered is the clean one that follows.
      EXPECT_EQ(sink.frames.size(), 1U) << byte << ":" << bit;
      EXPECT_EQ(sink.frames.back(), payload);
    }
  }
}

TEST(Frame, OversizeFrameIsRefusedAndSkippedToTheNextDelimiter) {
  FrameDecoderBuffer<64> decoder;
  EXPECT_EQ(decoder.max_payload(), 64U);
  const Bytes at_bound = payload_of(64, 8);
  const Bytes over = payload_of(65, 9);
  Bytes over_wire(max_encoded_frame_size(over.size()));
  const auto n = encode_frame(over, over_wire, over.size());
  ASSERT_TRUE(n.ok());
  over_wire.resize(n.value());
  Sink sink;
  sink.feed(decoder, cat({frame(at_bound), over_wire, Bytes(5000, 0x55), {0x00}, frame(at_bound)}));
  ASSERT_EQ(sink.frames.size(), 2U);
  EXPECT_EQ(sink.frames[0], at_bound);
  EXPECT_EQ(sink.frames[1], at_bound);
  // The 65-byte frame is one kOversize; 5000 bytes of 0x55 up to the delimiter is another.
  EXPECT_EQ(sink.errors, (std::vector<FrameError>{FrameError::kOversize, FrameError::kOversize}));
}

// Found while writing tests/fuzz/link_frame_fuzz's invariants: the decoder bounded the encoded
// frame by its storage but not the payload, and a payload rich in zeros (one COBS byte each)
// up to 8 bytes above kMaxFramePayload was delivered although the header promises kOversize.
TEST(Frame, APayloadAboveTheBoundIsOversizeEvenWhenItsEncodingFitsTheStorage) {
  FrameDecoderBuffer<> decoder;
  for (std::size_t size = kMaxFramePayload + 1; size <= kMaxFramePayload + 8; ++size) {
    const Bytes zeros(size, 0x00);
    Bytes wire(max_encoded_frame_size(size));
    const auto n = encode_frame(zeros, wire, 2 * kMaxFramePayload);
    ASSERT_TRUE(n.ok());
    wire.resize(n.value());
    ASSERT_LE(wire.size() - 1, cobs_max_encoded_size(kMaxFramePayload + kFrameCrcSize))
        << "the frame fits the decoder's storage";
    Sink sink;
    sink.feed(decoder, cat({wire, frame(Bytes(kMaxFramePayload, 0))}));
    EXPECT_EQ(sink.errors, std::vector<FrameError>{FrameError::kOversize}) << size;
    ASSERT_EQ(sink.frames.size(), 1U) << "the next frame at the bound is accepted";
    EXPECT_EQ(sink.frames[0].size(), kMaxFramePayload);
  }
}

TEST(Frame, EncoderRefusesPayloadsOutsideTheBounds) {
  Bytes out(max_encoded_frame_size(kMaxFramePayload + 1));
  const auto empty = encode_frame({}, out);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error(), FrameError::kEmptyPayload);
  const Bytes big(kMaxFramePayload + 1, 0x11);
  const auto too_big = encode_frame(big, out);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error(), FrameError::kPayloadTooLarge);
  Bytes small(8);
  const auto no_room = encode_frame(Bytes(8, 0x11), small);
  ASSERT_FALSE(no_room.ok());
  EXPECT_EQ(no_room.error(), FrameError::kOutputTooSmall);
}

TEST(Frame, RandomNoiseNeverCrashesAndResyncs) {
  std::mt19937 rng(11);
  FrameDecoderBuffer<256> decoder;
  Sink sink;
  Bytes noise(1 << 20);
  for (auto& b : noise) {
    b = static_cast<std::uint8_t>(rng());
  }
  sink.feed(decoder, noise);
  EXPECT_FALSE(sink.errors.empty());
  const Bytes payload = payload_of(100, 12);
  sink.frames.clear();
  sink.feed(decoder, cat({{0x00}, frame(payload)}));
  ASSERT_EQ(sink.frames.size(), 1U);
  EXPECT_EQ(sink.frames[0], payload);
}

TEST(Frame, ErrorNamesAreStable) {
  EXPECT_EQ(std::string(to_string(FrameError::kBadCrc)), "bad_crc");
  EXPECT_EQ(std::string(to_string(FrameError::kBadCobs)), "bad_cobs");
  EXPECT_EQ(std::string(to_string(FrameError::kOversize)), "oversize");
  EXPECT_EQ(std::string(to_string(FrameError::kTooShort)), "too_short");
}

}  // namespace
}  // namespace edge::link
