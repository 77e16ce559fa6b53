// The device application, the same on every board: samples the configured sensors on their
// schedules, turns readings into events (device ID + persisted boot counter + seq), keeps them
// in the bounded ring until the gateway acks them (LinkSession), and serves the console.
//
// Boot: load the configuration (two-copy store), count this boot, save, init the sensors.
// A device whose device_id is 0 (new, or after factory-reset) is unprovisioned: it serves its
// console but samples and sends nothing, since every such device would share event IDs.
// Device code: no heap, no exceptions; everything is inside the Application object, which the
// board's main() keeps in static storage.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "edge/firmware/config_store.h"
#include "edge/firmware/console.h"
#include "edge/firmware/link_session.h"
#include "edge/firmware/sensor_source.h"
#include "edge/wire/static_builder.h"

namespace edge::firmware {

class Application final : public ConsoleHost {
 public:
  static constexpr std::size_t kRingCapacity = 48;            // events awaiting an ack
  static constexpr std::uint32_t kDefaultIntervalMs = 1000;   // a new device samples every 1 s
  static constexpr std::uint64_t kSensorRetryUs = 5'000'000;  // a failed sensor is retried

  Application(std::span<SensorSource* const> sensors, Storage* storage,
              std::string_view firmware_version, std::string_view board);

  /// Loads the configuration, counts the boot (saved before anything is sent, so every boot
  /// has its own event IDs), initialises the sensors and announces itself on the console.
  void boot(std::uint64_t now_us);
  /// One turn of the main loop: console input, due samples, the link.
  void poll(std::uint64_t now_us);

  [[nodiscard]] const DeviceConfig& config() const { return config_; }

  // ConsoleHost
  void reply(std::string_view line) override;
  void status() override;
  void read_sensors() override;
  bool save(const DeviceConfig& config) override;
  void reboot(bool factory_reset) override;

 private:
  using Session = LinkSession<kRingCapacity>;
  void sample(std::size_t index, std::uint64_t now_us);

  std::span<SensorSource* const> sensors_;
  std::optional<ConfigStore> store_;
  std::string_view firmware_version_;
  std::string_view board_;
  DeviceConfig config_;
  std::array<std::string_view, kMaxSensors> names_{};
  Console console_;
  Session::Ring ring_;
  std::optional<Session> session_;
  wire::StaticBuilder<wire::kEventBuilderSize> event_builder_;
  std::array<std::uint64_t, kMaxSensors> next_sample_us_{};
  std::array<bool, kMaxSensors> sensor_ready_{};
  std::uint64_t device_ = 0;  // the identity events carry: fixed at boot (device_id changes
  std::uint32_t boot_ = 0;    // on the console take effect at the next boot)
  std::uint32_t next_seq_ = 0;
  std::uint32_t samples_ = 0;
  std::uint32_t sample_errors_ = 0;
  bool persistent_ = false;  // the boot counter was saved
};

}  // namespace edge::firmware
