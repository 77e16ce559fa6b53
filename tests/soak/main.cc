// edge-soak's command line (tests/soak/soak.h says what it runs).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <spdlog/spdlog.h>

#include "heap_meter.h"
#include "soak.h"

namespace edge::soak {
namespace {

int run(int argc, char** argv) {
  CLI::App app{"edge-soak: an hour of the gateway in simulated time, memory flat, nothing lost"};
  Options o;
  app.add_option("--sim-seconds", o.sim_seconds, "simulated seconds to run")
      ->check(CLI::Range(60U, 86400U));
  app.add_option("--devices", o.devices, "simulated devices")->check(CLI::Range(1U, 64U));
  app.add_option("--event-period-ms", o.event_period_ms, "one event per device this often")
      ->check(CLI::Range(10U, 3'600'000U));
  app.add_option("--tick-ms", o.tick_ms, "simulated time per loop iteration")
      ->check(CLI::Range(10U, 60'000U));
  app.add_option("--warmup-seconds", o.warmup_seconds, "heap samples start here");
  app.add_option("--max-heap-growth", o.max_heap_growth, "bytes the heap may grow after warm-up");
  app.add_option("--inject-heap-growth", o.inject_heap_growth,
                 "self-test: hold this many more bytes at each heap sample");
  app.add_option("--inject-leak", o.inject_leak, "self-test: leak this many bytes");
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  std::printf("edge-soak: %u devices, one event per %u ms each, %u simulated s, warm-up %u s%s\n",
              o.devices, o.event_period_ms, o.sim_seconds, o.warmup_seconds,
              under_valgrind() ? ", under valgrind" : "");
  Soak soak(o);
  return soak.run();
}

}  // namespace
}  // namespace edge::soak

int main(int argc, char** argv) {
  try {
    return edge::soak::run(argc, argv);
  } catch (const std::exception& e) {  // a bug, not a scenario outcome: say what and stop
    std::fprintf(stderr, "edge-soak: fatal: %s\n", e.what());
    return 2;
  }
}
