"""A TCP proxy between the gateway and its broker that reads the MQTT packets going through and
records which event IDs the broker PUBACKed (MQTT v5 and 3.1.1 QoS 1 PUBLISH carry the ID in
the gateway's `event-id` user property under v5).

Why: a broker killed with SIGKILL may have PUBACKed messages it never delivered to the
subscriber. Those are the broker's losses, not the gateway's; the tap tells them apart, so a
test can require exactly zero losses by the gateway and still report what the broker lost."""

import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from edgepy.relay import TcpRelay  # noqa: E402


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


class MqttTap(TcpRelay):
    """A TcpRelay on a free loopback port (.port) to the broker on 127.0.0.1:`broker_port`, which
    adds to .pubacked (under .lock) the event ID of every PUBLISH the broker PUBACKed with a
    success reason code. A PUBACK is recorded before it is forwarded: an event the gateway saw
    acknowledged is in .pubacked. The broker down: the gateway sees its connect fail; the broker
    killed: the gateway sees its connection end."""

    def __init__(self, broker_port):
        self.broker_port = broker_port
        self.pubacked = set()  # event IDs the broker acknowledged (reason < 0x80)
        super().__init__(("127.0.0.1", broker_port), dial_timeout=2)

    def transforms(self, index):
        pending = {}  # packet id -> event id, for this connection
        to_broker, to_gateway = bytearray(), bytearray()

        def publishes(data):
            to_broker.extend(data)
            for kind, flags, body in _packets(to_broker):
                if kind == 3:  # PUBLISH
                    packet_id, event = _event_id(flags, body)
                    if event is not None:
                        with self.lock:
                            pending[packet_id] = event
            return data

        def pubacks(data):
            to_gateway.extend(data)
            for kind, _, body in _packets(to_gateway):
                if kind == 4:  # PUBACK
                    packet_id = struct.unpack(">H", body[:2])[0]
                    reason = body[2] if len(body) > 2 else 0
                    with self.lock:
                        event = pending.pop(packet_id, None)
                        if event is not None and reason < 0x80:
                            self.pubacked.add(event)
            return data  # forwarded only now: the gateway cannot see a PUBACK the tap missed

        return publishes, pubacks
