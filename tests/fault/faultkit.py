"""What the link-fault, reboot-storm and disk-full suites share: the integration harness (real
gateway, devices, Mosquitto), a subscriber that records every delivered event ID, the gateway's
persisted counters and its Prometheus metrics. Standard library only."""

import json
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import (GatewayTestCase, Mosquitto, binary, devices, edgectl, scrape,  # noqa: E402,F401
                     free_port, stats, wait_for)
from mqtt_tap import MqttTap  # noqa: E402,F401


def fault_seed():
    """The seed of a run's random fault points: EDGE_FAULT_SEED=N replays a run (every test
    prints the seed it used), else a fresh one."""
    text = os.environ.get("EDGE_FAULT_SEED", "")
    return int(text) if text else random.SystemRandom().randrange(1, 1 << 32)


def counter(s, name):
    return s["counters"].get(name, 0)


def refused_frames(s):
    """{reason: count} of the gateway's persisted refusals ("refused.<reason>" counters)."""
    return {k[len("refused."):]: v for k, v in s["counters"].items() if k.startswith("refused.")}


def ids_by_device(ids):
    """{device: set of (boot, seq)} from event ID texts ("00000000000000a1-7-42")."""
    out = {}
    for text in ids:
        device, boot, seq = text.split("-")
        out.setdefault(device, set()).add((int(boot), int(seq)))
    return out


class Subscriber:
    """edgectl sub on every event topic: one JSON line per unique event as it arrives (read
    while it runs), its own dedupe and gap count per device in the summary at the end."""

    def __init__(self, workdir, port, name="sub"):
        self.out_path = os.path.join(workdir, f"{name}.out")
        self.err_path = os.path.join(workdir, f"{name}.err")
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [binary("edgectl"), "sub", "--broker", f"tcp://127.0.0.1:{port}", "--topic",
                 "edge/#", "--count", "0", "--timeout-s", "0"],
                stdout=out, stderr=err)
        wait_for(lambda: "subscribed" in self.stderr() or self.proc.poll() is not None, 30,
                 "edgectl sub to subscribe")
        if self.proc.poll() is not None:
            raise AssertionError(f"edgectl sub exited {self.proc.returncode}: {self.stderr()}")

    def stderr(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def events(self):
        """The unique events received so far, decoded (a partial last line is left for later)."""
        with open(self.out_path) as f:
            lines = f.read().split("\n")[:-1]
        return [json.loads(line) for line in lines if line.strip()]

    def ids(self):
        return {e["event_id"] for e in self.events()}

    def wait_for_ids(self, wanted, timeout):
        wanted = set(wanted)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.ids()
            if wanted <= got:
                return got
            time.sleep(0.05)
        missing = wanted - self.ids()
        raise AssertionError(f"{len(missing)} acked events never delivered, e.g. "
                             f"{sorted(missing)[:5]}")

    def stop(self):
        """Ends it (SIGTERM): the unique events and the closing summary (unique, duplicates,
        gaps, per device)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        lines = self.stderr().strip().splitlines()
        summary = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None
        if summary is None:
            raise AssertionError(f"edgectl sub printed no summary: {self.stderr()[-2000:]}")
        return self.events(), summary

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class FaultCase(GatewayTestCase):
    """A gateway test with a Mosquitto broker on a free loopback port (not started) and
    subscribers and taps that are always cleaned up."""

    def setUp(self):
        super().setUp()
        self.broker = Mosquitto(self.workdir)
        self.addCleanup(self.broker.stop)

    def subscriber(self, name="sub"):
        sub = Subscriber(self.workdir, self.broker.port, name)
        self.addCleanup(sub.kill)
        return sub

    def write_config(self, text, name="gw.toml"):
        path = os.path.join(self.workdir, name)
        with open(path, "w") as f:
            f.write(text)
        return path
