// edge-bench-lmdb-raw: the storage ceiling the gateway's durable ingest is measured against.
//
//   edge-bench-lmdb-raw --dir DIR --batch N [--seconds S] [--value-bytes 64]
//
// Opens a fresh LMDB environment in DIR with LMDB's defaults (full sync: every commit
// fdatasyncs before it returns, as the gateway's buffer does), then for S seconds runs write
// transactions of N puts each (8-byte big-endian increasing keys, 64-byte values) and commits.
// Prints one JSON line: {"batch":N,"commits":C,"puts":P,"seconds":T,"puts_per_s":..,
// "commits_per_s":..}. Exit 0, or 1 with the LMDB error on stderr.
#include <lmdb.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

bool check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) {
    std::fprintf(stderr, "edge-bench-lmdb-raw: %s: %s\n", what, mdb_strerror(rc));
    return false;
  }
  return true;
}

int usage() {
  std::fputs("usage: edge-bench-lmdb-raw --dir DIR --batch N [--seconds S] [--value-bytes B]\n",
             stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  unsigned long batch = 0;
  double seconds = 2.0;
  unsigned long value_bytes = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--dir") {
      dir = value;
    } else if (flag == "--batch") {
      batch = std::strtoul(value, nullptr, 10);
    } else if (flag == "--seconds") {
      seconds = std::strtod(value, nullptr);
    } else if (flag == "--value-bytes") {
      value_bytes = std::strtoul(value, nullptr, 10);
    } else {
      return usage();
    }
  }
  if (dir.empty() || batch == 0 || value_bytes == 0 || value_bytes > 4096 || seconds <= 0) {
    return usage();
  }

  MDB_env* env = nullptr;
  if (!check(mdb_env_create(&env), "mdb_env_create") ||
      !check(mdb_env_set_mapsize(env, std::size_t{4} << 30), "mdb_env_set_mapsize") ||
      !check(mdb_env_open(env, dir.c_str(), 0, 0600), "mdb_env_open")) {
    return 1;
  }
  MDB_dbi dbi = 0;
  {
    MDB_txn* txn = nullptr;
    if (!check(mdb_txn_begin(env, nullptr, 0, &txn), "mdb_txn_begin") ||
        !check(mdb_dbi_open(txn, nullptr, 0, &dbi), "mdb_dbi_open") ||
        !check(mdb_txn_commit(txn), "mdb_txn_commit")) {
      return 1;
    }
  }

  std::array<unsigned char, 4096> payload{};
  std::memset(payload.data(), 0x5a, payload.size());
  std::uint64_t next_key = 0;
  std::uint64_t commits = 0;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  auto now = start;
  while (now < until) {
    MDB_txn* txn = nullptr;
    if (!check(mdb_txn_begin(env, nullptr, 0, &txn), "mdb_txn_begin")) {
      return 1;
    }
    for (unsigned long i = 0; i < batch; ++i) {
      std::array<unsigned char, 8> key_bytes{};
      for (int b = 0; b < 8; ++b) {
        key_bytes[static_cast<std::size_t>(b)] =
            static_cast<unsigned char>(next_key >> (56 - 8 * b));
      }
      ++next_key;
      std::memcpy(payload.data(), key_bytes.data(), key_bytes.size());  // values differ
      MDB_val key{key_bytes.size(), key_bytes.data()};
      MDB_val val{value_bytes, payload.data()};
      if (!check(mdb_put(txn, dbi, &key, &val, MDB_APPEND), "mdb_put")) {
        mdb_txn_abort(txn);
        return 1;
      }
    }
    if (!check(mdb_txn_commit(txn), "mdb_txn_commit")) {
      return 1;
    }
    ++commits;
    now = Clock::now();
  }
  const double elapsed = std::chrono::duration<double>(now - start).count();
  std::printf(
      "{\"batch\":%lu,\"commits\":%llu,\"puts\":%llu,\"seconds\":%.4f,\"puts_per_s\":%.1f,"
      "\"commits_per_s\":%.1f}\n",
      batch, static_cast<unsigned long long>(commits), static_cast<unsigned long long>(next_key),
      elapsed, static_cast<double>(next_key) / elapsed, static_cast<double>(commits) / elapsed);
  mdb_env_close(env);
  return 0;
}
