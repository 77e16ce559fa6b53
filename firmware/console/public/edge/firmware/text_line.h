// A line of console text built in a fixed buffer: no heap, no printf (newlib's pulls in
// malloc and tens of KiB of flash). Text past the capacity is cut off, never overflowed.
#pragma once

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace edge::firmware {

template <std::size_t Capacity = 160>
class TextLine {
 public:
  TextLine& add(std::string_view text) {
    for (const char c : text) {
      if (length_ < buffer_.size()) {
        buffer_[length_++] = c;
      }
    }
    return *this;
  }
  /// `value` in `base` (2..36), lower-case digits, no prefix.
  TextLine& number(std::uint64_t value, int base = 10) {
    std::array<char, 24> digits{};
    const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), value, base);
    (void)ec;  // 24 characters hold any 64-bit number in base 8 or more; base 2 is cut off
    return add(std::string_view(digits.data(), static_cast<std::size_t>(end - digits.data())));
  }
  /// Thousandths as a decimal: 21500 -> "21.500", -7250 -> "-7.250".
  TextLine& milli(std::int64_t value) {
    if (value < 0) {
      add("-");
    }
    const std::uint64_t magnitude =
        value < 0 ? 0U - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
    number(magnitude / 1000U).add(".");
    const std::uint64_t fraction = magnitude % 1000U;
    return add(fraction < 100U ? (fraction < 10U ? "00" : "0") : "").number(fraction);
  }
  [[nodiscard]] std::string_view view() const { return {buffer_.data(), length_}; }

 private:
  std::array<char, Capacity> buffer_{};
  std::size_t length_ = 0;
};

}  // namespace edge::firmware
