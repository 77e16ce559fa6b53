"""Mosquitto brokers for the forwarding tests, started on free loopback ports, with the TLS
certificates and password files they need generated here by openssl and mosquitto_passwd."""

import os
import shutil
import subprocess

from harness import Mosquitto, port_open  # noqa: F401  (re-exported for the tests)


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
