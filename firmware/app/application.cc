#include "application.h"

#include "edge/firmware/text_line.h"
#include "edge/platform/platform.h"

namespace edge::firmware {
namespace {

// "key=value" pieces of a status line, without the heap.
using Text = TextLine<>;

std::int64_t to_milli(float v) {
  return static_cast<std::int64_t>(v * 1000.0F);
}

}  // namespace

Application::Application(std::span<SensorSource* const> sensors, Storage* storage,
                         std::string_view firmware_version, std::string_view board)
    : sensors_(sensors.first(std::min(sensors.size(), kMaxSensors))),
      firmware_version_(firmware_version),
      board_(board),
      console_(*this, config_, {names_.data(), std::min(sensors.size(), kMaxSensors)}) {
  for (std::size_t i = 0; i < sensors_.size(); ++i) {
    names_[i] = sensors_[i]->name();
  }
  if (storage != nullptr) {
    store_.emplace(*storage);
  }
}

void Application::boot(std::uint64_t now_us) {
  const LoadOutcome loaded = store_ ? store_->load(config_) : LoadOutcome::kReadError;
  if (loaded == LoadOutcome::kDefaults || loaded == LoadOutcome::kReadError) {
    for (std::size_t i = 0; i < sensors_.size(); ++i) {
      config_.sample_interval_ms[i] = kDefaultIntervalMs;
    }
  }
  ++config_.boot_counter;
  persistent_ = store_ && store_->save(config_);
  Text banner;
  banner.add("edge-firmware ").add(firmware_version_).add(" on ").add(board_);
  banner.add(" device 0x").number(config_.device_id, 16).add(" boot ").number(config_.boot_counter);
  banner.add(loaded == LoadOutcome::kRecovered   ? " (config recovered from its second copy)"
             : loaded == LoadOutcome::kDefaults  ? " (new device: defaults)"
             : loaded == LoadOutcome::kReadError ? " (no config storage)"
                                                 : "");
  reply(banner.view());
  if (!persistent_) {
    reply("warning: the boot counter could not be saved; event IDs may repeat after a reset");
  }
  for (std::size_t i = 0; i < sensors_.size(); ++i) {
    if (config_.i2c_address[i] != 0) {
      sensors_[i]->set_address(config_.i2c_address[i]);  // `set addr.<sensor>`, saved
    }
    const auto ready = sensors_[i]->init();
    sensor_ready_[i] = ready.ok();
    next_sample_us_[i] = now_us + (ready.ok() ? 0 : kSensorRetryUs);
    Text line;
    line.add("sensor ").add(names_[i]).add(ready.ok() ? " ready" : " failed: ");
    if (!ready.ok()) {
      line.add(drivers::to_string(ready.error()));
    }
    reply(line.view());
  }
  if (config_.link_baud != DeviceConfig{}.link_baud) {
    Text line;
    line.add("link at ").number(config_.link_baud).add(" baud");
    reply(platform::set_link_baud(config_.link_baud)
              ? line.view()
              : line.add(": not applied (the link is not a UART here)").view());
  }
  device_ = config_.device_id;
  boot_ = config_.boot_counter;
  if (device_ == 0) {
    // Every unprovisioned device would share ID 0, and so its event IDs: it stays silent.
    reply(
        "warning: device_id is not set: nothing is sampled or sent until "
        "`set device_id <hex>`, `save`, `reboot`");
  }
  session_.emplace(platform::link(), ring_,
                   DeviceIdentity{device_, boot_, firmware_version_, board_});
}

void Application::poll(std::uint64_t now_us) {
  std::array<std::uint8_t, 64> in{};
  for (std::size_t n = platform::console().read(in); n > 0; n = platform::console().read(in)) {
    console_.feed({in.data(), n});
  }
  if (device_ == 0) {
    return;  // unprovisioned: the console only
  }
  for (std::size_t i = 0; i < sensors_.size(); ++i) {
    const std::uint32_t interval_ms = config_.sample_interval_ms[i];
    if (interval_ms != 0 && now_us >= next_sample_us_[i]) {
      sample(i, now_us);
    }
  }
  session_->poll(now_us);
}

void Application::sample(std::size_t index, std::uint64_t now_us) {
  SensorSource& sensor = *sensors_[index];
  next_sample_us_[index] = now_us + std::uint64_t{config_.sample_interval_ms[index]} * 1000U;
  if (!sensor_ready_[index]) {
    sensor_ready_[index] = sensor.init().ok();
    if (!sensor_ready_[index]) {
      ++sample_errors_;
      next_sample_us_[index] = now_us + kSensorRetryUs;
      return;
    }
  }
  std::array<wire::ReadingValue, kMaxChannels> readings{};
  const auto got = sensor.sample(readings);
  if (!got.ok()) {
    ++sample_errors_;
    sensor_ready_[index] = false;  // re-initialised next time (a chip may have been reset)
    return;
  }
  for (std::size_t channel = 0; channel < got.value(); ++channel) {
    wire::EventFields fields;
    fields.id = {device_, boot_, next_seq_};
    fields.mono_us = now_us;
    fields.sensor = names_[index];
    fields.channel = static_cast<std::uint8_t>(channel);
    fields.reading = readings[channel];
    const auto event = wire::encode_event(event_builder_.fbb(), fields);
    if (event.ok() && ring_.push(next_seq_, event.value())) {
      ++next_seq_;
      ++samples_;
    } else {
      ++sample_errors_;
    }
  }
}

void Application::reply(std::string_view line) {
  platform::ByteStream& out = platform::console();
  (void)out.write({reinterpret_cast<const std::uint8_t*>(line.data()), line.size()});
  const std::array<std::uint8_t, 2> eol{'\r', '\n'};
  (void)out.write(eol);
}

void Application::status() {
  Text a;
  a.add("ok device_id=0x").number(device_, 16).add(" boot=").number(boot_);
  a.add(" firmware=").add(firmware_version_).add(" board=").add(board_);
  reply(a.view());
  const LinkStats& link = session_->stats();
  Text b;
  b.add("ok ring=").number(ring_.size()).add("/").number(Session::Ring::capacity());
  b.add(" ring_dropped=").number(ring_.dropped()).add(" events=").number(next_seq_);
  b.add(" sample_errors=").number(sample_errors_).add(" acked=").number(link.acked);
  b.add(" batches=").number(link.batches_sent).add(" retransmits=").number(link.retransmits);
  b.add(" busy=").number(link.busy_acks).add(" refused_frames=").number(link.refused_frames);
  b.add(" link=").add(device_ == 0 ? "unprovisioned" : session_->acked_once() ? "up" : "waiting");
  b.add(" console_errors=").number(console_.errors());
  reply(b.view());
}

void Application::read_sensors() {
  for (std::size_t i = 0; i < sensors_.size(); ++i) {
    std::array<wire::ReadingValue, kMaxChannels> readings{};
    Text line;
    line.add("ok ").add(names_[i]);
    const auto got = sensors_[i]->sample(readings);
    if (!got.ok()) {
      line.add(" error ").add(drivers::to_string(got.error()));
    }
    for (std::size_t c = 0; got.ok() && c < got.value(); ++c) {
      const wire::ReadingValue& r = readings[c];
      switch (r.kind) {
        case wire::Reading::Temperature: line.add(" celsius=").milli(to_milli(r.x)); break;
        case wire::Reading::Humidity: line.add(" percent_rh=").milli(to_milli(r.x)); break;
        case wire::Reading::Pressure: line.add(" pascal=").milli(to_milli(r.x)); break;
        case wire::Reading::Vector3:
          // Tesla -> nanotesla, printed as microtesla with three decimals.
          line.add(" microtesla=").milli(static_cast<std::int64_t>(r.x * 1e9F));
          line.add(",").milli(static_cast<std::int64_t>(r.y * 1e9F));
          line.add(",").milli(static_cast<std::int64_t>(r.z * 1e9F));
          break;
        default: line.add(" reading"); break;
      }
    }
    reply(line.view());
  }
}

bool Application::save(const DeviceConfig& config) {
  return store_ && store_->save(config);
}

void Application::reboot(bool factory_reset) {
  if (factory_reset && store_) {
    (void)store_->erase();
  }
  platform::reboot();
}

}  // namespace edge::firmware
