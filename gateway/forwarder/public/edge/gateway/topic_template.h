// The upstream topic template ("{prefix}/{gateway}/{device}/{sensor}"), compiled once at start
// and rendered per message without re-parsing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edge::gateway {

class TopicTemplate {
 public:
  /// Compiles `text`. Placeholders: {prefix} {gateway} {device} {sensor}. Returns nullopt and
  /// sets *why on an unknown placeholder or an unclosed '{' (the config parser checks the same
  /// rules first and names the key; this is the forwarder's own guard).
  static std::optional<TopicTemplate> compile(std::string_view text, std::string* why);

  /// The topic for one message. `prefix` and `gateway` are fixed per gateway; `device` is the
  /// 16-hex-digit device ID, `sensor` the event's sensor name ("batch" for batch messages).
  [[nodiscard]] std::string render(std::string_view prefix, std::string_view gateway,
                                   std::string_view device, std::string_view sensor) const;

 private:
  enum class Part { kLiteral, kPrefix, kGateway, kDevice, kSensor };
  struct Piece {
    Part part;
    std::string literal;
  };
  std::vector<Piece> pieces_;
};

/// A sensor name made safe for one topic level: '/', '+', '#' and control bytes become '_',
/// and an empty name becomes "unknown" (devices name sensors; they must not add topic levels).
std::string topic_level(std::string_view name);

}  // namespace edge::gateway
