"""Process harness for the gateway integration tests: real daemons, real LMDB, real sockets
and ptys, real signals. Standard library only."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from edgepy.console import DeviceConsole  # noqa: E402,F401  (re-exported for the tests)
from edgepy.processes import Daemon, Mosquitto, free_port, port_open, wait_for  # noqa: E402,F401

# ctest passes the built programs' paths; run by hand, set them the same way.
BINARIES = {"edge-gatewayd": "EDGE_GATEWAYD", "edgectl": "EDGECTL", "edge-devsim": "EDGE_DEVSIM"}


def binary(name):
    path = os.environ.get(BINARIES[name], "")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{name}: set {BINARIES[name]} to the built program (got {path!r})")
    return path


class Gateway(Daemon):
    """edge-gatewayd on a state directory, restartable (kill -9 keeps the directory)."""

    def __init__(self, workdir, args, log_name="gateway.log"):
        self.workdir = workdir
        self.state_dir = os.path.join(workdir, "state")
        self.args = args
        self.log_path = os.path.join(workdir, log_name)
        self.proc = None

    def start(self):
        ready = os.path.join(self.workdir, "ready.json")
        if os.path.exists(ready):
            os.unlink(ready)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [binary("edge-gatewayd"), "--state-dir", self.state_dir, "--ready-file", ready]
            + self.args,
            stdout=log, stderr=log)
        log.close()
        wait_for(lambda: os.path.exists(ready) or self.proc.poll() is not None, 10,
                 "the gateway to be ready")
        if self.proc.poll() is not None:
            raise AssertionError(f"gateway exited with {self.proc.returncode}:\n{self.log()}")
        return self


    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()


def edgectl(state_dir, *args):
    out = subprocess.run([binary("edgectl"), "--state-dir", state_dir, *args],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError(f"edgectl {' '.join(args)} failed: {out.stderr}")
    return out.stdout


def buffered_ids(state_dir):
    """Event IDs in the buffer, in buffer order (duplicates kept, so tests can find them)."""
    ids = []
    for line in edgectl(state_dir, "buffer", "dump", "--json").splitlines():
        ids.append(json.loads(line)["event"]["event_id"])
    return ids


def stats(state_dir):
    return json.loads(edgectl(state_dir, "buffer", "stats", "--json"))


def devices(state_dir):
    return [json.loads(l) for l in edgectl(state_dir, "devices", "--json").splitlines()]


def events_of(state_dir, device):
    """The buffered events of `device` (16 hex digits), decoded, in buffer order."""
    lines = edgectl(state_dir, "buffer", "dump", "--json").splitlines()
    return [e["event"] for e in map(json.loads, lines) if e["event"]["device"] == device]


def metrics_text(port):
    """The text of the gateway's http://127.0.0.1:PORT/metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        return reply.read().decode()


def parse_metrics(text):
    """Prometheus text as {"name" or "name{labels}": value}."""
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line and not line.startswith("#")}


def scrape(port):
    """The gateway's metrics as {"name" or "name{labels}": value}."""
    return parse_metrics(metrics_text(port))


class Devsim:
    """edge-devsim: a simulated device on a link."""

    def __init__(self, workdir, name, args):
        self.acked_log = os.path.join(workdir, f"{name}.acked")
        self.out_path = os.path.join(workdir, f"{name}.out")
        self.err_path = os.path.join(workdir, f"{name}.err")
        out = open(self.out_path, "wb")
        err = open(self.err_path, "wb")
        self.proc = subprocess.Popen([binary("edge-devsim"), "--acked-log", self.acked_log] + args,
                                     stdout=out, stderr=err)
        out.close()
        err.close()

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)

    def terminate(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)

    def summary(self):
        with open(self.out_path) as f:
            lines = [l for l in f.read().splitlines() if l.startswith("{")]
        if not lines:
            with open(self.err_path, errors="replace") as f:
                raise AssertionError(f"devsim printed no summary; stderr:\n{f.read()}")
        return json.loads(lines[-1])

    def acked(self):
        if not os.path.exists(self.acked_log):
            return []
        with open(self.acked_log) as f:
            return [l for l in f.read().splitlines() if l]


class GatewayTestCase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="edge-it-")
        self.workdir = self._tmp.name
        self.gateways = []
        self.sims = []

    def tearDown(self):
        for sim in self.sims:
            sim.terminate()
        if self._failed():
            # A timeout in the test says what it waited for; the gateway's log says why (a
            # sanitizer report, a crash, a refused connect). Shown before the workdir goes.
            for gw in self.gateways:
                status = gw.proc.poll() if gw.proc else None
                print(f"\n--- {gw.log_path} (exit {status}), last 4000 characters:\n"
                      f"{gw.log()[-4000:]}", file=sys.stderr)
        for gw in self.gateways:
            gw.stop()
        self._tmp.cleanup()

    def _failed(self):
        """Whether this test has failed so far (unittest records it before tearDown runs)."""
        result = getattr(getattr(self, "_outcome", None), "result", None)
        problems = getattr(result, "failures", []) + getattr(result, "errors", [])
        return any(test is self for test, _ in problems)

    def gateway(self, *args):
        gw = Gateway(self.workdir, list(args))
        self.gateways.append(gw)
        return gw.start()

    def explain(self, sim):
        """What a failed assertion about `sim` should show: its summary and stderr, and the tail
        of every gateway's log."""
        parts = [str(sim.summary()) if os.path.exists(sim.out_path) else "(no summary)"]
        with open(sim.err_path, errors="replace") as f:
            parts.append("devsim stderr:\n" + f.read()[-2000:])
        for gw in self.gateways:
            parts.append(f"gateway log (exit {gw.proc.poll() if gw.proc else None}):\n"
                         + gw.log()[-4000:])
        return "\n".join(parts)

    def devsim(self, name, *args):
        sim = Devsim(self.workdir, name, list(args))
        self.sims.append(sim)
        return sim
