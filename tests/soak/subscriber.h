// The soak's upstream consumer: a Paho client subscribed to the gateway's topics on the same
// Mosquitto, deduplicating by event ID with the gateway's own DedupeWindow (bounded: one window
// per device), so it can tell unique events, duplicates and gaps without a set that grows.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "edge/gateway/aligned_copy.h"
#include "edge/gateway/dedupe_window.h"

namespace mqtt {
class async_client;
}

namespace edge::soak {

/// The consumer's dedupe window per device, events: above what the forwarder can reorder
/// (nothing, in its default strict order) and above a device's ring.
inline constexpr std::uint32_t kSubscriberDedupeWindow = 4096;

class Subscriber {
 public:
  explicit Subscriber(const std::string& uri);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  /// Connects (clean start) and subscribes to `filter`; "" on success, else Paho's reason.
  /// Called again after the broker restarted: a clean session forgets the subscription.
  std::string connect(const std::string& filter);
  /// Takes every message Paho queued so far (non-blocking).
  void drain();

  [[nodiscard]] std::uint64_t unique() const { return unique_; }
  [[nodiscard]] std::uint64_t duplicates() const { return duplicates_; }
  [[nodiscard]] std::uint64_t gaps() const { return gaps_; }
  [[nodiscard]] std::uint64_t status_messages() const { return status_; }
  [[nodiscard]] std::uint64_t invalid() const { return invalid_; }
  /// Seqs still missing below the highest seen, over every device (gaps-to-be).
  [[nodiscard]] std::uint64_t pending_holes() const;

 private:
  std::unique_ptr<mqtt::async_client> client_;
  gateway::DedupeWindow window_{kSubscriberDedupeWindow};
  std::unordered_map<std::uint64_t, gateway::DedupeState> devices_;
  gateway::AlignedCopy scratch_;
  std::uint64_t unique_ = 0;
  std::uint64_t duplicates_ = 0;
  std::uint64_t gaps_ = 0;
  std::uint64_t status_ = 0;
  std::uint64_t invalid_ = 0;
};

}  // namespace edge::soak
