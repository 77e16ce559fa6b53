"""The firmware application as a Linux process (host-sim on the build machine, the Linux ARM
agent under qemu-user): boots, counts its boots in EDGE_CONFIG_FILE, answers its console on
stdin, reports each board.json sensor (emulated on host-sim; absent without EDGE_I2C_BUS on
linux-arm), and `reboot` ends it with status 3 for its supervisor.

usage: agent_smoke_test.py BOARD [EMULATOR ARGS...] IMAGE"""

import os
import subprocess
import sys
import tempfile
import time


def run(cmd, config, lines, **env_extra):
    """Types `lines` on the console (the last one after a pause, so the device has run a
    while), then closes it; returns the exit status and what the console said."""
    env = dict(os.environ, EDGE_CONFIG_FILE=config, EDGE_LINK_FD="1", **env_extra)
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    try:
        for i, line in enumerate(lines):
            if i == len(lines) - 1:
                time.sleep(1.0)
            proc.stdin.write(line.encode() + b"\n")
            proc.stdin.flush()
        proc.stdin.close()
    except BrokenPipeError:
        pass  # it ended early: the status says how
    err = proc.stderr.read()
    return proc.wait(timeout=60), err.decode(errors="replace")


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
        # The link on a serial port (a pty here): set raw at the given rate, the hello frame
        # written on it (frames end with a zero byte).
        master, slave = os.openpty()
        os.set_blocking(master, False)
        code, console3 = run(cmd, config, ["status", "reboot"],
                             EDGE_LINK=f"{os.ttyname(slave)}:57600")
        try:
            link = os.read(master, 4096)
        except BlockingIOError:
            link = b""
        os.close(master)
        os.close(slave)
        checks += [
            (code == 3, f"on a serial link: exits 3 (got {code})"),
            (len(link) > 8 and link.endswith(b"\0"), f"frames on the serial link ({link[:16]!r})"),
        ]
        code, console4 = run(cmd, config, [], EDGE_LINK="tcp:no-port")
        checks.append((code == 2 and "EDGE_LINK: expected tcp:HOST:PORT" in console4,
                       f"a bad EDGE_LINK is refused with exit 2 (got {code}: {console4!r})"))
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
