#include "edge/link/crc32c.h"

#include <array>
#include <atomic>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define EDGE_CRC32C_X86 1
#define EDGE_CRC32C_HARDWARE 1
#elif defined(__aarch64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#include <arm_acle.h>

#include <asm/hwcap.h>
#include <sys/auxv.h>
#define EDGE_CRC32C_ARM64 1
#define EDGE_CRC32C_HARDWARE 1
#endif

namespace edge::link {
namespace {

constexpr std::uint32_t kPolyReflected = 0x82F63B78U;

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 1U) != 0U ? (crc >> 1U) ^ kPolyReflected : crc >> 1U;
    }
    table[i] = crc;
  }
  return table;
}

// 1 KiB in flash on a device; computed at compile time.
constexpr std::array<std::uint32_t, 256> kTable = make_table();

#if defined(EDGE_CRC32C_X86)
// SSE 4.2's CRC32 instruction computes exactly CRC-32C, 8 bytes at a time.
__attribute__((target("sse4.2"))) std::uint32_t crc32c_hardware(std::span<const std::uint8_t> data,
                                                                std::uint32_t crc) {
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  std::uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, sizeof(word));
    c = _mm_crc32_u64(c, word);
  }
  auto c32 = static_cast<std::uint32_t>(c);
  for (; n > 0; --n, ++p) {
    c32 = _mm_crc32_u8(c32, *p);
  }
  return c32;
}

bool detect_hardware() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2") != 0;
}
#elif defined(EDGE_CRC32C_ARM64)
// ARMv8's optional CRC32 extension (Cortex-A53/A72 and later have it): CRC32C* instructions.
__attribute__((target("+crc"))) std::uint32_t crc32c_hardware(std::span<const std::uint8_t> data,
                                                              std::uint32_t crc) {
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, sizeof(word));
    crc = __crc32cd(crc, word);
  }
  for (; n > 0; --n, ++p) {
    crc = __crc32cb(crc, *p);
  }
  return crc;
}

bool detect_hardware() {
  return (::getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
}
#endif

#if defined(EDGE_CRC32C_HARDWARE)
// 0: not asked yet, 1: the instructions, 2: the table. Any thread may ask first; all get the same
// answer, so a relaxed atomic is enough (and no function-local static guard on the fast path).
std::atomic<int> g_hardware{0};

bool hardware_available() {
  int known = g_hardware.load(std::memory_order_relaxed);
  if (known == 0) {
    known = detect_hardware() ? 1 : 2;
    g_hardware.store(known, std::memory_order_relaxed);
  }
  return known == 1;
}
#endif

}  // namespace

std::uint32_t crc32c_table(std::span<const std::uint8_t> data, std::uint32_t crc) {
  crc = ~crc;
  for (const std::uint8_t byte : data) {
    crc = kTable[(crc ^ byte) & 0xFFU] ^ (crc >> 8U);
  }
  return ~crc;
}

bool crc32c_hardware_used() {
#if defined(EDGE_CRC32C_HARDWARE)
  return hardware_available();
#else
  return false;
#endif
}

std::uint32_t crc32c(std::span<const std::uint8_t> data, std::uint32_t crc) {
#if defined(EDGE_CRC32C_HARDWARE)
  if (hardware_available()) {
    return ~crc32c_hardware(data, ~crc);
  }
#endif
  return crc32c_table(data, crc);
}

}  // namespace edge::link
