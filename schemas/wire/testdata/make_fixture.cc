// Writes the v1.0 fixtures into the folder given as argv[1]. Run once, when schema 1.0 was
// made; kept so the next engineer can see exactly how the checked-in bytes came to be.
#include <cstdio>
#include <string>
#include <vector>

#include "fixture.h"

namespace {

bool write(const std::string& path, std::span<const std::uint8_t> bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return false;
  }
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace edge::wire;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <testdata-dir>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  flatbuffers::FlatBufferBuilder fbb;
  const auto event = encode_event(fbb, fixture::v1_event());
  if (!event.ok() || !write(dir + "/" + fixture::kEventFile, event.value())) {
    std::fprintf(stderr, "cannot write the event fixture\n");
    return 1;
  }
  std::vector<std::vector<std::uint8_t>> stored;
  for (std::uint32_t seq = 0; seq < fixture::kBatchEvents; ++seq) {
    const auto e = encode_event(fbb, fixture::v1_event(seq));
    stored.emplace_back(e.value().begin(), e.value().end());
  }
  const std::vector<std::span<const std::uint8_t>> spans(stored.begin(), stored.end());
  const auto batch = encode_batch(fbb, 0xA1, spans, fixture::kBatchRingDropped);
  if (!batch.ok() || !write(dir + "/" + fixture::kBatchFile, batch.value())) {
    std::fprintf(stderr, "cannot write the batch fixture\n");
    return 1;
  }
  return 0;
}
