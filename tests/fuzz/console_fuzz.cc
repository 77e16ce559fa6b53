// libFuzzer target: the device console's line parser (firmware/console), fed bytes as they come
// from its UART. The input is the raw byte stream.
//
// Invariants checked besides "no crash, no sanitizer report":
//   - every reply line starts with "ok" or "error: ", is printable ASCII and fits a TextLine;
//   - errors() counts exactly the "error: " replies (every refused line is counted);
//   - a refused command changes nothing: the configuration only changes on an "ok ... set"
//     reply, and only the key that reply names;
//   - whatever is set stays within the documented bounds (device_id not 0, a standard baud,
//     interval 0 or 100..3600000 ms, I2C address 0x08..0x77 or the board default 0);
//   - after any input, a line end followed by "get link_baud" answers "ok link_baud = <baud>".
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edge/firmware/console.h"
#include "fuzz_check.h"

namespace {

using edge::firmware::DeviceConfig;

constexpr std::array<std::string_view, 3> kSensors{"tmp105", "dps310", "lsm303dlhc"};
constexpr std::size_t kMaxReply = 160;  // TextLine's default capacity

class Host final : public edge::firmware::ConsoleHost {
 public:
  void reply(std::string_view line) override {
    FUZZ_CHECK(line.size() <= kMaxReply, "a reply longer than a TextLine");
    FUZZ_CHECK(line.rfind("ok", 0) == 0 || line.rfind("error: ", 0) == 0,
               "a reply starts with neither ok nor error:");
    FUZZ_CHECK(std::all_of(line.begin(), line.end(), [](char c) { return c >= 0x20 && c <= 0x7E; }),
               "a reply holds a non-printable byte");
    if (line.rfind("error: ", 0) == 0) {
      ++errors;
    }
    last = std::string(line);
    ++replies;
  }
  void status() override { reply("ok status"); }
  void read_sensors() override { reply("ok sensors"); }
  bool save(const DeviceConfig& /*config*/) override {
    saves_work = !saves_work;  // every other save fails, so both replies are reached
    return saves_work;
  }
  void reboot(bool /*factory_reset*/) override {}

  std::string last;
  std::uint32_t errors = 0;
  std::uint32_t replies = 0;
  bool saves_work = false;
};

bool within_bounds(const DeviceConfig& c, const DeviceConfig& initial) {
  constexpr std::array<std::uint32_t, 8> kBauds{9600,   19200,  38400,  57600,
                                                115200, 230400, 460800, 921600};
  if (c.device_id == 0 && initial.device_id != 0) {
    return false;
  }
  if (std::find(kBauds.begin(), kBauds.end(), c.link_baud) == kBauds.end()) {
    return false;
  }
  for (std::size_t i = 0; i < edge::firmware::kMaxSensors; ++i) {
    const std::uint32_t ms = c.sample_interval_ms[i];
    if (ms != initial.sample_interval_ms[i] && ms != 0 && (ms < 100 || ms > 3'600'000)) {
      return false;
    }
    const std::uint8_t addr = c.i2c_address[i];
    if (addr != initial.i2c_address[i] && (addr < 0x08 || addr > 0x77)) {
      return false;
    }
  }
  return c.boot_counter == initial.boot_counter;
}

// True when `after` differs from `before` in the setting named `key` only.
bool only_changed(std::string_view key, const DeviceConfig& before, const DeviceConfig& after) {
  DeviceConfig expected = before;
  if (key == "device_id") {
    expected.device_id = after.device_id;
  } else if (key == "link_baud") {
    expected.link_baud = after.link_baud;
  } else {
    for (std::size_t i = 0; i < kSensors.size(); ++i) {
      if (key == "interval." + std::string(kSensors[i])) {
        expected.sample_interval_ms[i] = after.sample_interval_ms[i];
      } else if (key == "addr." + std::string(kSensors[i])) {
        expected.i2c_address[i] = after.i2c_address[i];
      }
    }
  }
  return std::memcmp(&expected, &after, sizeof(after)) == 0;
}

bool same(const DeviceConfig& a, const DeviceConfig& b) {
  return a.device_id == b.device_id && a.boot_counter == b.boot_counter &&
         a.link_baud == b.link_baud && a.sample_interval_ms == b.sample_interval_ms &&
         a.i2c_address == b.i2c_address;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Host host;
  DeviceConfig config;
  config.device_id = 0xA1;
  config.boot_counter = 3;
  const DeviceConfig initial = config;
  edge::firmware::Console console(host, config, kSensors);

  // One byte at a time, checking after each: the only time the configuration may change is the
  // line end of a "set" that replied ok.
  DeviceConfig before = config;
  for (std::size_t i = 0; i < size; ++i) {
    const std::uint32_t replies = host.replies;
    console.feed(std::span(data + i, 1));
    if (!same(before, config)) {
      FUZZ_CHECK(host.replies == replies + 1 && host.last.rfind("ok ", 0) == 0 &&
                     host.last.find(" set (save to keep it") != std::string::npos,
                 "the configuration changed without an ok set reply");
      FUZZ_CHECK(within_bounds(config, initial), "a set left a value outside its bounds");
      const std::string_view key =
          std::string_view(host.last).substr(3, host.last.find(' ', 3) - 3);
      FUZZ_CHECK(only_changed(key, before, config), "a set changed another key than it named");
      before = config;
    }
    FUZZ_CHECK(console.errors() == host.errors, "a refused line was not counted");
  }

  // Whatever came before, the next line works.
  const std::string probe = "\nget link_baud\n";
  console.feed(std::span(reinterpret_cast<const std::uint8_t*>(probe.data()), probe.size()));
  FUZZ_CHECK(host.last == "ok link_baud = " + std::to_string(config.link_baud),
             "the console did not recover at the next line");
  FUZZ_CHECK(console.errors() == host.errors, "a refused line was not counted");
  return 0;
}
