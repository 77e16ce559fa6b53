// The device's serial console: line-based commands on their own UART, for people and for
// `edgectl config apply`.
//
//   help                     the commands and the keys
//   status                   device ID, boot counter, firmware, ring fill, counters, link state
//   sensors                  read every sensor now
//   get <key>                one setting
//   set <key> <value>        change a setting in RAM (checked first; nothing changes on error)
//   save                     persist the settings (two-copy store), reboot keeps them
//   reboot | factory-reset   restart; factory-reset first erases the stored settings
//
// Keys: device_id (1..16 hex digits, not 0), link_baud (9600 19200 38400 57600 115200 230400
// 460800 921600), interval.<sensor> (0 = off, or 100..3600000 ms), addr.<sensor> (0x08..0x77).
//
// Every reply line starts with "ok" or "error:"; errors say what was wrong and change nothing.
// Bytes that are not printable ASCII, and lines longer than kMaxConsoleLine, are refused with an
// error and the line is discarded; the next line works as usual.
//
// Device code: no heap; the line buffer is inside the Console.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "edge/firmware/config_store.h"

namespace edge::firmware {

inline constexpr std::size_t kMaxConsoleLine = 80;  // characters, without the line end

/// Where replies go, and what the console asks of the application.
class ConsoleHost {
 public:
  ConsoleHost(const ConsoleHost&) = delete;
  ConsoleHost& operator=(const ConsoleHost&) = delete;
  /// Sends one reply line (without line end; the console adds "\r\n").
  virtual void reply(std::string_view line) = 0;
  /// Writes the status lines through reply().
  virtual void status() = 0;
  /// Reads every sensor now and writes one line each through reply().
  virtual void read_sensors() = 0;
  /// Persists `config`; false when the store failed.
  virtual bool save(const DeviceConfig& config) = 0;
  /// Restarts the device (after erasing the stored settings when `factory_reset`).
  virtual void reboot(bool factory_reset) = 0;

 protected:
  ConsoleHost() = default;
  ~ConsoleHost() = default;
};

class Console {
 public:
  /// `sensors` names the board's sensors in the order of DeviceConfig's per-sensor arrays (at
  /// most kMaxSensors); the strings must outlive the console.
  Console(ConsoleHost& host, DeviceConfig& config, std::span<const std::string_view> sensors);

  /// Feeds bytes as they arrive from the UART; runs every complete line.
  void feed(std::span<const std::uint8_t> bytes);

  /// Counters for `status`.
  [[nodiscard]] std::uint32_t commands() const { return commands_; }
  [[nodiscard]] std::uint32_t errors() const { return errors_; }

 private:
  void run(std::string_view line);
  void get(std::string_view key);
  void set(std::string_view key, std::string_view value);
  void help();
  void error(std::string_view what, std::string_view detail = {});
  int sensor_index(std::string_view name) const;

  ConsoleHost& host_;
  DeviceConfig& config_;
  std::span<const std::string_view> sensors_;
  std::array<char, kMaxConsoleLine> line_{};
  std::size_t length_ = 0;
  bool overlong_ = false;  // discarding until the line end
  bool garbage_ = false;   // the current line held a non-printable byte
  std::uint32_t commands_ = 0;
  std::uint32_t errors_ = 0;
};

}  // namespace edge::firmware
