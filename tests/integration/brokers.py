"""Mosquitto brokers for the forwarding tests, started on free loopback ports, with the TLS
certificates and password files they need generated here by openssl and mosquitto_passwd."""

import os
import shutil
import socket
import subprocess
import time

from harness import Daemon, free_port, wait_for


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


def openssl(*args, cwd):
    out = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)}: {out.stderr}")


class Pki:
    """A CA, a server certificate for 127.0.0.1, a client certificate, all signed by the CA,
    and an unrelated CA ("wrong_ca") that signed nothing here."""

    def __init__(self, workdir):
        if shutil.which("openssl") is None:
            raise AssertionError("openssl not installed (scripts/setup installs it)")
        self.dir = os.path.join(workdir, "pki")
        os.makedirs(self.dir)
        for ca in ("ca", "wrong_ca"):
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN=edge test {ca}", "-keyout", f"{ca}.key", "-out", f"{ca}.pem",
                    cwd=self.dir)
        with open(os.path.join(self.dir, "server.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        for name, ext in (("server", ["-extfile", "server.ext"]), ("client", [])):
            openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=edge-{name}",
                    "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=self.dir)
            openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                    "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", *ext, cwd=self.dir)
        for name in os.listdir(self.dir):
            os.chmod(os.path.join(self.dir, name), 0o600)

    def path(self, name):
        return os.path.join(self.dir, name)


def password_file(workdir, user, password):
    """A mosquitto password file holding one user."""
    path = os.path.join(workdir, "mosquitto.passwd")
    open(path, "w").close()
    out = subprocess.run(["mosquitto_passwd", "-b", path, user, password], capture_output=True,
                         text=True)
    if out.returncode != 0:
        raise AssertionError(f"mosquitto_passwd: {out.stderr}")
    os.chmod(path, 0o600)
    return path


def secret(workdir, name, text):
    """A secret file the gateway accepts (mode 0600)."""
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
    return path
