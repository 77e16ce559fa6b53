// The poll loop around one DeviceSim: connects (and reconnects) through an Endpoint, services the
// simulator whenever its fd is ready or a deadline comes, stops on a stop fd (the signalfd of
// SIGINT / SIGTERM in main.cc), on --exit-when-acked, on a lost link or at the run timeout.
#pragma once

#include <chrono>
#include <iosfwd>

#include "device_sim.h"
#include "endpoint.h"

namespace edge::devsim {

enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 2,
  kExitLinkLost = 3,
  kExitTimeout = 4,
};

struct RunOptions {
  bool reconnect = false;        // retry a lost or refused link (backoff 50 ms doubling to 1 s)
  bool exit_when_acked = false;  // end with kExitOk once DeviceSim::finished()
  std::chrono::milliseconds timeout{60000};  // 0: none
  int stop_fd = -1;                          // readable: stop with kExitOk; -1: none
};

/// Backoff between connect attempts of a stream endpoint.
inline constexpr std::chrono::milliseconds kReconnectMin{50};
inline constexpr std::chrono::milliseconds kReconnectMax{1000};
/// Interval between checks of an endpoint that waits for its peer (pty).
inline constexpr std::chrono::milliseconds kPeerPoll{20};

/// Runs until a stop condition; returns the process exit code. Link events go to `log`.
int run(DeviceSim& sim, Endpoint& endpoint, const RunOptions& options, std::ostream& log);

}  // namespace edge::devsim
