// DeviceSim against a scripted gateway over a socketpair, on a fake clock: every time below is
// exact, and nothing sleeps.
#include "device_sim.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <vector>

#include "fake_gateway.h"

namespace edge::devsim {
namespace {

using namespace std::chrono_literals;
using testing::FakeGateway;
using testing::Message;
using Seqs = std::vector<std::uint32_t>;

constexpr std::uint64_t kDevice = 0xA1;
constexpr std::uint32_t kBoot = 7;

class DevsimSim : public ::testing::Test {
 protected:
  void SetUp() override {
    open_link();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    log_path_ = std::filesystem::path(::testing::TempDir()) /
                (std::string("devsim_") + info->name() + ".acked");
    std::filesystem::remove(log_path_);
  }
  void TearDown() override {
    close_link();
    std::filesystem::remove(log_path_);
  }

  void open_link() {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds_), 0);
    gateway_ = std::make_unique<FakeGateway>(fds_[1]);
  }
  void close_link() {
    for (int& fd : fds_) {
      if (fd >= 0) {
        ::close(fd);
        fd = -1;
      }
    }
  }

  SimConfig config(std::uint64_t count) const {
    SimConfig c;
    c.device = kDevice;
    c.boot = kBoot;
    c.count = count;
    c.acked_log = log_path_.string();
    return c;
  }

  std::string acked_log() const {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // Sends an ack of this device and boot.
  void ack(wire::AckStatus status, std::vector<wire::SeqRange> ranges,
           std::optional<std::uint32_t> cumulative = std::nullopt, std::uint32_t retry_ms = 0,
           std::uint64_t device = kDevice, std::uint32_t boot = kBoot) {
    wire::AckFields f;
    f.device = device;
    f.boot = boot;
    f.status = status;
    f.cumulative_seq = cumulative;
    f.selective = ranges;
    f.retry_after_ms = retry_ms;
    gateway_->send_ack(f);
  }

  std::vector<Seqs> batches() {
    std::vector<Seqs> out;
    for (const Message& m : gateway_->read_available()) {
      EXPECT_EQ(m.kind, "batch");
      out.push_back(m.seqs());
    }
    return out;
  }

  // Attaches, services once at t0 and checks the Hello came first.
  void connect(DeviceSim& sim, std::uint32_t ring_capacity) {
    sim.attach(fds_[0]);
    ASSERT_EQ(sim.service(t0_), LinkState::kUp);
    const auto hello = gateway_->read_at_least(1, 1s);
    ASSERT_FALSE(hello.empty());
    EXPECT_EQ(hello.front().kind, "hello");
    EXPECT_EQ(hello.front().ring_capacity, ring_capacity);
    pending_.assign(hello.begin() + 1, hello.end());
  }

  std::vector<Seqs> pending_batches() {
    std::vector<Seqs> out;
    for (const Message& m : pending_) {
      out.push_back(m.seqs());
    }
    pending_.clear();
    return out;
  }

  int fds_[2] = {-1, -1};
  std::unique_ptr<FakeGateway> gateway_;
  std::filesystem::path log_path_;
  std::vector<Message> pending_;
  const TimePoint t0_ = TimePoint{} + 1000s;
};

TEST_F(DevsimSim, SendsHelloFirstThenBatchesOfIncreasingSeqs) {
  SimConfig c = config(10);
  c.first_seq = 40;
  c.batch = 4;
  c.ring = 16;
  DeviceSim sim(c, t0_);
  sim.attach(fds_[0]);
  ASSERT_EQ(sim.service(t0_), LinkState::kUp);
  const std::vector<Message> got = gateway_->read_available();
  ASSERT_EQ(got.size(), 4U);
  const Message& hello = got[0];
  EXPECT_EQ(hello.kind, "hello");
  EXPECT_EQ(hello.device, kDevice);
  EXPECT_EQ(hello.boot, kBoot);
  EXPECT_EQ(hello.schema_version, 0x0100);
  EXPECT_EQ(hello.firmware_version, "devsim");
  EXPECT_EQ(hello.board, "devsim");
  EXPECT_EQ(hello.ring_capacity, 16U);
  const std::vector<Seqs> expected = {{40, 41, 42, 43}, {44, 45, 46, 47}, {48, 49}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Message& b = got[i + 1];
    EXPECT_EQ(b.kind, "batch");
    EXPECT_EQ(b.device, kDevice);
    EXPECT_EQ(b.ring_dropped, 0U);
    EXPECT_EQ(b.seqs(), expected[i]);
    for (std::size_t k = 0; k < b.ids.size(); ++k) {
      EXPECT_EQ(b.ids[k].device, kDevice);
      EXPECT_EQ(b.ids[k].boot, kBoot);
      EXPECT_EQ(b.sensors[k], "devsim");
      EXPECT_EQ(b.celsius[k], 20.0F + static_cast<float>(b.ids[k].seq % 100) / 10.0F);
    }
  }
  EXPECT_EQ(sim.stats().produced, 10U);
  EXPECT_EQ(sim.stats().frames_sent, 3U);
  EXPECT_EQ(sim.stats().retransmits, 0U);
  EXPECT_EQ(sim.pending(), 10U);
  EXPECT_FALSE(sim.finished());
}

TEST_F(DevsimSim, OkAckFreesAndLogsExactlyTheCoveredEvents) {
  SimConfig c = config(10);
  c.first_seq = 40;
  DeviceSim sim(c, t0_);
  connect(sim, 256);
  EXPECT_EQ(pending_batches(), (std::vector<Seqs>{{40, 41, 42, 43, 44, 45}, {46, 47, 48, 49}}));

  ack(wire::AckStatus::Ok, {{46, 47}, {49, 49}}, 43);
  ASSERT_EQ(sim.service(t0_ + 1ms), LinkState::kUp);
  EXPECT_EQ(sim.pending_seqs(), (Seqs{44, 45, 48}));
  EXPECT_EQ(sim.stats().acked, 7U);
  EXPECT_EQ(acked_log(),
            "00000000000000a1-7-40\n00000000000000a1-7-41\n00000000000000a1-7-42\n"
            "00000000000000a1-7-43\n00000000000000a1-7-46\n00000000000000a1-7-47\n"
            "00000000000000a1-7-49\n");

  // Another device, another boot: ignored and counted.
  ack(wire::AckStatus::Ok, {{44, 48}}, std::nullopt, 0, kDevice + 1, kBoot);
  ack(wire::AckStatus::Ok, {{44, 48}}, std::nullopt, 0, kDevice, kBoot + 1);
  ASSERT_EQ(sim.service(t0_ + 2ms), LinkState::kUp);
  EXPECT_EQ(sim.stats().foreign_acks, 2U);
  EXPECT_EQ(sim.pending_seqs(), (Seqs{44, 45, 48}));

  // Seqs acked twice are logged once.
  ack(wire::AckStatus::Ok, {{40, 44}});
  ASSERT_EQ(sim.service(t0_ + 3ms), LinkState::kUp);
  EXPECT_EQ(sim.stats().acked, 8U);
  EXPECT_EQ(sim.pending_seqs(), (Seqs{45, 48}));
  EXPECT_EQ(acked_log().substr(7 * 22), "00000000000000a1-7-44\n");
  EXPECT_TRUE(batches().empty());
}

TEST_F(DevsimSim, ResendsUnackedEventsAfterTheAckTimeout) {
  SimConfig c = config(6);
  c.ack_timeout = 100ms;
  DeviceSim sim(c, t0_);
  connect(sim, 256);
  EXPECT_EQ(pending_batches(), (std::vector<Seqs>{{0, 1, 2, 3, 4, 5}}));
  ack(wire::AckStatus::Ok, {{2, 3}});
  ASSERT_EQ(sim.service(t0_ + 10ms), LinkState::kUp);
  EXPECT_EQ(sim.next_deadline(), t0_ + 100ms);

  ASSERT_EQ(sim.service(t0_ + 99ms), LinkState::kUp);
  EXPECT_TRUE(batches().empty());
  ASSERT_EQ(sim.service(t0_ + 100ms), LinkState::kUp);
  EXPECT_EQ(batches(), (std::vector<Seqs>{{0, 1, 4, 5}}));
  EXPECT_EQ(sim.stats().retransmits, 4U);

  ASSERT_EQ(sim.service(t0_ + 199ms), LinkState::kUp);
  EXPECT_TRUE(batches().empty());
  ASSERT_EQ(sim.service(t0_ + 200ms), LinkState::kUp);
  EXPECT_EQ(batches(), (std::vector<Seqs>{{0, 1, 4, 5}}));
  EXPECT_EQ(sim.stats().retransmits, 8U);
  EXPECT_EQ(sim.stats().acked, 2U);
}

TEST_F(DevsimSim, BusyAckHoldsEverythingUntilRetryAfter) {
  SimConfig c = config(6);
  c.batch = 3;
  c.ack_timeout = 1000ms;
  DeviceSim sim(c, t0_);
  connect(sim, 256);
  EXPECT_EQ(pending_batches(), (std::vector<Seqs>{{0, 1, 2}, {3, 4, 5}}));

  ack(wire::AckStatus::Busy, {{0, 2}}, std::nullopt, 200);
  ack(wire::AckStatus::Ok, {{3, 5}});
  ASSERT_EQ(sim.service(t0_ + 10ms), LinkState::kUp);
  EXPECT_EQ(sim.stats().busy_acks, 1U);
  EXPECT_EQ(sim.stats().busy_events, 3U);  // the three events the one Busy ack covered
  EXPECT_EQ(sim.stats().acked, 3U);
  EXPECT_EQ(sim.pending_seqs(), (Seqs{0, 1, 2}));
  EXPECT_EQ(sim.next_deadline(), t0_ + 210ms);

  ASSERT_EQ(sim.service(t0_ + 209ms), LinkState::kUp);
  EXPECT_TRUE(batches().empty());
  ASSERT_EQ(sim.service(t0_ + 210ms), LinkState::kUp);
  EXPECT_EQ(batches(), (std::vector<Seqs>{{0, 1, 2}}));
  EXPECT_EQ(sim.stats().retransmits, 3U);

  // Busy without retry_after_ms: the simulator's own backoff, 50 ms then 100 ms.
  ack(wire::AckStatus::Busy, {{0, 2}});
  ASSERT_EQ(sim.service(t0_ + 220ms), LinkState::kUp);
  EXPECT_EQ(sim.next_deadline(), t0_ + 270ms);
  ASSERT_EQ(sim.service(t0_ + 269ms), LinkState::kUp);
  EXPECT_TRUE(batches().empty());
  ASSERT_EQ(sim.service(t0_ + 270ms), LinkState::kUp);
  EXPECT_EQ(batches(), (std::vector<Seqs>{{0, 1, 2}}));
  ack(wire::AckStatus::Busy, {{0, 2}});
  ASSERT_EQ(sim.service(t0_ + 280ms), LinkState::kUp);
  EXPECT_EQ(sim.next_deadline(), t0_ + 380ms);
  EXPECT_EQ(sim.stats().busy_acks, 3U);
  EXPECT_EQ(sim.stats().busy_events, 9U);  // each refusal of each event counted
  EXPECT_EQ(sim.stats().retransmits, 6U);
}

TEST_F(DevsimSim, BusyHoldAlsoDelaysNewEvents) {
  SimConfig c = config(3);
  c.rate = 100.0;  // one event every 10 ms
  DeviceSim sim(c, t0_);
  connect(sim, 256);
  EXPECT_EQ(pending_batches(), (std::vector<Seqs>{{0}}));
  ack(wire::AckStatus::Busy, {{0, 0}}, std::nullopt, 50);
  ASSERT_EQ(sim.service(t0_ + 5ms), LinkState::kUp);
  ASSERT_EQ(sim.service(t0_ + 10ms), LinkState::kUp);
  ASSERT_EQ(sim.service(t0_ + 20ms), LinkState::kUp);
  EXPECT_EQ(sim.stats().produced, 3U);
  EXPECT_TRUE(batches().empty());
  ASSERT_EQ(sim.service(t0_ + 55ms), LinkState::kUp);
  EXPECT_EQ(batches(), (std::vector<Seqs>{{0, 1, 2}}));
}

TEST_F(DevsimSim, InvalidAckDropsAndCountsTheEvents) {
  DeviceSim sim(config(6), t0_);
  connect(sim, 256);
  ack(wire::AckStatus::Invalid, {{1, 2}, {4, 4}});
  ASSERT_EQ(sim.service(t0_ + 1ms), LinkState::kUp);
  EXPECT_EQ(sim.stats().invalid, 3U);
  EXPECT_EQ(sim.stats().acked, 0U);
  EXPECT_EQ(sim.pending_seqs(), (Seqs{0, 3, 5}));
  EXPECT_EQ(acked_log(), "");

  ack(wire::AckStatus::Ok, {}, 5);
  ASSERT_EQ(sim.service(t0_ + 2ms), LinkState::kUp);
  EXPECT_EQ(sim.stats().acked, 3U);
  EXPECT_TRUE(sim.finished());
}

TEST_F(DevsimSim, DropOldestCountsRingDroppedAndReportsIt) {
  SimConfig c = config(5);
  c.ring = 3;
  c.ring_full = RingFull::kDropOldest;
  c.rate = 1000.0;
  DeviceSim sim(c, t0_);
  for (int ms = 0; ms < 5; ++ms) {
    ASSERT_EQ(sim.service(t0_ + std::chrono::milliseconds(ms)), LinkState::kUp);
  }
  EXPECT_EQ(sim.stats().produced, 5U);
  EXPECT_EQ(sim.stats().ring_dropped, 2U);
  EXPECT_EQ(sim.pending_seqs(), (Seqs{2, 3, 4}));
  EXPECT_EQ(sim.next_deadline(), std::nullopt);  // all produced, not attached

  sim.attach(fds_[0]);
  ASSERT_EQ(sim.service(t0_ + 10ms), LinkState::kUp);
  const auto got = gateway_->read_available();
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].kind, "hello");
  EXPECT_EQ(got[0].ring_capacity, 3U);
  EXPECT_EQ(got[1].seqs(), (Seqs{2, 3, 4}));
  EXPECT_EQ(got[1].ring_dropped, 2U);
}

TEST_F(DevsimSim, DropOldestAtRateZeroDropsOneBatchPerTurn) {
  SimConfig c = config(20);
  c.ring = 4;
  c.batch = 3;
  c.ring_full = RingFull::kDropOldest;
  DeviceSim sim(c, t0_);
  ASSERT_EQ(sim.service(t0_), LinkState::kUp);
  EXPECT_EQ(sim.stats().produced, 7U);  // 4 fill the ring, then 3 replace the oldest
  EXPECT_EQ(sim.stats().ring_dropped, 3U);
  EXPECT_EQ(sim.next_deadline(), t0_);
  for (int turn = 0; turn < 10; ++turn) {
    ASSERT_EQ(sim.service(t0_), LinkState::kUp);
  }
  EXPECT_EQ(sim.stats().produced, 20U);
  EXPECT_EQ(sim.stats().ring_dropped, 16U);
  EXPECT_EQ(sim.pending_seqs(), (Seqs{16, 17, 18, 19}));
}

TEST_F(DevsimSim, BlockWaitsForRoomInTheRing) {
  SimConfig c = config(5);
  c.ring = 3;
  DeviceSim sim(c, t0_);
  ASSERT_EQ(sim.service(t0_), LinkState::kUp);
  EXPECT_EQ(sim.stats().produced, 3U);
  EXPECT_EQ(sim.next_deadline(), std::nullopt);  // only an ack can make room
  connect(sim, 3);
  EXPECT_EQ(pending_batches(), (std::vector<Seqs>{{0, 1, 2}}));
  ack(wire::AckStatus::Ok, {}, 1);
  ASSERT_EQ(sim.service(t0_ + 1ms), LinkState::kUp);
  EXPECT_EQ(sim.stats().produced, 5U);
  EXPECT_EQ(sim.stats().ring_dropped, 0U);
  EXPECT_EQ(batches(), (std::vector<Seqs>{{3, 4}}));
  EXPECT_EQ(sim.pending_seqs(), (Seqs{2, 3, 4}));
}

TEST_F(DevsimSim, ReconnectSendsHelloThenEveryUnackedEvent) {
  SimConfig c = config(4);
  c.inject = {Injection::kBadCrc};
  DeviceSim sim(c, t0_);
  sim.attach(fds_[0]);
  ASSERT_EQ(sim.service(t0_), LinkState::kUp);
  auto got = gateway_->read_available();
  ASSERT_EQ(got.size(), 3U);
  EXPECT_EQ(got[0].kind, "hello");
  EXPECT_EQ(got[1].kind, "frame:bad_crc");
  EXPECT_EQ(got[2].seqs(), (Seqs{0, 1, 2, 3}));
  ack(wire::AckStatus::Ok, {{1, 1}});
  ASSERT_EQ(sim.service(t0_ + 1ms), LinkState::kUp);

  ::close(fds_[1]);  // the gateway goes away
  fds_[1] = -1;
  EXPECT_EQ(sim.service(t0_ + 2ms), LinkState::kClosed);
  sim.detach();
  close_link();
  open_link();
  sim.attach(fds_[0]);
  ASSERT_EQ(sim.service(t0_ + 3ms), LinkState::kUp);
  got = gateway_->read_available();
  ASSERT_EQ(got.size(), 2U);  // no injections the second time
  EXPECT_EQ(got[0].kind, "hello");
  EXPECT_EQ(got[1].seqs(), (Seqs{0, 2, 3}));
  EXPECT_EQ(sim.stats().reconnects, 1U);
  EXPECT_EQ(sim.stats().retransmits, 3U);
  EXPECT_EQ(sim.stats().acked, 1U);
}

TEST_F(DevsimSim, PartialWritesLoseNothing) {
  const int small = 4096;
  ASSERT_EQ(::setsockopt(fds_[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
  SimConfig c = config(3000);
  c.ring = 3000;
  c.ack_timeout = 100s;
  DeviceSim sim(c, t0_);
  sim.attach(fds_[0]);
  Seqs seen;
  std::size_t hellos = 0;
  for (int turn = 0; turn < 10000 && seen.size() < 3000; ++turn) {
    ASSERT_EQ(sim.service(t0_), LinkState::kUp);
    for (const Message& m : gateway_->read_available()) {
      if (m.kind == "hello") {
        ++hellos;
        continue;
      }
      ASSERT_EQ(m.kind, "batch");
      const Seqs s = m.seqs();
      seen.insert(seen.end(), s.begin(), s.end());
    }
  }
  EXPECT_EQ(hellos, 1U);
  ASSERT_EQ(seen.size(), 3000U);
  for (std::uint32_t i = 0; i < 3000; ++i) {
    ASSERT_EQ(seen[i], i);
  }
  EXPECT_EQ(sim.stats().retransmits, 0U);
  EXPECT_EQ(sim.stats().frames_sent, 500U);
}

TEST_F(DevsimSim, CountsBadFramesAndOtherMessagesFromTheGateway) {
  DeviceSim sim(config(1), t0_);
  connect(sim, 256);
  const Bytes garbage = build_injection(Injection::kGarbage, kDevice, kBoot);
  ASSERT_EQ(::write(fds_[1], garbage.data(), garbage.size()), static_cast<ssize_t>(garbage.size()));
  ASSERT_EQ(sim.service(t0_ + 1ms), LinkState::kUp);
  EXPECT_EQ(sim.stats().bad_frames, 1U);
  ack(wire::AckStatus::Ok, {{0, 0}});  // the stream recovers at the delimiter
  ASSERT_EQ(sim.service(t0_ + 2ms), LinkState::kUp);
  EXPECT_EQ(sim.stats().acked, 1U);
}

TEST(DevsimConfig, RefusesOutOfRangeValues) {
  SimConfig c;
  c.batch = 0;
  EXPECT_THROW(validate(c), std::invalid_argument);
  c.batch = wire::kMaxBatchEvents + 1;
  EXPECT_THROW(validate(c), std::invalid_argument);
  c.batch = 1;
  c.sensor = "a-sensor-name-16";
  EXPECT_THROW(validate(c), std::invalid_argument);
  c.sensor = "ok";
  c.ring = 0;
  EXPECT_THROW(validate(c), std::invalid_argument);
  c.ring = 1;
  c.first_seq = 0xFFFFFFF0U;
  c.count = 17;
  EXPECT_THROW(validate(c), std::invalid_argument);
  c.count = 16;
  EXPECT_NO_THROW(validate(c));
}

}  // namespace
}  // namespace edge::devsim
