// Test support: a real Mosquitto broker on a free loopback port, started and stopped by the
// test (no mocks where the real thing runs). Fails the test loudly when mosquitto is missing.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>

namespace edge::gateway {

/// A loopback TCP port nobody listens on right now.
inline std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  const bool bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0;
  ::close(fd);
  return bound ? ntohs(addr.sin_port) : 0;
}

inline bool loopback_port_open(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool open = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return open;
}

class MosquittoProcess {
 public:
  /// Writes a config for `port` into `dir`, with `extra_config` lines appended; start() runs it.
  MosquittoProcess(const std::string& dir, std::uint16_t port, const std::string& extra_config = "")
      : port_(port) {
    conf_ = dir + "/mosquitto-" + std::to_string(port) + ".conf";
    std::ofstream(conf_) << (::getuid() == 0 ? "user root\n" : "") << "listener " << port
                         << " 127.0.0.1\nallow_anonymous true\npersistence false\n"
                         << extra_config;
  }
  ~MosquittoProcess() { stop(); }
  MosquittoProcess(const MosquittoProcess&) = delete;
  MosquittoProcess& operator=(const MosquittoProcess&) = delete;

  /// Returns "" once the broker listens, else why not (not installed, exited, timed out).
  std::string start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execlp("mosquitto", "mosquitto", "-c", conf_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) && WEXITSTATUS(status) == 127
                   ? "mosquitto not installed (scripts/setup installs it)"
                   : "mosquitto exited at start";
      }
      if (loopback_port_open(port_)) {
        return "";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return "mosquitto did not listen within 10 s";
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  std::uint16_t port_;
  std::string conf_;
  pid_t pid_ = -1;
};

}  // namespace edge::gateway
