"""A TCP proxy between the gateway and its broker that reads the MQTT packets going through and
records which event IDs the broker PUBACKed (MQTT v5 and 3.1.1 QoS 1 PUBLISH carry the ID in
the gateway's `event-id` user property under v5).

Why: a broker killed with SIGKILL may have PUBACKed messages it never delivered to the
subscriber. Those are the broker's losses, not the gateway's; the tap tells them apart, so a
test can require exactly zero losses by the gateway and still report what the broker lost."""

import socket
import struct
import threading


def _varint(buf, pos):
    value, shift = 0, 0
    while True:
        if pos >= len(buf):
            return None, pos
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte & 0x80 == 0:
            return value, pos


def _packets(buf):
    """Complete packets at the start of `buf`: yields (type, flags, body), leaves the rest."""
    pos = 0
    while pos < len(buf):
        length, body = _varint(buf, pos + 1)
        if length is None or body + length > len(buf):
            break
        yield buf[pos] >> 4, buf[pos] & 0x0F, bytes(buf[body:body + length])
        pos = body + length
    del buf[:pos]


def _event_id(flags, body):
    """The `event-id` user property of a v5 QoS 1 PUBLISH, with its packet id."""
    if (flags >> 1) & 0x3 != 1:
        return None, None
    topic_len = struct.unpack(">H", body[:2])[0]
    pos = 2 + topic_len
    packet_id = struct.unpack(">H", body[pos:pos + 2])[0]
    pos += 2
    props_len, pos = _varint(body, pos)
    end = pos + props_len
    while pos < end:
        prop = body[pos]
        pos += 1
        if prop == 0x26:  # user property: two UTF-8 strings
            klen = struct.unpack(">H", body[pos:pos + 2])[0]
            key = body[pos + 2:pos + 2 + klen].decode()
            pos += 2 + klen
            vlen = struct.unpack(">H", body[pos:pos + 2])[0]
            value = body[pos + 2:pos + 2 + vlen].decode()
            pos += 2 + vlen
            if key == "event-id":
                return packet_id, value
        elif prop in (0x01,):  # payload format indicator: one byte
            pos += 1
        elif prop in (0x02,):  # message expiry: four bytes
            pos += 4
        elif prop in (0x03, 0x08):  # content type, response topic: string
            pos += 2 + struct.unpack(">H", body[pos:pos + 2])[0]
        elif prop == 0x09:  # correlation data: binary
            pos += 2 + struct.unpack(">H", body[pos:pos + 2])[0]
        elif prop == 0x23:  # topic alias: two bytes
            pos += 2
        elif prop == 0x0B:  # subscription identifier: varint
            _, pos = _varint(body, pos)
        else:
            return packet_id, None
    return packet_id, None


class MqttTap:
    def __init__(self, broker_port):
        self.broker_port = broker_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.pubacked = set()  # event IDs the broker acknowledged (reason < 0x80)
        self.lock = threading.Lock()
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.running = False
        self.listener.close()

    def _accept(self):
        while self.running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.broker_port), timeout=2)
            except OSError:
                client.close()  # broker down: the gateway sees a failed connect
                continue
            upstream.settimeout(None)
            pending = {}  # packet id -> event id, for this connection
            threading.Thread(target=self._pump, args=(client, upstream, pending, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, pending, False),
                             daemon=True).start()

    def _pump(self, src, dst, pending, to_broker):
        buf = bytearray()
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                buf += data
                for kind, flags, body in _packets(buf):
                    if to_broker and kind == 3:  # PUBLISH
                        packet_id, event = _event_id(flags, body)
                        if event is not None:
                            with self.lock:
                                pending[packet_id] = event
                    elif not to_broker and kind == 4:  # PUBACK
                        packet_id = struct.unpack(">H", body[:2])[0]
                        reason = body[2] if len(body) > 2 else 0
                        with self.lock:
                            event = pending.pop(packet_id, None)
                            if event is not None and reason < 0x80:
                                self.pubacked.add(event)
                # Forward only after recording: the gateway cannot see a PUBACK the tap missed.
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
