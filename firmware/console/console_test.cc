#include "edge/firmware/console.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace edge::firmware {
namespace {

class RecordingHost final : public ConsoleHost {
 public:
  void reply(std::string_view line) override { lines.emplace_back(line); }
  void status() override { lines.emplace_back("ok status"); }
  void read_sensors() override { lines.emplace_back("ok sensors read"); }
  bool save(const DeviceConfig& config) override {
    saved = config;
    ++saves;
    return save_works;
  }
  void reboot(bool factory_reset) override { reboots.push_back(factory_reset); }

  std::vector<std::string> lines;
  DeviceConfig saved;
  int saves = 0;
  bool save_works = true;
  std::vector<bool> reboots;
};

constexpr std::array<std::string_view, 3> kSensors{"tmp105", "dps310", "lsm303dlhc"};

class ConsoleTest : public ::testing::Test {
 protected:
  std::string send(std::string_view text) {
    host.lines.clear();
    console.feed(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    std::string all;
    for (const std::string& l : host.lines) {
      all += l + "\n";
    }
    return all;
  }

  RecordingHost host;
  DeviceConfig config;
  Console console{host, config, kSensors};
};

TEST_F(ConsoleTest, SetThenGetThenSave) {
  EXPECT_EQ(send("set device_id 0xA1\r\n"),
            "ok device_id set (save to keep it; used from the next boot)\n");
  EXPECT_EQ(config.device_id, 0xA1U);
  EXPECT_EQ(send("get device_id\n"), "ok device_id = 0xa1\n");
  EXPECT_EQ(send("set interval.dps310 250\n"), "ok interval.dps310 set (save to keep it)\n");
  EXPECT_EQ(config.sample_interval_ms[1], 250U);
  EXPECT_EQ(send("set addr.tmp105 0x49\n"), "ok addr.tmp105 set (save to keep it)\n");
  EXPECT_EQ(config.i2c_address[0], 0x49U);
  EXPECT_EQ(send("  set   link_baud   921600  \n"),
            "ok link_baud set (save to keep it; used from the next boot)\n");
  EXPECT_EQ(send("save\n"), "ok saved\n");
  EXPECT_EQ(host.saved.device_id, 0xA1U);
  EXPECT_EQ(host.saved.link_baud, 921600U);
}

TEST_F(ConsoleTest, OutOfRangeAndMalformedValuesChangeNothing) {
  const DeviceConfig before = config;
  for (const char* bad :
       {"set device_id 0\n", "set device_id 12345678901234567\n", "set device_id xyz\n",
        "set link_baud 12345\n", "set link_baud -1\n", "set interval.tmp105 99\n",
        "set interval.tmp105 3600001\n", "set interval.tmp105 5s\n", "set addr.tmp105 0x07\n",
        "set addr.tmp105 0x78\n", "set addr.tmp105 0x100\n", "set interval.nosuch 1000\n",
        "set colour blue\n", "set device_id\n", "set device_id 1 2\n", "get\n", "get nope\n"}) {
    const std::string reply = send(bad);
    EXPECT_EQ(reply.rfind("error: ", 0), 0U) << bad << " -> " << reply;
  }
  EXPECT_EQ(std::memcmp(&before, &config, sizeof(config)), 0) << "a refused set changed config";
  EXPECT_EQ(host.saves, 0);
}

TEST_F(ConsoleTest, ZeroIntervalTurnsASensorOff) {
  EXPECT_EQ(send("set interval.lsm303dlhc 0\n").rfind("ok", 0), 0U);
  EXPECT_EQ(send("get interval.lsm303dlhc\n"), "ok interval.lsm303dlhc = 0\n");
}

TEST_F(ConsoleTest, UnknownCommandsOverlongLinesAndGarbageGetClearErrors) {
  EXPECT_EQ(send("frobnicate\n"), "error: unknown command 'frobnicate' (try help)\n");
  EXPECT_EQ(send(std::string(81, 'x') + "\n"), "error: line too long (at most 80 characters)\n");
  EXPECT_EQ(send(std::string("set device_id \x01\x02 1\n")),
            "error: not a command (the line held non-printable bytes)\n");
  EXPECT_EQ(send(std::string(80, ' ') + "\n"), "") << "80 characters fit; blank runs nothing";
  EXPECT_EQ(send("status\n"), "ok status\n") << "the next line works";
  EXPECT_EQ(console.errors(), 3U);
}

TEST_F(ConsoleTest, BackspaceEditsTheLine) {
  EXPECT_EQ(send("stat\x7ftus\bs\n"), "ok status\n");
}

TEST_F(ConsoleTest, SaveFailureIsReported) {
  host.save_works = false;
  EXPECT_EQ(send("save\n"), "error: save failed (the stored settings are unchanged)\n");
}

TEST_F(ConsoleTest, RebootAndFactoryReset) {
  send("reboot\n");
  send("factory-reset\n");
  ASSERT_EQ(host.reboots.size(), 2U);
  EXPECT_FALSE(host.reboots[0]);
  EXPECT_TRUE(host.reboots[1]);
}

TEST_F(ConsoleTest, HelpNamesTheCommandsKeysAndSensors) {
  const std::string reply = send("help\n");
  for (const char* word : {"status", "sensors", "get", "set", "save", "factory-reset",
                           "interval.<sensor>", "tmp105", "dps310", "lsm303dlhc"}) {
    EXPECT_NE(reply.find(word), std::string::npos) << word;
  }
}

// A mebibyte of random bytes: no crash, nothing changed unless a line happened to be valid,
// errors counted, and the next valid command works.
TEST_F(ConsoleTest, OneMebibyteOfRandomBytesThenAValidCommand) {
  std::mt19937 rng(7);
  std::vector<std::uint8_t> noise(1U << 20U);
  for (auto& b : noise) {
    b = static_cast<std::uint8_t>(rng());
  }
  console.feed(noise);
  EXPECT_GT(console.errors(), 1000U);
  send("\n");
  EXPECT_EQ(send("get link_baud\n").rfind("ok link_baud = ", 0), 0U);
}

}  // namespace
}  // namespace edge::firmware
