"""Forwarding upstream: edge-gatewayd -> a Mosquitto broker started here on a free loopback
port -> mosquitto_sub. Delete after PUBACK: the buffer drains only as the broker acknowledges."""

import os
import shutil
import signal
import subprocess
import time
import unittest

from harness import GatewayTestCase, buffered_ids, free_port, stats, wait_for


class Broker:
    def __init__(self, workdir, port):
        if shutil.which("mosquitto") is None:
            raise AssertionError("mosquitto not installed (scripts/setup installs it)")
        self.port = port
        self.conf = os.path.join(workdir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                    f"persistence true\npersistence_location {workdir}/\n"
                    "max_queued_messages 0\n")
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
    """mosquitto_sub with a persistent MQTT v5 session, printing each message's event-id."""

    def __init__(self, workdir, port, count):
        self.out_path = os.path.join(workdir, "sub.out")
        self.port = port
        self.count = count

    def base(self):
        return ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.port), "-V", "mqttv5",
                "-q", "1", "-c", "-i", "edge-it-sub", "-x", "3600", "-t", "edge/#"]

    def create_session(self):
        subprocess.run(self.base() + ["-E"], check=True, timeout=10)

    def start(self):
        out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(self.base() + ["-C", str(self.count), "-F", "%P"],
                                     stdout=out, stderr=subprocess.STDOUT)
        out.close()
        return self

    def event_ids(self, timeout):
        self.proc.wait(timeout=timeout)
        ids = []
        with open(self.out_path) as f:
            for line in f:
                for part in line.split():
                    if part.startswith("event-id:"):
                        ids.append(part[len("event-id:"):])
        return ids


class Forwarding(GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.broker = Broker(self.workdir, free_port())
        self.addCleanup(self.broker.stop)

    def test_every_event_arrives_and_the_buffer_drains(self):
        self.broker.start()
        sub = Subscriber(self.workdir, self.broker.port, 2000)
        sub.create_session()
        sub.start()
        port = free_port()
        gw = self.gateway("--tcp", f"127.0.0.1:{port}", "--mqtt",
                          f"tcp://127.0.0.1:{self.broker.port}")
        sims = [self.devsim(f"d{i}", "--connect", f"tcp:127.0.0.1:{port}", "--device",
                            str(0x100 + i), "--count", "1000", "--exit-when-acked")
                for i in range(2)]
        for sim in sims:
            self.assertEqual(sim.wait(60), 0, self.explain(sim))
        received = sub.event_ids(60)
        acked = {e for sim in sims for e in sim.acked()}
        self.assertEqual(len(acked), 2000)
        self.assertEqual(set(received), acked)
        wait_for(lambda: stats(gw.state_dir)["events"] == 0, 10, "the buffer to drain")
        self.assertEqual(stats(gw.state_dir)["counters"]["forwarded"], 2000)

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
