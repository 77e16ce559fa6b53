// A test harness small enough for a microcontroller: no heap, no exceptions, no iostreams.
// Output goes through edge::platform::test_log (semihosting under QEMU, stdout on Linux); the
// image's exit status is the number of failed tests, so ctest sees a failure either way.
//
//   void crc_check_value() { EDGE_EXPECT(crc32c(...) == 0xE3069283U); }
//   constexpr edge::testing::TestCase kTests[] = {{"crc_check_value", crc_check_value}};
//   int main() { return edge::testing::run_all(kTests); }
#pragma once

#include <cstdint>
#include <span>

namespace edge::testing {

struct TestCase {
  const char* name;
  void (*run)();
};

/// Records a failed expectation in the current test and logs where it was.
void fail(const char* expression, const char* file, int line);

/// Runs every test, logs "[ RUN ]", "[  OK  ]" or "[FAILED]" per test and a closing
/// "N passed, M failed" line. Returns the number of failed tests.
int run_all(std::span<const TestCase> tests);

}  // namespace edge::testing

#define EDGE_EXPECT(condition)                               \
  do {                                                       \
    if (!(condition)) {                                      \
      ::edge::testing::fail(#condition, __FILE__, __LINE__); \
    }                                                        \
  } while (false)
