// edgectl sub: the consumer that proves delivery end to end. Subscribes at QoS 1 (MQTT v5;
// shared subscriptions with --share), decodes each event, drops duplicates by event ID and
// reports gaps per device, printing one JSON line per unique event.
#pragma once

#include <cstdint>
#include <string>

namespace edge::edgectl {

struct SubOptions {
  std::string broker = "tcp://127.0.0.1:1883";
  std::string topic = "edge/#";
  std::string share;  // shared-subscription group: subscribes to $share/<group>/<topic>
  std::string client_id = "edgectl-sub";
  std::uint64_t count = 0;      // exit after this many unique events (0: until a signal)
  std::uint32_t timeout_s = 0;  // give up after this long (0: never); exit status 4
  std::uint32_t dedupe_window = 4096;
};

/// Runs until done. Prints events on stdout, "subscribed" and a closing JSON summary on stderr.
/// Returns 0, 1 when the broker cannot be reached, 4 on timeout.
int run_sub(const SubOptions& options);

}  // namespace edge::edgectl
