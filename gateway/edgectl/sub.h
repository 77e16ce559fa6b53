// edgectl sub: the consumer that proves delivery end to end. Subscribes at QoS 1 (MQTT v5 with
// optional shared subscriptions via --share, or 3.1.1 for brokers without v5), decodes each
// event, drops duplicates by event ID and reports gaps per device, printing one JSON line per
// unique event (on a terminal: a short line per event for a person, coloured unless NO_COLOR is
// set, with duplicates and gaps marked; see Display in sub.cc).
//
// Every payload mode of the forwarder is understood, told apart per message:
//   flatbuffer  one Event (FlatBuffers identifier "EDGE" at bytes 4..7)
//   batch       a LinkMessage{EventBatch} (identifier "ELNK"), up to kMaxUpstreamBatchBytes;
//               each event in it counts as one event (its own id, dedupe, gaps)
//   json        the object event_to_json renders (first non-space byte '{')
// The gateway's JSON status ({prefix}/{gateway}/status) is counted as such, not as an event. A
// payload that fails verification or parsing counts as invalid (once per message); the first
// ones are reported on stderr, then at most a few per interval.
#pragma once

#include <cstdint>
#include <string>

namespace edge::edgectl {

struct SubOptions {
  std::string broker = "tcp://127.0.0.1:1883";  // tcp://, or ssl:// / mqtts:// for TLS
  std::string topic = "edge/#";
  std::string share;      // shared-subscription group: subscribes to $share/<group>/<topic> (v5)
  std::string client_id;  // empty: "edgectl-sub-<host>-<pid>", unique per process (several
                          // --share members must not take each other's session)
  std::string protocol = "5";  // "5" or "3.1.1"
  std::string ca_file;         // PEM CA certificates (empty: the system's trust store)
  std::string cert_file;       // PEM client certificate
  std::string key_file;        // PEM private key of cert_file (empty: in cert_file)
  std::string username;        // empty: none
  std::string password;
  std::uint64_t count = 0;      // exit after this many unique events (0: until a signal)
  std::uint32_t timeout_s = 0;  // give up after this long (0: never); exit status 4
  std::uint32_t dedupe_window = 4096;
  std::uint32_t reconnect_ms = 100;  // first automatic reconnect delay (doubles up to 2 s)
};

/// Runs until done. Prints events on stdout, "subscribed" and a closing JSON summary on stderr:
/// received (messages), unique, duplicates, gaps, invalid (messages), invalid_reasons, valid
/// messages per kind (flatbuffer, json, batch_messages, status), batch_events (events in valid
/// batches), and per-device tallies.
/// Returns 0, 1 when the broker cannot be reached, 2 on conflicting options (--share with 3.1.1,
/// TLS files without a TLS broker URI), 4 on timeout.
int run_sub(const SubOptions& options);

}  // namespace edge::edgectl
