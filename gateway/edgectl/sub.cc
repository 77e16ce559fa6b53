#include "sub.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "edge/event_id/event_id.h"
#include "edge/gateway/aligned_copy.h"
#include "edge/gateway/dedupe_window.h"
#include "edge/gateway/device_hex.h"
#include "edge/gateway/event_json.h"
#include "edge/wire/messages.h"
#include "mqtt/async_client.h"

namespace edge::edgectl {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

// Lines that may hold bytes from the wire: never let invalid UTF-8 end the run.
std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

enum class PayloadKind { kFlatbuffer, kBatch, kJson, kUnknown };

const char* kind_name(PayloadKind kind) {
  switch (kind) {
    case PayloadKind::kFlatbuffer: return "flatbuffer";
    case PayloadKind::kBatch: return "batch";
    case PayloadKind::kJson: return "json";
    case PayloadKind::kUnknown: break;
  }
  return "unknown";
}

// The FlatBuffers identifier first: a FlatBuffer's root offset may well begin with '{' (0x7b).
PayloadKind classify(std::span<const std::uint8_t> payload) {
  if (payload.size() >= 8) {
    const std::string_view identifier(reinterpret_cast<const char*>(payload.data()) + 4, 4);
    if (identifier == wire::EventIdentifier()) {
      return PayloadKind::kFlatbuffer;
    }
    if (identifier == wire::LinkMessageIdentifier()) {
      return PayloadKind::kBatch;
    }
  }
  for (const std::uint8_t byte : payload) {
    if (byte != ' ' && byte != '\t' && byte != '\n' && byte != '\r') {
      return byte == '{' ? PayloadKind::kJson : PayloadKind::kUnknown;
    }
  }
  return PayloadKind::kUnknown;
}

// 16 lowercase hex digits, as device_hex writes them.
std::optional<std::uint64_t> parse_device_hex(std::string_view text) {
  if (text.size() != 16) {
    return std::nullopt;
  }
  std::uint64_t device = 0;
  for (const char c : text) {
    std::uint64_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<std::uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<std::uint64_t>(c - 'a') + 10U;
    } else {
      return std::nullopt;
    }
    device = device << 4U | digit;
  }
  return device;
}

std::optional<std::uint32_t> u32_field(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number_unsigned()) {
    return std::nullopt;
  }
  const auto value = it->get<std::uint64_t>();
  if (value > std::numeric_limits<std::uint32_t>::max()) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(value);
}

struct Problem {
  std::string error;   // stable code: a WireError name, "json_syntax", "json_fields", ...
  std::string detail;  // for people; may be empty
};

// The gateway's status ({prefix}/{gateway}/status, retained): not an event, not invalid.
bool is_gateway_status(const nlohmann::json& object, std::string_view topic) {
  const auto state = object.find("state");
  const auto gateway = object.find("gateway");
  return topic.ends_with("/status") && !object.contains("event_id") && state != object.end() &&
         state->is_string() && gateway != object.end() && gateway->is_string();
}

enum class JsonPayload { kEvent, kStatus };

// An event_to_json object: its id from event_id, device, boot and seq, which must agree. Or the
// gateway's status.
std::optional<Problem> parse_json_payload(std::span<const std::uint8_t> payload,
                                          std::string_view topic, JsonPayload& what, EventId& id,
                                          nlohmann::json& object) {
  object = nlohmann::json::parse(payload.begin(), payload.end(), nullptr, false);
  if (object.is_discarded()) {
    return Problem{"json_syntax", "not valid JSON"};
  }
  if (!object.is_object()) {
    return Problem{"json_fields", "not a JSON object"};
  }
  if (is_gateway_status(object, topic)) {
    what = JsonPayload::kStatus;
    return std::nullopt;
  }
  what = JsonPayload::kEvent;
  const auto event_id = object.find("event_id");
  if (event_id == object.end() || !event_id->is_string()) {
    return Problem{"json_fields", "event_id missing or not a string"};
  }
  const auto parsed = parse_event_id(event_id->get_ref<const std::string&>());
  if (!parsed.ok()) {
    return Problem{"json_fields", "event_id is not <16 hex digits>-<boot>-<seq>"};
  }
  const auto device = object.find("device");
  const std::optional<std::uint64_t> device_value =
      device != object.end() && device->is_string()
          ? parse_device_hex(device->get_ref<const std::string&>())
          : std::nullopt;
  if (!device_value.has_value()) {
    return Problem{"json_fields", "device missing or not 16 lowercase hex digits"};
  }
  const std::optional<std::uint32_t> boot = u32_field(object, "boot");
  const std::optional<std::uint32_t> seq = u32_field(object, "seq");
  if (!boot.has_value() || !seq.has_value()) {
    return Problem{"json_fields", "boot or seq missing or not a 32-bit unsigned integer"};
  }
  id = EventId{*device_value, *boot, *seq};
  if (parsed.value() != id) {
    return Problem{"json_fields", "event_id does not match device, boot and seq"};
  }
  return std::nullopt;
}

// Invalid payloads on stderr: at most kBurst lines per kInterval, then how many were not shown.
class InvalidReporter {
 public:
  void report(const std::string& topic, PayloadKind kind, const Problem& problem) {
    const auto now = std::chrono::steady_clock::now();
    if (now - window_start_ >= kInterval) {
      flush();
      window_start_ = now;
      shown_ = 0;
    }
    if (shown_ >= kBurst) {
      ++suppressed_;
      return;
    }
    ++shown_;
    nlohmann::json line = {
        {"topic", topic}, {"payload", kind_name(kind)}, {"error", problem.error}};
    if (!problem.detail.empty()) {
      line["detail"] = problem.detail;
    }
    std::cerr << dump(line) << "\n";
  }

  /// Says how many were not shown since the last line.
  void flush() {
    if (suppressed_ != 0) {
      std::cerr << dump({{"invalid_not_shown", suppressed_}}) << "\n";
      suppressed_ = 0;
    }
  }

 private:
  static constexpr std::uint64_t kBurst = 10;
  static constexpr std::chrono::seconds kInterval{10};
  std::chrono::steady_clock::time_point window_start_{};
  std::uint64_t shown_ = 0;
  std::uint64_t suppressed_ = 0;
};

struct DeviceTally {
  gateway::DedupeState window;
  std::uint64_t unique = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t gaps = 0;
};

// Dedupe by event id and gap detection per device, whatever payload the event came in.
class Tally {
 public:
  explicit Tally(std::uint32_t window_bits) : window_(window_bits) {}

  struct Seen {
    bool first = false;      // the first time this id is seen (print it)
    std::uint64_t gaps = 0;  // seqs this event declared missing
  };

  /// Records the event.
  Seen observe(const EventId& id) {
    DeviceTally& tally = devices_[id.device];
    const gateway::Observation seen = window_.observe(tally.window, id.boot, id.seq);
    tally.gaps += seen.gaps;
    if (seen.verdict == gateway::Verdict::kDuplicate) {
      ++tally.duplicates;
      return {false, seen.gaps};
    }
    ++tally.unique;
    ++unique_;
    return {true, seen.gaps};
  }

  [[nodiscard]] std::uint64_t unique() const { return unique_; }

  /// unique, duplicates, gaps (still missing at the end counts too) and per-device tallies.
  void summarize(nlohmann::json& summary) const {
    std::uint64_t duplicates = 0;
    std::uint64_t gaps = 0;
    nlohmann::json per_device = nlohmann::json::object();
    for (const auto& [device, tally] : devices_) {
      const std::uint64_t device_gaps = tally.gaps + window_.pending_holes(tally.window);
      duplicates += tally.duplicates;
      gaps += device_gaps;
      per_device[gateway::device_hex(device)] = {
          {"unique", tally.unique}, {"duplicates", tally.duplicates}, {"gaps", device_gaps}};
    }
    summary["unique"] = unique_;
    summary["duplicates"] = duplicates;
    summary["gaps"] = gaps;
    summary["devices"] = per_device;
  }

 private:
  gateway::DedupeWindow window_;
  std::map<std::uint64_t, DeviceTally> devices_;
  std::uint64_t unique_ = 0;
};

void print_event(nlohmann::json line, const std::string& topic) {
  line["topic"] = topic;
  std::cout << dump(line) << "\n";
}

// How events are shown. Not a terminal: one JSON line per unique event (scripts and tests parse
// them; nothing else goes to stdout). A terminal: one short line per event for a person, with
// duplicates and gaps marked, coloured unless NO_COLOR is set (https://no-color.org).
struct Display {
  bool human = false;
  bool colour = false;

  static Display for_stdout() {
    Display d;
    d.human = ::isatty(STDOUT_FILENO) == 1;
    const char* no_colour = std::getenv("NO_COLOR");
    d.colour = d.human && (no_colour == nullptr || *no_colour == '\0');
    return d;
  }
  [[nodiscard]] std::string paint(std::string_view sgr, std::string_view text) const {
    if (!colour) {
      return std::string(text);
    }
    return "\033[" + std::string(sgr) + "m" + std::string(text) + "\033[0m";
  }
};

constexpr std::string_view kBold = "1";
constexpr std::string_view kDim = "2";
constexpr std::string_view kYellow = "33";
constexpr std::string_view kCyan = "36";

// "#12  0000000000000100/temp  celsius 21.5  boot 1 seq 42", the reading without its type.
void print_human(const Display& display, std::uint64_t unique, const nlohmann::json& event) {
  std::string reading;
  for (const auto& [key, value] : event["reading"].items()) {
    if (key == "type") {
      continue;
    }
    std::string text = dump(value);
    if (value.is_number_float()) {  // the event's float, not its double widening
      std::array<char, 32> number{};
      std::snprintf(number.data(), number.size(), "%.6g", value.get<double>());
      text = number.data();
    }
    if (!reading.empty()) {
      reading += ' ';
    }
    reading.append(key).append(" ").append(text);
  }
  std::cout << display.paint(kDim, "#" + std::to_string(unique)) << "  "
            << display.paint(kCyan, event.value("device", "?")) << "/"
            << display.paint(kBold, event.value("sensor", "")) << "  " << reading << "  "
            << display.paint(kDim, "boot " + std::to_string(event.value("boot", 0U)) + " seq " +
                                       std::to_string(event.value("seq", 0U)))
            << "\n";
}

// One received event: shown the first time its id is seen, duplicates and gaps marked on a
// terminal. `make_json` renders the event (only when it is shown).
template <typename MakeJson>
void receive(Tally& tally, const Display& display, const EventId& id, const std::string& topic,
             MakeJson make_json) {
  const Tally::Seen seen = tally.observe(id);
  const std::string where = gateway::device_hex(id.device) + " boot " + std::to_string(id.boot);
  if (display.human && seen.gaps > 0) {
    std::cout << display.paint(kYellow, "gap: " + std::to_string(seen.gaps) + " event(s) of " +
                                            gateway::device_hex(id.device) +
                                            " never arrived (noticed at boot " +
                                            std::to_string(id.boot) + " seq " +
                                            std::to_string(id.seq) + ")")
              << "\n";
  }
  if (!seen.first) {
    if (display.human) {
      std::cout << display.paint(kDim, "duplicate: " + where + " seq " + std::to_string(id.seq) +
                                           " (already shown, dropped)")
                << "\n";
    }
    return;
  }
  if (display.human) {
    print_human(display, tally.unique(), make_json());
  } else {
    print_event(make_json(), topic);
  }
}

// A client ID no other edgectl sub shares: a broker drops the older of two connections with
// one ID, so a fixed default would make two consumers take turns.
std::string default_client_id() {
  std::array<char, 64> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) {
    host[0] = '\0';
  }
  return "edgectl-sub-" + std::string(host.data()) + "-" + std::to_string(::getpid());
}

bool is_tls_uri(std::string_view uri) {
  return uri.starts_with("ssl://") || uri.starts_with("mqtts://") || uri.starts_with("wss://");
}

// Refuses options that cannot work together; the message says why.
std::optional<std::string> check_options(const SubOptions& o) {
  if (o.protocol != "5" && o.protocol != "3.1.1") {
    return "--protocol must be 5 or 3.1.1";
  }
  if (o.protocol == "3.1.1" && !o.share.empty()) {
    return "--share needs MQTT v5 (shared subscriptions); not available with --protocol 3.1.1";
  }
  if (!is_tls_uri(o.broker) &&
      (!o.ca_file.empty() || !o.cert_file.empty() || !o.key_file.empty())) {
    return "--cafile, --cert and --key need a TLS broker URI (ssl:// or mqtts://)";
  }
  if (!o.key_file.empty() && o.cert_file.empty()) {
    return "--key needs --cert";
  }
  if (!o.password.empty() && o.username.empty()) {
    return "--password needs --username";
  }
  return std::nullopt;
}

mqtt::connect_options connect_options(const SubOptions& o) {
  const bool v311 = o.protocol == "3.1.1";
  mqtt::connect_options_builder builder;
  builder.mqtt_version(v311 ? MQTTVERSION_3_1_1 : MQTTVERSION_5)
      .automatic_reconnect(false);  // run_sub reconnects itself, every reconnect_ms
  if (v311) {
    builder.clean_session(true);
  } else {
    builder.clean_start(true);
  }
  if (!o.username.empty()) {
    builder.user_name(o.username);
  }
  if (!o.password.empty()) {
    builder.password(o.password);
  }
  if (is_tls_uri(o.broker)) {
    // The broker's certificate and host name are always verified: against --cafile, or the
    // system's trust store without it.
    mqtt::ssl_options_builder ssl;
    // No error_handler: Paho C++ 1.2 calls it through a pointer into a copy of these options
    // that connect() has destroyed by then (a use after free).
    ssl.enable_server_cert_auth(true).verify(true);
    if (!o.ca_file.empty()) {
      ssl.trust_store(o.ca_file);
    }
    if (!o.cert_file.empty()) {
      ssl.key_store(o.cert_file);
    }
    if (!o.key_file.empty()) {
      ssl.private_key(o.key_file);
    }
    builder.ssl(ssl.finalize());
  }
  return builder.finalize();
}

}  // namespace

int run_sub(const SubOptions& o) {
  if (const auto problem = check_options(o)) {
    std::cerr << "edgectl sub: " << *problem << "\n";
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  Tally tally(o.dedupe_window);
  const Display display = Display::for_stdout();
  InvalidReporter reporter;
  std::uint64_t received = 0;
  std::uint64_t invalid = 0;
  std::map<std::string, std::uint64_t> invalid_reasons;
  std::uint64_t flatbuffer_messages = 0;
  std::uint64_t json_messages = 0;
  std::uint64_t batch_messages = 0;
  std::uint64_t batch_events = 0;
  std::uint64_t status_messages = 0;
  int status = 0;

  std::unique_ptr<mqtt::async_client> client;
  const std::string filter = o.share.empty() ? o.topic : "$share/" + o.share + "/" + o.topic;
  std::uint64_t reconnects = 0;
  try {
    client = std::make_unique<mqtt::async_client>(
        o.broker, o.client_id.empty() ? default_client_id() : o.client_id,
        mqtt::create_options(o.protocol == "3.1.1" ? MQTTVERSION_3_1_1 : MQTTVERSION_5), nullptr);
    client->start_consuming();
    client->connect(connect_options(o))->wait();
    client->subscribe(filter, 1)->wait();
    std::cerr << "subscribed to " << filter << " on " << o.broker << " (MQTT " << o.protocol << ")"
              << std::endl;
  } catch (const mqtt::exception& e) {
    std::cerr << "edgectl sub: " << o.broker << ": " << e.what() << "\n";
    return 1;
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_s);
  gateway::AlignedCopy scratch;
  while (g_stop == 0 && (o.count == 0 || tally.unique() < o.count)) {
    if (o.timeout_s != 0 && std::chrono::steady_clock::now() >= deadline) {
      status = 4;
      break;
    }
    if (!client->is_connected()) {
      // Paho's automatic reconnect waits whole seconds; a broker that restarts would publish
      // to nobody meanwhile. Reconnect every reconnect_ms, and subscribe again: a clean session
      // forgets the subscription.
      std::this_thread::sleep_for(std::chrono::milliseconds(o.reconnect_ms));
      try {
        client->connect(connect_options(o))->wait_for(std::chrono::seconds(2));
        if (client->is_connected()) {
          const bool subscribed = client->subscribe(filter, 1)->wait_for(std::chrono::seconds(2));
          ++reconnects;
          if (subscribed) {
            std::cerr << "subscribed again to " << filter << " (reconnect " << reconnects << ")"
                      << std::endl;
          }
        }
      } catch (const mqtt::exception&) {  // still away: try again
      }
      continue;
    }
    mqtt::const_message_ptr message;
    if (!client->try_consume_message_for(&message, std::chrono::milliseconds(200)) || !message) {
      continue;
    }
    ++received;
    const std::string& topic = message->get_topic();
    const mqtt::binary_ref& ref = message->get_payload_ref();
    const std::span<const std::uint8_t> payload(reinterpret_cast<const std::uint8_t*>(ref.data()),
                                                ref.size());
    const PayloadKind kind = classify(payload);
    std::optional<Problem> problem;
    switch (kind) {
      case PayloadKind::kFlatbuffer: {
        const auto event = wire::verify_event(scratch.assign(payload));
        if (!event.ok()) {
          problem = Problem{wire::to_string(event.error()), {}};
          break;
        }
        ++flatbuffer_messages;
        receive(tally, display, wire::event_id_of(*event.value()), topic,
                [&] { return gateway::event_to_json(*event.value()); });
        break;
      }
      case PayloadKind::kBatch: {
        const auto batch = wire::verify_upstream_batch(scratch.assign(payload));
        if (!batch.ok()) {
          problem = Problem{wire::to_string(batch.error()), {}};
          break;
        }
        ++batch_messages;
        if (batch.value()->events() == nullptr) {
          break;
        }
        for (const wire::EventBlob* blob : *batch.value()->events()) {
          ++batch_events;
          // Every nested event verified (in place) by verify_upstream_batch.
          const wire::Event& event = *blob->data_nested_root();
          receive(tally, display, wire::event_id_of(event), topic,
                  [&] { return gateway::event_to_json(event); });
        }
        break;
      }
      case PayloadKind::kJson: {
        JsonPayload what = JsonPayload::kEvent;
        EventId id;
        nlohmann::json object;
        problem = parse_json_payload(payload, topic, what, id, object);
        if (problem.has_value()) {
          break;
        }
        if (what == JsonPayload::kStatus) {
          ++status_messages;
          break;
        }
        ++json_messages;
        receive(tally, display, id, topic, [&] { return std::move(object); });
        break;
      }
      case PayloadKind::kUnknown:
        problem = Problem{"unknown_payload", "neither an EDGE or ELNK FlatBuffer nor JSON"};
        break;
    }
    std::cout << std::flush;
    if (problem.has_value()) {
      ++invalid;
      ++invalid_reasons[problem->error];
      reporter.report(topic, kind, *problem);
    }
  }

  nlohmann::json summary = {{"received", received},
                            {"invalid", invalid},
                            {"invalid_reasons", invalid_reasons},
                            {"flatbuffer", flatbuffer_messages},
                            {"json", json_messages},
                            {"batch_messages", batch_messages},
                            {"batch_events", batch_events},
                            {"status", status_messages},
                            {"reconnects", reconnects}};
  tally.summarize(summary);
  reporter.flush();
  std::cerr << dump(summary) << std::endl;
  try {
    client->disconnect()->wait_for(std::chrono::seconds(2));
  } catch (const mqtt::exception&) {  // leaving anyway
  }
  return status;
}

}  // namespace edge::edgectl
