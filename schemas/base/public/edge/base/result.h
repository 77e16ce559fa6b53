// Result<T, E>: a value or an error, for code that runs on devices (no exceptions, no heap).
//
// Every call that can fail returns one; [[nodiscard]] makes ignoring it a compile error under
// -Werror. T and E must be trivially copyable and default-constructible (values, pointers,
// spans, enums).
#pragma once

#include <type_traits>

namespace edge {

template <typename T, typename E>
class [[nodiscard]] Result {
  static_assert(std::is_enum_v<E>, "errors are enums");
  static_assert(!std::is_same_v<T, E>, "a value and an error must be told apart");

 public:
  constexpr Result(T value) : value_(value), ok_(true) {}   // NOLINT(google-explicit-constructor)
  constexpr Result(E error) : error_(error), ok_(false) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] constexpr bool ok() const { return ok_; }
  /// The value; only meaningful when ok().
  [[nodiscard]] constexpr const T& value() const { return value_; }
  /// The error; only meaningful when !ok().
  [[nodiscard]] constexpr E error() const { return error_; }

 private:
  T value_{};
  E error_{};
  bool ok_;
};

}  // namespace edge

/// Evaluates `expr` (a Result); on error returns its error from the enclosing function, otherwise
/// assigns its value to `lhs`.
#define EDGE_TRY_ASSIGN(lhs, expr)     \
  do {                                 \
    auto edge_try_result_ = (expr);    \
    if (!edge_try_result_.ok()) {      \
      return edge_try_result_.error(); \
    }                                  \
    (lhs) = edge_try_result_.value();  \
  } while (false)
