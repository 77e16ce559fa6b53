#include "edge/gateway/outlook.h"

#include <algorithm>
#include <cmath>

namespace edge::gateway {
namespace {

constexpr double kUsPerS = 1e6;

std::uint64_t counter(const BufferStats& stats, const std::string& name) {
  const auto found = stats.counters.find(name);
  return found == stats.counters.end() ? 0 : found->second;
}

// The points at or before now_us (the log is oldest first).
std::span<const RateSample> up_to(std::span<const RateSample> samples, std::uint64_t now_us) {
  std::size_t n = samples.size();
  while (n > 0 && samples[n - 1].wall_us > now_us) {
    --n;
  }
  return samples.first(n);
}

// Where the rate window starts: kRateWindowUs back, or the log's first point if it is younger.
std::uint64_t window_start(std::span<const RateSample> samples, std::uint64_t now_us,
                           std::uint64_t window_us) {
  const std::uint64_t start = now_us > window_us ? now_us - window_us : 0;
  return std::max(start, samples.front().wall_us);
}

}  // namespace

const char* to_string(HeadroomKind kind) {
  switch (kind) {
    case HeadroomKind::kEstimate: return "estimate";
    case HeadroomKind::kUnbounded: return "unbounded";
    case HeadroomKind::kUnknown: return "unknown";
    case HeadroomKind::kFull: return "full";
  }
  return "unknown";
}

Headroom offline_headroom(std::uint64_t used_bytes, std::uint64_t limit_bytes, bool at_bound,
                          std::optional<double> bytes_per_event,
                          std::optional<double> ingest_per_s) {
  if (at_bound || used_bytes >= limit_bytes) {
    return {HeadroomKind::kFull, 0};
  }
  if (!ingest_per_s) {
    return {HeadroomKind::kUnknown, 0};
  }
  if (*ingest_per_s <= 0) {
    return {HeadroomKind::kUnbounded, 0};
  }
  if (!bytes_per_event || *bytes_per_event <= 0) {
    return {HeadroomKind::kUnknown, 0};
  }
  const auto remaining = static_cast<double>(limit_bytes - used_bytes);
  return {HeadroomKind::kEstimate, remaining / (*bytes_per_event * *ingest_per_s)};
}

std::optional<double> rate_per_s(std::span<const RateSample> all, std::uint64_t RateSample::*total,
                                 std::uint64_t total_now, std::uint64_t now_us,
                                 std::uint64_t window_us) {
  const std::span<const RateSample> samples = up_to(all, now_us);
  if (samples.empty()) {
    return std::nullopt;
  }
  const std::uint64_t start = window_start(samples, now_us, window_us);
  if (now_us - start < kMinRateSpanUs) {
    return std::nullopt;
  }
  // The last point at or before `start`, and the total at `start` read linearly towards the
  // next point (the log marks the end of quiet spells, so this holds to within one interval).
  std::size_t k = samples.size() - 1;
  while (samples[k].wall_us > start) {
    --k;  // stops at 0: start >= the first point
  }
  auto at_start = static_cast<double>(samples[k].*total);
  if (k + 1 < samples.size() && samples[k + 1].wall_us > samples[k].wall_us) {
    const RateSample& a = samples[k];
    const RateSample& b = samples[k + 1];
    if (b.*total < a.*total) {
      return std::nullopt;
    }
    const double share =
        static_cast<double>(start - a.wall_us) / static_cast<double>(b.wall_us - a.wall_us);
    at_start += share * static_cast<double>(b.*total - a.*total);
  }
  if (static_cast<double>(total_now) < at_start) {
    return std::nullopt;  // the totals were reset (a wiped buffer)
  }
  return (static_cast<double>(total_now) - at_start) /
         (static_cast<double>(now_us - start) / kUsPerS);
}

BufferOutlook outlook_of(const BufferStats& stats, std::uint64_t now_us) {
  BufferOutlook o;
  o.limit_bytes = stats.high_water_bytes;
  if (stats.oldest_received_us) {
    const std::uint64_t then = *stats.oldest_received_us;
    o.oldest_age_s = static_cast<double>(now_us > then ? now_us - then : 0) / kUsPerS;
  }
  if (stats.rate_log) {
    const std::span<const RateSample> samples = up_to(stats.rate_log->samples, now_us);
    if (!samples.empty()) {
      o.rate_window_s =
          static_cast<double>(now_us - window_start(samples, now_us, kRateWindowUs)) / kUsPerS;
    }
    o.ingest_per_s = rate_per_s(samples, &RateSample::stored, counter(stats, "stored"), now_us);
    o.drain_per_s =
        rate_per_s(samples, &RateSample::forwarded, counter(stats, "forwarded"), now_us);
  }
  // Measured now with enough events; else the daemon's last good measurement; else the rough
  // figure of the few events there (page overhead included: an overestimate, so a short
  // headroom rather than a long one).
  const bool last_measured = stats.rate_log && stats.rate_log->bytes_per_event != 0;
  if (last_measured && stats.events < kMinEventsForSize) {
    o.bytes_per_event = static_cast<double>(stats.rate_log->bytes_per_event);
  } else if (stats.events > 0 && stats.events_bytes > 0) {
    o.bytes_per_event = static_cast<double>(stats.events_bytes) / static_cast<double>(stats.events);
  }
  // refuse_new refuses from the mark on, and a refusal adds nothing: full means at the mark.
  // drop_oldest evicts to kEvictHysteresisPercent below it (a page or two further, as LMDB frees
  // whole pages) and fills up again: twice that band below the mark is still at the bound.
  const bool refuse_new = stats.rate_log && stats.rate_log->policy == 1;
  const std::uint64_t band =
      refuse_new ? 0 : 2 * (stats.max_bytes * kEvictHysteresisPercent / 100U);
  o.full = o.limit_bytes > 0 && stats.used_bytes + band >= o.limit_bytes;
  o.headroom =
      offline_headroom(stats.used_bytes, o.limit_bytes, o.full, o.bytes_per_event, o.ingest_per_s);
  return o;
}

std::string format_duration(double seconds) {
  if (!(seconds >= 1)) {
    return "under 1 s";
  }
  if (seconds >= 1e12) {
    return "more than 30000 years";
  }
  const auto s = static_cast<std::uint64_t>(seconds);
  const auto two = [](std::uint64_t big, const char* big_unit, std::uint64_t small,
                      const char* small_unit) {
    return std::to_string(big) + " " + big_unit + " " + std::to_string(small) + " " + small_unit;
  };
  if (s >= 86400) {
    return two(s / 86400, "d", s / 3600 % 24, "h");
  }
  if (s >= 3600) {
    return two(s / 3600, "h", s / 60 % 60, "min");
  }
  if (s >= 60) {
    return two(s / 60, "min", s % 60, "s");
  }
  return std::to_string(s) + " s";
}

std::string describe(const Headroom& headroom, const BufferOutlook& outlook) {
  switch (headroom.kind) {
    case HeadroomKind::kEstimate: return format_duration(headroom.seconds);
    case HeadroomKind::kUnbounded: return "unbounded (nothing is arriving)";
    case HeadroomKind::kFull: return "none: the buffer is full, the full policy applies";
    case HeadroomKind::kUnknown: break;
  }
  if (!outlook.ingest_per_s) {
    return "n/a (no ingest rate yet: the gateway records one while it runs)";
  }
  return "n/a (no event size measured yet)";
}

void add_outlook(nlohmann::json& j, const BufferOutlook& o) {
  const auto number_or_null = [](const std::optional<double>& v) {
    return v && std::isfinite(*v) ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  j["high_water_bytes"] = o.limit_bytes;
  j["full"] = o.full;
  j["oldest_age_s"] = number_or_null(o.oldest_age_s);
  j["ingest_rate"] = number_or_null(o.ingest_per_s);
  j["drain_rate"] = number_or_null(o.drain_per_s);
  j["rate_window_s"] = o.rate_window_s;
  j["bytes_per_event"] = number_or_null(o.bytes_per_event);
  j["offline_headroom"] = to_string(o.headroom.kind);
  const bool has_seconds =
      o.headroom.kind == HeadroomKind::kEstimate || o.headroom.kind == HeadroomKind::kFull;
  j["offline_headroom_s"] =
      has_seconds ? number_or_null(o.headroom.seconds) : nlohmann::json(nullptr);
}

}  // namespace edge::gateway
