#include "subscriber.h"

#include <chrono>
#include <span>

#include "edge/wire/messages.h"
#include "mqtt/async_client.h"

namespace edge::soak {

Subscriber::Subscriber(const std::string& uri)
    : client_(std::make_unique<mqtt::async_client>(uri, "soak-subscriber",
                                                   mqtt::create_options(MQTTVERSION_5), nullptr)) {
  client_->start_consuming();
}

Subscriber::~Subscriber() {
  try {
    if (client_->is_connected()) {
      client_->disconnect()->wait_for(std::chrono::seconds(5));
    }
  } catch (const mqtt::exception&) {  // the broker is gone already: nothing to close
  }
}

std::string Subscriber::connect(const std::string& filter) {
  try {
    const auto options = mqtt::connect_options_builder()
                             .mqtt_version(MQTTVERSION_5)
                             .clean_start(true)
                             .automatic_reconnect(false)
                             .finalize();
    if (!client_->connect(options)->wait_for(std::chrono::seconds(10))) {
      return "connect timed out";
    }
    if (!client_->subscribe(filter, 1)->wait_for(std::chrono::seconds(10))) {
      return "subscribe timed out";
    }
  } catch (const mqtt::exception& e) {
    return e.what();
  }
  return "";
}

void Subscriber::drain() {
  mqtt::const_message_ptr message;
  while (client_->try_consume_message(&message)) {
    if (!message) {
      continue;  // Paho's marker for a lost connection
    }
    const std::string& topic = message->get_topic();
    if (topic.ends_with("/status")) {
      ++status_;
      continue;
    }
    const mqtt::binary_ref& ref = message->get_payload_ref();
    const auto bytes =
        scratch_.assign(std::span(reinterpret_cast<const std::uint8_t*>(ref.data()), ref.size()));
    const auto event = wire::verify_event(bytes);
    if (!event.ok()) {
      ++invalid_;
      continue;
    }
    const EventId id = wire::event_id_of(*event.value());
    const gateway::Observation seen = window_.observe(devices_[id.device], id.boot, id.seq);
    gaps_ += seen.gaps;
    if (seen.verdict == gateway::Verdict::kDuplicate) {
      ++duplicates_;
    } else {
      ++unique_;  // new, or from an older boot (cannot be deduplicated: counted as new)
    }
  }
}

std::uint64_t Subscriber::pending_holes() const {
  std::uint64_t holes = 0;
  for (const auto& [device, state] : devices_) {
    holes += window_.pending_holes(state);
  }
  return holes;
}

}  // namespace edge::soak
