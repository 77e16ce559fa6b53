// Where the simulated device's link goes: a TCP or Unix stream, an existing serial tty, or a pty
// pair whose slave the gateway opens as its serial port (--pty-link).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "device_sim.h"

namespace edge::devsim {

struct EndpointSpec {
  enum class Kind { kTcp, kUnix, kSerial };
  Kind kind = Kind::kTcp;
  std::string host;             // tcp
  std::uint16_t port = 0;       // tcp
  std::string path;             // unix, serial
  std::uint32_t baud = 115200;  // serial
};

/// Parses `tcp:HOST:PORT` ([v6] hosts in brackets), `unix:PATH` or `serial:PATH[:BAUD]`.
/// Throws std::invalid_argument.
[[nodiscard]] EndpointSpec parse_endpoint(std::string_view text);

class Endpoint {
 public:
  Endpoint() = default;
  virtual ~Endpoint() = default;
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  /// Tries once to bring the link up. A non-blocking fd, or -1 with the reason in `error`.
  virtual int connect(TimePoint now, std::string& error) = 0;
  /// The link on `fd` (from connect) is down or the run is over.
  virtual void disconnect(int fd) = 0;
  /// True when a failed connect means "no peer yet" rather than an error (pty: the gateway has
  /// not opened the port); such an endpoint is polled every kPeerPoll, not backed off.
  [[nodiscard]] virtual bool waits_for_peer() const { return false; }
  [[nodiscard]] virtual std::string describe() const = 0;
};

/// tcp, unix or serial: every connect opens a new fd, disconnect closes it.
[[nodiscard]] std::unique_ptr<Endpoint> make_endpoint(const EndpointSpec& spec);

/// `inner`, with `line` written on every new link before anything else (--token-file: the
/// gateway's "EDGE-TOKEN <token>\n"). A link that cannot take the line within
/// kTokenWriteTimeout counts as a failed connect.
[[nodiscard]] std::unique_ptr<Endpoint> with_first_line(std::unique_ptr<Endpoint> inner,
                                                        std::string line);
inline constexpr std::chrono::milliseconds kTokenWriteTimeout{1000};

/// The first line of the file at `path` (without its newline). Throws std::invalid_argument
/// naming the file when it cannot be read or is empty.
[[nodiscard]] std::string read_first_line(const std::string& path);

/// openpty, slave in raw 8N1, a symlink `link_path` -> slave name (an existing symlink is
/// replaced). The link is up while someone (the gateway) holds the slave open and has held it
/// for kSettle; the master is kept across gateway restarts. Throws std::system_error.
class PtyEndpoint final : public Endpoint {
 public:
  static constexpr std::chrono::milliseconds kSettle{100};

  explicit PtyEndpoint(std::string link_path);
  ~PtyEndpoint() override;

  int connect(TimePoint now, std::string& error) override;
  void disconnect(int fd) override;
  [[nodiscard]] bool waits_for_peer() const override { return true; }
  [[nodiscard]] std::string describe() const override;
  [[nodiscard]] const std::string& slave_name() const { return slave_name_; }

 private:
  std::string link_path_;
  std::string slave_name_;
  int master_ = -1;
  std::optional<TimePoint> peer_since_;
};

/// Puts a tty in raw 8N1 at `baud` (VMIN 1, VTIME 0, no flow control). Throws
/// std::invalid_argument for a baud rate termios has no constant for, std::system_error else.
void make_raw(int fd, std::uint32_t baud);

}  // namespace edge::devsim
