#include "device_sim.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <system_error>
#include <utility>

namespace edge::devsim {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr std::size_t kReadChunk = 4096;
// Bytes read per service() call at most, so a chatty gateway cannot starve production.
constexpr std::size_t kMaxReadPerService = 64 * 1024;
// A rate schedule that fell further behind than this (ring blocked, slow loop) restarts from now
// instead of producing the backlog in a burst.
constexpr nanoseconds kMaxProductionLag = milliseconds(50);

bool covers(const wire::Ack& ack, std::uint32_t seq) {
  if (ack.has_cumulative() && seq <= ack.cumulative_seq()) {
    return true;
  }
  if (const auto* ranges = ack.selective()) {
    for (const wire::SeqRange* range : *ranges) {
      if (seq >= range->first() && seq <= range->last()) {
        return true;
      }
    }
  }
  return false;
}

std::uint32_t saturate32(std::uint64_t value) {
  return static_cast<std::uint32_t>(
      std::min<std::uint64_t>(value, std::numeric_limits<std::uint32_t>::max()));
}

}  // namespace

void validate(const SimConfig& c) {
  if (c.batch < 1 || c.batch > wire::kMaxBatchEvents) {
    throw std::invalid_argument("batch must be 1.." + std::to_string(wire::kMaxBatchEvents));
  }
  if (c.ring < 1) {
    throw std::invalid_argument("ring must hold at least one event");
  }
  if (c.sensor.size() > wire::kMaxSensorNameLength) {
    throw std::invalid_argument("sensor name longer than " +
                                std::to_string(wire::kMaxSensorNameLength) + " bytes");
  }
  if (!std::isfinite(c.rate) || c.rate < 0.0) {
    throw std::invalid_argument("rate must be a finite number >= 0");
  }
  if (c.ack_timeout.count() < 1) {
    throw std::invalid_argument("ack timeout must be at least 1 ms");
  }
  const std::uint64_t last = std::uint64_t{c.first_seq} + c.count;
  if (c.count > 0 && last - 1 > std::numeric_limits<std::uint32_t>::max()) {
    throw std::invalid_argument("first seq + count would wrap the 32-bit seq");
  }
}

DeviceSim::DeviceSim(SimConfig config, TimePoint start)
    : config_(std::move(config)), next_produce_(start), next_seq_(config_.first_seq) {
  validate(config_);
  if (config_.rate > 0.0) {
    period_ = std::max(nanoseconds(1), std::chrono::duration_cast<nanoseconds>(
                                           std::chrono::duration<double>(1.0 / config_.rate)));
  }
  if (!config_.acked_log.empty()) {
    log_fd_ = ::open(config_.acked_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd_ < 0) {
      throw std::system_error(errno, std::generic_category(), "open " + config_.acked_log);
    }
  }
  out_.reserve(kOutCapacity);
}

DeviceSim::~DeviceSim() {
  if (log_fd_ >= 0) {
    ::close(log_fd_);
  }
}

void DeviceSim::attach(int fd) {
  fd_ = fd;
  struct stat st = {};
  is_socket_ = ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
  decoder_.reset();
  out_.clear();
  out_head_ = 0;
  if (attaches_++ > 0) {
    ++stats_.reconnects;
  }
  // A lone delimiter first: the peer drops whatever partial frame it holds and starts clean.
  const std::array<std::uint8_t, 1> delimiter = {link::kFrameDelimiter};
  queue_raw(delimiter);
  wire::HelloFields hello;
  hello.device = config_.device;
  hello.boot = config_.boot;
  hello.firmware_version = "devsim";
  hello.board = "devsim";
  hello.ring_capacity = saturate32(config_.ring);
  const auto encoded = wire::encode_hello(link_fbb_, hello);
  if (!encoded.ok()) {
    throw std::logic_error("devsim: encode_hello failed");
  }
  queue_frame(encoded.value());
  if (attaches_ == 1) {
    for (const Injection injection : config_.inject) {
      queue_raw(build_injection(injection, config_.device, config_.boot));
    }
  }
  for (Entry& e : ring_) {
    e.in_flight = false;  // a new link: everything unacked goes again, after the Hello
  }
}

void DeviceSim::detach() {
  fd_ = -1;
  out_.clear();
  out_head_ = 0;
  decoder_.reset();
}

LinkState DeviceSim::service(TimePoint now) {
  if (attached() && read_link(now) == LinkState::kClosed) {
    return LinkState::kClosed;
  }
  produce(now);
  if (!attached()) {
    return LinkState::kUp;
  }
  if (flush() == LinkState::kClosed) {
    return LinkState::kClosed;
  }
  send_due(now);
  return flush();
}

LinkState DeviceSim::read_link(TimePoint now) {
  std::array<std::uint8_t, kReadChunk> buffer{};
  std::size_t total = 0;
  while (total < kMaxReadPerService) {
    const ssize_t n = ::read(fd_, buffer.data(), buffer.size());
    if (n > 0) {
      const auto size = static_cast<std::size_t>(n);
      total += size;
      decoder_.feed(
          std::span<const std::uint8_t>(buffer.data(), size),
          [&](std::span<const std::uint8_t> payload) { on_frame(payload, now); },
          [&](link::FrameError) { ++stats_.bad_frames; });
      continue;
    }
    if (n == 0) {
      return LinkState::kClosed;  // EOF: the gateway closed the link
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    }
    return LinkState::kClosed;  // ECONNRESET, EIO (pty: the gateway closed the port), ...
  }
  return LinkState::kUp;
}

void DeviceSim::on_frame(std::span<const std::uint8_t> payload, TimePoint now) {
  const auto verified = wire::verify_link_message(payload);
  if (!verified.ok()) {
    ++stats_.bad_frames;
    return;
  }
  const wire::LinkMessage& message = *verified.value();
  if (message.body_type() != wire::Body::Ack) {
    ++stats_.other_messages;
    return;
  }
  on_ack(*message.body_as_Ack(), now);
}

void DeviceSim::on_ack(const wire::Ack& ack, TimePoint now) {
  if (ack.device() != config_.device || ack.boot() != config_.boot) {
    ++stats_.foreign_acks;
    return;
  }
  const auto covered = [&](const Entry& e) { return covers(ack, e.seq); };
  switch (ack.status()) {
    case wire::AckStatus::Ok: {
      std::vector<std::uint32_t> freed;
      for (const Entry& e : ring_) {
        if (covered(e)) {
          freed.push_back(e.seq);
          const auto waited =
              std::chrono::duration_cast<std::chrono::microseconds>(now - e.produced_at);
          stats_.ack_latency_us.record(
              static_cast<std::uint64_t>(std::max<std::int64_t>(0, waited.count())));
        }
      }
      if (!freed.empty()) {
        stats_.last_acked = now;
      }
      std::erase_if(ring_, covered);
      stats_.acked += freed.size();
      busy_backoff_ = milliseconds(0);
      log_acked(freed);
      return;
    }
    case wire::AckStatus::Busy: {
      ++stats_.busy_acks;
      for (Entry& e : ring_) {
        if (covered(e)) {
          e.in_flight = false;  // not stored: send again once the hold is over
          ++stats_.busy_events;
        }
      }
      milliseconds delay(ack.retry_after_ms());
      if (delay.count() == 0) {
        busy_backoff_ = busy_backoff_.count() == 0 ? kBusyBackoffMin
                                                   : std::min(busy_backoff_ * 2, kBusyBackoffMax);
        delay = busy_backoff_;
      }
      hold_until_ = std::max(hold_until_, now + delay);
      return;
    }
    case wire::AckStatus::Invalid: {
      stats_.invalid += std::erase_if(ring_, covered);
      return;
    }
  }
  ++stats_.bad_frames;  // a status this build does not know
}

bool DeviceSim::may_produce() const {
  return config_.count == 0 || stats_.produced < config_.count;
}

void DeviceSim::produce(TimePoint now) {
  std::size_t dropped_now = 0;
  while (may_produce() && now >= next_produce_) {
    if (ring_.size() >= config_.ring) {
      if (config_.ring_full == RingFull::kBlock) {
        return;
      }
      if (period_.count() == 0 && dropped_now >= config_.batch) {
        return;  // rate 0 with drop_oldest: leave the link a turn between rounds of drops
      }
      ring_.pop_front();
      ++stats_.ring_dropped;
      ++dropped_now;
    }
    produce_one(now);
    if (period_.count() > 0) {
      if (now - next_produce_ > std::max(period_, kMaxProductionLag)) {
        next_produce_ = now;
      }
      next_produce_ += period_;
    }
  }
}

void DeviceSim::produce_one(TimePoint now) {
  const std::uint32_t seq = next_seq_++;
  wire::EventFields fields;
  fields.id = {config_.device, config_.boot, seq};
  fields.mono_us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count());
  fields.sensor = config_.sensor;
  fields.reading = wire::ReadingValue::temperature(20.0F + static_cast<float>(seq % 100U) / 10.0F);
  const auto encoded = wire::encode_event(event_fbb_, fields);
  if (!encoded.ok()) {
    throw std::logic_error(std::string("devsim: encode_event: ") +
                           wire::to_string(encoded.error()));
  }
  Entry entry;
  entry.seq = seq;
  entry.produced_at = now;
  if (!stats_.first_produced) {
    stats_.first_produced = now;
  }
  entry.event.assign(encoded.value().begin(), encoded.value().end());
  ring_.push_back(std::move(entry));
  ++stats_.produced;
}

bool DeviceSim::sendable(const Entry& e, TimePoint now) const {
  return !e.in_flight || now >= e.sent_at + config_.ack_timeout;
}

bool DeviceSim::room_for_frame() const {
  return (out_.size() - out_head_) + link::max_encoded_frame_size(link::kMaxFramePayload) <=
         kOutCapacity;
}

void DeviceSim::send_due(TimePoint now) {
  if (now < hold_until_) {
    return;  // a Busy ack asked for quiet
  }
  std::array<Entry*, wire::kMaxBatchEvents> picked{};
  std::size_t n = 0;
  const auto send = [&] {
    std::array<std::span<const std::uint8_t>, wire::kMaxBatchEvents> events{};
    for (std::size_t i = 0; i < n; ++i) {
      events[i] = picked[i]->event;
    }
    const auto encoded = wire::encode_batch(link_fbb_, config_.device, {events.data(), n},
                                            saturate32(stats_.ring_dropped));
    if (!encoded.ok()) {
      throw std::logic_error(std::string("devsim: encode_batch: ") +
                             wire::to_string(encoded.error()));
    }
    queue_frame(encoded.value());
    ++stats_.frames_sent;
    for (std::size_t i = 0; i < n; ++i) {
      Entry& e = *picked[i];
      if (e.transmissions++ > 0) {
        ++stats_.retransmits;
      }
      e.in_flight = true;
      e.sent_at = now;
    }
    n = 0;
  };
  for (Entry& e : ring_) {
    if (!sendable(e, now)) {
      continue;
    }
    if (n == 0 && !room_for_frame()) {
      return;  // the rest waits until the fd takes more
    }
    picked[n++] = &e;
    if (n == config_.batch) {
      send();
    }
  }
  if (n > 0) {
    send();
  }
}

void DeviceSim::queue_frame(std::span<const std::uint8_t> payload) {
  queue_raw(frame_of(payload));
}

void DeviceSim::queue_raw(std::span<const std::uint8_t> bytes) {
  // resize + memcpy rather than insert(): GCC 12 at -O3 (the release preset) inlines insert()
  // of the one-byte delimiter span into a false -Warray-bounds / -Wstringop-overflow.
  if (bytes.empty()) {
    return;
  }
  const std::size_t at = out_.size();
  out_.resize(at + bytes.size());
  std::memcpy(out_.data() + at, bytes.data(), bytes.size());
}

LinkState DeviceSim::flush() {
  while (out_head_ < out_.size()) {
    const std::uint8_t* data = out_.data() + out_head_;
    const std::size_t size = out_.size() - out_head_;
    const ssize_t n = is_socket_ ? ::send(fd_, data, size, MSG_NOSIGNAL) : ::write(fd_, data, size);
    if (n > 0) {
      out_head_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    }
    return LinkState::kClosed;
  }
  if (out_head_ == out_.size()) {
    out_.clear();
    out_head_ = 0;
  } else if (out_head_ >= kOutCapacity / 2) {
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_head_));
    out_head_ = 0;
  }
  return LinkState::kUp;
}

void DeviceSim::log_acked(const std::vector<std::uint32_t>& seqs) {
  if (log_fd_ < 0 || seqs.empty()) {
    return;
  }
  std::string text;
  text.reserve(seqs.size() * (kEventIdTextMax + 1));
  std::array<char, kEventIdTextMax> id{};
  for (const std::uint32_t seq : seqs) {
    const auto n = format_event_id({config_.device, config_.boot, seq}, id);
    text.append(id.data(), n.ok() ? n.value() : 0);
    text.push_back('\n');
  }
  // One write(2) per ack, straight to the file: complete even if we are SIGKILLed next.
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(log_fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      throw std::system_error(errno, std::generic_category(), "write " + config_.acked_log);
    }
    done += static_cast<std::size_t>(n);
  }
}

std::optional<TimePoint> DeviceSim::next_deadline() const {
  std::optional<TimePoint> best;
  const auto consider = [&](TimePoint t) {
    if (!best || t < *best) {
      best = t;
    }
  };
  const bool ring_room = ring_.size() < config_.ring || config_.ring_full == RingFull::kDropOldest;
  if (may_produce() && ring_room) {
    consider(next_produce_);
  }
  if (attached() && room_for_frame()) {
    for (const Entry& e : ring_) {
      consider(std::max(e.in_flight ? e.sent_at + config_.ack_timeout : TimePoint{}, hold_until_));
    }
  }
  return best;
}

bool DeviceSim::finished() const {
  return config_.count > 0 && stats_.produced >= config_.count && ring_.empty();
}

std::vector<std::uint32_t> DeviceSim::pending_seqs() const {
  std::vector<std::uint32_t> out;
  out.reserve(ring_.size());
  for (const Entry& e : ring_) {
    out.push_back(e.seq);
  }
  return out;
}

}  // namespace edge::devsim
