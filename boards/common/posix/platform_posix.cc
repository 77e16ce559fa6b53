// edge::platform on Linux (the host simulator and the Linux ARM agent): byte streams over file
// descriptors, CLOCK_MONOTONIC, exit().
//
// The link is EDGE_LINK (tcp:HOST:PORT or a serial port, see posix_stream.h) or the descriptor
// EDGE_LINK_FD; the console is the descriptor EDGE_CONSOLE_FD. By default the link is stdout
// and the console is stdin/stderr, so the image can be tried by hand. The I2C buses are
// the board's own (boards/host-sim: emulated chips; boards/linux-arm: /dev/i2c-N).
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "edge/board/board_sensors.h"
#include "edge/firmware/config_store.h"
#include "edge/firmware/sensor_set.h"
#include "edge/platform/platform.h"
#include "posix_stream.h"

namespace edge::platform {
namespace {

int fd_from_env(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    return fallback;
  }
  char* end = nullptr;
  const long fd = std::strtol(value, &end, 10);
  return (*end == '\0' && fd >= 0 && fd < 1024) ? static_cast<int>(fd) : fallback;
}

posix::PosixStream g_link;
posix::PosixStream g_console;

}  // namespace

void init() {
  (void)std::signal(SIGPIPE, SIG_IGN);  // a vanished link peer is a failed write, not death
  if (const char* spec = std::getenv("EDGE_LINK"); spec != nullptr && *spec != '\0') {
    if (const char* why = g_link.open_spec(spec)) {
      std::fprintf(stderr, "%s (got '%s')\n", why, spec);
      halt(2);
    }
  } else {
    const int fd = fd_from_env("EDGE_LINK_FD", STDOUT_FILENO);
    g_link.open_fd(fd, fd);
  }
  if (const int fd = fd_from_env("EDGE_CONSOLE_FD", -1); fd >= 0) {
    g_console.open_fd(fd, fd);
  } else {
    g_console.open_fd(STDIN_FILENO, STDERR_FILENO);
  }
}

void idle(std::uint32_t max_us) {
  // Sleep until the link or console has input, or max_us: a host process must not spin.
  pollfd fds[2] = {{g_link.fd(), POLLIN, 0}, {g_console.fd(), POLLIN, 0}};
  (void)::poll(fds, 2, static_cast<int>((max_us + 999U) / 1000U));
}

namespace {

// The configuration as a file (EDGE_CONFIG_FILE), created zero-filled: the store treats that
// as never written.
class FileStorage final : public firmware::Storage {
 public:
  static constexpr std::uint32_t kBytes = 2 * firmware::kSlotBytes;
  bool open(const char* path) {
    fd_ = ::open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    return fd_ >= 0 && ::ftruncate(fd_, kBytes) == 0;
  }
  bool read(std::uint32_t offset, std::span<std::uint8_t> out) override {
    return ::pread(fd_, out.data(), out.size(), static_cast<off_t>(offset)) ==
           static_cast<ssize_t>(out.size());
  }
  bool write(std::uint32_t offset, std::span<const std::uint8_t> bytes) override {
    return ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset)) ==
               static_cast<ssize_t>(bytes.size()) &&
           ::fdatasync(fd_) == 0;
  }
  [[nodiscard]] std::uint32_t size() const override { return kBytes; }

 private:
  int fd_ = -1;
};

FileStorage g_file_storage;

}  // namespace

firmware::Storage* config_storage() {
  static const bool opened = [] {
    const char* path = std::getenv("EDGE_CONFIG_FILE");
    return path != nullptr && *path != '\0' && g_file_storage.open(path);
  }();
  return opened ? &g_file_storage : nullptr;
}

void delay_us(std::uint32_t microseconds) {
  const timespec wait{static_cast<time_t>(microseconds / 1'000'000U),
                      static_cast<long>(microseconds % 1'000'000U) * 1000L};
  ::nanosleep(&wait, nullptr);
}

void reboot() {
  halt(3);  // a supervisor (systemd, the test) starts the process again
}

std::span<firmware::SensorSource* const> sensors() {
  // board.json's sensors on the board's buses (i2c_bus() is the board's own file).
  static firmware::SensorSet<board::kSensors.size()> sources;
  return sources.build(board::kSensors, i2c_bus, delay_us);
}

ByteStream& link() {
  return g_link;
}
bool set_link_baud(std::uint32_t baud) {
  return g_link.set_baud(baud);
}
ByteStream& console() {
  return g_console;
}

std::uint64_t monotonic_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000U +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1'000U;
}

void halt(int exit_code) {
  std::fflush(nullptr);
  std::_Exit(exit_code);
}

void test_log(const char* line) {
  std::fputs(line, stdout);
  std::fputc('\n', stdout);
}

}  // namespace edge::platform
