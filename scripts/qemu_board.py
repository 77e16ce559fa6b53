#!/usr/bin/env python3
"""Runs a firmware image on a QEMU-modelled board as boards/<board>/board.json describes it:
the machine, its I2C devices (with an id each, so QMP can reach them), the config EEPROM backed
by a file (so settings survive a restart, like a real chip), the link UART and the console UART.

  scripts/qemu_board.py --board boards/lm3s6965evb/board.json --elf edge-firmware.elf \\
      --link tcp:127.0.0.1:7700 --console stdio --eeprom eeprom.bin

Link: tcp:HOST:PORT (QEMU dials a gateway's TCP ingest and redials), pty (QEMU makes a pty
and prints its path: give that to the gateway's [[ingest.serial]]), or chardev:SPEC (any QEMU
chardev). Console: stdio (this terminal), tcp-server:PORT, or null. The `flash` target of a
QEMU board runs this; the tests and the demo build their command lines with qemu_command()."""

import argparse
import json
import os
import socket
import sys


def eeprom_bytes(board):
    for device in board["i2c"]["bus0"]["devices"]:
        if device.get("role") == "config-store":
            for prop in device.get("qemu_props", "").split(","):
                if prop.startswith("rom-size="):
                    return int(prop.split("=", 1)[1], 0)
    return 0


def create_eeprom(board, path):
    """An erased (all-zero, 'never written') EEPROM image, if there is none yet."""
    size = eeprom_bytes(board)
    if size and not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(bytes(size))


def chardev(spec, role):
    if spec.startswith("tcp:"):
        return f"{spec},reconnect=1"
    if spec.startswith("tcp-server:"):
        return f"tcp:127.0.0.1:{spec.split(':', 1)[1]},server=on,wait=off"
    if spec.startswith("chardev:"):
        return spec.split(":", 1)[1]
    if spec in ("pty", "stdio", "null"):
        return spec
    raise ValueError(f"--{role}: unknown chardev {spec!r} (tcp:HOST:PORT, tcp-server:PORT, "
                     "pty, stdio, null or chardev:SPEC)")


def qemu_command(board, elf, link, console, eeprom=None, qmp=None, qemu="qemu-system-arm"):
    """The qemu-system-arm command line for `board` (a parsed board.json)."""
    spec = board["qemu"]
    args = [qemu, "-M", spec["machine"], *spec.get("args", [])]
    if eeprom:
        args += ["-drive", f"file={eeprom},if=none,format=raw,id=eeprom"]
    for device in board["i2c"]["bus0"]["devices"]:
        dev = f"{device['qemu_device']},address={device['address']},id={device['chip']}"
        if device.get("qemu_props"):
            dev += "," + device["qemu_props"]
        if device.get("role") == "config-store" and eeprom:
            dev += ",drive=eeprom"
        args += ["-device", dev]
    if qmp:
        args += ["-qmp", f"unix:{qmp},server=on,wait=off"]
    # serial_index order: board.json's uarts say which QEMU serial port each one is.
    uarts = sorted(board["uarts"].items(), key=lambda kv: kv[1]["qemu_serial_index"])
    for name, _ in uarts:
        args += ["-serial", chardev(link if name == "link" else console, name)]
    return args + ["-kernel", elf]


def qom_set(qmp_path, device, prop, value, timeout=10):
    """Sets a property of one of QEMU's device models at run time over QMP (`qom-set`), as a
    physical quantity changing under a sensor: qom_set(path, "tmp105", "temperature", 23500)."""
    with socket.socket(socket.AF_UNIX) as qmp:
        qmp.settimeout(timeout)
        qmp.connect(qmp_path)
        reader = qmp.makefile("r")
        json.loads(reader.readline())  # greeting
        for command in ({"execute": "qmp_capabilities"},
                        {"execute": "qom-set", "arguments": {
                            "path": f"/machine/peripheral/{device}", "property": prop,
                            "value": value}}):
            qmp.sendall(json.dumps(command).encode() + b"\n")
            while True:
                reply = json.loads(reader.readline())
                if "event" not in reply:
                    break
            if "error" in reply:
                raise RuntimeError(f"QMP {command}: {reply['error']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--board", required=True, help="the board's board.json")
    parser.add_argument("--elf", required=True, help="the firmware image")
    parser.add_argument("--link", default="tcp:127.0.0.1:7700")
    parser.add_argument("--console", default="stdio")
    parser.add_argument("--eeprom", help="file backing the config EEPROM (created if missing)")
    parser.add_argument("--qmp", help="a Unix socket path for QMP (qom-set sensor values)")
    parser.add_argument("--qemu", default="qemu-system-arm")
    parser.add_argument("--print", action="store_true", help="print the command, do not run")
    opts = parser.parse_args()
    with open(opts.board) as f:
        board = json.load(f)
    if "qemu" not in board:
        sys.exit(f"{opts.board}: this board has no \"qemu\" section; flash it with its own tool")
    try:
        args = qemu_command(board, opts.elf, opts.link, opts.console, opts.eeprom, opts.qmp,
                            opts.qemu)
    except ValueError as e:
        sys.exit(str(e))
    if opts.print:
        print(" ".join(args))
        return
    if opts.eeprom:
        create_eeprom(board, opts.eeprom)
    print(f"qemu: {board['name']} running {opts.elf}; link {opts.link}, console {opts.console}"
          " (quit: Ctrl-C)", file=sys.stderr, flush=True)
    os.execvp(args[0], args)


if __name__ == "__main__":
    main()
