#include "edge/gateway/metrics.h"

#include <exception>
#include <limits>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <string_view>
#include <utility>

#include "edge/gateway/outlook.h"

namespace edge::gateway {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;

// LMDB commits with fsync: tens of microseconds on tmpfs, milliseconds on flash, worse on a
// failing SD card.
const prometheus::Histogram::BucketBoundaries kCommitBuckets{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

// A Prometheus counter that mirrors a total kept elsewhere (the buffer's persisted counters,
// the forwarder's stats): advanced by the delta since the last update. A total that went down
// (a wiped buffer) only resets the baseline.
class DeltaCounter {
 public:
  explicit DeltaCounter(Counter& counter) : counter_(&counter) {}
  void advance_to(std::uint64_t total) {
    if (total > last_) {
      counter_->Increment(static_cast<double>(total - last_));
    }
    last_ = total;
  }

 private:
  Counter* counter_;
  std::uint64_t last_ = 0;
};

// A counter family with one label, its series created as label values appear.
class LabelledCounters {
 public:
  LabelledCounters(Family<Counter>& family, std::string label)
      : family_(family), label_(std::move(label)) {}
  DeltaCounter& at(const std::string& value) {
    auto it = series_.find(value);
    if (it == series_.end()) {
      it = series_.emplace(value, DeltaCounter(family_.Add({{label_, value}}))).first;
    }
    return it->second;
  }

 private:
  Family<Counter>& family_;
  std::string label_;
  std::map<std::string, DeltaCounter> series_;
};

std::uint64_t total(const std::map<std::string, std::uint64_t>& counters, const std::string& name) {
  const auto it = counters.find(name);
  return it == counters.end() ? 0 : it->second;
}

Gauge& gauge(prometheus::Registry& registry, const std::string& name, const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

Counter& counter(prometheus::Registry& registry, const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

}  // namespace

struct Metrics::State {
  explicit State(const MetricsInfo& info, std::uint64_t now_us)
      : registry(std::make_shared<prometheus::Registry>()),
        backlog(gauge(*registry, "edge_buffer_backlog_events",
                      "Events in the buffer not yet acknowledged upstream")),
        used(gauge(*registry, "edge_buffer_used_bytes",
                   "Bytes of the LMDB buffer in use (pages held by its databases)")),
        limit(gauge(*registry, "edge_buffer_limit_bytes",
                    "The buffer's hard bound (buffer.max_bytes, the LMDB map size)")),
        high_water(gauge(*registry, "edge_buffer_high_water_bytes",
                         "Buffer level above which the full policy applies "
                         "(buffer.high_water_percent of the bound)")),
        oldest_age(gauge(*registry, "edge_buffer_oldest_age_seconds",
                         "Age of the oldest buffered event (since the gateway received it); 0 "
                         "when the buffer is empty")),
        ingest_rate(gauge(*registry, "edge_buffer_ingest_events_per_second",
                          "Events stored per second over the last minute (NaN until known)")),
        drain_rate(gauge(*registry, "edge_buffer_drain_events_per_second",
                         "Events forwarded and deleted per second over the last minute (NaN "
                         "until known)")),
        bytes_per_event(gauge(*registry, "edge_buffer_bytes_per_event",
                              "Buffer bytes one event takes, as measured (NaN until known)")),
        headroom(gauge(*registry, "edge_buffer_offline_headroom_seconds",
                       "How long the buffer can take the current ingest rate with nothing "
                       "forwarded before the full policy applies: 0 when full, +Inf when "
                       "nothing arrives, NaN when unknown")),
        full(gauge(*registry, "edge_buffer_full",
                   "1 while the buffer is at its bound (the full policy applies), else 0")),
        devices(gauge(*registry, "edge_devices", "Devices known to the buffer")),
        links(gauge(*registry, "edge_links_connected",
                    "Device links connected now (open serial ports, TCP and Unix connections)")),
        upstream_configured(gauge(*registry, "edge_upstream_configured",
                                  "1 when forwarding upstream is configured (upstream.uri)")),
        upstream_connected(gauge(*registry, "edge_upstream_connected",
                                 "1 while connected to the MQTT broker, else 0")),
        online_seconds(gauge(*registry, "edge_upstream_online_seconds",
                             "Seconds since the last broker connection; 0 while disconnected")),
        offline_seconds(gauge(*registry, "edge_upstream_offline_seconds",
                              "Seconds since the broker connection was lost (or since start "
                              "when never connected); 0 while connected")),
        in_flight(gauge(*registry, "edge_upstream_in_flight_events",
                        "Events published upstream and awaiting their PUBACK")),
        commit_failing(gauge(*registry, "edge_buffer_commit_failing",
                             "1 when the last LMDB commit of the ingest path failed (devices are "
                             "acked busy until one succeeds)")),
        forwarded(counter(*registry, "edge_forwarded_events_total",
                          "Events acknowledged by the broker (PUBACK) and deleted from the "
                          "buffer; persisted across restarts")),
        stored(counter(*registry, "edge_stored_events_total",
                       "Events stored in the buffer; persisted across restarts")),
        duplicates(counter(*registry, "edge_duplicate_events_total",
                           "Events received again after being stored (acked, not stored "
                           "twice); persisted across restarts")),
        gaps(counter(*registry, "edge_gap_events_total",
                     "Events declared missing from a device's sequence; persisted across "
                     "restarts")),
        busy(counter(*registry, "edge_busy_refused_events_total",
                     "Events acked busy because the buffer was full under refuse_new (the "
                     "device keeps and resends them: not lost); persisted across restarts")),
        connects(counter(*registry, "edge_upstream_connects_total",
                         "Successful broker connections since the gateway started")),
        connect_failures(counter(*registry, "edge_upstream_connect_failures_total",
                                 "Failed or refused broker connection attempts since the "
                                 "gateway started")),
        published(counter(*registry, "edge_upstream_published_messages_total",
                          "MQTT messages published since the gateway started, resends "
                          "included")),
        commit_failures(counter(*registry, "edge_buffer_commit_failures_total",
                                "LMDB commits of the ingest path that failed since the gateway "
                                "started")),
        dropped(prometheus::BuildCounter()
                    .Name("edge_dropped_events_total")
                    .Help("Events lost on purpose, by reason: evicted_oldest (drop_oldest at "
                          "the buffer bound), device_ring (dropped from a device's RAM ring "
                          "before it reached the gateway), rejected_upstream_<code> (refused "
                          "for good by the broker, v5 reason code in decimal); persisted")
                    .Register(*registry),
                "reason"),
        refused_frames(prometheus::BuildCounter()
                           .Name("edge_refused_frames_total")
                           .Help("Frames and events refused as bad input, by reason (bad_crc, "
                                 "invalid_flatbuffer, device_limit, ...); persisted")
                           .Register(*registry),
                       "reason"),
        commit_seconds(prometheus::BuildHistogram()
                           .Name("edge_buffer_commit_duration_seconds")
                           .Help("Duration of the LMDB write-transaction commits of the ingest "
                                 "path (devices are acked after them)")
                           .Register(*registry)
                           .Add({}, kCommitBuckets)),
        offline_since_us(now_us) {
    prometheus::BuildGauge()
        .Name("edge_build_info")
        .Help("Always 1; the labels say which gateway build runs")
        .Register(*registry)
        .Add({{"version", info.version}, {"gateway", info.gateway_id}})
        .Set(1);
    upstream_configured.Set(info.upstream_configured ? 1 : 0);
    // The reasons a dashboard expects, present at 0 from the start.
    dropped.at("evicted_oldest");
    dropped.at("device_ring");
  }

  std::shared_ptr<prometheus::Registry> registry;
  Gauge& backlog;
  Gauge& used;
  Gauge& limit;
  Gauge& high_water;
  Gauge& oldest_age;
  Gauge& ingest_rate;
  Gauge& drain_rate;
  Gauge& bytes_per_event;
  Gauge& headroom;
  Gauge& full;
  Gauge& devices;
  Gauge& links;
  Gauge& upstream_configured;
  Gauge& upstream_connected;
  Gauge& online_seconds;
  Gauge& offline_seconds;
  Gauge& in_flight;
  Gauge& commit_failing;
  DeltaCounter forwarded;
  DeltaCounter stored;
  DeltaCounter duplicates;
  DeltaCounter gaps;
  DeltaCounter busy;
  DeltaCounter connects;
  DeltaCounter connect_failures;
  DeltaCounter published;
  Counter& commit_failures;
  LabelledCounters dropped;
  LabelledCounters refused_frames;
  prometheus::Histogram& commit_seconds;

  // Broker connection history, on the monotonic clock.
  bool was_connected = false;
  std::uint64_t last_connects = 0;
  std::uint64_t connected_since_us = 0;
  std::uint64_t offline_since_us = 0;
};

Metrics::Metrics(const MetricsInfo& info, std::uint64_t now_us)
    : state_(std::make_unique<State>(info, now_us)) {}

Metrics::~Metrics() = default;

void Metrics::update(const MetricsSample& sample) {
  State& s = *state_;
  const BufferStats& b = sample.buffer;
  s.backlog.Set(static_cast<double>(b.events));
  s.used.Set(static_cast<double>(b.used_bytes));
  s.limit.Set(static_cast<double>(b.max_bytes));
  s.high_water.Set(static_cast<double>(b.high_water_bytes));
  s.devices.Set(static_cast<double>(b.devices));
  s.links.Set(static_cast<double>(sample.links));
  const BufferOutlook outlook = outlook_of(b, sample.wall_us);
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  s.oldest_age.Set(outlook.oldest_age_s.value_or(0));
  s.ingest_rate.Set(outlook.ingest_per_s.value_or(kNaN));
  s.drain_rate.Set(outlook.drain_per_s.value_or(kNaN));
  s.bytes_per_event.Set(outlook.bytes_per_event.value_or(kNaN));
  s.full.Set(outlook.full ? 1 : 0);
  switch (outlook.headroom.kind) {
    case HeadroomKind::kEstimate:
    case HeadroomKind::kFull: s.headroom.Set(outlook.headroom.seconds); break;
    case HeadroomKind::kUnbounded: s.headroom.Set(std::numeric_limits<double>::infinity()); break;
    case HeadroomKind::kUnknown: s.headroom.Set(kNaN); break;
  }

  s.forwarded.advance_to(total(b.counters, "forwarded"));
  s.stored.advance_to(total(b.counters, "stored"));
  s.duplicates.advance_to(total(b.counters, "duplicates"));
  s.gaps.advance_to(total(b.counters, "gaps"));
  s.busy.advance_to(total(b.counters, "refused_busy"));
  s.dropped.at("evicted_oldest").advance_to(total(b.counters, "dropped_oldest"));
  s.dropped.at("device_ring").advance_to(total(b.counters, "ring_dropped"));
  constexpr std::string_view kRejected = "rejected.";
  constexpr std::string_view kRefused = "refused.";
  for (const auto& [name, value] : b.counters) {
    if (name.starts_with(kRejected)) {
      s.dropped.at("rejected_upstream_" + name.substr(kRejected.size())).advance_to(value);
    } else if (name.starts_with(kRefused)) {
      s.refused_frames.at(name.substr(kRefused.size())).advance_to(value);
    }
  }

  if (!sample.upstream) {
    return;
  }
  const ForwarderStats& up = *sample.upstream;
  s.in_flight.Set(up.in_flight);
  s.connects.advance_to(up.connects);
  s.connect_failures.advance_to(up.connect_failures);
  s.published.advance_to(up.published);
  // A reconnect between two samples shows as a new connect count.
  if (up.connected && (!s.was_connected || up.connects != s.last_connects)) {
    s.connected_since_us = sample.now_us;
  }
  if (!up.connected && s.was_connected) {
    s.offline_since_us = sample.now_us;
  }
  s.was_connected = up.connected;
  s.last_connects = up.connects;
  const auto seconds_since = [&](std::uint64_t then_us) {
    return static_cast<double>(sample.now_us > then_us ? sample.now_us - then_us : 0) / 1e6;
  };
  s.upstream_connected.Set(up.connected ? 1 : 0);
  s.online_seconds.Set(up.connected ? seconds_since(s.connected_since_us) : 0);
  s.offline_seconds.Set(up.connected ? 0 : seconds_since(s.offline_since_us));
}

void Metrics::observe_commit(std::chrono::nanoseconds duration, bool ok) {
  State& s = *state_;
  s.commit_seconds.Observe(std::chrono::duration<double>(duration).count());
  s.commit_failing.Set(ok ? 0 : 1);
  if (!ok) {
    s.commit_failures.Increment();
  }
}

std::shared_ptr<prometheus::Registry> Metrics::registry() const {
  return state_->registry;
}

std::string Metrics::text() const {
  return prometheus::TextSerializer().Serialize(state_->registry->Collect());
}

MetricsServer::MetricsServer(std::unique_ptr<prometheus::Exposer> exposer)
    : exposer_(std::move(exposer)) {}

MetricsServer::~MetricsServer() = default;

std::variant<std::unique_ptr<MetricsServer>, std::string> MetricsServer::start(
    const std::string& listen, const std::shared_ptr<prometheus::Registry>& registry) {
  try {
    // Two threads: a scrape never waits behind another one for long, and the gateway stays
    // small. (civetweb's default is 50.)
    auto exposer = std::make_unique<prometheus::Exposer>(listen, 2);
    exposer->RegisterCollectable(registry);
    return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(exposer)));
  } catch (const std::exception& e) {
    return "metrics endpoint " + listen + ": cannot listen: " + e.what();
  }
}

std::vector<int> MetricsServer::ports() const {
  return exposer_->GetListeningPorts();
}

}  // namespace edge::gateway
