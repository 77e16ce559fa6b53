#include "edge/gateway/ingest.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <spdlog/spdlog.h>

#include "edge/gateway/device_hex.h"

namespace edge::gateway {
std::uint64_t RateLimitedLog::admit(const std::string& key, std::uint64_t now_us) {
  Entry& e = entries_[key];
  if (e.logged && now_us - e.last_us < interval_us_) {
    ++e.held;
    return 0;
  }
  const std::uint64_t admitted = e.held + 1;
  e = {now_us, 0, true};
  return admitted;
}

void RateLimitedLog::forget(std::string_view prefix) {
  std::erase_if(entries_, [prefix](const auto& entry) { return entry.first.starts_with(prefix); });
}

Ingest::Ingest(Buffer& buffer, AckSink& acks, IngestOptions options)
    : buffer_(buffer), acks_(acks), options_(options) {}

bool Ingest::ensure_batch(std::uint64_t now_us) {
  if (buffer_.in_batch()) {
    return true;
  }
  if (auto error = buffer_.begin()) {
    if (log_limit_.admit("begin", now_us) != 0) {
      spdlog::error("buffer: cannot start a batch: {}", error->message);
    }
    return false;
  }
  return true;
}

Ingest::Link& Ingest::link(SessionId session, const std::string& source, std::uint64_t now_us) {
  const auto [it, inserted] = links_.try_emplace(session);
  if (inserted) {
    it->second.source = source;
    if (options_.link_rate_events_s != 0) {
      it->second.rate.emplace(options_.link_rate_events_s, options_.link_burst_ms, now_us);
    }
  }
  return it->second;
}

void Ingest::refuse(const std::string& source, const char* reason, std::uint64_t now_us,
                    const std::string& detail, std::uint64_t events) {
  refused_[source][reason] += events;
  if (ensure_batch(now_us)) {
    buffer_.count(std::string("refused.") + reason, events);
  }
  if (const std::uint64_t n = log_limit_.admit(source + '/' + reason, now_us); n != 0) {
    spdlog::warn("{}: refused {} ({}x since last report){}{}", source, reason, n,
                 detail.empty() ? "" : ": ", detail);
  }
}

void Ingest::on_link_refused(const std::string& source, const char* reason,
                             const std::string& detail, std::uint64_t now_us) {
  refuse(source, reason, now_us, detail);
}

void Ingest::on_frame_error(SessionId session, const std::string& source, link::FrameError error,
                            std::uint64_t now_us) {
  link(session, source, now_us);
  refuse(source, link::to_string(error), now_us);
}

void Ingest::on_frame(SessionId session, const std::string& source,
                      std::span<const std::uint8_t> payload, std::uint64_t now_us) {
  link(session, source, now_us);
  const auto message = wire::verify_link_message(payload);
  if (!message.ok()) {
    refuse(source, wire::to_string(message.error()), now_us);
    return;
  }
  const wire::LinkMessage& m = *message.value();
  switch (m.body_type()) {
    case wire::Body::Hello: on_hello(*m.body_as_Hello(), source, now_us); break;
    case wire::Body::EventBatch: on_batch(session, *m.body_as_EventBatch(), source, now_us); break;
    case wire::Body::Ack:
    case wire::Body::NONE: refuse(source, "unexpected_message", now_us); break;
  }
  if (pending_.size() >= options_.max_batch_events) {
    flush(now_us);
  }
}

void Ingest::on_hello(const wire::Hello& hello, const std::string& source, std::uint64_t now_us) {
  if (!ensure_batch(now_us)) {
    return;
  }
  const auto text = [](const flatbuffers::String* s) {
    return s == nullptr ? std::string_view{} : std::string_view(s->c_str(), s->size());
  };
  if (!buffer_.note_hello(hello.device(), hello.boot(), text(hello.firmware_version()),
                          text(hello.board()), hello.ring_capacity(), now_us)) {
    refuse(source, "device_limit", now_us, device_hex(hello.device()));
    return;
  }
  spdlog::info("{}: hello from device {} boot {} firmware '{}' board '{}' ring {}", source,
               device_hex(hello.device()), hello.boot(), text(hello.firmware_version()),
               text(hello.board()), hello.ring_capacity());
  if (hello.ring_capacity() > options_.dedupe_window) {
    spdlog::warn(
        "{}: device {} keeps up to {} unacked events but the dedupe window is {}: raise "
        "ingest.dedupe_window to at least the ring size, or late resends may be taken for "
        "duplicates",
        source, device_hex(hello.device()), hello.ring_capacity(), options_.dedupe_window);
  }
}

void Ingest::on_batch(SessionId session, const wire::EventBatch& batch, const std::string& source,
                      std::uint64_t now_us) {
  if (!ensure_batch(now_us)) {
    return;  // no acks: the device resends
  }
  if (batch.events() == nullptr) {
    return;
  }
  std::optional<std::uint32_t> boot;
  Link& link = links_.at(session);
  if (!link.device) {
    adopt_rate(link, batch.device(), now_us);
  }
  const std::uint64_t limited_before = link.limited;
  for (const wire::EventBlob* blob : *batch.events()) {
    if (blob == nullptr || blob->data() == nullptr) {
      refuse(source, "invalid_flatbuffer", now_us);
      continue;
    }
    if (auto event_boot =
            on_event(session, batch.device(), wire::blob_bytes(*blob), source, now_us)) {
      boot = event_boot;
    }
  }
  // One count and at most one log line per frame for the events over the link's rate.
  if (const std::uint64_t limited = link.limited - limited_before; limited != 0) {
    refuse(source, "rate_limited", now_us,
           fmt::format("{} events of device {} over ingest.link_rate_events_s = {} (burst {} ms)",
                       limited, device_hex(batch.device()), options_.link_rate_events_s,
                       options_.link_burst_ms),
           limited);
  }
  if (boot.has_value()) {
    buffer_.note_ring_dropped(batch.device(), *boot, batch.ring_dropped());
  }
}

std::optional<std::uint32_t> Ingest::on_event(SessionId session, std::uint64_t device,
                                              std::span<const std::uint8_t> bytes,
                                              const std::string& source, std::uint64_t now_us) {
  auto verified = wire::verify_event(bytes);
  if (!verified.ok() && verified.error() == wire::WireError::kMisaligned) {
    // A sender that did not align its nested events: verify a copy.
    bytes = aligned_scratch_.assign(bytes);
    verified = wire::verify_event(bytes);
  }
  if (!verified.ok()) {
    refuse(source, wire::to_string(verified.error()), now_us);
    if (verified.error() == wire::WireError::kUnsupportedVersion) {
      // The buffer passed the Verifier (the version is checked after it): its id can be read,
      // so the device is told to drop it rather than resend it forever.
      const EventId id = wire::event_id_of(*wire::GetEvent(bytes.data()));
      if (id.device == device) {
        pending_.push_back({session, device, id.boot, id.seq, Disposition::kBusy, true});
      }
    }
    return std::nullopt;
  }
  const EventId id = wire::event_id_of(*verified.value());
  if (id.device != device) {
    refuse(source, "device_mismatch", now_us,
           fmt::format("event of {} in a batch of {}", device_hex(id.device), device_hex(device)));
    return std::nullopt;
  }
  Link& link = links_.at(session);
  if (link.rate && !link.rate->take(now_us)) {
    if (link.limited++ == 0) {
      limited_links_.push_back(session);
    }
    Pending busy{session, device, id.boot, id.seq, Disposition::kBusy};
    busy.rate_limited = true;
    pending_.push_back(busy);
    return id.boot;
  }
  const Disposition d = buffer_.add_event(id, bytes, now_us);
  if (d == Disposition::kDeviceLimit) {
    refuse(source, "device_limit", now_us, device_hex(device));
  }
  pending_.push_back({session, device, id.boot, id.seq, d});
  return id.boot;
}

void Ingest::flush(std::uint64_t now_us) {
  if (!buffer_.in_batch() && pending_.empty()) {
    return;
  }
  bool committed = true;
  const auto started = std::chrono::steady_clock::now();
  std::optional<BufferError> error = buffer_.commit();
  if (commit_observer_) {
    commit_observer_(std::chrono::steady_clock::now() - started, !error.has_value());
  }
  if (error) {
    committed = false;
    ++failed_commits_;
    if (const std::uint64_t n = log_limit_.admit("commit", now_us); n != 0) {
      spdlog::error("buffer: commit failed ({}x since last report), {} events acked busy: {}", n,
                    pending_.size(), error->message);
      commit_failure_logged_ = true;
    }
  } else if (commit_failure_logged_) {
    // One line per logged failure line (so as rate-limited), and the log's last word on the
    // commits is always the current one.
    spdlog::info("buffer: commits succeed again after {} failed (their events were acked busy)",
                 failed_commits_);
    failed_commits_ = 0;
    commit_failure_logged_ = false;
  }
  send_acks(committed);
  pending_.clear();
  for (const SessionId session : limited_links_) {
    if (const auto it = links_.find(session); it != links_.end()) {
      it->second.limited = 0;
    }
  }
  limited_links_.clear();
}

void Ingest::forget_session(SessionId session, std::uint64_t now_us) {
  std::erase_if(pending_, [session](const Pending& p) { return p.session == session; });
  const auto it = links_.find(session);
  if (it == links_.end()) {
    return;
  }
  const Link& link = it->second;
  if (link.rate && link.device && link.rate->full_at_us() > now_us) {
    retain_rate(*link.device, *link.rate, now_us);
  }
  // A connection's source names it alone ("tcp:127.0.0.1:7700#12"): without this, every
  // connection that ever sent a bad frame would leave its counts and log state behind for good.
  refused_.erase(link.source);
  log_limit_.forget(link.source + '/');
  links_.erase(it);
}

void Ingest::retain_rate(std::uint64_t device, const TokenBucket& rate, std::uint64_t now_us) {
  if (retained_rates_.size() >= kMaxRetainedRates && !retained_rates_.contains(device)) {
    std::erase_if(retained_rates_,
                  [now_us](const auto& kept) { return kept.second.full_at_us() <= now_us; });
    if (retained_rates_.size() >= kMaxRetainedRates) {
      return;
    }
  }
  retained_rates_.insert_or_assign(device, rate);
}

void Ingest::adopt_rate(Link& link, std::uint64_t device, std::uint64_t now_us) {
  link.device = device;
  const auto it = retained_rates_.find(device);
  if (it == retained_rates_.end()) {
    return;
  }
  if (link.rate && it->second.full_at_us() > now_us) {
    link.rate = it->second;  // what the device's last link left, refilled from then
  }
  retained_rates_.erase(it);
}

void Ingest::send_acks(bool committed) {
  // Group runs of (session, device, boot, status) in arrival order; each group becomes acks of
  // at most kMaxSelectiveRanges ranges.
  std::array<wire::SeqRange, wire::kMaxSelectiveRanges> ranges{};
  std::size_t i = 0;
  const auto status_of = [committed](const Pending& p) {
    if (p.invalid) {
      return wire::AckStatus::Invalid;
    }
    if (p.rate_limited) {
      return wire::AckStatus::Busy;
    }
    switch (p.disposition) {
      case Disposition::kDuplicate: return wire::AckStatus::Ok;  // durable from before
      case Disposition::kStored:
      case Disposition::kStaleBoot: return committed ? wire::AckStatus::Ok : wire::AckStatus::Busy;
      case Disposition::kBusy:
      case Disposition::kDeviceLimit: return wire::AckStatus::Busy;
    }
    return wire::AckStatus::Busy;
  };
  // A link over its rate retries when its bucket holds what it was refused in this flush.
  const auto retry_of = [this](const Pending& p) {
    if (!p.rate_limited) {
      return options_.busy_retry_ms;
    }
    const Link& link = links_.at(p.session);
    return link.rate->retry_after_ms(link.limited);
  };
  while (i < pending_.size()) {
    const Pending& first = pending_[i];
    const wire::AckStatus status = status_of(first);
    const std::uint32_t retry_ms = status == wire::AckStatus::Busy ? retry_of(first) : 0;
    std::size_t n = 0;
    while (i < pending_.size() && n < ranges.size()) {
      const Pending& p = pending_[i];
      if (p.session != first.session || p.device != first.device || p.boot != first.boot ||
          status_of(p) != status || p.rate_limited != first.rate_limited) {
        break;
      }
      if (n > 0 && ranges[n - 1].last() + 1 == p.seq) {
        ranges[n - 1] = wire::SeqRange(ranges[n - 1].first(), p.seq);
      } else if (n + 1 <= ranges.size()) {
        ranges[n++] = wire::SeqRange(p.seq, p.seq);
      }
      ++i;
    }
    wire::AckFields fields;
    fields.device = first.device;
    fields.boot = first.boot;
    fields.status = status;
    fields.selective = {ranges.data(), n};
    fields.retry_after_ms = retry_ms;
    const auto ack = wire::encode_ack(ack_builder_, fields);
    if (!ack.ok()) {
      continue;
    }
    ack_frame_.resize(link::max_encoded_frame_size(ack.value().size()));
    const auto framed = link::encode_frame(ack.value(), ack_frame_);
    if (framed.ok()) {
      acks_.send_frame(first.session, {ack_frame_.data(), framed.value()});
    }
  }
}

}  // namespace edge::gateway
