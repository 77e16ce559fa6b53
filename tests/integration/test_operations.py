"""Operations: the gateway's Prometheus endpoint after real traffic (edge-devsim devices, a
Mosquitto broker started here) and `edgectl health` against it, healthy and not."""

import json
import os
import subprocess
import time

from brokers import Mosquitto
from harness import (GatewayTestCase, binary, free_port, metrics_text, parse_metrics, stats,
                     wait_for)


def scrape(port):
    """The samples of http://127.0.0.1:PORT/metrics: {"name" or "name{labels}": value}."""
    text = metrics_text(port)
    return parse_metrics(text), text


def health(*args):
    out = subprocess.run([binary("edgectl"), *args], capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout, out.stderr


class OperationsTestCase(GatewayTestCase):
    def metrics_gateway(self, *args):
        """A gateway with its metrics endpoint on a free port; returns (gateway, port)."""
        port = free_port()
        gw = self.gateway("--metrics", f"127.0.0.1:{port}", *args)
        with open(os.path.join(self.workdir, "ready.json")) as f:
            self.assertEqual(json.load(f)["metrics_port"], port)
        return gw, port

    def run_sim(self, link, device, *args):
        sim = self.devsim(f"d{len(self.sims)}", "--connect", link, "--device", device,
                          "--exit-when-acked", "--timeout-s", "60", *args)
        self.assertEqual(sim.wait(90), 0, self.explain(sim))
        return sim

    def wait_metric(self, port, series, predicate, what, timeout=30):
        wait_for(lambda: predicate(scrape(port)[0].get(series, -1)), timeout, what)

    def config(self, text):
        path = os.path.join(self.workdir, "gw.toml")
        with open(path, "w") as f:
            f.write(text)
        return path


class MetricsEndpoint(OperationsTestCase):
    def test_counters_after_real_traffic_match_the_buffer_and_survive_a_restart(self):
        broker = Mosquitto(self.workdir).start()
        self.addCleanup(broker.stop)
        link_port = free_port()
        config = self.config("[ingest]\ndedupe_window = 64\n")
        gw, port = self.metrics_gateway("-c", config, "--tcp", f"127.0.0.1:{link_port}",
                                        "--mqtt", f"tcp://127.0.0.1:{broker.port}")
        link = f"tcp:127.0.0.1:{link_port}"
        self.run_sim(link, "0x100", "--count", "300")
        self.run_sim(link, "0x100", "--count", "10")  # the same ids again: 10 duplicates
        self.run_sim(link, "0x101", "--boot", "2", "--count", "10")
        self.run_sim(link, "0x101", "--boot", "2", "--first-seq", "15", "--count", "5")  # 5 gaps
        self.run_sim(link, "0x101", "--boot", "3", "--count", "1")  # settles boot 2's holes
        self.run_sim(link, "0x102", "--count", "20", "--inject", "bad_crc,invalid_flatbuffer")
        stored = 300 + 10 + 5 + 1 + 20

        # Every event forwarded, and the gauges refreshed (every 500 ms) to show it.
        self.wait_metric(port, "edge_forwarded_events_total", lambda v: v == stored,
                         f"{stored} events forwarded")
        self.wait_metric(port, "edge_buffer_backlog_events", lambda v: v == 0, "an empty backlog")
        self.wait_metric(port, "edge_links_connected", lambda v: v == 0, "every link closed")
        self.wait_metric(port, "edge_upstream_online_seconds", lambda v: v > 0,
                         "the online time to be counted")
        m, text = scrape(port)
        self.assertIn("# HELP edge_forwarded_events_total ", text)
        self.assertIn("# TYPE edge_buffer_commit_duration_seconds histogram", text)
        self.assertEqual(m["edge_stored_events_total"], stored)
        self.assertEqual(m["edge_duplicate_events_total"], 10)
        self.assertEqual(m["edge_gap_events_total"], 5)
        self.assertGreaterEqual(m['edge_refused_frames_total{reason="bad_crc"}'], 1)
        self.assertGreaterEqual(m['edge_refused_frames_total{reason="invalid_flatbuffer"}'], 1)
        self.assertEqual(m['edge_dropped_events_total{reason="evicted_oldest"}'], 0)
        self.assertEqual(m['edge_dropped_events_total{reason="device_ring"}'], 0)
        self.assertEqual(m["edge_devices"], 3)
        self.assertEqual(m["edge_links_connected"], 0)  # every devsim has exited
        self.assertEqual(m["edge_upstream_configured"], 1)
        self.assertEqual(m["edge_upstream_connected"], 1)
        self.assertEqual(m["edge_upstream_offline_seconds"], 0)
        self.assertGreater(m["edge_upstream_online_seconds"], 0)
        self.assertEqual(m["edge_upstream_in_flight_events"], 0)
        self.assertGreaterEqual(m["edge_upstream_connects_total"], 1)
        self.assertGreaterEqual(m["edge_buffer_commit_duration_seconds_count"], 6)
        self.assertGreater(m["edge_buffer_commit_duration_seconds_sum"], 0)
        self.assertEqual(m["edge_buffer_commit_failing"], 0)
        self.assertEqual(m['edge_build_info{gateway="edge-gateway",version="0.1.0"}'], 1)
        self.assertGreater(m["edge_buffer_used_bytes"], 0)
        self.assertEqual(m["edge_buffer_limit_bytes"], 256 * 1024 * 1024)
        self.assertEqual(m["edge_buffer_high_water_bytes"], 256 * 1024 * 1024 * 80 // 100)
        # The same totals edgectl reads from the buffer.
        counters = stats(gw.state_dir)["counters"]
        self.assertEqual(counters["forwarded"], m["edge_forwarded_events_total"])
        self.assertEqual(counters["refused.bad_crc"],
                         m['edge_refused_frames_total{reason="bad_crc"}'])

        # A restarted gateway continues its counters from the persisted totals.
        gw.stop()
        self.assertFalse(gw.alive())
        gw.start()
        self.wait_metric(port, "edge_upstream_connected", lambda v: v == 1, "a reconnect")
        m, _ = scrape(port)
        self.assertEqual(m["edge_forwarded_events_total"], stored)
        self.assertEqual(m["edge_duplicate_events_total"], 10)

    def test_a_taken_port_stops_the_start_and_a_remote_address_needs_allow_remote(self):
        taken, _ = self.metrics_gateway("--tcp", f"127.0.0.1:{free_port()}")
        port = int(taken.args[taken.args.index("--metrics") + 1].rsplit(":", 1)[1])
        out = subprocess.run([binary("edge-gatewayd"), "--state-dir",
                              os.path.join(self.workdir, "other"), "--tcp",
                              f"127.0.0.1:{free_port()}", "--metrics", f"127.0.0.1:{port}"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 1)
        self.assertIn(f"metrics endpoint 127.0.0.1:{port}: cannot listen", out.stderr)
        out = subprocess.run([binary("edge-gatewayd"), "--check-config", "--tcp",
                              "127.0.0.1:7700", "--metrics", "0.0.0.0:9464"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn("key 'metrics.listen'", out.stderr)
        self.assertIn("metrics.allow_remote = true", out.stderr)


    def test_sigterm_with_the_endpoint_running_stops_cleanly(self):
        # Regression: the endpoint's server threads started before the event loop blocked
        # SIGTERM, so one of them took the signal's default action and the daemon died (exit
        # -15: no final commit, no offline status) instead of stopping. Found by the valgrind
        # soak of the daemon (tests/soak/test_daemon_valgrind.py).
        link_port = free_port()
        gw, port = self.metrics_gateway("--tcp", f"127.0.0.1:{link_port}")
        self.run_sim(f"tcp:127.0.0.1:{link_port}", "0x5161", "--count", "20")
        self.assertIn("edge_", scrape(port)[1])
        self.assertEqual(gw.stop(), 0, gw.log()[-2000:])
        self.assertIn("finishing the current batch and stopping", gw.log())

class Health(OperationsTestCase):
    def test_healthy_with_the_broker_up_and_the_buffer_low(self):
        broker = Mosquitto(self.workdir).start()
        self.addCleanup(broker.stop)
        link_port = free_port()
        gw, port = self.metrics_gateway("--tcp", f"127.0.0.1:{link_port}", "--mqtt",
                                        f"tcp://127.0.0.1:{broker.port}")
        self.run_sim(f"tcp:127.0.0.1:{link_port}", "0x200", "--count", "50")
        self.wait_metric(port, "edge_upstream_connected", lambda v: v == 1, "the broker")
        status, out, err = health("health", "--metrics", f"127.0.0.1:{port}")
        self.assertEqual(status, 0, out + err)
        lines = out.splitlines()
        self.assertEqual([l.split(":")[0] for l in lines],
                         ["ok   endpoint", "ok   metrics", "ok   upstream", "ok   buffer",
                          "ok   commit"], out)
        self.assertIn("broker connected for", out)

    def test_unhealthy_when_the_broker_is_down_longer_than_max_offline(self):
        broker = Mosquitto(self.workdir).start()
        self.addCleanup(broker.stop)
        gw, port = self.metrics_gateway("--tcp", f"127.0.0.1:{free_port()}", "--mqtt",
                                        f"tcp://127.0.0.1:{broker.port}")
        self.wait_metric(port, "edge_upstream_connected", lambda v: v == 1, "the broker")
        broker.stop()
        self.wait_metric(port, "edge_upstream_offline_seconds", lambda v: v > 2,
                         "the broker to be away 2 s")
        status, out, _ = health("health", "--metrics", f"127.0.0.1:{port}",
                                "--max-offline-s", "2")
        self.assertEqual(status, 1, out)
        self.assertIn("FAIL upstream: broker unreachable for", out)
        self.assertIn("ok   buffer", out)
        # Within a longer limit the same outage is healthy.
        status, out, _ = health("health", "--metrics", f"127.0.0.1:{port}")
        self.assertEqual(status, 0, out)

    def test_unhealthy_when_the_buffer_is_above_its_high_water_mark(self):
        link_port = free_port()
        port = free_port()
        config = self.config(
            '[buffer]\nmax_bytes = "1MiB"\nhigh_water_percent = 10\nfull_policy = "refuse_new"\n'
            f'[[ingest.tcp]]\nlisten = "127.0.0.1:{link_port}"\n'
            f'[metrics]\nlisten = "127.0.0.1:{port}"\n')
        gw = self.gateway("-c", config)
        # No upstream: the buffer only fills. The device is refused (busy) at the mark and
        # keeps retrying until the test ends.
        self.devsim("fill", "--connect", f"tcp:127.0.0.1:{link_port}", "--device", "0x300",
                    "--count", "20000", "--timeout-s", "60")
        self.wait_metric(port, "edge_busy_refused_events_total", lambda v: v > 0,
                         "the buffer to refuse events at its high-water mark", timeout=60)
        m, _ = scrape(port)
        self.assertGreaterEqual(m["edge_buffer_used_bytes"], m["edge_buffer_high_water_bytes"])
        # The address comes from the config given with -c.
        status, out, _ = health("-c", config, "health")
        self.assertEqual(status, 1, out)
        self.assertIn("FAIL buffer:", out)
        self.assertIn("ok   upstream: forwarding not configured", out)
        self.assertTrue(gw.alive())

    def test_unhealthy_when_the_endpoint_does_not_answer_and_usage_errors_are_2(self):
        port = free_port()  # nothing listens there
        status, out, _ = health("health", "--metrics", f"127.0.0.1:{port}", "--timeout-s", "2")
        self.assertEqual(status, 1, out)
        self.assertTrue(out.startswith("FAIL endpoint: no answer from "
                                       f"http://127.0.0.1:{port}/metrics"), out)
        status, _, err = health("health", "--metrics", "no-port-here")
        self.assertEqual(status, 2, err)
        status, _, err = health("health", "--max-offline-s", "soon")
        self.assertEqual(status, 2, err)
