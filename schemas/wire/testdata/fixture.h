// The values inside the checked-in v1.0 fixtures. make_fixture.cc wrote the fixtures from them
// with schema 1.0; evolution_test.cc reads the files back with today's code and expects them.
// Never change these or the files: they stand for buffers already out in the field.
#pragma once

#include "edge/wire/messages.h"

namespace edge::wire::fixture {

inline EventFields v1_event(std::uint32_t seq = 42) {
  EventFields f;
  f.id = {0x00000000000000A1ULL, 3, seq};
  f.mono_us = 123456789;
  f.wall_ms = 1763900000000;
  f.sensor = "tmp105";
  f.channel = 0;
  f.reading = ReadingValue::temperature(21.5F);
  f.quality = Quality::Estimated;
  f.schema_version = 0x0100;
  return f;
}

inline constexpr const char* kEventFile = "event_v1_0.edev";
inline constexpr const char* kBatchFile = "batch_v1_0.elnk";
inline constexpr std::uint32_t kBatchEvents = 3;
inline constexpr std::uint32_t kBatchRingDropped = 5;

}  // namespace edge::wire::fixture
