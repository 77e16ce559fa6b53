#include "edge/gateway/topic_template.h"

#include <algorithm>
#include <array>
#include <utility>

namespace edge::gateway {

std::optional<TopicTemplate> TopicTemplate::compile(std::string_view text, std::string* why) {
  static constexpr std::array<std::pair<std::string_view, Part>, 4> kNames{{
      {"prefix", Part::kPrefix},
      {"gateway", Part::kGateway},
      {"device", Part::kDevice},
      {"sensor", Part::kSensor},
  }};
  TopicTemplate out;
  std::string literal;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{') {
      literal += text[i];
      continue;
    }
    const std::size_t close = text.find('}', i);
    if (close == std::string_view::npos) {
      *why = "unclosed '{' at offset " + std::to_string(i);
      return std::nullopt;
    }
    const std::string_view name = text.substr(i + 1, close - i - 1);
    const auto* found = std::find_if(kNames.begin(), kNames.end(),
                                     [name](const auto& entry) { return entry.first == name; });
    if (found == kNames.end()) {
      *why = "unknown placeholder {" + std::string(name) +
             "} (expected {prefix}, {gateway}, {device} or {sensor})";
      return std::nullopt;
    }
    if (!literal.empty()) {
      out.pieces_.push_back({Part::kLiteral, std::move(literal)});
      literal.clear();
    }
    out.pieces_.push_back({found->second, {}});
    i = close;
  }
  if (!literal.empty()) {
    out.pieces_.push_back({Part::kLiteral, std::move(literal)});
  }
  return out;
}

std::string TopicTemplate::render(std::string_view prefix, std::string_view gateway,
                                  std::string_view device, std::string_view sensor) const {
  std::string topic;
  for (const Piece& piece : pieces_) {
    switch (piece.part) {
      case Part::kLiteral: topic += piece.literal; break;
      case Part::kPrefix: topic += prefix; break;
      case Part::kGateway: topic += gateway; break;
      case Part::kDevice: topic += device; break;
      case Part::kSensor: topic += sensor; break;
    }
  }
  return topic;
}

std::string topic_level(std::string_view name) {
  if (name.empty()) {
    return "unknown";
  }
  std::string level(name);
  for (char& c : level) {
    if (c == '/' || c == '+' || c == '#' || static_cast<unsigned char>(c) < 0x20U) {
      c = '_';
    }
  }
  return level;
}

}  // namespace edge::gateway
