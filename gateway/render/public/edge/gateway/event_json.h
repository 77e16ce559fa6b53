// The JSON rendering of an event, for people and tools (edgectl, the forwarder's json payload).
//
//   {"event_id":"00000000000000a1-7-42","device":"00000000000000a1","boot":7,"seq":42,
//    "schema_version":"1.0","mono_us":123,"wall_ms":1763900000000,"sensor":"tmp105",
//    "channel":0,"reading":{"type":"temperature","celsius":21.5},"quality":["estimated"]}
//
// wall_ms is present only when the device knew the time; quality is [] when the reading is good.
// A reading type this build does not know renders as {"type":"unknown","code":N}. Strings are
// the device's bytes; any byte that does not start well-formed UTF-8 becomes U+FFFD, so the
// result always serialises (nlohmann's dump() throws on invalid UTF-8).
#pragma once

#include <nlohmann/json.hpp>

#include "edge/wire/messages.h"

namespace edge::gateway {

/// Renders a verified Event.
nlohmann::json event_to_json(const wire::Event& event);

}  // namespace edge::gateway
