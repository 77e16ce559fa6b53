"""A private RabbitMQ node with the MQTT plugin, for the integration tests. Standard library only.

    broker = RabbitMq(workdir).start()      # broker.mqtt_port, broker.amqp_port on 127.0.0.1
    ...
    broker.stop()                           # SIGKILLs every process it started, leaves none

It runs Debian's rabbitmq-server 3.10 (scripts/setup installs it) as the current user, never
the system service: its own epmd, node name and free loopback ports, with data, logs and config
all under workdir, so two instances (or a system node) never collide. MQTT 3.1.1 clients may
connect without a user name (they act as guest). start() returns once an MQTT CONNECT gets a
CONNACK 0 and sets start_seconds: 9-12 s on 2 cores, 3.3-6 s of it the MQTT plugin's randomised
wait for Raft peers on a new node. start() again after stop() keeps the node name, data
(retained messages too) and ports; after stop(graceful=True) it skips that wait (4-6 s).
"""

import os
import signal
import socket
import subprocess
import time

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # /usr/sbin/rabbitmq-server su's to rabbitmq
EPMD = "/usr/bin/epmd"

CONFIG = """\
loopback_users = none
default_user = guest
default_pass = guest
mqtt.listeners.tcp.default = 127.0.0.1:{mqtt_port}
mqtt.allow_anonymous = true
mqtt.default_user = guest
mqtt.default_pass = guest
mqtt.vhost = /
mqtt.exchange = amq.topic
disk_free_limit.absolute = 1MB
vm_memory_high_watermark.relative = 0.8
log.console = false
log.file.level = info
"""


def free_ports(count):
    """Distinct free loopback TCP ports (all held open while picking, so none repeats)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _ask(port, request, reply_len, timeout=2.0):
    """Send request to 127.0.0.1:port and read reply_len bytes; None if that fails."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(request)
            reply = b""
            while len(reply) < reply_len:
                chunk = s.recv(reply_len - len(reply))
                if not chunk:
                    return None
                reply += chunk
            return reply
    except OSError:
        return None


def mqtt_connack(port, client_id=b"edge-test-probe"):
    """The return code of the CONNACK to a clean-session MQTT 3.1.1 CONNECT, or None."""
    body = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(client_id).to_bytes(2, "big") + client_id
    reply = _ask(port, bytes([0x10, len(body)]) + body + b"\xe0\x00", 4)  # ... DISCONNECT
    return reply[3] if reply and reply[:2] == b"\x20\x02" else None


def epmd_up(port):
    """True once the epmd on port answers a NAMES request (a bare connect makes it log noise)."""
    return _ask(port, b"\x00\x01n", 4) == port.to_bytes(4, "big")


def _stat(pid):
    """(state, parent pid) of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1])
    except (OSError, IndexError, ValueError):
        return None


def _depth(pid):
    depth = 0
    while pid > 1:
        pid, depth = (_stat(pid) or (None, 0))[1], depth + 1
    return depth


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


class RabbitMq:
    _count = 0

    def __init__(self, workdir):
        RabbitMq._count += 1
        self.workdir = os.path.abspath(workdir)
        self.node = f"edge-test-{os.getpid()}-{RabbitMq._count}@localhost"
        # Every process of the node inherits this variable: stop() finds them all by it, even
        # erl_child_setup, which calls setsid() and so leaves the session we start it in.
        self.marker = f"EDGE_TEST_RABBITMQ={self.node}".encode()
        self.out_path = os.path.join(self.workdir, "rabbitmq.out")
        self.log_dir = os.path.join(self.workdir, "log")
        self.epmd = self.server = None
        self.amqp_port = self.mqtt_port = self.dist_port = self.epmd_port = None
        self.start_seconds = None

    def _env(self):
        w = self.workdir
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("RABBITMQ_", "ERL_", "EDGE_TEST_RABBITMQ"))}
        env.update({
            "EDGE_TEST_RABBITMQ": self.node,
            "HOME": os.path.join(w, "home"),  # the Erlang cookie
            "RABBITMQ_NODENAME": self.node,  # short name: RABBITMQ_USE_LONGNAME stays unset
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": os.path.join(w, "mnesia"),
            "RABBITMQ_LOG_BASE": self.log_dir,
            "RABBITMQ_CONFIG_FILE": os.path.join(w, "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(w, "enabled_plugins"),
            # Keep /etc/rabbitmq out: these two need not exist.
            "RABBITMQ_CONF_ENV_FILE": os.path.join(w, "rabbitmq-env.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": os.path.join(w, "advanced.config"),
            # Our epmd is up already; distribution listens on loopback only.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS":
                "-start_epmd false -kernel inet_dist_use_interface {127,0,0,1}",
        })
        return env

    def _spawn(self, argv):
        with open(self.out_path, "ab") as out:
            return subprocess.Popen(argv, env=self._env(), cwd=self.workdir,
                                    stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def start(self, timeout=90):
        if not os.access(SERVER, os.X_OK):
            raise AssertionError("rabbitmq-server not installed (scripts/setup installs it)")
        began = time.monotonic()
        if self.mqtt_port is None:  # a restart keeps its ports, for clients to reconnect
            self.amqp_port, self.mqtt_port, self.dist_port, self.epmd_port = free_ports(4)
        for d in ("home", "mnesia", "log"):
            os.makedirs(os.path.join(self.workdir, d), exist_ok=True)
        with open(os.path.join(self.workdir, "rabbitmq.conf"), "w") as f:
            f.write(CONFIG.format(mqtt_port=self.mqtt_port))
        with open(os.path.join(self.workdir, "enabled_plugins"), "w") as f:
            f.write("[rabbitmq_mqtt].\n")
        deadline = began + timeout
        self.epmd = self._spawn([EPMD, "-port", str(self.epmd_port), "-address", "127.0.0.1"])
        self._wait(deadline, self.epmd, "epmd to answer", lambda: epmd_up(self.epmd_port))
        self.server = self._spawn([SERVER])
        self._wait(deadline, self.server, "an MQTT CONNACK 0",
                   lambda: mqtt_connack(self.mqtt_port) == 0)
        self.start_seconds = time.monotonic() - began
        return self

    def _wait(self, deadline, proc, what, ready):
        while not ready():
            if proc.poll() is not None:
                reason = f"{proc.args[0]} exited with {proc.returncode} before {what}"
            elif time.monotonic() > deadline:
                reason = f"timed out waiting for {what}"
            else:
                time.sleep(0.05)
                continue
            self.stop()
            raise AssertionError(f"RabbitMQ {self.node}: {reason}\n{self.log()}")

    def _pids(self):
        """This node's live processes, children before parents."""
        pids = []
        for name in os.listdir("/proc"):
            try:
                with open(f"/proc/{name}/environ", "rb") as f:
                    if self.marker in f.read().split(b"\0"):
                        pids.append(int(name))
            except (OSError, ValueError):
                pass  # not a process, gone, or a zombie (whose environ reads empty)
        return sorted(pids, key=_depth, reverse=True)

    def stop(self, graceful=False):
        """SIGKILL every process of the node and its epmd; return once none is left.
        graceful: SIGTERM the node first and give it 30 s to shut down (1-3 s): a start()
        after that skips the MQTT plugin's Raft wait, which a SIGKILLed node may repeat.

        A parent that dies before its child leaves the child to init, which reaps it only
        every second or two, so ps shows '<defunct>' beam.smp or inet_gethost for that long.
        So first SIGSTOP them all (then none forks: the VM respawns inet_gethost, the disk
        monitor's shell forks df), then kill one leaf at a time and let its parent run to
        reap it. The last ones, epmd and the rabbitmq-server script, are our children."""
        ours, orphans = [p for p in (self.epmd, self.server) if p], []
        if graceful and self.server and self.server.poll() is None:
            orphans = self._pids()  # the VM's exit leaves its port programs to init
            self.server.send_signal(signal.SIGTERM)  # the script passes it on to the VM
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self._freeze():
            pass
        while pids := self._pids():
            if time.monotonic() > deadline:
                raise AssertionError(f"RabbitMQ {self.node}: processes {pids} survive SIGKILL")
            leaf, parent = pids[0], (_stat(pids[0]) or (None, 0))[1]
            _signal(leaf, signal.SIGKILL)
            if parent in pids:
                _signal(parent, signal.SIGCONT)
            reaped = time.monotonic() + 1
            while _stat(leaf) and time.monotonic() < reaped:
                for proc in ours:
                    proc.poll()  # reaps it if it is ours
                time.sleep(0.002)
        for proc in ours:
            proc.wait()
        while any(map(_stat, orphans)) and time.monotonic() < deadline:
            time.sleep(0.01)
        self.epmd = self.server = None

    def _freeze(self):
        """SIGSTOP those of the node's processes still running; False once none is."""
        running = [p for p in self._pids() if (_stat(p) or "T")[0] not in "Tt"]
        for pid in running:
            _signal(pid, signal.SIGSTOP)
        time.sleep(0.001 if running else 0)
        return bool(running)

    def log(self, lines=40):
        """The tail of the node's console output and log files, for error messages."""
        paths = [self.out_path]
        if os.path.isdir(self.log_dir):
            paths += sorted(os.path.join(self.log_dir, n) for n in os.listdir(self.log_dir)
                            if n.endswith(".log"))  # not erl_crash.dump
        text = []
        for path in paths:
            try:
                with open(path, errors="replace") as f:
                    tail = f.readlines()[-lines:]
            except OSError:
                continue
            if tail:
                text.append(f"--- {path} (last {len(tail)} lines)\n" + "".join(tail))
        return "\n".join(text) or "(no RabbitMQ output yet)"
