#include "link_io.h"

#include <fcntl.h>
#include <netdb.h>
#include <termios.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

namespace edge::gateway {
namespace {

std::string os_error(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

speed_t termios_speed(std::uint32_t baud) {
  switch (baud) {
    case 1200: return B1200;
    case 2400: return B2400;
    case 4800: return B4800;
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
    case 460800: return B460800;
    case 921600: return B921600;
    default: return B0;
  }
}

}  // namespace

FdOrError open_serial(const std::string& path, std::uint32_t baud) {
  const speed_t speed = termios_speed(baud);
  if (speed == B0) {
    return "serial " + path + ": unsupported baud rate " + std::to_string(baud);
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return os_error("serial " + path + ": open");
  }
  termios tio{};
  if (::tcgetattr(fd, &tio) != 0) {
    const std::string error = os_error("serial " + path + ": tcgetattr (not a tty?)");
    ::close(fd);
    return error;
  }
  ::cfmakeraw(&tio);
  tio.c_cflag |= CLOCAL | CREAD;
  tio.c_cflag &= ~static_cast<tcflag_t>(CSTOPB | CRTSCTS);
  tio.c_iflag &= ~static_cast<tcflag_t>(IXON | IXOFF | IXANY);
  // VMIN 1 with O_NONBLOCK: read() returns what is there or EAGAIN. (With VMIN 0 a tty read
  // returns 0 when empty, which would look like end of stream.)
  tio.c_cc[VMIN] = 1;
  tio.c_cc[VTIME] = 0;
  ::cfsetispeed(&tio, speed);
  ::cfsetospeed(&tio, speed);
  if (::tcsetattr(fd, TCSANOW, &tio) != 0) {
    const std::string error = os_error("serial " + path + ": tcsetattr");
    ::close(fd);
    return error;
  }
  ::tcflush(fd, TCIOFLUSH);
  return fd;
}

namespace {
// Connections the kernel completes while the loop is busy (a commit's fsync, a burst of frames):
// a site's devices all reconnect at once after a gateway restart or a switch reboot. SOMAXCONN
// is what the kernel allows (net.core.somaxconn caps it); with the old 64 the 65th device's SYN
// was dropped and it waited a whole 1 s SYN retransmit.
constexpr int kListenBacklog = SOMAXCONN;
}  // namespace

FdOrError listen_tcp(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return "tcp " + host + ":" + service + ": " + ::gai_strerror(rc);
  }
  const std::string where = "tcp " + host + ":" + service;
  std::string error = where + ": no usable address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      error = os_error(where + ": socket");
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, kListenBacklog) == 0) {
      ::freeaddrinfo(found);
      return fd;
    }
    error = os_error(where + ": bind/listen");
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return error;
}

FdOrError listen_unix(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    return "unix " + path + ": path longer than " + std::to_string(sizeof(addr.sun_path) - 1);
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    ::unlink(path.c_str());  // stale socket of an earlier run
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return os_error("unix " + path + ": socket");
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, kListenBacklog) != 0) {
    const std::string error = os_error("unix " + path + ": bind/listen");
    ::close(fd);
    return error;
  }
  ::chmod(path.c_str(), 0660);
  return fd;
}

std::uint16_t bound_port(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return 0;
  }
  if (addr.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  }
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  }
  return 0;
}

std::string peer_name(const sockaddr_storage& addr, socklen_t len) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (addr.ss_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(addr);
    ::inet_ntop(AF_INET, &in.sin_addr, text.data(), text.size());
    return std::string(text.data()) + ":" + std::to_string(ntohs(in.sin_port));
  }
  if (addr.ss_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(addr);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, text.data(), text.size());
    return "[" + std::string(text.data()) + "]:" + std::to_string(ntohs(in6.sin6_port));
  }
  return addr.ss_family == AF_UNIX ? "unix" : "?";
}

}  // namespace edge::gateway
