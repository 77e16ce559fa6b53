// What the forwarder publishes: one buffered event (flatbuffer or json payload) or a batch of
// consecutive events of one device (a LinkMessage{EventBatch}), and the gateway's status.
// Private to gateway/forwarder.
#pragma once

#include <cstdint>
#include <flatbuffers/flatbuffers.h>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "edge/gateway/buffer.h"
#include "edge/gateway/config.h"
#include "edge/gateway/outlook.h"

namespace edge::gateway {

inline constexpr std::string_view kEventContentType = "application/x-edge-event+flatbuffers";
inline constexpr std::string_view kBatchContentType = "application/x-edge-batch+flatbuffers";
inline constexpr std::string_view kJsonContentType = "application/json";

// FlatBuffers bytes a batch adds around its events, at most: the LinkMessage, EventBatch and
// vector headers, and per event its blob table, length and alignment padding.
inline constexpr std::size_t kBatchOverheadBytes = 96;
inline constexpr std::size_t kBatchPerEventOverheadBytes = 32;

/// One message being assembled: the buffer keys it carries (deleted together on its PUBACK),
/// the device, and the first and last event IDs for the v5 user properties.
struct Outgoing {
  std::uint64_t device = 0;
  std::vector<std::uint64_t> keys;
  std::vector<std::vector<std::uint8_t>> events;  // the stored Event bytes, in buffer order
  std::size_t bytes = kBatchOverheadBytes;        // the batch's encoded size, at most
  std::string sensor;                             // of the first event
  EventId first_id;
  EventId last_id;
  std::uint16_t schema_version = 0;
};

/// Appends the event to `out` when it fits within `max_bytes` (a first event always fits).
/// Returns false, leaving `out` unchanged, when it does not.
bool add_to_batch(Outgoing& out, const StoredEvent& event, std::uint16_t schema_version,
                  std::string_view sensor, std::size_t max_bytes);

/// Encodes `out` as a LinkMessage{EventBatch} (identifier ELNK, ring_dropped 0); the result
/// lives in `fbb`. Each nested Event starts 8-aligned, as verify_upstream_batch requires.
std::span<const std::uint8_t> encode_upstream_batch(flatbuffers::FlatBufferBuilder& fbb,
                                                    const Outgoing& out);

/// The gateway's status as JSON: {"state":"online"|"offline","gateway":..,"backlog":..,...}.
struct StatusFigures {
  std::string_view state;
  std::string_view gateway_id;
  std::uint64_t backlog = 0;
  std::uint64_t buffer_bytes = 0;
  std::uint64_t buffer_max_bytes = 0;
  std::uint32_t in_flight = 0;
  std::uint64_t devices = 0;
  std::map<std::string, std::uint64_t> counters{};  // the buffer's persisted counters
  std::uint64_t wall_ms = 0;
  std::optional<BufferOutlook> outlook{};  // age, rates, offline headroom (edge/gateway/outlook.h)
};
std::string status_json(const StatusFigures& figures);

}  // namespace edge::gateway
