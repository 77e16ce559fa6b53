// FUZZ_CHECK(condition, what): an invariant of the code under fuzz. When it does not hold, the
// input is a bug as surely as a crash is: print which invariant broke and abort, so libFuzzer
// saves the input as crash-<sha1> and scripts/fuzz fails. Unlike assert(), never compiled out.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition, what)                                                             \
  do {                                                                                          \
    if (!(condition)) {                                                                         \
      std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s (%s)\n", __FILE__, __LINE__, what, \
                   #condition);                                                                 \
      std::abort();                                                                             \
    }                                                                                           \
  } while (false)
