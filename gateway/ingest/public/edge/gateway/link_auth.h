// The shared-token check of a TCP listener with a token_file ([[ingest.tcp]] token_file).
//
// Before its first frame, a connection sends one line:
//
//   "EDGE-TOKEN " <token> "\n"        at most kMaxAuthLineBytes bytes, the newline included
//
// Nothing the connection sends is decoded and no ack goes back until that line matched; bytes
// after the newline (in the same read or later) are frame bytes. A wrong line, a line longer than
// kMaxAuthLineBytes or no line within ingest.auth_timeout_ms (the event loop's clock) refuses the
// connection: it is counted (reason "auth"), logged without the line, and closed.
//
// The token authenticates the device to the gateway; it is not encryption: on a network others
// can read, carry the link over TLS (stunnel, ser2net's TLS) to a loopback listener instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace edge::gateway {

/// Token length bounds (bytes; the token file's first line).
inline constexpr std::size_t kMinTokenBytes = 16;
inline constexpr std::size_t kMaxTokenBytes = 256;
/// The auth line's bound, its newline included: a longer line is refused before it ends.
inline constexpr std::size_t kMaxAuthLineBytes = 300;
/// What the line starts with.
inline constexpr std::string_view kAuthLinePrefix = "EDGE-TOKEN ";

/// Returns nullopt when `token` can be a shared token: kMinTokenBytes..kMaxTokenBytes bytes of
/// printable ASCII other than space (0x21..0x7e). Else what is wrong, without the token's text.
[[nodiscard]] std::optional<std::string> check_token(std::string_view token);

/// Why a connection was refused.
enum class AuthRefusal {
  kWrongToken,  // a complete line that is not "EDGE-TOKEN <the token>"
  kTooLong,     // kMaxAuthLineBytes bytes without a newline
  kTimeout,     // no complete line in time (decided by the caller, named here for the log)
};
[[nodiscard]] const char* to_string(AuthRefusal why);

/// One listener's token; checks the lines of its connections. The token is never logged and
/// never compared in time that depends on where it differs from the line.
class LinkAuth {
 public:
  /// `token` must pass check_token (the daemon checks it at start).
  explicit LinkAuth(std::string_view token);

  /// One connection's progress through its auth line.
  class Line {
   public:
    [[nodiscard]] bool accepted() const { return accepted_; }

   private:
    friend class LinkAuth;
    std::string received_;  // at most kMaxAuthLineBytes, newline excluded
    bool accepted_ = false;
  };

  struct Step {
    enum class Verdict {
      kNeedMore,  // every byte consumed, no newline yet
      kAccepted,  // line.accepted() from now on; bytes from `consumed` on are frame bytes
      kRefused,   // close the connection; `refusal` says why
    };
    Verdict verdict = Verdict::kNeedMore;
    std::size_t consumed = 0;  // bytes of the input that belonged to the line
    AuthRefusal refusal = AuthRefusal::kWrongToken;
  };

  /// Feeds bytes a connection sent before its line was accepted (not after: then every byte is
  /// a frame byte). Never fails otherwise.
  Step feed(Line& line, std::span<const std::uint8_t> bytes) const;

 private:
  [[nodiscard]] bool matches(std::string_view received) const;

  std::string expected_;  // the whole line without its newline
};

}  // namespace edge::gateway
