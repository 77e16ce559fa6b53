"""A TCP relay that can be cut and restored: an outage of the link between a gateway and its
broker, for the demo and the benchmarks."""

import select
import socket
import threading


class CuttableLink:
    """A TCP relay on a free loopback port to `target_port` (on `target_host`) that can be cut
    (every connection closed, new ones refused) and restored: a network outage between an edge
    and its upstream broker while the subscriber stays connected to that broker. `up=False`
    starts it cut."""

    def __init__(self, target_port, target_host="127.0.0.1", up=True):
        self.target = (target_host, target_port)
        self.up = up
        self.pairs = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=2)
            except OSError:
                client.close()
                continue
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.pairs.append((client, server))
            threading.Thread(target=self._relay, args=(client, server), daemon=True).start()

    def _relay(self, a, b):
        peer = {a: b, b: a}
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 0.5)
                for s in ready:
                    data = s.recv(1 << 16)
                    if not data:
                        raise OSError("closed")
                    peer[s].sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self):
        self.up = False
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def restore(self):
        self.up = True

    def close(self):
        self.stopping = True
        self.cut()
        self.listener.close()
