// What the firmware application needs from the board it runs on, and nothing more.
//
// Each board folder (boards/<board>/) implements this header once: UART registers on a Cortex-M,
// file descriptors on Linux, a pty or socket for the host simulator. The build picks the
// implementation (boards/<board>/board.cmake), never an #ifdef in application code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace edge::bus {
class I2cBus;
}
namespace edge::firmware {
class Storage;
class SensorSource;
}  // namespace edge::firmware

namespace edge::platform {

/// A byte pipe: a UART, a serial port, a socket.
class ByteStream {
 public:
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  /// Sends all of `bytes`, waiting for room if the transmitter is busy. Returns the number of
  /// bytes sent, which is less than bytes.size() only if the stream has failed (link down).
  virtual std::size_t write(std::span<const std::uint8_t> bytes) = 0;
  /// Copies whatever has arrived, up to out.size() bytes, without waiting. Returns 0 when
  /// nothing is pending.
  virtual std::size_t read(std::span<std::uint8_t> out) = 0;

 protected:
  ByteStream() = default;
  ~ByteStream() = default;  // boards own their streams statically; never deleted through this
};

/// Brings up clocks, UARTs and the tick. Call once, first.
void init();
/// The framed event link to the gateway.
ByteStream& link();
/// Sets the link UART to `baud` 8N1 (the configuration's link_baud, applied at boot). Returns
/// false, changing nothing, when the link is not a UART (a socket, a pipe) or the rate is not
/// one the board can make.
bool set_link_baud(std::uint32_t baud);
/// The line-based configuration console, on its own UART.
ByteStream& console();
/// The board's I2C bus `index` (board.json "i2c": bus0, bus1, ...), or nullptr when the board
/// has none there.
bus::I2cBus* i2c_bus(unsigned index);
/// Waits for input on the link or console, or `max_us` at most, whichever comes first: poll()
/// on Linux, so a host process does not spin. Returns at once on a microcontroller, whose main
/// loop polls its UART FIFOs (sleeping there needs RX interrupts: power management, not done).
void idle(std::uint32_t max_us);
/// Microseconds since boot; monotonic, never wraps in the device's lifetime.
std::uint64_t monotonic_us();
/// Stops the program with `exit_code`: the emulator's exit status under QEMU (semihosting) or
/// the process's on Linux; a reset on hardware.
[[noreturn]] void halt(int exit_code);
/// Restarts the device: a system reset on a microcontroller (QEMU resets the machine), exit
/// status 3 for a supervisor to restart a Linux or host process.
[[noreturn]] void reboot();
/// The small non-volatile area holding the device configuration (an I2C EEPROM, a flash page,
/// a file), or nullptr when the board has none.
firmware::Storage* config_storage();
/// The board's sensors (board.json "i2c" devices with a driver), in board.json order.
std::span<firmware::SensorSource* const> sensors();
/// Waits `microseconds` (a busy wait on a microcontroller).
void delay_us(std::uint32_t microseconds);
/// Writes a line to wherever test output goes (semihosting under QEMU, stdout on Linux).
void test_log(const char* line);

}  // namespace edge::platform
