// Writes the binary seed corpora of link_frame_fuzz and wire_verify_fuzz with the real encoders:
// valid messages of every kind, and a few near-valid ones (a flipped bit, a cut-off end, another
// schema major). Run by hand when the wire format changes; the output is checked in.
//
//   cmake --build --preset fuzz --target edge_fuzz_make_seeds
//   build/fuzz/tests/fuzz/edge_fuzz_make_seeds tests/fuzz
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "edge/link/frame.h"
#include "edge/wire/messages.h"

namespace {

using Bytes = std::vector<std::uint8_t>;
namespace wire = edge::wire;

std::string g_root;

void write(const std::string& target, const std::string& name, std::span<const std::uint8_t> b) {
  const std::string path = g_root + "/corpus/" + target + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(b.data(), 1, b.size(), f) != b.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "make_seeds: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

Bytes copy(std::span<const std::uint8_t> b) {
  return {b.begin(), b.end()};
}

Bytes frame(std::span<const std::uint8_t> payload) {
  Bytes out(edge::link::max_encoded_frame_size(payload.size()));
  const auto n = edge::link::encode_frame(payload, out);
  if (!n.ok()) {
    std::fprintf(stderr, "make_seeds: encode_frame failed\n");
    std::exit(1);
  }
  out.resize(n.value());
  return out;
}

Bytes event(const wire::EventFields& fields) {
  flatbuffers::FlatBufferBuilder fbb;
  return copy(wire::encode_event(fbb, fields).value());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <tests/fuzz folder>\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  const std::string lf = "link_frame_fuzz";
  const std::string wv = "wire_verify_fuzz";

  // Events of every reading kind.
  wire::EventFields f;
  f.id = {0xA1, 3, 42};
  f.mono_us = 123456;
  f.sensor = "tmp105";
  f.reading = wire::ReadingValue::temperature(21.5F);
  const Bytes temperature = event(f);
  f.wall_ms = 1763900000000;
  f.sensor = "sht3x";
  f.reading = wire::ReadingValue::humidity(45.0F);
  f.quality = wire::Quality::Estimated | wire::Quality::Stale;
  const Bytes humidity = event(f);
  f.sensor = "dps310";
  f.reading = wire::ReadingValue::pressure(101325.0F);
  f.quality = wire::Quality::NONE;
  const Bytes pressure = event(f);
  f.sensor = "lsm303dlhc";
  f.channel = 1;
  f.reading = wire::ReadingValue::vector3(0.1F, -0.2F, 0.3F, wire::Unit::Gauss);
  const Bytes vector3 = event(f);
  f.sensor = "adc.1";
  f.reading = wire::ReadingValue::scalar_value(3.3, wire::Unit::Other, "mV");
  const Bytes scalar = event(f);
  f.schema_version = 0x0200;
  const Bytes next_major = event(f);

  write(wv, "event_temperature", temperature);
  write(wv, "event_humidity_wall_quality", humidity);
  write(wv, "event_pressure", pressure);
  write(wv, "event_vector3", vector3);
  write(wv, "event_scalar_unit_name", scalar);
  write(wv, "event_schema_major_2", next_major);
  write(wv, "event_cut_off", std::span(temperature).first(temperature.size() - 9));

  // Link messages.
  flatbuffers::FlatBufferBuilder fbb;
  const Bytes hello = copy(wire::encode_hello(fbb, {0xA1, 3, "0.1.0", "lm3s6965evb", 64}).value());
  const std::array<std::span<const std::uint8_t>, 3> three{temperature, pressure, vector3};
  const Bytes batch = copy(wire::encode_batch(fbb, 0xA1, three, 2).value());
  const std::array<std::span<const std::uint8_t>, 1> one{scalar};
  const Bytes batch_other_device = copy(wire::encode_batch(fbb, 0xB2, one, 0).value());
  const std::array<wire::SeqRange, 2> ranges{wire::SeqRange(1, 5), wire::SeqRange(9, 9)};
  const Bytes ack =
      copy(wire::encode_ack(fbb, {0xA1, 3, wire::AckStatus::Ok, 42, ranges, 0}).value());
  const Bytes busy =
      copy(wire::encode_ack(fbb, {0xA1, 3, wire::AckStatus::Busy, {}, {}, 1000}).value());

  write(wv, "link_hello", hello);
  write(wv, "link_batch_3", batch);
  write(wv, "link_batch_other_device", batch_other_device);
  write(wv, "link_ack_selective", ack);
  write(wv, "link_ack_busy", busy);

  // Frames of those messages, alone and in a stream; then near misses.
  write(lf, "frame_hello", frame(hello));
  write(lf, "frame_batch_3", frame(batch));
  write(lf, "frame_ack", frame(ack));
  Bytes stream{0x00};
  for (const Bytes& m : {hello, batch, busy}) {
    const Bytes fr = frame(m);
    stream.insert(stream.end(), fr.begin(), fr.end());
  }
  write(lf, "stream_flush_hello_batch_ack", stream);
  Bytes flipped = frame(batch);
  flipped[flipped.size() / 2] ^= 0x10U;
  write(lf, "frame_bad_crc", flipped);
  const Bytes whole = frame(hello);
  write(lf, "frame_cut_off", std::span(whole).first(whole.size() / 2));
  // A payload with a run of 300 non-zero bytes (a full COBS block) and zeros at the end.
  Bytes runs(300, 0x5A);
  runs.insert(runs.end(), {0x00, 0x01, 0x00, 0x00});
  write(lf, "frame_full_cobs_block", frame(runs));
  // The largest payload, and one past it in raw COBS (refused as oversize).
  Bytes largest(edge::link::kMaxFramePayload);
  for (std::size_t i = 0; i < largest.size(); ++i) {
    largest[i] = static_cast<std::uint8_t>(i % 7 == 0 ? 0 : i);
  }
  write(lf, "frame_max_payload", frame(largest));
  Bytes too_long(edge::link::cobs_max_encoded_size(edge::link::kMaxFramePayload + 4) + 1, 0x01);
  too_long.push_back(0x00);
  write(lf, "frame_oversize", too_long);
  // A payload above the bound whose encoding still fits the decoder (zeros cost one byte each).
  const Bytes zeros(edge::link::kMaxFramePayload + 8, 0x00);
  Bytes above(edge::link::max_encoded_frame_size(zeros.size()));
  above.resize(edge::link::encode_frame(zeros, above, 2 * edge::link::kMaxFramePayload).value());
  write(lf, "regression_payload_above_bound", above);
  std::printf("make_seeds: wrote corpus/%s and corpus/%s under %s\n", lf.c_str(), wv.c_str(),
              g_root.c_str());
  return 0;
}
