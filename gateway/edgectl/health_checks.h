// edgectl health, the part without I/O: reads the gateway's Prometheus text and decides, check by
// check, whether the gateway is healthy. health.cc fetches the text and prints the verdicts.
//
// Checks, in order (one line each):
//   metrics   the text is an edge gateway's (edge_buffer_used_bytes and friends present)
//   upstream  only when forwarding is configured (edge_upstream_configured 1): unhealthy when
//             the broker has been unreachable longer than max_offline_s
//             (edge_upstream_offline_seconds)
//   buffer    unhealthy at or above the high-water mark (edge_buffer_used_bytes >=
//             edge_buffer_high_water_bytes): the full policy is evicting or refusing
//   commit    unhealthy while the last LMDB commit failed (edge_buffer_commit_failing 1):
//             devices are acked busy and nothing new is stored
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace edge::edgectl {

/// Samples of a text exposition: "name" or "name{labels}" exactly as written -> value. Comment
/// lines and lines that do not parse are skipped; a repeated series keeps its last value.
std::map<std::string, double> parse_prometheus_text(std::string_view text);

struct HealthLimits {
  double max_offline_s = 300;  // --max-offline-s
};

struct HealthCheck {
  std::string name;
  bool ok = false;
  std::string detail;
};

/// The checks above for the samples of one scrape.
std::vector<HealthCheck> evaluate_health(const std::map<std::string, double>& samples,
                                         const HealthLimits& limits);

/// "ok   NAME: DETAIL" or "FAIL NAME: DETAIL".
std::string format_check(const HealthCheck& check);

}  // namespace edge::edgectl
