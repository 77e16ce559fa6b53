// The gateway's event buffer: one LMDB environment on disk with a hard size bound.
//
// Invariants this class keeps:
//   - Ack after durable: add_event only stages; an event is durable when commit() has returned
//     success for the batch holding it. If commit() fails, nothing of the batch was stored and
//     the in-memory state (dedupe windows, counters) is rolled back to match the disk.
//   - The dedupe index lives in the same transaction as the events: a crash can never leave an
//     event stored but not marked seen, or marked seen but not stored.
//   - Bounded: the map size (max_bytes) is the hard disk bound; above the high-water mark the
//     full policy applies; LMDB's MDB_MAP_FULL is turned into kBusy for the batch, never a crash.
//   - Nothing is lost silently: every eviction, refusal, duplicate and gap is counted, per device
//     and in total, in counters that survive restarts.
//   - Rates without growth: sample_rates() keeps a fixed-size log (RateLog, at most
//     kRateLogSamples points of the "stored" and "forwarded" totals) in the "meta" database, so
//     a reader in another process can tell the ingest and drain rates of the last
//     kRateWindowUs (edge/gateway/outlook.h computes them).
//
// Threading: one writer (the ingest loop) calls begin/add_event/commit. Readers (stats,
// for_each_event, devices) open their own read transactions and may run in other threads or
// processes (edgectl opens the buffer read-only while the daemon runs).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "edge/event_id/event_id.h"
#include "edge/gateway/config.h"
#include "edge/gateway/dedupe_window.h"
#include "edge/gateway/records.h"

struct MDB_env;
struct MDB_txn;

namespace edge::gateway {

/// drop_oldest evicts down to this share of max_bytes below the high-water mark, so the pages it
/// frees serve the next batches instead of evicting a few events on every insert. A buffer
/// within this band of its high-water mark is at its bound.
inline constexpr std::uint64_t kEvictHysteresisPercent = 2;
/// sample_rates() adds a point to the rate log at most this often, and only when the totals moved.
inline constexpr std::uint64_t kRateSampleIntervalUs = 5'000'000;
/// Rates are averaged over this much recent time (less while the log is younger).
inline constexpr std::uint64_t kRateWindowUs = 60'000'000;
/// Bytes per event are measured from the events database once it holds this many events; with
/// fewer, the page overhead would dominate and the last good measurement is used.
inline constexpr std::uint64_t kMinEventsForSize = 64;

struct BufferOptions {
  std::string dir;  // created 0700 if missing
  std::uint64_t max_bytes = 256ULL << 20U;
  std::uint32_t high_water_percent = 80;
  FullPolicy policy = FullPolicy::kDropOldest;
  std::uint32_t dedupe_window = 4096;
  std::uint32_t max_devices = 1024;
  bool read_only = false;  // edgectl: no writes, no directory creation
  // buffer.sync: kFull (LMDB's default) unless configured; ignored when read_only.
  BufferSync sync = BufferSync::kFull;
};

struct BufferError {
  int code = 0;         // LMDB or errno code
  std::string message;  // says what failed and where, e.g. "mdb_env_open(/var/lib/x): ..."
};

/// What became of one event handed to add_event.
enum class Disposition {
  kStored,       // staged in this batch: durable once commit() succeeds
  kDuplicate,    // already stored (or evicted after being stored): ack it, store nothing
  kBusy,         // not stored: buffer full under refuse_new, or the batch failed; device retries
  kStaleBoot,    // staged like kStored, but from an older boot than the device's current one,
                 // whose window is gone: it cannot be deduplicated, so it is stored (at-least-once)
  kDeviceLimit,  // a new device beyond max_devices: not stored
};
[[nodiscard]] const char* to_string(Disposition d);

struct BufferStats {
  std::uint64_t events = 0;
  std::uint64_t used_bytes = 0;  // pages held by the databases
  std::uint64_t max_bytes = 0;
  std::uint64_t high_water_bytes = 0;
  std::uint64_t payload_bytes = 0;  // sum of stored event values (header + payload)
  std::uint64_t events_bytes = 0;   // pages held by the events database alone
  std::optional<std::uint64_t> oldest_key;
  std::optional<std::uint64_t> newest_key;
  std::optional<std::uint64_t> oldest_received_us;
  std::uint64_t devices = 0;
  std::map<std::string, std::uint64_t> counters;
  std::optional<RateLog> rate_log;  // nullopt before the daemon recorded one (or an old buffer)
};

struct StoredEvent {
  std::uint64_t key = 0;
  EventRecord record;
};

class Buffer {
 public:
  /// Opens (creating if allowed) the environment in options.dir. Errors: the directory cannot be
  /// created or opened, LMDB refuses the environment (message names the path and LMDB's reason).
  static std::variant<std::unique_ptr<Buffer>, BufferError> open(const BufferOptions& options);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  // ---- write side: one batch is one LMDB write transaction -----------------------------------
  /// Starts a batch. Error if a write transaction cannot begin (read-only buffer, LMDB error) or
  /// a batch is open, a failed one included (see in_batch).
  std::optional<BufferError> begin();
  /// True from begin() until commit() or abort(), also after the batch failed (MDB_MAP_FULL
  /// mid-batch): its events must come back from commit() as not stored, so no new batch may
  /// start under them and have them acked with its own success.
  [[nodiscard]] bool in_batch() const { return txn_ != nullptr || batch_error_.has_value(); }
  /// The key the next stored event gets: every buffered event's key is below it (write side).
  [[nodiscard]] std::uint64_t next_key() const { return next_key_; }
  /// Stages one event of `device` (its id.device must equal `device`). See Disposition.
  Disposition add_event(const EventId& id, std::span<const std::uint8_t> payload,
                        std::uint64_t now_us);
  /// Records a Hello. Returns false if the device is new and max_devices is reached.
  bool note_hello(std::uint64_t device, std::uint32_t boot, std::string_view firmware,
                  std::string_view board, std::uint32_t ring_capacity, std::uint64_t now_us);
  /// Records the device's running count of ring drops for `boot`.
  void note_ring_dropped(std::uint64_t device, std::uint32_t boot, std::uint32_t dropped);
  /// Deletes events acknowledged upstream ("delete after PUBACK"), in the open batch. Keys
  /// already gone (evicted by drop_oldest meanwhile) are skipped. Returns how many were deleted.
  std::size_t erase(std::span<const std::uint64_t> keys);
  /// Adds to a persisted counter ("refused_frames.bad_crc", ...).
  void count(std::string_view name, std::uint64_t delta = 1);
  /// Commits the batch. On error nothing since begin() is stored and memory is rolled back:
  /// every event add_event reported kStored must be treated as kBusy by the caller.
  std::optional<BufferError> commit();
  /// Drops the batch; memory rolled back as for a failed commit.
  void abort();
  /// The daemon's periodic call (wall clock): remembers that the "stored" and "forwarded" totals
  /// have not moved, or, when they moved and kRateSampleIntervalUs passed since the last point,
  /// appends a point to the rate log (and, after a quiet spell, one that marks its end, so a
  /// reader can tell when the totals moved) in its own small write transaction. Also records
  /// the high-water level and the policy when they change. A clock that went back clears the
  /// log. Does nothing while a batch is open. Errors: the LMDB write failed (the log in memory
  /// is left as on disk; the next call tries again).
  std::optional<BufferError> sample_rates(std::uint64_t wall_us);

  // ---- read side --------------------------------------------------------------------------------
  std::variant<BufferStats, BufferError> stats() const;
  /// Calls `visit` for events with key >= from_key in key order until it returns false or
  /// `limit` events were visited. Payload spans are valid only during the call.
  std::optional<BufferError> for_each_event(
      std::uint64_t from_key, std::size_t limit,
      const std::function<bool(const StoredEvent&)>& visit) const;
  /// Device records as last committed.
  std::variant<std::vector<DeviceRecord>, BufferError> devices() const;

  [[nodiscard]] const BufferOptions& options() const { return options_; }
  /// The flags LMDB opened the environment with (mdb_env_get_flags: MDB_NOSYNC,
  /// MDB_NOMETASYNC, ...). Errors: LMDB's (EINVAL on a closed environment).
  [[nodiscard]] std::variant<unsigned, BufferError> env_flags() const;

 private:
  explicit Buffer(BufferOptions options);
  std::optional<BufferError> open_env();
  std::optional<BufferError> begin_txn();
  std::optional<BufferError> load_state();
  DeviceRecord* device_for_write(std::uint64_t device, std::uint64_t now_us);
  std::uint64_t used_bytes(MDB_txn* txn) const;
  // The level at which the full policy applies: the configured high-water mark, or lower after
  // LMDB reported MDB_MAP_FULL below it.
  std::uint64_t high_water() const;
  // drop_oldest: evicts the oldest events of this batch's snapshot until below `target_bytes`.
  void evict_until(std::uint64_t target_bytes);
  void rollback();
  void fail_batch(int rc, const char* what);

  BufferOptions options_;
  DedupeWindow window_;
  MDB_env* env_ = nullptr;
  unsigned events_dbi_ = 0;
  unsigned devices_dbi_ = 0;
  unsigned counters_dbi_ = 0;
  unsigned meta_dbi_ = 0;
  bool has_meta_ = false;  // false only when a read-only open finds a buffer from before it

  // Committed state mirrored in memory (write side only).
  std::unordered_map<std::uint64_t, DeviceRecord> devices_;
  std::map<std::string, std::uint64_t, std::less<>> counters_;
  std::map<std::string, std::uint64_t, std::less<>> persisted_counters_;  // as on disk
  std::uint64_t next_key_ = 1;

  // The open batch.
  MDB_txn* txn_ = nullptr;
  std::optional<BufferError> batch_error_;
  std::unordered_map<std::uint64_t, std::optional<DeviceRecord>> undo_devices_;
  std::map<std::string, std::uint64_t, std::less<>> undo_counters_;
  std::uint64_t undo_next_key_ = 0;
  bool evict_next_batch_ = false;
  std::uint64_t learned_limit_ = UINT64_MAX;

  // The rate log as on disk, and the last sample_rates() time the totals were still those of
  // its newest point.
  RateLog rate_log_;
  std::uint64_t quiet_until_us_ = 0;
};

}  // namespace edge::gateway
