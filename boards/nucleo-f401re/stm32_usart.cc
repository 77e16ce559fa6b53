#include "stm32_usart.h"

#include "stm32f401.h"

namespace edge::board {
namespace {

using stm32::reg;

// Registers (RM0368 19.6): offsets from the USART base.
constexpr std::uintptr_t kSr = 0x00;
constexpr std::uintptr_t kDr = 0x04;
constexpr std::uintptr_t kBrr = 0x08;
constexpr std::uintptr_t kCr1 = 0x0C;
constexpr std::uintptr_t kCr2 = 0x10;
constexpr std::uintptr_t kCr3 = 0x14;

constexpr std::uint32_t kSrRxne = 1U << 5U;  // a byte is waiting in DR
constexpr std::uint32_t kSrTc = 1U << 6U;    // transmission complete
constexpr std::uint32_t kSrTxe = 1U << 7U;   // DR can take the next byte
constexpr std::uint32_t kSrOre = 1U << 3U;   // overrun (cleared by reading SR then DR)
constexpr std::uint32_t kCr1Re = 1U << 2U;
constexpr std::uint32_t kCr1Rxneie = 1U << 5U;  // interrupt on RXNE and on ORE
constexpr std::uint32_t kCr1Te = 1U << 3U;
constexpr std::uint32_t kCr1Ue = 1U << 13U;

static_assert((Stm32Usart::kRxRingBytes & (Stm32Usart::kRxRingBytes - 1U)) == 0U,
              "free-running indices need a power-of-two ring");

// A byte at 9600 baud takes about 1 ms; a poll is at least a few core cycles, so this bound is
// tens of milliseconds at 84 MHz: only a dead transmitter reaches it.
constexpr std::uint32_t kTxPolls = 1'000'000;

}  // namespace

void Stm32Usart::init(std::uint32_t pclk_hz, std::uint32_t baud) const {
  // Oversampling by 16 (RM0368 19.3.4): USARTDIV = pclk / (16 * baud), BRR holds it as a
  // 12.4 fixed-point number, i.e. BRR = pclk / baud rounded. 42 MHz / 115200: 365 (0.1 % fast).
  reg(base_ + kCr1) = 0;
  reg(base_ + kCr2) = 0;  // 1 stop bit
  reg(base_ + kCr3) = 0;  // no flow control, no DMA
  reg(base_ + kBrr) = (pclk_hz + baud / 2U) / baud;
  reg(base_ + kCr1) = kCr1Ue | kCr1Te | kCr1Re | kCr1Rxneie;  // M = 0: 8 bits, no parity
}

std::size_t Stm32Usart::write(std::span<const std::uint8_t> bytes) {
  std::size_t sent = 0;
  for (const std::uint8_t b : bytes) {
    std::uint32_t polls = 0;
    while ((reg(base_ + kSr) & kSrTxe) == 0U) {
      if (++polls == kTxPolls) {
        return sent;
      }
    }
    reg(base_ + kDr) = b;
    ++sent;
  }
  return sent;
}

void Stm32Usart::on_interrupt() {
  const std::uint32_t status = reg(base_ + kSr);
  if ((status & (kSrRxne | kSrOre)) == 0U) {
    return;
  }
  // Reading DR after SR clears RXNE and ORE together.
  const auto byte = static_cast<std::uint8_t>(reg(base_ + kDr) & 0xFFU);
  if ((status & kSrOre) != 0U) {  // the byte after this one was lost
    dropped_.store(dropped_.load(std::memory_order_relaxed) + 1U, std::memory_order_relaxed);
  }
  if ((status & kSrRxne) == 0U) {
    return;
  }
  const std::uint32_t head = head_.load(std::memory_order_relaxed);
  if (head - tail_.load(std::memory_order_acquire) == kRxRingBytes) {
    dropped_.store(dropped_.load(std::memory_order_relaxed) + 1U, std::memory_order_relaxed);
    return;
  }
  rx_[head % kRxRingBytes] = byte;
  head_.store(head + 1U, std::memory_order_release);
}

std::size_t Stm32Usart::read(std::span<std::uint8_t> out) {
  std::uint32_t tail = tail_.load(std::memory_order_relaxed);
  const std::uint32_t head = head_.load(std::memory_order_acquire);
  std::size_t n = 0;
  while (n < out.size() && tail != head) {
    out[n++] = rx_[tail % kRxRingBytes];
    ++tail;
  }
  tail_.store(tail, std::memory_order_release);
  return n;
}

void Stm32Usart::flush() const {
  for (std::uint32_t polls = 0; polls < kTxPolls && (reg(base_ + kSr) & kSrTc) == 0U; ++polls) {
  }
}

}  // namespace edge::board
