#include "edge/gateway/metrics.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <array>
#include <chrono>
#include <cmath>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <variant>

namespace edge::gateway {
namespace {

// The value of the sample line that starts with `series` ("edge_devices ",
// "edge_dropped_events_total{reason=\"device_ring\"} "), or -1 when absent.
double value_of(const std::string& text, const std::string& series) {
  std::size_t at = 0;
  while ((at = text.find(series, at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') {
      return std::stod(text.substr(at + series.size()));
    }
    at += series.size();
  }
  return -1;
}

BufferStats buffer_with(std::map<std::string, std::uint64_t> counters) {
  BufferStats s;
  s.events = 12;
  s.used_bytes = 40960;
  s.max_bytes = 1 << 20;
  s.high_water_bytes = (1 << 20) * 8 / 10;
  s.devices = 3;
  s.counters = std::move(counters);
  return s;
}

TEST(Metrics, EveryFamilyHasHelpTextAndThePrefix) {
  const Metrics metrics({.version = "0.1.0", .gateway_id = "gw-1"}, 0);
  const std::string text = metrics.text();
  for (const char* name : {"edge_buffer_backlog_events",
                           "edge_buffer_used_bytes",
                           "edge_buffer_limit_bytes",
                           "edge_buffer_high_water_bytes",
                           "edge_buffer_oldest_age_seconds",
                           "edge_buffer_ingest_events_per_second",
                           "edge_buffer_drain_events_per_second",
                           "edge_buffer_bytes_per_event",
                           "edge_buffer_offline_headroom_seconds",
                           "edge_buffer_full",
                           "edge_devices",
                           "edge_links_connected",
                           "edge_upstream_configured",
                           "edge_upstream_connected",
                           "edge_upstream_online_seconds",
                           "edge_upstream_offline_seconds",
                           "edge_upstream_in_flight_events",
                           "edge_forwarded_events_total",
                           "edge_stored_events_total",
                           "edge_dropped_events_total",
                           "edge_duplicate_events_total",
                           "edge_gap_events_total",
                           "edge_busy_refused_events_total",
                           "edge_buffer_commit_duration_seconds",
                           "edge_buffer_commit_failures_total",
                           "edge_buffer_commit_failing",
                           "edge_build_info",
                           "edge_upstream_connects_total",
                           "edge_upstream_connect_failures_total",
                           "edge_upstream_published_messages_total"}) {
    EXPECT_NE(text.find(std::string("# HELP ") + name + " "), std::string::npos) << name;
  }
  EXPECT_NE(text.find("edge_build_info{gateway=\"gw-1\",version=\"0.1.0\"} 1"), std::string::npos)
      << text;
  EXPECT_EQ(value_of(text, "edge_dropped_events_total{reason=\"evicted_oldest\"} "), 0);
}

TEST(Metrics, GaugesFollowTheSampleAndCountersTheTotals) {
  Metrics metrics({}, 0);
  MetricsSample sample{.buffer = buffer_with({{"forwarded", 7},
                                              {"stored", 19},
                                              {"duplicates", 2},
                                              {"gaps", 4},
                                              {"dropped_oldest", 5},
                                              {"ring_dropped", 6},
                                              {"refused_busy", 8},
                                              {"rejected.135", 1},
                                              {"refused.bad_crc", 3}}),
                       .links = 2,
                       .now_us = 1'000'000};
  metrics.update(sample);
  std::string text = metrics.text();
  EXPECT_EQ(value_of(text, "edge_buffer_backlog_events "), 12);
  EXPECT_EQ(value_of(text, "edge_buffer_used_bytes "), 40960);
  EXPECT_EQ(value_of(text, "edge_buffer_limit_bytes "), 1 << 20);
  EXPECT_EQ(value_of(text, "edge_buffer_high_water_bytes "), (1 << 20) * 8 / 10);
  EXPECT_EQ(value_of(text, "edge_devices "), 3);
  EXPECT_EQ(value_of(text, "edge_links_connected "), 2);
  EXPECT_EQ(value_of(text, "edge_forwarded_events_total "), 7);
  EXPECT_EQ(value_of(text, "edge_stored_events_total "), 19);
  EXPECT_EQ(value_of(text, "edge_duplicate_events_total "), 2);
  EXPECT_EQ(value_of(text, "edge_gap_events_total "), 4);
  EXPECT_EQ(value_of(text, "edge_busy_refused_events_total "), 8);
  EXPECT_EQ(value_of(text, "edge_dropped_events_total{reason=\"evicted_oldest\"} "), 5);
  EXPECT_EQ(value_of(text, "edge_dropped_events_total{reason=\"device_ring\"} "), 6);
  EXPECT_EQ(value_of(text, "edge_dropped_events_total{reason=\"rejected_upstream_135\"} "), 1);
  EXPECT_EQ(value_of(text, "edge_refused_frames_total{reason=\"bad_crc\"} "), 3);
  EXPECT_EQ(value_of(text, "edge_upstream_configured "), 0);

  // Totals grow: counters follow by the delta. Counting the same total twice adds nothing.
  sample.buffer.counters["forwarded"] = 10;
  sample.buffer.counters["refused.bad_crc"] = 4;
  sample.buffer.events = 9;
  metrics.update(sample);
  metrics.update(sample);
  text = metrics.text();
  EXPECT_EQ(value_of(text, "edge_forwarded_events_total "), 10);
  EXPECT_EQ(value_of(text, "edge_refused_frames_total{reason=\"bad_crc\"} "), 4);
  EXPECT_EQ(value_of(text, "edge_buffer_backlog_events "), 9);
}

// Regression: a restarted gateway must continue its counters from the persisted totals, not
// from 0, and a total that goes down (a wiped buffer) must never make a counter go down.
TEST(Metrics, BacklogAgeRatesAndOfflineHeadroom) {
  constexpr std::uint64_t kWall = 1'700'000'000'000'000ULL;
  Metrics metrics({}, 0);
  MetricsSample sample{.buffer = buffer_with({{"stored", 6000}, {"forwarded", 1200}}),
                       .now_us = 1'000'000,
                       .wall_us = kWall + 60'000'000};
  sample.buffer.events = 4800;
  sample.buffer.events_bytes = 4800 * 200;  // 200 bytes per event
  sample.buffer.used_bytes = 1'000'000;
  sample.buffer.high_water_bytes = 3'000'000;
  sample.buffer.max_bytes = 4'000'000;
  sample.buffer.oldest_received_us = kWall + 15'000'000;
  sample.buffer.rate_log = RateLog{.samples = {{kWall, 0, 0}}};  // 100 stored/s, 20 forwarded/s
  metrics.update(sample);
  std::string text = metrics.text();
  EXPECT_DOUBLE_EQ(value_of(text, "edge_buffer_oldest_age_seconds "), 45);
  EXPECT_DOUBLE_EQ(value_of(text, "edge_buffer_ingest_events_per_second "), 100);
  EXPECT_DOUBLE_EQ(value_of(text, "edge_buffer_drain_events_per_second "), 20);
  EXPECT_DOUBLE_EQ(value_of(text, "edge_buffer_bytes_per_event "), 200);
  EXPECT_DOUBLE_EQ(value_of(text, "edge_buffer_offline_headroom_seconds "),
                   2'000'000.0 / (200.0 * 100.0));
  EXPECT_EQ(value_of(text, "edge_buffer_full "), 0);

  // Nothing arriving: unbounded (+Inf). No log: unknown (NaN). Full: 0, and edge_buffer_full.
  sample.buffer.rate_log = RateLog{.samples = {{kWall, 6000, 1200}}};
  metrics.update(sample);
  EXPECT_TRUE(std::isinf(value_of(metrics.text(), "edge_buffer_offline_headroom_seconds ")));
  sample.buffer.rate_log.reset();
  metrics.update(sample);
  text = metrics.text();
  EXPECT_TRUE(std::isnan(value_of(text, "edge_buffer_offline_headroom_seconds ")));
  EXPECT_TRUE(std::isnan(value_of(text, "edge_buffer_ingest_events_per_second ")));
  sample.buffer.used_bytes = 3'000'000;
  metrics.update(sample);
  text = metrics.text();
  EXPECT_EQ(value_of(text, "edge_buffer_offline_headroom_seconds "), 0);
  EXPECT_EQ(value_of(text, "edge_buffer_full "), 1);
}

TEST(Metrics, CountersContinueFromPersistedTotalsAfterARestart) {
  Metrics restarted({}, 0);
  MetricsSample sample{.buffer = buffer_with({{"forwarded", 5000}})};
  restarted.update(sample);
  EXPECT_EQ(value_of(restarted.text(), "edge_forwarded_events_total "), 5000);
  sample.buffer.counters["forwarded"] = 3;  // the buffer was wiped
  restarted.update(sample);
  EXPECT_EQ(value_of(restarted.text(), "edge_forwarded_events_total "), 5000);
  sample.buffer.counters["forwarded"] = 10;
  restarted.update(sample);
  EXPECT_EQ(value_of(restarted.text(), "edge_forwarded_events_total "), 5007);
}

TEST(Metrics, BrokerOnlineAndOfflineSeconds) {
  Metrics metrics({.upstream_configured = true}, 1'000'000);
  ForwarderStats up;
  MetricsSample sample{.upstream = up, .now_us = 3'500'000};
  metrics.update(sample);
  std::string text = metrics.text();
  EXPECT_EQ(value_of(text, "edge_upstream_configured "), 1);
  EXPECT_EQ(value_of(text, "edge_upstream_connected "), 0);
  EXPECT_EQ(value_of(text, "edge_upstream_offline_seconds "), 2.5);  // never connected: since start

  up.connected = true;
  up.connects = 1;
  up.in_flight = 4;
  sample.upstream = up;
  sample.now_us = 4'000'000;
  metrics.update(sample);
  sample.now_us = 10'000'000;
  metrics.update(sample);
  text = metrics.text();
  EXPECT_EQ(value_of(text, "edge_upstream_connected "), 1);
  EXPECT_EQ(value_of(text, "edge_upstream_online_seconds "), 6);
  EXPECT_EQ(value_of(text, "edge_upstream_offline_seconds "), 0);
  EXPECT_EQ(value_of(text, "edge_upstream_in_flight_events "), 4);
  EXPECT_EQ(value_of(text, "edge_upstream_connects_total "), 1);

  // A reconnect between two samples restarts the online time.
  up.connects = 2;
  sample.upstream = up;
  sample.now_us = 11'000'000;
  metrics.update(sample);
  EXPECT_EQ(value_of(metrics.text(), "edge_upstream_online_seconds "), 0);

  up.connected = false;
  sample.upstream = up;
  sample.now_us = 12'000'000;
  metrics.update(sample);
  sample.now_us = 42'000'000;
  metrics.update(sample);
  text = metrics.text();
  EXPECT_EQ(value_of(text, "edge_upstream_connected "), 0);
  EXPECT_EQ(value_of(text, "edge_upstream_offline_seconds "), 30);
  EXPECT_EQ(value_of(text, "edge_upstream_online_seconds "), 0);
}

TEST(Metrics, CommitLatencyHistogramAndFailures) {
  Metrics metrics({}, 0);
  metrics.observe_commit(std::chrono::microseconds(300), true);
  metrics.observe_commit(std::chrono::milliseconds(20), true);
  std::string text = metrics.text();
  EXPECT_EQ(value_of(text, "edge_buffer_commit_duration_seconds_count "), 2);
  EXPECT_EQ(value_of(text, "edge_buffer_commit_duration_seconds_bucket{le=\"0.0005\"} "), 1);
  EXPECT_EQ(value_of(text, "edge_buffer_commit_duration_seconds_bucket{le=\"0.025\"} "), 2);
  EXPECT_EQ(value_of(text, "edge_buffer_commit_failing "), 0);
  metrics.observe_commit(std::chrono::microseconds(10), false);
  text = metrics.text();
  EXPECT_EQ(value_of(text, "edge_buffer_commit_failing "), 1);
  EXPECT_EQ(value_of(text, "edge_buffer_commit_failures_total "), 1);
  metrics.observe_commit(std::chrono::microseconds(10), true);
  EXPECT_EQ(value_of(metrics.text(), "edge_buffer_commit_failing "), 0);
}

std::string http_get(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    (void)::write(fd, request.data(), request.size());
    std::array<char, 4096> chunk{};
    ssize_t n = 0;
    while ((n = ::read(fd, chunk.data(), chunk.size())) > 0) {
      reply.append(chunk.data(), static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return reply;
}

TEST(MetricsServer, ServesTheRegistryAndRefusesABusyPort) {
  Metrics metrics({.version = "test"}, 0);
  metrics.update({.buffer = buffer_with({})});
  auto started = MetricsServer::start("127.0.0.1:0", metrics.registry());
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<MetricsServer>>(started))
      << std::get<std::string>(started);
  const auto& server = std::get<std::unique_ptr<MetricsServer>>(started);
  ASSERT_EQ(server->ports().size(), 1U);
  const int port = server->ports()[0];
  const std::string reply = http_get(port);
  EXPECT_NE(reply.find("200 OK"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\nedge_buffer_backlog_events 12"), std::string::npos) << reply;

  auto again = MetricsServer::start("127.0.0.1:" + std::to_string(port), metrics.registry());
  ASSERT_TRUE(std::holds_alternative<std::string>(again));
  EXPECT_NE(std::get<std::string>(again).find("127.0.0.1:" + std::to_string(port)),
            std::string::npos);
}

}  // namespace
}  // namespace edge::gateway
