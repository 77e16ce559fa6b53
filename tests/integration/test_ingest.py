"""Ingest end to end: simulated devices over TCP, Unix sockets and ptys -> edge-gatewayd ->
LMDB, checked with edgectl. Real processes, real LMDB on disk, real SIGKILL."""

import collections
import json
import os
import random
import secrets
import select
import signal
import socket
import subprocess
import time
import unittest

from harness import (Gateway, GatewayTestCase, binary, buffered_ids, devices, free_port, scrape,
                     stats, wait_for)


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



def write_secret(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def metric(port, name):
    """One sample of http://127.0.0.1:PORT/metrics ("name" or "name{labels}"), 0 if absent."""
    return scrape(port).get(name, 0.0)


def closed_after(sock, timeout):
    """Seconds until the peer closes `sock` (reads and drops what arrives), None if it stays
    open for `timeout` s."""
    started = time.monotonic()
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(4096):
                return time.monotonic() - started
    except ConnectionResetError:
        return time.monotonic() - started
    except socket.timeout:
        return None


class TokenAuth(GatewayTestCase):
    """Issue 9: a TCP listener with a token_file decodes nothing a connection sends until its
    first line is "EDGE-TOKEN <token>"; a wrong line, an over-long one or none in time closes the
    connection, counted as refused "auth", while the gateway keeps serving the devices that
    authenticated."""

    AUTH_TIMEOUT_MS = 500

    def setUp(self):
        super().setUp()
        self.token = secrets.token_hex(16)  # 32 printable bytes
        self.token_file = write_secret(os.path.join(self.workdir, "ingest.token"),
                                       self.token + "\n")
        self.wrong_file = write_secret(os.path.join(self.workdir, "wrong.token"),
                                       secrets.token_hex(16) + "\n")
        self.port, self.metrics_port = free_port(), free_port()
        config = os.path.join(self.workdir, "gw.toml")
        with open(config, "w") as f:
            f.write(f'[ingest]\nauth_timeout_ms = {self.AUTH_TIMEOUT_MS}\n'
                    f'[[ingest.tcp]]\nlisten = "127.0.0.1:{self.port}"\n'
                    f'token_file = "{self.token_file}"\n'
                    f'[metrics]\nlisten = "127.0.0.1:{self.metrics_port}"\n')
        self.gw = self.gateway("-c", config)
        self.target = f"tcp:127.0.0.1:{self.port}"

    def captured_link_bytes(self, device, count):
        """What edge-devsim --token-file sends on a link (the token line, the Hello, the
        batches of `count` events), captured by a listener of this test."""
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        sim = self.devsim("capture", "--connect", f"tcp:127.0.0.1:{listener.getsockname()[1]}",
                          "--device", device, "--count", str(count), "--token-file",
                          self.token_file, "--timeout-s", "5")
        conn, _ = listener.accept()
        data = b""
        conn.settimeout(0.5)
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
        conn.close()
        listener.close()
        sim.wait(10)
        return data

    def test_only_a_connection_that_sent_the_token_line_is_served(self):
        # The device that has the token sends all along; the refusals happen meanwhile.
        polite = self.devsim("polite", "--connect", self.target, "--device", "0xA1", "--rate",
                             "200", "--count", "600", "--exit-when-acked", "--token-file",
                             self.token_file, "--timeout-s", "30")
        refusals = 0

        # The token line and the frames after it in one segment (one read): the frames are read.
        data = self.captured_link_bytes("0xC5", 6)
        line = f"EDGE-TOKEN {self.token}\n".encode()
        self.assertTrue(data.startswith(line), data[:80])
        self.assertGreater(len(data), len(line) + 20, "no frames after the token line")
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.sendall(data)
            s.settimeout(5)
            self.assertGreater(len(s.recv(4096)), 0, "no ack for the frames after the line")

        # A wrong token and no token at all (the device's frames where the line should be):
        # closed, nothing stored, nothing acked.
        wrong = self.devsim("wrong", "--connect", self.target, "--device", "0xB1", "--count",
                            "50", "--token-file", self.wrong_file, "--timeout-s", "10")
        none = self.devsim("none", "--connect", self.target, "--device", "0xB2", "--count", "50",
                           "--timeout-s", "10")
        for sim in (wrong, none):
            self.assertEqual(sim.wait(20), 3, self.explain(sim))  # 3: the link was lost
            self.assertEqual(sim.summary()["acked"], 0)
            self.assertEqual(sim.summary()["busy_acks"] + sim.summary()["invalid"], 0)
            refusals += 1

        # Silence: closed when ingest.auth_timeout_ms has passed, not before.
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            took = closed_after(s, 10)
        refusals += 1
        self.assertIsNotNone(took, "a silent connection was never closed")
        self.assertGreaterEqual(took, self.AUTH_TIMEOUT_MS / 1000 - 0.05)
        self.assertLess(took, self.AUTH_TIMEOUT_MS / 1000 + 2.0)
        silent_s = took

        # Half a line, then silence: the same timeout.
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.sendall(b"EDGE-TOKEN " + self.token[:10].encode())
            self.assertIsNotNone(closed_after(s, 10))
        refusals += 1

        # A line past the 300-byte bound: closed at once, long before the timeout.
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.sendall(b"EDGE-TOKEN " + b"A" * 400)
            took = closed_after(s, 10)
        refusals += 1
        self.assertIsNotNone(took)
        self.assertLess(took, self.AUTH_TIMEOUT_MS / 1000 / 2, "the long line waited for the timeout")

        self.assertEqual(polite.wait(40), 0, self.explain(polite))
        summary = polite.summary()
        self.assertEqual(summary["acked"], 600)
        self.assertEqual(summary["busy_events"], 0)
        self.assertEqual(summary["reconnects"], 0, "the authenticated link was dropped")

        # Every refusal counted once as "auth", persisted and in the metrics.
        wait_for(lambda: stats(self.gw.state_dir)["counters"].get("refused.auth", 0) >= refusals,
                 5, "the refusals to be counted")
        time.sleep(0.6)  # the metrics refresh every 500 ms
        counters = stats(self.gw.state_dir)["counters"]
        self.assertEqual(counters["refused.auth"], refusals, counters)
        self.assertEqual(metric(self.metrics_port, 'edge_refused_frames_total{reason="auth"}'),
                         refusals)
        ids = buffered_ids(self.gw.state_dir)
        self.assertEqual(len(ids), len(set(ids)))
        by_device = collections.Counter(i.split("-")[0] for i in ids)
        self.assertEqual(by_device, {"00000000000000a1": 600, "00000000000000c5": 6})
        self.assertEqual(set(polite.acked()) - set(ids), set())

        log = self.gw.log()
        self.assertNotIn(self.token, log, "the token was logged")
        with open(self.wrong_file) as f:
            self.assertNotIn(f.read().strip(), log, "a wrong token line was logged")
        self.assertIn("refused auth", log)
        self.assertIn("127.0.0.1:", log.split("refused auth", 1)[1].splitlines()[0],
                      "the refusal names the peer")
        self.assertTrue(self.gw.alive())
        print(f"\ntoken auth: {refusals} connections refused (silent one closed after "
              f"{silent_s * 1000:.0f} ms, auth_timeout_ms = {self.AUTH_TIMEOUT_MS}); the "
              f"authenticated device: 600 acked, ack p99 {summary['ack_latency_us']['p99']} us")


class RateLimit(GatewayTestCase):
    """Issue 9: a device that floods its link is held to ingest.link_rate_events_s (busy acks
    with a retry time; it keeps its events and resends them), and a polite device on another
    link is not slowed. Nothing acked is lost."""

    RATE = 2000        # events per second per link
    BURST_MS = 250     # the bucket: 500 events
    POLITE_RATE = 200  # events per second
    POLITE_COUNT = 600

    def acked_lines(self, sim):
        try:
            with open(sim.acked_log, "rb") as f:
                return f.read().count(b"\n")
        except FileNotFoundError:
            return 0

    def test_a_flooding_link_is_held_to_its_rate_and_another_link_is_not_slowed(self):
        port = free_port()
        config = os.path.join(self.workdir, "gw.toml")
        with open(config, "w") as f:
            f.write(f'[ingest]\nlink_rate_events_s = {self.RATE}\nlink_burst_ms = {self.BURST_MS}\n'
                    f'[[ingest.tcp]]\nlisten = "127.0.0.1:{port}"\n')
        gw = self.gateway("-c", config)
        target = f"tcp:127.0.0.1:{port}"
        flooder = self.devsim("flood", "--connect", target, "--device", "0xF1", "--rate", "0",
                              "--count", "0", "--timeout-s", "60")
        polite = self.devsim("polite", "--connect", target, "--device", "0xA1", "--rate",
                             str(self.POLITE_RATE), "--count", str(self.POLITE_COUNT),
                             "--exit-when-acked", "--timeout-s", "30")
        # The flooder's rate over a window that starts after its first burst was spent: the
        # bucket can carry at most what the device was refused while it waited (its ring, 256),
        # never a full burst, into the window.
        time.sleep(0.5)
        t1, n1 = time.monotonic(), self.acked_lines(flooder)
        self.assertEqual(polite.wait(30), 0, self.explain(polite))
        t2, n2 = time.monotonic(), self.acked_lines(flooder)
        flooder.terminate()
        measured = (n2 - n1) / (t2 - t1)

        summary = polite.summary()
        self.assertEqual(summary["acked"], self.POLITE_COUNT)
        self.assertEqual(summary["busy_events"], 0, "the polite link was refused")
        # Normal latency: acked within a commit or two (p50 ~5 ms, p99 ~20 ms measured here on a
        # loaded 2-core box); a link refused or left behind the flood would wait out an ack
        # timeout (500 ms) or a busy retry (1 s) for some of its events.
        p99_ms = summary["ack_latency_us"]["p99"] / 1000
        self.assertLess(p99_ms, 100, summary)

        # Held to its rate: at most the rate plus what the bucket held when the window opened
        # (the device's ring at most), measured at both ends of a ~3 s window (+10 %); at least
        # 80 % of it (the device waits out each retry_after_ms, and this 2-core box is shared).
        flood = flooder.summary()
        self.assertGreater(flood["busy_events"], 0, "the flooder was never refused")
        self.assertLessEqual(measured, self.RATE * 1.1 + 256 / (t2 - t1), flood)
        self.assertGreaterEqual(measured, self.RATE * 0.8, flood)

        # Nothing acked lost, nothing stored twice; every refusal counted as rate_limited (the
        # gateway counts refusals whose busy ack the flooder may not have read before SIGTERM).
        gw.stop()
        ids = buffered_ids(gw.state_dir)
        self.assertEqual(len(ids), len(set(ids)), "an event was buffered twice")
        acked = set(flooder.acked()) | set(polite.acked())
        self.assertEqual(acked - set(ids), set(), "an acked event is missing from the buffer")
        counters = stats(gw.state_dir)["counters"]
        self.assertGreaterEqual(counters["refused.rate_limited"], flood["busy_events"], counters)
        self.assertEqual(counters.get("refused_busy", 0), 0, "the buffer was never full")
        print(f"\nrate limit {self.RATE}/s (burst {self.BURST_MS} ms): flooder {measured:.0f} "
              f"events/s over {t2 - t1:.2f} s, {flood['busy_events']} busy; polite device "
              f"{summary['acked']} acked, ack p50 {summary['ack_latency_us']['p50']} us "
              f"p99 {summary['ack_latency_us']['p99']} us")


class ListenRules(GatewayTestCase):
    """Issue 9: ingest listeners bind loopback, or an interface's own address behind a token;
    the token file is a secret. The daemon refuses to start otherwise (exit 2, naming the key)."""

    def run_gateway(self, *args):
        return subprocess.run([binary("edge-gatewayd"), "--state-dir",
                               os.path.join(self.workdir, "state"), *args],
                              capture_output=True, text=True, timeout=10)

    def config(self, text):
        path = os.path.join(self.workdir, "gw.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_wildcards_and_unauthenticated_interface_addresses_are_refused(self):
        for listen in ("0.0.0.0", "[::]"):
            out = self.run_gateway("--tcp", f"{listen}:{free_port()}")
            self.assertEqual(out.returncode, 2, out.stderr)
            self.assertIn("ingest.tcp[0].listen", out.stderr)
            self.assertIn("bind the address of the interface the devices are on", out.stderr)
        path = self.config('[[ingest.tcp]]\nlisten = "127.0.0.1:7700"\n'
                           '[[ingest.tcp]]\nlisten = "192.0.2.10:7700"\n')
        out = self.run_gateway("-c", path)
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn(f"{path}:4:10: key 'ingest.tcp[1].listen'", out.stderr)
        self.assertIn("needs a token_file", out.stderr)
        # With a token it is a valid config (checked without opening the token file).
        path = self.config('[[ingest.tcp]]\nlisten = "192.0.2.10:7700"\n'
                           'token_file = "/etc/edge-gateway/absent.token"\n')
        out = self.run_gateway("--check-config", "-c", path)
        self.assertEqual(out.returncode, 0, out.stderr)

    def test_a_readable_or_malformed_token_file_stops_the_start(self):
        port = free_port()
        token = "t" * 32
        loose = write_secret(os.path.join(self.workdir, "loose.token"), token + "\n", 0o604)
        short = write_secret(os.path.join(self.workdir, "short.token"), "0123456789\n")
        spaced = write_secret(os.path.join(self.workdir, "spaced.token"),
                              "0123456789 abcdef-0123\n")
        cases = [(loose, "is accessible by other users"), (short, "must be 16..256 bytes"),
                 (spaced, "printable ASCII without spaces"),
                 (os.path.join(self.workdir, "absent.token"), "cannot open")]
        for token_file, why in cases:
            path = self.config(f'[[ingest.tcp]]\nlisten = "127.0.0.1:{port}"\n'
                               f'token_file = "{token_file}"\n')
            out = self.run_gateway("-c", path)
            self.assertEqual(out.returncode, 2, out.stderr)
            self.assertIn("key 'ingest.tcp[0].token_file'", out.stderr)
            self.assertIn(why, out.stderr)
            self.assertNotIn(token, out.stderr)
            self.assertNotIn("0123456789", out.stderr.replace(token_file, ""))


class SyncMode(GatewayTestCase):
    """Issue 9: a relaxed LMDB sync only behind buffer.sync, said at every start."""

    def start(self, sync):
        config = os.path.join(self.workdir, f"{sync or 'default'}.toml")
        with open(config, "w") as f:
            f.write(f'[buffer]\nsync = "{sync}"\n' if sync else "")
        gw = Gateway(self.workdir, ["-c", config, "--tcp", f"127.0.0.1:{free_port()}"],
                     log_name=f"{sync or 'default'}.log")
        self.gateways.append(gw)
        gw.start()
        self.assertEqual(gw.stop(), 0)
        return gw.log()

    def test_the_daemon_warns_at_start_when_sync_is_relaxed(self):
        self.assertNotIn("buffer.sync", self.start(None))
        self.assertNotIn("buffer.sync", self.start("full"))
        log = self.start("no_meta_sync")
        self.assertIn('warning buffer.sync = "no_meta_sync"', log)
        self.assertIn("MDB_NOMETASYNC", log)
        log = self.start("no_sync")
        self.assertIn('warning buffer.sync = "no_sync"', log)
        self.assertIn("may lose or corrupt events already acked", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
