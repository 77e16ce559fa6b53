// Test helper: the gateway's end of a link, scripted by a test. Decodes what the simulator sends
// (frames, then LinkMessages, then nested Events) and writes Acks back.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "edge/event_id/event_id.h"
#include "edge/link/frame.h"
#include "edge/wire/messages.h"

namespace edge::devsim::testing {

struct Message {
  // "hello", "batch", "ack", or the refusal: "frame:<FrameError>" / "wire:<WireError>".
  std::string kind;
  // hello
  std::uint64_t device = 0;
  std::uint32_t boot = 0;
  std::uint16_t schema_version = 0;
  std::string firmware_version;
  std::string board;
  std::uint32_t ring_capacity = 0;
  // batch (device above too)
  std::vector<EventId> ids;
  std::vector<float> celsius;
  std::vector<std::string> sensors;
  std::uint32_t ring_dropped = 0;

  [[nodiscard]] std::vector<std::uint32_t> seqs() const;
};

class FakeGateway {
 public:
  /// `fd` must be non-blocking; not owned.
  explicit FakeGateway(int fd) : fd_(fd) {}

  /// Everything the peer has written so far, decoded in order.
  std::vector<Message> read_available();
  /// Reads until at least `n` messages arrived or `timeout` passed.
  std::vector<Message> read_at_least(std::size_t n, std::chrono::milliseconds timeout);
  /// True once the peer closed its end.
  [[nodiscard]] bool eof() const { return eof_; }

  void send_ack(const wire::AckFields& fields);
  /// Acks each given seq Ok, one selective range per run of consecutive seqs.
  void ack_ok(std::uint64_t device, std::uint32_t boot, const std::vector<std::uint32_t>& seqs);

 private:
  void on_payload(std::span<const std::uint8_t> payload, std::vector<Message>& out);

  int fd_;
  bool eof_ = false;
  link::FrameDecoderBuffer<> decoder_;
};

}  // namespace edge::devsim::testing
