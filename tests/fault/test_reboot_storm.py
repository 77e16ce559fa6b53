"""Device reboot storms: devices that reboot every few events, each boot an edge-devsim run of the
same --device with the next --boot and a small --count, some killed (SIGKILL, a power cut) before
all their events were acked, through a gateway forwarding to Mosquitto and an edgectl sub.

How the gateway counts gaps (gateway/dedupe/dedupe_window.h, docs/wire-contract.md): per device
and boot, a seq never received below the highest one received is a gap, counted when a newer
boot starts (or when the window slides past it). A seq above the highest received is unknown,
not a gap. So the storm is built for the gaps to be known exactly from what the devices did:

- clean boot: seq 0.. all acked: no gap;
- late boot (--first-seq F): the device lost its first F events before sending (F gaps);
- killed boot (--first-seq 0 or F, --rate, SIGKILL once a few events are acked): the gateway
  received a prefix of what was sent in order over TCP, so F gaps, whatever the kill cut off;
  events it stored but whose ack the kill lost are delivered too, never acked (not a loss);
- relink (same boot again, a new run after a clean or late one, not a reboot: the link came back
  and the device resends from where it believes it was): --first-seq end - R resends R events
  already stored (R duplicates, acked again, stored once), or --first-seq end + S skips S (S gaps);
- boot counters increase by 1 or 2 (a boot that sent nothing is no gap); the last boot of each
  device is clean, so no hole is left pending.

After each run the test waits until the gateway has closed that run's connection, so a killed
boot's last frames are read before the next boot's first (no stale-boot events). Asserted:
nothing acked lost; every delivered ID one the devices produced; no ID stored twice (the
gateway's stored count per device == the unique IDs delivered); the gateway's gaps and
duplicates counters (total and per device in `edgectl devices`) and the subscriber's gaps per
device equal the plan's exactly; duplicates the subscriber saw are reported.

EDGE_FAULT_SEED=N repeats a plan (the seed is printed); EDGE_FAULT_LONG=1 runs more devices and
boots."""

import random
import signal
import time

from faultkit import (FaultCase, counter, devices, fault_seed, free_port, ids_by_device, stats,
                      wait_for)
from report import record, scale

DEVICES = scale(3, 4)
BOOTS = scale(16, 150)  # devsim runs per device, relinks included
KILLED_COUNT = 100000  # a killed boot's --count: it never gets to the end
KILLED_RATE = 400  # events/s of a killed boot, so the kill comes before its end
ACK_TIMEOUT_MS = 30000  # no resend by timeout within a run: every duplicate is a planned one


def plan_device(rng, boots):
    """The runs of one device, see the module docstring: dicts of kind, boot, first, count,
    kill_after (SIGKILL once that many events are acked; killed kinds only) and the gaps and
    duplicates the run must make the gateway count."""
    runs = []
    boot = rng.randrange(1, 5)
    # After a run that ended with everything acked: the boot's next seq (one past the highest
    # received) and the start of the contiguous received seqs that end there. None: unknown.
    end = low = None
    while len(runs) < boots - 1:
        kinds = ["clean", "late", "killed", "killed_late"]
        if end is not None:
            kinds += ["relink_resend", "relink_skip"]
        kind = rng.choice(kinds)
        run = {"kind": kind, "kill_after": None, "gaps": 0, "duplicates": 0}
        if kind == "relink_resend":  # resends from within what was received, maybe beyond
            first = end - rng.randrange(1, min(end - low, 10) + 1)
            count = rng.randrange(2, 10)
            run["duplicates"] = min(first + count, end) - first
            end = max(end, first + count)
        elif kind == "relink_skip":  # the events in between were lost in the device
            first = end + rng.randrange(1, 21)
            count = rng.randrange(2, 10)
            run["gaps"] = first - end
            low, end = first, first + count
        else:  # a reboot
            boot += rng.choice((1, 1, 1, 2))
            first = rng.randrange(1, 41) if kind in ("late", "killed_late") else 0
            run["gaps"] = first
            if kind.startswith("killed"):
                count = KILLED_COUNT
                run["kill_after"] = rng.randrange(1, 9)
                end = low = None
            else:
                count = rng.randrange(3, 13)
                low, end = first, first + count
        run.update(boot=boot, first=first, count=count)
        runs.append(run)
    runs.append({"kind": "clean", "boot": boot + 1, "first": 0, "count": rng.randrange(3, 13),
                 "kill_after": None, "gaps": 0, "duplicates": 0})
    return runs


class RebootStorm(FaultCase):
    def test_no_duplicate_ids_gaps_exact_nothing_acked_lost(self):
        seed = fault_seed()
        rng = random.Random(seed)
        plans = {0x5700 + i: plan_device(rng, BOOTS) for i in range(DEVICES)}
        print(f"\nreboot storm: seed {seed} (EDGE_FAULT_SEED={seed} repeats the plan), "
              f"{DEVICES} devices x {BOOTS} runs")
        began = time.monotonic()
        self.broker.start()
        sub = self.subscriber()
        port = free_port()
        self.gw = self.gateway("--tcp", f"127.0.0.1:{port}", "--mqtt",
                               f"tcp://127.0.0.1:{self.broker.port}")

        # The devices take turns, one run at a time, so each run's connection can be seen closed.
        expected = {f"{d:016x}": {"gaps": 0, "duplicates": 0, "produced": []} for d in plans}
        acked, killed, runs = set(), 0, 0
        closed = 0
        for step in range(BOOTS):
            for device, plan in plans.items():
                run = plan[step]
                boot, first, count, kill_after = (run["boot"], run["first"], run["count"],
                                                  run["kill_after"])
                exp = expected[f"{device:016x}"]
                sim = self.devsim(f"d{device:x}-{step}", "--connect", f"tcp:127.0.0.1:{port}",
                                  "--device", hex(device), "--boot", str(boot), "--first-seq",
                                  str(first), "--count", str(count), "--ack-timeout-ms",
                                  str(ACK_TIMEOUT_MS), "--timeout-s", "60",
                                  *(("--rate", str(KILLED_RATE)) if kill_after else
                                    ("--exit-when-acked",)))
                what = f"run {step} of device {device:x}: {run}"
                if kill_after:
                    wait_for(lambda: len(sim.acked()) >= kill_after or sim.proc.poll() is not None,
                             30, f"{what}: {kill_after} acks before the kill")
                    if sim.proc.poll() is not None:
                        self.fail(f"{what}: ended before the kill\n{self.explain(sim)}")
                    sim.proc.send_signal(signal.SIGKILL)
                    sim.proc.wait()
                    killed += 1
                    got = [int(i.split("-")[2]) for i in sim.acked()]
                    # Acked Ok is cumulative in order here: the acked seqs are first, first+1...
                    self.assertEqual(sorted(got), list(range(first, first + len(got))), what)
                else:
                    self.assertEqual(sim.wait(60), 0, what + "\n" + self.explain(sim))
                    summary = sim.summary()
                    self.assertEqual((summary["acked"], summary["retransmits"]), (count, 0),
                                     what + f" {summary}")
                exp["produced"].append((boot, first, first + count))  # [first, end) of boot
                exp["gaps"] += run["gaps"]
                exp["duplicates"] += run["duplicates"]
                acked |= set(sim.acked())
                runs += 1
                closed += 1
                wait_for(lambda: self.gw.log().count(": closed (") >= closed, 10,
                         f"{what}: the gateway to close the run's connection")

        # Nothing acked lost; nothing delivered that no device produced; nothing stored twice.
        sub.wait_for_ids(acked, 60)
        wait_for(lambda: stats(self.gw.state_dir)["events"] == 0, 30, "the buffer to drain")
        s = stats(self.gw.state_dir)
        wait_for(lambda: len(sub.ids()) >= counter(s, "stored"), 30,
                 "every stored event to be delivered")
        events, summary = sub.stop()
        delivered = ids_by_device(e["event_id"] for e in events)
        per_device = {d["device"]: d for d in devices(self.gw.state_dir)}
        total_gaps = total_dups = 0
        for device, exp in expected.items():
            got = delivered.get(device, set())
            foreign = {(b, q) for b, q in got
                       if not any(b == boot and lo <= q < hi for boot, lo, hi in exp["produced"])}
            self.assertEqual(foreign, set(), f"{device}: delivered, never produced")
            d = per_device[device]
            self.assertEqual(d["stored"], len(got), f"{device}: stored != unique delivered: {d}")
            self.assertEqual(d["gaps"], exp["gaps"], f"{device}: gateway gaps {d}")
            self.assertEqual(d["duplicates"], exp["duplicates"], f"{device}: duplicates {d}")
            self.assertEqual(d["stale_boot"], 0, d)
            self.assertEqual(summary["devices"][device]["gaps"], exp["gaps"],
                             f"{device}: subscriber gaps {summary['devices'][device]}")
            total_gaps += exp["gaps"]
            total_dups += exp["duplicates"]
        self.assertEqual(counter(s, "gaps"), total_gaps, s)
        self.assertEqual(counter(s, "duplicates"), total_dups, s)
        self.assertEqual(counter(s, "stored"), summary["unique"], s)
        self.assertGreater(total_gaps, 0, "the plan skipped nothing: gaps untested")
        self.assertGreater(killed, 0, "no boot was killed")
        delivered_ids = {e["event_id"] for e in events}
        lost = len(acked - delivered_ids)
        self.assertEqual(lost, 0)
        unacked = len(delivered_ids - acked)
        record("device reboot storm (boot counter per run, SIGKILL mid-boot)", runs, len(acked),
               len(delivered_ids), lost, summary["duplicates"],
               f"gaps {total_gaps} as planned (gateway and subscriber); {total_dups} resent "
               f"events deduplicated; {killed} boots killed, {unacked} events stored but their "
               f"ack cut off by the kill, delivered anyway")
        print(f"reboot storm: {runs} runs ({killed} killed), {len(acked)} acked, "
              f"{len(delivered_ids)} delivered ({unacked} never acked), gaps {total_gaps}, "
              f"deduplicated resends {total_dups}, subscriber duplicates "
              f"{summary['duplicates']}; {time.monotonic() - began:.1f} s")


if __name__ == "__main__":
    import unittest
    unittest.main(verbosity=2)
