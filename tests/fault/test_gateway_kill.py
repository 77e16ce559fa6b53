"""The gateway SIGKILLed at random points while it ingests and forwards, over and over, with the
devices resending: not one event acked to a device may be missing upstream after the final drain.

Devices (edge-devsim over TCP, --reconnect, an acked log) -> edge-gatewayd -> Mosquitto on a free
loopback port -> a QoS 1 subscriber with a persistent session that records every delivery. The
broker is never touched here, so every acked event that does not arrive is the gateway's loss:
lost = acked - delivered, and it must be empty. Duplicates (deliveries beyond the first, from
publishes whose delete the kill undid and from device resends) are counted and reported.

The kill points are random: EDGE_FAULT_SEED=N replays a run (the seed is printed either way).

The check was tried against a gateway broken on purpose: acking each batch 2 ms before its
commit instead of after it lost 143 acked events in 50 kills, and this test reported them."""

import os
import time
import unittest

from delivery import FaultCase, Fleet, SessionSubscriber, drain
from faultkit import free_port
from report import record, scale


class GatewayKillLoop(FaultCase):
    KILLS = scale(50, 1000)
    DEVICES = 3
    RATE = 400  # events/s per device: ingest and forwarding are both busy all the time
    # A kill lands uniformly in this span after the restart: some during start-up and the
    # broker connect, most while the backlog of the downtime drains and live events arrive.
    DELAY_S = (0.02, 0.6)

    def test_sigkill_at_random_points_loses_no_acked_event(self):
        rng = self.seeded_random()
        broker = self.broker.start()
        sub = SessionSubscriber(broker.port, f"fault-sub-{os.getpid()}")
        self.addCleanup(sub.close)
        port = free_port()
        gw = self.gateway("--tcp", f"127.0.0.1:{port}", "--mqtt",
                          f"tcp://127.0.0.1:{broker.port}")
        fleet = Fleet(self, port, self.DEVICES, self.RATE, 0xF100)
        forwarding_kills = 0
        started = time.monotonic()
        for _ in range(self.KILLS):
            log_from = len(gw.log())
            time.sleep(rng.uniform(*self.DELAY_S))
            # Whether this process had connected upstream when it died: a kill while forwarding.
            forwarding_kills += "connected (MQTT" in gw.log()[log_from:]
            gw.kill9()
            gw.start()
        loop_s = time.monotonic() - started
        time.sleep(2)  # the devices reconnect to the last gateway and send again
        acked = fleet.stop()
        unique, duplicates, missing = drain(self, gw, sub, acked)
        summaries = fleet.summaries()
        record("gateway SIGKILL during ingest and forward", self.KILLS, len(acked),
               len(acked & unique), len(missing), duplicates,
               f"seed {self.seed}; {forwarding_kills} kills after the broker connect; device "
               f"reconnects {sum(s['reconnects'] for s in summaries)}, resends "
               f"{sum(s['retransmits'] for s in summaries)}; {loop_s:.0f} s")
        self.assertEqual(missing, set(),
                         f"acked but never delivered: {sorted(missing)[:20]} "
                         f"({len(missing)} of {len(acked)})\n{gw.log()[-3000:]}")
        self.assertTrue(gw.alive(), gw.log()[-3000:])
        self.assertGreater(len(acked), self.KILLS * 10, "the devices hardly sent anything")
        self.assertGreater(forwarding_kills, self.KILLS // 2,
                           "most kills must land while the gateway forwards")
        counters = self.assert_drained_account(gw, acked)
        print(f"gateway SIGKILL x{self.KILLS}: {len(acked)} acked, all delivered, "
              f"{duplicates} duplicate deliveries; counters {counters}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
