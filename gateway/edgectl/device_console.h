// The operator side of a device's serial console:
//
//   edgectl console PORT                     interactive: stdin -> device, device -> stdout
//   edgectl config apply PORT device.toml    sets and saves settings, reports what changed
//
// PORT is a serial device (/dev/ttyUSB1[:BAUD], raw 8N1, default 115200) or tcp:HOST:PORT (a
// QEMU chardev, ser2net). device.toml:
//
//   device_id = "0xC0FFEE"     # hex string
//   link_baud = 115200
//   [interval]                 # ms per sensor; 0 turns it off
//   tmp105 = 200
//   [addr]                     # I2C address per sensor
//   tmp105 = "0x49"
//
// config apply reads each key first (`get`), sets only what differs, then `save`s. Exit status:
// 0 done (changes printed as "key: old -> new"), 1 the device refused a key (its error is
// printed with the key) or did not answer, 2 a bad file or port.
#pragma once

#include <string>

namespace edge::edgectl {

int run_console(const std::string& port);
int run_config_apply(const std::string& port, const std::string& file, bool reboot);

}  // namespace edge::edgectl
