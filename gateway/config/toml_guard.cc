#include "toml_guard.h"

#include <cstddef>
#include <string>

namespace edge::gateway::toml_guard {
namespace {

enum class State { kNormal, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };

bool is_non_ascii(char c) {
  return static_cast<unsigned char>(c) >= 0x80U;
}

// The length of the run of `quote` characters at `at`.
std::size_t run_of(std::string_view text, std::size_t at, char quote) {
  std::size_t n = 0;
  while (at + n < text.size() && text[at + n] == quote) {
    ++n;
  }
  return n;
}

// toml++ asks whether the character after a backslash in a """ string is whitespace.
constexpr const char* kNonAsciiEscape = "a backslash before a non-ASCII character (no TOML escape)";

}  // namespace

std::optional<Refusal> check(std::string_view text) {
  State state = State::kNormal;
  std::uint32_t line = 1;
  std::size_t line_start = 0;
  // Outside strings and comments the check follows TOML's structure just far enough to know
  // where toml++ sees a string: a quote opens one where a key or a value starts, never inside a
  // bare value (`-"x"`, `0dds="x"`: toml++ reads those to the next terminator as one bare value,
  // classifying every character on the way, non-ASCII ones included).
  bool key_context = true;  // a key may start here: a line's start, after '{' or ',' in '{}'
  bool in_bare = false;     // inside a bare value, up to whitespace, ',', ']', '}' or '#'
  std::string open;         // the '[' and '{' not yet closed, innermost last
  char last = '\n';         // the last character outside strings, comments and whitespace
  bool line_empty = true;   // no such character yet on this line
  const auto refusal = [&](std::size_t at, const char* message) {
    return Refusal{line, static_cast<std::uint32_t>(at - line_start + 1), message};
  };
  const auto open_string = [&](std::size_t& i, char quote) {
    const std::size_t quotes = run_of(text, i, quote);
    if (quotes >= 3) {
      state = quote == '"' ? State::kMultiBasic : State::kMultiLiteral;
      i += 2;
    } else {
      state = quote == '"' ? State::kBasic : State::kLiteral;
    }
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      line_start = i + 1;
      line_empty = true;
      in_bare = false;
      key_context = open.empty() || open.back() == '{';
      if (state != State::kMultiBasic && state != State::kMultiLiteral) {
        state = State::kNormal;  // comments end here; a one-line string left open is toml++'s error
      }
      continue;
    }
    switch (state) {
      case State::kNormal: {
        if (c == ' ' || c == '\t' || c == '\r') {
          in_bare = false;
          break;
        }
        if (is_non_ascii(c)) {
          return refusal(i, "a non-ASCII character outside a string or comment");
        }
        if (c == '#') {
          state = State::kComment;
          in_bare = false;
          break;
        }
        const bool structural = c == ',' || c == ']' || c == '}';
        if (in_bare && !structural) {
          last = c;  // more of the bare value, quotes included
          break;
        }
        in_bare = false;
        const bool quote = c == '"' || c == '\'';
        if (key_context) {
          if (quote &&
              (line_empty || std::string_view(".[{,").find(last) != std::string_view::npos)) {
            open_string(i, c);
          } else if (c == '=') {
            key_context = false;
          } else if (c == '[') {
            open.push_back(c);  // a table header
          } else if (c == ']' && !open.empty()) {
            open.pop_back();
          }
        } else if (quote) {
          open_string(i, c);
        } else if (c == '[' || c == '{') {
          open.push_back(c);
          key_context = c == '{';
        } else if (c == ']' || c == '}') {
          if (!open.empty()) {
            open.pop_back();
          }
        } else if (c == ',') {
          key_context = !open.empty() && open.back() == '{';
        } else {
          in_bare = true;  // a number, a date, true/false, inf/nan, or toml++'s error
        }
        last = c;
        line_empty = false;
        break;
      }
      case State::kComment: break;
      case State::kBasic:
        if (c == '\\') {
          if (i + 1 < text.size() && is_non_ascii(text[i + 1])) {
            return refusal(i + 1, kNonAsciiEscape);
          }
          ++i;  // an escape: the next byte is never the closing quote
        } else if (c == '"') {
          state = State::kNormal;
        }
        break;
      case State::kLiteral:
        if (c == '\'') {
          state = State::kNormal;
        }
        break;
      case State::kMultiBasic:
      case State::kMultiLiteral: {
        const char quote = state == State::kMultiBasic ? '"' : '\'';
        if (state == State::kMultiBasic && c == '\\') {
          // A line-ending backslash trims the whitespace and line ends that follow it.
          std::size_t j = i + 1;
          while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r')) {
            ++j;
          }
          if (j < text.size() && text[j] == '\n') {
            while (j < text.size() &&
                   (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n')) {
              if (text[j] == '\n') {
                ++line;
                line_start = j + 1;
              }
              ++j;
            }
            if (j < text.size() && is_non_ascii(text[j])) {
              return refusal(j,
                             "a non-ASCII character right after a line-ending backslash in a "
                             "\"\"\" string (put a space or an escape such as \\u00e9 first)");
            }
            i = j - 1;
          } else if (j < text.size() && is_non_ascii(text[j])) {
            return refusal(j, kNonAsciiEscape);
          } else {
            ++i;  // an escape
          }
        } else if (c == quote) {
          // Up to two quotes may stand right before the closing three.
          const std::size_t quotes = run_of(text, i, quote);
          if (quotes >= 3) {
            state = State::kNormal;
            line_empty = false;
            i += (quotes > 5 ? 3 : quotes) - 1;
          } else {
            i += quotes - 1;
          }
        }
        break;
      }
    }
  }
  return std::nullopt;
}

}  // namespace edge::gateway::toml_guard
