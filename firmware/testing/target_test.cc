#include "edge/testing/target_test.h"

#include <array>
#include <cstddef>

#include "edge/platform/platform.h"

namespace edge::testing {
namespace {

int g_failures_in_test = 0;

// Appends `text` to `line` at `pos`, truncating at the buffer's end; returns the new position.
std::size_t append(std::span<char> line, std::size_t pos, const char* text) {
  while (*text != '\0' && pos + 1 < line.size()) {
    line[pos++] = *text++;
  }
  line[pos] = '\0';
  return pos;
}

std::size_t append_number(std::span<char> line, std::size_t pos, unsigned value) {
  std::array<char, 11> digits{};
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10U);
    value /= 10U;
  } while (value != 0U);
  while (n > 0 && pos + 1 < line.size()) {
    line[pos++] = digits[--n];
  }
  line[pos] = '\0';
  return pos;
}

void log_line(const char* a, const char* b = "") {
  std::array<char, 160> line{};
  append(line, append(line, 0, a), b);
  platform::test_log(line.data());
}

}  // namespace

void fail(const char* expression, const char* file, int line_number) {
  ++g_failures_in_test;
  std::array<char, 240> line{};
  std::size_t pos = append(line, 0, "  expectation failed: ");
  pos = append(line, pos, expression);
  pos = append(line, pos, " at ");
  pos = append(line, pos, file);
  pos = append(line, pos, ":");
  append_number(line, pos, static_cast<unsigned>(line_number));
  platform::test_log(line.data());
}

int run_all(std::span<const TestCase> tests) {
  unsigned passed = 0;
  unsigned failed = 0;
  for (const TestCase& test : tests) {
    log_line("[ RUN      ] ", test.name);
    g_failures_in_test = 0;
    test.run();
    if (g_failures_in_test == 0) {
      ++passed;
      log_line("[       OK ] ", test.name);
    } else {
      ++failed;
      log_line("[  FAILED  ] ", test.name);
    }
  }
  std::array<char, 64> summary{};
  std::size_t pos = append_number(summary, 0, passed);
  pos = append(summary, pos, " passed, ");
  pos = append_number(summary, pos, failed);
  append(summary, pos, " failed");
  platform::test_log(summary.data());
  return static_cast<int>(failed);
}

}  // namespace edge::testing
