// The daemon's one event loop: epoll over every link (serial ports, TCP and Unix listeners and
// their connections) plus a signalfd; no thread per device. Each iteration reads what is ready
// (at most max_read_bytes per link, so a flooding link cannot starve the others), hands frames to
// Ingest, and ends with Ingest::flush(): one commit for everything read, then the acks.
//
// A TCP listener with a token (ingest.tcp[i].token_file) decodes nothing a connection sends
// until its token line was accepted (edge/gateway/link_auth.h); a wrong or over-long line, or
// none within auth_timeout_ms, closes the connection and is counted as refused "auth" for the
// listener (Ingest::on_link_refused).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "edge/gateway/config.h"
#include "edge/gateway/forwarder.h"
#include "edge/gateway/ingest.h"
#include "edge/gateway/link_auth.h"
#include "edge/link/frame.h"

namespace edge::gateway {

struct LoopOptions {
  std::uint32_t max_read_bytes = 65536;
  std::uint32_t max_connections = 256;
  std::uint32_t commit_linger_us = 0;
  /// Unsent ack bytes held per link; beyond it acks are dropped (the device resends).
  std::size_t max_pending_ack_bytes = 65536;
  /// A connection to a listener with a token must send its token line within this.
  std::uint32_t auth_timeout_ms = 5000;
};

class EventLoop final : public AckSink {
 public:
  EventLoop(Ingest& ingest, LoopOptions options);
  ~EventLoop() override;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// A serial port that is absent now is retried with backoff (logged once per outage).
  void add_serial(const SerialSource& source);
  /// Returns an error message if the listener cannot be set up. With `token` (checked by
  /// check_token), every connection must send its token line first.
  std::optional<std::string> add_tcp(const TcpSource& source,
                                     std::optional<std::string> token = std::nullopt);
  std::optional<std::string> add_unix(const UnixSource& source);
  /// Ports actually bound, in configuration order.
  [[nodiscard]] const std::vector<std::uint16_t>& tcp_ports() const { return tcp_ports_; }

  /// Polls `forwarder` after every commit and whenever Paho wakes it (optional).
  void set_forwarder(Forwarder* forwarder);

  /// Calls `tick` from the loop every `interval_us` (at the end of an iteration, never more
  /// often): the metrics refresh. Optional.
  void set_periodic(std::uint64_t interval_us, std::function<void(std::uint64_t now_us)> tick);
  /// Device links connected now: open serial ports and accepted connections.
  [[nodiscard]] std::size_t links() const { return sessions_.size(); }

  /// Runs until SIGTERM or SIGINT, then commits what is staged and returns 0; 1 on a setup error.
  int run();

  void send_frame(SessionId session, std::span<const std::uint8_t> frame) override;

 private:
  struct Session {
    int fd = -1;
    std::string name;
    bool serial = false;
    std::size_t serial_index = 0;
    link::FrameDecoderBuffer<> decoder;
    std::vector<std::uint8_t> out;
    bool want_write = false;
    // Connections of a listener with a token: nothing is decoded before the line is accepted.
    const LinkAuth* auth = nullptr;  // the listener's; nullptr: no token asked
    LinkAuth::Line auth_line;
    std::uint64_t auth_deadline_us = 0;
    std::string listener;  // the listener's name: the source auth refusals are counted for
    std::string peer;      // "10.0.0.5:40312", for the log
  };
  struct Serial {
    SerialSource config;
    SessionId session = 0;  // 0 while closed
    std::uint64_t retry_at_us = 0;
    std::uint64_t backoff_us = 0;
    std::uint32_t failures = 0;
  };
  struct Listener {
    int fd = -1;
    std::string name;
    std::unique_ptr<LinkAuth> auth;  // nullptr: no token
  };

  void try_open_serial(std::size_t index, std::uint64_t now_us);
  SessionId add_session(int fd, std::string name, bool serial, std::size_t serial_index);
  void close_session(SessionId id, const char* why, bool log = true);
  // Counts and logs the refusal (rate-limited, via Ingest) and closes the connection.
  void refuse_auth(SessionId id, AuthRefusal why, std::uint64_t now_us);
  void expire_auth(std::uint64_t now_us);
  void on_readable(SessionId id, std::uint64_t now_us, bool hangup);
  void on_writable(SessionId id);
  void accept_all(const Listener& listener);
  void watch(int fd, bool write);
  int timeout_ms(std::uint64_t now_us) const;

  Ingest& ingest_;
  LoopOptions options_;
  int epoll_fd_ = -1;
  int signal_fd_ = -1;
  SessionId next_session_ = 1;
  std::unordered_map<SessionId, std::unique_ptr<Session>> sessions_;
  std::unordered_map<int, SessionId> session_by_fd_;
  std::vector<Listener> listeners_;
  std::set<std::pair<std::uint64_t, SessionId>> auth_deadlines_;  // connections awaiting a token
  std::vector<Serial> serials_;
  std::vector<std::uint16_t> tcp_ports_;
  std::size_t connections_ = 0;
  std::uint64_t batch_started_us_ = 0;
  Forwarder* forwarder_ = nullptr;
  std::uint64_t forwarder_due_us_ = 0;  // monotonic time the forwarder wants to run again
  std::vector<std::uint8_t> read_buffer_;
  std::function<void(std::uint64_t)> tick_;
  std::uint64_t tick_interval_us_ = 0;
  std::uint64_t tick_due_us_ = 0;
};

/// Microseconds on CLOCK_MONOTONIC and the wall clock.
std::uint64_t monotonic_us();
std::uint64_t wall_clock_us();

}  // namespace edge::gateway
