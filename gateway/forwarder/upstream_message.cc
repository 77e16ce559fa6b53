#include "upstream_message.h"

#include <nlohmann/json.hpp>

#include "edge/wire/messages.h"

namespace edge::gateway {

bool add_to_batch(Outgoing& out, const StoredEvent& event, std::uint16_t schema_version,
                  std::string_view sensor, std::size_t max_bytes) {
  const std::size_t grown = out.bytes + event.record.payload.size() + kBatchPerEventOverheadBytes;
  if (!out.keys.empty() && grown > max_bytes) {
    return false;
  }
  if (out.keys.empty()) {
    out.device = event.record.device;
    out.first_id = event.record.id;
    out.sensor = std::string(sensor);
    out.schema_version = schema_version;
  }
  out.bytes = grown;
  out.last_id = event.record.id;
  out.keys.push_back(event.key);
  out.events.emplace_back(event.record.payload.begin(), event.record.payload.end());
  return true;
}

std::span<const std::uint8_t> encode_upstream_batch(flatbuffers::FlatBufferBuilder& fbb,
                                                    const Outgoing& out) {
  fbb.Clear();
  std::vector<flatbuffers::Offset<wire::EventBlob>> blobs;
  blobs.reserve(out.events.size());
  for (const std::vector<std::uint8_t>& event : out.events) {
    // A nested Event holds 8-byte fields: keep its first byte 8-aligned within the message.
    fbb.ForceVectorAlignment(event.size(), sizeof(std::uint8_t), 8);
    blobs.push_back(wire::CreateEventBlob(fbb, fbb.CreateVector(event.data(), event.size())));
  }
  const auto batch = wire::CreateEventBatch(fbb, out.device, fbb.CreateVector(blobs), 0);
  wire::FinishLinkMessageBuffer(
      fbb,
      wire::CreateLinkMessage(fbb, wire::kSchemaVersion, wire::Body::EventBatch, batch.Union()));
  return {fbb.GetBufferPointer(), fbb.GetSize()};
}

std::string status_json(const StatusFigures& f) {
  nlohmann::json j = {{"state", f.state},
                      {"gateway", f.gateway_id},
                      {"wall_ms", f.wall_ms},
                      {"backlog", f.backlog},
                      {"buffer_bytes", f.buffer_bytes},
                      {"buffer_max_bytes", f.buffer_max_bytes},
                      {"in_flight", f.in_flight},
                      {"devices", f.devices}};
  const auto counter = [&f](const std::string& name) {
    const auto found = f.counters.find(name);
    return found == f.counters.end() ? std::uint64_t{0} : found->second;
  };
  std::uint64_t refused = 0;
  std::uint64_t rejected = 0;
  nlohmann::json dropped = nlohmann::json::object();
  for (const auto& [name, value] : f.counters) {
    if (name.starts_with("refused.") || name.starts_with("frame.")) {
      refused += value;
    } else if (name.starts_with("rejected.")) {
      rejected += value;
    }
  }
  dropped["oldest_evicted"] = counter("dropped_oldest");
  dropped["device_ring"] = counter("ring_dropped");
  dropped["rejected_upstream"] = rejected;
  dropped["expired"] = counter("expired");
  j["forwarded"] = counter("forwarded");
  j["dropped"] = dropped;
  j["duplicates"] = counter("duplicates");
  j["refused_frames"] = refused;
  j["gaps"] = counter("gaps");
  j["counters"] = f.counters;
  if (f.outlook) {
    add_outlook(j, *f.outlook);  // high_water_bytes, full, oldest_age_s, ingest_rate, ...
  }
  return j.dump();
}

}  // namespace edge::gateway
