"""The scenarios of issue 8. Each takes a Run (workdir, sizes, recorder) and records figures
with run.record(scenario, metric, unit, side, value, target=None). `side` is "ours", "peer" or
"ref" (a reference such as the LMDB ceiling or the broker's own rate). A scenario raises when
something crashed; an event lost by our gateway is recorded as a failure (run.fail)."""

import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from edgepy.processes import free_port, wait_for

from .procs import (BIN, CuttableLink, DeviceFleet, Gateway, PeerEdgeBroker, PeerPublishers,
                    Subscriber, fleet_rate, peer_fleet_rate, proc_cpu_s, proc_memory_kib,
                    proc_write_bytes, upstream_broker)


def pct(values, q):
    if not values:
        return 0
    values = sorted(values)
    return values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))]


def _stop_all(*daemons):
    for d in daemons:
        try:
            if d is not None:
                d.stop()
        except Exception:  # noqa: BLE001 - cleanup must go on
            if d is not None and d.proc is not None and d.proc.poll() is None:
                d.proc.kill()


def _commits(gw):
    m = gw.metrics()
    return m.get("edge_buffer_commit_duration_seconds_count", 0.0)


# 1. Durable ingest ---------------------------------------------------------------------------

def ingest(run):
    """N devices over TCP (and Unix) at full speed: events/s acked after commit and ack latency;
    a paced 10,000 events/s run for the latency target; the raw LMDB ceiling."""
    events_per_commit = []
    cases = [(1, "tcp"), (10, "tcp"), (100, "tcp"), (10, "unix")]
    if run.quick:
        cases = [(1, "tcp"), (10, "tcp"), (100, "tcp"), (10, "unix")]
    total = run.size(quick=20_000, full=300_000)
    for rep in range(run.reps):
        for n, link in cases:
            gw = Gateway(run.workdir, f"ingest-{n}-{link}-{rep}").start()
            try:
                commits0 = _commits(gw)
                cpu0 = proc_cpu_s(gw.proc.pid)
                fleet = DeviceFleet(gw.dir, gw.endpoint(link), n, total // n)
                summaries = fleet.wait(300)
                cpu = proc_cpu_s(gw.proc.pid) - cpu0
                rate, acked = fleet_rate(summaries)
                commits = _commits(gw) - commits0
                stored = gw.stats()["events"]
            finally:
                _stop_all(gw)
            if stored != acked:
                run.fail(f"ingest {n} {link}: {acked} acked but {stored} in the buffer")
            label = f"{n} device{'s' if n > 1 else ''} {link}"
            run.record("1 ingest", f"{label}: events/s acked", "ev/s", "ours", rate,
                       target=(">= 200,000 and >= 0.5x raw LMDB" if n == 100
                               else ">= 0.5x raw LMDB"))
            run.record("1 ingest", f"{label}: ack p50 (median device)", "ms", "ours",
                       pct([s["ack_latency_us"]["p50"] for s in summaries], 0.5) / 1000)
            run.record("1 ingest", f"{label}: ack p99 (worst device)", "ms", "ours",
                       max(s["ack_latency_us"]["p99"] for s in summaries) / 1000)
            run.record("1 ingest", f"{label}: ack p999 (worst device)", "ms", "ours",
                       max(s["ack_latency_us"]["p999"] for s in summaries) / 1000)
            if commits:
                events_per_commit.append((label, acked / commits))
                run.record("1 ingest", f"{label}: events per commit", "ev", "ours",
                           acked / commits)
            run.record("1 ingest", f"{label}: gateway CPU per 100k events", "s", "ours",
                       cpu * 100_000 / max(1, acked))
            if link == "tcp":
                _ingest_peer(run, rep, n, total, label, rate, summaries)

        # Paced: 10 devices x 1,000 events/s.
        seconds = 2 if run.quick else 5
        gw = Gateway(run.workdir, f"ingest-paced-{rep}").start()
        try:
            summaries = DeviceFleet(gw.dir, gw.endpoint("tcp"), 10, 1000 * seconds,
                                    rate=1000).wait(120)
        finally:
            _stop_all(gw)
        rate, _ = fleet_rate(summaries)
        run.record("1 ingest", "paced 10k ev/s (10 dev): events/s", "ev/s", "ours", rate)
        run.record("1 ingest", "paced 10k ev/s (10 dev): ack p99 (worst device)", "ms", "ours",
                   max(s["ack_latency_us"]["p99"] for s in summaries) / 1000, target="< 5 ms")
        run.record("1 ingest", "paced 10k ev/s (10 dev): ack p999 (worst device)", "ms", "ours",
                   max(s["ack_latency_us"]["p999"] for s in summaries) / 1000)
        edge = PeerEdgeBroker(run.workdir, free_port(), name=f"peer-edge-paced-{rep}").start()
        try:
            peer = PeerPublishers(run.workdir, edge.port, 10, 1000 * seconds, rate=1000,
                                  name=f"peerpub-paced-{rep}").wait(120)
        finally:
            _stop_all(edge)
        for q, what in (("p99", "ack p99"), ("p999", "ack p999")):
            run.record("1 ingest", f"paced 10k ev/s (10 dev): {what} (worst device)", "ms", "peer",
                       max(s["ack_latency_us"][q] for s in peer) / 1000)

    # The storage ceiling on the same disk (the work directory's): LMDB alone at the batch size
    # each case committed (recorded as the reference of that case's events/s row, so the ratio
    # column shows how close to the storage limit the gateway came), and at fixed sizes.
    seconds = 0.5 if run.quick else 2.0

    def raw(batch):
        d = tempfile.mkdtemp(prefix="lmdb-raw-", dir=run.workdir)
        out = subprocess.run([BIN["edge-bench-lmdb-raw"], "--dir", d, "--batch", str(batch),
                              "--seconds", str(seconds)],
                             capture_output=True, text=True, timeout=120, check=True)
        shutil.rmtree(d)
        return json.loads(out.stdout)

    for label, per_commit in events_per_commit:
        run.record("1 ingest", f"{label}: events/s acked", "ev/s", "ref",
                   raw(max(1, round(per_commit)))["puts_per_s"])
    for rep in range(run.reps):
        for batch in (1, 6, 100, 1000):
            r = raw(batch)
            run.record("1 ingest", f"raw LMDB puts/s, {batch} per commit (full sync)", "ev/s",
                       "ref", r["puts_per_s"])
            run.record("1 ingest", f"raw LMDB commits/s, {batch} per commit", "1/s", "ref",
                       r["commits_per_s"])
    run.note("ingest: the ref column of an 'events/s acked' row is raw LMDB (full sync, 64-byte "
             "values) at the events per commit the gateway reached in that case; target: "
             "ours >= 50% of it.")


def _ingest_peer(run, rep, n, total, label, our_rate, our_summaries):
    """The same fleet as QoS 1 MQTT publishers (window 20) into the peer's edge broker, its
    bridge's upstream away: what the set-up users build today acknowledges per second. Its
    PUBACK comes before any disk write (persistence saves every autosave_interval), ours after
    the commit's fsync."""
    edge = PeerEdgeBroker(run.workdir, free_port(), name=f"peer-edge-ingest-{n}-{rep}").start()
    total = min(total, 100_000)  # a rate: the peer's ~15k/s would take 20 s for 300k
    try:
        summaries = PeerPublishers(run.workdir, edge.port, n, total // n,
                                   name=f"peerpub-ingest-{n}-{rep}").wait(300)
    finally:
        _stop_all(edge)
    rate, _ = peer_fleet_rate(summaries)
    metric = f"{label}: events/s acked, vs the peer's edge broker"
    run.record("1 ingest", metric, "ev/s", "ours", our_rate)
    run.record("1 ingest", metric, "ev/s", "peer", rate)
    run.record("1 ingest", f"{label}: ack p50 (median device)", "ms", "peer",
               pct([s["ack_latency_us"]["p50"] for s in summaries], 0.5) / 1000)
    run.record("1 ingest", f"{label}: ack p99 (worst device)", "ms", "peer",
               max(s["ack_latency_us"]["p99"] for s in summaries) / 1000)


# 2. Forward drain ----------------------------------------------------------------------------

def _preload_gateway(run, name, upstream_port, payload, n_events):
    gw = Gateway(run.workdir, name, upstream_port=upstream_port, payload=payload).start()
    devices = 10
    DeviceFleet(gw.dir, gw.endpoint("tcp"), devices, n_events // devices).wait(600)
    return gw, (n_events // devices) * devices


def _drain_ours(run, rep, payload, n_events):
    up = upstream_broker(run.workdir, f"up-drain-{payload}-{rep}")
    gw, n = _preload_gateway(run, f"drain-{payload}-{rep}", up.port, payload, n_events)
    sub = None
    try:
        backlog = gw.stats()["events"]
        if backlog != n:
            run.fail(f"drain {payload}: {n} acked but {backlog} buffered before the drain")
        cpu0 = proc_cpu_s(gw.proc.pid)
        up.start()
        sub = Subscriber(gw.dir, up.port, n)
        summary = sub.finish(600)
        cpu = proc_cpu_s(gw.proc.pid) - cpu0
        wait_for(lambda: gw.stats()["events"] == 0, 60, "the buffer to drain")
    finally:
        if sub:
            sub.kill()
        _stop_all(gw, up)
    lost = n - summary["unique"]
    if lost or summary["gaps"]:
        run.fail(f"drain {payload}: {lost} of {n} events lost, {summary['gaps']} gaps")
    rate = summary["unique"] / max(1e-6, sub.last - sub.first)
    return rate, summary, cpu * 100_000 / n


def _drain_peer(run, rep, n_events):
    up = upstream_broker(run.workdir, f"up-drain-peer-{rep}")
    edge = PeerEdgeBroker(run.workdir, up.port, name=f"peer-edge-drain-{rep}").start()
    sub = None
    try:
        devices = 10
        per = n_events // devices
        PeerPublishers(run.workdir, edge.port, devices, per, name=f"peerpub-drain-{rep}").wait(900)
        n = per * devices
        up.start()
        sub = Subscriber(run.workdir, up.port, n, name=f"sub-drain-peer-{rep}")
        summary = sub.finish(900, idle_s=60)
    finally:
        if sub:
            sub.kill()
        _stop_all(edge, up)
    rate = summary["unique"] / max(1e-6, (sub.last or 0) - (sub.first or 0))
    return rate, summary, n


def forward(run):
    n_events = run.size(quick=50_000, full=1_000_000)
    # A rate, not a drain: 200k events measure it as well as 1M and keep the full run short.
    ceiling_events = min(n_events, 200_000)
    run.note(f"forward: backlog of {n_events:,} events from 10 devices, window 20 on both sides")
    for rep in range(run.reps):
        rate, summary, cpu = _drain_ours(run, rep, "flatbuffer", n_events)
        run.record("2 forward", "drain per-event: events/s", "ev/s", "ours", rate,
                   target=">= 1.5x peer")
        run.record("2 forward", "drain per-event: duplicates", "ev", "ours",
                   summary["duplicates"])
        run.record("2 forward", "drain per-event: gateway CPU per 100k", "s", "ours", cpu)
        rate_b, summary_b, cpu_b = _drain_ours(run, rep, "batch", n_events)
        run.record("2 forward", "drain batch: events/s", "ev/s", "ours", rate_b,
                   target=">= 10x peer")
        run.record("2 forward", "drain batch: gateway CPU per 100k", "s", "ours", cpu_b)
        peer_rate, peer_summary, n = _drain_peer(run, rep, n_events)
        for metric in ("drain per-event: events/s", "drain batch: events/s"):
            run.record("2 forward", metric, "ev/s", "peer", peer_rate)
        run.record("2 forward", "drain per-event: duplicates", "ev", "peer",
                   peer_summary["duplicates"])
        run.record("2 forward", "drain: events lost", "ev", "peer", n - peer_summary["unique"])
        run.record("2 forward", "drain: events lost", "ev", "ours", 0)  # else run.fail above
        # The ceiling: one Paho QoS 1 client, window 20, straight to the upstream broker; once
        # alone, and once with the drains' subscriber taking every message from the broker (the
        # load both sides' drains run under).
        for with_sub in (False, True):
            up = upstream_broker(run.workdir, f"up-ceiling-{rep}-{int(with_sub)}").start()
            sub = None
            try:
                if with_sub:
                    sub = Subscriber(run.workdir, up.port, ceiling_events,
                                     name=f"sub-ceiling-{rep}")
                s = PeerPublishers(run.workdir, up.port, 1, ceiling_events,
                                   name=f"ceiling-{rep}-{int(with_sub)}",
                                   first_device=0x3000).wait(600)[0]
                if sub:
                    sub.finish(120, idle_s=10)
            finally:
                if sub:
                    sub.kill()
                _stop_all(up)
            what = "with the subscriber" if with_sub else "no subscriber"
            run.record("2 forward", f"ceiling: 1 Paho QoS 1 client, window 20, {what}", "ev/s",
                       "ref", s["acked_per_s"])


# 3. Online end to end ------------------------------------------------------------------------

def online(run):
    """Broker up, subscriber on: device -> subscriber. A paced run for latency, a full-speed
    run for throughput; the same for the peer."""
    paced_rate, paced_s = 2000, (2 if run.quick else 5)
    burst = run.size(quick=20_000, full=200_000)
    for rep in range(run.reps):
        for mode, n_dev, per, rate in (("paced 2k ev/s", 1, paced_rate * paced_s, paced_rate),
                                       ("full speed", 10, burst // 10, 0)):
            n = n_dev * per
            # ours
            up = upstream_broker(run.workdir, f"up-online-{rep}-{rate}").start()
            gw = Gateway(run.workdir, f"online-{rep}-{rate}", upstream_port=up.port).start()
            sub = Subscriber(gw.dir, up.port, n, latency=True)
            try:
                fleet = DeviceFleet(gw.dir, gw.endpoint("tcp"), n_dev, per, rate=rate)
                summaries = fleet.wait(600)
                summary = sub.finish(600)
            finally:
                sub.kill()
                _stop_all(gw, up)
            if summary["unique"] != n:
                run.fail(f"online {mode}: {n - summary['unique']} of {n} events lost")
            run.record("3 online", f"{mode}: events lost", "ev", "ours", n - summary["unique"])
            start = min(s["first_produced_mono_us"] for s in summaries) / 1e6
            _record_online(run, mode, "ours", summary["unique"], sub, start)
            # peer
            up = upstream_broker(run.workdir, f"up-online-peer-{rep}-{rate}").start()
            edge = PeerEdgeBroker(run.workdir, up.port, name=f"peer-edge-online-{rep}-{rate}")
            edge.start()
            sub = Subscriber(run.workdir, up.port, n, name=f"sub-online-peer-{rep}-{rate}",
                             latency=True)
            try:
                time.sleep(1.5)  # the bridge connects (it is asynchronous)
                pubs = PeerPublishers(run.workdir, edge.port, n_dev, per, rate=rate,
                                      name=f"peerpub-online-{rep}-{rate}").wait(600)
                summary = sub.finish(600, idle_s=10)
            finally:
                sub.kill()
                _stop_all(edge, up)
            start = min(p["first_produced_mono_us"] for p in pubs) / 1e6
            _record_online(run, mode, "peer", summary["unique"], sub, start)
            run.record("3 online", f"{mode}: events lost", "ev", "peer", n - summary["unique"])


def _record_online(run, mode, side, unique, sub, start):
    run.record("3 online", f"{mode}: events/s at the subscriber", "ev/s", side,
               unique / max(1e-6, (sub.last or start) - start))
    lat = sub.latencies_us or [0]
    run.record("3 online", f"{mode}: device->subscriber p50", "ms", side, pct(lat, 0.5) / 1000)
    run.record("3 online", f"{mode}: device->subscriber p99", "ms", side, pct(lat, 0.99) / 1000)


# 4. Outage -----------------------------------------------------------------------------------

def outage(run):
    """Events stream in while the link to the upstream broker is cut, then restored. The
    subscriber stays on the upstream broker throughout, so every loss is the edge's."""
    devices, rate = 10, 1000 if run.quick else 5000
    seconds = 3 if run.quick else 10
    per = rate * seconds
    n = devices * per
    run.note(f"outage: {devices} devices x {rate} ev/s for {seconds} s ({n:,} events); the link "
             f"to the upstream broker is cut from {seconds * 0.2:.1f} s to {seconds * 0.8:.1f} s")
    for rep in range(run.reps):
        for side in ("ours", "peer"):
            up = upstream_broker(run.workdir, f"up-outage-{side}-{rep}").start()
            link = CuttableLink(up.port)
            gw = edge = None
            if side == "ours":
                gw = Gateway(run.workdir, f"outage-{rep}", upstream_port=link.port).start()
                workdir = gw.dir
            else:
                edge = PeerEdgeBroker(run.workdir, link.port, name=f"peer-edge-outage-{rep}")
                edge.start()
                workdir = run.workdir
            sub = Subscriber(workdir, up.port, n, name=f"sub-outage-{side}-{rep}")
            try:
                time.sleep(1.5 if side == "peer" else 0.2)
                if side == "ours":
                    senders = DeviceFleet(gw.dir, gw.endpoint("tcp"), devices, per, rate=rate)
                else:
                    senders = PeerPublishers(run.workdir, edge.port, devices, per, rate=rate,
                                             name=f"peerpub-outage-{rep}")
                time.sleep(seconds * 0.2)
                link.cut()
                time.sleep(seconds * 0.6)
                restored = time.monotonic()
                link.restore()
                senders.wait(600)
                summary = sub.finish(600, idle_s=None if side == "ours" else 60)
            finally:
                sub.kill()
                link.close()
                _stop_all(gw, edge, up)
            lost = n - summary["unique"]
            if side == "ours" and lost:
                run.fail(f"outage: our gateway lost {lost} of {n} events")
            run.record("4 outage", "drain time after the link is back", "s", side,
                       max(0.0, (sub.last or restored) - restored))
            run.record("4 outage", "events lost", "ev", side, lost, target="0")
            run.record("4 outage", "duplicates at the subscriber", "ev", side,
                       summary["duplicates"])


# 5. Crash ------------------------------------------------------------------------------------

def crash(run):
    """The edge process holds a backlog it acked to the devices (upstream unreachable); it is
    SIGKILLed 0.3 s after the last ack, restarted, and the upstream broker comes up."""
    n = run.size(quick=10_000, full=10_000)
    rate = 2000  # the backlog builds over 5 s, so the peer's autosave_interval 1 saves 4 times
    run.note(f"crash: {n:,} events at {rate:,} ev/s from one device; the edge process is "
             "SIGKILLed 0.3 s after the last ack (PUBACK for the peer)")
    for rep in range(run.reps):
        # ours
        up = upstream_broker(run.workdir, f"up-crash-{rep}")
        gw = Gateway(run.workdir, f"crash-{rep}", upstream_port=up.port).start()
        sub = None
        try:
            log = os.path.join(gw.dir, "acked.log")
            DeviceFleet(gw.dir, gw.endpoint("tcp"), 1, n, rate=rate,
                        extra=("--acked-log", log)).wait(300)
            time.sleep(0.3)
            gw.kill9()
            acked = _count_lines(log)
            gw.start()
            up.start()
            sub = Subscriber(gw.dir, up.port, acked, name="sub-crash")
            summary = sub.finish(300, idle_s=15)
        finally:
            if sub:
                sub.kill()
            _stop_all(gw, up)
        lost = acked - summary["unique"]
        if lost:
            run.fail(f"crash: our gateway lost {lost} of {acked} acked events")
        run.record("5 crash", f"events lost of {n:,} acked", "ev", "ours", lost, target="0")
        run.record("5 crash", "duplicates at the subscriber", "ev", "ours",
                   summary["duplicates"])
        # peer: persistence true, autosave_interval 1
        up = upstream_broker(run.workdir, f"up-crash-peer-{rep}")
        edge = PeerEdgeBroker(run.workdir, up.port, autosave_interval=1,
                              name=f"peer-edge-crash-{rep}").start()
        sub = None
        try:
            log = os.path.join(run.workdir, f"peer-crash-{rep}-acked.log")
            PeerPublishers(run.workdir, edge.port, 1, n, rate=rate, name=f"peerpub-crash-{rep}",
                           acked_log=log).wait(300)
            time.sleep(0.3)
            edge.kill9()
            acked = _count_lines(log)
            edge.start()
            up.start()
            sub = Subscriber(run.workdir, up.port, acked, name=f"sub-crash-peer-{rep}")
            summary = sub.finish(120, idle_s=10)
        finally:
            if sub:
                sub.kill()
            _stop_all(edge, up)
        run.record("5 crash", f"events lost of {n:,} acked", "ev", "peer",
                   acked - summary["unique"])
        run.record("5 crash", "duplicates at the subscriber", "ev", "peer",
                   summary["duplicates"])


def _count_lines(path):
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


# 6. Resources --------------------------------------------------------------------------------

def resources(run):
    """RSS and private dirty memory of the gateway holding 10k, then a large backlog; disk
    bytes per event; CPU per 100k events stored."""
    steps = [10_000, 200_000] if run.quick else [10_000, 1_000_000, 10_000_000]
    if not run.quick and not run.full_10m:
        steps = steps[:2]
    gw = Gateway(run.workdir, "resources").start()
    try:
        held = 0
        first = None
        for i, target in enumerate(steps):
            cpu0 = proc_cpu_s(gw.proc.pid)
            DeviceFleet(gw.dir, gw.endpoint("tcp"), 10, (target - held) // 10,
                        first_device=0x4000 + 16 * i, name=f"fleet-{i}").wait(1800)
            cpu = proc_cpu_s(gw.proc.pid) - cpu0
            stored = target - held
            held = target
            time.sleep(0.5)
            mem = proc_memory_kib(gw.proc.pid)
            stats = gw.stats()
            if stats["events"] != held:
                run.fail(f"resources: {held} acked, {stats['events']} buffered")
            label = f"{held:,} buffered"
            run.record("6 resources", f"{label}: RSS", "MiB", "ours", mem["rss"] / 1024)
            run.record("6 resources", f"{label}: private dirty", "MiB", "ours",
                       mem["private_dirty"] / 1024, target="< 32 MiB, flat (+-10%)")
            run.record("6 resources", f"{label}: disk bytes per event (used)", "B", "ours",
                       stats["used_bytes"] / held)
            data = os.path.join(gw.state_dir, "data.mdb")
            if os.path.exists(data):
                run.record("6 resources", f"{label}: data.mdb on disk per event", "B", "ours",
                           os.stat(data).st_blocks * 512 / held)
            run.record("6 resources", f"{label}: CPU per 100k events stored", "s", "ours",
                       cpu * 100_000 / stored)
            if first is None:
                first = mem["private_dirty"]
            else:
                run.note(f"resources: private dirty {first / 1024:.1f} MiB at {steps[0]:,} -> "
                         f"{mem['private_dirty'] / 1024:.1f} MiB at {held:,} "
                         f"({(mem['private_dirty'] / first - 1) * 100:+.0f}%)")
    finally:
        _stop_all(gw)


# 8. Flash wear (issue 10) ------------------------------------------------------------------------

def wear(run):
    """Bytes written to disk per event for the whole life of an event (ingest commit, forward,
    grouped delete), from /proc/PID/io write_bytes, at several ingest.commit_linger_us values:
    10 devices at 200 events/s each with the broker up, so the buffer stays near empty, as on a
    site with a working uplink. SD cards and eMMC wear by bytes written."""
    seconds = 3 if run.quick else 8
    lingers = (0, 2_000, 10_000) if run.quick else (0, 1_000, 2_000, 5_000, 10_000, 20_000)
    for rep in range(1):  # bytes written hardly vary between runs; one keeps the run short
        for linger in lingers:
            up = upstream_broker(run.workdir, f"up-wear-{linger}-{rep}").start()
            gw = Gateway(run.workdir, f"wear-{linger}-{rep}", upstream_port=up.port,
                         ingest=f"commit_linger_us = {linger}").start()
            try:
                commits0 = _commits(gw)
                written0 = proc_write_bytes(gw.proc.pid)
                summaries = DeviceFleet(gw.dir, gw.endpoint("tcp"), 10, 200 * seconds,
                                        rate=200).wait(120)
                wait_for(lambda: gw.stats()["events"] == 0, 60, "the buffer to drain")
                time.sleep(0.2)  # the last grouped delete (kDeleteGroupUs) is committed
                written = proc_write_bytes(gw.proc.pid) - written0
                commits = _commits(gw) - commits0
            finally:
                _stop_all(gw, up)
            _, acked = fleet_rate(summaries)
            label = f"commit_linger_us {linger:,}"
            run.record("8 wear", f"{label}: bytes written per event (ingest+forward+delete)",
                       "B", "ours", written / max(1, acked))
            run.record("8 wear", f"{label}: events per LMDB commit (ingest and delete)", "ev", "ours",
                       acked / max(1, commits))
            run.record("8 wear", f"{label}: ack p99 (worst device)", "ms", "ours",
                       max(s["ack_latency_us"]["p99"] for s in summaries) / 1000)
    run.note("wear: 2,000 events/s from 10 devices with the broker up; the written bytes "
             "include LMDB's page copies (copy-on-write: a commit writes every page it touched "
             "plus the meta page) and the grouped deletes.")


# 9. Sizing (issue 10) -------------------------------------------------------------------------

def sizing(run):
    """Disk bytes one buffered event takes, per reading type: the daemon's Buffer code storing
    events of 10 devices, 500 per commit (edge-bench-sizing)."""
    events = 20_000 if run.quick else 200_000
    d = tempfile.mkdtemp(prefix="sizing-", dir=run.workdir)
    out = subprocess.run([BIN["edge-bench-sizing"], "--dir", d, "--events", str(events)],
                         capture_output=True, text=True, timeout=600)
    shutil.rmtree(d)
    if out.returncode != 0:
        raise RuntimeError(f"edge-bench-sizing exited {out.returncode}: {out.stderr[-1500:]}")
    for line in out.stdout.splitlines():
        r = json.loads(line)
        label = f"{r['reading']} ({r['sensor']})"
        run.record("9 sizing", f"{label}: FlatBuffers event", "B", "ours", r["event_bytes"])
        run.record("9 sizing", f"{label}: buffer bytes per event", "B", "ours",
                   r["buffer_bytes_per_event"])
        run.record("9 sizing", f"{label}: data.mdb bytes per event", "B", "ours",
                   r["file_bytes_per_event"])


# 7. Firmware ---------------------------------------------------------------------------------

def firmware(run):
    elf = os.path.join(run.root, "build", "lm3s6965evb", "firmware", "edge-firmware.elf")
    if not os.path.exists(elf) and shutil.which("arm-none-eabi-gcc"):
        subprocess.run(["cmake", "--preset", "lm3s6965evb"], cwd=run.root, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", "--preset", "lm3s6965evb", "--target",
                        "edge-firmware"], cwd=run.root, check=True, stdout=subprocess.DEVNULL)
    if os.path.exists(elf) and shutil.which("arm-none-eabi-size"):
        out = subprocess.run(["arm-none-eabi-size", "-A", elf], capture_output=True, text=True,
                             check=True).stdout
        sections = {}
        for line in out.splitlines():
            parts = line.split()
            if (len(parts) >= 2 and parts[1].isdigit()
                    and parts[0] in (".vectors", ".text", ".ARM.exidx", ".rodata", ".data",
                                     ".bss", ".stack", ".heap")):
                sections[parts[0]] = int(parts[1])
        berkeley = subprocess.run(["arm-none-eabi-size", elf], capture_output=True, text=True,
                                  check=True).stdout.splitlines()[1].split()
        text, data, bss = int(berkeley[0]), int(berkeley[1]), int(berkeley[2])
        run.record("7 firmware", "lm3s6965evb flash (text + data)", "B", "ours", text + data)
        run.record("7 firmware", "lm3s6965evb RAM (data + bss)", "B", "ours", data + bss)
        run.note("firmware sections: " + ", ".join(f"{k} {v}" for k, v in sections.items()))
    else:
        run.note("firmware: build/lm3s6965evb/firmware/edge-firmware.elf missing and "
                 "arm-none-eabi-gcc not installed: size not measured")
    tool = BIN["edge-bench-encode-frame"]
    wall = json.loads(subprocess.run([tool, "--events", "1000000"], capture_output=True,
                                     text=True, check=True).stdout)
    run.record("7 firmware", "encode+frame one event (host, wall)", "ns", "ours",
               wall["ns_per_event"])
    run.record("7 firmware", "frame bytes on the wire (one event)", "B", "ours",
               wall["frame_bytes"])
    if shutil.which("valgrind"):
        counts = {}
        for events in (1, 1001):
            out_file = os.path.join(run.workdir, f"callgrind.{events}.out")
            subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
                            tool, "--events", str(events)], capture_output=True, check=True)
            with open(out_file) as f:
                for line in f:
                    if line.startswith("summary:") or line.startswith("totals:"):
                        counts[events] = int(line.split()[1])
        run.record("7 firmware", "encode+frame one event (x86-64 instructions, callgrind)",
                   "instr", "ours", (counts[1001] - counts[1]) / 1000)
    else:
        run.note("firmware: valgrind not installed: instruction count not measured")


ALL = [("ingest", ingest), ("forward", forward), ("online", online), ("outage", outage),
       ("crash", crash), ("resources", resources), ("firmware", firmware), ("wear", wear),
       ("sizing", sizing)]
