#include "posix_stream.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <sys/socket.h>

namespace edge::platform::posix {
namespace {

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) {
    (void)::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  }
}

speed_t to_speed(unsigned long baud) {
  switch (baud) {
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
    case 460800: return B460800;
    case 921600: return B921600;
    default: return 0;
  }
}

// Copies `text` into `out` with a terminating NUL; the caller checked that it fits.
template <std::size_t N>
void copy_terminated(std::string_view text, std::array<char, N>& out) {
  const std::size_t n = std::min(text.size(), N - 1);
  std::copy_n(text.begin(), n, out.begin());
  out[n] = '\0';
}

}  // namespace

void PosixStream::open_fd(int read_fd, int write_fd) {
  read_fd_ = read_fd;
  write_fd_ = write_fd;
  set_nonblocking(read_fd_);
}

const char* PosixStream::open_spec(const char* spec) {
  const std::string_view text(spec);
  if (text.starts_with("tcp:")) {
    const std::string_view host_port = text.substr(4);
    const std::size_t colon = host_port.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon >= host_.size() ||
        colon + 1 == host_port.size() || host_port.size() - colon - 1 >= port_.size()) {
      return "EDGE_LINK: expected tcp:HOST:PORT";
    }
    copy_terminated(host_port.substr(0, colon), host_);
    copy_terminated(host_port.substr(colon + 1), port_);
    tcp_ = true;
    redial();
    return nullptr;
  }
  // A serial port: PATH or PATH:BAUD.
  std::array<char, 256> path{};
  unsigned long baud = kDefaultBaud;
  const std::size_t colon = text.rfind(':');
  const std::string_view path_text = text.substr(0, colon);
  if (path_text.empty() || path_text.size() >= path.size()) {
    return "EDGE_LINK: expected tcp:HOST:PORT or a serial device path[:BAUD]";
  }
  copy_terminated(path_text, path);
  if (colon != std::string_view::npos) {
    char* end = nullptr;
    baud = std::strtoul(spec + colon + 1, &end, 10);
    if (*end != '\0' || to_speed(baud) == 0) {
      return "EDGE_LINK: the baud rate must be one of 9600..921600";
    }
  }
  const int fd = ::open(path.data(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    return "EDGE_LINK: the serial device cannot be opened";
  }
  open_fd(fd, fd);
  if (!set_baud(static_cast<std::uint32_t>(baud))) {
    return "EDGE_LINK: the serial device is not a terminal (termios refused it)";
  }
  return nullptr;
}

bool PosixStream::set_baud(std::uint32_t baud) {
  termios tio{};
  if (tcp_ || read_fd_ < 0 || to_speed(baud) == 0 || ::tcgetattr(read_fd_, &tio) != 0) {
    return false;  // not a tty (a socket, a pipe): there is no rate to set
  }
  ::cfmakeraw(&tio);
  tio.c_cflag |= CLOCAL | CREAD;
  tio.c_cflag &= ~static_cast<tcflag_t>(CSTOPB | CRTSCTS);
  return ::cfsetispeed(&tio, to_speed(baud)) == 0 && ::cfsetospeed(&tio, to_speed(baud)) == 0 &&
         ::tcsetattr(read_fd_, TCSANOW, &tio) == 0;
}

void PosixStream::close_fd() {
  if (tcp_ && read_fd_ >= 0) {
    ::close(read_fd_);
    read_fd_ = write_fd_ = -1;
  }
}

void PosixStream::redial() {
  const std::uint64_t now = monotonic_us();
  if (!tcp_ || read_fd_ >= 0 || now < next_dial_us_) {
    return;
  }
  next_dial_us_ = now + kRedialUs;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host_.data(), port_.data(), &hints, &found) != 0) {
    return;
  }
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      open_fd(fd, fd);
      break;
    }
    if (fd >= 0) {
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
}

std::size_t PosixStream::write(std::span<const std::uint8_t> bytes) {
  redial();
  std::size_t sent = 0;
  while (write_fd_ >= 0 && sent < bytes.size()) {
    const ssize_t n = ::write(write_fd_, bytes.data() + sent, bytes.size() - sent);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // The descriptor is non-blocking (it is also read from): wait for room, as a UART would.
      pollfd room{write_fd_, POLLOUT, 0};
      if (::poll(&room, 1, kWriteStallMs) > 0) {
        continue;
      }
    }
    close_fd();  // the peer is gone (EPIPE, ECONNRESET) or stalled
    break;
  }
  return sent;
}

std::size_t PosixStream::read(std::span<std::uint8_t> out) {
  redial();
  if (read_fd_ < 0) {
    return 0;
  }
  const ssize_t n = ::read(read_fd_, out.data(), out.size());
  if (n > 0) {
    return static_cast<std::size_t>(n);
  }
  if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    // End of stream: a TCP link dials again; a pipe or file has nothing more to say, so it is
    // no longer waited on (only written to).
    close_fd();
    ended_ = !tcp_;
  }
  return 0;
}

}  // namespace edge::platform::posix
