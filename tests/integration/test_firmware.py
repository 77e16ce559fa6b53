"""The real Cortex-M firmware in qemu-system-arm -M lm3s6965evb with QEMU's own sensor and
EEPROM models on its I2C bus: the link UART goes to a running edge-gatewayd over a TCP
chardev, the console UART to this test over another. Run by the lm3s6965evb preset's ctest
(after the host preset has built the gateway)."""

import os
import random
import socket
import subprocess
import sys
import threading
import time
import unittest

from harness import (Daemon, DeviceConsole, GatewayTestCase, binary, events_of, free_port,
                     wait_for)

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts")
QEMU_BOARD = os.path.join(SCRIPTS, "qemu_board.py")
sys.path.insert(0, SCRIPTS)
from qemu_board import qom_set  # noqa: E402

DEVICE = "0000000000c0ffee"


def firmware_elf():
    path = os.environ.get("EDGE_FIRMWARE_ELF", "")
    if not os.path.isfile(path):
        raise AssertionError(f"set EDGE_FIRMWARE_ELF to the lm3s6965evb image (got {path!r})")
    return path


class QemuBoard(Daemon, DeviceConsole):
    """The lm3s6965evb under QEMU; its EEPROM is a file, so settings survive a restart."""

    def __init__(self, workdir, link_port):
        self.workdir = workdir
        self.link_port = link_port
        self.console_port = free_port()
        self.eeprom = os.path.join(workdir, "eeprom.bin")
        self.log_path = os.path.join(workdir, "qemu.log")
        self.qmp_path = os.path.join(workdir, "qmp.sock")
        self.sock = None

    def args(self):
        # The same tool the board's `flash` target runs (it execs QEMU, so proc is QEMU).
        return [sys.executable, QEMU_BOARD, "--board", os.environ["EDGE_BOARD_JSON"],
                "--elf", firmware_elf(), "--link", f"tcp:127.0.0.1:{self.link_port}",
                "--console", f"tcp-server:{self.console_port}", "--eeprom", self.eeprom,
                "--qmp", self.qmp_path,
                "--qemu", os.environ.get("EDGE_QEMU_SYSTEM_ARM", "qemu-system-arm")]

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args(), stdout=log, stderr=log)
        self.connect(self.console_port, self.proc)
        return self

    def stop(self):
        if self.sock:
            self.sock.close()
            self.sock = None
        return super().stop()

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def qom_set(self, device, prop, value):
        qom_set(self.qmp_path, device, prop, value)

    def drain_until_quiet(self, timeout, quiet=1.0):
        """Reads until the console has been silent for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() - last < quiet:
            if time.monotonic() > deadline:
                raise AssertionError("the console never went quiet")
            try:
                if self.sock.recv(65536):
                    last = time.monotonic()
            except socket.timeout:
                pass


class NoisyLink:
    """A relay between the board's link UART (QEMU connects to it) and the gateway, which on
    pour() also pours `noise` into the device, amid the gateway's own frames."""

    def __init__(self, gateway_port, noise):
        self.gateway_port = gateway_port
        self.noise = noise
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets = [self.listener]
        self.device = None
        self.connected = threading.Event()
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        device, _ = self.listener.accept()
        gateway = socket.create_connection(("127.0.0.1", self.gateway_port))
        self.sockets += [device, gateway]
        self.device = device
        self.connected.set()

        def relay(src, dst):
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass

        threading.Thread(target=relay, args=(device, gateway), daemon=True).start()
        relay(gateway, device)

    def pour(self):
        if not self.connected.wait(30):
            raise AssertionError("the board never connected its link")
        self.device.sendall(self.noise)

    def close(self):
        for sock in self.sockets:
            sock.close()


class QemuBoardTest(GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.link_port = free_port()
        self.gw = self.gateway("--tcp", f"127.0.0.1:{self.link_port}")
        self.board = QemuBoard(self.workdir, self.link_port)
        self.addCleanup(self.board.stop)

    def events_of(self, device):
        return events_of(self.gw.state_dir, device)

    def test_console_configures_the_device_and_its_events_reach_the_gateway(self):
        board = self.board.start()
        board.command("set device_id 0xC0FFEE")
        board.command("set interval.tmp105 200")
        board.command("set interval.lsm303dlhc 0")  # off
        self.assertEqual(board.command("save"), "ok saved\r\n")
        board.command("reboot")
        board.read_until(f"device 0xc0ffee boot 2")
        self.assertIn("= 200", board.command("get interval.tmp105"))
        # Events reach the gateway under the new identity and are acked after commit.
        wait_for(lambda: len(self.events_of(DEVICE)) >= 20, 30, "20 events from the board")
        events = self.events_of(DEVICE)
        self.assertTrue(all(e["boot"] == 2 for e in events))
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, sorted(seqs))
        sensors = {e["sensor"] for e in events}
        self.assertEqual(sensors, {"tmp105", "dps310"}, "lsm303dlhc was turned off")
        # The readings are QEMU's models' values: TMP105 resets to 0 C; the DPS310 model's
        # fixed raw values compensate to 24.738 C and 92946.3 Pa.
        tmp105 = [e["reading"] for e in events if e["sensor"] == "tmp105"]
        self.assertTrue(all(r == {"type": "temperature", "celsius": 0.0} for r in tmp105), tmp105)
        pressure = [e["reading"]["pascal"] for e in events
                    if e["sensor"] == "dps310" and e["reading"]["type"] == "pressure"]
        self.assertTrue(pressure and all(abs(p - 92946.3) < 1.0 for p in pressure), pressure)
        status = board.command("status", "ok ring=")
        self.assertIn("link=up", status)
        acked = int(status.split(" acked=")[1].split()[0])
        self.assertGreater(acked, 0)
        # tmp105 every 200 ms against dps310 every 1 s (2 events each).
        self.assertGreater(len(tmp105), len(pressure) * 2)

    def test_a_temperature_set_in_qemu_is_what_the_board_reads_and_sends(self):
        board = self.board.start()
        board.command("set device_id 0xC0FFEE")
        board.command("set interval.tmp105 100")
        board.command("set interval.dps310 0")
        board.command("set interval.lsm303dlhc 0")
        board.command("save")
        board.command("reboot")
        board.read_until("device 0xc0ffee boot 2")
        # The board's time base is right (the PLL at 50 MHz, which QEMU's SysTick follows):
        # one sensor every 100 ms gives about 30 events in 3 s of wall time.
        first, started = board.counter("events"), time.monotonic()
        time.sleep(3)
        rate = (board.counter("events") - first) / (time.monotonic() - started)
        self.assertTrue(7 <= rate <= 13, f"{rate:.1f} samples/s for a 100 ms interval")
        for milli_c, shown in ((23500, "23.500"), (-7250, "-7.250")):
            board.qom_set("tmp105", "temperature", milli_c)
            self.assertEqual(board.command("sensors"), f"ok tmp105 celsius={shown}\r\n")
            wait_for(lambda: any(e["sensor"] == "tmp105" and
                                 e["reading"]["celsius"] == milli_c / 1000
                                 for e in self.events_of(DEVICE)),
                     30, f"an event from the board with {milli_c / 1000} C")

    def test_a_mebibyte_of_noise_on_the_link_is_refused_then_events_flow(self):
        rng = random.Random(9)
        noisy = NoisyLink(self.link_port, bytes(rng.getrandbits(8) for _ in range(1 << 20)))
        self.addCleanup(noisy.close)
        self.board.link_port = noisy.port
        board = self.board.start()
        board.command("set device_id 0xC0FFEE")
        board.command("save")
        board.command("reboot")
        board.read_until("device 0xc0ffee boot 2")
        wait_for(lambda: board.counter("acked") > 0, 30, "acks from the gateway")
        started = time.monotonic()
        noisy.pour()
        # Each zero byte ends a frame; random frames never pass the CRC.
        frames = noisy.noise.count(0)
        wait_for(lambda: board.counter("refused_frames") >= frames * 9 // 10, 120,
                 f"about {frames} frames of noise refused one by one")
        refused = board.counter("refused_frames")
        elapsed = time.monotonic() - started
        # Then the link still works: more events reach the gateway and are acked.
        acked = board.counter("acked")
        wait_for(lambda: board.counter("acked") >= acked + 5, 60, "acks after the noise")
        self.assertIn("link=up", board.command("status", "ok ring="))
        print(f"\n1 MiB of noise into the link UART: {refused} of its "
              f"{frames} frames refused within {elapsed:.1f} s")

    def test_settings_and_boot_counter_survive_a_power_cycle(self):
        board = self.board.start()
        board.command("set device_id 0xC0FFEE")
        board.command("set link_baud 57600")
        board.command("save")
        board.stop()
        board.start()  # a new QEMU on the same EEPROM file: a power cycle
        self.assertIn("device_id=0xc0ffee boot=2", board.command("status", "ok device_id="))
        board.stop()
        board.start()
        self.assertIn("boot=3", board.command("status", "ok device_id="))
        board.command("reboot")  # the console is connected now: read the boot messages
        board.read_until("device 0xc0ffee boot 4")
        board.read_until("link at 57600 baud\r\n")  # set on the link UART at boot
        board.command("factory-reset")
        board.read_until("(new device: defaults)")
        self.assertIn("device_id=0x0 boot=1", board.command("status", "ok device_id="))

    def config_apply(self, text, *extra):
        path = os.path.join(self.workdir, "device.toml")
        with open(path, "w") as f:
            f.write(text)
        self.board.sock.close()  # one client at a time on QEMU's console chardev
        out = subprocess.run([binary("edgectl"), "config", "apply",
                              f"tcp:127.0.0.1:{self.board.console_port}", path, *extra],
                             capture_output=True, text=True, timeout=60)
        self.board.sock = socket.create_connection(("127.0.0.1", self.board.console_port))
        self.board.sock.settimeout(0.2)
        return out

    def test_edgectl_config_apply_sets_saves_and_reports_changes(self):
        self.board.start()
        # device_id as a TOML integer: 12648430 is 0xC0FFEE (the console itself reads hex).
        out = self.config_apply('device_id = 12648430\n[interval]\ntmp105 = 250\n'
                                'dps310 = 1000\n', "--reboot")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("device_id: 0x0 -> 0xc0ffee", out.stdout)
        self.assertIn("interval.tmp105: 1000 -> 250", out.stdout)
        self.assertNotIn("interval.dps310", out.stdout, "unchanged settings are not reported")
        self.assertIn("2 setting(s) changed, saved, rebooting", out.stdout)
        wait_for(lambda: len(self.events_of(DEVICE)) > 0, 30, "events under the new device id")
        # A value the device refuses: the key and the device's reason, exit 1, nothing saved.
        out = self.config_apply("[interval]\ntmp105 = 5\n")
        self.assertEqual(out.returncode, 1)
        self.assertIn("key 'interval.tmp105' = 5 refused by the device: error: interval must be",
                      out.stderr)
        self.assertIn("= 250", self.board.command("get interval.tmp105"))
        # A bad file never reaches the device.
        out = self.config_apply("[interval]\ntmp105 = [1]\n")
        self.assertEqual(out.returncode, 2)
        self.assertIn("key 'interval.tmp105'", out.stderr)

    def test_garbage_on_the_console_is_refused_and_the_next_command_works(self):
        board = self.board.start()
        rng = random.Random(5)
        noise = bytes(rng.getrandbits(8) for _ in range(1 << 20))
        board.sock.settimeout(30)
        started = time.monotonic()
        board.sock.sendall(noise + b"\r\n")  # ends the noise's last line
        board.sock.settimeout(0.2)
        board.drain_until_quiet(60)
        reply = board.command("status", "ok ring=")
        elapsed = time.monotonic() - started
        self.assertIn("link=", reply)
        errors = int(reply.split("console_errors=")[1].split()[0])
        self.assertGreater(errors, 100, "the noise was refused line by line")
        self.assertEqual(board.command("get interval.tmp105"), "ok interval.tmp105 = 1000\r\n",
                         "nothing the noise said changed a setting")
        print(f"\n1 MiB of noise into the console UART: {errors} refused lines, {elapsed:.1f} s")


if __name__ == "__main__":
    unittest.main(verbosity=2)
