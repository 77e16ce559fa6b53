// Test support: an I2C bus with register-level chip emulators on it, and faults to inject
// (NACKs, corrupted bytes, timeouts), so driver tests prove that bus errors become statuses,
// never readings. Host and Linux test code only; the drivers themselves never see this file.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>

#include "edge/bus/i2c_bus.h"

namespace edge::emulator {

/// One chip on the emulated bus. A transfer is a write phase (possibly empty) then a read phase
/// (possibly empty) after a repeated start, as I2cBus::write_read does.
class ChipEmulator {
 public:
  virtual ~ChipEmulator() = default;
  /// The bytes the master wrote after the address. Returns false to NACK them.
  virtual bool write(std::span<const std::uint8_t> bytes) = 0;
  /// Fills `out` with what the chip sends. Returns false to NACK the read address.
  virtual bool read(std::span<std::uint8_t> out) = 0;
};

/// The common shape: an 8-bit register pointer set by the first written byte, further written
/// bytes stored from there on, reads from the pointer on, both auto-incrementing (TMP105,
/// DPS310, BME280, LSM303DLHC). Chips override the hooks for their own behaviour.
class RegisterChip : public ChipEmulator {
 public:
  bool write(std::span<const std::uint8_t> bytes) override {
    if (bytes.empty()) {
      return true;
    }
    pointer_ = bytes[0];
    for (std::size_t i = 1; i < bytes.size(); ++i) {
      if (!on_write(pointer_, bytes[i])) {
        return false;
      }
      pointer_ = next(pointer_);
    }
    return true;
  }
  bool read(std::span<std::uint8_t> out) override {
    for (std::uint8_t& byte : out) {
      byte = on_read(pointer_);
      pointer_ = next(pointer_);
    }
    return true;
  }

  std::array<std::uint8_t, 256> regs{};

 protected:
  /// Stores `value`; return false to NACK (a read-only register, say).
  virtual bool on_write(std::uint8_t reg, std::uint8_t value) {
    regs[reg] = value;
    return true;
  }
  virtual std::uint8_t on_read(std::uint8_t reg) { return regs[reg]; }
  /// The register after `reg` in an auto-incrementing transfer.
  virtual std::uint8_t next(std::uint8_t reg) { return static_cast<std::uint8_t>(reg + 1U); }
  [[nodiscard]] std::uint8_t pointer() const { return pointer_; }

 private:
  std::uint8_t pointer_ = 0;
};

class EmulatedI2cBus final : public bus::I2cBus {
 public:
  void attach(std::uint8_t address, ChipEmulator& chip) { chips_[address] = &chip; }

  /// The next `count` transfers to `address` end in a NACK.
  void nack_next(std::uint8_t address, int count = 1) { nacks_[address] += count; }
  /// The next `count` transfers (to anyone) time out (a stuck bus).
  void timeout_next(int count = 1) { timeouts_ += count; }
  /// In the next read, byte `index` arrives with `mask` XORed in (a corrupted byte).
  void corrupt_next_read(std::size_t index, std::uint8_t mask) {
    corrupt_index_ = index;
    corrupt_mask_ = mask;
  }
  [[nodiscard]] std::size_t transfers() const { return transfers_; }

  bus::BusStatus write_read(std::uint8_t address, std::span<const std::uint8_t> tx,
                            std::span<std::uint8_t> rx) override {
    ++transfers_;
    if (timeouts_ > 0) {
      --timeouts_;
      return bus::BusStatus::kTimeout;
    }
    if (auto nack = nacks_.find(address); nack != nacks_.end() && nack->second > 0) {
      --nack->second;
      return bus::BusStatus::kNack;
    }
    const auto found = chips_.find(address);
    if (found == chips_.end()) {
      return bus::BusStatus::kNack;  // nobody answers this address
    }
    if (!tx.empty() && !found->second->write(tx)) {
      return bus::BusStatus::kNack;
    }
    if (!rx.empty()) {
      if (!found->second->read(rx)) {
        return bus::BusStatus::kNack;
      }
      if (corrupt_mask_ != 0 && corrupt_index_ < rx.size()) {
        rx[corrupt_index_] ^= corrupt_mask_;
      }
      corrupt_mask_ = 0;
    }
    return bus::BusStatus::kOk;
  }

 private:
  std::map<std::uint8_t, ChipEmulator*> chips_;
  std::map<std::uint8_t, int> nacks_;
  int timeouts_ = 0;
  std::size_t corrupt_index_ = 0;
  std::uint8_t corrupt_mask_ = 0;
  std::size_t transfers_ = 0;
};

// Forwards to the emulated bus and runs `fault` just before transfer number `at` (0-based).
class FaultAt final : public bus::I2cBus {
 public:
  explicit FaultAt(EmulatedI2cBus& inner) : inner_(inner) {}
  void arm(int at, std::function<void()> fault) {
    at_ = at;
    fault_ = std::move(fault);
  }
  bus::BusStatus write_read(std::uint8_t address, std::span<const std::uint8_t> tx,
                            std::span<std::uint8_t> rx) override {
    if (at_-- == 0 && fault_) {
      fault_();
    }
    ++count_;
    return inner_.write_read(address, tx, rx);
  }
  [[nodiscard]] int count() const { return count_; }

 private:
  EmulatedI2cBus& inner_;
  int at_ = -1;
  int count_ = 0;
  std::function<void()> fault_;
};

}  // namespace edge::emulator
