#include "edge/firmware/console.h"

#include <algorithm>
#include <charconv>

#include "edge/firmware/text_line.h"

namespace edge::firmware {
namespace {

constexpr std::array<std::uint32_t, 8> kBauds{9600,   19200,  38400,  57600,
                                              115200, 230400, 460800, 921600};
constexpr std::uint32_t kMinIntervalMs = 100;
constexpr std::uint32_t kMaxIntervalMs = 3'600'000;
constexpr std::uint8_t kMinI2cAddress = 0x08;  // 0x00..0x07 and 0x78..0x7F are reserved
constexpr std::uint8_t kMaxI2cAddress = 0x77;

// One reply line, built without the heap.
using Line = TextLine<>;

// string_view::substr throws out_of_range, which would link libstdc++'s exception paths (and
// abort, malloc) into a -fno-exceptions image: these clamp instead.
std::string_view head(std::string_view s, std::size_t n) {
  return {s.data(), std::min(n, s.size())};
}
std::string_view tail(std::string_view s, std::size_t from) {
  return from >= s.size() ? std::string_view{} : std::string_view(s.data() + from, s.size() - from);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') {
    s.remove_prefix(1);
  }
  while (!s.empty() && s.back() == ' ') {
    s.remove_suffix(1);
  }
  return s;
}

// The first word of `s`, and `s` advanced past it.
std::string_view word(std::string_view& s) {
  s = trim(s);
  const std::size_t end = s.find(' ');
  const std::string_view w = head(s, end);
  s = end == std::string_view::npos ? std::string_view{} : trim(tail(s, end));
  return w;
}

// A whole unsigned number in `base` ("0x" allowed for base 16 when `hex_prefix`); false on
// anything else (sign, spaces, trailing characters, overflow).
template <typename T>
bool parse_number(std::string_view text, T& out, int base = 10) {
  if (base == 16 && text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
  }
  if (text.empty()) {
    return false;
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Console::Console(ConsoleHost& host, DeviceConfig& config, std::span<const std::string_view> sensors)
    : host_(host),
      config_(config),
      sensors_(sensors.first(std::min(sensors.size(), kMaxSensors))) {}

void Console::feed(std::span<const std::uint8_t> bytes) {
  for (const std::uint8_t byte : bytes) {
    if (byte == '\r' || byte == '\n') {
      if (overlong_) {
        error("line too long", "at most 80 characters");
      } else if (garbage_) {
        error("not a command", "the line held non-printable bytes");
      } else if (length_ > 0) {
        run(std::string_view(line_.data(), length_));
      }
      length_ = 0;
      overlong_ = false;
      garbage_ = false;
      continue;
    }
    if (byte == 0x08 || byte == 0x7F) {  // backspace / delete from a terminal
      length_ = length_ > 0 ? length_ - 1 : 0;
      continue;
    }
    if (byte < 0x20 || byte > 0x7E) {
      garbage_ = true;
      continue;
    }
    if (length_ == line_.size()) {
      overlong_ = true;
      continue;
    }
    line_[length_++] = static_cast<char>(byte);
  }
}

void Console::error(std::string_view what, std::string_view detail) {
  ++errors_;
  Line line;
  line.add("error: ").add(what);
  if (!detail.empty()) {
    line.add(" (").add(detail).add(")");
  }
  host_.reply(line.view());
}

int Console::sensor_index(std::string_view name) const {
  for (std::size_t i = 0; i < sensors_.size(); ++i) {
    if (sensors_[i] == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

void Console::run(std::string_view text) {
  std::string_view rest = text;
  const std::string_view command = word(rest);
  if (command.empty()) {
    return;  // a blank line: a person pressing enter
  }
  ++commands_;
  if (command == "help") {
    help();
  } else if (command == "status" && rest.empty()) {
    host_.status();
  } else if (command == "sensors" && rest.empty()) {
    host_.read_sensors();
  } else if (command == "get") {
    const std::string_view key = word(rest);
    if (key.empty() || !rest.empty()) {
      error("usage: get <key>");
    } else {
      get(key);
    }
  } else if (command == "set") {
    const std::string_view key = word(rest);
    const std::string_view value = word(rest);
    if (key.empty() || value.empty() || !rest.empty()) {
      error("usage: set <key> <value>");
    } else {
      set(key, value);
    }
  } else if (command == "save" && rest.empty()) {
    if (host_.save(config_)) {
      host_.reply("ok saved");
    } else {
      error("save failed", "the stored settings are unchanged");
    }
  } else if ((command == "reboot" || command == "factory-reset") && rest.empty()) {
    host_.reply(command == "reboot" ? "ok rebooting" : "ok erasing settings and rebooting");
    host_.reboot(command == "factory-reset");
  } else {
    Line line;
    line.add("unknown command '").add(head(command, 20)).add("'");
    error(line.view(), "try help");
  }
}

void Console::help() {
  host_.reply(
      "ok commands: help status sensors get <key> set <key> <value> save reboot "
      "factory-reset");
  host_.reply(
      "ok keys: device_id (hex, not 0) link_baud (9600..921600) "
      "interval.<sensor> (0 or 100..3600000 ms) addr.<sensor> (0x08..0x77)");
  Line sensors;
  sensors.add("ok sensors:");
  for (const std::string_view name : sensors_) {
    sensors.add(" ").add(name);
  }
  host_.reply(sensors.view());
}

void Console::get(std::string_view key) {
  Line line;
  line.add("ok ").add(key).add(" = ");
  if (key == "device_id") {
    host_.reply(line.add("0x").number(config_.device_id, 16).view());
    return;
  }
  if (key == "link_baud") {
    host_.reply(line.number(config_.link_baud).view());
    return;
  }
  const std::size_t dot = key.find('.');
  const std::string_view family = head(key, dot);
  const int index = dot == std::string_view::npos ? -1 : sensor_index(tail(key, dot + 1));
  if (index >= 0 && family == "interval") {
    host_.reply(line.number(config_.sample_interval_ms[static_cast<std::size_t>(index)]).view());
  } else if (index >= 0 && family == "addr") {
    host_.reply(
        line.add("0x").number(config_.i2c_address[static_cast<std::size_t>(index)], 16).view());
  } else {
    error("unknown key", "try help");
  }
}

void Console::set(std::string_view key, std::string_view value) {
  if (key == "device_id") {
    std::uint64_t id = 0;
    if (value.size() > 18 || !parse_number(value, id, 16) || id == 0) {
      error("device_id must be 1 to 16 hex digits and not 0");
      return;
    }
    config_.device_id = id;
  } else if (key == "link_baud") {
    std::uint32_t baud = 0;
    if (!parse_number(value, baud) ||
        std::find(kBauds.begin(), kBauds.end(), baud) == kBauds.end()) {
      error("link_baud must be one of 9600 19200 38400 57600 115200 230400 460800 921600");
      return;
    }
    config_.link_baud = baud;
  } else {
    const std::size_t dot = key.find('.');
    const std::string_view family = head(key, dot);
    const int index = dot == std::string_view::npos ? -1 : sensor_index(tail(key, dot + 1));
    if (index < 0 || (family != "interval" && family != "addr")) {
      error("unknown key", "try help");
      return;
    }
    const auto i = static_cast<std::size_t>(index);
    if (family == "interval") {
      std::uint32_t ms = 0;
      if (!parse_number(value, ms) || (ms != 0 && (ms < kMinIntervalMs || ms > kMaxIntervalMs))) {
        error("interval must be 0 (off) or 100..3600000 ms");
        return;
      }
      config_.sample_interval_ms[i] = ms;
    } else {
      std::uint8_t address = 0;
      if (!parse_number(value, address, 16) || address < kMinI2cAddress ||
          address > kMaxI2cAddress) {
        error("addr must be a 7-bit I2C address 0x08..0x77");
        return;
      }
      config_.i2c_address[i] = address;
    }
  }
  Line line;
  line.add("ok ").add(key).add(" set (save to keep it");
  host_.reply(
      line.add(key == "device_id" || key == "link_baud" ? "; used from the next boot)" : ")")
          .view());
}

}  // namespace edge::firmware
