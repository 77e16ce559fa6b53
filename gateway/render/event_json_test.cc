#include "edge/gateway/event_json.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "edge/gateway/aligned_copy.h"

namespace edge::gateway {
namespace {

nlohmann::json render(const wire::EventFields& f) {
  flatbuffers::FlatBufferBuilder fbb;
  const auto encoded = wire::encode_event(fbb, f);
  const AlignedCopy copy(encoded.value());
  const auto event = wire::verify_event(copy.bytes());
  EXPECT_TRUE(event.ok());
  return event_to_json(*event.value());
}

TEST(EventJson, RendersTheIdTimesReadingAndQuality) {
  wire::EventFields f;
  f.id = {0xA1, 7, 42};
  f.mono_us = 123;
  f.wall_ms = 1763900000000;
  f.sensor = "tmp105";
  f.reading = wire::ReadingValue::temperature(21.5F);
  f.quality = wire::Quality::Estimated;
  const nlohmann::json j = render(f);
  EXPECT_EQ(j["event_id"], "00000000000000a1-7-42");
  EXPECT_EQ(j["device"], "00000000000000a1");
  EXPECT_EQ(j["seq"], 42);
  EXPECT_EQ(j["schema_version"], "1.0");
  EXPECT_EQ(j["wall_ms"], 1763900000000);
  EXPECT_EQ(j["reading"]["type"], "temperature");
  EXPECT_EQ(j["reading"]["celsius"], 21.5);
  EXPECT_EQ(j["quality"], nlohmann::json::array({"estimated"}));
}

TEST(EventJson, LeavesOutAnUnknownWallClockAndNamesUnits) {
  wire::EventFields f;
  f.sensor = "lsm303";
  f.reading = wire::ReadingValue::vector3(0.5F, -0.25F, 1.0F, wire::Unit::Gauss);
  const nlohmann::json j = render(f);
  EXPECT_FALSE(j.contains("wall_ms"));
  EXPECT_EQ(j["reading"]["unit"], "Gauss");
  EXPECT_EQ(j["reading"]["y"], -0.25);
  EXPECT_TRUE(j["quality"].empty());
}

// Found by tests/fuzz/wire_verify_fuzz: a device's sensor name is bytes, not UTF-8, and
// dump() threw nlohmann::json::type_error on it, which the forwarder's json payload did not
// catch (the daemon would have terminated on one bad event).
TEST(EventJson, InvalidUtf8FromADeviceRendersAsReplacementCharactersAndDumpDoesNotThrow) {
  wire::EventFields f;
  f.sensor = "tmp\x86\x92\xcc";  // a lone continuation, then a lead byte cut short
  f.reading = wire::ReadingValue::scalar_value(1.0, wire::Unit::Other, "\xed\xa0\x80mV");
  const nlohmann::json j = render(f);
  std::string text;
  ASSERT_NO_THROW(text = j.dump());
  EXPECT_EQ(j["sensor"], "tmp\uFFFD\uFFFD\uFFFD");
  EXPECT_EQ(j["reading"]["unit_name"], "\uFFFD\uFFFD\uFFFDmV") << "a surrogate is not UTF-8";
}

TEST(EventJson, WellFormedUtf8IsKeptAsItIs) {
  wire::EventFields f;
  f.sensor = "\xc2\xb5T \xe2\x82\xac\xf0\x9f\x8c\xa1";  // "µT €🌡"
  const nlohmann::json j = render(f);
  EXPECT_EQ(j["sensor"], f.sensor);
  EXPECT_NO_THROW((void)j.dump());
}

}  // namespace
}  // namespace edge::gateway
