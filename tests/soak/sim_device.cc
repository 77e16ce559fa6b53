#include "sim_device.h"

#include <algorithm>
#include <array>

namespace edge::soak {

void SimDevice::produce(std::uint64_t mono_us) {
  if (ring_.size() == kDeviceRingCapacity) {
    ring_.pop_front();
    ++ring_dropped_;
  }
  wire::EventFields fields;
  fields.id = {device_, boot_, next_seq_};
  fields.mono_us = mono_us;
  fields.sensor = "tmp105";
  // A reading that moves, so payloads differ from event to event.
  fields.reading = wire::ReadingValue::temperature(20.0F + static_cast<float>(next_seq_ % 50) / 10);
  const auto bytes = wire::encode_event(event_fbb_, fields);
  if (bytes.ok()) {
    ring_.push_back({next_seq_, {bytes.value().begin(), bytes.value().end()}});
  }
  ++next_seq_;
  ++produced_;
}

void SimDevice::frame(std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out) {
  const std::size_t at = out.size();
  out.resize(at + link::max_encoded_frame_size(payload.size()));
  const auto n = link::encode_frame(payload, std::span(out).subspan(at));
  out.resize(at + (n.ok() ? n.value() : 0));
}

void SimDevice::hello(std::vector<std::uint8_t>& out) {
  const auto message = wire::encode_hello(
      link_fbb_, {device_, boot_, "soak-1.0", "soak-sim",
                  static_cast<std::uint32_t>(kDeviceRingCapacity), wire::kSchemaVersion});
  if (message.ok()) {
    frame(message.value(), out);
  }
}

void SimDevice::send_ring(std::vector<std::uint8_t>& out,
                          std::vector<std::pair<std::size_t, std::size_t>>& frames) {
  std::array<std::span<const std::uint8_t>, wire::kMaxBatchEvents> events{};
  std::size_t i = 0;
  while (i < ring_.size()) {
    const std::size_t n = std::min(wire::kMaxBatchEvents, ring_.size() - i);
    for (std::size_t k = 0; k < n; ++k) {
      events.at(k) = ring_[i + k].bytes;
    }
    const auto message =
        wire::encode_batch(link_fbb_, device_, std::span(events.data(), n), ring_dropped_);
    if (message.ok()) {
      const std::size_t begin = out.size();
      frame(message.value(), out);
      frames.emplace_back(begin, out.size());
    }
    i += n;
  }
}

void SimDevice::on_link_bytes(std::span<const std::uint8_t> bytes) {
  decoder_.feed(
      bytes,
      [&](std::span<const std::uint8_t> payload) {
        const auto message = wire::verify_link_message(payload);
        const wire::Ack* ack = message.ok() ? message.value()->body_as_Ack() : nullptr;
        if (ack == nullptr || ack->device() != device_) {
          ++bad_frames_;
          return;
        }
        switch (ack->status()) {
          case wire::AckStatus::Ok: free_covered(*ack); break;
          case wire::AckStatus::Busy: ++busy_acks_; break;
          case wire::AckStatus::Invalid:
            ++invalid_acks_;
            free_covered(*ack);
            break;
        }
      },
      [&](link::FrameError) { ++bad_frames_; });
}

void SimDevice::free_covered(const wire::Ack& ack) {
  if (ack.boot() != boot_) {
    return;  // an ack for an earlier boot: its events are gone already
  }
  const auto covered = [&](std::uint32_t seq) {
    if (ack.has_cumulative() && seq <= ack.cumulative_seq()) {
      return true;
    }
    if (ack.selective() != nullptr) {
      for (const wire::SeqRange* range : *ack.selective()) {
        if (seq >= range->first() && seq <= range->last()) {
          return true;
        }
      }
    }
    return false;
  };
  const auto before = ring_.size();
  std::erase_if(ring_, [&](const Held& held) { return covered(held.seq); });
  if (ack.status() == wire::AckStatus::Ok) {
    acked_ += before - ring_.size();
  }
}

void SimDevice::reboot() {
  ring_.clear();
  ++boot_;
  next_seq_ = 0;
  ring_dropped_ = 0;
}

}  // namespace edge::soak
