// FlatBuffers holding 8-byte fields must be read from 8-aligned memory (verify_event refuses
// anything else as kMisaligned); LMDB values are aligned to 2 bytes only, and a sender may
// misalign nested buffers. An AlignedCopy holds an 8-aligned copy, reusing its storage.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace edge::gateway {

class AlignedCopy {
 public:
  AlignedCopy() = default;
  explicit AlignedCopy(std::span<const std::uint8_t> bytes) { assign(bytes); }

  /// Copies `bytes`; returns the aligned copy (valid until the next assign).
  std::span<const std::uint8_t> assign(std::span<const std::uint8_t> bytes) {
    words_.assign((bytes.size() + 7) / 8, 0);
    if (!bytes.empty()) {
      std::memcpy(words_.data(), bytes.data(), bytes.size());
    }
    size_ = bytes.size();
    return this->bytes();
  }
  [[nodiscard]] std::span<const std::uint8_t> bytes() const {
    return {reinterpret_cast<const std::uint8_t*>(words_.data()), size_};
  }
  [[nodiscard]] std::span<std::uint8_t> mutable_bytes() {
    return {reinterpret_cast<std::uint8_t*>(words_.data()), size_};
  }

 private:
  std::vector<std::uint64_t> words_;
  std::size_t size_ = 0;
};

}  // namespace edge::gateway
