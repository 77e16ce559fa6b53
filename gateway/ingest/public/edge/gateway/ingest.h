// Ingest: what the gateway does with each frame a link delivers. Independent of file
// descriptors: the event loop hands it frame payloads and frame errors per session, and it hands
// back ack frames through an AckSink.
//
// Per frame: FlatBuffers verification (identifier, Verifier, schema major), then per event:
// verification, device check, dedupe + store in the open buffer batch. Every frame read in one
// loop iteration goes into one write transaction; flush() commits it and only then sends the
// acks it owes ("ack after durable"): Ok for stored and duplicate events, Busy (with
// retry_after_ms) for events the buffer could not take or when the commit failed, Invalid for
// events refused for good. Bad input is counted per source and per reason, logged at most once
// per interval per (source, reason), and never stops the link.
//
// Per link (session) a token bucket bounds the events taken (link_rate_events_s, link_burst_ms;
// edge/gateway/token_bucket.h): a valid event beyond it is not stored but acked Busy with
// retry_after_ms = the time until the bucket holds as many events as the link was refused in
// that flush, and counted as refused "rate_limited". A flooding device slows down to its rate
// and loses nothing (it keeps the events and resends); the other links are not held up. Per-link
// state lives from a session's first frame until forget_session, so it is bounded by the links.
// One thing outlives a link: its bucket, kept under the device of the link's first batch until
// it would be full again (at most link_burst_ms) and given to that device's next link, so a
// device that reconnects does not get a fresh burst each time (at most kMaxRetainedRates kept).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "edge/gateway/aligned_copy.h"
#include "edge/gateway/buffer.h"
#include "edge/gateway/token_bucket.h"
#include "edge/link/frame.h"
#include "edge/wire/messages.h"

namespace edge::gateway {

/// At most this many rate buckets of closed links are kept for their devices. Beyond it (after
/// dropping those already full again), a closed link's bucket is not kept: that device's next
/// link starts full, as every link did before buckets were kept.
inline constexpr std::size_t kMaxRetainedRates = 4096;

using SessionId = std::uint64_t;

/// Where acks go: the event loop writes them to the session's link.
class AckSink {
 public:
  virtual ~AckSink() = default;
  /// `frame` is a complete encoded frame (COBS, CRC, delimiter).
  virtual void send_frame(SessionId session, std::span<const std::uint8_t> frame) = 0;
};

struct IngestOptions {
  std::uint32_t max_batch_events = 4096;  // events staged before flush() is forced
  std::uint32_t busy_retry_ms = 1000;
  std::uint32_t dedupe_window = 4096;  // to warn about devices whose ring is larger
  // Events per second one link may hand in; 0: no limit. (The daemon passes
  // ingest.link_rate_events_s, 20000 by default.)
  std::uint32_t link_rate_events_s = 0;
  std::uint32_t link_burst_ms = 1000;  // the bucket holds this long's worth of the rate
};

/// Logs a message at most once per interval per key, with the count of the ones held back.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(std::uint64_t interval_us = 10'000'000) : interval_us_(interval_us) {}
  /// Returns how many were suppressed since the last one logged (+1 for this one), or 0 if
  /// this one must be suppressed.
  std::uint64_t admit(const std::string& key, std::uint64_t now_us);
  /// Drops the entries of every key that starts with `prefix` (a closed link's keys).
  void forget(std::string_view prefix);
  [[nodiscard]] std::size_t keys() const { return entries_.size(); }

 private:
  struct Entry {
    std::uint64_t last_us = 0;
    std::uint64_t held = 0;
    bool logged = false;
  };
  std::uint64_t interval_us_;
  std::unordered_map<std::string, Entry> entries_;
};

class Ingest {
 public:
  Ingest(Buffer& buffer, AckSink& acks, IngestOptions options);

  /// One good frame's payload from `session` (named `source` in counters and logs).
  void on_frame(SessionId session, const std::string& source, std::span<const std::uint8_t> payload,
                std::uint64_t now_us);
  /// One refused frame.
  void on_frame_error(SessionId session, const std::string& source, link::FrameError error,
                      std::uint64_t now_us);
  /// Commits what is staged and sends the acks it owes. Call at the end of every loop iteration.
  void flush(std::uint64_t now_us);
  /// A session closed: its pending acks have nowhere to go (its device will resend); its
  /// per-source refusal counts and its log state go too. Its rate bucket, unless already full
  /// again at `now_us`, is kept for the device of its first batch (see above).
  void forget_session(SessionId session, std::uint64_t now_us);
  /// A connection refused before any frame was read from it (the token check, reason "auth"):
  /// counted for `source` (the listener) with the other refusals, and logged rate-limited per
  /// (source, reason) with `detail` (the peer's address and why; never what it sent).
  void on_link_refused(const std::string& source, const char* reason, const std::string& detail,
                       std::uint64_t now_us);

  /// Called after every commit flush() makes, with its duration and whether it succeeded (the
  /// daemon's commit-latency metric). Optional; runs on the caller's thread inside flush().
  using CommitObserver = std::function<void(std::chrono::nanoseconds duration, bool ok)>;
  void set_commit_observer(CommitObserver observer) { commit_observer_ = std::move(observer); }

  [[nodiscard]] std::size_t pending_events() const { return pending_.size(); }
  /// Rate buckets of closed links kept for their devices (at most kMaxRetainedRates).
  [[nodiscard]] std::size_t retained_rates() const { return retained_rates_.size(); }
  /// Refusals per source and reason ("source" -> "bad_crc" -> n): since start for listeners
  /// and serial ports, while the link is open for a connection (its source is its own).
  [[nodiscard]] const std::map<std::string, std::map<std::string, std::uint64_t>>& refused() const {
    return refused_;
  }

 private:
  struct Pending {
    SessionId session = 0;
    std::uint64_t device = 0;
    std::uint32_t boot = 0;
    std::uint32_t seq = 0;
    Disposition disposition = Disposition::kBusy;
    bool invalid = false;
    bool rate_limited = false;  // refused by the link's bucket: Busy with the link's retry
  };
  // What Ingest keeps per session, from its first frame to forget_session.
  struct Link {
    std::string source;
    std::optional<TokenBucket> rate;      // nullopt: no limit
    std::uint64_t limited = 0;            // events refused by `rate` since the last flush
    std::optional<std::uint64_t> device;  // of the first batch: whose bucket `rate` is
  };

  bool ensure_batch(std::uint64_t now_us);
  Link& link(SessionId session, const std::string& source, std::uint64_t now_us);
  // A closed link's bucket kept for `device`; a new link's first batch takes its device's.
  void retain_rate(std::uint64_t device, const TokenBucket& rate, std::uint64_t now_us);
  void adopt_rate(Link& link, std::uint64_t device, std::uint64_t now_us);
  void refuse(const std::string& source, const char* reason, std::uint64_t now_us,
              const std::string& detail = {}, std::uint64_t events = 1);
  void on_hello(const wire::Hello& hello, const std::string& source, std::uint64_t now_us);
  void on_batch(SessionId session, const wire::EventBatch& batch, const std::string& source,
                std::uint64_t now_us);
  // Returns the event's boot when it could be read.
  std::optional<std::uint32_t> on_event(SessionId session, std::uint64_t device,
                                        std::span<const std::uint8_t> bytes,
                                        const std::string& source, std::uint64_t now_us);
  void send_acks(bool committed);

  Buffer& buffer_;
  AckSink& acks_;
  IngestOptions options_;
  RateLimitedLog log_limit_;
  std::vector<Pending> pending_;
  std::unordered_map<SessionId, Link> links_;
  std::unordered_map<std::uint64_t, TokenBucket> retained_rates_;  // device -> closed link's
  std::vector<SessionId> limited_links_;  // links with limited > 0 in this flush
  std::map<std::string, std::map<std::string, std::uint64_t>> refused_;
  AlignedCopy aligned_scratch_;
  flatbuffers::FlatBufferBuilder ack_builder_;
  std::vector<std::uint8_t> ack_frame_;
  CommitObserver commit_observer_;
  std::uint64_t failed_commits_ = 0;    // since the last "commits succeed again" line
  bool commit_failure_logged_ = false;  // since then; the next success is logged
};

}  // namespace edge::gateway
