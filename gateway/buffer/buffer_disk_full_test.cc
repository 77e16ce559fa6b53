// The buffer on a disk that cannot take more: a commit whose pages do not fit fails whole, says
// where and why, and the same events commit once there is room again. The daemon on a real full
// tmpfs is tests/fault/test_disk_full.py; here RLIMIT_FSIZE stands in for the full filesystem (a
// unit test cannot mount one): LMDB's writes past the limit fail the same way, the first one
// short (LMDB: EIO), later ones with EFBIG, as they do with ENOSPC at the end of a filesystem.
#include <signal.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <string>
#include <sys/resource.h>
#include <vector>

#include "edge/gateway/buffer.h"
#include "edge/gateway/temp_dir.h"

namespace edge::gateway {
namespace {

class BufferDiskFull : public testing::Test {
 protected:
  void SetUp() override {
    old_sigxfsz_ = ::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails, nothing more
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit_), 0);
  }
  void TearDown() override {
    ::setrlimit(RLIMIT_FSIZE, &old_limit_);
    ::signal(SIGXFSZ, old_sigxfsz_);
  }
  void limit_file_size(std::uint64_t bytes) {
    rlimit limit = old_limit_;
    limit.rlim_cur = bytes;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  }
  void lift_limit() { ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit_), 0); }

 private:
  rlimit old_limit_{};
  sighandler_t old_sigxfsz_ = SIG_DFL;
};

std::vector<std::uint8_t> payload(std::uint32_t seq) {
  std::vector<std::uint8_t> p(200);
  for (std::size_t i = 0; i < p.size(); ++i) {
    p[i] = static_cast<std::uint8_t>(seq + i);
  }
  return p;
}

std::uint64_t events_in(const Buffer& buffer) {
  auto s = buffer.stats();
  EXPECT_TRUE(std::holds_alternative<BufferStats>(s));
  return std::holds_alternative<BufferStats>(s) ? std::get<BufferStats>(s).events : 0;
}

// Regression: the daemon logged a full disk as "commit failed, N events acked busy:
// mdb_txn_commit: Input/output error", which reads like a failing device and names no path.
TEST_F(BufferDiskFull, ACommitThatCannotGrowTheFileFailsWholeSaysWhereAndCommitsLater) {
  TempDir dir;
  BufferOptions options;
  options.dir = dir.path();
  options.max_bytes = 64U << 20U;  // far from the map's bound: only the file cannot grow
  options.dedupe_window = 1024;
  auto opened = Buffer::open(options);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<Buffer>>(opened));
  Buffer& buffer = *std::get<std::unique_ptr<Buffer>>(opened);
  constexpr std::uint64_t kDevice = 0xD15C;
  constexpr std::uint32_t kBefore = 10;
  constexpr std::uint32_t kBatch = 500;  // ~100 KiB of events: more than any free page holds

  ASSERT_FALSE(buffer.begin());
  for (std::uint32_t seq = 0; seq < kBefore; ++seq) {
    ASSERT_EQ(buffer.add_event({kDevice, 1, seq}, payload(seq), 1), Disposition::kStored);
  }
  ASSERT_FALSE(buffer.commit());

  // The disk is full: the data file cannot grow past its size now.
  limit_file_size(std::filesystem::file_size(std::filesystem::path(dir.path()) / "data.mdb"));
  ASSERT_FALSE(buffer.begin());
  for (std::uint32_t seq = kBefore; seq < kBefore + kBatch; ++seq) {
    ASSERT_EQ(buffer.add_event({kDevice, 1, seq}, payload(seq), 2), Disposition::kStored);
  }
  const std::optional<BufferError> error = buffer.commit();
  ASSERT_TRUE(error.has_value()) << "the commit fitted: the test tests nothing";
  EXPECT_TRUE(error->code == EIO || error->code == EFBIG) << error->message;
  EXPECT_NE(error->message.find("mdb_txn_commit in " + dir.path() + ": "), std::string::npos)
      << error->message;
  EXPECT_NE(error->message.find("bytes free"), std::string::npos) << error->message;
  EXPECT_EQ(events_in(buffer), kBefore) << "nothing of the failed batch may be stored";

  // Room again: the device resends the same events. The failed batch left no dedupe mark, so
  // they are stored (not taken for duplicates and acked without being stored) and commit.
  lift_limit();
  ASSERT_FALSE(buffer.begin());
  for (std::uint32_t seq = kBefore; seq < kBefore + kBatch; ++seq) {
    ASSERT_EQ(buffer.add_event({kDevice, 1, seq}, payload(seq), 3), Disposition::kStored) << seq;
  }
  ASSERT_FALSE(buffer.commit());
  EXPECT_EQ(events_in(buffer), kBefore + kBatch);
  std::uint32_t next = 0;
  EXPECT_FALSE(buffer.for_each_event(0, SIZE_MAX, [&](const StoredEvent& e) {
    EXPECT_EQ(e.record.id.seq, next++);
    return true;
  }));
  EXPECT_EQ(next, kBefore + kBatch);
}

}  // namespace
}  // namespace edge::gateway
