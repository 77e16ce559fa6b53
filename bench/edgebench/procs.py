"""Processes the benchmarks start: the gateway, simulated devices, the subscriber, the peer's
Mosquitto edge broker and its publisher, a cuttable TCP link. Built on scripts/edgepy (free_port,
wait_for, Daemon, Mosquitto); standard library only."""

import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request

from edgepy.processes import Daemon, Mosquitto, free_port, wait_for
from edgepy.relay import CuttableLink  # noqa: F401  (the scenarios import it from here)

BIN = {}  # name -> path, filled by bench.py from the build directory


def monotonic_us():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def fleet_start_at(n, per_process_us):
    """The CLOCK_MONOTONIC instant (us) a fleet of `n` processes starts producing at
    (--start-at-mono-us): once every process is up, so the fleet's rate is the gateway's or the
    broker's, not the processes' start-up skew. `per_process_us` is a generous start-up time of
    one (edge-devsim takes about 3 ms here)."""
    return monotonic_us() + 200_000 + n * per_process_us


class Gateway(Daemon):
    """edge-gatewayd on its own state directory; restartable after kill9()."""

    def __init__(self, workdir, name="gw", upstream_port=None, payload="flatbuffer", extra=(),
                 ingest=""):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.state_dir = os.path.join(self.dir, "state")
        self.log_path = os.path.join(self.dir, "gateway.log")
        self.port = free_port()
        self.unix_path = os.path.join(self.dir, "ingest.sock")
        self.metrics_port = free_port()
        self.conf = os.path.join(self.dir, "gateway.toml")
        with open(self.conf, "w") as f:
            # 8 GiB bound: the map is sparse; the resource scenario buffers millions of events.
            # link_rate_events_s = 0: no per-link rate limit (20,000 events/s by default), since
            # the benchmarks measure raw ingest speed, one device alone at 200k+ events/s.
            f.write('[gateway]\nlog_level = "warn"\n[buffer]\nmax_bytes = "8GiB"\n'
                    '[ingest]\nmax_devices = 4096\nmax_connections = 1024\n'
                    f'link_rate_events_s = 0\n{ingest}\n'
                    '[upstream]\n')
            if upstream_port:
                # backoff_max 500 ms: the drain starts soon after the broker is back (the peer's
                # bridge gets restart_timeout 1 likewise).
                f.write(f'uri = "tcp://127.0.0.1:{upstream_port}"\npayload = "{payload}"\n'
                        'backoff_min_ms = 50\nbackoff_max_ms = 500\nstatus_interval_s = 0\n')
        self.args = ["-c", self.conf, "--tcp", f"127.0.0.1:{self.port}", "--unix",
                     self.unix_path, "--metrics", f"127.0.0.1:{self.metrics_port}", *extra]
        self.proc = None

    def start(self):
        ready = os.path.join(self.dir, "ready.json")
        if os.path.exists(ready):
            os.unlink(ready)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([BIN["edge-gatewayd"], "--state-dir", self.state_dir,
                                          "--ready-file", ready] + self.args,
                                         stdout=log, stderr=log)
        wait_for(lambda: os.path.exists(ready) or self.proc.poll() is not None, 15,
                 "the gateway to be ready")
        if self.proc.poll() is not None:
            raise RuntimeError(f"gateway exited {self.proc.returncode}: {self.log()[-2000:]}")
        return self

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stats(self):
        out = subprocess.run([BIN["edgectl"], "--state-dir", self.state_dir, "buffer", "stats",
                              "--json"], capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"edgectl buffer stats: {out.stderr}")
        return json.loads(out.stdout)

    def metrics(self):
        """Prometheus text -> {name{labels}: value}."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                    timeout=5) as r:
            text = r.read().decode()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                try:
                    values[name] = float(value)
                except ValueError:
                    pass
        return values

    def endpoint(self, link):
        return f"tcp:127.0.0.1:{self.port}" if link == "tcp" else f"unix:{self.unix_path}"


def proc_cpu_s(pid):
    """utime + stime of a process, seconds (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_write_bytes(pid):
    """Bytes the process caused to be written to storage (/proc/PID/io write_bytes)."""
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/io has no write_bytes")


def proc_memory_kib(pid):
    """{'rss': KiB, 'private_dirty': KiB, 'anonymous': KiB} from /proc/PID/smaps_rollup."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Private_Dirty", "Anonymous"):
                out[key.lower()] = int(rest.split()[0])
    return out


class DeviceFleet:
    """`n` edge-devsim processes, one device each, `count` events each."""

    def __init__(self, workdir, endpoint, n, count, rate=0, first_device=0x1000, name="fleet",
                 extra=()):
        self.procs = []
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        start_at = fleet_start_at(n, 10_000)
        for i in range(n):
            out = open(os.path.join(self.dir, f"d{i}.out"), "wb")
            err = open(os.path.join(self.dir, f"d{i}.err"), "wb")
            args = [BIN["edge-devsim"], "--connect", endpoint, "--device", str(first_device + i),
                    "--count", str(count), "--exit-when-acked", "--reconnect", "--timeout-s",
                    "600", "--start-at-mono-us", str(start_at), *extra]
            if rate:
                args += ["--rate", str(rate)]
            self.procs.append(subprocess.Popen(args, stdout=out, stderr=err))
            out.close()
            err.close()

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        summaries = []
        for i, p in enumerate(self.procs):
            try:
                code = p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill()
                raise RuntimeError(f"edge-devsim d{i} did not finish in {timeout}s")
            with open(os.path.join(self.dir, f"d{i}.out")) as f:
                lines = f.read().strip().splitlines()
            if code != 0 or not lines:
                with open(os.path.join(self.dir, f"d{i}.err")) as f:
                    raise RuntimeError(f"edge-devsim d{i} exited {code}: {f.read()[-1500:]}")
            summaries.append(json.loads(lines[-1]))
        return summaries

    def kill(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def peer_fleet_rate(summaries):
    """Events PUBACKed per second over the peer publishers' span (first publish -> last ack)."""
    acked = sum(s["acked"] for s in summaries)
    start = min(s["first_produced_mono_us"] for s in summaries) / 1e6
    end = max(s["first_produced_mono_us"] / 1e6 + s["seconds"] for s in summaries)
    return acked / max(1e-6, end - start), acked


def fleet_rate(summaries):
    """Events acked per second over the fleet's span (first production -> last ack)."""
    acked = sum(s["acked"] for s in summaries)
    start = min(s["first_produced_mono_us"] for s in summaries)
    end = max(s["last_acked_mono_us"] for s in summaries)
    return acked / max(1e-6, (end - start) / 1e6), acked


class Subscriber:
    """edgectl sub on the upstream broker. A reader thread counts the JSON lines (one per unique
    event) as they arrive, keeps the time of the first and last, and the end-to-end latency of
    each (receipt - the event's mono_us, both CLOCK_MONOTONIC) when `latency` is set."""

    MONO = re.compile(rb'"mono_us":(\d+)')

    def __init__(self, workdir, port, count, name="sub", latency=False):
        self.err_path = os.path.join(workdir, f"{name}.err")
        self.count = count
        self.lines = 0
        self.first = None
        self.last = None
        self.latencies_us = [] if latency else None
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [BIN["edgectl"], "sub", "--broker", f"tcp://127.0.0.1:{port}", "--topic",
                 "edge/#", "--count", str(count), "--timeout-s", "900",
                 "--client-id", f"bench-{name}-{os.getpid()}"],
                stdout=subprocess.PIPE, stderr=err)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        wait_for(lambda: "subscribed" in self.stderr() or self.proc.poll() is not None, 30,
                 "edgectl sub to subscribe")
        if self.proc.poll() is not None:
            raise RuntimeError(f"edgectl sub exited: {self.stderr()}")

    def _read(self):
        fd = self.proc.stdout.fileno()
        rest = b""
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return
            now = time.monotonic()
            if self.first is None:
                self.first = now
            self.last = now
            self.lines += chunk.count(b"\n")
            if self.latencies_us is not None:
                now_us = monotonic_us()
                data = rest + chunk
                cut = data.rfind(b"\n") + 1
                rest = data[cut:]
                self.latencies_us += [now_us - int(m) for m in self.MONO.findall(data[:cut])]

    def stderr(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def finish(self, timeout, idle_s=None):
        """Waits for `count` unique events, or until nothing arrived for idle_s (a lossy
        peer), or timeout; returns the closing summary (unique, duplicates, gaps)."""
        called = time.monotonic()
        deadline = called + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            if idle_s and time.monotonic() - (self.last or called) > idle_s:
                break
            time.sleep(0.02)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.reader.join(timeout=10)
        lines = self.stderr().strip().splitlines()
        try:
            return json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError):
            raise RuntimeError(f"edgectl sub printed no summary: {self.stderr()[-1500:]}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def upstream_broker(workdir, name="upstream"):
    """The upstream broker both sides forward to: edgepy's Mosquitto (no persistence,
    max_inflight_messages 0 so the subscriber gets every message as it arrives)."""
    return Mosquitto(workdir, name)


class PeerEdgeBroker(Mosquitto):
    """The peer: a Mosquitto edge broker with persistence, bridged at QoS 1 to the upstream
    broker (the set-up users build today). Unlimited queue for the bridge (max_queued_messages
    0) so an outage backlog is kept rather than dropped at the default 1000."""

    def __init__(self, workdir, upstream_port, autosave_interval=None, name="peer-edge"):
        self.store = os.path.join(workdir, f"{name}-store")
        os.makedirs(self.store, exist_ok=True)
        extra = ("persistence true\n"
                 f"persistence_location {self.store}/\n"
                 + (f"autosave_interval {autosave_interval}\n" if autosave_interval else "")
                 + "max_queued_messages 0\n"
                 "connection up\n"
                 f"address 127.0.0.1:{upstream_port}\n"
                 "topic edge/# out 1\n"
                 "cleansession false\n"
                 "restart_timeout 1\n"
                 "try_private false\n"
                 f"remote_clientid peer-bridge-{os.getpid()}\n")
        super().__init__(workdir, name, listeners=extra)
        # edgepy writes "persistence false" first; the later line wins.
        self.upstream_port = upstream_port


class PeerPublishers:
    """`n` edge-bench-peer-publisher processes (one device each) into the peer's edge broker,
    or straight into the upstream broker for the ceiling."""

    def __init__(self, workdir, port, n, count, rate=0, first_device=0x2000, name="peerpub",
                 window=20, acked_log=None):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.procs = []
        start_at = fleet_start_at(n, 20_000)  # a Paho client takes longer to start
        for i in range(n):
            out = open(os.path.join(self.dir, f"p{i}.out"), "wb")
            err = open(os.path.join(self.dir, f"p{i}.err"), "wb")
            args = [BIN["edge-bench-peer-publisher"], "--broker", f"tcp://127.0.0.1:{port}",
                    "--device", str(first_device + i), "--count", str(count), "--window",
                    str(window), "--timeout-s", "600", "--start-at-mono-us", str(start_at)]
            if rate:
                args += ["--rate", str(rate)]
            if acked_log:
                args += ["--acked-log", acked_log]
            self.procs.append(subprocess.Popen(args, stdout=out, stderr=err))
            out.close()
            err.close()

    def wait(self, timeout):
        summaries = []
        deadline = time.monotonic() + timeout
        for i, p in enumerate(self.procs):
            code = p.wait(timeout=max(0.1, deadline - time.monotonic()))
            with open(os.path.join(self.dir, f"p{i}.out")) as f:
                lines = f.read().strip().splitlines()
            if code != 0 or not lines:
                with open(os.path.join(self.dir, f"p{i}.err")) as f:
                    raise RuntimeError(f"peer publisher p{i} exited {code}: {f.read()[-1500:]}")
            summaries.append(json.loads(lines[-1]))
        return summaries
