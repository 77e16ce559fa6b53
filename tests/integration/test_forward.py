"""Forwarding upstream: edge-gatewayd -> a Mosquitto broker started here on a free loopback
port -> edgectl sub. Delete after PUBACK: the buffer drains only as the broker acknowledges."""

import os
import shutil
import signal
import subprocess
import time
import json
import unittest

from harness import GatewayTestCase, binary, buffered_ids, free_port, stats, wait_for


class Broker:
    def __init__(self, workdir, port):
        if shutil.which("mosquitto") is None:
            raise AssertionError("mosquitto not installed (scripts/setup installs it)")
        self.port = port
        self.conf = os.path.join(workdir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                    "persistence false\n")
        self.log = open(os.path.join(workdir, "mosquitto.log"), "ab")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=self.log,
                                     stderr=self.log)
        time.sleep(0.3)
        if self.proc.poll() is not None:
            raise AssertionError("mosquitto did not start")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # saves its persistent sessions
            self.proc.wait(timeout=10)


class Subscriber:
    """edgectl sub: decodes events, drops duplicates by event ID, reports gaps per device."""

    def __init__(self, workdir, port, count):
        self.out_path = os.path.join(workdir, "sub.out")
        self.err_path = os.path.join(workdir, "sub.err")
        out = open(self.out_path, "wb")
        err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(
            [binary("edgectl"), "sub", "--broker", f"tcp://127.0.0.1:{port}", "--count",
             str(count), "--timeout-s", "90"], stdout=out, stderr=err)
        out.close()
        err.close()
        wait_for(lambda: "subscribed" in self.stderr() or self.proc.poll() is not None, 10,
                 "edgectl sub to subscribe")

    def stderr(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def finish(self, timeout):
        """Unique events (parsed JSON lines) and the closing summary."""
        status = self.proc.wait(timeout=timeout)
        if status != 0:
            raise AssertionError(f"edgectl sub exited {status}: {self.stderr()}")
        with open(self.out_path) as f:
            events = [json.loads(line) for line in f if line.strip()]
        summary = json.loads(self.stderr().strip().splitlines()[-1])
        return events, summary


class Forwarding(GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.broker = Broker(self.workdir, free_port())
        self.addCleanup(self.broker.stop)

    def test_every_event_arrives_once_in_order_and_the_buffer_drains(self):
        self.broker.start()
        sub = Subscriber(self.workdir, self.broker.port, 2000)
        port = free_port()
        gw = self.gateway("--tcp", f"127.0.0.1:{port}", "--mqtt",
                          f"tcp://127.0.0.1:{self.broker.port}")
        sims = [self.devsim(f"d{i}", "--connect", f"tcp:127.0.0.1:{port}", "--device",
                            str(0x100 + i), "--count", "1000", "--exit-when-acked")
                for i in range(2)]
        for sim in sims:
            self.assertEqual(sim.wait(60), 0, self.explain(sim))
        events, summary = sub.finish(90)
        acked = {e for sim in sims for e in sim.acked()}
        self.assertEqual(len(acked), 2000)
        self.assertEqual({e["event_id"] for e in events}, acked)
        self.assertEqual(summary["unique"], 2000)
        self.assertEqual(summary["gaps"], 0)
        for device in ("0000000000000100", "0000000000000101"):
            seqs = [e["seq"] for e in events if e["device"] == device]
            self.assertEqual(seqs, sorted(seqs), "strict FIFO per device")
            self.assertTrue(all(e["topic"] == f"edge/edge-gateway/{device}/devsim"
                                for e in events if e["device"] == device))
        wait_for(lambda: stats(gw.state_dir)["events"] == 0, 10, "the buffer to drain")
        self.assertEqual(stats(gw.state_dir)["counters"]["forwarded"], 2000)

    def test_gateway_killed_while_publishing_delivers_everything_after_restart(self):
        self.broker.start()
        sub = Subscriber(self.workdir, self.broker.port, 3000)
        port = free_port()
        gw = self.gateway("--tcp", f"127.0.0.1:{port}", "--mqtt",
                          f"tcp://127.0.0.1:{self.broker.port}")
        sim = self.devsim("d", "--connect", f"tcp:127.0.0.1:{port}", "--device", "0x300",
                          "--count", "3000", "--rate", "3000", "--reconnect",
                          "--exit-when-acked", "--timeout-s", "60")
        for _ in range(3):
            time.sleep(0.25)
            gw.kill9()  # PUBACKs in flight and deletes not yet committed are lost with it
            gw.start()
        self.assertEqual(sim.wait(60), 0, self.explain(sim))
        events, summary = sub.finish(90)
        self.assertEqual({e["event_id"] for e in events}, set(sim.acked()))
        self.assertEqual(summary["unique"], 3000)
        self.assertEqual(summary["gaps"], 0)
        wait_for(lambda: stats(gw.state_dir)["events"] == 0, 30, "the buffer to drain")
        print(f"\ngateway kill -9 x3 while forwarding: 3000 delivered, "
              f"{summary['duplicates']} duplicates removed by the consumer")

    def test_broker_down_at_start_backlog_is_kept_then_drains(self):
        # Broker down: events are acked to the device (durable in LMDB) and kept.
        port = free_port()
        gw = self.gateway("--tcp", f"127.0.0.1:{port}", "--mqtt",
                          f"tcp://127.0.0.1:{self.broker.port}")
        sim = self.devsim("d", "--connect", f"tcp:127.0.0.1:{port}", "--device", "0x200",
                          "--count", "1500", "--exit-when-acked")
        self.assertEqual(sim.wait(60), 0, self.explain(sim))
        time.sleep(1.0)
        self.assertEqual(len(buffered_ids(gw.state_dir)), 1500, "the backlog must be kept")
        self.assertNotIn("forwarded", stats(gw.state_dir)["counters"])
        # Broker up: the gateway reconnects by itself and deletes each event on its PUBACK.
        self.broker.start()
        wait_for(lambda: stats(gw.state_dir)["events"] == 0, 60, "the backlog to drain")
        self.assertEqual(stats(gw.state_dir)["counters"]["forwarded"], 1500)
        self.assertIn("connect failed", gw.log())

if __name__ == "__main__":
    unittest.main(verbosity=2)
