// Each injection reaches a gateway's decoder as the refusal it is named after, and the stream
// recovers for the next good frame.
#include "injections.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <sys/socket.h>
#include <vector>

#include "device_sim.h"
#include "fake_gateway.h"

namespace edge::devsim {
namespace {

using testing::FakeGateway;
using testing::Message;

constexpr std::uint64_t kDevice = 0x1122334455667788ULL;
constexpr std::uint32_t kBoot = 3;

// What a gateway makes of `bytes`: "frame:<error>", "wire:<error>" or the message kind.
std::vector<std::string> decode(const Bytes& bytes) {
  int fds[2] = {-1, -1};
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  EXPECT_EQ(::write(fds[0], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  FakeGateway gateway(fds[1]);
  std::vector<std::string> kinds;
  for (const Message& m : gateway.read_available()) {
    kinds.push_back(m.kind);
  }
  ::close(fds[0]);
  ::close(fds[1]);
  return kinds;
}

TEST(DevsimInjections, ParsesNamesAndRefusesUnknownOnes) {
  EXPECT_EQ(parse_injections(""), std::vector<Injection>{});
  EXPECT_EQ(parse_injections("bad_crc,garbage,bad_crc"),
            (std::vector<Injection>{Injection::kBadCrc, Injection::kGarbage, Injection::kBadCrc}));
  EXPECT_THROW((void)parse_injections("bad_crc,nope"), std::invalid_argument);
  EXPECT_THROW((void)parse_injections("bad_crc,"), std::invalid_argument);
  for (const char* name : {"bad_crc", "truncated", "oversize", "bad_identifier", "future_version",
                           "garbage", "invalid_flatbuffer"}) {
    const auto injection = parse_injection(name);
    ASSERT_TRUE(injection.has_value()) << name;
    EXPECT_STREQ(to_string(*injection), name);
  }
}

TEST(DevsimInjections, EachIsRefusedForItsOwnReasonAndTheStreamRecovers) {
  const std::vector<std::pair<Injection, std::string>> cases = {
      {Injection::kBadCrc, "frame:bad_crc"},
      {Injection::kTruncated, "frame:bad_cobs"},
      {Injection::kOversize, "frame:oversize"},
      {Injection::kBadIdentifier, "wire:bad_identifier"},
      {Injection::kFutureVersion, "wire:unsupported_version"},
      {Injection::kGarbage, "frame:bad_cobs"},
      {Injection::kInvalidFlatbuffer, "wire:invalid_flatbuffer"},
  };
  flatbuffers::FlatBufferBuilder fbb;
  wire::HelloFields hello;
  hello.device = kDevice;
  const auto good = wire::encode_hello(fbb, hello);
  ASSERT_TRUE(good.ok());
  const Bytes good_frame = frame_of(good.value());
  for (const auto& [injection, expected] : cases) {
    for (const std::uint64_t device : {kDevice, std::uint64_t{1}, std::uint64_t{0xA1}}) {
      Bytes bytes = build_injection(injection, device, kBoot);
      EXPECT_EQ(build_injection(injection, device, kBoot), bytes) << "deterministic";
      bytes.insert(bytes.end(), good_frame.begin(), good_frame.end());
      EXPECT_EQ(decode(bytes), (std::vector<std::string>{expected, "hello"}))
          << to_string(injection) << " device " << device;
    }
  }
}

TEST(DevsimInjections, GoRightAfterTheFirstHelloAndBeforeAnyEvent) {
  int fds[2] = {-1, -1};
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  SimConfig c;
  c.device = kDevice;
  c.boot = kBoot;
  c.count = 2;
  c.inject = parse_injections(
      "bad_crc,truncated,oversize,bad_identifier,future_version,garbage,invalid_flatbuffer");
  const TimePoint t0{};
  DeviceSim sim(c, t0);
  sim.attach(fds[0]);
  ASSERT_EQ(sim.service(t0), LinkState::kUp);
  FakeGateway gateway(fds[1]);
  std::vector<std::string> kinds;
  for (const Message& m : gateway.read_available()) {
    kinds.push_back(m.kind);
  }
  EXPECT_EQ(kinds,
            (std::vector<std::string>{"hello", "frame:bad_crc", "frame:bad_cobs", "frame:oversize",
                                      "wire:bad_identifier", "wire:unsupported_version",
                                      "frame:bad_cobs", "wire:invalid_flatbuffer", "batch"}));
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace edge::devsim
