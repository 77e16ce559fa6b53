#include "fake_gateway.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <stdexcept>
#include <utility>

#include "injections.h"

namespace edge::devsim::testing {

namespace {

Message refusal(std::string kind) {
  Message m;
  m.kind = std::move(kind);
  return m;
}

}  // namespace

std::vector<std::uint32_t> Message::seqs() const {
  std::vector<std::uint32_t> out;
  for (const EventId& id : ids) {
    out.push_back(id.seq);
  }
  return out;
}

std::vector<Message> FakeGateway::read_available() {
  std::vector<Message> out;
  std::array<std::uint8_t, 4096> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd_, buffer.data(), buffer.size());
    if (n > 0) {
      decoder_.feed(
          std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(n)),
          [&](std::span<const std::uint8_t> payload) { on_payload(payload, out); },
          [&](link::FrameError e) {
            out.push_back(refusal(std::string("frame:") + link::to_string(e)));
          });
      continue;
    }
    if (n == 0) {
      eof_ = true;
    } else if (errno == EINTR) {
      continue;
    }
    return out;
  }
}

std::vector<Message> FakeGateway::read_at_least(std::size_t n, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  std::vector<Message> out;
  while (out.size() < n && !eof_ && std::chrono::steady_clock::now() < until) {
    pollfd p = {fd_, POLLIN, 0};
    ::poll(&p, 1, 10);
    for (Message& m : read_available()) {
      out.push_back(std::move(m));
    }
  }
  return out;
}

void FakeGateway::on_payload(std::span<const std::uint8_t> payload, std::vector<Message>& out) {
  const auto verified = wire::verify_link_message(payload);
  if (!verified.ok()) {
    out.push_back(refusal(std::string("wire:") + wire::to_string(verified.error())));
    return;
  }
  const wire::LinkMessage& message = *verified.value();
  Message m;
  switch (message.body_type()) {
    case wire::Body::Hello: {
      const wire::Hello& h = *message.body_as_Hello();
      m.kind = "hello";
      m.device = h.device();
      m.boot = h.boot();
      m.schema_version = h.schema_version();
      m.firmware_version = h.firmware_version() != nullptr ? h.firmware_version()->str() : "";
      m.board = h.board() != nullptr ? h.board()->str() : "";
      m.ring_capacity = h.ring_capacity();
      break;
    }
    case wire::Body::EventBatch: {
      const wire::EventBatch& b = *message.body_as_EventBatch();
      m.kind = "batch";
      m.device = b.device();
      m.ring_dropped = b.ring_dropped();
      if (b.events() != nullptr) {
        for (const wire::EventBlob* blob : *b.events()) {
          const auto event = wire::verify_event(wire::blob_bytes(*blob));
          if (!event.ok()) {
            throw std::runtime_error(std::string("event: ") + wire::to_string(event.error()));
          }
          const wire::Event& e = *event.value();
          m.ids.push_back(wire::event_id_of(e));
          m.sensors.push_back(e.sensor() != nullptr ? e.sensor()->str() : "");
          const auto* t = e.reading_as_Temperature();
          m.celsius.push_back(t != nullptr ? t->celsius() : -1000.0F);
        }
      }
      break;
    }
    case wire::Body::Ack: m.kind = "ack"; break;
    case wire::Body::NONE: m.kind = "none"; break;
  }
  out.push_back(std::move(m));
}

void FakeGateway::send_ack(const wire::AckFields& fields) {
  flatbuffers::FlatBufferBuilder fbb(wire::kLinkBuilderSize);
  const auto encoded = wire::encode_ack(fbb, fields);
  if (!encoded.ok()) {
    throw std::runtime_error("encode_ack");
  }
  const Bytes frame = frame_of(encoded.value());
  std::size_t done = 0;
  while (done < frame.size()) {
    const ssize_t n = ::write(fd_, frame.data() + done, frame.size() - done);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;
    }
    if (n < 0) {
      return;  // the simulator is gone; tests notice through what they read
    }
    done += static_cast<std::size_t>(n);
  }
}

void FakeGateway::ack_ok(std::uint64_t device, std::uint32_t boot,
                         const std::vector<std::uint32_t>& seqs) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> runs;
  for (const std::uint32_t seq : seqs) {
    if (!runs.empty() && runs.back().second + 1 == seq) {
      runs.back().second = seq;
    } else {
      runs.emplace_back(seq, seq);
    }
  }
  std::vector<wire::SeqRange> ranges;
  ranges.reserve(runs.size());
  for (const auto& [first, last] : runs) {
    ranges.emplace_back(first, last);
  }
  for (std::size_t at = 0; at < ranges.size(); at += wire::kMaxSelectiveRanges) {
    wire::AckFields ack;
    ack.device = device;
    ack.boot = boot;
    ack.status = wire::AckStatus::Ok;
    ack.selective = std::span<const wire::SeqRange>(ranges).subspan(
        at, std::min(wire::kMaxSelectiveRanges, ranges.size() - at));
    send_ack(ack);
  }
}

}  // namespace edge::devsim::testing
