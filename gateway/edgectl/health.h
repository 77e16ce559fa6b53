// edgectl health: scrapes the gateway's metrics endpoint and prints one line per check (see
// health_checks.h). Exit status: 0 healthy, 1 unhealthy (the endpoint does not answer, or a
// check failed), 2 on a usage error.
#pragma once

#include <string>

namespace edge::edgectl {

struct HealthOptions {
  std::string metrics = "127.0.0.1:9464";  // HOST:PORT or [IPv6]:PORT of the gateway's endpoint
  double max_offline_s = 300;              // broker unreachable longer than this: unhealthy
  double timeout_s = 5;                    // connect and read timeout of the scrape
};

int run_health(const HealthOptions& options);

}  // namespace edge::edgectl
