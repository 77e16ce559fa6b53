#include "edge/bus/linux_i2c_bus.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <sys/ioctl.h>

namespace edge::bus {

LinuxI2cBus::~LinuxI2cBus() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

std::string LinuxI2cBus::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return path + ": " + std::strerror(errno);
  }
  if (fd_ >= 0) {
    ::close(fd_);
  }
  fd_ = fd;
  return {};
}

BusStatus LinuxI2cBus::write_read(std::uint8_t address, std::span<const std::uint8_t> tx,
                                  std::span<std::uint8_t> rx) {
  if (fd_ < 0 || (tx.empty() && rx.empty())) {
    return BusStatus::kBusError;
  }
  std::array<i2c_msg, 2> msgs{};
  std::size_t n = 0;
  if (!tx.empty()) {
    // The kernel's message takes a non-const buffer; it only reads a write message's bytes.
    msgs[n++] = {address, 0, static_cast<__u16>(tx.size()),
                 const_cast<__u8*>(tx.data())};  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  }
  if (!rx.empty()) {
    msgs[n++] = {address, I2C_M_RD, static_cast<__u16>(rx.size()), rx.data()};
  }
  i2c_rdwr_ioctl_data transfer{msgs.data(), static_cast<__u32>(n)};
  if (::ioctl(fd_, I2C_RDWR, &transfer) >= 0) {
    return BusStatus::kOk;
  }
  switch (errno) {
    case ENXIO:
    case EREMOTEIO: return BusStatus::kNack;
    case ETIMEDOUT: return BusStatus::kTimeout;
    case EAGAIN: return BusStatus::kArbitrationLost;
    default: return BusStatus::kBusError;
  }
}

}  // namespace edge::bus
