"""A device's line console (the firmware's `help`, `status`, `set`, ...) over a socket."""

import socket
import time


class DeviceConsole:
    """A device's line console on a socket (self.sock, timeout set): a command and its reply,
    or whatever the device says up to a marker."""

    sock = None
    received = ""

    def read_until(self, text, timeout=10):
        deadline = time.monotonic() + timeout
        while text not in self.received:
            if time.monotonic() > deadline:
                raise AssertionError(f"console never said {text!r}; it said:\n{self.received}")
            try:
                data = self.sock.recv(4096)
                if not data:
                    raise AssertionError(f"console closed; it said:\n{self.received}")
                self.received += data.decode(errors="replace")
            except socket.timeout:
                pass
        head, _, rest = self.received.partition(text)
        self.received = rest
        return head + text

    def command(self, line, expect="ok", timeout=10):
        """Sends a console line; returns the reply line that starts with `expect`."""
        self.received = ""
        self.sock.sendall(line.encode() + b"\r\n")
        self.read_until(expect, timeout)
        return expect + self.read_until("\r\n", timeout)

    def connect(self, port, proc, timeout=20):
        """Connects to a console that `proc` (QEMU) serves on a loopback TCP port, retrying
        until it listens, then waits until the device answers. AssertionError if it never
        does or `proc` ends."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(f"the console on port {port} did not open")
                time.sleep(0.05)
        self.sock.settimeout(0.2)
        self.received = ""
        self.wait_ready(max(1.0, deadline - time.monotonic()))

    def wait_ready(self, timeout=20):
        """Waits until the device answers `status`: bytes typed while it boots are lost (its
        UART is being set up), as on a real board."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.command("status", "ok device_id=", timeout=1)
            except AssertionError:
                if time.monotonic() > deadline:
                    raise

    def counters(self):
        """The `status` counters (events, acked, ring_dropped, busy, refused_frames, ...) of one
        status line, by name."""
        line = self.command("status", "ok ring=")
        return {k: int(v) for k, _, v in (w.partition("=") for w in line.split()[2:])
                if v.isdigit()}

    def counter(self, name):
        """One of the `status` counters."""
        return self.counters()[name]
