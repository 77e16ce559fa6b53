// A lexical check of config text before toml++ sees it, for inputs on which toml++ 3.3.0 (the
// version Debian 12 ships) has undefined behaviour instead of reporting a syntax error. Private
// to gateway/config.
//
// toml++ classifies a non-ASCII character met outside a string or comment (and right after a
// backslash, or after a line-ending backslash, in a """ string) with a lookup that reaches
// __builtin_unreachable() for most code points from U+00A1 on (marzer/tomlplusplus#190, #295;
// fixed upstream by #305; found here by tests/fuzz/gateway_config_fuzz). TOML allows no
// non-ASCII character outside strings and comments, nor an escape that starts with one, so
// refusing them loses no valid config; the line-continuation case is refused with a message
// saying how to write it instead.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edge::gateway::toml_guard {

struct Refusal {
  std::uint32_t line = 0;    // 1-based
  std::uint32_t column = 0;  // 1-based, in bytes
  std::string message;
};

/// nullopt when toml++ may parse `text`; else where and why not.
std::optional<Refusal> check(std::string_view text);

}  // namespace edge::gateway::toml_guard
