#include "edge/gateway/event_json.h"

#include <array>
#include <string>
#include <string_view>

#include "edge/gateway/device_hex.h"

namespace edge::gateway {
namespace {

// The length of the well-formed UTF-8 sequence `s` starts with (Unicode 15, table 3-7), or 0.
std::size_t utf8_sequence(std::string_view s) {
  const auto byte = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80U) {
    return 1;
  }
  std::size_t length = 0;
  unsigned char low = 0x80U;  // the second byte's range; later bytes are 80..BF
  unsigned char high = 0xBFU;
  if (lead >= 0xC2U && lead <= 0xDFU) {
    length = 2;
  } else if (lead >= 0xE0U && lead <= 0xEFU) {
    length = 3;
    low = lead == 0xE0U ? 0xA0U : 0x80U;   // no overlong forms
    high = lead == 0xEDU ? 0x9FU : 0xBFU;  // no surrogates
  } else if (lead >= 0xF0U && lead <= 0xF4U) {
    length = 4;
    low = lead == 0xF0U ? 0x90U : 0x80U;   // no overlong forms
    high = lead == 0xF4U ? 0x8FU : 0xBFU;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < length || byte(1) < low || byte(1) > high) {
    return 0;
  }
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80U || byte(i) > 0xBFU) {
      return 0;
    }
  }
  return length;
}

// A device's string as JSON text: JSON is UTF-8, and nlohmann's dump() throws on anything else
// (the forwarder's json payload calls it on every event), so each byte that does not start a
// well-formed UTF-8 sequence becomes U+FFFD. Valid text is unchanged.
std::string utf8_text(std::string_view bytes) {
  std::string text;
  text.reserve(bytes.size());
  while (!bytes.empty()) {
    const std::size_t n = utf8_sequence(bytes);
    text.append(n == 0 ? std::string_view("\xEF\xBF\xBD") : bytes.substr(0, n));
    bytes.remove_prefix(n == 0 ? 1 : n);
  }
  return text;
}

std::string utf8_text(const flatbuffers::String* s) {
  return s == nullptr ? std::string() : utf8_text(std::string_view(s->c_str(), s->size()));
}

const char* unit_name(wire::Unit unit) {
  const char* name = wire::EnumNameUnit(unit);
  return name[0] == '\0' ? "unknown" : name;
}

nlohmann::json reading_json(const wire::Event& e) {
  switch (e.reading_type()) {
    case wire::Reading::Temperature:
      return {{"type", "temperature"}, {"celsius", e.reading_as_Temperature()->celsius()}};
    case wire::Reading::Humidity:
      return {{"type", "humidity"}, {"percent_rh", e.reading_as_Humidity()->percent_rh()}};
    case wire::Reading::Pressure:
      return {{"type", "pressure"}, {"pascal", e.reading_as_Pressure()->pascal()}};
    case wire::Reading::Vector3: {
      const auto* v = e.reading_as_Vector3();
      return {{"type", "vector3"},
              {"x", v->x()},
              {"y", v->y()},
              {"z", v->z()},
              {"unit", unit_name(v->unit())}};
    }
    case wire::Reading::Scalar: {
      const auto* s = e.reading_as_Scalar();
      nlohmann::json j = {
          {"type", "scalar"}, {"value", s->value()}, {"unit", unit_name(s->unit())}};
      if (s->unit_name() != nullptr) {
        j["unit_name"] = utf8_text(s->unit_name());
      }
      return j;
    }
    case wire::Reading::NONE: return {{"type", "none"}};
  }
  return {{"type", "unknown"}, {"code", static_cast<int>(e.reading_type())}};
}

}  // namespace

nlohmann::json event_to_json(const wire::Event& e) {
  const EventId id = wire::event_id_of(e);
  std::array<char, kEventIdTextMax> text{};
  const auto n = format_event_id(id, text);
  nlohmann::json j;
  j["event_id"] = std::string(text.data(), n.ok() ? n.value() : 0);
  j["device"] = device_hex(id.device);
  j["boot"] = id.boot;
  j["seq"] = id.seq;
  j["schema_version"] = std::to_string(wire::schema_major(e.schema_version())) + "." +
                        std::to_string(wire::schema_minor(e.schema_version()));
  j["mono_us"] = e.mono_us();
  if (e.wall_ms().has_value()) {
    j["wall_ms"] = *e.wall_ms();
  }
  j["sensor"] = utf8_text(e.sensor());
  j["channel"] = e.channel();
  j["reading"] = reading_json(e);
  nlohmann::json quality = nlohmann::json::array();
  const auto q = static_cast<std::uint8_t>(e.quality());
  for (const auto& [bit, name] : {std::pair{wire::Quality::Stale, "stale"},
                                  std::pair{wire::Quality::OutOfRange, "out_of_range"},
                                  std::pair{wire::Quality::SensorError, "sensor_error"},
                                  std::pair{wire::Quality::Estimated, "estimated"}}) {
    if ((q & static_cast<std::uint8_t>(bit)) != 0U) {
      quality.push_back(name);
    }
  }
  j["quality"] = quality;
  return j;
}

}  // namespace edge::gateway
