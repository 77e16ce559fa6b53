"""Disk full: the gateway's state directory on a small tmpfs that fills up before LMDB's map does
(buffer.max_bytes 64 MiB on an 8 MiB filesystem; a filler file leaves FREE bytes for events).

1. Broker down, a device sends more than fits: the commits fail (LMDB reports the short write
   as EIO, the next as ENOSPC), the device is acked busy and keeps its events; a device that
   comes later gets no ring's worth in either. The gateway stays up, logs it once per interval
   naming the directory and the free space ("disk full"), and exposes it:
   edge_buffer_commit_failing 1, edge_buffer_commit_failures_total counting, `edgectl health`
   failing its commit check.
2. Broker up, the filesystem still full: forwarding goes on (deleting what the broker
   acknowledged needs only pages LMDB already has), every event buffered before the disk
   filled is forwarded, and the pages it frees take the devices' held events: both finish.
3. Broker down again, a third device fills LMDB's free pages and the filesystem again; the
   filler is deleted (space returns) and the held events are accepted with the broker still
   down; a fourth device is acked at once, without a busy ack.
4. Broker up: everything drains. Nothing acked is lost: every event any device logged as acked
   was PUBACKed by the broker (tests/integration/mqtt_tap.py between gateway and broker, which
   also survives the broker's restarts), the gateway stored each event once (stored == acked),
   and the log says when commits succeed again.

Needs root to mount the tmpfs (CI runs as root): without it the test fails, it never skips."""

import os
import subprocess
import time

from faultkit import (FaultCase, MqttTap, binary, counter, free_port, scrape, stats, wait_for)
from report import record, scale

FS_BYTES = 8 << 20  # the tmpfs under the state directory
FREE = 1 << 20  # what the filler leaves for the buffer to grow into
FILL = scale(12000, 40000)  # events per filling device: about twice what FREE holds
LATE = 2000  # events of a device that arrives once the disk is full
PROBE = 20  # events of a device that checks that new events are taken at once


class CountingSet(set):
    """The tap's record of PUBACKed event IDs, counting the PUBACKs beyond each ID's first."""

    repeats = 0

    def add(self, item):
        if item in self:
            self.repeats += 1
        super().add(item)


class DiskFull(FaultCase):
    def setUp(self):
        super().setUp()
        self.state = os.path.join(self.workdir, "state")
        os.makedirs(self.state)
        if os.getuid() != 0:
            self.fail("test_disk_full mounts a tmpfs for the gateway's state directory and must "
                      "run as root (CI does); it does not skip")
        out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FS_BYTES},mode=0700",
                              "tmpfs", self.state], capture_output=True, text=True)
        if out.returncode != 0:
            self.fail(f"mount -t tmpfs on {self.state} failed ({out.returncode}): {out.stderr}")
        self.mounted = True

    def tearDown(self):
        # Everything that may hold a file on the tmpfs stops before it is unmounted, and it is
        # unmounted before the work directory is removed.
        for sim in self.sims:
            try:
                sim.terminate()
            except Exception:  # noqa: BLE001  (a stuck process must not keep the mount)
                sim.proc.kill()
        for gw in self.gateways:
            try:
                gw.stop()
            except Exception:  # noqa: BLE001
                gw.proc.kill()
                gw.proc.wait()
        if getattr(self, "mounted", False):
            out = subprocess.run(["umount", self.state], capture_output=True, text=True)
            if out.returncode != 0:
                subprocess.run(["umount", "-l", self.state])
                self.fail(f"umount {self.state}: {out.stderr} (lazily unmounted)")
        super().tearDown()

    def free_bytes(self):
        st = os.statvfs(self.state)
        return st.f_bavail * st.f_frsize

    def metrics(self):
        return scrape(self.metrics_port)

    def device(self, name, device, count):
        return self.devsim(name, "--connect", f"tcp:127.0.0.1:{self.link_port}", "--device",
                           device, "--count", str(count), "--exit-when-acked",
                           "--timeout-s", str(scale(120, 600)))

    def finish(self, sim):
        self.assertEqual(sim.wait(scale(130, 610)), 0, self.explain(sim))
        return sim.summary()

    def wait_failing(self, failures_before, what):
        wait_for(lambda: self.metrics()["edge_buffer_commit_failing"] == 1
                 and self.metrics()["edge_buffer_commit_failures_total"] > failures_before,
                 30, what)
        self.assertTrue(self.gw.alive(), self.gw.log()[-3000:])

    def wait_stalled(self, sim, what):
        """Until `sim`'s acked log stops growing (the buffer takes nothing more); its length."""
        last = -1
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = len(sim.acked())
            if now == last:
                return now
            last = now
            time.sleep(0.5)
        self.fail(f"{what}: the device is still acked ({last} events)")

    def test_full_disk_refuses_busy_keeps_forwarding_and_recovers_without_losing_acked(self):
        began = time.monotonic()
        tap = MqttTap(self.broker.port)
        tap.pubacked = CountingSet()
        self.addCleanup(tap.close)
        self.link_port, self.metrics_port = free_port(), free_port()
        config = self.write_config(
            f'[buffer]\nmax_bytes = "64MiB"\nbusy_retry_ms = 50\n'
            f'[upstream]\nuri = "tcp://127.0.0.1:{tap.port}"\nbackoff_min_ms = 20\n'
            f'backoff_max_ms = 200\nstatus_interval_s = 0\n'
            f'[metrics]\nlisten = "127.0.0.1:{self.metrics_port}"\n')
        self.gw = self.gateway("-c", config, "--tcp", f"127.0.0.1:{self.link_port}")
        filler = os.path.join(self.state, "filler")
        with open(filler, "wb") as f:
            f.write(b"\xa5" * (self.free_bytes() - FREE))
        self.assertLessEqual(self.free_bytes(), FREE)

        # 1. Broker down: the filesystem fills, the buffer refuses with busy acks.
        fill_a = self.device("fill_a", "0xDF01", FILL)
        self.wait_failing(0, "the commits to fail on the full filesystem")
        self.assertLess(self.wait_stalled(fill_a, "disk full"), FILL)
        self.assertIsNone(fill_a.proc.poll(), "the device must still hold its refused events")
        # A second device is refused too: its first batch (a ring of 256 events) does not fit
        # in the pages LMDB has left (a batch of a few events still may: the disk is full for
        # what does not fit, not for everything).
        late_b = self.device("late_b", "0xDF02", LATE)
        acked_b = self.wait_stalled(late_b, "disk full, second device")
        self.assertLess(acked_b, 256, "a ring's worth of a new device's events was taken")
        self.assertIsNone(late_b.proc.poll(), "the device must still hold its refused events")
        acked_at_full = len(fill_a.acked()) + acked_b
        s = stats(self.gw.state_dir)
        stored_at_full = counter(s, "stored")
        self.assertEqual(stored_at_full, acked_at_full, s)  # acked == durable, nothing more
        log = self.gw.log()
        failed = [line for line in log.splitlines() if "buffer: commit failed" in line]
        self.assertTrue(failed, log[-3000:])
        self.assertIn(f"mdb_txn_commit in {self.state}: ", failed[0])
        self.assertIn("bytes free (disk full)", failed[0])
        m = self.metrics()
        self.assertEqual(m["edge_buffer_commit_failing"], 1)
        failures = m["edge_buffer_commit_failures_total"]
        health = subprocess.run([binary("edgectl"), "health", "--metrics",
                                 f"127.0.0.1:{self.metrics_port}"],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(health.returncode, 1, health.stdout + health.stderr)
        self.assertRegex(health.stdout, r"FAIL +commit: the last LMDB commit failed")
        print(f"\ndisk full: {acked_at_full} events stored in {FREE} bytes, then busy; "
              f"{failures:.0f} failed commits so far; log: {failed[0]}")

        # 2. Broker up, filesystem still full: forwarding deletes, freed pages take new events.
        self.broker.start()
        wait_for(lambda: counter(stats(self.gw.state_dir), "forwarded") >= stored_at_full, 60,
                 "the backlog from before the disk filled to be forwarded")
        self.assertLess(self.free_bytes(), FREE, "the filesystem should still be full")
        a, b = self.finish(fill_a), self.finish(late_b)
        self.assertEqual((a["acked"], b["acked"]), (FILL, LATE))
        self.assertGreater(a["busy_events"], 0, a)
        self.assertGreater(b["busy_events"], 0, b)
        wait_for(lambda: self.metrics()["edge_buffer_commit_failing"] == 0, 5,
                 "the failing flag to clear")
        self.assertIn("buffer: commits succeed again after ", self.gw.log())

        # 3. Broker down, fill again; then the filler goes and space returns.
        self.assertEqual(self.broker.stop(), 0)
        failures = self.metrics()["edge_buffer_commit_failures_total"]
        forwarded = counter(stats(self.gw.state_dir), "forwarded")
        fill_c = self.device("fill_c", "0xDF03", FILL)
        self.wait_failing(failures, "the commits to fail again")
        acked_c = self.wait_stalled(fill_c, "disk full again")
        self.assertLess(acked_c, FILL)
        os.unlink(filler)
        self.assertGreater(self.free_bytes(), FS_BYTES // 2)
        c = self.finish(fill_c)
        self.assertEqual(c["acked"], FILL, c)
        self.assertGreater(c["busy_events"], 0, c)
        d = self.finish(self.device("probe_d", "0xDF04", PROBE))
        self.assertEqual((d["acked"], d["busy_events"]), (PROBE, 0), d)
        self.assertEqual(self.metrics()["edge_buffer_commit_failing"], 0)
        # Nothing was forwarded meanwhile: the room came from the filesystem, not from deletes.
        self.assertEqual(counter(stats(self.gw.state_dir), "forwarded"), forwarded)

        # 4. Broker up: everything drains; nothing acked is lost.
        self.broker.start()
        acked = {e for sim in self.sims for e in sim.acked()}
        self.assertEqual(len(acked), 2 * FILL + LATE + PROBE)
        wait_for(lambda: acked <= tap.pubacked, 60, "every acked event to be PUBACKed")
        wait_for(lambda: stats(self.gw.state_dir)["events"] == 0, 30, "the buffer to drain")
        s = stats(self.gw.state_dir)
        self.assertEqual(counter(s, "stored"), len(acked), s)
        self.assertEqual(counter(s, "forwarded"), len(acked), s)
        self.assertTrue(self.gw.alive())
        # The log: each (rate-limited) failure line is followed by one recovery line, and its
        # last word on the commits is that they succeed.
        said = [line for line in self.gw.log().splitlines()
                if "buffer: commit failed" in line or "buffer: commits succeed again" in line]
        self.assertTrue(all(("failed" in line.split("buffer: ")[1].split(" ")[1]) == (i % 2 == 0)
                            for i, line in enumerate(said)), "\n".join(said))
        self.assertIn("commits succeed again", said[-1])
        lost = len(acked - tap.pubacked)
        failures = self.metrics()["edge_buffer_commit_failures_total"]
        busy = a["busy_events"] + b["busy_events"] + c["busy_events"]
        seconds = time.monotonic() - began
        record("disk full (tmpfs) under the LMDB buffer", 2, len(acked), len(tap.pubacked), lost,
               tap.pubacked.repeats,
               f"{failures:.0f} failed commits, {busy} events acked busy and resent; recovered "
               f"by forwarding with the disk still full, and when space returned")
        print(f"disk full x2: {len(acked)} acked, all PUBACKed, {tap.pubacked.repeats} repeated "
              f"PUBACKs; {failures:.0f} failed commits, {busy} busy events; {seconds:.1f} s")


if __name__ == "__main__":
    import unittest
    unittest.main(verbosity=2)
