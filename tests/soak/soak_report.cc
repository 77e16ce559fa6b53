// The soak's verdict: what it measured, and each check against it.
#include <cstdio>
#include <string>

#include "soak.h"

namespace edge::soak {
namespace {

struct Checks {
  int failed = 0;
  void expect(bool ok, const std::string& what) {
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
    failed += ok ? 0 : 1;
  }
};

std::string num(std::uint64_t v) {
  return std::to_string(v);
}

}  // namespace

int Soak::report() {
  Checks c;
  std::uint64_t produced = 0;
  std::uint64_t acked = 0;
  std::uint64_t invalid_acks = 0;
  std::uint64_t ring_dropped = 0;
  for (const SimDevice& d : devices_) {
    produced += d.produced();
    acked += d.acked();
    invalid_acks += d.invalid_acks();
    ring_dropped += d.ring_dropped();
  }
  const auto stats_or = buffer_->stats();
  if (!std::holds_alternative<gateway::BufferStats>(stats_or)) {
    std::printf("FAIL buffer stats: %s\n",
                std::get<gateway::BufferError>(stats_or).message.c_str());
    return 1;
  }
  const auto& stats = std::get<gateway::BufferStats>(stats_or);
  const auto counter = [&](const std::string& name) {
    const auto it = stats.counters.find(name);
    return it == stats.counters.end() ? 0ULL : it->second;
  };
  std::uint64_t refused_frames = 0;
  for (const auto& [name, value] : stats.counters) {
    refused_frames += name.starts_with("refused.") ? value : 0U;
  }
  const gateway::ForwarderStats f = forwarder_->stats();
  std::printf(
      "devices %zu, events produced %llu, acked to devices %llu, reboots %llu; frames sent %llu, "
      "corrupted %llu; acks lost %llu (covering %llu events)\n",
      devices_.size(), static_cast<unsigned long long>(produced),
      static_cast<unsigned long long>(acked), static_cast<unsigned long long>(reboots_),
      static_cast<unsigned long long>(frames_sent_), static_cast<unsigned long long>(corrupted_),
      static_cast<unsigned long long>(acks_->lost_frames()),
      static_cast<unsigned long long>(acks_->lost_ok_events()));
  std::printf(
      "forwarder: connects %llu, connect failures %llu, published %llu, acked events %llu; "
      "subscriber: unique %llu, duplicates %llu, gaps %llu, status messages %llu; outages %zu, "
      "backlog at most %llu (%llu events made while away); offline headroom at the last "
      "minute: %s; Paho waits over %d ms: %llu\n",
      static_cast<unsigned long long>(f.connects),
      static_cast<unsigned long long>(f.connect_failures),
      static_cast<unsigned long long>(f.published), static_cast<unsigned long long>(f.acked_events),
      static_cast<unsigned long long>(sub_->unique()),
      static_cast<unsigned long long>(sub_->duplicates()),
      static_cast<unsigned long long>(sub_->gaps()),
      static_cast<unsigned long long>(sub_->status_messages()), outages_run_,
      static_cast<unsigned long long>(max_backlog_),
      static_cast<unsigned long long>(outage_events_), gateway::to_string(last_headroom_.kind),
      kReportTimeoutMs, static_cast<unsigned long long>(paho_stalls_));

  // Delivery: nothing lost end to end, at least once.
  c.expect(acked == produced, "every event produced was acked to its device (" + num(acked) +
                                  " of " + num(produced) + ")");
  c.expect(ring_dropped == 0 && invalid_acks == 0,
           "no device dropped or had an event refused (ring drops " + num(ring_dropped) +
               ", invalid acks " + num(invalid_acks) + ")");
  c.expect(stats.events == 0, "the buffer drained (" + num(stats.events) + " left)");
  c.expect(sub_->unique() == produced, "the subscriber received every event (" +
                                           num(sub_->unique()) + " unique of " + num(produced) +
                                           ")");
  c.expect(sub_->gaps() == 0 && sub_->pending_holes() == 0 && sub_->invalid() == 0,
           "no gap, hole or invalid message upstream (gaps " + num(sub_->gaps()) + ", holes " +
               num(sub_->pending_holes()) + ", invalid " + num(sub_->invalid()) + ")");
  // Dedupe across lost acks, window slides and reboots: each event of a lost Ok ack was resent
  // once and stored once.
  c.expect(acks_->lost_ok_events() > 0 && counter("duplicates") == acks_->lost_ok_events(),
           "duplicates counted by the gateway == events of lost acks (" +
               num(counter("duplicates")) + " == " + num(acks_->lost_ok_events()) + ")");
  c.expect(corrupted_ > 0 && refused_frames == corrupted_, "refused frames == corrupted frames (" +
                                                               num(refused_frames) +
                                                               " == " + num(corrupted_) + ")");
  if (o_.sim_seconds > kFirstRebootS + (devices_.size() - 1) * kRebootStaggerS) {
    c.expect(reboots_ >= devices_.size(), "every device rebooted (" + num(reboots_) + " reboots)");
  }
  // The outages: the backlog grew while the broker was away, and drained after.
  const bool long_run = o_.sim_seconds > kOutages.back().to_s;
  c.expect(f.connects == outages_run_ + 1U, "one connect per broker start (" + num(f.connects) +
                                                " connects, " + num(outages_run_) + " outages)");
  if (outages_run_ > 0) {
    c.expect(outage_events_ > 0 && max_backlog_ >= outage_events_ * 9 / 10,
             "the backlog grew during the outages (" + num(max_backlog_) + " buffered of " +
                 num(outage_events_) + " made while away)");
    c.expect(f.connect_failures > 0,
             "reconnects were refused while the broker was away (" + num(f.connect_failures) + ")");
  }
  if (long_run) {
    // Status every kStatusIntervalS of connected simulated time (half of the hour at least).
    c.expect(sub_->status_messages() * kStatusIntervalS >= o_.sim_seconds / 2U,
             "status messages arrived (" + num(sub_->status_messages()) + ")");
  }

  // Memory: flat after the warm-up.
  c.expect(!heap_blind_, "the heap could be measured");
  if (heap_samples_.size() >= 2) {
    const std::uint64_t first = heap_samples_.front().second;
    std::uint64_t highest = first;
    for (const auto& [t, bytes] : heap_samples_) {
      highest = std::max(highest, bytes);
    }
    const std::uint64_t growth = highest - first;
    c.expect(growth <= o_.max_heap_growth, "heap growth after the warm-up " + num(growth) +
                                               " bytes, bound " + num(o_.max_heap_growth) + " (" +
                                               num(heap_samples_.size()) + " samples, " +
                                               heap_source_ + ")");
  } else {
    c.expect(false,
             "at least two heap samples after the warm-up (" + num(heap_samples_.size()) + ")");
  }
  return c.failed == 0 ? 0 : 1;
}

}  // namespace edge::soak
