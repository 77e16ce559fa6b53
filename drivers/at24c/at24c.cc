#include "edge/drivers/at24c.h"

#include <algorithm>
#include <array>

namespace edge::drivers {
namespace {

constexpr std::uint32_t kBlockBytes = 256;  // what one address byte reaches

}  // namespace

bool At24c::fits(std::uint32_t offset, std::size_t length) const {
  return valid(geometry_) && offset <= geometry_.size_bytes &&
         length <= geometry_.size_bytes - offset;
}

std::uint8_t At24c::device_address(std::uint32_t offset) const {
  if (geometry_.address_bytes == 1) {
    return static_cast<std::uint8_t>(address_ | ((offset / kBlockBytes) & 0x07U));
  }
  return address_;
}

std::size_t At24c::word_address(std::uint32_t offset, std::span<std::uint8_t> out) const {
  if (geometry_.address_bytes == 1) {
    out[0] = static_cast<std::uint8_t>(offset & 0xFFU);
    return 1;
  }
  out[0] = static_cast<std::uint8_t>((offset >> 8U) & 0xFFU);
  out[1] = static_cast<std::uint8_t>(offset & 0xFFU);
  return 2;
}

SensorResult<std::size_t> At24c::read(std::uint32_t offset, std::span<std::uint8_t> out) {
  if (!fits(offset, out.size())) {
    return SensorError::kBadArgument;
  }
  std::size_t done = 0;
  while (done < out.size()) {
    const auto at = static_cast<std::uint32_t>(offset + done);
    std::size_t length = out.size() - done;
    if (geometry_.address_bytes == 1) {  // the next 256-byte block has another device address
      length = std::min<std::size_t>(length, kBlockBytes - (at % kBlockBytes));
    }
    std::array<std::uint8_t, 2> addr{};
    const std::size_t addr_len = word_address(at, addr);
    const bus::BusStatus status = bus_.write_read(
        device_address(at), std::span(addr).first(addr_len), out.subspan(done, length));
    if (status != bus::BusStatus::kOk) {
      return from_bus(status);
    }
    done += length;
  }
  return out.size();
}

SensorResult<std::size_t> At24c::write(std::uint32_t offset, std::span<const std::uint8_t> data) {
  if (!fits(offset, data.size())) {
    return SensorError::kBadArgument;
  }
  std::size_t done = 0;
  while (done < data.size()) {
    const auto at = static_cast<std::uint32_t>(offset + done);
    const std::size_t to_page_end = geometry_.page_bytes - (at % geometry_.page_bytes);
    const std::size_t length = std::min({data.size() - done, to_page_end, kMaxWriteChunk});
    std::array<std::uint8_t, 2 + kMaxWriteChunk> tx{};
    const std::size_t addr_len = word_address(at, tx);
    const auto chunk = data.subspan(done, length);
    std::copy(chunk.begin(), chunk.end(), tx.begin() + static_cast<std::ptrdiff_t>(addr_len));
    const bus::BusStatus status =
        bus_.write_read(device_address(at), std::span(tx).first(addr_len + length), {});
    if (status != bus::BusStatus::kOk) {
      return from_bus(status);
    }
    std::uint16_t polls = 0;
    EDGE_TRY_ASSIGN(polls, wait_write_cycle(at));
    static_cast<void>(polls);
    done += length;
  }
  return data.size();
}

SensorResult<std::uint16_t> At24c::wait_write_cycle(std::uint32_t offset) {
  // Each poll sends the word address and a stop: acknowledged only once the write cycle is over,
  // and harmless then (it just sets the address counter). No empty transfer: not every
  // controller can send an address with no data byte.
  std::array<std::uint8_t, 2> addr{};
  const std::size_t addr_len = word_address(offset, addr);
  for (std::uint16_t poll = 1; poll <= poll_attempts_; ++poll) {
    const bus::BusStatus status =
        bus_.write_read(device_address(offset), std::span(addr).first(addr_len), {});
    if (status == bus::BusStatus::kOk) {
      return poll;
    }
    if (status != bus::BusStatus::kNack) {
      return from_bus(status);
    }
  }
  return SensorError::kBusTimeout;
}

}  // namespace edge::drivers
