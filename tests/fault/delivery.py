"""What the fault loops need around the gateway: a broker that can keep a subscriber's session
through its own SIGKILL, a subscriber that records every delivery, a fleet of simulated devices
that resend, and the tally of acked against delivered. Standard library only, like the
integration suites (whose harness this reuses, through faultkit)."""

import os
import random
import socket
import struct
import tempfile
import threading
import time

import faultkit
from faultkit import Mosquitto, stats, wait_for
from mqtt_tap import _event_id, _packets, _varint as _read_varint


class FaultCase(faultkit.FaultCase):
    """faultkit's (a gateway test with a plain Mosquitto, self.broker, not started) with seeded
    fault points and a broker with persistence."""

    def seeded_random(self):
        """A random.Random for the fault points; EDGE_FAULT_SEED=N replays a run (the seed is
        printed, and kept in self.seed for the report)."""
        self.seed = faultkit.fault_seed()
        print(f"\n{self.id()}: seed {self.seed} (replay with EDGE_FAULT_SEED={self.seed})",
              flush=True)
        return random.Random(self.seed)

    def assert_drained_account(self, gw, acked):
        """The gateway's own account after the drain (its counters are committed with the data
        they count, so they survive kills): nothing left, everything it stored forwarded and at
        least every acked event stored, nothing dropped. Returns the counters."""
        buffer = stats(gw.state_dir)
        counters = buffer["counters"]
        self.assertEqual(buffer["events"], 0, buffer)
        self.assertEqual(counters.get("forwarded"), counters.get("stored"), counters)
        self.assertGreaterEqual(counters.get("stored", 0), len(acked), counters)
        for dropped in ("dropped_oldest", "map_full", "ring_dropped", "expired"):
            self.assertEqual(counters.get(dropped, 0), 0, counters)
        return counters

    def tearDown(self):
        # What the test registered (subscriber, broker) stops before the gateways, devices and
        # the working directory go: a broker with persistence writes its database as it stops.
        self.doCleanups()
        super().tearDown()

    def persistent_broker(self):
        broker = PersistentMosquitto(self.workdir)
        self.addCleanup(broker.store.cleanup)
        self.addCleanup(broker.stop)
        return broker.start()


class PersistentMosquitto(Mosquitto):
    """Mosquitto with persistence on, saving its database after every change (autosave_on_changes
    with autosave_interval 1: once per pass of its loop that changed something), so that a
    subscriber's session, subscription and queued messages survive a SIGKILL as far as Mosquitto
    can make them. Queues are unbounded (max_queued_messages 0): a message that arrives while the
    subscriber is reconnecting is queued for it, never dropped for a full queue.

    The database lives on tmpfs (/dev/shm) where there is one. For a SIGKILL that changes
    nothing (what a process wrote stays in the page cache whether or not it was synced), and
    Mosquitto's fsync of every save on this machine's disk made it the bottleneck: 577 events/s
    forwarded with the database on disk, 4,800/s on tmpfs (20,000 events drained through it to
    a subscriber)."""

    def __init__(self, workdir, name="mosquitto"):
        super().__init__(workdir, name)
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        self.store = tempfile.TemporaryDirectory(prefix=f"edge-fault-{name}-", dir=shm)
        with open(self.conf, "w") as f:
            f.write(("user root\n" if os.getuid() == 0 else "") +
                    f"persistence true\npersistence_location {self.store.name}/\n"
                    "autosave_on_changes true\nautosave_interval 1\n"
                    "max_inflight_messages 0\nmax_queued_messages 0\n"
                    "log_type error\nlog_type warning\nlog_type notice\n"
                    "log_type information\nconnection_messages true\n"
                    f"listener {self.port} 127.0.0.1\nallow_anonymous true\n")


def _string(text):
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _packet(first_byte, body):
    return bytes([first_byte]) + _varint(len(body)) + body


class SessionSubscriber:
    """An MQTT v5 subscriber at QoS 1 with a persistent session (clean start false, session expiry
    one hour) that records every delivery of an event (its `event-id` user property) before it
    PUBACKs it, duplicates included, and reconnects every 50 ms while the broker is away. Keep
    alive is off, so a stalled broker does not end this side's session.

    deliveries: event IDs in arrival order, one per PUBLISH received (duplicates kept).
    sessions_lost: connects after the first where the broker no longer had the session."""

    def __init__(self, port, client_id, topic="edge/#"):
        self.port = port
        self.client_id = client_id
        self.topic = topic
        self.deliveries = []
        self.connects = 0
        self.sessions_lost = 0
        self.errors = []  # a refused subscription, PUBLISHes without an event ID: a broken check
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.running = True
        self.sock = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        wait_for(self.subscribed.is_set, 15, "the subscriber to subscribe")

    def close(self):
        self.running = False
        sock = self.sock
        if sock is not None:
            try:
                sock.sendall(_packet(0xE0, b"\x00\x00"))  # DISCONNECT, normal; session kept
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join(timeout=5)

    def delivered(self):
        """(unique event IDs, deliveries beyond the first) so far."""
        with self.lock:
            unique = set(self.deliveries)
            return unique, len(self.deliveries) - len(unique)

    def _connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=2)
        try:
            return self._handshake(sock)
        except OSError:
            sock.close()
            raise

    def _handshake(self, sock):
        # CONNECT: "MQTT" level 5, clean start 0, keep alive 0, session expiry 3600 s.
        props = b"\x11" + struct.pack(">I", 3600)
        body = (_string("MQTT") + b"\x05\x00" + struct.pack(">H", 0) + _varint(len(props)) +
                props + _string(self.client_id))
        sock.sendall(_packet(0x10, body))
        buf = bytearray()
        while True:
            data = sock.recv(65536)
            if not data:
                raise OSError("closed before CONNACK")
            buf += data
            length, start = _read_varint(buf, 1)
            if length is None or start + length > len(buf):
                continue
            if buf[0] >> 4 != 2:
                raise OSError(f"packet type {buf[0] >> 4} before CONNACK")
            flags, reason = buf[start], buf[start + 1]
            if reason != 0:
                raise OSError(f"CONNACK reason 0x{reason:02x}")
            # What follows the CONNACK (a session's queued messages) stays in buf for _serve.
            del buf[:start + length]
            return sock, bool(flags & 1), buf

    def _run(self):
        while self.running:
            try:
                sock, session_present, buf = self._connect()
            except OSError:
                time.sleep(0.05)
                continue
            sock.settimeout(None)
            self.sock = sock
            self.connects += 1
            if self.connects > 1 and not session_present:
                self.sessions_lost += 1
            if not session_present:
                # SUBSCRIBE packet id 1, no properties, QoS 1.
                sock.sendall(_packet(0x82, b"\x00\x01\x00" + _string(self.topic) + b"\x01"))
            try:
                self._serve(sock, buf, session_present)
            except OSError:
                pass
            self.sock = None
            sock.close()

    def _serve(self, sock, buf, session_present):
        if session_present:
            self.subscribed.set()
        while self.running:
            for kind, flags, body in _packets(buf):
                if kind == 9:  # SUBACK
                    if body[-1] >= 0x80:
                        self.errors.append(f"subscription refused: 0x{body[-1]:02x}")
                    self.subscribed.set()
                elif kind == 3:  # PUBLISH
                    self._on_publish(sock, flags, body)
            data = sock.recv(65536)
            if not data:
                return
            buf += data

    def _on_publish(self, sock, flags, body):
        topic = body[2:2 + struct.unpack(">H", body[:2])[0]].decode(errors="replace")
        packet_id, event = _event_id(flags, body)
        if not topic.endswith("/status"):
            with self.lock:
                if event is None:
                    self.errors.append(f"no event-id property: {topic}")
                else:
                    self.deliveries.append(event)
        if packet_id is not None:  # recorded first, then acknowledged
            sock.sendall(_packet(0x40, struct.pack(">H", packet_id)))


class Fleet:
    """Simulated devices on the gateway's TCP port that resend: --reconnect, an acked log, a
    rate, no count (they run until stopped)."""

    def __init__(self, case, port, n, rate, first_device):
        self.sims = [case.devsim(f"d{i}", "--connect", f"tcp:127.0.0.1:{port}", "--device",
                                 str(first_device + i), "--rate", str(rate), "--reconnect",
                                 "--timeout-s", "0")
                     for i in range(n)]
        self.case = case

    def stop(self):
        """SIGTERM: each writes its summary; what was acked is in its log. Returns the set of
        acked event IDs (an ID acked twice, after a resend, counts once)."""
        for sim in self.sims:
            sim.terminate()
        for sim in self.sims:
            self.case.assertEqual(sim.proc.returncode, 0, self.case.explain(sim))
        return {e for sim in self.sims for e in sim.acked()}

    def summaries(self):
        return [sim.summary() for sim in self.sims]


def drain(case, gw, sub, acked, quiet_s=10, timeout_s=120):
    """Waits for the buffer to empty, then for every acked event to reach the subscriber (or for
    `quiet_s` without a new delivery). Returns (unique delivered, duplicates, missing)."""
    wait_for(lambda: stats(gw.state_dir)["events"] == 0, timeout_s, "the buffer to drain")
    deadline = time.monotonic() + timeout_s
    last_count, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        unique, duplicates = sub.delivered()
        if acked <= unique:
            break
        if len(unique) != last_count:
            last_count, last_change = len(unique), time.monotonic()
        elif time.monotonic() - last_change > quiet_s:
            break
        time.sleep(0.1)
    unique, duplicates = sub.delivered()
    case.assertEqual(sub.errors, [], "the subscriber could not record everything")
    return unique, duplicates, acked - unique
