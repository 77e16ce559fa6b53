// Metrics: the gateway's state as Prometheus metrics (prometheus-cpp), served as text on
// http://LISTEN/metrics by a MetricsServer ([metrics] listen, --metrics).
//
// Update model: the daemon's loop calls update() at a bounded rate (kMetricsUpdateIntervalUs),
// never per event, with a snapshot of the buffer (Buffer::stats(), the committed state), the
// forwarder's stats and the number of connected links. Commit timings arrive per LMDB commit
// (observe_commit), which is per loop iteration, not per event.
//
// Counters (`*_total`) are Prometheus counters incremented by the delta of the totals they
// mirror since the last update. The buffer's totals are persisted in LMDB, so after a restart
// the first update brings each counter straight to the persisted total: the series continues
// where the previous process left it instead of resetting (a wiped buffer shows as an ordinary
// counter reset). The forwarder's counters (connects, published) count since the process
// started.
//
// Metric names (all prefixed edge_, units in the name, each with HELP text): see the table in
// docs/configuration.md ("Metrics").
//
// Threading: update() and observe_commit() run on the loop thread; the server's threads only
// read the registry (prometheus-cpp metrics are thread-safe). Errors from prometheus-cpp
// (exceptions, e.g. a port already in use) become a message at MetricsServer::start.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "edge/gateway/buffer.h"
#include "edge/gateway/forwarder.h"

namespace prometheus {
class Registry;
class Exposer;
}  // namespace prometheus

namespace edge::gateway {

/// How often the daemon refreshes the gauges and counters from the buffer and forwarder.
inline constexpr std::uint64_t kMetricsUpdateIntervalUs = 500'000;

struct MetricsInfo {
  std::string version{};             // edge_build_info{version}
  std::string gateway_id{};          // edge_build_info{gateway}
  bool upstream_configured = false;  // edge_upstream_configured; health checks the broker if set
};

/// One snapshot for update(): what the loop knows at that moment.
struct MetricsSample {
  BufferStats buffer{};                      // Buffer::stats()
  std::optional<ForwarderStats> upstream{};  // nullopt when forwarding is off
  std::size_t links = 0;                     // connected device links (sessions)
  std::uint64_t now_us = 0;                  // monotonic clock
  std::uint64_t wall_us = 0;                 // wall clock: the backlog's age and the rates
};

class Metrics {
 public:
  explicit Metrics(const MetricsInfo& info, std::uint64_t now_us);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// Sets the gauges and advances the counters to the totals in `sample`.
  void update(const MetricsSample& sample);
  /// One LMDB commit of the ingest path: its duration, and whether it succeeded.
  void observe_commit(std::chrono::nanoseconds duration, bool ok);

  /// The registry a MetricsServer serves.
  [[nodiscard]] std::shared_ptr<prometheus::Registry> registry() const;
  /// The text exposition format, as the endpoint serves it (tests, --check tools).
  [[nodiscard]] std::string text() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// The HTTP endpoint: GET /metrics on `listen` ("127.0.0.1:9464", "[::1]:9464").
class MetricsServer {
 public:
  /// Binds and starts serving. Returns a message naming the address when it cannot (in use,
  /// not a local address).
  static std::variant<std::unique_ptr<MetricsServer>, std::string> start(
      const std::string& listen, const std::shared_ptr<prometheus::Registry>& registry);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  /// The ports actually bound.
  [[nodiscard]] std::vector<int> ports() const;

 private:
  explicit MetricsServer(std::unique_ptr<prometheus::Exposer> exposer);
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace edge::gateway
