// The buffer's outlook: how old its backlog is, how fast events arrive and leave, and how long
// the gateway can stay offline before the full policy applies. Computed from one BufferStats
// snapshot (the daemon's rate log included), the same way by edgectl, the metrics and the
// upstream status message.
//
// Rates: the rate log holds the "stored" and "forwarded" totals at wall-clock points (at most one
// per kRateSampleIntervalUs while they move, plus one marking the end of each quiet spell, so the
// totals between two points move linearly to within one interval). A rate is the total now minus
// the total read off the log kRateWindowUs ago, over that span; over the log's whole age while
// it is younger. Nothing here grows: the log is bounded (kRateLogSamples).
//
// Offline headroom (how long until the full policy applies if nothing is forwarded from now):
//
//     headroom_s = (high_water_bytes - used_bytes) / (bytes_per_event * ingest_per_s)
//
// bytes_per_event is what the buffer holds now per event (the events database's pages over its
// events) once kMinEventsForSize events are buffered, else the daemon's last such measurement,
// else the rough figure of what is there. The full policy applies at the high-water mark, not
// at max_bytes (buffer.high_water_percent of it), so that is the level used.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>

#include "edge/gateway/buffer.h"

namespace edge::gateway {

/// A rate needs at least this much log behind it; with less it is unknown.
inline constexpr std::uint64_t kMinRateSpanUs = 2'000'000;

enum class HeadroomKind {
  kEstimate,   // seconds is the estimate
  kUnbounded,  // nothing is arriving: the buffer never fills at this rate
  kUnknown,    // no rate yet (no log, or too young) or no event size measured yet
  kFull,       // already at the bound: the full policy applies now (seconds 0)
};
[[nodiscard]] const char* to_string(HeadroomKind kind);

struct Headroom {
  HeadroomKind kind = HeadroomKind::kUnknown;
  double seconds = 0;  // kEstimate: the estimate; kFull: 0; otherwise unused (0)
};

/// The headroom arithmetic, at its bounds: at_bound (BufferOutlook::full) is kFull; an unknown rate
/// or size is kUnknown; a zero rate is kUnbounded; otherwise (limit - used) / (bytes_per_event *
/// ingest_per_s), which is 0 when used >= limit.
[[nodiscard]] Headroom offline_headroom(std::uint64_t used_bytes, std::uint64_t limit_bytes,
                                        bool at_bound, std::optional<double> bytes_per_event,
                                        std::optional<double> ingest_per_s);

/// A total's rate (per second) over the last `window_us` before `now_us`, read off `samples`
/// (oldest first; points after now_us are ignored) with `total_now` the total at now_us.
/// nullopt: no point at or before now_us, less than kMinRateSpanUs of log, or a total that went
/// down (a wiped buffer).
[[nodiscard]] std::optional<double> rate_per_s(std::span<const RateSample> samples,
                                               std::uint64_t RateSample::*total,
                                               std::uint64_t total_now, std::uint64_t now_us,
                                               std::uint64_t window_us = kRateWindowUs);

struct BufferOutlook {
  std::optional<double> oldest_age_s;  // nullopt: empty buffer
  std::optional<double> ingest_per_s;  // events stored per second
  std::optional<double> drain_per_s;   // events forwarded (and deleted) per second
  double rate_window_s = 0;            // the span the rates were taken over
  std::optional<double> bytes_per_event;
  std::uint64_t limit_bytes = 0;  // the high-water mark: where the full policy applies
  // At the bound: refuse_new at or above limit_bytes; drop_oldest (or a policy not recorded)
  // within twice its eviction band (2 * kEvictHysteresisPercent of max_bytes) below it or above.
  bool full = false;
  Headroom headroom;
};

/// Everything above from one snapshot, at wall-clock time now_us.
[[nodiscard]] BufferOutlook outlook_of(const BufferStats& stats, std::uint64_t now_us);

/// "14 h 20 min", "3 d 4 h", "5 min 12 s", "42 s", "under 1 s".
[[nodiscard]] std::string format_duration(double seconds);
/// For people: "14 h 20 min", "unbounded (nothing is arriving)", "n/a (no ingest rate yet)",
/// "none: the buffer is full, the full policy applies".
[[nodiscard]] std::string describe(const Headroom& headroom, const BufferOutlook& outlook);

/// Adds the outlook's keys to a JSON object (edgectl buffer stats --json, the status message):
/// high_water_bytes, full, oldest_age_s, ingest_rate, drain_rate, rate_window_s,
/// bytes_per_event, offline_headroom ("estimate", "unbounded", "unknown", "full") and
/// offline_headroom_s (null unless estimate or full). Unknown figures are null.
void add_outlook(nlohmann::json& object, const BufferOutlook& outlook);

}  // namespace edge::gateway
