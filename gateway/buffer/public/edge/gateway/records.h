// What the buffer stores in LMDB, and the byte layout of each record. All integers are
// little-endian; every record starts with a version byte so the layout can grow.
//
// "events" database: key = 8-byte big-endian arrival number (byte order = arrival order)
//
//   off  size  field
//   0    1     version (1)
//   1    3     reserved (0)
//   4    4     payload length
//   8    8     device id
//   16   4     boot
//   20   4     seq
//   24   8     received, wall clock, microseconds since the Unix epoch
//   32   n     payload: the device's Event FlatBuffer, byte for byte
//
// "devices" database: key = 8-byte big-endian device id, value = DeviceRecord (encode_device).
// "counters" database: key = counter name (ASCII), value = 8-byte little-endian count.
// "meta" database: key "rates", value = RateLog (encode_rate_log), rewritten whole:
//
//   off     size  field
//   0       1     version (1)
//   1       1     full policy (0 drop_oldest, 1 refuse_new)
//   2       2     sample count n (at most kRateLogSamples)
//   4       4     reserved (0)
//   8       8     high-water bytes: where the daemon applies the full policy now
//   16      8     bytes per event last measured with enough events buffered (0: never)
//   24+24i  24    sample i, oldest first: wall clock us, "stored" total, "forwarded" total
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edge/event_id/event_id.h"
#include "edge/gateway/dedupe_window.h"

namespace edge::gateway {

inline constexpr std::size_t kEventHeaderSize = 32;

struct EventRecord {
  std::uint64_t device = 0;
  EventId id;
  std::uint64_t received_us = 0;
  std::span<const std::uint8_t> payload;  // borrowed from the LMDB page (valid in its txn)
};

/// Header + payload, ready for mdb_put.
std::vector<std::uint8_t> encode_event(const EventRecord& record);
/// Reads an event value; nullopt if it is shorter than its header says or of another version.
std::optional<EventRecord> decode_event(std::span<const std::uint8_t> value);

/// Per-device state kept by the gateway across restarts.
struct DeviceRecord {
  std::uint64_t device = 0;
  DedupeState dedupe;
  std::uint64_t first_seen_us = 0;
  std::uint64_t last_seen_us = 0;
  std::uint64_t last_hello_us = 0;
  std::uint32_t hello_boot = 0;
  std::uint32_t ring_capacity = 0;
  std::string firmware;
  std::string board;
  // Events the device dropped from its own ring (it reports a running count per boot).
  std::uint32_t ring_dropped_boot = 0;
  std::uint32_t ring_dropped_in_boot = 0;
  std::uint64_t ring_dropped = 0;
  std::uint64_t stored = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t gaps = 0;
  std::uint64_t dropped = 0;       // evicted by the drop_oldest policy
  std::uint64_t refused_busy = 0;  // refused by the refuse_new policy (device retries)
  std::uint64_t stale_boot = 0;
};

/// One point of the daemon's rate log: the persisted totals at a wall-clock time.
struct RateSample {
  std::uint64_t wall_us = 0;
  std::uint64_t stored = 0;
  std::uint64_t forwarded = 0;
  friend bool operator==(const RateSample&, const RateSample&) = default;
};

/// Samples the rate log keeps at most (the oldest goes first); with one sample per
/// kRateSampleIntervalUs of traffic this spans well over kRateWindowUs (buffer.h).
inline constexpr std::size_t kRateLogSamples = 32;

/// What the daemon records so that another process (edgectl) can tell the ingest and drain
/// rates, the level where the full policy applies and the observed size of an event.
struct RateLog {
  std::uint8_t policy = 0;  // 0 drop_oldest, 1 refuse_new
  std::uint64_t high_water_bytes = 0;
  std::uint64_t bytes_per_event = 0;
  std::vector<RateSample> samples;  // oldest first, at most kRateLogSamples
};

std::vector<std::uint8_t> encode_rate_log(const RateLog& log);
/// nullopt if the value is truncated, of another version or holds too many samples.
std::optional<RateLog> decode_rate_log(std::span<const std::uint8_t> value);

std::vector<std::uint8_t> encode_device(const DeviceRecord& record);
std::optional<DeviceRecord> decode_device(std::span<const std::uint8_t> value);

/// 8-byte big-endian keys.
std::uint64_t read_key(std::span<const std::uint8_t> key);
std::array<std::uint8_t, 8> make_key(std::uint64_t value);

}  // namespace edge::gateway
