#include "stm32_i2c.h"

#include "stm32f401.h"

namespace edge::board {
namespace {

using stm32::clear_bits;
using stm32::reg;
using stm32::set_bits;

// Registers (RM0368 18.6): offsets from the I2C base.
constexpr std::uintptr_t kCr1 = 0x00;
constexpr std::uintptr_t kCr2 = 0x04;
constexpr std::uintptr_t kDr = 0x10;
constexpr std::uintptr_t kSr1 = 0x14;
constexpr std::uintptr_t kSr2 = 0x18;
constexpr std::uintptr_t kCcr = 0x1C;
constexpr std::uintptr_t kTrise = 0x20;

constexpr std::uint32_t kCr1Pe = 1U << 0U;
constexpr std::uint32_t kCr1Start = 1U << 8U;
constexpr std::uint32_t kCr1Stop = 1U << 9U;
constexpr std::uint32_t kCr1Ack = 1U << 10U;
constexpr std::uint32_t kCr1Pos = 1U << 11U;
constexpr std::uint32_t kCr1Swrst = 1U << 15U;

constexpr std::uint32_t kSr1Sb = 1U << 0U;    // START sent
constexpr std::uint32_t kSr1Addr = 1U << 1U;  // address acknowledged
constexpr std::uint32_t kSr1Btf = 1U << 2U;   // byte transfer finished (DR and shift reg full)
constexpr std::uint32_t kSr1Rxne = 1U << 6U;
constexpr std::uint32_t kSr1Txe = 1U << 7U;
constexpr std::uint32_t kSr1Berr = 1U << 8U;
constexpr std::uint32_t kSr1Arlo = 1U << 9U;
constexpr std::uint32_t kSr1Af = 1U << 10U;  // acknowledge failure: a NACK
constexpr std::uint32_t kSr1Errors = kSr1Berr | kSr1Arlo | kSr1Af;
constexpr std::uint32_t kSr2Busy = 1U << 1U;

constexpr std::uint32_t kSclHz = 100'000;
// A byte at 100 kHz takes 90 us. A poll is one APB1 read (several core cycles at 84 MHz), so
// this bound is roughly 10 ms or more: generous for clock stretching, short for a stuck bus.
constexpr std::uint32_t kPolls = 200'000;

}  // namespace

void Stm32I2c::init(std::uint32_t pclk1_hz) {
  pclk1_hz_ = pclk1_hz;
  reg(base_ + kCr1) = kCr1Swrst;  // clears a BUSY left over from an interrupted transfer
  reg(base_ + kCr1) = 0;
  const std::uint32_t mhz = pclk1_hz / 1'000'000U;
  reg(base_ + kCr2) = mhz;  // FREQ: the APB1 clock in MHz (timing reference)
  // Standard mode (RM0368 18.6.8 CCR): SCL high = low = CCR * Tpclk1, so CCR = pclk1 / (2 * SCL);
  // 42 MHz: 210. TRISE (18.6.9): the 1000 ns maximum rise time in pclk1 cycles, plus one.
  reg(base_ + kCcr) = pclk1_hz / (2U * kSclHz);
  reg(base_ + kTrise) = mhz + 1U;
  reg(base_ + kCr1) = kCr1Pe;
}

bus::BusStatus Stm32I2c::wait_for(std::uint32_t sr1_flag) const {
  for (std::uint32_t polls = 0; polls < kPolls; ++polls) {
    const std::uint32_t sr1 = reg(base_ + kSr1);
    if ((sr1 & kSr1Af) != 0U) {
      return bus::BusStatus::kNack;
    }
    if ((sr1 & kSr1Arlo) != 0U) {
      return bus::BusStatus::kArbitrationLost;
    }
    if ((sr1 & kSr1Berr) != 0U) {
      return bus::BusStatus::kBusError;
    }
    if ((sr1 & sr1_flag) != 0U) {
      return bus::BusStatus::kOk;
    }
  }
  return bus::BusStatus::kTimeout;
}

void Stm32I2c::stop() const {
  set_bits(base_ + kCr1, kCr1Stop);
  wait_stopped();
}

void Stm32I2c::wait_stopped() const {
  // The hardware clears STOP once the condition is on the bus; a START set before that is lost.
  for (std::uint32_t polls = 0; polls < kPolls && (reg(base_ + kCr1) & kCr1Stop) != 0U; ++polls) {
  }
}

// (Repeated) START, then the address byte; on success ADDR is still set (SCL held low), so the
// caller can prepare ACK/POS before clearing it by reading SR2.
bus::BusStatus Stm32I2c::start(std::uint8_t address_byte) const {
  set_bits(base_ + kCr1, kCr1Start);
  if (const auto status = wait_for(kSr1Sb); status != bus::BusStatus::kOk) {
    return status;
  }
  reg(base_ + kDr) = address_byte;  // reading SR1 (in wait_for) then writing DR clears SB
  return wait_for(kSr1Addr);
}

// Master transmitter (RM0368 18.3.3, Figure 164). Ends with BTF set and no STOP.
bus::BusStatus Stm32I2c::transmit(std::uint8_t address, std::span<const std::uint8_t> tx) const {
  if (const auto status = start(static_cast<std::uint8_t>(address << 1U));
      status != bus::BusStatus::kOk) {
    return status;
  }
  stm32::touch(base_ + kSr2);  // SR1 then SR2 read: clears ADDR
  for (const std::uint8_t byte : tx) {
    if (const auto status = wait_for(kSr1Txe); status != bus::BusStatus::kOk) {
      return status;
    }
    reg(base_ + kDr) = byte;
  }
  return tx.empty() ? bus::BusStatus::kOk : wait_for(kSr1Btf);
}

// Master receiver, polled (RM0368 18.3.3, "Closing the communication"): the NACK and STOP for
// the last byte must be set up while the bytes before it are still being clocked, which needs
// a different sequence for one, two and more bytes.
bus::BusStatus Stm32I2c::receive(std::uint8_t address, std::span<std::uint8_t> rx) const {
  const std::size_t n = rx.size();
  if (n > 2) {
    set_bits(base_ + kCr1, kCr1Ack);
  } else {
    clear_bits(base_ + kCr1, kCr1Ack);
  }
  if (const auto status = start(static_cast<std::uint8_t>((address << 1U) | 1U));
      status != bus::BusStatus::kOk) {
    return status;
  }
  auto read_dr = [this] { return static_cast<std::uint8_t>(reg(base_ + kDr) & 0xFFU); };

  if (n == 1) {
    {
      // ACK is already off; STOP must be set right after ADDR is cleared.
      const stm32::InterruptLock lock;
      stm32::touch(base_ + kSr2);
      set_bits(base_ + kCr1, kCr1Stop);
    }
    if (const auto status = wait_for(kSr1Rxne); status != bus::BusStatus::kOk) {
      return status;
    }
    rx[0] = read_dr();
    return bus::BusStatus::kOk;
  }

  if (n == 2) {
    // POS: the NACK applies to the byte after the one being received, i.e. the second.
    set_bits(base_ + kCr1, kCr1Pos);
    stm32::touch(base_ + kSr2);
    auto status = wait_for(kSr1Btf);  // byte 1 in DR, byte 2 in the shift register
    if (status == bus::BusStatus::kOk) {
      set_bits(base_ + kCr1, kCr1Stop);
      rx[0] = read_dr();
      rx[1] = read_dr();
    }
    clear_bits(base_ + kCr1, kCr1Pos);
    return status;
  }

  stm32::touch(base_ + kSr2);
  std::size_t i = 0;
  for (; n - i > 3; ++i) {
    if (const auto status = wait_for(kSr1Rxne); status != bus::BusStatus::kOk) {
      return status;
    }
    rx[i] = read_dr();
  }
  // Three left: wait until byte N-2 is in DR and N-1 in the shift register (SCL held low), NACK
  // the last one, then STOP before reading N-1 so it follows byte N at once.
  if (const auto status = wait_for(kSr1Btf); status != bus::BusStatus::kOk) {
    return status;
  }
  clear_bits(base_ + kCr1, kCr1Ack);
  rx[i++] = read_dr();
  if (const auto status = wait_for(kSr1Btf); status != bus::BusStatus::kOk) {
    return status;
  }
  {
    const stm32::InterruptLock lock;
    set_bits(base_ + kCr1, kCr1Stop);
    rx[i++] = read_dr();
  }
  if (const auto status = wait_for(kSr1Rxne); status != bus::BusStatus::kOk) {
    return status;
  }
  rx[i] = read_dr();
  return bus::BusStatus::kOk;
}

void Stm32I2c::recover(bus::BusStatus failure) {
  // Errors are cleared by writing 0 to their SR1 bits (rc_w0). After a NACK or bus error the
  // master still owns the bus and must release it; after arbitration loss it already has.
  reg(base_ + kSr1) = ~kSr1Errors & 0xFFFFU;
  clear_bits(base_ + kCr1, kCr1Pos | kCr1Ack);
  if (failure != bus::BusStatus::kArbitrationLost) {
    stop();
  }
  if (failure == bus::BusStatus::kTimeout || (reg(base_ + kCr1) & kCr1Stop) != 0U) {
    init(pclk1_hz_);
  }
}

bus::BusStatus Stm32I2c::write_read(std::uint8_t address, std::span<const std::uint8_t> tx,
                                    std::span<std::uint8_t> rx) {
  // A BUSY bus before the START: another transfer's STOP still on the wire, or a stuck line.
  std::uint32_t polls = 0;
  while ((reg(base_ + kSr2) & kSr2Busy) != 0U) {
    if (++polls == kPolls) {
      init(pclk1_hz_);
      return bus::BusStatus::kTimeout;
    }
  }
  bus::BusStatus status = bus::BusStatus::kOk;
  if (!tx.empty() || rx.empty()) {
    status = transmit(address, tx);
    if (status == bus::BusStatus::kOk && rx.empty()) {
      stop();
    }
  }
  if (status == bus::BusStatus::kOk && !rx.empty()) {
    status = receive(address, rx);  // a repeated START when tx was sent; requests the STOP
    if (status == bus::BusStatus::kOk) {
      wait_stopped();
    }
  }
  if (status != bus::BusStatus::kOk) {
    recover(status);
  }
  return status;
}

}  // namespace edge::board
