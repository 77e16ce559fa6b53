"""Processes the tests, the demo and the benchmarks start: free loopback ports, waiting for
a condition, a daemon that can be stopped or killed -9, a Mosquitto broker. Standard library
only."""

import os
import shutil
import signal
import socket
import subprocess
import time


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Daemon:
    """A started process (self.proc) that a test kills -9 or stops with SIGTERM."""

    proc = None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(timeout=10)
        return self.proc.returncode if self.proc else None


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Mosquitto(Daemon):
    """A Mosquitto broker; `listeners` are extra mosquitto.conf blocks (TLS, passwords). A plain
    anonymous listener on `port` is always there for the test's own subscriber.
    max_inflight_messages 0: messages to the subscriber are written out as they arrive, so a
    SIGKILLed broker loses nothing it had PUBACKed while the subscriber was connected.
    (max_queued_messages stays at its default: with 0, Mosquitto 2.0.11 drops the connection of
    a client right after refusing one of its publishes by ACL.)"""

    def __init__(self, workdir, name="mosquitto", listeners="", inflight=0):
        if shutil.which("mosquitto") is None:
            raise AssertionError("mosquitto not installed (scripts/setup installs it)")
        self.port = free_port()
        self.conf = os.path.join(workdir, f"{name}.conf")
        self.log_path = os.path.join(workdir, f"{name}.log")
        with open(self.conf, "w") as f:
            # As root it would switch to the mosquitto user, which cannot read our 0600 files.
            f.write(("user root\n" if os.getuid() == 0 else "") +
                    "per_listener_settings true\n"
                    f"persistence false\nmax_inflight_messages {inflight}\n"
                    "log_type all\nconnection_messages true\n"
                    f"listener {self.port} 127.0.0.1\nallow_anonymous true\n" + listeners)
        self.proc = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=log, stderr=log)
        wait_for(lambda: port_open(self.port) or self.proc.poll() is not None, 10,
                 "mosquitto to listen")
        if self.proc.poll() is not None:
            raise AssertionError(f"mosquitto exited {self.proc.returncode}:\n{self.log()}")
        return self

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()
