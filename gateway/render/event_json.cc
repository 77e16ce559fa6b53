#include "edge/gateway/event_json.h"

#include <array>
#include <string>

#include "edge/gateway/device_hex.h"

namespace edge::gateway {
namespace {

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
        j["unit_name"] = s->unit_name()->str();
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
  j["sensor"] = e.sensor() != nullptr ? e.sensor()->str() : "";
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
