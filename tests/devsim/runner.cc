#include "runner.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <optional>
#include <ostream>
#include <string>
#include <system_error>

namespace edge::devsim {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// Waits for the stop fd, the link fd or `deadline`, whichever first. True when asked to stop.
bool wait(const DeviceSim& sim, int link_fd, int stop_fd, std::optional<TimePoint> deadline) {
  std::array<pollfd, 2> fds{};
  nfds_t n = 0;
  if (stop_fd >= 0) {
    fds[n++] = {stop_fd, POLLIN, 0};
  }
  if (link_fd >= 0) {
    fds[n++] = {link_fd, static_cast<short>(POLLIN | (sim.wants_write() ? POLLOUT : 0)), 0};
  }
  timespec ts = {};
  timespec* timeout = nullptr;
  if (deadline) {
    const nanoseconds left = std::max(nanoseconds(0), *deadline - Clock::now());
    ts.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
    timeout = &ts;
  }
  if (::ppoll(fds.data(), n, timeout, nullptr) < 0 && errno != EINTR) {
    throw std::system_error(errno, std::generic_category(), "ppoll");
  }
  return stop_fd >= 0 && (fds[0].revents & POLLIN) != 0;
}

std::optional<TimePoint> earliest(std::optional<TimePoint> a, std::optional<TimePoint> b) {
  if (!a) {
    return b;
  }
  if (!b) {
    return a;
  }
  return std::min(*a, *b);
}

}  // namespace

int run(DeviceSim& sim, Endpoint& endpoint, const RunOptions& options, std::ostream& log) {
  const TimePoint start = Clock::now();
  const std::optional<TimePoint> give_up = options.timeout.count() > 0
                                               ? std::optional<TimePoint>(start + options.timeout)
                                               : std::nullopt;
  int fd = -1;
  bool ever_connected = false;
  milliseconds backoff = kReconnectMin;
  TimePoint next_connect = start;
  std::string last_error;
  const auto drop_link = [&] {
    sim.detach();
    endpoint.disconnect(fd);
    fd = -1;
  };

  for (;;) {
    const TimePoint now = Clock::now();
    if (give_up && now >= *give_up) {
      log << "devsim: timeout after " << options.timeout.count() << " ms\n";
      if (fd >= 0) {
        drop_link();
      }
      return kExitTimeout;
    }
    if (fd < 0 && now >= next_connect) {
      std::string error;
      fd = endpoint.connect(now, error);
      if (fd >= 0) {
        log << "devsim: link up (" << endpoint.describe() << ")\n";
        sim.attach(fd);
        ever_connected = true;
        backoff = kReconnectMin;
        last_error.clear();
      } else {
        const bool waiting = endpoint.waits_for_peer() && (!ever_connected || options.reconnect);
        if (error != last_error) {
          log << "devsim: " << error << "\n";
          last_error = error;
        }
        if (!waiting && !options.reconnect) {
          return kExitLinkLost;
        }
        if (endpoint.waits_for_peer()) {
          next_connect = now + kPeerPoll;
        } else {
          next_connect = now + backoff;
          backoff = std::min(backoff * 2, kReconnectMax);
        }
      }
    }
    if (sim.service(now) == LinkState::kClosed) {
      log << "devsim: link down (" << endpoint.describe() << ")\n";
      drop_link();
      if (!options.reconnect) {
        return kExitLinkLost;
      }
      next_connect = now + backoff;
      backoff = std::min(backoff * 2, kReconnectMax);
      continue;
    }
    if (options.exit_when_acked && sim.finished()) {
      if (fd >= 0) {
        drop_link();
      }
      return kExitOk;
    }
    std::optional<TimePoint> deadline = earliest(sim.next_deadline(), give_up);
    if (fd < 0) {
      deadline = earliest(deadline, next_connect);
    }
    if (wait(sim, fd, options.stop_fd, deadline)) {
      if (fd >= 0) {
        drop_link();
      }
      return kExitOk;
    }
  }
}

}  // namespace edge::devsim
