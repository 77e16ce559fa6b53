#include "stellaris_i2c.h"

namespace edge::board {
namespace {

template <typename T = std::uint32_t>
volatile T& reg(std::uintptr_t address) {
  return *reinterpret_cast<volatile T*>(address);
}

// Master registers (offsets from the module base).
constexpr std::uintptr_t kMsa = 0x000;   // slave address, bit 0: 1 = receive
constexpr std::uintptr_t kMcs = 0x004;   // control (write) / status (read)
constexpr std::uintptr_t kMdr = 0x008;   // data
constexpr std::uintptr_t kMtpr = 0x00C;  // timer period: SCL = clock / (20 * (TPR + 1))
constexpr std::uintptr_t kMcr = 0x020;   // configuration
constexpr std::uint32_t kMcrMasterEnable = 0x10;

// MCS written: what to do next.
constexpr std::uint32_t kRun = 0x01;
constexpr std::uint32_t kStart = 0x02;
constexpr std::uint32_t kStop = 0x04;
constexpr std::uint32_t kAck = 0x08;  // receive: acknowledge the byte (more follow)
// MCS read: how it went.
constexpr std::uint32_t kBusy = 0x01;
constexpr std::uint32_t kError = 0x02;
constexpr std::uint32_t kArbitrationLost = 0x10;

constexpr std::uintptr_t kSysctlRcgc1 = 0x400FE104;  // bit 12: I2C0
constexpr std::uintptr_t kSysctlRcgc2 = 0x400FE108;  // bit 1: GPIOB
constexpr std::uintptr_t kGpioB = 0x40005000;
constexpr std::uintptr_t kGpioAfsel = 0x420;
constexpr std::uintptr_t kGpioOdr = 0x50C;
constexpr std::uintptr_t kGpioDen = 0x51C;
constexpr std::uint32_t kPb2Scl = 1U << 2U;
constexpr std::uint32_t kPb3Sda = 1U << 3U;

constexpr std::uint32_t kSclHz = 100'000;
constexpr std::uint32_t kBusyPolls = 100'000;  // about 20 ms at 50 MHz: a stuck bus gives up

}  // namespace

void StellarisI2c::init(std::uint32_t system_clock_hz) const {
  reg(kSysctlRcgc1) = reg(kSysctlRcgc1) | (1U << 12U);
  reg(kSysctlRcgc2) = reg(kSysctlRcgc2) | (1U << 1U);
  reg(kGpioB + kGpioAfsel) = reg(kGpioB + kGpioAfsel) | kPb2Scl | kPb3Sda;
  reg(kGpioB + kGpioOdr) = reg(kGpioB + kGpioOdr) | kPb3Sda;  // SDA open drain
  reg(kGpioB + kGpioDen) = reg(kGpioB + kGpioDen) | kPb2Scl | kPb3Sda;
  reg(base_ + kMcr) = kMcrMasterEnable;
  reg(base_ + kMtpr) = system_clock_hz / (20U * kSclHz) - 1U;
}

bus::BusStatus StellarisI2c::run(std::uint32_t command) const {
  reg(base_ + kMcs) = command;
  std::uint32_t status = kBusy;
  for (std::uint32_t polls = 0; polls < kBusyPolls; ++polls) {
    status = reg(base_ + kMcs);
    if ((status & kBusy) == 0U) {
      break;
    }
  }
  if ((status & kBusy) != 0U) {
    return bus::BusStatus::kTimeout;
  }
  // QEMU 7.2's model reports an address nobody acknowledges as arbitration lost; on this
  // single-master board that can only be a NACK.
  if ((status & (kError | kArbitrationLost)) != 0U) {
    if ((command & kStop) == 0U) {
      reg(base_ + kMcs) = kStop;  // release the bus after a NACK
    }
    return bus::BusStatus::kNack;
  }
  return bus::BusStatus::kOk;
}

bus::BusStatus StellarisI2c::write_read(std::uint8_t address, std::span<const std::uint8_t> tx,
                                        std::span<std::uint8_t> rx) {
  if (tx.empty() && rx.empty()) {
    return bus::BusStatus::kBusError;
  }
  const auto address_bits = static_cast<std::uint32_t>(address & 0x7FU) << 1U;
  if (!tx.empty()) {
    reg(base_ + kMsa) = address_bits;
    for (std::size_t i = 0; i < tx.size(); ++i) {
      reg(base_ + kMdr) = tx[i];
      const bool last = i + 1 == tx.size();
      // The write phase always ends with STOP and the read starts anew: QEMU 7.2's model has no
      // repeated start, and every chip this board carries keeps its register pointer across it.
      const std::uint32_t command = kRun | (i == 0 ? kStart : 0U) | (last ? kStop : 0U);
      if (const bus::BusStatus status = run(command); status != bus::BusStatus::kOk) {
        return status;
      }
    }
  }
  if (!rx.empty()) {
    reg(base_ + kMsa) = address_bits | 1U;  // then a new start for reading
    for (std::size_t i = 0; i < rx.size(); ++i) {
      const bool last = i + 1 == rx.size();
      const std::uint32_t command = kRun | (i == 0 ? kStart : 0U) | (last ? kStop : kAck);
      if (const bus::BusStatus status = run(command); status != bus::BusStatus::kOk) {
        return status;
      }
      rx[i] = static_cast<std::uint8_t>(reg(base_ + kMdr) & 0xFFU);
    }
  }
  return bus::BusStatus::kOk;
}

}  // namespace edge::board
