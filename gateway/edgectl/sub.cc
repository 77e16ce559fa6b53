#include "sub.h"

#include <chrono>
#include <csignal>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "edge/gateway/aligned_copy.h"
#include "edge/gateway/dedupe_window.h"
#include "edge/gateway/device_hex.h"
#include "edge/gateway/event_json.h"
#include "mqtt/async_client.h"

namespace edge::edgectl {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

struct DeviceTally {
  gateway::DedupeState window;
  std::uint64_t unique = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t gaps = 0;
};

}  // namespace

int run_sub(const SubOptions& o) {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const gateway::DedupeWindow window(o.dedupe_window);
  std::map<std::uint64_t, DeviceTally> devices;
  std::uint64_t received = 0;
  std::uint64_t unique = 0;
  std::uint64_t invalid = 0;
  int status = 0;

  mqtt::async_client client(o.broker, o.client_id, mqtt::create_options(MQTTVERSION_5), nullptr);
  try {
    client.start_consuming();
    client
        .connect(mqtt::connect_options_builder()
                     .mqtt_version(MQTTVERSION_5)
                     .clean_start(true)
                     .automatic_reconnect(std::chrono::milliseconds(100), std::chrono::seconds(2))
                     .finalize())
        ->wait();
    const std::string topic = o.share.empty() ? o.topic : "$share/" + o.share + "/" + o.topic;
    client.subscribe(topic, 1)->wait();
    std::cerr << "subscribed to " << topic << " on " << o.broker << std::endl;
  } catch (const mqtt::exception& e) {
    std::cerr << "edgectl sub: " << o.broker << ": " << e.what() << "\n";
    return 1;
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_s);
  gateway::AlignedCopy scratch;
  while (g_stop == 0 && (o.count == 0 || unique < o.count)) {
    if (o.timeout_s != 0 && std::chrono::steady_clock::now() >= deadline) {
      status = 4;
      break;
    }
    mqtt::const_message_ptr message;
    if (!client.try_consume_message_for(&message, std::chrono::milliseconds(200)) || !message) {
      continue;
    }
    ++received;
    const mqtt::binary_ref& payload = message->get_payload_ref();
    const auto event = wire::verify_event(
        scratch.assign({reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()}));
    if (!event.ok()) {
      ++invalid;
      std::cerr << nlohmann::json{{"topic", message->get_topic()},
                                  {"error", wire::to_string(event.error())}}
                       .dump()
                << "\n";
      continue;
    }
    const EventId id = wire::event_id_of(*event.value());
    DeviceTally& tally = devices[id.device];
    const gateway::Observation seen = window.observe(tally.window, id.boot, id.seq);
    tally.gaps += seen.gaps;
    if (seen.verdict == gateway::Verdict::kDuplicate) {
      ++tally.duplicates;
      continue;
    }
    ++tally.unique;
    ++unique;
    nlohmann::json line = gateway::event_to_json(*event.value());
    line["topic"] = message->get_topic();
    std::cout << line.dump() << "\n" << std::flush;
  }

  nlohmann::json summary = {{"received", received}, {"unique", unique}, {"invalid", invalid}};
  std::uint64_t duplicates = 0;
  std::uint64_t gaps = 0;
  nlohmann::json per_device = nlohmann::json::object();
  for (const auto& [device, tally] : devices) {
    // Still missing at the end counts as a gap too.
    const std::uint64_t device_gaps = tally.gaps + window.pending_holes(tally.window);
    duplicates += tally.duplicates;
    gaps += device_gaps;
    per_device[gateway::device_hex(device)] = {
        {"unique", tally.unique}, {"duplicates", tally.duplicates}, {"gaps", device_gaps}};
  }
  summary["duplicates"] = duplicates;
  summary["gaps"] = gaps;
  summary["devices"] = per_device;
  std::cerr << summary.dump() << std::endl;
  try {
    client.disconnect()->wait_for(std::chrono::seconds(2));
  } catch (const mqtt::exception&) {  // leaving anyway
  }
  return status;
}

}  // namespace edge::edgectl
