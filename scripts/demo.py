#!/usr/bin/env python3
"""The end-to-end demo (README's first command runs it through scripts/demo):

  simulated devices (host-sim: the firmware application with emulated sensors) and a QEMU
  lm3s6965evb board  --serial links (ptys)-->  edge-gatewayd  -->  LMDB buffer  -->  MQTT QoS 1  -->
  a Mosquitto broker on a free loopback port  -->  edgectl sub, printing decoded events

Mid-run the broker is stopped for a while (the backlog grows in the gateway's buffer), then
started again (the backlog drains). At the end the devices stop sampling, everything drains,
and a summary compares what the devices produced with what the subscriber received. Exit
status 0 only if every produced event was received, with no gap and nothing dropped.

  scripts/demo.py [--duration 60] [--devices 2] [--qemu-boards 1] [--broker HOST:PORT]

With --broker the events go to a broker you run (a clustered EMQX, RabbitMQ's MQTT plugin...);
that broker is not stopped: the outage is a cut of the gateway's uplink instead. Everything the
demo started, it stops."""

import argparse
import json
import math
import re
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from edgepy.console import DeviceConsole  # noqa: E402
from edgepy.processes import Daemon, Mosquitto, free_port, port_open, wait_for  # noqa: E402
from edgepy.relay import CuttableLink  # noqa: E402
from qemu_board import qom_set  # noqa: E402

DEVICE_BASE = 0xDE0001  # host-sim devices: 0xde0001, 0xde0002, ...
QEMU_DEVICE = 0xDE00C0


class Out:
    """Timestamped lines; colour and a live status line only on a terminal (and not with
    NO_COLOR), plain lines otherwise."""

    def __init__(self):
        self.tty = sys.stdout.isatty()
        self.colour = self.tty and "NO_COLOR" not in os.environ
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.status_shown = False

    def paint(self, text, code):
        return f"\033[{code}m{text}\033[0m" if self.colour else text

    def line(self, text, code=None):
        with self.lock:
            if self.status_shown:
                sys.stdout.write("\r\033[K")
                self.status_shown = False
            stamp = f"[{time.monotonic() - self.started:6.1f}s]"
            sys.stdout.write(f"{self.paint(stamp, '2')} {self.paint(text, code) if code else text}\n")
            sys.stdout.flush()

    def phase(self, text):
        self.line(f"=== {text} ===", "1;36")

    def warn(self, text):
        self.line(text, "1;33")

    def status(self, text):
        """A progress line: rewritten in place on a terminal, printed as a line otherwise."""
        if self.tty:
            with self.lock:
                sys.stdout.write("\r\033[K" + self.paint(text, "1"))
                sys.stdout.flush()
                self.status_shown = True
        else:
            self.line(text)


def program(build, name):
    path = os.path.join(build, name)
    if not os.access(path, os.X_OK):
        sys.exit(f"demo: {path} is missing: build first (scripts/demo does)")
    return path


class HostSim(Daemon, DeviceConsole):
    """The firmware application for the host-sim board; its console on a socketpair, its link a
    serial port (a pty pair made by socat, raw 8N1 on both ends, as a USB-serial cable would
    be). `reboot` exits 3: this is its supervisor."""

    def __init__(self, image, workdir, name, link):
        self.image = image
        self.name = name
        self.config = os.path.join(workdir, f"{name}.cfg")
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.link = link  # the device's end of its serial link

    def start(self):
        self.sock, theirs = socket.socketpair()
        self.sock.settimeout(0.2)
        env = dict(os.environ, EDGE_CONFIG_FILE=self.config, EDGE_LINK=f"{self.link}:115200",
                   EDGE_CONSOLE_FD=str(theirs.fileno()))
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([self.image], env=env, stdout=log, stderr=log,
                                         pass_fds=(theirs.fileno(),))
        theirs.close()
        self.received = ""
        return self

    def reboot(self):
        self.sock.sendall(b"reboot\r\n")
        if self.proc.wait(timeout=10) != 3:
            raise RuntimeError(f"{self.name}: reboot did not exit 3")
        self.sock.close()
        return self.start()


class QemuBoard(Daemon, DeviceConsole):
    """The lm3s6965evb image under QEMU, started by scripts/qemu_board.py (the board's flash
    target) with its console on a TCP port."""

    def __init__(self, elf, workdir):
        self.name = "qemu-lm3s"
        self.console_port = free_port()
        self.log_path = os.path.join(workdir, "qemu.log")
        self.qmp = os.path.join(workdir, "qmp.sock")
        self.args = [sys.executable, os.path.join(HERE, "qemu_board.py"),
                     "--board", os.path.join(ROOT, "boards", "lm3s6965evb", "board.json"),
                     "--elf", elf, "--link", "pty",
                     "--console", f"tcp-server:{self.console_port}",
                     "--eeprom", os.path.join(workdir, "eeprom.bin"), "--qmp", self.qmp]
        self.stopped = threading.Event()

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=log)
        self.connect(self.console_port, self.proc)
        return self

    def link_pty(self):
        """The pty QEMU made for the link UART (serial0), from its log."""
        found = []

        def look():
            with open(self.log_path, errors="replace") as f:
                found[:] = re.findall(r"redirected to (/dev/pts/\d+) \(label serial0\)", f.read())
            return bool(found)

        wait_for(look, 10, "QEMU to name its link pty")
        return found[0]

    def reboot(self):
        self.sock.sendall(b"reboot\r\n")  # QEMU resets the machine; the console stays open
        return self

    def weather(self):
        """QEMU's TMP105 model holds one temperature: move it slowly over QMP, as a room would
        (21.5 °C +- 1.5 over 80 s), so the board's readings live."""
        started = time.monotonic()
        while not self.stopped.wait(2.0):
            t = time.monotonic() - started
            try:
                qom_set(self.qmp, "tmp105", "temperature",
                        int(21500 + 1500 * math.sin(2 * math.pi * t / 80)))
            except (OSError, RuntimeError, ValueError):
                return  # QEMU is gone

    def stop(self):
        self.stopped.set()
        return super().stop()


class SerialCable(Daemon):
    """Two pseudo-terminals joined by socat: a serial cable with a device end and a gateway end
    (both raw; the gateway sets its end with termios like any serial port)."""

    def __init__(self, workdir, name):
        if shutil.which("socat") is None:
            sys.exit("demo: socat is not installed (scripts/setup installs it)")
        self.device_end = os.path.join(workdir, f"{name}.device-tty")
        self.gateway_end = os.path.join(workdir, f"{name}.gateway-tty")
        self.proc = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={self.device_end}",
             f"pty,raw,echo=0,link={self.gateway_end}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.device_end) and os.path.exists(self.gateway_end),
                 10, "socat to make the pty pair")


class Subscriber:
    """edgectl sub: prints each decoded, deduplicated event; its summary comes on stop."""

    def __init__(self, edgectl, broker, out, workdir):
        self.out = out
        self.events = 0
        self.subscribed = 0
        self.summary = None
        self.err_path = os.path.join(workdir, "sub.err")
        self.proc = subprocess.Popen(
            [edgectl, "sub", "--broker", broker, "--topic", "edge/#",
             "--client-id", f"edge-demo-sub-{os.getpid()}", "--reconnect-ms", "100"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self.read_events, daemon=True).start()
        threading.Thread(target=self.read_stderr, daemon=True).start()

    def read_events(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self.events += 1
            self.out.line(describe(event, self.out))

    def read_stderr(self):
        with open(self.err_path, "w") as err:
            for line in self.proc.stderr:
                err.write(line)
                err.flush()
                if line.startswith("subscribed"):
                    self.subscribed += 1
                elif line.startswith("{"):
                    self.summary = json.loads(line)

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=10)
        wait_for(lambda: self.summary is not None, 5, "the subscriber's summary")
        return self.summary


def describe(event, out):
    r = event.get("reading", {})
    kind = r.get("type")
    if kind == "temperature":
        value = f"{r['celsius']:8.2f} °C"
    elif kind == "humidity":
        value = f"{r['percent_rh']:8.2f} %RH"
    elif kind == "pressure":
        value = f"{r['pascal'] / 100:8.2f} hPa"
    elif kind == "vector3":
        value = f"({r['x']:.2e}, {r['y']:.2e}, {r['z']:.2e}) {r.get('unit', '')}"
    else:
        value = json.dumps(r)
    device = out.paint(event["device"][-6:], "32")
    return (f"received  device {device} boot {event['boot']} seq {event['seq']:<5} "
            f"{event['sensor']:<11}{value}")


class Demo:
    def __init__(self, opts):
        self.opts = opts
        self.out = Out()
        self.workdir = tempfile.mkdtemp(prefix="edge-demo-")
        self.stack = []  # what to stop, in reverse order
        build = os.path.abspath(opts.build)
        self.gatewayd = program(build, "gateway/edge-gatewayd")
        self.edgectl = program(build, "gateway/edgectl")
        self.host_sim = program(build, "firmware/edge-firmware")
        self.qemu_elf = None
        if opts.qemu_boards:
            self.qemu_elf = os.path.abspath(opts.qemu_elf)
            if not os.path.isfile(self.qemu_elf):
                sys.exit(f"demo: {self.qemu_elf} is missing: build the lm3s6965evb preset "
                         "(scripts/demo does) or pass --qemu-boards 0")
            if shutil.which("qemu-system-arm") is None:
                sys.exit("demo: qemu-system-arm is not installed (scripts/setup installs it)")
        self.state_dir = os.path.join(self.workdir, "state")
        self.max_backlog = 0

    # -- pieces ---------------------------------------------------------------------------
    def edgectl_json(self, *args):
        out = subprocess.run([self.edgectl, "--state-dir", self.state_dir, *args, "--json"],
                             capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise RuntimeError(f"edgectl {' '.join(args)}: {out.stderr.strip()}")
        return json.loads(out.stdout)

    def stats(self):
        return self.edgectl_json("buffer", "stats")

    def start_broker(self):
        if self.opts.broker:
            host, _, port = self.opts.broker.rpartition(":")
            self.broker_addr = (host or "127.0.0.1", int(port))
            if not port_open(self.broker_addr[1]) and host in ("", "127.0.0.1", "localhost"):
                sys.exit(f"demo: nothing listens on {self.opts.broker}")
            self.out.line(f"broker    {self.opts.broker} (yours; it is not stopped: the outage "
                          "cuts the gateway's uplink instead)")
            self.broker = None
        else:
            if shutil.which("mosquitto") is None:
                sys.exit("demo: mosquitto is not installed (scripts/setup installs it)")
            self.broker = Mosquitto(self.workdir).start()
            self.stack.append(self.broker.stop)
            self.broker_addr = ("127.0.0.1", self.broker.port)
            self.out.line(f"broker    Mosquitto on 127.0.0.1:{self.broker.port}")
        # The gateway's way to the broker, held shut until the subscriber is subscribed: nothing
        # the gateway publishes may reach a broker with no subscriber (which would drop it; QoS 1
        # is between each client and the broker).
        self.uplink = CuttableLink(self.broker_addr[1], self.broker_addr[0], up=False)
        self.stack.append(self.uplink.close)

    def start_gateway(self, serial_ports):
        ready = os.path.join(self.workdir, "ready.json")
        self.gateway_log = os.path.join(self.workdir, "gateway.log")
        serial = [arg for port in serial_ports for arg in ("--serial", f"{port}:115200")]
        with open(self.gateway_log, "ab") as log:
            self.gateway = subprocess.Popen(
                [self.gatewayd, "--state-dir", self.state_dir, "--gateway-id", "demo", *serial,
                 "--mqtt", f"tcp://127.0.0.1:{self.uplink.port}", "--ready-file", ready],
                stdout=log, stderr=log)
        self.stack.append(self.stop_gateway)
        wait_for(lambda: os.path.exists(ready) or self.gateway.poll() is not None, 15,
                 "the gateway to be ready")
        if self.gateway.poll() is not None:
            sys.exit(f"demo: the gateway exited {self.gateway.returncode}; see {self.gateway_log}")
        self.out.line(f"gateway   edge-gatewayd: {len(serial_ports)} serial links, "
                      f"buffer {self.state_dir}")

    def stop_gateway(self):
        if self.gateway.poll() is None:
            self.gateway.send_signal(signal.SIGTERM)
            self.gateway.wait(timeout=15)

    def start_devices(self):
        """Starts every device on its serial link; returns the gateway ends of the links."""
        self.devices = []
        gateway_ends = []
        for i in range(self.opts.devices):
            cable = SerialCable(self.workdir, f"sim{i + 1}")
            self.stack.append(cable.stop)
            dev = HostSim(self.host_sim, self.workdir, f"sim{i + 1}", cable.device_end).start()
            self.stack.append(dev.stop)
            gateway_ends.append(cable.gateway_end)
            self.devices.append((dev, DEVICE_BASE + i, {"tmp105": 1000, "sht3x": 2000,
                                                         "bme280": 2000}))
        if self.qemu_elf:
            board = QemuBoard(self.qemu_elf, self.workdir).start()
            self.stack.append(board.stop)
            gateway_ends.append(board.link_pty())
            threading.Thread(target=board.weather, daemon=True).start()
            self.devices.append((board, QEMU_DEVICE, {"tmp105": 1000, "dps310": 2000,
                                                      "lsm303dlhc": 2000}))
        return gateway_ends

    def provision(self):
        # Each device is new (device_id 0: it sends nothing yet): provision it on its console,
        # as an operator would (edgectl config apply does the same from a file).
        for dev, device_id, intervals in self.devices:
            dev.command(f"set device_id 0x{device_id:X}")
            for sensor, ms in intervals.items():
                dev.command(f"set interval.{sensor} {ms}")
            dev.command("save")
            dev.reboot()
            dev.read_until(f"device 0x{device_id:x} boot 2", timeout=20)
            kind = ("QEMU lm3s6965evb, UART0 on a pty" if isinstance(dev, QemuBoard)
                    else "host-sim, on a socat pty pair")
            self.out.line(f"device    {device_id:016x} ({kind}): "
                          + ", ".join(f"{s} every {ms} ms" for s, ms in intervals.items()))

    def open_uplink(self):
        """Lets the gateway reach the broker once the subscriber is subscribed."""
        # Our broker restarted: the subscriber must subscribe again first. Yours kept it.
        again = self.broker is not None or self.subscribed_before == 0
        wanted = self.subscribed_before + (1 if again else 0)
        wait_for(lambda: self.sub.subscribed >= wanted, 30, "the subscriber to subscribe")
        self.uplink.restore()

    def progress(self, until, what, drain_from=None):
        while time.monotonic() < until:
            time.sleep(1.0)
            s = self.stats()
            self.max_backlog = max(self.max_backlog, s["events"])
            if drain_from is not None and s["events"] == 0:
                self.out.line(f"backlog drained in {time.monotonic() - drain_from:.1f} s "
                              "after the broker came back", "1;32")
                drain_from = None
            c = s["counters"]
            self.out.status(f"{what}: backlog {s['events']} events in the buffer, "
                            f"{c.get('stored', 0)} stored, {c.get('forwarded', 0)} forwarded, "
                            f"{self.sub.events} received")

    def device_totals(self):
        produced = acked = ring_dropped = 0
        for dev, _, _ in self.devices:
            c = dev.counters()
            produced += c["events"]
            acked += c["acked"]
            ring_dropped += c["ring_dropped"]
        return produced, acked, ring_dropped

    # -- the run ----------------------------------------------------------------------------
    def run(self):
        o, out = self.opts, self.out
        out.phase("starting: broker, gateway, subscriber, devices")
        self.start_broker()
        links = self.start_devices()  # unprovisioned: silent until provision()
        self.start_gateway(links)
        self.sub = Subscriber(self.edgectl, f"tcp://{self.broker_addr[0]}:{self.broker_addr[1]}",
                              out, self.workdir)
        self.stack.append(lambda: self.sub.proc.poll() is None and self.sub.stop())
        self.subscribed_before = 0
        self.open_uplink()
        self.provision()

        online = o.duration * 0.3
        outage = o.duration * 0.3
        out.phase(f"online for {online:.0f} s: device -> gateway -> broker -> subscriber")
        self.progress(time.monotonic() + online, "online")

        out.phase(f"broker DOWN for {outage:.0f} s: the gateway acks devices after each LMDB "
                  "commit and keeps the events")
        self.subscribed_before = self.sub.subscribed
        self.uplink.cut()
        if self.broker:
            self.broker.stop()
        self.progress(time.monotonic() + outage, "broker down")
        backlog = self.stats()["events"]
        out.warn(f"backlog at the end of the outage: {backlog} events")

        out.phase("broker UP again: the backlog drains")
        if self.broker:
            self.broker.start()
        self.open_uplink()
        self.progress(time.monotonic() + o.duration - online - outage, "draining",
                      drain_from=time.monotonic())

        out.phase("stopping the sensors; waiting for every event to arrive")
        for dev, _, intervals in self.devices:
            for sensor in intervals:
                dev.command(f"set interval.{sensor} 0")
        wait_for(lambda: all(dev.command("status", "ok ring=").startswith("ok ring=0/")
                             for dev, _, _ in self.devices), 60, "the device rings to empty")
        wait_for(lambda: self.stats()["events"] == 0, 120, "the gateway's buffer to drain")
        produced, acked, ring_dropped = self.device_totals()
        try:
            wait_for(lambda: self.sub.events >= produced, 30, "the subscriber to catch up")
        except AssertionError:
            pass  # reported below
        summary = self.sub.stop()
        return self.report(produced, acked, ring_dropped, max(backlog, self.max_backlog), summary)

    def report(self, produced, acked, ring_dropped, backlog, sub):
        counters = self.stats()["counters"]
        dropped = {k: v for k, v in counters.items()
                   if (k in ("dropped_oldest", "ring_dropped") or k.startswith("rejected."))
                   and v}
        if ring_dropped:
            dropped["device ring (devices' count)"] = ring_dropped
        gaps = sub["gaps"]
        lost = produced - sub["unique"]
        rows = [
            ("events produced by the devices", produced),
            ("acked to the devices by the gateway", acked),
            ("stored in the LMDB buffer", counters.get("stored", 0)),
            ("largest backlog seen (during the outage)", backlog),
            ("forwarded to the broker (PUBACKed)", counters.get("forwarded", 0)),
            ("received by the subscriber (unique)", sub["unique"]),
            ("duplicates removed by the subscriber", sub["duplicates"]),
            ("duplicates removed by the gateway", counters.get("duplicates", 0)),
            ("gaps", gaps),
            ("dropped", sum(dropped.values())),
            ("lost (produced - received)", lost),
        ]
        ok = lost == 0 and gaps == 0 and not dropped and acked == produced
        self.out.phase("summary")
        for name, value in rows:
            bad = name.startswith(("gaps", "dropped", "lost")) and value != 0
            self.out.line(f"  {name:<40} {value:>8}", "1;31" if bad else None)
        if dropped:
            self.out.line(f"  dropped by reason: {dropped}", "1;31")
        self.out.line("every produced event was received: nothing lost, no gaps"
                      if ok else "EVENTS WERE LOST OR DROPPED", "1;32" if ok else "1;31")
        print(json.dumps({"produced": produced, "acked": acked, "received": sub["unique"],
                          "duplicates": sub["duplicates"], "gaps": gaps,
                          "dropped": sum(dropped.values()), "lost": lost, "backlog": backlog,
                          "forwarded": counters.get("forwarded", 0), "ok": ok}), flush=True)
        return 0 if ok else 1

    def stop_everything(self):
        for stop in reversed(self.stack):
            try:
                stop()
            except Exception as e:  # keep stopping the rest
                self.out.warn(f"while stopping: {e}")
        if self.opts.keep:
            self.out.line(f"logs and buffer kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(
        description="Devices -> gateway -> LMDB -> MQTT broker -> subscriber, with an outage.")
    parser.add_argument("--duration", type=float, default=60, help="seconds (default 60)")
    parser.add_argument("--devices", type=int, default=2, help="host-sim devices (default 2)")
    parser.add_argument("--qemu-boards", type=int, choices=(0, 1), default=1,
                        help="QEMU lm3s6965evb boards (default 1)")
    parser.add_argument("--broker", help="HOST:PORT of your own MQTT broker (plain TCP)")
    parser.add_argument("--build", default=os.path.join(ROOT, "build", "host"),
                        help="the host preset's build directory")
    parser.add_argument("--qemu-elf", default=os.path.join(
        ROOT, "build", "lm3s6965evb", "firmware", "edge-firmware.elf"))
    parser.add_argument("--keep", action="store_true", help="keep the logs and the buffer")
    opts = parser.parse_args()
    if opts.duration < 10 or opts.devices < 0 or opts.devices > 50:
        parser.error("--duration must be at least 10 s and --devices 0..50")
    if opts.devices + opts.qemu_boards == 0:
        parser.error("no devices: give --devices or --qemu-boards")
    demo = Demo(opts)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    try:
        status = demo.run()
    except KeyboardInterrupt:
        status = 130
    except (AssertionError, RuntimeError) as e:
        demo.out.warn(f"demo failed: {e} (logs kept: --keep is implied)")
        demo.opts.keep = True
        status = 1
    finally:
        demo.stop_everything()
    return status


if __name__ == "__main__":
    sys.exit(main())
