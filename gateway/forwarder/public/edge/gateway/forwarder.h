// Forwarder: publishes buffered events upstream with Paho MQTT C++ at QoS 1 and deletes each one
// from the buffer only after the broker's PUBACK ("delete after PUBACK").
//
// Threading: Paho calls back on its own threads; those callbacks only queue what happened and
// wake the event loop (wake_fd()). Everything else, LMDB included, runs in the loop thread in
// poll(), so the buffer keeps a single writer.
//
// Messages: in payload mode "flatbuffer" and "json" one message carries one event; in "batch"
// mode one message carries consecutive events of one device (a LinkMessage{EventBatch}, at
// most upstream.batch_max_bytes), published when full or once it has waited batch_linger_ms.
// Every event keeps its own ID. Per device, events are published in buffer order (strict FIFO)
// unless live_first is on (below).
//
// Deletes are grouped: what the broker acknowledged is deleted in one synced LMDB transaction
// once kDeleteGroupEvents keys are waiting or the oldest has waited kDeleteGroupUs, and at once
// when the connection ends or the forwarder stops. One fsync per PUBACK would cap forwarding at
// the disk's commit rate (a few thousand per second); grouped, the window keeps flowing. An
// acknowledged event is never published again while its delete waits; if the process dies in
// between it is sent once more after the restart (a duplicate, at most kMaxPendingDeletes
// plus the window: at-least-once, never a loss). While an ingest batch is open (the loop's
// ingest.commit_linger_us) or a delete fails, the group waits and is tried again after
// kDeleteRetryUs (kDeleteFailedRetryUs after an LMDB error); once kMaxPendingDeletes events wait,
// publishing pauses until they are gone.
//
// Bounds: at most max_in_flight messages await their PUBACK, and never more than the Receive
// Maximum the broker announced in CONNACK (Mosquitto: 20 by default). Reconnects back off
// exponentially with full jitter over the upper half, from backoff_min_ms up to backoff_max_ms.
//
// Paced drain (upstream.drain_rate_events_s, drain_rate_bytes_s, drain_burst_ms; off by
// default): two token buckets over everything published, each holding drain_burst_ms worth of
// its rate and starting full. A message goes while both hold something and may take them below
// zero (a batch bigger than the burst still goes); publishing waits until the debt is repaid.
// Live traffic under the rate is not delayed; a backlog after an outage drains at the rate.
//
// live_first (upstream.live_first, off by default): at each connect the buffer's next key
// splits it into the backlog and what arrives from then on; live events are published first and
// the backlog fills the slots left, oldest first, until it is drained (then strict order again).
// Per device, order holds within each part but not across them: consumers order by event ID.
//
// Expiry (upstream.message_expiry_s, off by default): an event buffered longer than that (by
// the gateway's wall clock at ingest) is not published; it is deleted with the next group,
// counted as "expired" (persisted, in the status message's "dropped") and logged once a minute.
//
// Delivery is at-least-once: on a lost connection every unacknowledged message is published
// again after the reconnect, so duplicates are bounded by the in-flight window per outage;
// nothing is deleted without a PUBACK. Paho's own persistence is off: the buffer is the store.
//
// Refusals:
// - CONNACK refusing the credentials or the client (bad user name or password 0x86, not
//   authorized 0x87, banned 0x8A, client id not valid 0x85; v3.1.1 return codes 2, 4, 5): no
//   retry can fix that until an operator does, so the next attempt waits backoff_max_ms at once
//   (no tight reconnect loop) and the error is logged once per change, naming the config keys.
// - TLS failures (wrong CA, expired or mismatched certificate, missing client certificate) are
//   retried with the normal backoff. Paho says only "TCP/TLS connect failure", so the first
//   failure of a streak starts tls_probe() on a helper thread, which repeats the handshake with
//   OpenSSL and the same files; its reason is logged. (Paho C++ 1.2's
//   ssl_options::error_handler is not used: Paho keeps a pointer into a copy of the options
//   that async_client::connect destroys, and calls it later - a use after free.)
// - PUBACK with a v5 reason >= 0x80: codes that can never succeed for this message (not
//   authorized 0x87, topic name invalid 0x90, packet too large 0x95, payload format invalid
//   0x99) are counted as "rejected.<code>" (persisted, reported in the status message), logged,
//   and the events are deleted so they cannot block the queue forever; any other refusal (quota
//   exceeded 0x97, implementation specific 0x83, unspecified 0x80, ...) pauses publishing for
//   one backoff step and the message is published again.
//
// Status: a retained message on {prefix}/{gateway}/status: {"state":"online",...} after each
// connect and every status_interval_s with backlog, in-flight, forwarded, dropped, duplicates,
// refused frames, devices and gaps; the broker publishes the retained last will
// {"state":"offline"} if the gateway vanishes, and the gateway publishes it itself on a clean
// stop.
//
// Errors from Paho (exceptions) never leave this class: they become a logged status and a
// reconnect.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <variant>
#include <vector>

#include "edge/gateway/aligned_copy.h"
#include "edge/gateway/buffer.h"
#include "edge/gateway/config.h"
#include "edge/gateway/token_bucket.h"
#include "edge/gateway/topic_template.h"

namespace mqtt {
class async_client;
class token;
class connect_options;
class message;
}  // namespace mqtt

namespace flatbuffers {
class FlatBufferBuilder;
}

namespace edge::gateway {

struct Outgoing;

/// Acknowledged events deleted together (see above): at most this many wait for their delete...
inline constexpr std::size_t kDeleteGroupEvents = 1024;
/// ...and none waits longer than this.
inline constexpr std::uint64_t kDeleteGroupUs = 20'000;
/// A group held up by an open ingest batch is tried again this much later...
inline constexpr std::uint64_t kDeleteRetryUs = 1'000;
/// ...and one the buffer refused (an LMDB error) this much later.
inline constexpr std::uint64_t kDeleteFailedRetryUs = 100'000;
/// Acknowledged events waiting for their delete at most; then publishing pauses.
inline constexpr std::size_t kMaxPendingDeletes = 8 * kDeleteGroupEvents;

struct ForwarderOptions {
  UpstreamConfig upstream;  // upstream.uri must be set
  std::string gateway_id = "edge-gateway";
  std::string password{};  // read by the daemon from upstream.password_file; never logged
};

struct ForwarderStats {
  bool connected = false;
  std::uint32_t window = 0;  // current in-flight bound, messages
  std::uint32_t in_flight = 0;
  std::uint64_t published = 0;         // messages sent, resends included
  std::uint64_t acked = 0;             // PUBACKs received
  std::uint64_t acked_events = 0;      // events deleted after a PUBACK
  std::uint64_t rejected = 0;          // messages refused for good by the broker
  std::uint64_t expired = 0;           // events dropped by upstream.message_expiry_s
  std::uint64_t connects = 0;          // successful connects
  std::uint64_t connect_failures = 0;  // refused or failed connect attempts
  std::uint32_t receive_max = 0;       // the broker's Receive Maximum at the last connect
};

class Forwarder {
 public:
  /// Checks options and sets up the Paho client (not yet connected). Returns an error message
  /// naming the config key when the options cannot work (topic template, URI Paho refuses).
  static std::variant<std::unique_ptr<Forwarder>, std::string> create(Buffer& buffer,
                                                                      ForwarderOptions options);
  ~Forwarder();  // publishes the retained "offline" status and disconnects (bounded wait)
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  /// Readable when Paho reported something; the loop then calls poll().
  [[nodiscard]] int wake_fd() const { return wake_fd_; }
  /// Applies PUBACKs (one delete transaction), reconnects when due, publishes up to the window,
  /// sends the status when due. Call from the loop thread with no buffer batch open, with a
  /// monotonic clock (tests pass a simulated one). Returns the time in µs until it wants to run
  /// again (a reconnect, a lingering batch, the status), or 0 for "when woken".
  std::uint64_t poll(std::uint64_t now_us);
  [[nodiscard]] ForwarderStats stats() const;

 private:
  struct Report;  // what a Paho callback queued
  class Callbacks;
  class PublishListener;
  class ConnectListener;

  struct Slot {
    std::vector<std::uint64_t> keys;  // buffer keys the message carries
    std::uint16_t generation = 0;
    bool used = false;
  };

  Forwarder(Buffer& buffer, ForwarderOptions options, TopicTemplate topic);
  void report(Report report);
  void on_report(Report& r, std::uint64_t now_us, std::vector<std::uint64_t>& to_delete);
  void on_lost(std::uint64_t now_us, const std::string& why);
  void connect(std::uint64_t now_us);
  [[nodiscard]] mqtt::connect_options connect_options();
  std::uint64_t publish_more(std::uint64_t now_us);
  bool publish(Outgoing& out);
  void publish_status(std::string_view state);
  /// Deletes `keys` in one synced transaction; false (logged, at most once a minute) when the
  /// buffer refused.
  bool delete_acknowledged(const std::vector<std::uint64_t>& keys, std::uint64_t now_us);
  /// Deletes what was acknowledged when the group is due (or `force`); returns how long until
  /// it is due (0: nothing pending).
  std::uint64_t flush_deletes(std::uint64_t now_us, bool force);
  /// Acknowledged (or expired) events: never published again, deleted with the next group.
  void mark_for_delete(const std::vector<std::uint64_t>& keys, std::uint64_t now_us);
  /// Counts, logs (once a minute) and deletes events older than upstream.message_expiry_s.
  void note_expired(const std::vector<std::uint64_t>& keys, std::uint64_t now_us);
  /// Refills the drain buckets (upstream.drain_rate_*); 0 when a message may go now, else how
  /// long until one may.
  std::uint64_t drain_wait_us(std::uint64_t now_us);
  struct Pass {
    std::uint64_t wait_us = 0;  // as publish_more's
    std::size_t published = 0;  // messages
    bool drained = false;       // nothing left before end_key
    bool lost = false;          // a publish failed: the connection is being dropped
  };
  /// Scans [cursor, end_key), publishes at most `free` messages and moves `cursor` to the first
  /// event left; `newest`: its last partial batch may linger (batch_linger_ms).
  Pass publish_pass(std::uint64_t now_us, std::uint64_t& cursor, std::uint64_t end_key,
                    std::size_t free, bool newest);
  /// Publishes `key` (and what follows it) again: moves the cursor of its part of the buffer.
  void rewind_to(std::uint64_t key);
  std::uint64_t next_backoff_us();

  Buffer& buffer_;
  ForwarderOptions options_;
  TopicTemplate topic_;
  std::string status_topic_;
  bool v5_ = true;
  bool tls_ = false;
  int wake_fd_ = -1;
  // Declared before the client: Paho may call them until the client is destroyed.
  std::unique_ptr<Callbacks> callbacks_;
  std::unique_ptr<ConnectListener> connect_listener_;
  std::unique_ptr<PublishListener> publish_listener_;
  std::unique_ptr<mqtt::async_client> client_;

  // Shared with Paho's threads.
  mutable std::mutex mutex_;
  std::deque<Report> reports_;

  // Loop thread only.
  enum class State { kDisconnected, kConnecting, kConnected } state_ = State::kDisconnected;
  std::uint64_t reconnect_at_us_ = 0;
  std::uint64_t backoff_us_ = 0;
  std::uint64_t paused_until_us_ = 0;  // after a transient PUBACK refusal
  std::uint64_t linger_since_us_ = 0;  // a partial batch has waited since then (0: none)
  std::uint64_t status_due_us_ = 0;
  std::string last_connect_error_;
  std::uint64_t failure_log_due_us_ = 0;
  std::future<void> probe_;     // the TLS probe, while it runs
  bool probed_ = false;         // since the last successful connect
  std::uint64_t next_key_ = 0;  // publish from here
  // live_first: while non-zero, keys below it are the backlog of the connect (published from
  // next_key_), keys from it on are live (published first, from live_key_).
  std::uint64_t live_from_key_ = 0;
  std::uint64_t live_key_ = 0;
  std::vector<Slot> slots_;                           // one per possible in-flight message
  std::map<std::uint64_t, std::uint32_t> in_flight_;  // buffer key -> slot
  // Events Paho failed because the connection dropped, before its connection_lost report
  // (logged with it: they are resent).
  std::size_t failed_by_drop_ = 0;
  // Acknowledged (PUBACK or a permanent refusal), not yet deleted: never published again.
  std::vector<std::uint64_t> pending_delete_;
  std::unordered_set<std::uint64_t> deleting_;
  std::uint64_t pending_since_us_ = 0;
  std::uint64_t delete_log_due_us_ = 0;
  std::uint64_t expiry_log_due_us_ = 0;
  std::size_t pending_expired_ = 0;  // of pending_delete_, how many expired
  // Paced drain (upstream.drain_rate_*; nullopt: that rate is off). A message goes while both
  // hold something and may take them below zero (see drain_wait_us).
  std::optional<TokenBucket> event_bucket_;
  std::optional<TokenBucket> byte_bucket_;
  std::uint32_t window_ = 0;
  std::uint64_t rng_ = 0x9E3779B97F4A7C15ULL;
  AlignedCopy scratch_;
  std::unique_ptr<flatbuffers::FlatBufferBuilder> fbb_;
  ForwarderStats stats_;
};

}  // namespace edge::gateway
