// The scrape uses cpp-httplib (Debian's libcpp-httplib-dev, built as a library); exceptions stay
// in here.
#include "health.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "health_checks.h"

namespace edge::edgectl {
namespace {

struct Address {
  std::string host;
  int port = 0;
};

// "host:port" or "[v6]:port"; nullopt when it is neither.
std::optional<Address> parse_address(const std::string& text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    return std::nullopt;
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return std::nullopt;
  }
  const std::string port = text.substr(colon + 1);
  if (host.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const int number = std::stoi(port);
  if (number < 1 || number > 65535) {
    return std::nullopt;
  }
  return Address{host, number};
}

}  // namespace

int run_health(const HealthOptions& o) {
  const std::optional<Address> address = parse_address(o.metrics);
  if (!address) {
    std::fprintf(stderr, "edgectl health: --metrics must be HOST:PORT or [IPv6]:PORT, got \"%s\"\n",
                 o.metrics.c_str());
    return 2;
  }
  const std::string url = "http://" + o.metrics + "/metrics";
  // A gateway serving every interface (allow_remote) is asked on this host's loopback.
  const std::string host = address->host == "0.0.0.0" ? "127.0.0.1"
                           : address->host == "::"    ? "::1"
                                                      : address->host;
  httplib::Client client(host, address->port);
  const auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::duration<double>(o.timeout_s));
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  std::optional<std::string> body;
  std::string problem;
  try {
    const httplib::Result result = client.Get("/metrics");
    if (!result) {
      problem = "no answer from " + url + ": " + httplib::to_string(result.error()) +
                " error (is edge-gatewayd running, with [metrics] listen or --metrics?)";
    } else if (result->status != 200) {
      problem = url + " answered HTTP " + std::to_string(result->status);
    } else {
      body = result->body;
    }
  } catch (const std::exception& e) {
    problem = url + ": " + e.what();
  }
  if (!body) {
    std::printf("%s\n", format_check({"endpoint", false, problem}).c_str());
    return 1;
  }
  std::printf("%s\n", format_check({"endpoint", true, url + " answered"}).c_str());
  bool healthy = true;
  for (const HealthCheck& check :
       evaluate_health(parse_prometheus_text(*body), {.max_offline_s = o.max_offline_s})) {
    std::printf("%s\n", format_check(check).c_str());
    healthy = healthy && check.ok;
  }
  return healthy ? 0 : 1;
}

}  // namespace edge::edgectl
