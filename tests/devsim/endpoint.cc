#include "endpoint.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <system_error>
#include <utility>

namespace edge::devsim {
namespace {

constexpr int kTcpConnectTimeoutMs = 1000;

std::optional<speed_t> baud_constant(std::uint32_t baud) {
  static constexpr std::array<std::pair<std::uint32_t, speed_t>, 19> kBauds = {{
      {1200, B1200},       {2400, B2400},       {4800, B4800},       {9600, B9600},
      {19200, B19200},     {38400, B38400},     {57600, B57600},     {115200, B115200},
      {230400, B230400},   {460800, B460800},   {500000, B500000},   {576000, B576000},
      {921600, B921600},   {1000000, B1000000}, {1152000, B1152000}, {1500000, B1500000},
      {2000000, B2000000}, {3000000, B3000000}, {4000000, B4000000},
  }};
  for (const auto& [value, constant] : kBauds) {
    if (value == baud) {
      return constant;
    }
  }
  return std::nullopt;
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return !text.empty() && ec == std::errc() && ptr == end;
}

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    throw std::system_error(errno, std::generic_category(), "fcntl O_NONBLOCK");
  }
}

int connect_tcp(const EndpointSpec& spec, std::string& error) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(spec.port);
  if (const int rc = ::getaddrinfo(spec.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    error = "resolve " + spec.host + ": " + ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (const addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      error = errno_text("socket");
      continue;
    }
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc < 0 && errno == EINPROGRESS) {
      pollfd p = {fd, POLLOUT, 0};
      rc = ::poll(&p, 1, kTcpConnectTimeoutMs);
      int so_error = ETIMEDOUT;
      socklen_t len = sizeof(so_error);
      if (rc == 1) {
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      }
      errno = so_error;
      rc = so_error == 0 ? 0 : -1;
    }
    if (rc < 0) {
      error = errno_text("connect tcp:" + spec.host + ":" + port);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd >= 0) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  return fd;
}

int connect_unix(const EndpointSpec& spec, std::string& error) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, spec.path.data(), spec.path.size());  // length checked by parse
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = errno_text("socket");
    return -1;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) < 0) {
    error = errno_text("connect unix:" + spec.path);
    ::close(fd);
    return -1;
  }
  set_nonblocking(fd);
  return fd;
}

int open_serial(const EndpointSpec& spec, std::string& error) {
  const int fd = ::open(spec.path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    error = errno_text("open " + spec.path);
    return -1;
  }
  try {
    make_raw(fd, spec.baud);
  } catch (const std::exception& e) {
    error = e.what();
    ::close(fd);
    return -1;
  }
  ::tcflush(fd, TCIOFLUSH);
  return fd;
}

class StreamEndpoint final : public Endpoint {
 public:
  explicit StreamEndpoint(EndpointSpec spec) : spec_(std::move(spec)) {}

  int connect(TimePoint /*now*/, std::string& error) override {
    switch (spec_.kind) {
      case EndpointSpec::Kind::kTcp: return connect_tcp(spec_, error);
      case EndpointSpec::Kind::kUnix: return connect_unix(spec_, error);
      case EndpointSpec::Kind::kSerial: return open_serial(spec_, error);
    }
    error = "unknown endpoint kind";
    return -1;
  }
  void disconnect(int fd) override { ::close(fd); }
  [[nodiscard]] std::string describe() const override {
    switch (spec_.kind) {
      case EndpointSpec::Kind::kTcp: return "tcp:" + spec_.host + ":" + std::to_string(spec_.port);
      case EndpointSpec::Kind::kUnix: return "unix:" + spec_.path;
      case EndpointSpec::Kind::kSerial:
        return "serial:" + spec_.path + ":" + std::to_string(spec_.baud);
    }
    return "?";
  }

 private:
  EndpointSpec spec_;
};

class FirstLineEndpoint final : public Endpoint {
 public:
  FirstLineEndpoint(std::unique_ptr<Endpoint> inner, std::string line)
      : inner_(std::move(inner)), line_(std::move(line)) {}

  int connect(TimePoint now, std::string& error) override {
    const int fd = inner_->connect(now, error);
    if (fd < 0) {
      return fd;
    }
    // The fd is non-blocking; a fresh link takes a few hundred bytes at once, but wait for room
    // rather than assume it.
    std::size_t sent = 0;
    while (sent < line_.size()) {
      const ssize_t n = ::write(fd, line_.data() + sent, line_.size() - sent);  // SIGPIPE: ignored
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      pollfd p = {fd, POLLOUT, 0};
      if (n < 0 && errno == EAGAIN &&
          ::poll(&p, 1, static_cast<int>(kTokenWriteTimeout.count())) == 1) {
        continue;
      }
      error = errno_text("send the first line to " + inner_->describe());
      inner_->disconnect(fd);
      return -1;
    }
    return fd;
  }
  void disconnect(int fd) override { inner_->disconnect(fd); }
  [[nodiscard]] bool waits_for_peer() const override { return inner_->waits_for_peer(); }
  [[nodiscard]] std::string describe() const override {
    return inner_->describe() + " (token line first)";
  }

 private:
  std::unique_ptr<Endpoint> inner_;
  std::string line_;
};

}  // namespace

std::unique_ptr<Endpoint> with_first_line(std::unique_ptr<Endpoint> inner, std::string line) {
  return std::make_unique<FirstLineEndpoint>(std::move(inner), std::move(line));
}

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) {
    throw std::invalid_argument("cannot read a first line from " + path);
  }
  return line;
}

EndpointSpec parse_endpoint(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return std::invalid_argument("endpoint '" + std::string(text) + "': " + why);
  };
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    throw bad("expected tcp:HOST:PORT, unix:PATH or serial:PATH[:BAUD]");
  }
  const std::string_view scheme = text.substr(0, colon);
  const std::string_view rest = text.substr(colon + 1);
  EndpointSpec spec;
  if (scheme == "tcp") {
    const std::size_t last = rest.rfind(':');
    if (last == std::string_view::npos || !parse_number(rest.substr(last + 1), spec.port) ||
        spec.port == 0) {
      throw bad("expected tcp:HOST:PORT with a port 1..65535");
    }
    std::string_view host = rest.substr(0, last);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (host.empty()) {
      throw bad("empty host");
    }
    spec.kind = EndpointSpec::Kind::kTcp;
    spec.host = host;
  } else if (scheme == "unix") {
    if (rest.empty() || rest.size() >= sizeof(sockaddr_un::sun_path)) {
      throw bad("socket path empty or too long");
    }
    spec.kind = EndpointSpec::Kind::kUnix;
    spec.path = rest;
  } else if (scheme == "serial") {
    spec.kind = EndpointSpec::Kind::kSerial;
    spec.path = rest;
    const std::size_t last = rest.rfind(':');
    if (last != std::string_view::npos) {
      if (!parse_number(rest.substr(last + 1), spec.baud)) {
        throw bad("baud rate is not a number");
      }
      spec.path = rest.substr(0, last);
    }
    if (spec.path.empty()) {
      throw bad("empty tty path");
    }
    if (!baud_constant(spec.baud)) {
      throw bad("unsupported baud rate " + std::to_string(spec.baud));
    }
  } else {
    throw bad("unknown scheme '" + std::string(scheme) + "'");
  }
  return spec;
}

std::unique_ptr<Endpoint> make_endpoint(const EndpointSpec& spec) {
  return std::make_unique<StreamEndpoint>(spec);
}

void make_raw(int fd, std::uint32_t baud) {
  const auto speed = baud_constant(baud);
  if (!speed) {
    throw std::invalid_argument("unsupported baud rate " + std::to_string(baud));
  }
  termios tio = {};
  if (::tcgetattr(fd, &tio) < 0) {
    throw std::system_error(errno, std::generic_category(), "tcgetattr");
  }
  ::cfmakeraw(&tio);
  tio.c_cflag &= ~static_cast<tcflag_t>(CSIZE | CSTOPB | PARENB | CRTSCTS);
  tio.c_cflag |= CS8 | CLOCAL | CREAD;
  tio.c_iflag &= ~static_cast<tcflag_t>(IXON | IXOFF | IXANY);
  tio.c_cc[VMIN] = 1;  // with VMIN 0 a non-blocking read returns 0, which would look like EOF
  tio.c_cc[VTIME] = 0;
  if (::cfsetispeed(&tio, *speed) < 0 || ::cfsetospeed(&tio, *speed) < 0 ||
      ::tcsetattr(fd, TCSANOW, &tio) < 0) {
    throw std::system_error(errno, std::generic_category(), "tcsetattr");
  }
}

PtyEndpoint::PtyEndpoint(std::string link_path) : link_path_(std::move(link_path)) {
  int slave = -1;
  if (::openpty(&master_, &slave, nullptr, nullptr, nullptr) < 0) {
    throw std::system_error(errno, std::generic_category(), "openpty");
  }
  std::array<char, 128> name{};
  const int rc = ::ttyname_r(slave, name.data(), name.size());
  try {
    if (rc != 0) {
      throw std::system_error(rc, std::generic_category(), "ttyname_r");
    }
    slave_name_ = name.data();
    make_raw(slave, 115200);
    set_nonblocking(master_);
    if (::fcntl(master_, F_SETFD, FD_CLOEXEC) < 0) {
      throw std::system_error(errno, std::generic_category(), "fcntl FD_CLOEXEC");
    }
    struct stat st = {};
    if (::lstat(link_path_.c_str(), &st) == 0) {
      if (!S_ISLNK(st.st_mode)) {
        throw std::system_error(EEXIST, std::generic_category(),
                                link_path_ + " exists and is not a symlink");
      }
      ::unlink(link_path_.c_str());
    }
    if (::symlink(slave_name_.c_str(), link_path_.c_str()) < 0) {
      throw std::system_error(errno, std::generic_category(), "symlink " + link_path_);
    }
  } catch (...) {
    ::close(slave);
    ::close(master_);
    throw;
  }
  // Only the gateway holds the slave from now on, so the master sees POLLHUP while it does not.
  ::close(slave);
}

PtyEndpoint::~PtyEndpoint() {
  std::array<char, 128> target{};
  const ssize_t n = ::readlink(link_path_.c_str(), target.data(), target.size() - 1);
  if (n > 0 && std::string_view(target.data(), static_cast<std::size_t>(n)) == slave_name_) {
    ::unlink(link_path_.c_str());
  }
  ::close(master_);
}

int PtyEndpoint::connect(TimePoint now, std::string& error) {
  pollfd p = {master_, POLLIN, 0};
  if (::poll(&p, 1, 0) < 0) {
    error = errno_text("poll pty master");
    return -1;
  }
  if ((p.revents & POLLHUP) != 0) {
    peer_since_.reset();
    error = "waiting for the gateway to open " + link_path_;
    return -1;
  }
  if (!peer_since_) {
    peer_since_ = now;
  }
  if (now - *peer_since_ < kSettle) {
    // Give the gateway time to configure the port (and maybe flush it) before the Hello.
    error = "the gateway opened " + link_path_ + "; settling";
    return -1;
  }
  ::tcflush(master_, TCIOFLUSH);  // nothing left over from an earlier gateway, either way
  return master_;
}

void PtyEndpoint::disconnect(int /*fd*/) {
  peer_since_.reset();
}

std::string PtyEndpoint::describe() const {
  return "pty:" + link_path_ + " -> " + slave_name_;
}

}  // namespace edge::devsim
