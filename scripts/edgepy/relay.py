"""TCP relays from a listening port to an upstream (host, port): TcpRelay, the one accept/dial/
pump loop under the tests' proxies (tests/integration/mqtt_tap.py, tests/fault/link_proxy.py),
and CuttableLink, a link between a gateway and its broker that can be cut and restored, for the
demo and the benchmarks. Standard library only."""

import socket
import threading
import time


def _same(data):
    return data


class TcpRelay:
    """Listens on `listen` (host, port; port 0: a free one, see .port) and relays every accepted
    connection to `upstream` (host, port), one thread per direction, TCP_NODELAY on both sockets.
    Subclasses change what goes through with two hooks, admit() and transforms(index).

    What a caller can rely on:
    - A connection admit() refuses is closed at once, without dialling upstream; one whose dial
      fails (refused, or no answer in `dial_timeout` seconds) is closed too: either way its peer
      sees its link fail as without the relay, and the relay keeps accepting. After a cut() with
      admit() refusing, no connection is relayed until admit() allows it again.
    - Relayed connections are numbered 0, 1, ... in accept order; .connections counts them.
    - Each direction's transform sees every chunk received before any of it is sent on; what it
      returns is sent (nothing, if empty).
    - Half-close: when one side's stream ends (or fails), the other side is shut for writing, so
      it reads to the end of what was sent, then sees its end; once both directions have ended,
      both sockets are closed. idle(): every relayed connection has ended both ways.
    - cut() ends every open connection in both directions; close() stops accepting (connections
      already relayed go on). Transient accept() errors do not stop the relay, only close().
    - self.lock guards the relay's counts; subclasses may take it for their own state. The hooks
      are called without it, except admit() (see there)."""

    def __init__(self, upstream, listen=("127.0.0.1", 0), dial_timeout=5):
        self.upstream = tuple(upstream)
        self.dial_timeout = dial_timeout
        self.lock = threading.Lock()
        self.connections = 0
        self._open = set()  # (client, server) of the connections not ended both ways
        self._pumps = 0  # directions still relaying
        self._closed = False
        self.listener = socket.create_server(listen)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def admit(self):
        """Whether to relay a new connection (False: close it at once). Asked before the dial and
        again, with self.lock held (so it must not take it), when the connection is registered:
        one dialled while a cut() began to refuse is not relayed."""
        return True

    def transforms(self, index):
        """The (client -> upstream, upstream -> client) functions, bytes -> bytes, of relayed
        connection `index`. Default: both pass data through unchanged."""
        return _same, _same

    def idle(self):
        """Every relayed connection has ended in both directions."""
        with self.lock:
            return self._pumps == 0

    def cut(self):
        """Ends every open connection in both directions: both peers see their stream end."""
        with self.lock:
            pairs = list(self._open)
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        """Stops accepting; connections already relayed go on (cut() ends them)."""
        self._closed = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in progress
        except OSError:
            pass
        self.listener.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                if self._closed:
                    return
                time.sleep(0.05)  # e.g. out of file descriptors for a moment: try again
                continue
            if not self.admit():
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=self.dial_timeout)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = (client, server)
            with self.lock:
                admitted = self.admit()
                if admitted:
                    index = self.connections
                    self.connections += 1
                    self._open.add(pair)
                    self._pumps += 2
            if not admitted:
                client.close()
                server.close()
                continue
            up, down = self.transforms(index)
            ends = []
            for args in ((client, server, up), (server, client, down)):
                threading.Thread(target=self._pump, args=args + (pair, ends), daemon=True).start()

    def _pump(self, src, dst, transform, pair, ends):
        try:
            while data := src.recv(65536):
                out = transform(data)
                if out:
                    dst.sendall(out)
        except OSError:
            pass
        finally:
            try:  # half-close: dst's peer reads to the end of what was sent, then sees its end
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            with self.lock:
                self._pumps -= 1
                ends.append(src)
                last = len(ends) == 2
                if last:
                    self._open.discard(pair)
            if last:  # both directions ended: the connection is over
                src.close()
                dst.close()


class CuttableLink(TcpRelay):
    """A TCP relay on a free loopback port to `target_port` (on `target_host`) that can be cut
    (every connection closed, new ones refused: .up is False) and restored: a network outage
    between an edge and its upstream broker while the subscriber stays connected to that broker.
    `up=False` starts it cut."""

    def __init__(self, target_port, target_host="127.0.0.1", up=True):
        self.up = up
        super().__init__((target_host, target_port), dial_timeout=2)

    def admit(self):
        return self.up

    def cut(self):
        self.up = False
        super().cut()

    def restore(self):
        self.up = True

    def close(self):
        self.cut()
        super().close()
