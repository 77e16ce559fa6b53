// edge-bench-sizing: disk bytes one buffered event takes, per reading type (docs/sizing.md).
//
//   edge-bench-sizing --dir DIR [--events N] [--devices D]
//
// For each reading type of schemas/event.fbs, opens a fresh gateway Buffer (the daemon's own
// LMDB code) in DIR/<type>, stores N events from D devices interleaved, 500 per commit, with
// realistic fields (a device's sensor name, CLOCK_MONOTONIC-sized mono_us, a wall time), and
// prints one JSON line per type: the FlatBuffers event's size, the buffer's used bytes per
// event (pages held, what the full policy counts) and data.mdb's allocated bytes per event.
// Exit 0, or 1 when the buffer refused something (the figures would be wrong).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <flatbuffers/flatbuffers.h>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <variant>

#include "edge/gateway/buffer.h"
#include "edge/wire/messages.h"

namespace {

using edge::gateway::Buffer;
using edge::gateway::BufferError;
using edge::gateway::BufferOptions;
using edge::gateway::BufferStats;
using edge::gateway::Disposition;
namespace wire = edge::wire;

struct Kind {
  const char* name;
  const char* sensor;
  wire::ReadingValue (*reading)(std::uint32_t seq);
};

float jitter(std::uint32_t seq) {
  return static_cast<float>(seq % 100) / 10.0F;
}

constexpr Kind kKinds[] = {
    {"temperature", "tmp105",
     [](std::uint32_t s) { return wire::ReadingValue::temperature(20.0F + jitter(s)); }},
    {"humidity", "sht3x",
     [](std::uint32_t s) { return wire::ReadingValue::humidity(40.0F + jitter(s)); }},
    {"pressure", "bme280",
     [](std::uint32_t s) { return wire::ReadingValue::pressure(101'325.0F + jitter(s)); }},
    {"vector3", "lsm303dlhc",
     [](std::uint32_t s) {
       return wire::ReadingValue::vector3(0.01F + jitter(s), -0.02F, 9.81F,
                                          wire::Unit::MetersPerSecondSquared);
     }},
    {"scalar", "adc0",
     [](std::uint32_t s) {
       return wire::ReadingValue::scalar_value(3.3 + static_cast<double>(jitter(s)),
                                               wire::Unit::Volt);
     }},
};

int measure(const Kind& kind, const std::string& root, std::uint32_t events,
            std::uint32_t devices) {
  const std::string dir = root + "/" + kind.name;
  BufferOptions options;
  options.dir = dir;
  options.max_bytes = 4ULL << 30U;
  options.max_devices = devices;
  auto opened = Buffer::open(options);
  if (auto* error = std::get_if<BufferError>(&opened)) {
    std::fprintf(stderr, "edge-bench-sizing: %s\n", error->message.c_str());
    return 1;
  }
  Buffer& buffer = *std::get<std::unique_ptr<Buffer>>(opened);
  flatbuffers::FlatBufferBuilder fbb(wire::kEventBuilderSize);
  std::uint64_t payload_bytes = 0;
  const std::uint64_t wall_us = 1'795'000'000'000'000ULL;  // late 2026
  for (std::uint32_t i = 0; i < events; ++i) {
    if (i % 500 == 0 && buffer.begin().has_value()) {
      return 1;
    }
    const std::uint32_t seq = i / devices;
    wire::EventFields fields;
    fields.id = {0x0123'4567'0000'0000ULL + i % devices, 7, seq};
    fields.mono_us = 86'400'000'000ULL + std::uint64_t{seq} * 1'000'000U;
    fields.wall_ms = static_cast<std::int64_t>(wall_us / 1000U + seq * 1000ULL);
    fields.sensor = kind.sensor;
    fields.reading = kind.reading(seq);
    const auto bytes = wire::encode_event(fbb, fields);
    if (!bytes.ok()) {
      std::fprintf(stderr, "edge-bench-sizing: %s: encode failed\n", kind.name);
      return 1;
    }
    payload_bytes += bytes.value().size();
    if (buffer.add_event(fields.id, bytes.value(), wall_us + i) != Disposition::kStored) {
      std::fprintf(stderr, "edge-bench-sizing: %s: event %u not stored\n", kind.name, i);
      return 1;
    }
    if ((i + 1) % 500 == 0 || i + 1 == events) {
      if (auto error = buffer.commit()) {
        std::fprintf(stderr, "edge-bench-sizing: %s\n", error->message.c_str());
        return 1;
      }
    }
  }
  const auto stats = buffer.stats();
  if (!std::holds_alternative<BufferStats>(stats)) {
    return 1;
  }
  const BufferStats& s = std::get<BufferStats>(stats);
  struct stat st {};
  const std::string data = dir + "/data.mdb";
  const double file_bytes =
      ::stat(data.c_str(), &st) == 0 ? static_cast<double>(st.st_blocks) * 512.0 : 0.0;
  const double n = events;
  std::printf(
      "{\"reading\":\"%s\",\"sensor\":\"%s\",\"events\":%u,\"event_bytes\":%.1f,"
      "\"buffer_bytes_per_event\":%.1f,\"file_bytes_per_event\":%.1f}\n",
      kind.name, kind.sensor, events, static_cast<double>(payload_bytes) / n,
      static_cast<double>(s.used_bytes) / n, file_bytes / n);
  return s.events == events ? 0 : 1;
}

}  // namespace

namespace {

int sizing_main(int argc, char** argv) {
  std::string dir;
  std::uint32_t events = 100'000;
  std::uint32_t devices = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--dir") {
      dir = argv[i + 1];
    } else if (flag == "--events") {
      events = static_cast<std::uint32_t>(std::strtoul(argv[i + 1], nullptr, 10));
    } else if (flag == "--devices") {
      devices = static_cast<std::uint32_t>(std::strtoul(argv[i + 1], nullptr, 10));
    }
  }
  if (dir.empty() || events == 0 || devices == 0) {
    std::fprintf(stderr, "usage: edge-bench-sizing --dir DIR [--events N > 0] [--devices D > 0]\n");
    return 2;
  }
  int status = 0;
  for (const Kind& kind : kKinds) {
    status |= measure(kind, dir, events, devices);
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return sizing_main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edge-bench-sizing: %s\n", e.what());
    return 1;
  }
}
