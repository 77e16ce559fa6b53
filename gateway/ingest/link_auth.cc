#include "edge/gateway/link_auth.h"

#include <algorithm>
#include <array>

namespace edge::gateway {

std::optional<std::string> check_token(std::string_view token) {
  if (token.size() < kMinTokenBytes || token.size() > kMaxTokenBytes) {
    return "the token (the file's first line) must be " + std::to_string(kMinTokenBytes) + ".." +
           std::to_string(kMaxTokenBytes) + " bytes, got " + std::to_string(token.size());
  }
  const auto printable = [](char c) { return c > ' ' && c <= '~'; };
  if (!std::ranges::all_of(token, printable)) {
    const auto at =
        static_cast<std::size_t>(std::ranges::find_if_not(token, printable) - token.begin());
    return "the token (the file's first line) must be printable ASCII without spaces; byte " +
           std::to_string(at + 1) + " is not";
  }
  return std::nullopt;
}

const char* to_string(AuthRefusal why) {
  switch (why) {
    case AuthRefusal::kWrongToken: return "wrong token line";
    case AuthRefusal::kTooLong: return "token line too long";
    case AuthRefusal::kTimeout: return "no token line in time";
  }
  return "refused";
}

LinkAuth::LinkAuth(std::string_view token)
    : expected_(std::string(kAuthLinePrefix) + std::string(token)) {}

bool LinkAuth::matches(std::string_view received) const {
  // Both sides zero-padded to the line bound and compared byte for byte without an early exit,
  // so the time taken does not tell how much of the token a guess got right (nor its length).
  std::array<unsigned char, kMaxAuthLineBytes> want{};
  std::array<unsigned char, kMaxAuthLineBytes> got{};
  std::copy_n(expected_.begin(), std::min(expected_.size(), want.size()), want.begin());
  std::copy_n(received.begin(), std::min(received.size(), got.size()), got.begin());
  unsigned diff = expected_.size() == received.size() ? 0U : 1U;
  for (std::size_t i = 0; i < want.size(); ++i) {
    diff |= static_cast<unsigned>(want[i] ^ got[i]);
  }
  return diff == 0;
}

LinkAuth::Step LinkAuth::feed(Line& line, std::span<const std::uint8_t> bytes) const {
  Step step;
  if (line.accepted_) {
    step.verdict = Step::Verdict::kAccepted;
    return step;
  }
  const auto newline = std::ranges::find(bytes, std::uint8_t{'\n'});
  const std::size_t take = static_cast<std::size_t>(newline - bytes.begin());
  // The line's bound counts its newline: kMaxAuthLineBytes - 1 bytes before it at most.
  if (line.received_.size() + take >= kMaxAuthLineBytes) {
    step.verdict = Step::Verdict::kRefused;
    step.refusal = AuthRefusal::kTooLong;
    step.consumed = bytes.size();
    line.received_.clear();
    return step;
  }
  line.received_.append(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
  if (newline == bytes.end()) {
    step.consumed = bytes.size();
    return step;
  }
  step.consumed = take + 1;
  const bool ok = matches(line.received_);
  line.received_.clear();  // never kept: it holds a token, right or wrong
  line.received_.shrink_to_fit();
  if (!ok) {
    step.verdict = Step::Verdict::kRefused;
    step.refusal = AuthRefusal::kWrongToken;
    return step;
  }
  line.accepted_ = true;
  step.verdict = Step::Verdict::kAccepted;
  return step;
}

}  // namespace edge::gateway
