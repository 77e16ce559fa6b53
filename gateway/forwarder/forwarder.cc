#include "edge/gateway/forwarder.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <flatbuffers/flatbuffers.h>
#include <future>
#include <set>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>

#include "edge/gateway/device_hex.h"
#include "edge/gateway/event_json.h"
#include "edge/wire/messages.h"
#include "mqtt/async_client.h"
#include "tls_probe.h"
#include "upstream_message.h"

namespace edge::gateway {
namespace {

// MQTT v5 PUBACK reasons that no resend can fix (OASIS MQTT 5.0, 3.4.2.1).
bool permanent_refusal(int reason) {
  return reason == 0x87 || reason == 0x90 || reason == 0x95 || reason == 0x99;
}

// CONNACK refusals only an operator can fix: v5 reason codes (3.2.2.2) and v3.1.1 return codes
// (identifier rejected 2, bad user name or password 4, not authorized 5).
bool credentials_refused(bool v5, int code) {
  if (v5) {
    return code == 0x85 || code == 0x86 || code == 0x87 || code == 0x8A || code == 0x8C;
  }
  return code == 2 || code == 4 || code == 5;
}

// The context Paho hands back with a publish: which slot, and which use of it, so a late
// callback for a publish abandoned at a disconnect is recognised and ignored. Fits 32 bits.
std::uintptr_t make_context(std::uint32_t slot, std::uint16_t generation) {
  return (static_cast<std::uintptr_t>(slot) << 16U) | generation;
}

// Paho C knows tcp:// and ssl://; the mqtt:// and mqtts:// spellings cloud brokers document are
// the same schemes.
std::string paho_uri(const std::string& uri) {
  if (uri.starts_with("mqtt://")) {
    return "tcp://" + uri.substr(7);
  }
  if (uri.starts_with("mqtts://")) {
    return "ssl://" + uri.substr(8);
  }
  return uri;
}

// The sooner of two waits as poll() returns them, where 0 means "none: until a report wakes".
std::uint64_t sooner(std::uint64_t a, std::uint64_t b) {
  if (a == 0 || b == 0) {
    return std::max(a, b);
  }
  return std::min(a, b);
}

// Repeated connect failures of one kind are logged at most this often.
constexpr std::uint64_t kFailureLogIntervalUs = 60'000'000;

std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::string event_id_text(const EventId& id) {
  std::array<char, kEventIdTextMax> text{};
  const auto length = format_event_id(id, text);
  return {text.data(), length.ok() ? length.value() : 0};
}

}  // namespace

struct Forwarder::Report {
  enum class Kind { kConnected, kConnectFailed, kLost, kAcked, kRefused, kTlsProbe } kind;
  std::uintptr_t context = 0;
  int code = 0;  // v5 reason code, or the v3.1.1 / Paho return code
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
    const int reason = token.get_reason_code();
    const int code = reason != 0 ? reason : token.get_return_code();
    f_.report({Report::Kind::kConnectFailed, 0, code, 0,
               reason != 0 ? mqtt::exception::reason_code_str(reason)
                           : mqtt::exception::error_str(token.get_return_code())});
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

std::variant<std::unique_ptr<Forwarder>, std::string> Forwarder::create(Buffer& buffer,
                                                                        ForwarderOptions options) {
  std::string why;
  std::optional<TopicTemplate> topic = TopicTemplate::compile(options.upstream.topic, &why);
  if (!topic) {
    return "upstream.topic: " + why;
  }
  try {
    return std::unique_ptr<Forwarder>(new Forwarder(buffer, std::move(options), *topic));
  } catch (const mqtt::exception& e) {
    return "upstream.uri: " + std::string(e.what());
  }
}

Forwarder::Forwarder(Buffer& buffer, ForwarderOptions options, TopicTemplate topic)
    : buffer_(buffer),
      options_(std::move(options)),
      topic_(std::move(topic)),
      v5_(options_.upstream.protocol == MqttProtocol::kV5) {
  const UpstreamConfig& up = options_.upstream;
  status_topic_ = up.topic_prefix + "/" + options_.gateway_id + "/status";
  tls_ = paho_uri(up.uri).starts_with("ssl://");
  if (up.client_id.empty()) {
    options_.upstream.client_id = options_.gateway_id;
  }
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  callbacks_ = std::make_unique<Callbacks>(*this);
  connect_listener_ = std::make_unique<ConnectListener>(*this);
  publish_listener_ = std::make_unique<PublishListener>(*this);
  fbb_ = std::make_unique<flatbuffers::FlatBufferBuilder>(4096);
  slots_.resize(up.max_in_flight);
  // Full at the start; the first refill is at the first poll's time.
  if (up.drain_rate_events_s != 0) {
    event_bucket_.emplace(up.drain_rate_events_s, up.drain_burst_ms, 0);
  }
  if (up.drain_rate_bytes_s != 0) {
    byte_bucket_.emplace(up.drain_rate_bytes_s, up.drain_burst_ms, 0);
  }
  // No persistence object: Paho keeps nothing of its own; the LMDB buffer is the store. Paho's
  // own queue must hold the whole window plus the status messages, or publish fails with -12;
  // twice the window, because right after a reconnect it may still hold the publishes of the
  // lost connection until it fails them.
  client_ = std::make_unique<mqtt::async_client>(
      paho_uri(up.uri), options_.upstream.client_id,
      mqtt::create_options(v5_ ? MQTTVERSION_5 : MQTTVERSION_3_1_1,
                           static_cast<int>(up.max_in_flight) * 2 + 16),
      nullptr);
  client_->set_callback(*callbacks_);
}

Forwarder::~Forwarder() {
  (void)flush_deletes(0, /*force=*/true);  // what the broker has, the buffer must not resend
  try {
    if (state_ == State::kConnected && client_->is_connected()) {
      // A clean stop is not a failure: say so ourselves, since a normal disconnect
      // discards the last will.
      publish_status("offline");
      client_->disconnect()->wait_for(std::chrono::seconds(2));
    }
  } catch (const mqtt::exception&) {  // shutting down: nothing left to tell anyone
  }
  client_.reset();  // before the listeners it may still call
  if (probe_.valid()) {
    probe_.wait();  // bounded by the probe's own timeouts
  }
  ::close(wake_fd_);
}

void Forwarder::report(Report r) {
  bool wake = false;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    // Only the first report of a round wakes the loop: poll() reads wake_fd before it takes
    // the queue, so a report added to a non-empty queue is taken by a wake-up already due.
    wake = reports_.empty();
    reports_.push_back(std::move(r));
  }
  if (wake) {
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
  }
}

std::uint64_t Forwarder::next_backoff_us() {
  const std::uint64_t min_us = std::uint64_t{options_.upstream.backoff_min_ms} * 1000U;
  const std::uint64_t max_us = std::uint64_t{options_.upstream.backoff_max_ms} * 1000U;
  backoff_us_ = backoff_us_ == 0 ? min_us : std::min(backoff_us_ * 2U, max_us);
  // Full jitter over the upper half: a fleet reconnecting after an outage spreads out.
  rng_ ^= rng_ << 13U;
  rng_ ^= rng_ >> 7U;
  rng_ ^= rng_ << 17U;
  return backoff_us_ / 2U + rng_ % (backoff_us_ / 2U + 1U);
}

void Forwarder::on_lost(std::uint64_t now_us, const std::string& why) {
  if (state_ == State::kConnected) {
    spdlog::warn("upstream {}: connection lost ({}); {} events unacknowledged will be resent",
                 options_.upstream.uri, why.empty() ? "no reason given" : why,
                 in_flight_.size() + failed_by_drop_);
  }
  failed_by_drop_ = 0;
  state_ = State::kDisconnected;
  for (Slot& slot : slots_) {
    slot.used = false;  // a late callback no longer matches its generation
    slot.keys.clear();
  }
  in_flight_.clear();
  next_key_ = 0;
  live_from_key_ = 0;
  linger_since_us_ = 0;
  reconnect_at_us_ = now_us + next_backoff_us();
}

mqtt::connect_options Forwarder::connect_options() {
  const UpstreamConfig& up = options_.upstream;
  mqtt::connect_options_builder b;
  b.mqtt_version(v5_ ? MQTTVERSION_5 : MQTTVERSION_3_1_1)
      .keep_alive_interval(std::chrono::seconds(up.keep_alive_s))
      .connect_timeout(std::chrono::seconds(10))
      .automatic_reconnect(false);
  if (v5_) {
    b.clean_start(up.clean_start);
    if (up.session_expiry_s != 0) {
      // A four-byte integer on the wire; Paho takes it as int.
      b.properties(
          {{mqtt::property::SESSION_EXPIRY_INTERVAL, static_cast<int>(up.session_expiry_s)}});
    }
  } else {
    b.clean_session(up.clean_start);
  }
  const std::string offline = status_json({.state = "offline", .gateway_id = options_.gateway_id});
  b.will(mqtt::will_options(status_topic_, offline, 1, true));
  if (!up.username.empty()) {
    b.user_name(up.username);
    b.password(options_.password);
  }
  if (tls_) {
    mqtt::ssl_options_builder ssl;
    ssl.ssl_version(MQTT_SSL_VERSION_TLS_1_2)  // 1.2 or later
        .enable_server_cert_auth(up.tls_verify)
        .verify(up.tls_verify);
    if (!up.tls_ca_file.empty()) {
      ssl.trust_store(up.tls_ca_file);
    }
    if (!up.tls_cert_file.empty()) {
      ssl.key_store(up.tls_cert_file).private_key(up.tls_key_file);
    }
    b.ssl(ssl.finalize());
  }
  return b.finalize();
}

void Forwarder::connect(std::uint64_t now_us) {
  state_ = State::kConnecting;
  try {
    client_->connect(connect_options(), nullptr, *connect_listener_);
  } catch (const mqtt::exception& e) {
    state_ = State::kDisconnected;
    reconnect_at_us_ = now_us + next_backoff_us();
    spdlog::warn("upstream {}: connect: {}", options_.upstream.uri, e.what());
  }
}

void Forwarder::on_report(Report& r, std::uint64_t now_us, std::vector<std::uint64_t>& to_delete) {
  const UpstreamConfig& up = options_.upstream;
  switch (r.kind) {
    case Report::Kind::kConnected:
      if (state_ != State::kConnecting) {
        break;  // Paho reports a connect once to the listener and once more on some paths
      }
      state_ = State::kConnected;
      stats_.receive_max = r.receive_max;
      window_ = std::min(up.max_in_flight, v5_ ? r.receive_max : up.max_in_flight);
      backoff_us_ = 0;
      failed_by_drop_ = 0;
      next_key_ = 0;
      if (up.live_first) {
        live_from_key_ = buffer_.next_key();  // what is buffered now is the backlog
        live_key_ = live_from_key_;
      }
      last_connect_error_.clear();
      probed_ = false;
      ++stats_.connects;
      spdlog::info("upstream {}: connected (MQTT {}), in-flight window {}{}", up.uri,
                   v5_ ? "5" : "3.1.1", window_,
                   v5_ ? fmt::format(" (broker receive maximum {})", r.receive_max) : "");
      publish_status("online");
      status_due_us_ = now_us + std::uint64_t{up.status_interval_s} * 1'000'000U;
      break;
    case Report::Kind::kConnectFailed: {
      if (state_ != State::kConnecting) {
        break;
      }
      state_ = State::kDisconnected;
      ++stats_.connect_failures;
      const bool refused = credentials_refused(v5_, r.code);
      if (refused) {
        backoff_us_ = std::uint64_t{up.backoff_max_ms} * 1000U;  // no tight loop on bad secrets
      }
      reconnect_at_us_ = now_us + next_backoff_us();
      const std::string what = fmt::format("{} (code {})", r.text, r.code);
      if (refused && what != last_connect_error_) {
        spdlog::error(
            "upstream {}: the broker refused the connection: {}; check upstream.username, "
            "upstream.password_file and the client certificate; next try in {} s",
            up.uri, what, (reconnect_at_us_ - now_us) / 1'000'000U);
      } else if (tls_ && r.code == MQTTASYNC_FAILURE && !probe_.valid() && !probed_) {
        // Paho says only "TCP/TLS connect failure": ask OpenSSL why, once per failure streak.
        probed_ = true;
        probe_ = std::async(std::launch::async, [this] {
          report({Report::Kind::kTlsProbe, 0, 0, 0,
                  tls_probe({.uri = paho_uri(options_.upstream.uri),
                             .ca_file = options_.upstream.tls_ca_file,
                             .cert_file = options_.upstream.tls_cert_file,
                             .key_file = options_.upstream.tls_key_file,
                             .verify = options_.upstream.tls_verify})});
        });
        spdlog::warn("upstream {}: TCP/TLS connect failed; retrying in {} ms", up.uri,
                     (reconnect_at_us_ - now_us) / 1000U);
      } else if (what != last_connect_error_ || now_us >= failure_log_due_us_) {
        // Once per kind of failure, then a reminder a minute: an outage of hours must not
        // fill the log with one line per attempt.
        spdlog::warn("upstream {}: connect failed ({}); {} attempts so far, retrying in {} ms",
                     up.uri, what, stats_.connect_failures, (reconnect_at_us_ - now_us) / 1000U);
        failure_log_due_us_ = now_us + kFailureLogIntervalUs;
      }
      last_connect_error_ = what;
      break;
    }
    case Report::Kind::kTlsProbe:
      probe_.get();
      if (r.text.empty()) {
        spdlog::warn(
            "upstream {}: a TLS handshake to the broker succeeds from here; the "
            "failures are not about certificates",
            up.uri);
      } else {
        spdlog::error(
            "upstream {}: TLS: {} (check upstream.tls.ca_file, cert_file, key_file "
            "and that the broker's certificate names this host)",
            up.uri, r.text);
      }
      break;
    case Report::Kind::kLost: on_lost(now_us, r.text); break;
    case Report::Kind::kAcked:
    case Report::Kind::kRefused: {
      const std::uint32_t index = static_cast<std::uint32_t>(r.context >> 16U);
      const auto generation = static_cast<std::uint16_t>(r.context & 0xFFFFU);
      if (index >= slots_.size() || !slots_[index].used || slots_[index].generation != generation) {
        break;  // abandoned at a disconnect: it will be (or was) published again
      }
      Slot& slot = slots_[index];
      slot.used = false;
      for (const std::uint64_t key : slot.keys) {
        in_flight_.erase(key);
      }
      if (r.kind == Report::Kind::kAcked) {
        ++stats_.acked;
        to_delete.insert(to_delete.end(), slot.keys.begin(), slot.keys.end());
      } else if (r.code < 0x80) {
        // Not a refusal: Paho fails what was in flight when the connection drops; the
        // connection_lost report follows and everything unacknowledged is sent again.
        failed_by_drop_ += slot.keys.size();
        rewind_to(slot.keys.front());
      } else if (permanent_refusal(r.code)) {
        ++stats_.rejected;
        to_delete.insert(to_delete.end(), slot.keys.begin(), slot.keys.end());
        buffer_.count("rejected." + std::to_string(r.code), slot.keys.size());
        spdlog::error(
            "upstream refused {} event(s) for good (MQTT reason 0x{:02x} {}); deleted and "
            "counted as rejected.{}",
            slot.keys.size(), r.code, mqtt::exception::reason_code_str(r.code), r.code);
      } else {
        rewind_to(slot.keys.front());  // publish it again
        paused_until_us_ = now_us + next_backoff_us();
        spdlog::warn(
            "upstream refused a publish for now (MQTT reason 0x{:02x} {}); resending "
            "in {} ms",
            r.code, mqtt::exception::reason_code_str(r.code), (paused_until_us_ - now_us) / 1000U);
      }
      slot.keys.clear();
      break;
    }
  }
}

bool Forwarder::delete_acknowledged(const std::vector<std::uint64_t>& keys, std::uint64_t now_us) {
  std::optional<BufferError> error = buffer_.begin();
  std::size_t erased = 0;
  if (!error) {
    erased = buffer_.erase(keys);
    error = buffer_.commit();
  }
  if (error) {
    if (now_us >= delete_log_due_us_) {  // a failing disk must not fill the log too
      spdlog::error(
          "buffer: deleting {} acknowledged events failed (kept, never resent, tried again "
          "every {} ms; publishing pauses at {} waiting): {}",
          keys.size(), kDeleteFailedRetryUs / 1000U, kMaxPendingDeletes, error->message);
      delete_log_due_us_ = now_us + kFailureLogIntervalUs;
    }
    return false;
  }
  // Expired events are deleted in the same groups; they count as expired, not as acked.
  stats_.acked_events += erased > pending_expired_ ? erased - pending_expired_ : 0;
  pending_expired_ = 0;
  return true;
}

std::uint64_t Forwarder::poll(std::uint64_t now_us) {
  std::uint64_t drained = 0;
  (void)!::read(wake_fd_, &drained, sizeof(drained));
  std::deque<Report> reports;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    reports.swap(reports_);
  }
  std::vector<std::uint64_t> acknowledged;
  for (Report& r : reports) {
    on_report(r, now_us, acknowledged);
  }
  mark_for_delete(acknowledged, now_us);
  const std::uint64_t delete_in = flush_deletes(now_us, state_ != State::kConnected);
  if (state_ == State::kDisconnected && now_us >= reconnect_at_us_) {
    connect(now_us);
  }
  if (state_ == State::kDisconnected) {
    return reconnect_at_us_ > now_us ? reconnect_at_us_ - now_us : 1;
  }
  if (state_ != State::kConnected) {
    return 0;
  }
  const std::uint32_t interval_s = options_.upstream.status_interval_s;
  if (interval_s != 0 && now_us >= status_due_us_) {
    publish_status("online");
    status_due_us_ = now_us + std::uint64_t{interval_s} * 1'000'000U;
  }
  std::uint64_t wait_us = publish_more(now_us);
  if (state_ == State::kConnected && interval_s != 0) {
    const std::uint64_t status_in = status_due_us_ > now_us ? status_due_us_ - now_us : 1;
    wait_us = sooner(wait_us, status_in);
  }
  return sooner(wait_us, delete_in);
}

void Forwarder::mark_for_delete(const std::vector<std::uint64_t>& keys, std::uint64_t now_us) {
  if (keys.empty()) {
    return;
  }
  if (pending_delete_.empty()) {
    pending_since_us_ = now_us;
  }
  pending_delete_.insert(pending_delete_.end(), keys.begin(), keys.end());
  deleting_.insert(keys.begin(), keys.end());
}

std::uint64_t Forwarder::drain_wait_us(std::uint64_t now_us) {
  // A message may go while both buckets hold something; publish() may take them below zero (a
  // batch bigger than the burst still goes), and the debt is paid before the next one.
  const std::uint64_t events = event_bucket_ ? event_bucket_->wait_us(now_us) : 0;
  const std::uint64_t bytes = byte_bucket_ ? byte_bucket_->wait_us(now_us) : 0;
  return std::max(events, bytes);
}

std::uint64_t Forwarder::flush_deletes(std::uint64_t now_us, bool force) {
  if (pending_delete_.empty()) {
    return 0;
  }
  const std::uint64_t due = pending_since_us_ + kDeleteGroupUs;
  if (!force && pending_delete_.size() < kDeleteGroupEvents && now_us < due) {
    return due - now_us;
  }
  if (buffer_.in_batch()) {
    // An ingest batch is open (ingest.commit_linger_us): the loop commits it first, then polls
    // again; the group waits for it rather than failing.
    return kDeleteRetryUs;
  }
  if (!delete_acknowledged(pending_delete_, now_us)) {
    return kDeleteFailedRetryUs;  // kept: never published again, deleted once the buffer allows
  }
  pending_delete_.clear();
  deleting_.clear();
  return 0;
}

std::uint64_t Forwarder::publish_more(std::uint64_t now_us) {
  const UpstreamConfig& up = options_.upstream;
  if (paused_until_us_ > now_us) {
    return paused_until_us_ - now_us;
  }
  if (pending_delete_.size() >= kMaxPendingDeletes) {
    return kDeleteRetryUs;  // deletes are failing or held up: no more until they go through
  }
  if (const std::uint64_t paced = drain_wait_us(now_us); paced != 0) {
    return paced;  // upstream.drain_rate_*: the buckets refill
  }
  const auto used = static_cast<std::size_t>(
      std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.used; }));
  if (used >= window_) {
    return 0;
  }
  const bool batching = up.payload == PayloadMode::kBatch;
  std::size_t free = window_ - used;
  if (!batching && event_bucket_) {
    // Prepare no more single-event messages than the bucket lets go now.
    free = std::min(free, std::max<std::size_t>(1, event_bucket_->tokens()));
  }
  if (live_from_key_ == 0) {
    return publish_pass(now_us, next_key_, UINT64_MAX, free, true).wait_us;
  }
  // live_first while a backlog drains: what arrived since the connect goes first, the backlog
  // fills the slots left, from the oldest.
  const Pass live = publish_pass(now_us, live_key_, UINT64_MAX, free, true);
  if (live.lost) {
    return live.wait_us;
  }
  Pass backlog;
  if (live.published < free) {
    backlog = publish_pass(now_us, next_key_, live_from_key_, free - live.published, false);
    if (backlog.lost) {
      return backlog.wait_us;
    }
    if (backlog.drained) {
      spdlog::info("upstream: backlog drained (live_first); strict buffer order again");
      live_from_key_ = 0;
      next_key_ = live_key_;
    }
  }
  return sooner(live.wait_us, backlog.wait_us);
}

void Forwarder::rewind_to(std::uint64_t key) {
  if (live_from_key_ != 0 && key >= live_from_key_) {
    live_key_ = std::min(live_key_, key);
  } else {
    next_key_ = std::min(next_key_, key);
  }
}

Forwarder::Pass Forwarder::publish_pass(std::uint64_t now_us, std::uint64_t& cursor,
                                        std::uint64_t end_key, std::size_t free, bool newest) {
  const UpstreamConfig& up = options_.upstream;
  const bool batching = up.payload == PayloadMode::kBatch;
  const std::uint64_t expiry_us = std::uint64_t{up.message_expiry_s} * 1'000'000U;
  const std::uint64_t wall_now_us = expiry_us != 0 ? wall_ms() * 1000U : 0;
  std::vector<std::uint64_t> expired;
  // A single-event message is a batch that nothing else fits into.
  const std::size_t max_bytes = batching ? up.batch_max_bytes : 0;
  const std::size_t scan_limit = std::min<std::size_t>(65536, free * (batching ? 1024 : 1) + 256);

  std::vector<Outgoing> ready;              // complete messages
  std::map<std::uint64_t, Outgoing> open;   // device -> the message still filling
  std::set<std::uint64_t> blocked;          // devices with no free slot left this round
  std::optional<std::uint64_t> first_left;  // the first event left for a later round
  std::uint64_t last_key = cursor;
  std::size_t visited = 0;
  bool stopped = false;
  bool reached_end_key = false;
  const auto leave = [&first_left](std::uint64_t key) {
    first_left = std::min(first_left.value_or(key), key);
  };

  const auto error = buffer_.for_each_event(cursor, scan_limit, [&](const StoredEvent& e) {
    if (e.key >= end_key) {
      reached_end_key = true;
      return false;
    }
    ++visited;
    last_key = e.key;
    if (in_flight_.contains(e.key) || deleting_.contains(e.key)) {
      return true;  // awaiting its PUBACK, or acknowledged and about to be deleted
    }
    if (expiry_us != 0 && e.record.received_us + expiry_us <= wall_now_us) {
      expired.push_back(e.key);  // upstream.message_expiry_s: dropped, counted, never sent
      return true;
    }
    const auto event = wire::verify_event(scratch_.assign(e.record.payload));
    if (!event.ok()) {
      return true;  // verified at ingest; a damaged record stays for an operator to see
    }
    const std::uint64_t device = e.record.device;
    if (blocked.contains(device)) {
      leave(e.key);
      return true;
    }
    const flatbuffers::String* sensor = event.value()->sensor();
    const std::string_view sensor_name = sensor != nullptr ? sensor->string_view() : "";
    auto it = open.find(device);
    if (it == open.end()) {
      if (ready.size() + open.size() >= free) {
        blocked.insert(device);
        leave(e.key);
        stopped = ready.size() == free;
        return !stopped;
      }
      it = open.emplace(device, Outgoing{}).first;
    }
    if (add_to_batch(it->second, e, event.value()->schema_version(), sensor_name, max_bytes)) {
      return true;
    }
    ready.push_back(std::move(it->second));  // full: close it, start the next one
    it->second = Outgoing{};
    if (ready.size() + open.size() > free) {
      open.erase(it);
      blocked.insert(device);
      leave(e.key);
      stopped = ready.size() == free;
      return !stopped;
    }
    add_to_batch(it->second, e, event.value()->schema_version(), sensor_name, max_bytes);
    return true;
  });
  Pass pass;
  if (error) {
    spdlog::error("buffer: {}", error->message);
    return pass;
  }
  if (!expired.empty()) {
    note_expired(expired, now_us);
  }
  const bool reached_end = !stopped && (reached_end_key || visited < scan_limit);
  bool hold_open = false;
  if (newest && batching && reached_end && !open.empty() && up.batch_linger_ms != 0) {
    // The newest events: give their batch up to batch_linger_ms to fill.
    if (linger_since_us_ == 0) {
      linger_since_us_ = now_us;
    }
    const std::uint64_t due = linger_since_us_ + std::uint64_t{up.batch_linger_ms} * 1000U;
    hold_open = now_us < due;
    pass.wait_us = hold_open ? due - now_us : 0;
  }
  if (!hold_open) {
    if (newest) {
      linger_since_us_ = 0;
    }
    for (auto& [device, out] : open) {
      ready.push_back(std::move(out));
    }
  } else {
    for (const auto& [device, out] : open) {
      leave(out.keys.front());
    }
  }
  std::sort(ready.begin(), ready.end(),
            [](const Outgoing& a, const Outgoing& b) { return a.keys.front() < b.keys.front(); });
  cursor = first_left.value_or(visited == 0 ? cursor : last_key + 1);
  pass.drained = reached_end && !first_left && ready.empty();
  for (Outgoing& out : ready) {
    if (const std::uint64_t paced = drain_wait_us(now_us); paced != 0) {
      // The bucket ran dry: this message and the ones after it go later, in order.
      cursor = std::min(cursor, out.keys.front());
      pass.drained = false;
      pass.wait_us = sooner(pass.wait_us, paced);
      return pass;
    }
    if (!publish(out)) {
      on_lost(now_us, "publish failed");
      pass.lost = true;
      pass.wait_us = reconnect_at_us_ - now_us;
      return pass;
    }
    ++pass.published;
  }
  return pass;
}

void Forwarder::note_expired(const std::vector<std::uint64_t>& keys, std::uint64_t now_us) {
  mark_for_delete(keys, now_us);
  pending_expired_ += keys.size();
  buffer_.count("expired", keys.size());
  stats_.expired += keys.size();
  if (now_us >= expiry_log_due_us_) {  // once a minute at most: a long outage expires a lot
    spdlog::warn(
        "upstream: {} event(s) buffered longer than upstream.message_expiry_s = {} dropped "
        "(counted as expired; {} in all)",
        keys.size(), options_.upstream.message_expiry_s, stats_.expired);
    expiry_log_due_us_ = now_us + kFailureLogIntervalUs;
  }
}

bool Forwarder::publish(Outgoing& out) {
  const UpstreamConfig& up = options_.upstream;
  const auto free_slot =
      std::find_if(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.used; });
  const auto index = static_cast<std::size_t>(std::distance(slots_.begin(), free_slot));
  const std::string device = device_hex(out.device);
  const bool batch = up.payload == PayloadMode::kBatch;
  const std::string topic = topic_.render(up.topic_prefix, options_.gateway_id, device,
                                          batch ? "batch" : topic_level(out.sensor));
  mqtt::message_ptr_builder builder;
  builder.topic(topic).qos(1);
  std::string_view content_type = kEventContentType;
  std::size_t payload_bytes = 0;
  switch (up.payload) {
    case PayloadMode::kFlatbuffer:
      builder.payload(out.events.front().data(), out.events.front().size());
      payload_bytes = out.events.front().size();
      break;
    case PayloadMode::kJson: {
      const auto event = wire::verify_event(scratch_.assign(out.events.front()));
      std::string json = event.ok() ? event_to_json(*event.value()).dump() : std::string("{}");
      payload_bytes = json.size();
      builder.payload(std::move(json));
      content_type = kJsonContentType;
      break;
    }
    case PayloadMode::kBatch: {
      const std::span<const std::uint8_t> bytes = encode_upstream_batch(*fbb_, out);
      builder.payload(bytes.data(), bytes.size());
      payload_bytes = bytes.size();
      content_type = kBatchContentType;
      break;
    }
  }
  if (v5_) {
    mqtt::properties props;
    props.add({mqtt::property::USER_PROPERTY, "event-id", event_id_text(out.first_id)});
    if (out.keys.size() > 1) {
      props.add({mqtt::property::USER_PROPERTY, "last-event-id", event_id_text(out.last_id)});
      props.add({mqtt::property::USER_PROPERTY, "events", std::to_string(out.keys.size())});
    }
    props.add({mqtt::property::USER_PROPERTY, "schema-version",
               std::to_string(out.schema_version >> 8U) + "." +
                   std::to_string(out.schema_version & 0xFFU)});
    props.add({mqtt::property::CONTENT_TYPE, std::string(content_type)});
    if (up.payload == PayloadMode::kJson) {
      props.add({mqtt::property::PAYLOAD_FORMAT_INDICATOR, 1});
    }
    builder.properties(std::move(props));
  }
  Slot& slot = slots_[index];
  slot.generation = static_cast<std::uint16_t>(slot.generation + 1U);
  slot.used = true;
  slot.keys = out.keys;
  try {
    // Paho's user context is a void*; it carries a number here, never an address.
    client_->publish(builder.finalize(),
                     reinterpret_cast<void*>(  // NOLINT(performance-no-int-to-ptr)
                         make_context(static_cast<std::uint32_t>(index), slot.generation)),
                     *publish_listener_);
  } catch (const mqtt::exception& ex) {
    slot.used = false;
    slot.keys.clear();
    spdlog::warn("upstream publish: {}", ex.what());
    return false;
  }
  for (const std::uint64_t key : out.keys) {
    in_flight_.emplace(key, static_cast<std::uint32_t>(index));
  }
  ++stats_.published;
  if (event_bucket_) {
    event_bucket_->spend(out.keys.size());
  }
  if (byte_bucket_) {
    byte_bucket_->spend(payload_bytes);
  }
  return true;
}

void Forwarder::publish_status(std::string_view state) {
  StatusFigures figures{.state = state, .gateway_id = options_.gateway_id, .wall_ms = wall_ms()};
  figures.in_flight = static_cast<std::uint32_t>(in_flight_.size());
  auto stats = buffer_.stats();
  if (auto* s = std::get_if<BufferStats>(&stats)) {
    figures.backlog = s->events;
    figures.buffer_bytes = s->used_bytes;
    figures.buffer_max_bytes = s->max_bytes;
    figures.devices = s->devices;
    figures.counters = s->counters;
    figures.outlook = outlook_of(*s, wall_ms() * 1000U);
  }
  try {
    // Fire and forget at QoS 1: the status is a snapshot; the next one supersedes it.
    client_->publish(status_topic_, status_json(figures), 1, true);
  } catch (const mqtt::exception& e) {
    spdlog::warn("upstream status: {}", e.what());
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
