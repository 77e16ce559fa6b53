// The byte streams of a Linux board (host-sim, the Linux ARM agent): the link and the console as
// a file descriptor, a serial port or a TCP connection the board makes itself.
//
//   EDGE_LINK=tcp:HOST:PORT        connect to a gateway's TCP ingest; reconnect when it drops
//   EDGE_LINK=/dev/ttyUSB0[:BAUD]  a serial port, raw 8N1 (default 115200 baud)
//   EDGE_LINK_FD=N                 an already-open descriptor (a pty, a socketpair) from whoever
//                                  starts the process
// A link that goes away (the gateway restarts, a cable is pulled) is "down", never fatal:
// write() returns less than asked (LinkSession sees a failed link and retries), SIGPIPE is
// ignored, and a TCP link is dialled again at most every kRedialUs.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "edge/platform/platform.h"

namespace edge::platform::posix {

class PosixStream final : public ByteStream {
 public:
  static constexpr std::uint64_t kRedialUs = 500'000;  // between TCP connection attempts
  static constexpr int kWriteStallMs = 2000;           // a peer not reading this long: down
  static constexpr std::uint32_t kDefaultBaud = 115200;

  PosixStream() = default;

  /// Reads and writes `fd` (both the same for a socket or tty). Never fails.
  void open_fd(int read_fd, int write_fd);
  /// Parses `spec` (tcp:HOST:PORT or PATH[:BAUD], see above) and opens it. Returns nullptr on
  /// success, else a message naming what is wrong with the spec (the caller prints it and
  /// stops: a bad EDGE_LINK is a configuration error). A TCP peer that is not up yet is not an
  /// error: the stream stays down and dials again.
  const char* open_spec(const char* spec);

  /// Sets a serial port's rate (raw 8N1). False for any other kind of stream, or a rate
  /// termios has no constant for; nothing changes then.
  bool set_baud(std::uint32_t baud);
  /// The descriptor to wait on for input; -1 while a TCP link is down.
  [[nodiscard]] int fd() const { return ended_ ? -1 : read_fd_; }

  std::size_t write(std::span<const std::uint8_t> bytes) override;
  std::size_t read(std::span<std::uint8_t> out) override;

 private:
  void close_fd();
  void redial();

  int read_fd_ = -1;
  int write_fd_ = -1;
  bool tcp_ = false;
  bool ended_ = false;  // a non-TCP input reached its end
  std::array<char, 64> host_{};
  std::array<char, 8> port_{};
  std::uint64_t next_dial_us_ = 0;
};

}  // namespace edge::platform::posix
