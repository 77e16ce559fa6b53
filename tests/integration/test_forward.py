"""Forwarding upstream: edge-gatewayd -> a real broker started here on a free loopback port ->
edgectl sub. Delete after PUBACK: the buffer drains only as the broker acknowledges."""

import json
import os
import subprocess
import time
import unittest

from brokers import Mosquitto, Pki, password_file, secret
from mqtt_tap import MqttTap
from rabbitmq import RabbitMq
from harness import GatewayTestCase, binary, buffered_ids, free_port, stats, wait_for


class Subscriber:
    """edgectl sub: decodes events, drops duplicates by event ID, reports gaps per device."""

    def __init__(self, workdir, port, count, *extra, name="sub", topic="edge/#"):
        self.out_path = os.path.join(workdir, f"{name}.out")
        self.err_path = os.path.join(workdir, f"{name}.err")
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [binary("edgectl"), "sub", "--broker", f"tcp://127.0.0.1:{port}", "--topic",
                 topic, "--count", str(count), "--timeout-s", "300", *extra],
                stdout=out, stderr=err)
        wait_for(lambda: "subscribed" in self.stderr() or self.proc.poll() is not None, 30,
                 "edgectl sub to subscribe")

    def stderr(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def finish(self, timeout):
        """Unique events (parsed JSON lines) and the closing summary."""
        status = self.proc.wait(timeout=timeout)
        if status != 0:
            raise AssertionError(f"edgectl sub exited {status}: {self.stderr()[-3000:]}")
        return self.events(), self.summary()

    def stop(self):
        """Ends it now (SIGTERM): the unique events so far and the closing summary."""
        self.proc.terminate()
        status = self.proc.wait(timeout=30)
        if status != 0:
            raise AssertionError(f"edgectl sub exited {status} on SIGTERM: "
                                 f"{self.stderr()[-3000:]}")
        return self.events(), self.summary()

    def events(self):
        """The unique events printed so far (parsed JSON lines)."""
        with open(self.out_path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def summary(self):
        """The closing summary: the last line edgectl sub writes to stderr, a JSON object."""
        lines = self.stderr().strip().splitlines()
        try:
            return json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError):
            raise AssertionError(f"edgectl sub ended without its summary line: "
                                 f"{self.stderr()[-3000:]}") from None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def retained(port, topic, *extra):
    """The retained message on `topic` (mosquitto_sub), or None."""
    out = subprocess.run(["mosquitto_sub", "-p", str(port), "-t", topic, "-C", "1", "-W", "2",
                          *extra], capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else None


class ForwardTestCase(GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.broker = Mosquitto(self.workdir)
        self.addCleanup(self.broker.stop)
        self.subs = []
        self.addCleanup(lambda: [s.kill() for s in self.subs])

    def subscriber(self, count, *extra, **kw):
        sub = Subscriber(self.workdir, kw.pop("port", self.broker.port), count, *extra, **kw)
        self.subs.append(sub)
        return sub

    def config(self, upstream, name="gw.toml"):
        """A config file with an [upstream] table (dict of key -> TOML value text)."""
        path = os.path.join(self.workdir, name)
        with open(path, "w") as f:
            f.write("[upstream]\n")
            for key, value in upstream.items():
                if not isinstance(value, dict):
                    f.write(f"{key} = {value}\n")
            for key, value in upstream.items():
                if isinstance(value, dict):
                    f.write(f"[upstream.{key}]\n")
                    f.writelines(f"{k} = {v}\n" for k, v in value.items())
        return path

    def devices(self, port, count, n=2, *extra):
        sims = [self.devsim(f"d{i}", "--connect", f"tcp:127.0.0.1:{port}", "--device",
                            str(0x100 + i), "--count", str(count), "--exit-when-acked",
                            "--timeout-s", "90", *extra)
                for i in range(n)]
        for sim in sims:
            self.assertEqual(sim.wait(120), 0, self.explain(sim))
        return {e for sim in sims for e in sim.acked()}

    def assert_delivered(self, sub, acked, gw):
        events, summary = sub.finish(300)
        self.assertEqual({e["event_id"] for e in events}, acked, gw.log()[-3000:])
        self.assertEqual(summary["unique"], len(acked))
        self.assertEqual(summary["gaps"], 0)
        wait_for(lambda: stats(gw.state_dir)["events"] == 0, 30, "the buffer to drain")
        return events, summary


class Forwarding(ForwardTestCase):
    def test_a_shared_subscription_splits_the_stream_between_two_consumers(self):
        # Two `edgectl sub --share` members with their default client IDs (unique per
        # process): the broker hands each event to one of them, and together they get all.
        self.broker.start()
        members = [self.subscriber(0, "--share", "workers", name=f"member{i}") for i in range(2)]
        port = free_port()
        gw = self.gateway("--tcp", f"127.0.0.1:{port}", "--mqtt",
                          f"tcp://127.0.0.1:{self.broker.port}")
        acked = self.devices(port, 500)
        wait_for(lambda: stats(gw.state_dir)["events"] == 0, 30, "the buffer to drain")
        def received():
            total = 0
            for member in members:
                with open(member.out_path) as f:
                    total += sum(1 for line in f if line.strip())
            return total

        wait_for(lambda: received() >= len(acked), 30,
                 "both members to have every event between them")
        shares = [{e["event_id"] for e in member.stop()[0]} for member in members]
        self.assertEqual(shares[0] | shares[1], acked)
        self.assertEqual(shares[0] & shares[1], set(), "each event went to one member")
        self.assertTrue(shares[0] and shares[1], "both members got a share")

    def test_every_event_arrives_once_in_order_and_the_buffer_drains(self):
        self.broker.start()
        sub = self.subscriber(2000)
        port = free_port()
        gw = self.gateway("--tcp", f"127.0.0.1:{port}", "--mqtt",
                          f"tcp://127.0.0.1:{self.broker.port}")
        acked = self.devices(port, 1000)
        self.assertEqual(len(acked), 2000)
        events, _ = self.assert_delivered(sub, acked, gw)
        for device in ("0000000000000100", "0000000000000101"):
            seqs = [e["seq"] for e in events if e["device"] == device]
            self.assertEqual(seqs, sorted(seqs), "strict FIFO per device")
            self.assertTrue(all(e["topic"] == f"edge/edge-gateway/{device}/devsim"
                                for e in events if e["device"] == device))
        self.assertEqual(stats(gw.state_dir)["counters"]["forwarded"], 2000)

    def test_topic_template_and_json_payload(self):
        self.broker.start()
        sub = self.subscriber(600, topic="site/#")
        port = free_port()
        gw = self.gateway("-c", self.config({
            "uri": f'"tcp://127.0.0.1:{self.broker.port}"', "payload": '"json"',
            "topic_prefix": '"site"', "topic": '"{prefix}/{device}/{gateway}/{sensor}"'}),
            "--tcp", f"127.0.0.1:{port}", "--gateway-id", "gw-7")
        acked = self.devices(port, 300)
        events, summary = self.assert_delivered(sub, acked, gw)
        self.assertEqual(summary["json"], 600, summary)
        self.assertTrue(all(e["topic"] == f"site/{e['device']}/gw-7/devsim" for e in events))
        # The JSON payload as a tool sees it.
        self.assertEqual(events[0]["reading"]["type"] in ("temperature", "humidity", "pressure",
                                                          "vector3", "scalar"), True)

    def test_batch_payload_packs_events_under_the_byte_bound(self):
        self.broker.start()
        sub = self.subscriber(4000)
        port = free_port()
        gw = self.gateway("-c", self.config({
            "uri": f'"tcp://127.0.0.1:{self.broker.port}"', "payload": '"batch"',
            "batch_max_bytes": 2048, "batch_linger_ms": 20}), "--tcp", f"127.0.0.1:{port}")
        acked = self.devices(port, 2000, 2, "--rate", "4000")
        events, summary = self.assert_delivered(sub, acked, gw)
        batches = summary["batch_messages"]
        self.assertLess(batches, 4000 / 4, f"events were not batched: {summary}")
        self.assertGreater(batches, 4000 * 100 / 2048 / 2, f"batches above the bound? {summary}")
        for device in ("0000000000000100", "0000000000000101"):
            seqs = [e["seq"] for e in events if e["device"] == device]
            self.assertEqual(seqs, sorted(seqs), "strict FIFO per device")
        print(f"\nbatch mode: 4000 events in {batches} messages of <= 2048 bytes")

    def test_gateway_killed_while_publishing_delivers_everything_after_restart(self):
        self.broker.start()
        sub = self.subscriber(3000)
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
        _, summary = self.assert_delivered(sub, set(sim.acked()), gw)
        print(f"\ngateway kill -9 x3 while forwarding: 3000 delivered, "
              f"{summary['duplicates']} duplicates removed by the consumer")

    def test_broker_down_at_start_backlog_is_kept_then_drains(self):
        # Broker down: events are acked to the device (durable in LMDB) and kept.
        port = free_port()
        gw = self.gateway("--tcp", f"127.0.0.1:{port}", "--mqtt",
                          f"tcp://127.0.0.1:{self.broker.port}")
        self.devices(port, 1500, 1)
        time.sleep(1.0)
        self.assertEqual(len(buffered_ids(gw.state_dir)), 1500, "the backlog must be kept")
        self.assertNotIn("forwarded", stats(gw.state_dir)["counters"])
        # Broker up: the gateway reconnects by itself and deletes each event on its PUBACK.
        self.broker.start()
        wait_for(lambda: stats(gw.state_dir)["events"] == 0, 60, "the backlog to drain")
        self.assertEqual(stats(gw.state_dir)["counters"]["forwarded"], 1500)
        self.assertIn("connect failed", gw.log())

    def test_window_follows_the_brokers_receive_maximum(self):
        broker = Mosquitto(self.workdir, "small", inflight=5)  # CONNACK Receive Maximum 5
        broker.start()
        self.addCleanup(broker.stop)
        gw = self.gateway("--tcp", f"127.0.0.1:{free_port()}", "--mqtt",
                          f"tcp://127.0.0.1:{broker.port}")
        wait_for(lambda: "connected (MQTT" in gw.log(), 10, "the gateway to connect")
        self.assertIn("in-flight window 5 (broker receive maximum 5)", gw.log())


class Refusals(ForwardTestCase):
    def test_events_the_broker_will_never_accept_are_counted_and_do_not_block_the_rest(self):
        acl = os.path.join(self.workdir, "acl")
        with open(acl, "w") as f:  # anonymous clients: everything but one device's topics
            f.write("topic deny edge/+/0000000000000101/#\ntopic readwrite #\n")
        os.chmod(acl, 0o600)
        self.broker = Mosquitto(self.workdir, "acl", f"acl_file {acl}\n")
        self.addCleanup(self.broker.stop)  # setUp's cleanup stops the broker it made
        self.broker.start()
        sub = self.subscriber(300)
        port = free_port()
        gw = self.gateway("--tcp", f"127.0.0.1:{port}", "--mqtt",
                          f"tcp://127.0.0.1:{self.broker.port}")
        sims = [self.devsim(f"d{i}", "--connect", f"tcp:127.0.0.1:{port}", "--device",
                            str(0x100 + i), "--count", "300", "--exit-when-acked")
                for i in range(2)]
        for sim in sims:
            self.assertEqual(sim.wait(60), 0, self.explain(sim))
        events, summary = sub.finish(60)
        self.assertEqual({e["event_id"] for e in events}, set(sims[0].acked()))
        wait_for(lambda: stats(gw.state_dir)["events"] == 0, 30, "the buffer to drain")
        counters = stats(gw.state_dir)["counters"]
        self.assertEqual(counters.get("rejected.135"), 300, counters)  # 0x87 not authorized
        self.assertEqual(counters.get("forwarded"), 600)
        self.assertIn("refused 1 event(s) for good (MQTT reason 0x87", gw.log())


class BrokerRestarts(ForwardTestCase):
    OUTAGES = 20
    WINDOW = 20

    def test_broker_sigkilled_and_restarted_mid_stream_loses_nothing(self):
        self.broker.start()
        # The gateway talks to the broker through a tap that records what the broker PUBACKed:
        # a SIGKILLed Mosquitto can lose messages it had acknowledged but not yet written to
        # the subscriber. Those are the broker's losses; the gateway's must be zero.
        tap = MqttTap(self.broker.port)
        self.addCleanup(tap.close)
        total = 12000
        sub = self.subscriber(total, "--reconnect-ms", "20")
        port = free_port()
        gw = self.gateway("-c", self.config({
            "uri": f'"tcp://127.0.0.1:{tap.port}"', "max_in_flight": self.WINDOW,
            "backoff_min_ms": 1000, "backoff_max_ms": 2000}), "--tcp", f"127.0.0.1:{port}")
        sims = [self.devsim(f"d{i}", "--connect", f"tcp:127.0.0.1:{port}", "--device",
                            str(0x500 + i), "--count", str(total // 2), "--rate", "400",
                            "--exit-when-acked", "--timeout-s", "120") for i in range(2)]
        for outage in range(self.OUTAGES):
            wait_for(lambda: gw.log().count("connected (MQTT") > outage, 30,
                     f"the gateway to reconnect (outage {outage})")
            time.sleep(0.3)  # publishing
            self.broker.kill9()
            time.sleep(0.1)
            self.broker.start()
        for sim in sims:
            self.assertEqual(sim.wait(120), 0, self.explain(sim))
        acked = {e for sim in sims for e in sim.acked()}
        self.assertEqual(len(acked), total)
        wait_for(lambda: stats(gw.state_dir)["events"] == 0, 60, "the buffer to drain")
        # Everything still on its way reaches the subscriber within a few seconds.
        deadline = time.monotonic() + 10
        while sub.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        events, summary = sub.stop() if sub.proc.poll() is None else sub.finish(10)
        received = {e["event_id"] for e in events}
        missing = acked - received
        with tap.lock:
            lost_by_gateway = missing - tap.pubacked
        self.assertEqual(lost_by_gateway, set(),
                         f"deleted without a PUBACK: {sorted(lost_by_gateway)[:10]}")
        self.assertLessEqual(summary["duplicates"], self.OUTAGES * self.WINDOW,
                             "duplicates are bounded by the window per outage")
        self.assertGreaterEqual(gw.log().count("connection lost"), self.OUTAGES)
        print(f"\nbroker SIGKILL x{self.OUTAGES}: {len(received)}/{total} delivered, "
              f"0 lost by the gateway, {len(missing)} PUBACKed by the broker and then lost "
              f"with it, {summary['duplicates']} duplicates (bound "
              f"{self.OUTAGES * self.WINDOW})")


class Status(ForwardTestCase):
    def test_birth_periodic_status_last_will_and_clean_stop(self):
        self.broker.start()
        port = free_port()
        config = self.config({"uri": f'"tcp://127.0.0.1:{self.broker.port}"',
                              "status_interval_s": 1, "keep_alive_s": 5})
        gw = self.gateway("-c", config, "--tcp", f"127.0.0.1:{port}", "--gateway-id", "gw-s")
        self.devices(port, 50, 1)
        topic = "edge/gw-s/status"
        wait_for(lambda: (retained(self.broker.port, topic) or {}).get("forwarded") == 50, 10,
                 "a status with the forwarded count")
        status = retained(self.broker.port, topic)
        self.assertEqual(status["state"], "online")
        for key in ("backlog", "in_flight", "forwarded", "dropped", "duplicates",
                    "refused_frames", "devices", "gaps"):
            self.assertIn(key, status)
        self.assertEqual(status["devices"], 1)
        self.assertEqual(status["backlog"], 0)
        # Vanishing (kill -9): the broker publishes the retained last will.
        gw.kill9()
        wait_for(lambda: (retained(self.broker.port, topic) or {}).get("state") == "offline",
                 10, "the last will")
        gw.start()
        wait_for(lambda: (retained(self.broker.port, topic) or {}).get("state") == "online",
                 10, "the birth message after the restart")
        # A clean stop says offline itself.
        self.assertEqual(gw.stop(), 0)
        self.assertEqual(retained(self.broker.port, topic)["state"], "offline")


class Tls(ForwardTestCase):
    def setUp(self):
        super().setUp()
        self.pki = Pki(self.workdir)
        self.tls_port = free_port()
        self.pw_port = free_port()
        self.passwd = password_file(self.workdir, "gw", "right-password")
        p = self.pki.path
        self.broker = Mosquitto(
            self.workdir, "tls",
            f"listener {self.tls_port} 127.0.0.1\nallow_anonymous true\n"
            f"cafile {p('ca.pem')}\ncertfile {p('server.pem')}\nkeyfile {p('server.key')}\n"
            "require_certificate true\ntls_version tlsv1.2\n"
            f"listener {self.pw_port} 127.0.0.1\nallow_anonymous false\n"
            f"password_file {self.passwd}\n")
        self.addCleanup(self.broker.stop)  # setUp's cleanup stops the broker it made
        self.broker.start()

    def tls_gateway(self, tls, **upstream):
        port = free_port()
        settings = {"uri": f'"ssl://127.0.0.1:{self.tls_port}"', **upstream, "tls": tls}
        gw = self.gateway("-c", self.config(settings), "--tcp", f"127.0.0.1:{port}")
        return gw, port

    def test_client_certificate_auth_delivers(self):
        sub = self.subscriber(200)
        p = self.pki.path
        gw, port = self.tls_gateway({"ca_file": f'"{p("ca.pem")}"',
                                     "cert_file": f'"{p("client.pem")}"',
                                     "key_file": f'"{p("client.key")}"'})
        acked = self.devices(port, 100)
        self.assert_delivered(sub, acked, gw)

    def test_wrong_ca_is_refused_with_a_clear_error_and_nothing_is_lost(self):
        p = self.pki.path
        gw, port = self.tls_gateway({"ca_file": f'"{p("wrong_ca.pem")}"',
                                     "cert_file": f'"{p("client.pem")}"',
                                     "key_file": f'"{p("client.key")}"'})
        self.devices(port, 50, 1)
        wait_for(lambda: "certificate verify failed" in gw.log(), 10, "the TLS error")
        self.assertIn("upstream.tls.ca_file", gw.log())
        self.assertEqual(stats(gw.state_dir)["events"], 50, "kept for when TLS is fixed")

    def test_missing_client_certificate_is_refused(self):
        gw, port = self.tls_gateway({"ca_file": f'"{self.pki.path("ca.pem")}"'})
        self.devices(port, 10, 1)
        wait_for(lambda: "TLS: " in gw.log(), 10, "the TLS reason")
        self.assertIn("certificate required", gw.log())
        self.assertNotIn("connected (MQTT", gw.log())
        self.assertEqual(stats(gw.state_dir)["events"], 10)

    def test_wrong_password_is_refused_clearly_without_a_tight_loop(self):
        port = free_port()
        bad = secret(self.workdir, "bad.pw", "wrong-password")
        gw = self.gateway("-c", self.config({
            "uri": f'"tcp://127.0.0.1:{self.pw_port}"', "username": '"gw"',
            "password_file": f'"{bad}"', "backoff_min_ms": 50, "backoff_max_ms": 20000}),
            "--tcp", f"127.0.0.1:{port}")
        self.devices(port, 10, 1)
        wait_for(lambda: "refused the connection" in gw.log(), 10, "the refusal")
        time.sleep(3)
        log = gw.log()
        self.assertIn("upstream.password_file", log)
        self.assertNotIn("wrong-password", log, "secrets are never logged")
        self.assertLessEqual(log.count("refused the connection"), 1)
        self.assertLessEqual(self.broker.log().count(f"on port {self.pw_port}"), 2,
                             f"reconnect loop against refused credentials:\n{log}")
        self.assertEqual(stats(gw.state_dir)["events"], 10)

    def test_right_password_delivers(self):
        sub = self.subscriber(100)
        port = free_port()
        good = secret(self.workdir, "good.pw", "right-password")
        gw = self.gateway("-c", self.config({
            "uri": f'"tcp://127.0.0.1:{self.pw_port}"', "username": '"gw"',
            "password_file": f'"{good}"'}), "--tcp", f"127.0.0.1:{port}")
        acked = self.devices(port, 50)
        self.assert_delivered(sub, acked, gw)

    def test_world_readable_secrets_are_refused_at_start(self):
        loose = secret(self.workdir, "loose.pw", "x")
        os.chmod(loose, 0o644)
        config = self.config({"uri": f'"tcp://127.0.0.1:{self.pw_port}"', "username": '"gw"',
                              "password_file": f'"{loose}"'})
        out = subprocess.run([binary("edge-gatewayd"), "-c", config, "--state-dir",
                              os.path.join(self.workdir, "s"), "--tcp", f"127.0.0.1:{free_port()}"],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("upstream.password_file", out.stderr)
        self.assertIn("0644", out.stderr)

    def test_a_key_file_others_or_its_group_can_access_is_refused_at_start(self):
        # The private key is for its owner only (docs/configuration.md); the password file may
        # be group-readable (root:edge-gateway 0640), the key may not. Refused before the buffer
        # is created, naming the key, the file and its mode, and never showing its content.
        p = self.pki.path
        with open(p("client.key")) as f:
            key_text = f.read()
        for mode in (0o644, 0o604, 0o640, 0o620):
            loose = os.path.join(self.workdir, f"client-{mode:o}.key")
            with open(loose, "w") as f:
                f.write(key_text)
            os.chmod(loose, mode)
            config = self.config({"uri": f'"ssl://127.0.0.1:{self.tls_port}"',
                                  "tls": {"ca_file": f'"{p("ca.pem")}"',
                                          "cert_file": f'"{p("client.pem")}"',
                                          "key_file": f'"{loose}"'}}, name=f"gw-{mode:o}.toml")
            state = os.path.join(self.workdir, f"state-{mode:o}")
            out = subprocess.run([binary("edge-gatewayd"), "-c", config, "--state-dir", state,
                                  "--tcp", f"127.0.0.1:{free_port()}"],
                                 capture_output=True, text=True, timeout=10)
            self.assertEqual(out.returncode, 2, f"mode {mode:04o}: {out.stderr}")
            self.assertIn("key 'upstream.tls.key_file'", out.stderr)
            self.assertIn(f"{loose} is accessible by", out.stderr)
            self.assertIn(f"(mode {mode:04o})", out.stderr)
            self.assertFalse(os.path.exists(state), "the buffer was opened before the check")
            for line in key_lines(key_text):
                self.assertNotIn(line, out.stdout + out.stderr)

    def test_secrets_never_reach_the_log_even_at_trace_level(self):
        # At trace level, through a whole session each: the MQTT password (a right one, in a
        # group-readable file, and a refused one), the ingest token, the client key's content.
        token = "tok-" + os.urandom(12).hex()
        token_file = secret(self.workdir, "ingest.token", token)
        good = secret(self.workdir, "good.pw", "right-password")
        os.chmod(good, 0o640)  # group access is allowed for the password file
        bad = secret(self.workdir, "bad.pw", "wrong-password")
        p = self.pki.path
        with open(p("client.key")) as f:
            key_text = f.read()
        logs = []

        def run(name, upstream, deliver):
            port = free_port()
            config = os.path.join(self.workdir, f"{name}.toml")
            with open(config, "w") as f:
                f.write(f'[gateway]\nlog_level = "trace"\n'
                        f'[[ingest.tcp]]\nlisten = "127.0.0.1:{port}"\n'
                        f'token_file = "{token_file}"\n')
            with open(self.config(upstream, name=f"{name}-upstream.toml")) as f:
                with open(config, "a") as out:
                    out.write(f.read())
            gw = GatewayWithLog(self.workdir, ["-c", config], f"gateway-{name}.log")
            self.gateways.append(gw)
            gw.start()
            if deliver:
                sub = self.subscriber(40, name=f"{name}-sub")
                acked = self.devices(port, 20, 2, "--token-file", token_file)
                self.assert_delivered(sub, acked, gw)
            else:
                self.devices(port, 5, 1, "--token-file", token_file)
                wait_for(lambda: "refused the connection" in gw.log(), 10, "the refusal")
            self.assertEqual(gw.stop(), 0)
            logs.append((name, gw.log()))

        run("password", {"uri": f'"tcp://127.0.0.1:{self.pw_port}"', "username": '"gw"',
                         "password_file": f'"{good}"'}, True)
        run("refused", {"uri": f'"tcp://127.0.0.1:{self.pw_port}"', "username": '"gw"',
                        "password_file": f'"{bad}"', "backoff_max_ms": 20000}, False)
        run("tls", {"uri": f'"ssl://127.0.0.1:{self.tls_port}"',
                    "tls": {"ca_file": f'"{p("ca.pem")}"', "cert_file": f'"{p("client.pem")}"',
                            "key_file": f'"{p("client.key")}"'}}, True)
        for name, log in logs:
            # The debug line of the token check is there: the level took effect.
            self.assertIn(" debug ", log, f"{name}: nothing below info was logged")
            self.assertIn("token accepted", log, name)
            for text in ("right-password", "wrong-password", token, *key_lines(key_text)):
                self.assertNotIn(text, log, f"{name}: a secret was logged")
        print(f"\ntrace logs of {len(logs)} sessions ({sum(len(l) for _, l in logs)} bytes): "
              "no password, token or key line in them")

class RabbitMqBroker(ForwardTestCase):
    """RabbitMQ's MQTT plugin (3.1.1 only in Debian 12's 3.10) as a second broker."""

    def test_same_flow_over_mqtt_311(self):
        rabbit = RabbitMq(self.workdir)
        self.addCleanup(rabbit.stop)
        rabbit.start(timeout=120)
        print(f"\nrabbitmq up in {rabbit.start_seconds:.1f} s")
        sub = self.subscriber(2000, "--protocol", "3.1.1", port=rabbit.mqtt_port)
        port = free_port()
        gw = self.gateway("-c", self.config({
            "uri": f'"tcp://127.0.0.1:{rabbit.mqtt_port}"', "protocol": '"3.1.1"',
            "keep_alive_s": 10}), "--tcp", f"127.0.0.1:{port}", "--gateway-id", "gw-rabbit")
        acked = self.devices(port, 1000)
        events, _ = self.assert_delivered(sub, acked, gw)
        for device in ("0000000000000100", "0000000000000101"):
            seqs = [e["seq"] for e in events if e["device"] == device]
            self.assertEqual(seqs, sorted(seqs), "strict FIFO per device")
        self.assertIn("connected (MQTT 3.1.1)", gw.log())
        # RabbitMQ keeps retained messages for exact-topic subscriptions only.
        status = retained(rabbit.mqtt_port, "edge/gw-rabbit/status", "-V", "mqttv311")
        self.assertIsNotNone(status, "the retained birth message")
        self.assertEqual(status["state"], "online")


# Helpers of Tls's secret tests (appended here, after the suites that use them).
from harness import Gateway  # noqa: E402


def key_lines(pem):
    """The base64 lines of a PEM key (what a log must never show)."""
    return [l for l in pem.splitlines() if l and not l.startswith("-----")]


class GatewayWithLog(Gateway):
    """A gateway with its own log file and state directory (several run one after another)."""

    def __init__(self, workdir, args, log_name):
        super().__init__(workdir, args, log_name)
        self.state_dir = os.path.join(workdir, "state-" + log_name.split(".")[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
