"""Link faults between device and gateway: noise bytes inserted, bytes dropped, bits flipped at a
configured per-byte rate, both directions, by tests/fault/link_proxy.py on the TCP path
(edge-devsim -> proxy -> edge-gatewayd -> Mosquitto -> edgectl sub).

For each kind (Noise, Drop, Flip), a clean run and a couple of rates; and one run over a
serial link (Pty: edge-devsim --pty-link -> PtyLinkProxy -> a pty the gateway opens with
--serial) with every kind at once. What each run proves:
- nothing acked is lost: every event the device logged as acked Ok reaches the subscriber;
- nothing damaged gets through: every delivered event is one the device produced, with the
  reading the device put in it (Temperature 20 + (seq % 100) / 10), and the gateway stored each
  event once (stored == events produced), with no gaps (the resends fill every hole);
- every damaged frame is counted, exactly: the gateway's refused-frame counters (`refused.*`,
  `edgectl buffer stats`; `edge_refused_frames_total` in the metrics) grow by the number of
  damaged segments the proxy sent towards it, and the device's `bad_frames` by the number it
  sent towards the device. A segment between two 0x00 delimiters that is not byte for byte a
  frame the sender sent must be refused (CRC-32C misses one with probability 2^-32), and an
  intact one is accepted: the framing resynchronises at the next delimiter, so one fault never
  costs more than the segments it touched (see link_proxy.py). One injection damages one
  segment, or two when it makes a 0x00 inside a frame, or none when it adds a 0x00 next to a
  delimiter: so damaged <= 2 x injected;
- throughput degrades gracefully: every run finishes (events/s printed per rate), and a higher
  rate is not faster than a lower one (loosely: within 1.5x, so scheduling noise cannot fail
  it), nor than the clean link.

EDGE_FAULT_SEED=N repeats a run's injections (each run prints its seed); EDGE_FAULT_LONG=1
sends more events and adds a harsher rate."""

import os
import time

from faultkit import FaultCase, counter, fault_seed, free_port, refused_frames, stats, wait_for
from link_proxy import LinkProxy, PtyLinkProxy
from report import record, scale

EVENTS = scale(500, 4000)  # per run
# Per byte, each direction. At 2e-3 four frames in five are damaged (an EventBatch frame of six
# events is ~800 bytes) and a device gets ~50 events/s through with its 500 ms ack timeout.
RATES = scale((1e-4, 1e-3), (1e-4, 1e-3, 2e-3))
PTY_RATE = 3e-4  # per byte and kind on the pty
DEVICE_BASE = 0x1100


class LinkRuns:
    """Mixed into a FaultCase: one device's run through a link proxy, checked."""

    def run_once(self, proxy, link_args, label, rate, device):
        """One device sends EVENTS through `proxy` (link_args: its devsim link options) to
        self.gw: the checks every run passes, and what was measured."""
        before = stats(self.gw.state_dir)
        started = time.monotonic()
        sim = self.devsim(f"dev{device:x}", *link_args, "--device", hex(device), "--count",
                          str(EVENTS), "--exit-when-acked", "--timeout-s", str(scale(120, 1800)))
        self.assertEqual(sim.wait(scale(130, 1900)), 0, f"{label}: {proxy.describe()}\n"
                         + self.explain(sim))
        seconds = time.monotonic() - started
        wait_for(proxy.idle, 10, f"{label}: the proxied connection to end")
        up, down = proxy.totals("up"), proxy.totals("down")

        def refused():
            b, a = refused_frames(before), refused_frames(stats(self.gw.state_dir))
            return {k: a[k] - b.get(k, 0) for k in a if a[k] != b.get(k, 0)}

        # The refusals are persisted with the next commit after the gateway read the bytes.
        try:
            wait_for(lambda: sum(refused().values()) >= up["damaged"], 10,
                     f"{label}: the gateway to count {up['damaged']} refused frames")
        except AssertionError:
            pass  # the exact comparison below says what was counted
        by_reason = refused()
        after = stats(self.gw.state_dir)
        summary = sim.summary()
        if summary["first_produced_mono_us"] and summary["last_acked_mono_us"]:
            # The device's own span (first event produced -> last Ok ack), without start-up.
            seconds = (summary["last_acked_mono_us"] - summary["first_produced_mono_us"]) / 1e6
        what = f"{label}: {proxy.describe()}\nup {up}\ndown {down}\ndevice {summary}"
        self.assertEqual(sum(by_reason.values()), up["damaged"], what + f"\nrefused {by_reason}")
        self.assertEqual(summary["bad_frames"], down["damaged"], what)
        self.assertLessEqual(up["damaged"], 2 * up["injected"], what)
        self.assertLessEqual(down["damaged"], 2 * down["injected"], what)
        if rate == 0:
            self.assertEqual(up["injected"] + down["injected"], 0, what)
        self.assertEqual((summary["acked"], summary["pending"]), (EVENTS, 0), what)
        # Each event stored once (resends are duplicates, acked again), no gap left behind.
        self.assertEqual(counter(after, "stored") - counter(before, "stored"), EVENTS, what)
        self.assertLessEqual(counter(after, "duplicates") - counter(before, "duplicates"),
                             summary["retransmits"], what)
        self.assertEqual(counter(after, "gaps"), counter(before, "gaps"), what)
        acked_ids = set(sim.acked())
        self.assertEqual(len(acked_ids), EVENTS, what)
        return {"label": label, "rate": rate, "device": f"{device:016x}", "up": up,
                "down": down, "refused": sum(by_reason.values()), "refused_by_reason": by_reason,
                "bad_frames": summary["bad_frames"], "retransmits": summary["retransmits"],
                "acked_ids": acked_ids, "seconds": seconds, "events_s": EVENTS / seconds}

    def check_delivered(self, sub, runs, fault):
        """Every acked event of `runs` reached the subscriber `sub` (stopped here), and nothing
        it got was damaged or made up; one report record per run."""
        acked = set().union(*(r["acked_ids"] for r in runs))
        sub.wait_for_ids(acked, 60)
        events, summary = sub.stop()
        produced = {f"{r['device']}-1-{seq}" for r in runs for seq in range(EVENTS)}
        delivered = {e["event_id"] for e in events}
        self.assertEqual(delivered - produced, set(), "delivered events no device produced")
        for e in events:
            self.assertEqual(e["event_id"], f"{e['device']}-{e['boot']}-{e['seq']}")
            self.assertEqual((e["sensor"], e["reading"]["type"]), ("devsim", "temperature"), e)
            self.assertAlmostEqual(e["reading"]["celsius"], 20 + (e["seq"] % 100) / 10,
                                   places=4, msg=e)
        for r in runs:
            per = summary["devices"].get(r["device"], {})
            r["delivered"] = per.get("unique", 0)
            r["sub_duplicates"] = per.get("duplicates", 0)
            self.assertEqual(r["delivered"], EVENTS, r["label"])
            self.assertEqual(per.get("gaps"), 0, r["label"])
            lost = len(r["acked_ids"] - delivered)
            record(f"{fault} {r['rate']:g}/byte", r["up"]["injected"] +
                   r["down"]["injected"], len(r["acked_ids"]), r["delivered"], lost,
                   r["sub_duplicates"],
                   f"refused {r['refused']} = damaged frames {r['up']['damaged']}; device "
                   f"bad_frames {r['bad_frames']} = damaged acks {r['down']['damaged']}; "
                   f"{r['events_s']:.0f} events/s; {r['retransmits']} resends")


class LinkFaultSweep(LinkRuns):
    """Mixed into a FaultCase per kind (KIND: "noise", "drop" or "flip")."""

    KIND = None

    def test_no_acked_event_lost_every_damaged_frame_counted(self):
        seed = fault_seed()
        print(f"\nlink {self.KIND}: seed {seed} (EDGE_FAULT_SEED={seed} repeats it), "
              f"{EVENTS} events per run")
        self.broker.start()
        sub = self.subscriber()
        port = free_port()
        self.gw = self.gateway("--tcp", f"127.0.0.1:{port}", "--mqtt",
                               f"tcp://127.0.0.1:{self.broker.port}")
        runs = []
        for i, rate in enumerate((0.0,) + RATES):
            proxy = LinkProxy(("127.0.0.1", port), {self.KIND: rate}, seed + i)
            self.addCleanup(proxy.close)
            runs.append(self.run_once(proxy, ["--connect", f"tcp:127.0.0.1:{proxy.port}"],
                                      f"{self.KIND} {rate:g}/byte", rate, DEVICE_BASE + i))

        self.check_delivered(sub, runs, f"link {self.KIND}")

        # Throughput: loosely monotonic in the rate, and below the clean link's.
        for r in runs:
            print(f"  {r['label']}: {r['events_s']:.0f} events/s ({r['seconds']:.2f} s), "
                  f"injected up {r['up']['injected']} down {r['down']['injected']}, damaged "
                  f"frames up {r['up']['damaged']} down {r['down']['damaged']}, refused "
                  f"{r['refused_by_reason']}, device resends {r['retransmits']}")
        for lower, higher in zip(runs, runs[1:]):
            self.assertLessEqual(higher["events_s"], 1.5 * lower["events_s"],
                                 f"{higher['label']} faster than {lower['label']}")
        self.assertLess(runs[-1]["events_s"], runs[0]["events_s"])
        injected = sum(r["up"]["injected"] for r in runs)
        self.assertGreater(injected, 0, "the proxy injected nothing: the test tests nothing")


class Noise(LinkFaultSweep, FaultCase):
    KIND = "noise"


class Drop(LinkFaultSweep, FaultCase):
    KIND = "drop"


class Flip(LinkFaultSweep, FaultCase):
    KIND = "flip"


class Pty(LinkRuns, FaultCase):
    """The serial path: edge-devsim --pty-link -> PtyLinkProxy -> a pty the gateway opens with
    --serial, every kind at once at PTY_RATE per byte each, both directions."""

    def test_serial_link_with_every_kind_of_fault(self):
        seed = fault_seed()
        print(f"\nlink over a pty: seed {seed} (EDGE_FAULT_SEED={seed} repeats it), "
              f"{EVENTS} events")
        self.broker.start()
        sub = self.subscriber()
        device_tty = os.path.join(self.workdir, "ttyDEV")
        proxy = PtyLinkProxy(device_tty, os.path.join(self.workdir, "ttyGW"),
                             dict.fromkeys(("noise", "drop", "flip"), PTY_RATE), seed)
        self.addCleanup(proxy.close)
        self.gw = self.gateway("--serial", f"{proxy.gateway_path}:115200", "--mqtt",
                               f"tcp://127.0.0.1:{self.broker.port}")
        run = self.run_once(proxy, ["--pty-link", device_tty], f"pty {PTY_RATE:g}/byte x3",
                            3 * PTY_RATE, DEVICE_BASE + 0x80)
        self.assertIsNone(proxy.error)
        self.check_delivered(sub, [run], "link noise+drop+flip over a pty")
        print(f"  {run['label']}: {run['events_s']:.0f} events/s, injected up "
              f"{run['up']['injected']} down {run['down']['injected']}, damaged frames up "
              f"{run['up']['damaged']} down {run['down']['damaged']}, refused "
              f"{run['refused_by_reason']}, device resends {run['retransmits']}")
        self.assertGreater(run["up"]["injected"], 0, "the proxy injected nothing")


if __name__ == "__main__":
    import unittest
    unittest.main(verbosity=2)
