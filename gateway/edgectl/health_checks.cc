#include "health_checks.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

namespace edge::edgectl {
namespace {

std::optional<double> sample(const std::map<std::string, double>& samples, const char* name) {
  const auto it = samples.find(name);
  return it == samples.end() ? std::nullopt : std::optional(it->second);
}

// 301, 2.5, 0.25: a number as a person writes it.
std::string whole(double value) {
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%.6g", value);
  return text.data();
}

}  // namespace

std::map<std::string, double> parse_prometheus_text(std::string_view text) {
  std::map<std::string, double> samples;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    // The series ends at the first space after the labels (label values may hold spaces).
    const std::size_t close = line.find('}');
    const std::size_t space = line.find(' ', close == std::string_view::npos ? 0 : close);
    if (space == std::string_view::npos) {
      continue;
    }
    const std::string value(line.substr(space + 1));
    char* parsed_end = nullptr;
    const double number = std::strtod(value.c_str(), &parsed_end);
    if (parsed_end == value.c_str()) {
      continue;
    }
    samples[std::string(line.substr(0, space))] = number;
  }
  return samples;
}

std::vector<HealthCheck> evaluate_health(const std::map<std::string, double>& samples,
                                         const HealthLimits& limits) {
  std::vector<HealthCheck> checks;
  const auto used = sample(samples, "edge_buffer_used_bytes");
  const auto high_water = sample(samples, "edge_buffer_high_water_bytes");
  const auto limit = sample(samples, "edge_buffer_limit_bytes");
  if (!used || !high_water || !limit) {
    checks.push_back({"metrics", false,
                      "edge_buffer_used_bytes, edge_buffer_high_water_bytes or "
                      "edge_buffer_limit_bytes missing: not an edge gateway's endpoint?"});
    return checks;
  }
  checks.push_back({"metrics", true, std::to_string(samples.size()) + " samples"});

  if (sample(samples, "edge_upstream_configured").value_or(0) != 1) {
    checks.push_back({"upstream", true, "forwarding not configured (not checked)"});
  } else if (sample(samples, "edge_upstream_connected").value_or(0) == 1) {
    checks.push_back({"upstream", true,
                      "broker connected for " +
                          whole(sample(samples, "edge_upstream_online_seconds").value_or(0)) +
                          " s"});
  } else {
    const double offline = sample(samples, "edge_upstream_offline_seconds").value_or(0);
    const bool ok = offline <= limits.max_offline_s;
    checks.push_back({"upstream", ok,
                      "broker unreachable for " + whole(offline) + " s (" +
                          (ok ? "within" : "over") + " the " + whole(limits.max_offline_s) +
                          " s limit, --max-offline-s)"});
  }

  const std::string level = whole(*used) + " of " + whole(*limit) +
                            " bytes used, high-water mark " + whole(*high_water) + " bytes";
  if (*used >= *high_water) {
    checks.push_back(
        {"buffer", false, level + ": at or above it, the full policy is evicting or refusing"});
  } else {
    checks.push_back({"buffer", true, level});
  }

  if (sample(samples, "edge_buffer_commit_failing").value_or(0) == 1) {
    checks.push_back({"commit", false,
                      "the last LMDB commit failed: devices are acked busy, nothing new is "
                      "stored (see the gateway's log)"});
  } else {
    checks.push_back({"commit", true, "LMDB commits succeed"});
  }
  return checks;
}

std::string format_check(const HealthCheck& check) {
  return std::string(check.ok ? "ok   " : "FAIL ") + check.name + ": " + check.detail;
}

}  // namespace edge::edgectl
