// The daemon's one event loop: epoll over every link (serial ports, TCP and Unix listeners and
// their connections) plus a signalfd; no thread per device. Each iteration reads what is ready
// (at most max_read_bytes per link, so a flooding link cannot starve the others), hands frames to
// Ingest, and ends with Ingest::flush(): one commit for everything read, then the acks.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "edge/gateway/config.h"
#include "edge/gateway/forwarder.h"
#include "edge/gateway/ingest.h"
#include "edge/link/frame.h"

namespace edge::gateway {

struct LoopOptions {
  std::uint32_t max_read_bytes = 65536;
  std::uint32_t max_connections = 256;
  std::uint32_t commit_linger_us = 0;
  /// Unsent ack bytes held per link; beyond it acks are dropped (the device resends).
  std::size_t max_pending_ack_bytes = 65536;
};

class EventLoop final : public AckSink {
 public:
  EventLoop(Ingest& ingest, LoopOptions options);
  ~EventLoop() override;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// A serial port that is absent now is retried with backoff (logged once per outage).
  void add_serial(const SerialSource& source);
  /// Returns an error message if the listener cannot be set up.
  std::optional<std::string> add_tcp(const TcpSource& source);
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
  };

  void try_open_serial(std::size_t index, std::uint64_t now_us);
  SessionId add_session(int fd, std::string name, bool serial, std::size_t serial_index);
  void close_session(SessionId id, const char* why);
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
