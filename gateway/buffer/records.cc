#include "edge/gateway/records.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace edge::gateway {
namespace {

constexpr std::uint8_t kEventVersion = 1;
constexpr std::uint8_t kDeviceVersion = 1;
constexpr std::uint8_t kRateLogVersion = 1;
constexpr std::size_t kMaxString = 255;

class Writer {
 public:
  template <typename T>
  void put(T value) {
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      out.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(value) >> (8U * i)));
    }
  }
  void put_string(const std::string& s) {
    const std::size_t n = s.size() < kMaxString ? s.size() : kMaxString;
    put(static_cast<std::uint8_t>(n));
    out.insert(out.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
  }
  std::vector<std::uint8_t> out;
};

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
  template <typename T>
  T get() {
    if (in_.size() - pos_ < sizeof(T)) {
      ok_ = false;
      return T{};
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      v |= static_cast<std::uint64_t>(in_[pos_ + i]) << (8U * i);
    }
    pos_ += sizeof(T);
    return static_cast<T>(v);
  }
  std::string get_string() {
    const auto n = get<std::uint8_t>();
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] std::size_t pos() const { return pos_; }

 private:
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

std::vector<std::uint8_t> encode_event(const EventRecord& r) {
  Writer w;
  w.out.reserve(kEventHeaderSize + r.payload.size());
  w.put<std::uint8_t>(kEventVersion);
  w.put<std::uint8_t>(0);
  w.put<std::uint16_t>(0);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(r.payload.size()));
  w.put<std::uint64_t>(r.device);
  w.put<std::uint32_t>(r.id.boot);
  w.put<std::uint32_t>(r.id.seq);
  w.put<std::uint64_t>(r.received_us);
  w.out.insert(w.out.end(), r.payload.begin(), r.payload.end());
  return std::move(w.out);
}

std::optional<EventRecord> decode_event(std::span<const std::uint8_t> value) {
  Reader r(value);
  if (r.get<std::uint8_t>() != kEventVersion) {
    return std::nullopt;
  }
  (void)r.get<std::uint8_t>();
  (void)r.get<std::uint16_t>();
  const auto length = r.get<std::uint32_t>();
  EventRecord out;
  out.device = r.get<std::uint64_t>();
  out.id.device = out.device;
  out.id.boot = r.get<std::uint32_t>();
  out.id.seq = r.get<std::uint32_t>();
  out.received_us = r.get<std::uint64_t>();
  if (!r.ok() || value.size() - kEventHeaderSize != length) {
    return std::nullopt;
  }
  out.payload = value.subspan(kEventHeaderSize, length);
  return out;
}

std::vector<std::uint8_t> encode_device(const DeviceRecord& d) {
  Writer w;
  w.put<std::uint8_t>(kDeviceVersion);
  w.put<std::uint64_t>(d.device);
  w.put<std::uint32_t>(d.dedupe.boot);
  w.put<std::uint8_t>(d.dedupe.started ? 1 : 0);
  w.put<std::uint64_t>(d.dedupe.next);
  w.put<std::uint64_t>(d.dedupe.end);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(d.dedupe.bits.size()));
  for (const std::uint64_t word : d.dedupe.bits) {
    w.put<std::uint64_t>(word);
  }
  for (const std::uint64_t v : {d.first_seen_us, d.last_seen_us, d.last_hello_us}) {
    w.put<std::uint64_t>(v);
  }
  w.put<std::uint32_t>(d.hello_boot);
  w.put<std::uint32_t>(d.ring_capacity);
  w.put_string(d.firmware);
  w.put_string(d.board);
  w.put<std::uint32_t>(d.ring_dropped_boot);
  w.put<std::uint32_t>(d.ring_dropped_in_boot);
  for (const std::uint64_t v :
       {d.ring_dropped, d.stored, d.duplicates, d.gaps, d.dropped, d.refused_busy, d.stale_boot}) {
    w.put<std::uint64_t>(v);
  }
  return std::move(w.out);
}

std::optional<DeviceRecord> decode_device(std::span<const std::uint8_t> value) {
  Reader r(value);
  if (r.get<std::uint8_t>() != kDeviceVersion) {
    return std::nullopt;
  }
  DeviceRecord d;
  d.device = r.get<std::uint64_t>();
  d.dedupe.boot = r.get<std::uint32_t>();
  d.dedupe.started = r.get<std::uint8_t>() != 0;
  d.dedupe.next = r.get<std::uint64_t>();
  d.dedupe.end = r.get<std::uint64_t>();
  const auto words = r.get<std::uint32_t>();
  if (!r.ok() || words > (value.size() - r.pos()) / 8U) {
    return std::nullopt;
  }
  d.dedupe.bits.resize(words);
  for (auto& word : d.dedupe.bits) {
    word = r.get<std::uint64_t>();
  }
  d.first_seen_us = r.get<std::uint64_t>();
  d.last_seen_us = r.get<std::uint64_t>();
  d.last_hello_us = r.get<std::uint64_t>();
  d.hello_boot = r.get<std::uint32_t>();
  d.ring_capacity = r.get<std::uint32_t>();
  d.firmware = r.get_string();
  d.board = r.get_string();
  d.ring_dropped_boot = r.get<std::uint32_t>();
  d.ring_dropped_in_boot = r.get<std::uint32_t>();
  for (std::uint64_t* v : {&d.ring_dropped, &d.stored, &d.duplicates, &d.gaps, &d.dropped,
                           &d.refused_busy, &d.stale_boot}) {
    *v = r.get<std::uint64_t>();
  }
  if (!r.ok()) {
    return std::nullopt;
  }
  return d;
}

std::vector<std::uint8_t> encode_rate_log(const RateLog& log) {
  Writer w;
  const std::size_t n = std::min(log.samples.size(), kRateLogSamples);
  w.put<std::uint8_t>(kRateLogVersion);
  w.put<std::uint8_t>(log.policy);
  w.put<std::uint16_t>(static_cast<std::uint16_t>(n));
  w.put<std::uint32_t>(0);
  w.put<std::uint64_t>(log.high_water_bytes);
  w.put<std::uint64_t>(log.bytes_per_event);
  for (std::size_t i = log.samples.size() - n; i < log.samples.size(); ++i) {
    w.put<std::uint64_t>(log.samples[i].wall_us);
    w.put<std::uint64_t>(log.samples[i].stored);
    w.put<std::uint64_t>(log.samples[i].forwarded);
  }
  return std::move(w.out);
}

std::optional<RateLog> decode_rate_log(std::span<const std::uint8_t> value) {
  Reader r(value);
  if (r.get<std::uint8_t>() != kRateLogVersion) {
    return std::nullopt;
  }
  RateLog log;
  log.policy = r.get<std::uint8_t>();
  const auto n = r.get<std::uint16_t>();
  (void)r.get<std::uint32_t>();
  log.high_water_bytes = r.get<std::uint64_t>();
  log.bytes_per_event = r.get<std::uint64_t>();
  if (!r.ok() || n > kRateLogSamples) {
    return std::nullopt;
  }
  log.samples.resize(n);
  for (RateSample& s : log.samples) {
    s.wall_us = r.get<std::uint64_t>();
    s.stored = r.get<std::uint64_t>();
    s.forwarded = r.get<std::uint64_t>();
  }
  if (!r.ok()) {
    return std::nullopt;
  }
  return log;
}

std::uint64_t read_key(std::span<const std::uint8_t> key) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < key.size() && i < 8; ++i) {
    v = (v << 8U) | key[i];
  }
  return v;
}

std::array<std::uint8_t, 8> make_key(std::uint64_t value) {
  std::array<std::uint8_t, 8> key{};
  for (std::size_t i = 0; i < 8; ++i) {
    key[i] = static_cast<std::uint8_t>(value >> (56U - 8U * i));
  }
  return key;
}

}  // namespace edge::gateway
