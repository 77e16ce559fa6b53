"""The firmware application as a Linux process (host-sim on the build machine, the Linux ARM
agent under qemu-user): boots, counts its boots in EDGE_CONFIG_FILE, answers its console on
stdin, reports each board.json sensor (emulated on host-sim; absent without EDGE_I2C_BUS on
linux-arm), and `reboot` ends it with status 3 for its supervisor.

usage: agent_smoke_test.py BOARD [EMULATOR ARGS...] IMAGE"""

import os
import subprocess
import sys
import tempfile


def run(cmd, config, lines):
    env = dict(os.environ, EDGE_CONFIG_FILE=config, EDGE_LINK_FD="1")
    out = subprocess.run(cmd, input="".join(l + "\n" for l in lines).encode(), env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    return out.returncode, out.stderr.decode(errors="replace")


def main():
    board, cmd = sys.argv[1], sys.argv[2:]
    expected_sensor = {"host-sim": "sensor tmp105 ready",
                       "linux-arm": "sensor sht3x failed: bus_nack"}[board]
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "device.cfg")
        code, console = run(cmd, config, ["set device_id 0xA6E27", "set interval.sht3x 500",
                                          "set link_baud 57600",
                                          "save", "status", "reboot"])
        checks = [
            (code == 3, f"reboot exits 3 for the supervisor (got {code})"),
            (f"on {board} device 0x0 boot 1 (new device: defaults)" in console, "first boot"),
            (expected_sensor in console, expected_sensor),
            ("ok saved" in console, "save"),
            ("ok device_id set (save to keep it; used from the next boot)" in console, "set"),
            ("ok device_id=0x0 boot=1" in console, "status: the running identity until reboot"),
        ]
        code, console2 = run(cmd, config, ["get interval.sht3x", "sensors", "bogus", "reboot"])
        checks += [
            (code == 3, f"second run exits 3 (got {code})"),
            ("device 0xa6e27 boot 2" in console2, "the saved config and a counted boot"),
            ("ok interval.sht3x = 500" in console2, "the saved interval"),
            ("link at 57600 baud: not applied (the link is not a UART here)" in console2,
             "link_baud on a link that is not a serial port is reported, not faked"),
            ("error: unknown command 'bogus'" in console2, "a clear error for a bad command"),
        ]
    failed = [what for ok, what in checks if not ok]
    for what in failed:
        print(f"FAILED: {what}")
    if failed:
        print("console, first run:\n" + console + "\nconsole, second run:\n" + console2)
        return 1
    print(f"{board} image: {len(checks)} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
