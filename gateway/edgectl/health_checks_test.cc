#include "health_checks.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace edge::edgectl {
namespace {

constexpr const char* kHealthy = R"(# HELP edge_buffer_used_bytes Bytes in use
# TYPE edge_buffer_used_bytes gauge
edge_buffer_used_bytes 40960
edge_buffer_high_water_bytes 838860
edge_buffer_limit_bytes 1048576
edge_upstream_configured 1
edge_upstream_connected 1
edge_upstream_online_seconds 12.5
edge_upstream_offline_seconds 0
edge_buffer_commit_failing 0
edge_dropped_events_total{reason="rejected upstream 135"} 2
)";

std::map<std::string, bool> verdicts(const std::string& text, double max_offline_s = 300) {
  std::map<std::string, bool> out;
  for (const HealthCheck& check :
       evaluate_health(parse_prometheus_text(text), {.max_offline_s = max_offline_s})) {
    out[check.name] = check.ok;
  }
  return out;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

TEST(HealthText, ParsesSeriesWithLabelsAndSkipsComments) {
  const auto samples = parse_prometheus_text(kHealthy);
  EXPECT_EQ(samples.at("edge_buffer_used_bytes"), 40960);
  EXPECT_EQ(samples.at("edge_upstream_online_seconds"), 12.5);
  EXPECT_EQ(samples.at("edge_dropped_events_total{reason=\"rejected upstream 135\"}"), 2);
  EXPECT_EQ(samples.size(), 9U);
  EXPECT_TRUE(parse_prometheus_text("garbage\n\nx y\n").empty());
}

TEST(Health, HealthyGatewayPassesEveryCheck) {
  const auto v = verdicts(kHealthy);
  EXPECT_EQ(v, (std::map<std::string, bool>{
                   {"metrics", true}, {"upstream", true}, {"buffer", true}, {"commit", true}}));
}

TEST(Health, BrokerOfflineLongerThanTheLimitIsUnhealthy) {
  const std::string offline =
      replaced(replaced(kHealthy, "edge_upstream_connected 1", "edge_upstream_connected 0"),
               "edge_upstream_offline_seconds 0", "edge_upstream_offline_seconds 301");
  EXPECT_FALSE(verdicts(offline).at("upstream"));
  EXPECT_TRUE(verdicts(offline, 302).at("upstream"));
  // Not configured: the broker is not checked at all.
  EXPECT_TRUE(
      verdicts(replaced(offline, "edge_upstream_configured 1", "edge_upstream_configured 0"))
          .at("upstream"));
}

TEST(Health, BufferAtTheHighWaterMarkIsUnhealthy) {
  EXPECT_FALSE(
      verdicts(replaced(kHealthy, "edge_buffer_used_bytes 40960", "edge_buffer_used_bytes 838860"))
          .at("buffer"));
  EXPECT_TRUE(
      verdicts(replaced(kHealthy, "edge_buffer_used_bytes 40960", "edge_buffer_used_bytes 838859"))
          .at("buffer"));
}

TEST(Health, FailingCommitIsUnhealthy) {
  EXPECT_FALSE(
      verdicts(replaced(kHealthy, "edge_buffer_commit_failing 0", "edge_buffer_commit_failing 1"))
          .at("commit"));
}

TEST(Health, SomethingElsesEndpointIsUnhealthy) {
  const std::vector<HealthCheck> checks =
      evaluate_health(parse_prometheus_text("process_cpu_seconds_total 3\n"), {});
  ASSERT_EQ(checks.size(), 1U);
  EXPECT_FALSE(checks[0].ok);
  EXPECT_EQ(format_check(checks[0]).substr(0, 13), "FAIL metrics:");
}

}  // namespace
}  // namespace edge::edgectl
