#include "edge/gateway/forwarder.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>

#include "edge/gateway/device_hex.h"
#include "edge/wire/messages.h"
#include "mqtt/async_client.h"

namespace edge::gateway {
namespace {

// MQTT v5 PUBACK reasons that no resend can fix (OASIS MQTT 5.0, 3.4.2.1).
bool permanent_refusal(int reason) {
  return reason == 0x87 || reason == 0x90 || reason == 0x95 || reason == 0x99;
}

// The context Paho hands back with a publish: which slot, and which use of it, so a late
// callback for a publish abandoned at a disconnect is recognised and ignored. Fits 32 bits.
std::uintptr_t make_context(std::uint32_t slot, std::uint16_t generation) {
  return (static_cast<std::uintptr_t>(slot) << 16U) | generation;
}

}  // namespace

struct Forwarder::Report {
  enum class Kind { kConnected, kConnectFailed, kLost, kAcked, kRefused } kind;
  std::uintptr_t context = 0;
  int reason = 0;
  std::uint32_t receive_max = 0;
  std::string text;
};

class Forwarder::Callbacks final : public mqtt::callback {
 public:
  explicit Callbacks(Forwarder& f) : f_(f) {}
  void connection_lost(const std::string& cause) override {
    f_.report({Report::Kind::kLost, 0, 0, 0, cause});
  }

 private:
  Forwarder& f_;
};

class Forwarder::ConnectListener final : public mqtt::iaction_listener {
 public:
  explicit ConnectListener(Forwarder& f) : f_(f) {}
  void on_success(const mqtt::token& token) override {
    std::uint32_t receive_max = 65535;  // the MQTT v5 default when CONNACK does not say
    // get_connect_response() returns a copy: keep it alive while its properties are read.
    const mqtt::connect_response response = token.get_connect_response();
    const mqtt::properties& props = response.get_properties();
    if (props.contains(mqtt::property::RECEIVE_MAXIMUM)) {
      receive_max = mqtt::get<std::uint16_t>(props, mqtt::property::RECEIVE_MAXIMUM);
    }
    f_.report({Report::Kind::kConnected, 0, 0, receive_max, {}});
  }
  void on_failure(const mqtt::token& token) override {
    f_.report({Report::Kind::kConnectFailed, 0, token.get_reason_code(), 0,
               "return code " + std::to_string(token.get_return_code())});
  }

 private:
  Forwarder& f_;
};

class Forwarder::PublishListener final : public mqtt::iaction_listener {
 public:
  explicit PublishListener(Forwarder& f) : f_(f) {}
  void on_success(const mqtt::token& token) override {
    f_.report({Report::Kind::kAcked,
               reinterpret_cast<std::uintptr_t>(token.get_user_context()),
               0,
               0,
               {}});
  }
  void on_failure(const mqtt::token& token) override {
    f_.report({Report::Kind::kRefused,
               reinterpret_cast<std::uintptr_t>(token.get_user_context()),
               token.get_reason_code(),
               0,
               {}});
  }

 private:
  Forwarder& f_;
};

Forwarder::Forwarder(Buffer& buffer, ForwarderOptions options)
    : buffer_(buffer), options_(std::move(options)) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  callbacks_ = std::make_unique<Callbacks>(*this);
  connect_listener_ = std::make_unique<ConnectListener>(*this);
  publish_listener_ = std::make_unique<PublishListener>(*this);
  slots_.resize(options_.max_in_flight);
  // No persistence object: Paho keeps nothing of its own; the LMDB buffer is the store.
  client_ = std::make_unique<mqtt::async_client>(
      options_.server_uri, options_.client_id,
      mqtt::create_options(MQTTVERSION_5, static_cast<int>(options_.max_in_flight) + 10), nullptr);
  client_->set_callback(*callbacks_);
}

Forwarder::~Forwarder() {
  try {
    if (client_->is_connected()) {
      client_->disconnect()->wait_for(std::chrono::seconds(2));
    }
  } catch (const mqtt::exception&) {  // shutting down: nothing left to tell anyone
  }
  client_.reset();  // before the listeners it may still call
  ::close(wake_fd_);
}

void Forwarder::report(Report r) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    reports_.push_back(std::move(r));
  }
  const std::uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
}

std::uint64_t Forwarder::next_backoff_us() {
  const std::uint64_t min_us = std::uint64_t{options_.backoff_min_ms} * 1000U;
  const std::uint64_t max_us = std::uint64_t{options_.backoff_max_ms} * 1000U;
  backoff_us_ = backoff_us_ == 0 ? min_us : std::min(backoff_us_ * 2U, max_us);
  // Full jitter over the upper half: a fleet reconnecting after an outage spreads out.
  rng_ ^= rng_ << 13U;
  rng_ ^= rng_ >> 7U;
  rng_ ^= rng_ << 17U;
  return backoff_us_ / 2U + rng_ % (backoff_us_ / 2U + 1U);
}

void Forwarder::on_lost(std::uint64_t now_us, const std::string& why) {
  if (state_ == State::kConnected) {
    spdlog::warn("upstream {}: connection lost ({}); {} publishes unacknowledged will be resent",
                 options_.server_uri, why, in_flight_.size());
  }
  state_ = State::kDisconnected;
  for (Slot& slot : slots_) {
    slot.used = false;  // a late callback no longer matches its generation
  }
  in_flight_.clear();
  next_key_ = 0;
  reconnect_at_us_ = now_us + next_backoff_us();
}

std::uint64_t Forwarder::poll(std::uint64_t now_us) {
  std::uint64_t drained = 0;
  (void)!::read(wake_fd_, &drained, sizeof(drained));
  std::deque<Report> reports;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    reports.swap(reports_);
  }
  std::vector<std::uint64_t> to_delete;
  for (Report& r : reports) {
    switch (r.kind) {
      case Report::Kind::kConnected:
        if (state_ != State::kConnecting) {
          break;  // Paho reports a connect once to the listener and once more on some paths
        }
        state_ = State::kConnected;
        window_ = std::min(options_.max_in_flight, r.receive_max);
        backoff_us_ = 0;
        next_key_ = 0;
        ++stats_.reconnects;
        spdlog::info("upstream {}: connected, in-flight window {} (broker receive maximum {})",
                     options_.server_uri, window_, r.receive_max);
        break;
      case Report::Kind::kConnectFailed:
        if (state_ == State::kConnecting) {
          state_ = State::kDisconnected;
          reconnect_at_us_ = now_us + next_backoff_us();
          spdlog::warn("upstream {}: connect failed ({}, reason {}); retrying in {} ms",
                       options_.server_uri, r.text, r.reason, (reconnect_at_us_ - now_us) / 1000U);
        }
        break;
      case Report::Kind::kLost: on_lost(now_us, r.text); break;
      case Report::Kind::kAcked:
      case Report::Kind::kRefused: {
        const std::uint32_t index = static_cast<std::uint32_t>(r.context >> 16U);
        const auto generation = static_cast<std::uint16_t>(r.context & 0xFFFFU);
        if (index >= slots_.size() || !slots_[index].used ||
            slots_[index].generation != generation) {
          break;  // abandoned at a disconnect: it will be (or was) published again
        }
        Slot& slot = slots_[index];
        slot.used = false;
        in_flight_.erase(slot.key);
        if (r.kind == Report::Kind::kAcked) {
          ++stats_.acked;
          to_delete.push_back(slot.key);
        } else if (permanent_refusal(r.reason)) {
          ++stats_.rejected;
          to_delete.push_back(slot.key);
          buffer_.count("rejected." + std::to_string(r.reason));
          spdlog::error(
              "upstream refused an event for good (MQTT reason 0x{:02x}); deleted and "
              "counted as rejected.{}",
              r.reason, r.reason);
        } else {
          next_key_ = std::min(next_key_, slot.key);  // publish it again
        }
        break;
      }
    }
  }
  if (!to_delete.empty()) {
    if (auto error = buffer_.begin()) {
      spdlog::error("buffer: cannot delete acknowledged events: {}", error->message);
    } else {
      buffer_.erase(to_delete);
      if (auto failed = buffer_.commit()) {
        spdlog::error("buffer: deleting acknowledged events failed (they will be sent again): {}",
                      failed->message);
      }
    }
  }
  if (state_ == State::kDisconnected && now_us >= reconnect_at_us_) {
    state_ = State::kConnecting;
    try {
      auto options = mqtt::connect_options_builder()
                         .mqtt_version(MQTTVERSION_5)
                         .clean_start(true)
                         .keep_alive_interval(std::chrono::seconds(options_.keep_alive_s))
                         .automatic_reconnect(false)
                         .finalize();
      connect_token_ = client_->connect(options, nullptr, *connect_listener_);
    } catch (const mqtt::exception& e) {
      state_ = State::kDisconnected;
      reconnect_at_us_ = now_us + next_backoff_us();
      spdlog::warn("upstream {}: connect: {}", options_.server_uri, e.what());
    }
  }
  if (state_ == State::kConnected) {
    publish_more(now_us);
  }
  return state_ == State::kDisconnected && reconnect_at_us_ > now_us ? reconnect_at_us_ - now_us
                                                                     : 0;
}

void Forwarder::publish_more(std::uint64_t now_us) {
  while (in_flight_.size() < window_) {
    std::vector<std::uint64_t> sent;
    bool failed = false;
    const std::size_t room = window_ - in_flight_.size();
    const auto error = buffer_.for_each_event(next_key_, room, [&](const StoredEvent& e) {
      next_key_ = e.key + 1;
      if (in_flight_.contains(e.key)) {
        return true;
      }
      const auto event = wire::verify_event(scratch_.assign(e.record.payload));
      if (!event.ok()) {
        return true;  // verified at ingest; a damaged record stays for an operator to see
      }
      std::uint32_t index = 0;
      while (index < slots_.size() && slots_[index].used) {
        ++index;
      }
      if (index == slots_.size()) {
        return false;
      }
      std::array<char, kEventIdTextMax> id_text{};
      const auto id_length = format_event_id(e.record.id, id_text);
      const flatbuffers::String* sensor = event.value()->sensor();
      const std::string topic =
          fmt::format("{}/{}/{}/{}", options_.topic_prefix, options_.gateway_id,
                      device_hex(e.record.device), sensor != nullptr ? sensor->str() : "unknown");
      mqtt::properties props;
      props.add(
          mqtt::property(mqtt::property::USER_PROPERTY, "event-id",
                         std::string(id_text.data(), id_length.ok() ? id_length.value() : 0)));
      props.add(mqtt::property(mqtt::property::USER_PROPERTY, "schema-version",
                               std::to_string(event.value()->schema_version())));
      props.add(mqtt::property(mqtt::property::CONTENT_TYPE,
                               std::string("application/x-edge-event+flatbuffers")));
      auto message = mqtt::message_ptr_builder()
                         .topic(topic)
                         .payload(e.record.payload.data(), e.record.payload.size())
                         .qos(1)
                         .properties(std::move(props))
                         .finalize();
      Slot& slot = slots_[index];
      slot = {e.key, static_cast<std::uint16_t>(slot.generation + 1U), true};
      try {
        // Paho's user context is a void*; it carries a number here, never an address.
        client_->publish(message,
                         reinterpret_cast<void*>(  // NOLINT(performance-no-int-to-ptr)
                             make_context(index, slot.generation)),
                         *publish_listener_);
      } catch (const mqtt::exception& ex) {
        slot.used = false;
        failed = true;
        spdlog::warn("upstream publish: {}", ex.what());
        return false;
      }
      in_flight_.emplace(e.key, index);
      sent.push_back(e.key);
      ++stats_.published;
      return true;
    });
    if (error) {
      spdlog::error("buffer: {}", error->message);
      return;
    }
    if (failed) {
      on_lost(now_us, "publish failed");
      return;
    }
    if (sent.empty()) {
      return;  // nothing more buffered
    }
  }
}

ForwarderStats Forwarder::stats() const {
  ForwarderStats s = stats_;
  s.connected = state_ == State::kConnected;
  s.window = window_;
  s.in_flight = static_cast<std::uint32_t>(in_flight_.size());
  return s;
}

}  // namespace edge::gateway
