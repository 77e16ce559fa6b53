// A 24Cxx EEPROM for host tests, at the level of bus transfers:
//  - the word address (one or two bytes; on one-byte parts over 256 B the block bits come from
//    the device address, so attach() puts the chip at every address it answers);
//  - page writes whose address counter rolls over inside the page, as the real chip's does, so a
//    driver that does not split writes at pages overwrites the page's start;
//  - a write cycle after each page write during which the chip NACKs its address (a set number of
//    attempts, or for ever), to prove acknowledge polling;
//  - sequential reads across pages, rolling over at the end of memory.
// Flavour::kQemu72 models QEMU 7.2's at24c-eeprom instead: always two address bytes (taken
// modulo the size), no pages, no write cycle.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "edge/drivers/at24c.h"
#include "edge/emulator/i2c_emulator.h"

namespace edge::emulator {

class At24cEmulator {
 public:
  enum class Flavour : std::uint8_t { kChip, kQemu72 };

  explicit At24cEmulator(const drivers::At24cGeometry& geometry, Flavour flavour = Flavour::kChip)
      : geometry_(geometry),
        flavour_(flavour),
        address_bytes_(flavour == Flavour::kQemu72 ? 2 : geometry.address_bytes),
        memory_(geometry.size_bytes, 0xFF) {}
  At24cEmulator(const At24cEmulator&) = delete;
  At24cEmulator& operator=(const At24cEmulator&) = delete;

  /// Answers at `address` and, on one-address-byte parts over 256 B, at the block addresses
  /// after it (a 24C16 takes all of 0x50..0x57).
  void attach(EmulatedI2cBus& bus, std::uint8_t address = drivers::At24c::kDefaultAddress) {
    const std::size_t blocks = address_bytes_ == 1 ? (geometry_.size_bytes + 255) / 256 : 1;
    for (std::size_t block = 0; block < blocks; ++block) {
      blocks_.push_back(std::make_unique<Block>(*this, static_cast<std::uint32_t>(block)));
      bus.attach(static_cast<std::uint8_t>(address + block), *blocks_.back());
    }
  }

  /// After each page write the chip NACKs this many address attempts (the write cycle, tWR).
  void set_write_cycle_naks(int naks) { write_cycle_naks_ = naks; }
  /// The write cycle never ends (a dead chip): every attempt after the next page write NACKs.
  void set_stuck_after_write(bool stuck) { stuck_after_write_ = stuck; }

  std::vector<std::uint8_t>& memory() { return memory_; }
  [[nodiscard]] int write_cycles() const { return write_cycles_; }
  [[nodiscard]] int naks_while_busy() const { return naks_while_busy_; }
  /// The most data bytes one page write carried.
  [[nodiscard]] std::size_t largest_write() const { return largest_write_; }
  /// Transfers whose word address was cut short (the chip would be misaddressed).
  [[nodiscard]] int short_addresses() const { return short_addresses_; }

 private:
  // What answers one device address: block `block` of a one-address-byte part, or the whole chip.
  class Block final : public ChipEmulator {
   public:
    Block(At24cEmulator& chip, std::uint32_t block) : chip_(chip), block_(block) {}
    bool write(std::span<const std::uint8_t> bytes) override { return chip_.write(block_, bytes); }
    bool read(std::span<std::uint8_t> out) override { return chip_.read(out); }

   private:
    At24cEmulator& chip_;
    std::uint32_t block_;
  };

  bool busy() {
    if (stuck_ || busy_naks_left_ > 0) {
      --busy_naks_left_;
      ++naks_while_busy_;
      return true;
    }
    return false;
  }

  bool write(std::uint32_t block, std::span<const std::uint8_t> bytes) {
    if (busy()) {
      return false;
    }
    if (bytes.size() < address_bytes_) {
      ++short_addresses_;
      return true;
    }
    std::uint32_t word =
        address_bytes_ == 1 ? (block << 8U) | bytes[0] : (std::uint32_t{bytes[0]} << 8U) | bytes[1];
    word %= geometry_.size_bytes;
    const auto data = bytes.subspan(address_bytes_);
    if (flavour_ == Flavour::kQemu72) {
      for (const std::uint8_t byte : data) {
        memory_[word] = byte;
        word = (word + 1) % geometry_.size_bytes;
      }
      pointer_ = word;
      return true;
    }
    const std::uint32_t page = geometry_.page_bytes;
    const std::uint32_t base = word - word % page;
    std::uint32_t column = word % page;
    for (const std::uint8_t byte : data) {
      memory_[base + column] = byte;
      column = (column + 1) % page;  // rolls over inside the page
    }
    pointer_ = base + column;
    if (!data.empty()) {
      ++write_cycles_;
      largest_write_ = std::max(largest_write_, data.size());
      busy_naks_left_ = write_cycle_naks_;
      stuck_ = stuck_after_write_;
    }
    return true;
  }

  bool read(std::span<std::uint8_t> out) {
    if (busy()) {
      return false;
    }
    for (std::uint8_t& byte : out) {
      byte = memory_[pointer_];
      pointer_ = (pointer_ + 1) % geometry_.size_bytes;
    }
    return true;
  }

  drivers::At24cGeometry geometry_;
  Flavour flavour_;
  std::size_t address_bytes_;
  std::vector<std::uint8_t> memory_;
  std::vector<std::unique_ptr<Block>> blocks_;
  std::uint32_t pointer_ = 0;
  int write_cycle_naks_ = 0;
  bool stuck_after_write_ = false;
  bool stuck_ = false;
  int busy_naks_left_ = 0;
  int write_cycles_ = 0;
  int naks_while_busy_ = 0;
  std::size_t largest_write_ = 0;
  int short_addresses_ = 0;
};

}  // namespace edge::emulator
