// Opening the gateway's links: serial ports (termios, raw), TCP and Unix stream listeners.
// Every call returns a non-blocking, close-on-exec descriptor or an error message naming the
// port or address and the OS's reason.
#pragma once

#include <cstdint>
#include <string>
#include <sys/socket.h>
#include <variant>

namespace edge::gateway {

using FdOrError = std::variant<int, std::string>;

/// Opens `path` as a serial port: raw 8N1, no flow control, `baud` (a standard termios rate).
FdOrError open_serial(const std::string& path, std::uint32_t baud);
/// Binds and listens on host:port (IPv4 or IPv6 literal, or "localhost").
FdOrError listen_tcp(const std::string& host, std::uint16_t port);
/// Binds and listens on a Unix stream socket at `path` (a stale socket file is replaced), 0660.
FdOrError listen_unix(const std::string& path);
/// The port a listener is bound to (for port 0 in tests), or 0.
std::uint16_t bound_port(int fd);
/// An accepted peer's address for the log: "10.0.0.5:40312", "[::1]:40312", or "unix" / "?".
std::string peer_name(const sockaddr_storage& addr, socklen_t len);

}  // namespace edge::gateway
