"""Ingest end to end: simulated devices over TCP, Unix sockets and ptys -> edge-gatewayd ->
LMDB, checked with edgectl. Real processes, real LMDB on disk, real SIGKILL."""

import collections
import json
import os
import random
import select
import signal
import socket
import subprocess
import time
import unittest

from harness import (GatewayTestCase, binary, buffered_ids, devices, free_port, stats,
                     wait_for)


class IngestOverEveryLinkKind(GatewayTestCase):
    def test_events_from_tcp_unix_and_serial_are_acked_and_buffered_once(self):
        port = free_port()
        sock = os.path.join(self.workdir, "ingest.sock")
        pty = os.path.join(self.workdir, "ttyDEV")
        # The device side creates the pty; the gateway opens it as its serial port (and keeps
        # retrying until it exists).
        serial_sim = self.devsim("serial", "--pty-link", pty, "--device", "0xA3", "--count", "300",
                                 "--exit-when-acked", "--timeout-s", "60")
        wait_for(lambda: os.path.islink(pty), 10, "the pty")
        gw = self.gateway("--tcp", f"127.0.0.1:{port}", "--unix", sock, "--serial", f"{pty}:115200")
        tcp_sim = self.devsim("tcp", "--connect", f"tcp:127.0.0.1:{port}", "--device", "0xA1",
                              "--count", "300", "--exit-when-acked")
        unix_sim = self.devsim("unix", "--connect", f"unix:{sock}", "--device", "0xA2",
                               "--count", "300", "--exit-when-acked")
        for sim in (tcp_sim, unix_sim, serial_sim):
            self.assertEqual(sim.wait(90), 0, self.explain(sim))
            self.assertEqual(sim.summary()["acked"], 300)
        ids = buffered_ids(gw.state_dir)
        self.assertEqual(len(ids), 900)
        self.assertEqual(len(set(ids)), 900, "an event is buffered twice")
        acked = set(tcp_sim.acked()) | set(unix_sim.acked()) | set(serial_sim.acked())
        self.assertEqual(acked, set(ids))
        # In order per device.
        per_device = collections.defaultdict(list)
        for event_id in ids:
            device, boot, seq = event_id.split("-")
            per_device[device].append(int(seq))
        for device, seqs in per_device.items():
            self.assertEqual(seqs, sorted(seqs), device)
        self.assertEqual(gw.stop(), 0, "SIGTERM must stop the gateway cleanly")


class ConnectBurst(GatewayTestCase):
    def test_three_hundred_devices_connecting_while_the_loop_is_busy_are_all_queued(self):
        """A whole site reconnects at once while the loop is busy (here: stopped with SIGSTOP):
        the kernel must complete every handshake into the listen queue. With a backlog of 64 the
        rest of the SYNs were dropped and each of those devices waited a 1 s retransmit."""
        port = free_port()
        gw = self.gateway("--tcp", f"127.0.0.1:{port}")
        n = 300
        socks = []
        gw.proc.send_signal(signal.SIGSTOP)
        try:
            for _ in range(n):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", port))
                socks.append(s)
            time.sleep(0.3)  # loopback handshakes take microseconds; no retransmit is due
            _, writable, _ = select.select([], socks, [], 0)
            done = [s for s in writable if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0]
        finally:
            gw.proc.send_signal(signal.SIGCONT)
            for s in socks:
                s.close()
        self.assertEqual(len(done), n, "handshakes completed while the gateway was busy")


class SerialReopen(GatewayTestCase):
    def test_a_port_that_disappears_is_reopened_and_logged_once_per_outage(self):
        pty = os.path.join(self.workdir, "ttyUSB0")
        # Absent at start: the gateway keeps trying, and says so once.
        gw = self.gateway("--serial", f"{pty}:115200")
        time.sleep(1.0)
        for boot, count in ((1, 50), (2, 50)):
            sim = self.devsim(f"boot{boot}", "--pty-link", pty, "--device", "0xC1", "--boot",
                              str(boot), "--count", str(count), "--exit-when-acked",
                              "--timeout-s", "30")
            self.assertEqual(sim.wait(40), 0, self.explain(sim))  # exits: the port disappears
            self.assertEqual(sim.summary()["acked"], count)
            wait_for(lambda: not os.path.exists(pty), 5, "the pty to go away")
            time.sleep(0.5)
        self.assertEqual(len(buffered_ids(gw.state_dir)), 100)
        log = gw.log()
        self.assertEqual(log.count("No such file or directory; retrying"), 3, log)
        self.assertTrue(gw.alive())


class KillNine(GatewayTestCase):
    KILLS = int(os.environ.get("EDGE_KILLS", "50"))

    def test_every_acked_event_survives_sigkill_at_random_points(self):
        port = free_port()
        gw = self.gateway("--tcp", f"127.0.0.1:{port}")
        rng = random.Random(20261123)
        sims = [self.devsim(f"dev{i}", "--connect", f"tcp:127.0.0.1:{port}", "--device",
                            str(0xD0 + i), "--count", "0", "--rate", "3000", "--reconnect",
                            "--ack-timeout-ms", "200", "--timeout-s", "600")
                for i in range(3)]
        for kill in range(self.KILLS):
            time.sleep(rng.uniform(0.01, 0.12))
            gw.kill9()
            gw.start()
        time.sleep(0.5)
        for sim in sims:
            sim.terminate()  # stops producing; what it logged as acked must be in the buffer
        gw.stop()
        ids = buffered_ids(gw.state_dir)
        counts = collections.Counter(ids)
        twice = [i for i, n in counts.items() if n > 1]
        self.assertEqual(twice, [], "events buffered twice")
        acked = [event_id for sim in sims for event_id in sim.acked()]
        self.assertGreater(len(acked), 1000, "the devices hardly got through")
        missing = set(acked) - set(ids)
        self.assertEqual(missing, set(), f"{len(missing)} acked events lost across "
                                         f"{self.KILLS} kills")
        s = stats(gw.state_dir)
        print(f"\nkill -9 x{self.KILLS}: {len(acked)} acked, {len(ids)} buffered, "
              f"{s['counters'].get('duplicates', 0)} resends deduplicated")


class Dedupe(GatewayTestCase):
    def test_reboot_is_accepted_and_gaps_are_reported(self):
        port = free_port()
        config = os.path.join(self.workdir, "gw.toml")
        with open(config, "w") as f:
            f.write(f'[ingest]\ndedupe_window = 64\n[[ingest.tcp]]\nlisten = "127.0.0.1:{port}"\n')
        gw = self.gateway("-c", config)
        target = f"tcp:127.0.0.1:{port}"

        def run(*args):
            sim = self.devsim(f"run{len(self.sims)}", "--connect", target, "--device", "0xE1",
                              "--exit-when-acked", *args)
            self.assertEqual(sim.wait(60), 0, self.explain(sim))
            return sim

        run("--boot", "1", "--count", "10")
        run("--boot", "1", "--count", "10")            # the same events again: all duplicates
        run("--boot", "2", "--count", "10")            # a reboot: a new window
        run("--boot", "2", "--first-seq", "15", "--count", "5")  # 10..14 skipped
        run("--boot", "3", "--count", "1")             # the next boot settles boot 2's holes
        ids = buffered_ids(gw.state_dir)
        self.assertEqual(len(ids), 26)
        self.assertEqual(len(set(ids)), 26)
        [device] = devices(gw.state_dir)
        self.assertEqual(device["boot"], 3)
        self.assertEqual(device["gaps"], 5)
        self.assertEqual(device["duplicates"], 10)


class BadInput(GatewayTestCase):
    KINDS = ["bad_crc", "truncated", "oversize", "bad_identifier", "future_version", "garbage",
             "invalid_flatbuffer"]

    def test_each_bad_frame_is_counted_and_the_next_good_one_accepted_on_the_same_link(self):
        port = free_port()
        gw = self.gateway("--tcp", f"127.0.0.1:{port}")
        sim = self.devsim("bad", "--connect", f"tcp:127.0.0.1:{port}", "--device", "0xB1",
                          "--count", "20", "--exit-when-acked", "--inject", ",".join(self.KINDS))
        self.assertEqual(sim.wait(60), 0, self.explain(sim))
        self.assertEqual(sim.summary()["acked"], 20)
        self.assertEqual(sim.summary()["reconnects"], 0, "the link must stay up")
        counters = stats(gw.state_dir)["counters"]
        expected = {
            "bad_crc": "refused.bad_crc",
            "truncated": None,  # runs into the next frame: bad_cobs or bad_crc
            "oversize": "refused.oversize",
            "bad_identifier": "refused.bad_identifier",
            "future_version": "refused.unsupported_version",
            "garbage": None,  # random bytes: bad_cobs, bad_crc or too_short
            "invalid_flatbuffer": "refused.invalid_flatbuffer",
        }
        for kind, counter in expected.items():
            if counter:
                self.assertGreaterEqual(counters.get(counter, 0), 1, f"{kind}: {counters}")
        refused = sum(v for k, v in counters.items() if k.startswith("refused."))
        self.assertGreaterEqual(refused, len(self.KINDS))
        self.assertTrue(gw.alive())
        self.assertIn("refused", gw.log())


class FullBuffer(GatewayTestCase):
    def test_drop_oldest_at_the_bound_keeps_accepting_and_counts_every_drop(self):
        port = free_port()
        gw = self.gateway("--tcp", f"127.0.0.1:{port}", "--max-bytes", "1048576",
                          "--full-policy", "drop_oldest")
        sim = self.devsim("fill", "--connect", f"tcp:127.0.0.1:{port}", "--device", "0xF1",
                          "--count", "20000", "--exit-when-acked", "--timeout-s", "120")
        self.assertEqual(sim.wait(150), 0, self.explain(sim))
        self.assertEqual(sim.summary()["acked"], 20000)
        s = stats(gw.state_dir)
        self.assertGreater(s["counters"]["dropped_oldest"], 0)
        self.assertEqual(s["events"] + s["counters"]["dropped_oldest"], 20000)
        self.assertLessEqual(s["used_bytes"], s["max_bytes"])
        self.assertTrue(gw.alive())

    def test_refuse_new_at_the_bound_acks_busy_and_loses_nothing_acked(self):
        port = free_port()
        gw = self.gateway("--tcp", f"127.0.0.1:{port}", "--max-bytes", "1048576",
                          "--full-policy", "refuse_new")
        sim = self.devsim("fill", "--connect", f"tcp:127.0.0.1:{port}", "--device", "0xF2",
                          "--count", "20000", "--timeout-s", "8")
        sim.wait(30)
        summary = sim.summary()
        self.assertGreater(summary["busy_acks"], 0)
        s = stats(gw.state_dir)
        self.assertGreater(s["counters"]["refused_busy"], 0)
        self.assertNotIn("dropped_oldest", s["counters"])
        ids = set(buffered_ids(gw.state_dir))
        self.assertEqual(set(sim.acked()) - ids, set())
        self.assertEqual(len(ids), summary["acked"])
        self.assertTrue(gw.alive())


class ConfigErrors(GatewayTestCase):
    def run_gateway(self, *args):
        return subprocess.run([binary("edge-gatewayd"), *args], capture_output=True, text=True,
                              timeout=10)

    def write(self, text):
        path = os.path.join(self.workdir, "gw.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_a_wrong_type_is_refused_naming_file_and_key(self):
        path = self.write('[buffer]\nmax_bytes = true\n')
        out = self.run_gateway("-c", path)
        self.assertEqual(out.returncode, 2)
        self.assertIn(path, out.stderr)
        self.assertIn("buffer.max_bytes", out.stderr)

    def test_an_unknown_key_is_refused_naming_it(self):
        path = self.write('[ingest]\nmax_device = 3\n')
        out = self.run_gateway("-c", path)
        self.assertEqual(out.returncode, 2)
        self.assertIn("ingest.max_device", out.stderr)

    def test_a_missing_file_is_refused_naming_it(self):
        path = os.path.join(self.workdir, "absent.toml")
        out = self.run_gateway("-c", path)
        self.assertEqual(out.returncode, 2)
        self.assertIn(path, out.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
