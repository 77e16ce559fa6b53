#include "device_console.h"

#include <netdb.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <iostream>
#include <optional>
#include <sys/socket.h>
#include <utility>
#include <vector>

#include "link_io.h"

#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 1
#include <toml++/toml.h>

namespace edge::edgectl {
namespace {

constexpr auto kReplyTimeout = std::chrono::seconds(5);

// Opens tcp:HOST:PORT or a serial device PATH[:BAUD]; -1 with `why` set on failure.
int open_port(const std::string& port, std::string& why) {
  if (port.rfind("tcp:", 0) == 0) {
    const std::string rest = port.substr(4);
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos) {
      why = "expected tcp:HOST:PORT";
      return -1;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(rest.substr(0, colon).c_str(), rest.substr(colon + 1).c_str(), &hints,
                      &found) != 0) {
      why = "cannot resolve " + rest;
      return -1;
    }
    int fd = -1;
    for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
      fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
        ::close(fd);
        fd = -1;
      }
    }
    ::freeaddrinfo(found);
    if (fd < 0) {
      why = "cannot connect to " + rest + ": " + std::strerror(errno);
    }
    return fd;
  }
  // A serial device: the gateway's own opener (raw 8N1, no flow control, non-blocking).
  std::string path = port;
  std::uint32_t baud = 115200;
  if (const auto colon = port.rfind(':'); colon != std::string::npos) {
    path = port.substr(0, colon);
    const std::string text = port.substr(colon + 1);
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
        text.size() > 7) {
      why = "unsupported baud rate " + text;
      return -1;
    }
    baud = static_cast<std::uint32_t>(std::stoul(text));
  }
  auto opened = gateway::open_serial(path, baud);
  if (auto* error = std::get_if<std::string>(&opened)) {
    why = *error;
    return -1;
  }
  return std::get<int>(opened);
}

// Line-oriented exchange with the device console.
class Device {
 public:
  explicit Device(int fd) : fd_(fd) {}
  ~Device() { ::close(fd_); }
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // Sends `command`; returns the first reply line starting with "ok" or "error:", or nullopt
  // when none came within kReplyTimeout.
  std::optional<std::string> ask(const std::string& command) {
    const std::string line = command + "\r\n";
    if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      return std::nullopt;
    }
    const auto deadline = std::chrono::steady_clock::now() + kReplyTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      for (auto end = pending_.find('\n'); end != std::string::npos; end = pending_.find('\n')) {
        std::string reply = pending_.substr(0, end);
        pending_.erase(0, end + 1);
        while (!reply.empty() && (reply.back() == '\r' || reply.back() == ' ')) {
          reply.pop_back();
        }
        if (reply.rfind("ok", 0) == 0 || reply.rfind("error:", 0) == 0) {
          return reply;
        }
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        char buf[512];
        const ssize_t n = ::read(fd_, buf, sizeof(buf));
        if (n <= 0) {
          return std::nullopt;
        }
        pending_.append(buf, static_cast<std::size_t>(n));
      }
    }
    return std::nullopt;
  }

  // Drops whatever the device printed before (banner, sample output).
  void flush() {
    char buf[512];
    pollfd p{fd_, POLLIN, 0};
    while (::poll(&p, 1, 200) > 0 && ::read(fd_, buf, sizeof(buf)) > 0) {
    }
    pending_.clear();
  }

 private:
  int fd_;
  std::string pending_;
};

// "ok interval.tmp105 = 200" -> "200".
std::string value_of(const std::string& reply) {
  const auto eq = reply.find(" = ");
  return eq == std::string::npos ? std::string() : reply.substr(eq + 3);
}

// The console's text for a value. The device reads device_id and addr.* as hex, so an integer
// there (device_id = 4096) is sent as hex ("0x1000"), never as its decimal digits ("4096",
// which the device would take for 0x4096); a string is sent as written.
std::string to_text(const toml::node& node, bool hex) {
  if (const auto* s = node.as_string()) {
    return s->get();
  }
  if (const auto* i = node.as_integer()) {
    return hex && i->get() >= 0 ? fmt::format("0x{:X}", i->get()) : std::to_string(i->get());
  }
  return {};
}

// The file's settings as (console key, value) pairs, in key order (toml++ keeps a table's keys
// sorted, not in file order); nullopt after printing why.
std::optional<std::vector<std::pair<std::string, std::string>>> read_settings(
    const std::string& file) {
  std::vector<std::pair<std::string, std::string>> settings;
  try {
    const toml::table doc = toml::parse_file(file);
    for (const auto& [key, node] : doc) {
      const std::string name(key.str());
      if (const auto* table = node.as_table();
          table != nullptr && (name == "interval" || name == "addr")) {
        for (const auto& [sensor, value] : *table) {
          const std::string text = to_text(value, name == "addr");
          if (text.empty()) {
            std::cerr << "config error: " << file << ": key '" << name << "." << sensor.str()
                      << "': expected an integer or a string\n";
            return std::nullopt;
          }
          settings.emplace_back(name + "." + std::string(sensor.str()), text);
        }
      } else if ((name == "device_id" || name == "link_baud") &&
                 !to_text(node, name == "device_id").empty()) {
        settings.emplace_back(name, to_text(node, name == "device_id"));
      } else {
        std::cerr << "config error: " << file << ": key '" << name
                  << "': unknown (expected device_id, link_baud, [interval], [addr])\n";
        return std::nullopt;
      }
    }
  } catch (const toml::parse_error& e) {
    std::cerr << "config error: " << file << ":" << e.source().begin.line << ":"
              << e.source().begin.column << ": " << e.description() << "\n";
    return std::nullopt;
  }
  return settings;
}

}  // namespace

int run_config_apply(const std::string& port, const std::string& file, bool reboot) {
  const auto settings = read_settings(file);
  if (!settings) {
    return 2;
  }
  std::string why;
  const int fd = open_port(port, why);
  if (fd < 0) {
    std::cerr << "edgectl config apply: " << port << ": " << why << "\n";
    return 2;
  }
  Device device(fd);
  device.flush();
  int changed = 0;
  for (const auto& [key, value] : *settings) {
    const auto current = device.ask("get " + key);
    if (!current || current->rfind("error:", 0) == 0) {
      std::cerr << "edgectl config apply: " << key << ": "
                << (current ? *current : "no answer from the device") << "\n";
      return 1;
    }
    std::string command = "set ";
    command.append(key).append(" ").append(value);
    const auto set = device.ask(command);
    if (!set || set->rfind("error:", 0) == 0) {
      std::cerr << "edgectl config apply: " << file << ": key '" << key << "' = " << value
                << " refused by the device: " << (set ? *set : "no answer") << "\n";
      return 1;
    }
    const auto now = device.ask("get " + key);
    const std::string before = value_of(*current);
    const std::string after = now ? value_of(*now) : value;
    if (before != after) {
      std::cout << key << ": " << before << " -> " << after << "\n";
      ++changed;
    }
  }
  const auto saved = device.ask("save");
  if (!saved || saved->rfind("ok", 0) != 0) {
    std::cerr << "edgectl config apply: save: " << (saved ? *saved : "no answer") << "\n";
    return 1;
  }
  std::cout << changed << " setting(s) changed, saved" << (reboot ? ", rebooting" : "") << "\n";
  if (reboot) {
    (void)device.ask("reboot");
  }
  return 0;
}

int run_console(const std::string& port) {
  std::string why;
  const int fd = open_port(port, why);
  if (fd < 0) {
    std::cerr << "edgectl console: " << port << ": " << why << "\n";
    return 2;
  }
  std::cerr << "connected to " << port << "; Ctrl-D ends\n";
  pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {fd, POLLIN, 0}};
  char buf[1024];
  for (;;) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
      break;
    }
    if ((fds[0].revents & (POLLIN | POLLHUP)) != 0) {
      const ssize_t n = ::read(STDIN_FILENO, buf, sizeof(buf));
      if (n <= 0) {
        break;
      }
      for (ssize_t i = 0; i < n; ++i) {  // terminals send \n; the device wants \r\n
        const char* out = buf[i] == '\n' ? "\r\n" : &buf[i];
        (void)!::write(fd, out, buf[i] == '\n' ? 2 : 1);
      }
    }
    if ((fds[1].revents & (POLLIN | POLLHUP)) != 0) {
      const ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n <= 0) {
        std::cerr << "edgectl console: the port closed\n";
        break;
      }
      (void)!::write(STDOUT_FILENO, buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return 0;
}

}  // namespace edge::edgectl
