// Forwarder: publishes buffered events upstream with Paho MQTT C++ at QoS 1 and deletes each one
// from the buffer only after the broker's PUBACK ("delete after PUBACK").
//
// Threading: Paho calls back on its own threads; those callbacks only queue what happened and
// wake the event loop (wake_fd()). Everything else, LMDB included, runs in the loop thread in
// poll(), so the buffer keeps a single writer.
//
// Bounds: at most max_in_flight publishes await their PUBACK, and never more than the Receive
// Maximum the broker announced in CONNACK (Mosquitto: 20). Reconnects back off exponentially
// with jitter between backoff_min_ms and backoff_max_ms.
//
// Delivery is at-least-once: on a lost connection every unacknowledged event is published again
// after the reconnect, so duplicates are bounded by the in-flight window per outage; nothing is
// deleted without a PUBACK.
//
// Refusals (MQTT v5 PUBACK reason >= 0x80): codes that can never succeed for this message
// (not authorized 0x87, topic name invalid 0x90, packet too large 0x95, payload format invalid
// 0x99) are counted as "rejected.<code>", logged, and the event is deleted so it cannot block
// the queue forever; any other refusal (quota exceeded, unspecified, ...) is retried after the
// backoff.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "edge/gateway/aligned_copy.h"
#include "edge/gateway/buffer.h"

namespace mqtt {
class async_client;
class token;
}  // namespace mqtt

namespace edge::gateway {

struct ForwarderOptions {
  std::string server_uri;  // tcp://host:port (ssl://host:port for TLS)
  std::string client_id;
  std::string gateway_id = "edge-gateway";
  std::string topic_prefix = "edge";  // topic: <prefix>/<gateway-id>/<device-hex>/<sensor>
  std::uint32_t max_in_flight = 20;   // upper bound; the broker's Receive Maximum may lower it
  std::uint32_t keep_alive_s = 30;
  std::uint32_t backoff_min_ms = 100;
  std::uint32_t backoff_max_ms = 30'000;
};

struct ForwarderStats {
  bool connected = false;
  std::uint32_t window = 0;  // current in-flight bound
  std::uint32_t in_flight = 0;
  std::uint64_t published = 0;  // publishes sent, resends included
  std::uint64_t acked = 0;      // PUBACKs received
  std::uint64_t rejected = 0;   // refused for good by the broker
  std::uint64_t reconnects = 0;
};

class Forwarder {
 public:
  Forwarder(Buffer& buffer, ForwarderOptions options);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  /// Readable when Paho reported something; the loop then calls poll().
  [[nodiscard]] int wake_fd() const { return wake_fd_; }
  /// Applies PUBACKs (one delete transaction), reconnects when due, publishes up to the window.
  /// Call from the loop thread with no buffer batch open. Returns the time in µs until it wants
  /// to run again (a reconnect is due), or 0 for "when woken".
  std::uint64_t poll(std::uint64_t now_us);
  [[nodiscard]] ForwarderStats stats() const;

 private:
  struct Report;  // what a Paho callback queued
  class Callbacks;
  class PublishListener;
  class ConnectListener;

  struct Slot {
    std::uint64_t key = 0;
    std::uint16_t generation = 0;
    bool used = false;
  };

  void report(Report report);
  void on_lost(std::uint64_t now_us, const std::string& why);
  void publish_more(std::uint64_t now_us);
  std::uint64_t next_backoff_us();

  Buffer& buffer_;
  ForwarderOptions options_;
  int wake_fd_ = -1;
  // Declared before the client: Paho may call them until the client is destroyed.
  std::unique_ptr<Callbacks> callbacks_;
  std::unique_ptr<ConnectListener> connect_listener_;
  std::unique_ptr<PublishListener> publish_listener_;
  std::unique_ptr<mqtt::async_client> client_;
  std::shared_ptr<mqtt::token> connect_token_;

  // Shared with Paho's threads.
  mutable std::mutex mutex_;
  std::deque<Report> reports_;

  // Loop thread only.
  enum class State { kDisconnected, kConnecting, kConnected } state_ = State::kDisconnected;
  std::uint64_t reconnect_at_us_ = 0;
  std::uint64_t backoff_us_ = 0;
  std::uint64_t next_key_ = 0;                        // publish from here
  std::vector<Slot> slots_;                           // one per possible in-flight publish
  std::map<std::uint64_t, std::uint32_t> in_flight_;  // buffer key -> slot
  std::uint32_t window_ = 0;
  std::uint64_t rng_ = 0x9E3779B97F4A7C15ULL;
  AlignedCopy scratch_;
  ForwarderStats stats_;
};

}  // namespace edge::gateway
