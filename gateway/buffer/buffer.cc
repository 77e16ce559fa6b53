#include "edge/gateway/buffer.h"

#include <lmdb.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <sys/statvfs.h>

namespace edge::gateway {
namespace {

constexpr const char* kNextKey = "next_key";
constexpr const char* kBufferedBytes = "buffered_bytes";
constexpr const char* kRateLogKey = "rates";
// The level learned from MDB_MAP_FULL never goes below this share of max_bytes: lower, begin()'s
// "drained well below it" (max_bytes / 10 under) could never hold and the buffer would stay
// full for good.
constexpr std::uint64_t kMinLearnedLimitPercent = 20;
// After a batch hit MDB_MAP_FULL despite the high-water mark, the next batch first evicts this
// much more.
constexpr std::uint64_t kMapFullExtraEvictPercent = 5;

BufferError lmdb_error(int rc, const std::string& what) {
  return {rc, what + ": " + mdb_strerror(rc)};
}

// A failed write's message reports the filesystem as full below this much free space.
constexpr std::uint64_t kDiskFullBelowBytes = 1U << 20U;

// A write to the buffer's files that failed: names the directory and, when the cause may be the
// disk, the free space of its filesystem. LMDB reports a write that found no room at all as
// ENOSPC but a short one (the pages up to the end of the filesystem written, the rest not) as
// EIO, which on its own reads like a failing device.
BufferError write_error(int rc, const std::string& what, const std::string& dir) {
  BufferError error = lmdb_error(rc, what + " in " + dir);
  struct statvfs fs {};
  if ((rc == ENOSPC || rc == EIO || rc == EDQUOT || rc == EFBIG) &&
      ::statvfs(dir.c_str(), &fs) == 0) {
    const std::uint64_t free_bytes = std::uint64_t{fs.f_bavail} * fs.f_frsize;
    error.message += "; its filesystem has " + std::to_string(free_bytes) + " bytes free" +
                     (free_bytes < kDiskFullBelowBytes ? " (disk full)" : "");
  }
  return error;
}

MDB_val as_val(std::span<const std::uint8_t> bytes) {
  return {bytes.size(), const_cast<std::uint8_t*>(bytes.data())};
}

std::span<const std::uint8_t> as_span(const MDB_val& v) {
  return {static_cast<const std::uint8_t*>(v.mv_data), v.mv_size};
}

// A read transaction that always ends.
class ReadTxn {
 public:
  explicit ReadTxn(MDB_env* env) { rc_ = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn_); }
  ~ReadTxn() {
    if (rc_ == 0) {
      mdb_txn_abort(txn_);
    }
  }
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;
  [[nodiscard]] int rc() const { return rc_; }
  [[nodiscard]] MDB_txn* get() const { return txn_; }

 private:
  MDB_txn* txn_ = nullptr;
  int rc_ = 0;
};

std::uint64_t pages_of(MDB_txn* txn, MDB_dbi dbi, std::uint64_t* page_size = nullptr) {
  MDB_stat st{};
  if (mdb_stat(txn, dbi, &st) != 0) {
    return 0;
  }
  if (page_size != nullptr) {
    *page_size = st.ms_psize;
  }
  return st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
}

// Calls visit(key, value) for every record of `dbi`, in key order.
template <typename Visit>
void for_each_record(MDB_txn* txn, MDB_dbi dbi, Visit&& visit) {
  MDB_cursor* cursor = nullptr;
  if (mdb_cursor_open(txn, dbi, &cursor) != 0) {
    return;
  }
  MDB_val key{};
  MDB_val value{};
  for (int op = MDB_FIRST;
       mdb_cursor_get(cursor, &key, &value, static_cast<MDB_cursor_op>(op)) == 0; op = MDB_NEXT) {
    visit(key, value);
  }
  mdb_cursor_close(cursor);
}

// A "counters" record: name -> 8-byte little-endian count.
std::string counter_name(const MDB_val& key) {
  return {static_cast<const char*>(key.mv_data), key.mv_size};
}
std::uint64_t counter_value(const MDB_val& value) {
  std::uint64_t count = 0;
  std::memcpy(&count, value.mv_data, value.mv_size < 8 ? value.mv_size : 8);
  return count;
}

std::optional<RateLog> read_rate_log(MDB_txn* txn, MDB_dbi dbi) {
  MDB_val key{std::strlen(kRateLogKey), const_cast<char*>(kRateLogKey)};
  MDB_val value{};
  if (mdb_get(txn, dbi, &key, &value) != 0) {
    return std::nullopt;
  }
  return decode_rate_log(as_span(value));
}

std::uint64_t counter_or_zero(const std::map<std::string, std::uint64_t, std::less<>>& counters,
                              std::string_view name) {
  const auto found = counters.find(name);
  return found == counters.end() ? 0 : found->second;
}

}  // namespace

const char* to_string(Disposition d) {
  switch (d) {
    case Disposition::kStored: return "stored";
    case Disposition::kDuplicate: return "duplicate";
    case Disposition::kBusy: return "busy";
    case Disposition::kStaleBoot: return "stale_boot";
    case Disposition::kDeviceLimit: return "device_limit";
  }
  return "unknown";
}

Buffer::Buffer(BufferOptions options)
    : options_(std::move(options)), window_(options_.dedupe_window) {}

Buffer::~Buffer() {
  if (txn_ != nullptr) {
    mdb_txn_abort(txn_);
  }
  if (env_ != nullptr) {
    mdb_env_close(env_);
  }
}

std::variant<std::unique_ptr<Buffer>, BufferError> Buffer::open(const BufferOptions& options) {
  std::unique_ptr<Buffer> buffer(new Buffer(options));
  if (auto error = buffer->open_env()) {
    return *error;
  }
  if (!options.read_only) {
    if (auto error = buffer->load_state()) {
      return *error;
    }
  }
  return buffer;
}

std::optional<BufferError> Buffer::open_env() {
  const std::string& dir = options_.dir;
  if (!options_.read_only) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return BufferError{ec.value(), "cannot create buffer directory " + dir + ": " + ec.message()};
    }
    ::chmod(dir.c_str(), 0700);
  } else if (!std::filesystem::exists(std::filesystem::path(dir) / "data.mdb")) {
    return BufferError{ENOENT, "no buffer in " + dir + " (data.mdb not found)"};
  }
  int rc = mdb_env_create(&env_);
  if (rc == 0) {
    rc = mdb_env_set_maxdbs(env_, 4);
  }
  if (rc == 0 && !options_.read_only) {
    rc = mdb_env_set_mapsize(env_, options_.max_bytes);
  }
  if (rc != 0) {
    return lmdb_error(rc, "mdb_env_create");
  }
  unsigned flags = MDB_NOTLS | (options_.read_only ? MDB_RDONLY : 0U);
  if (!options_.read_only) {  // buffer.sync: weaker than LMDB's default only when configured
    flags |= options_.sync == BufferSync::kNoMetaSync ? MDB_NOMETASYNC
             : options_.sync == BufferSync::kNoSync   ? MDB_NOSYNC
                                                      : 0U;
  }
  rc = mdb_env_open(env_, dir.c_str(), flags, 0600);
  if (rc != 0) {
    return lmdb_error(rc, "mdb_env_open(" + dir + ")");
  }
  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(env_, nullptr, options_.read_only ? MDB_RDONLY : 0U, &txn);
  if (rc != 0) {
    return lmdb_error(rc, "mdb_txn_begin(" + dir + ")");
  }
  const unsigned create = options_.read_only ? 0U : MDB_CREATE;
  for (auto [name, dbi] : {std::pair{"events", &events_dbi_}, std::pair{"devices", &devices_dbi_},
                           std::pair{"counters", &counters_dbi_}, std::pair{"meta", &meta_dbi_}}) {
    MDB_dbi handle = 0;
    rc = mdb_dbi_open(txn, name, create, &handle);
    if (rc == MDB_NOTFOUND && dbi == &meta_dbi_ && options_.read_only) {
      continue;  // a buffer written before the rate log existed: no rates, nothing else lost
    }
    if (rc != 0) {
      mdb_txn_abort(txn);
      return lmdb_error(rc, std::string("mdb_dbi_open(") + name + ") in " + dir);
    }
    *dbi = handle;
    has_meta_ = has_meta_ || dbi == &meta_dbi_;
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0) {
    return lmdb_error(rc, "mdb_txn_commit(open " + dir + ")");
  }
  return std::nullopt;
}

std::variant<unsigned, BufferError> Buffer::env_flags() const {
  unsigned flags = 0;
  if (const int rc = mdb_env_get_flags(env_, &flags); rc != 0) {
    return lmdb_error(rc, "mdb_env_get_flags(" + options_.dir + ")");
  }
  return flags;
}

std::optional<BufferError> Buffer::load_state() {
  ReadTxn txn(env_);
  if (txn.rc() != 0) {
    return lmdb_error(txn.rc(), "mdb_txn_begin(load)");
  }
  for_each_record(txn.get(), counters_dbi_, [&](const MDB_val& key, const MDB_val& value) {
    counters_[counter_name(key)] = counter_value(value);
  });
  for_each_record(txn.get(), devices_dbi_, [&](const MDB_val&, const MDB_val& value) {
    if (auto record = decode_device(as_span(value))) {
      devices_[record->device] = std::move(*record);
    }
  });
  persisted_counters_ = counters_;
  if (auto log = read_rate_log(txn.get(), meta_dbi_)) {
    rate_log_ = std::move(*log);
  }
  MDB_cursor* cursor = nullptr;
  MDB_val key{};
  MDB_val value{};
  next_key_ = counters_.contains(kNextKey) ? counters_[kNextKey] : 1;
  if (mdb_cursor_open(txn.get(), events_dbi_, &cursor) == 0) {
    if (mdb_cursor_get(cursor, &key, &value, MDB_LAST) == 0) {
      next_key_ = std::max(next_key_, read_key(as_span(key)) + 1);
    }
    mdb_cursor_close(cursor);
  }
  return std::nullopt;
}

std::uint64_t Buffer::used_bytes(MDB_txn* txn) const {
  std::uint64_t page_size = 4096;
  const std::uint64_t pages = pages_of(txn, events_dbi_, &page_size) + pages_of(txn, devices_dbi_) +
                              pages_of(txn, counters_dbi_);
  return (pages + 2) * page_size;  // + the two meta pages
}

std::uint64_t Buffer::high_water() const {
  const std::uint64_t configured = options_.max_bytes * options_.high_water_percent / 100U;
  return std::min(configured, learned_limit_);
}

std::optional<BufferError> Buffer::begin() {
  if (in_batch()) {
    return BufferError{EBUSY, "a batch is already open"};
  }
  if (auto error = begin_txn()) {
    return error;
  }
  // Once the buffer has drained well below the level where LMDB filled, trust the configured
  // high-water mark again.
  if (learned_limit_ != UINT64_MAX &&
      used_bytes(txn_) + options_.max_bytes / 10U < learned_limit_) {
    learned_limit_ = UINT64_MAX;
  }
  if (evict_next_batch_ && options_.policy == FullPolicy::kDropOldest) {
    evict_next_batch_ = false;
    const std::uint64_t extra = options_.max_bytes * kMapFullExtraEvictPercent / 100U;
    evict_until(high_water() > extra ? high_water() - extra : 0);
    // A transaction cannot reuse the pages it frees itself: commit the eviction alone, so the
    // batch that follows has the room MDB_MAP_FULL asked for.
    if (auto error = commit()) {
      return error;
    }
    return begin_txn();
  }
  return std::nullopt;
}

std::optional<BufferError> Buffer::begin_txn() {
  batch_error_.reset();
  const int rc = mdb_txn_begin(env_, nullptr, 0, &txn_);
  if (rc != 0) {
    txn_ = nullptr;
    return lmdb_error(rc, "mdb_txn_begin(write)");
  }
  undo_counters_ = counters_;
  undo_next_key_ = next_key_;
  return std::nullopt;
}

DeviceRecord* Buffer::device_for_write(std::uint64_t device, std::uint64_t now_us) {
  auto it = devices_.find(device);
  if (it == devices_.end()) {
    if (devices_.size() >= options_.max_devices) {
      return nullptr;
    }
    undo_devices_.try_emplace(device, std::nullopt);
    DeviceRecord& record = devices_[device];
    record.device = device;
    record.first_seen_us = now_us;
    return &record;
  }
  undo_devices_.try_emplace(device, it->second);
  return &it->second;
}

void Buffer::count(std::string_view name, std::uint64_t delta) {
  if (delta == 0) {
    return;
  }
  auto it = counters_.find(name);
  if (it == counters_.end()) {
    counters_.emplace(std::string(name), delta);
  } else {
    it->second += delta;
  }
}

void Buffer::evict_until(std::uint64_t target_bytes) {
  MDB_cursor* cursor = nullptr;
  if (mdb_cursor_open(txn_, events_dbi_, &cursor) != 0) {
    return;
  }
  MDB_val key{};
  MDB_val value{};
  while (used_bytes(txn_) > target_bytes && mdb_cursor_get(cursor, &key, &value, MDB_FIRST) == 0) {
    if (auto record = decode_event(as_span(value))) {
      if (DeviceRecord* d = device_for_write(record->device, 0)) {
        ++d->dropped;
      }
    }
    count("dropped_oldest");
    auto& buffered = counters_[kBufferedBytes];
    buffered -= std::min<std::uint64_t>(buffered, value.mv_size);
    if (mdb_cursor_del(cursor, 0) != 0) {
      break;
    }
  }
  mdb_cursor_close(cursor);
}

void Buffer::fail_batch(int rc, const char* what) {
  mdb_txn_abort(txn_);
  txn_ = nullptr;
  rollback();
  batch_error_ = write_error(rc, what, options_.dir);
  if (rc == MDB_MAP_FULL) {
    // The map filled below the high-water mark (free pages LMDB could not reuse yet, a long
    // reader pinning old pages, large values): treat this level as full from now on, so the
    // policy applies before LMDB refuses again, until the buffer drains (see begin()).
    // The level is the committed one: LMDB refuses mdb_stat on the failed transaction (it read
    // as two pages, and a limit of 0 wedged the buffer for good). A level too low to learn
    // from (a reader pinning pages of a nearly empty buffer) leaves the limit as it was.
    // Filling again without the level getting lower (batches too big for what LMDB can reuse
    // within one transaction) steps the limit down one margin per MDB_MAP_FULL, so drop_oldest
    // evicts enough for a batch to fit; never below kMinLearnedLimitPercent, from where begin()
    // can still see the buffer drain and trust the configured mark again.
    const ReadTxn committed(env_);
    const std::uint64_t used = committed.rc() == 0 ? used_bytes(committed.get()) : 0;
    const std::uint64_t margin = options_.max_bytes * kEvictHysteresisPercent / 100U;
    std::uint64_t limit = used > margin ? used - margin : 0;
    if (learned_limit_ != UINT64_MAX && limit + margin > learned_limit_) {
      limit = learned_limit_ > margin ? learned_limit_ - margin : 0;
    }
    const std::uint64_t floor = options_.max_bytes * kMinLearnedLimitPercent / 100U;
    learned_limit_ = std::min(learned_limit_, std::max(limit, floor));
    count("map_full");  // after the rollback: persisted by the next successful commit
    evict_next_batch_ = options_.policy == FullPolicy::kDropOldest;
  }
}

Disposition Buffer::add_event(const EventId& id, std::span<const std::uint8_t> payload,
                              std::uint64_t now_us) {
  if (txn_ == nullptr || batch_error_) {
    return Disposition::kBusy;
  }
  DeviceRecord* d = device_for_write(id.device, now_us);
  if (d == nullptr) {
    count("device_limit");
    return Disposition::kDeviceLimit;
  }
  d->last_seen_us = now_us;
  const std::uint64_t high = high_water();
  const bool full = used_bytes(txn_) >= high;
  if (full && options_.policy == FullPolicy::kDropOldest) {
    const std::uint64_t low = options_.max_bytes * kEvictHysteresisPercent / 100U;
    evict_until(high > low ? high - low : 0);
  }
  // Under refuse_new a full buffer still acks duplicates; only a new event is refused, and then
  // the window must not remember it (the device will send it again): observe a copy.
  const bool refuse_if_new = full && options_.policy == FullPolicy::kRefuseNew;
  DedupeState trial;
  if (refuse_if_new) {
    trial = d->dedupe;
  }
  DedupeState& state = refuse_if_new ? trial : d->dedupe;
  const Observation seen = window_.observe(state, id.boot, id.seq);
  switch (seen.verdict) {
    case Verdict::kDuplicate:
      ++d->duplicates;
      count("duplicates");
      return Disposition::kDuplicate;
    case Verdict::kStaleBoot:
      // Cannot be deduplicated (that boot's window is gone): store it, at-least-once.
      ++d->stale_boot;
      count("stale_boot");
      break;
    case Verdict::kNew: break;
  }
  if (refuse_if_new) {
    ++d->refused_busy;
    count("refused_busy");
    return Disposition::kBusy;
  }
  d->gaps += seen.gaps;
  count("gaps", seen.gaps);

  const std::vector<std::uint8_t> value = encode_event({id.device, id, now_us, payload});
  const auto key = make_key(next_key_);
  MDB_val k = as_val(key);
  MDB_val v = as_val(value);
  const int rc = mdb_put(txn_, events_dbi_, &k, &v, MDB_APPEND);
  if (rc != 0) {
    fail_batch(rc, "mdb_put(events)");
    return Disposition::kBusy;
  }
  ++next_key_;
  ++d->stored;
  count("stored");
  count(kBufferedBytes, value.size());
  return seen.verdict == Verdict::kStaleBoot ? Disposition::kStaleBoot : Disposition::kStored;
}

std::size_t Buffer::erase(std::span<const std::uint64_t> keys) {
  if (txn_ == nullptr || batch_error_) {
    return 0;
  }
  std::size_t erased = 0;
  for (const std::uint64_t key : keys) {
    const auto k = make_key(key);
    MDB_val kv = as_val(k);
    MDB_val value{};
    if (mdb_get(txn_, events_dbi_, &kv, &value) != 0) {
      continue;
    }
    const std::size_t size = value.mv_size;
    const int rc = mdb_del(txn_, events_dbi_, &kv, nullptr);
    if (rc != 0) {
      fail_batch(rc, "mdb_del(events)");
      return 0;
    }
    auto& buffered = counters_[kBufferedBytes];
    buffered -= std::min<std::uint64_t>(buffered, size);
    ++erased;
  }
  count("forwarded", erased);
  return erased;
}

bool Buffer::note_hello(std::uint64_t device, std::uint32_t boot, std::string_view firmware,
                        std::string_view board, std::uint32_t ring_capacity, std::uint64_t now_us) {
  if (txn_ == nullptr || batch_error_) {
    return true;  // nothing to record into; the next Hello or event registers the device
  }
  DeviceRecord* d = device_for_write(device, now_us);
  if (d == nullptr) {
    count("device_limit");
    return false;
  }
  d->last_hello_us = now_us;
  d->last_seen_us = now_us;
  d->hello_boot = boot;
  d->ring_capacity = ring_capacity;
  d->firmware = std::string(firmware.substr(0, 64));
  d->board = std::string(board.substr(0, 64));
  return true;
}

void Buffer::note_ring_dropped(std::uint64_t device, std::uint32_t boot, std::uint32_t dropped) {
  if (txn_ == nullptr || batch_error_) {
    return;
  }
  DeviceRecord* d = device_for_write(device, 0);
  if (d == nullptr) {
    return;
  }
  std::uint64_t delta = 0;
  if (boot != d->ring_dropped_boot) {
    delta = dropped;
    d->ring_dropped_boot = boot;
  } else if (dropped > d->ring_dropped_in_boot) {
    delta = dropped - d->ring_dropped_in_boot;
  }
  d->ring_dropped_in_boot = dropped;
  d->ring_dropped += delta;
  count("ring_dropped", delta);
}

std::optional<BufferError> Buffer::commit() {
  if (batch_error_) {
    std::optional<BufferError> error = std::move(batch_error_);
    batch_error_.reset();
    return error;
  }
  if (txn_ == nullptr) {
    return BufferError{EINVAL, "commit without a batch"};
  }
  counters_[kNextKey] = next_key_;
  int rc = 0;
  for (const auto& [device, before] : undo_devices_) {
    const auto found = devices_.find(device);
    if (found == devices_.end()) {
      continue;
    }
    const auto key = make_key(device);
    const auto value = encode_device(found->second);
    MDB_val k = as_val(key);
    MDB_val v = as_val(value);
    if ((rc = mdb_put(txn_, devices_dbi_, &k, &v, 0)) != 0) {
      fail_batch(rc, "mdb_put(devices)");
      return commit();
    }
  }
  for (const auto& [name, value] : counters_) {
    if (auto old = persisted_counters_.find(name);
        old != persisted_counters_.end() && old->second == value) {
      continue;
    }
    MDB_val k{name.size(), const_cast<char*>(name.data())};
    std::uint64_t copy = value;
    MDB_val v{sizeof(copy), &copy};
    if ((rc = mdb_put(txn_, counters_dbi_, &k, &v, 0)) != 0) {
      fail_batch(rc, "mdb_put(counters)");
      return commit();
    }
  }
  rc = mdb_txn_commit(txn_);
  txn_ = nullptr;
  if (rc != 0) {
    rollback();
    return write_error(rc, "mdb_txn_commit", options_.dir);
  }
  undo_devices_.clear();
  persisted_counters_ = counters_;
  return std::nullopt;
}

void Buffer::abort() {
  if (txn_ != nullptr) {
    mdb_txn_abort(txn_);
    txn_ = nullptr;
    rollback();
  }
  batch_error_.reset();
}

void Buffer::rollback() {
  for (auto& [device, before] : undo_devices_) {
    if (before.has_value()) {
      devices_[device] = std::move(*before);
    } else {
      devices_.erase(device);
    }
  }
  undo_devices_.clear();
  counters_ = undo_counters_;
  next_key_ = undo_next_key_;
}

std::variant<BufferStats, BufferError> Buffer::stats() const {
  ReadTxn txn(env_);
  if (txn.rc() != 0) {
    return lmdb_error(txn.rc(), "mdb_txn_begin(stats)");
  }
  BufferStats s;
  MDB_stat st{};
  mdb_stat(txn.get(), events_dbi_, &st);
  s.events = st.ms_entries;
  mdb_stat(txn.get(), devices_dbi_, &st);
  s.devices = st.ms_entries;
  s.used_bytes = used_bytes(txn.get());
  std::uint64_t page_size = 4096;
  s.events_bytes = pages_of(txn.get(), events_dbi_, &page_size);
  s.events_bytes *= page_size;
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  s.max_bytes = info.me_mapsize;
  if (has_meta_) {
    s.rate_log = read_rate_log(txn.get(), meta_dbi_);
  }
  if (!options_.read_only) {
    s.high_water_bytes = high_water();
  } else if (s.rate_log && s.rate_log->high_water_bytes != 0) {
    s.high_water_bytes = s.rate_log->high_water_bytes;  // what the daemon applies
  } else {
    s.high_water_bytes = s.max_bytes * options_.high_water_percent / 100U;
  }
  MDB_cursor* cursor = nullptr;
  MDB_val key{};
  MDB_val value{};
  if (mdb_cursor_open(txn.get(), events_dbi_, &cursor) == 0) {
    if (mdb_cursor_get(cursor, &key, &value, MDB_FIRST) == 0) {
      s.oldest_key = read_key(as_span(key));
      if (auto record = decode_event(as_span(value))) {
        s.oldest_received_us = record->received_us;
      }
    }
    if (mdb_cursor_get(cursor, &key, &value, MDB_LAST) == 0) {
      s.newest_key = read_key(as_span(key));
    }
    mdb_cursor_close(cursor);
  }
  for_each_record(txn.get(), counters_dbi_, [&](const MDB_val& k, const MDB_val& v) {
    s.counters[counter_name(k)] = counter_value(v);
  });
  s.payload_bytes = s.counters.contains(kBufferedBytes) ? s.counters[kBufferedBytes] : 0;
  return s;
}

std::optional<BufferError> Buffer::sample_rates(std::uint64_t wall_us) {
  if (in_batch() || options_.read_only) {
    return std::nullopt;
  }
  RateLog next = rate_log_;
  if (!next.samples.empty() && wall_us < next.samples.back().wall_us) {
    next.samples.clear();  // the clock went back: points from "the future" would mislead
    quiet_until_us_ = 0;
  }
  const RateSample now{wall_us, counter_or_zero(counters_, "stored"),
                       counter_or_zero(counters_, "forwarded")};
  const bool moved = next.samples.empty() || now.stored != next.samples.back().stored ||
                     now.forwarded != next.samples.back().forwarded;
  next.policy = options_.policy == FullPolicy::kRefuseNew ? 1 : 0;
  next.high_water_bytes = high_water();
  const bool limits_changed =
      next.policy != rate_log_.policy || next.high_water_bytes != rate_log_.high_water_bytes;
  if (!moved) {
    quiet_until_us_ = wall_us;
  } else if (next.samples.empty() ||
             wall_us - next.samples.back().wall_us >= kRateSampleIntervalUs) {
    if (!next.samples.empty() && quiet_until_us_ > next.samples.back().wall_us) {
      // The totals stood still until quiet_until_us_: without this point a reader would spread
      // what moved since over the whole quiet spell.
      RateSample end_of_quiet = next.samples.back();
      end_of_quiet.wall_us = quiet_until_us_;
      next.samples.push_back(end_of_quiet);
    }
    next.samples.push_back(now);
    if (next.samples.size() > kRateLogSamples) {
      next.samples.erase(next.samples.begin(),
                         next.samples.end() - static_cast<std::ptrdiff_t>(kRateLogSamples));
    }
  } else if (!limits_changed) {
    return std::nullopt;  // moving, but the last point is recent
  }
  if (next.samples.size() == rate_log_.samples.size() && !limits_changed &&
      std::equal(next.samples.begin(), next.samples.end(), rate_log_.samples.begin())) {
    return std::nullopt;
  }
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) {
    return lmdb_error(rc, "mdb_txn_begin(rates)");
  }
  MDB_stat st{};
  if (mdb_stat(txn, events_dbi_, &st) == 0 && st.ms_entries >= kMinEventsForSize) {
    const std::uint64_t pages = st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
    next.bytes_per_event = pages * st.ms_psize / st.ms_entries;
  }
  const std::vector<std::uint8_t> value = encode_rate_log(next);
  MDB_val k{std::strlen(kRateLogKey), const_cast<char*>(kRateLogKey)};
  MDB_val v = as_val(value);
  rc = mdb_put(txn, meta_dbi_, &k, &v, 0);
  if (rc != 0) {
    mdb_txn_abort(txn);
    return lmdb_error(rc, "mdb_put(rates)");
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0) {
    return lmdb_error(rc, "mdb_txn_commit(rates)");
  }
  rate_log_ = std::move(next);
  return std::nullopt;
}

std::optional<BufferError> Buffer::for_each_event(
    std::uint64_t from_key, std::size_t limit,
    const std::function<bool(const StoredEvent&)>& visit) const {
  ReadTxn txn(env_);
  if (txn.rc() != 0) {
    return lmdb_error(txn.rc(), "mdb_txn_begin(read)");
  }
  MDB_cursor* cursor = nullptr;
  const int rc = mdb_cursor_open(txn.get(), events_dbi_, &cursor);
  if (rc != 0) {
    return lmdb_error(rc, "mdb_cursor_open(events)");
  }
  const auto start = make_key(from_key);
  MDB_val key = as_val(start);
  MDB_val value{};
  std::size_t visited = 0;
  for (int op = MDB_SET_RANGE;
       visited < limit && mdb_cursor_get(cursor, &key, &value, static_cast<MDB_cursor_op>(op)) == 0;
       op = MDB_NEXT) {
    const auto record = decode_event(as_span(value));
    if (!record) {
      continue;
    }
    ++visited;
    if (!visit(StoredEvent{read_key(as_span(key)), *record})) {
      break;
    }
  }
  mdb_cursor_close(cursor);
  return std::nullopt;
}

std::variant<std::vector<DeviceRecord>, BufferError> Buffer::devices() const {
  ReadTxn txn(env_);
  if (txn.rc() != 0) {
    return lmdb_error(txn.rc(), "mdb_txn_begin(devices)");
  }
  std::vector<DeviceRecord> out;
  for_each_record(txn.get(), devices_dbi_, [&](const MDB_val&, const MDB_val& value) {
    if (auto record = decode_device(as_span(value))) {
      out.push_back(std::move(*record));
    }
  });
  return out;
}

}  // namespace edge::gateway
