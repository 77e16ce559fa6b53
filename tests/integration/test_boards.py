"""The firmware application built for the host-sim board (edge-firmware of the host preset):
the same code as on the Cortex-M board, its real drivers talking to register-level emulators
of the chips in boards/host-sim/board.json, its link a TCP connection it makes to a
running edge-gatewayd (EDGE_LINK), its console a socket this test types into. Exit status 3 is the board's
reboot: the test is the supervisor that starts it again."""

import json
import os
import socket
import subprocess
import unittest

from harness import (Daemon, DeviceConsole, GatewayTestCase, edgectl, events_of, free_port,
                     stats, wait_for)

DEVICE = "00000000005e5e00"


def firmware():
    path = os.environ.get("EDGE_FIRMWARE_HOST", "")
    if not os.access(path, os.X_OK):
        raise AssertionError(f"set EDGE_FIRMWARE_HOST to the host-sim image (got {path!r})")
    return path


class HostSimBoard(Daemon, DeviceConsole):
    def __init__(self, workdir, link_port, env=None):
        self.workdir = workdir
        self.link_port = link_port
        self.env = env or {}
        self.config = os.path.join(workdir, "device-config.bin")
        self.log_path = os.path.join(workdir, "host-sim.log")
        self.sock = None

    def start(self):
        # The board dials the gateway itself (and again whenever the connection drops).
        self.sock, theirs = socket.socketpair()
        self.sock.settimeout(0.2)
        env = dict(os.environ, EDGE_CONFIG_FILE=self.config,
                   EDGE_LINK=f"tcp:127.0.0.1:{self.link_port}",
                   EDGE_CONSOLE_FD=str(theirs.fileno()), **self.env)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([firmware()], env=env, stdout=log, stderr=log,
                                         pass_fds=(theirs.fileno(),))
        theirs.close()
        self.received = ""
        return self

    def stop(self):
        code = super().stop()
        if self.sock:
            self.sock.close()
            self.sock = None
        return code

    def reboot(self):
        """`reboot` on the console: the process exits 3 and its supervisor starts it again."""
        self.sock.sendall(b"reboot\r\n")
        self.assertExit(3)
        self.sock.close()
        return self.start()

    def assertExit(self, code):
        got = self.proc.wait(timeout=10)
        if got != code:
            raise AssertionError(f"host-sim exited {got}, expected {code}")


class HostSim(GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.link_port = free_port()

    def board(self, **env):
        board = HostSimBoard(self.workdir, self.link_port, env)
        self.addCleanup(board.stop)
        return board.start()

    def events_of(self, device):
        return events_of(self.gw.state_dir, device)

    def configure(self, board, **intervals):
        board.command("set device_id 0x5E5E00")
        for sensor, ms in intervals.items():
            board.command(f"set interval.{sensor} {ms}")
        self.assertEqual(board.command("save"), "ok saved\r\n")
        board = board.reboot()
        board.read_until("device 0x5e5e00 boot 2")
        return board

    def test_emulated_sensors_are_read_by_the_real_drivers_and_reach_the_gateway(self):
        self.gw = self.gateway("--tcp", f"127.0.0.1:{self.link_port}")
        board = self.board(EDGE_SIM_TEMPERATURE_MILLI_C="23500")
        for chip in ("tmp105", "sht3x", "bme280"):
            board.read_until(f"sensor {chip} ready")
        board = self.configure(board, tmp105=100, sht3x=200, bme280=200)
        wait_for(lambda: len(self.events_of(DEVICE)) >= 30, 30, "30 events from host-sim")
        events = self.events_of(DEVICE)
        self.assertTrue(all(e["boot"] == 2 for e in events))
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, sorted(seqs))
        by_type = {}
        for e in events:
            by_type.setdefault((e["sensor"], e["reading"]["type"]), []).append(e["reading"])
        self.assertEqual(set(by_type), {("tmp105", "temperature"), ("sht3x", "temperature"),
                                        ("sht3x", "humidity"), ("bme280", "temperature"),
                                        ("bme280", "pressure"), ("bme280", "humidity")})
        # The pinned temperature through each chip's own encoding and compensation.
        self.assertTrue(all(r["celsius"] == 23.5 for r in by_type[("tmp105", "temperature")]))
        for chip in ("sht3x", "bme280"):
            self.assertTrue(all(abs(r["celsius"] - 23.5) < 0.02
                                for r in by_type[(chip, "temperature")]), chip)
        self.assertTrue(all(30 <= r["percent_rh"] <= 60 for r in by_type[("sht3x", "humidity")]))
        self.assertTrue(all(100000 <= r["pascal"] <= 102700
                            for r in by_type[("bme280", "pressure")]))
        self.assertGreater(board.counter("acked"), 0)

    def test_a_full_gateway_answers_busy_the_ring_drops_oldest_and_the_gateway_learns_how_many(
            self):
        # Fill a 1 MiB buffer that refuses new events when full.
        self.gw = self.gateway("--tcp", f"127.0.0.1:{self.link_port}", "--max-bytes", "1048576",
                               "--full-policy", "refuse_new")
        fill = self.devsim("fill", "--connect", f"tcp:127.0.0.1:{self.link_port}",
                           "--device", "0xF3", "--count", "20000", "--timeout-s", "8")
        fill.wait(30)
        self.assertGreater(fill.summary()["busy_acks"], 0, self.explain(fill))
        board = self.configure(self.board(), tmp105=100, sht3x=100, bme280=0)
        # 30 events/s into a 48-event ring nobody can take: busy, then the oldest dropped.
        wait_for(lambda: board.counter("ring_dropped") > 20, 30, "the ring to overflow")
        self.assertGreater(board.counter("busy"), 0)
        self.assertEqual(len(self.events_of(DEVICE)), 0, "a full buffer took nothing")
        # Room again (a bigger bound, as an operator would set): the ring drains and the
        # device's own drop count reaches the gateway with its next batch.
        self.gw.stop()
        self.gateways.remove(self.gw)
        self.gw = self.gateway("--tcp", f"127.0.0.1:{self.link_port}", "--max-bytes", "8388608",
                               "--full-policy", "refuse_new")
        board.command("set interval.tmp105 0")  # stop producing: the count settles
        board.command("set interval.sht3x 0")
        wait_for(lambda: board.command("status", "ok ring=").startswith("ok ring=0/"), 60,
                 "the ring to drain into the gateway")
        dropped = board.counter("ring_dropped")
        device = next(d for d in self.devices() if d["device"] == DEVICE)
        self.assertEqual(device["ring_dropped"], dropped)
        self.assertEqual(stats(self.gw.state_dir)["counters"]["ring_dropped"], dropped)

    def devices(self):
        return [json.loads(l) for l in
                edgectl(self.gw.state_dir, "devices", "--json").splitlines()]


if __name__ == "__main__":
    unittest.main(verbosity=2)
