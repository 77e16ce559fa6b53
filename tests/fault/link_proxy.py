"""A TCP proxy between a device (edge-devsim --connect tcp:...) and the gateway's TCP listener
(LinkProxy), or a pty pair between a device's pty and the gateway's serial port (PtyLinkProxy),
that damages the link at a configured per-byte rate: noise bytes inserted, bytes dropped, single
bits flipped. Seeded (the seed is printed), and it counts what it injected.

Besides the injections it audits what the receiver must do about them. The link framing
(docs/wire-contract.md) is COBS + CRC-32C + a 0x00 delimiter, and a decoder reports one result
per non-empty segment between two delimiters. So the proxy splits both the stream it received
and the stream it sent into segments: a sent segment that is not byte for byte one of the
segments it received (a frame damaged, cut in two by a 0x00 that noise or a flip made, or merged
with its neighbour because its delimiter was dropped or flipped) is a damaged segment, which the
receiver must refuse (bad_crc, bad_cobs, too_short or oversize; CRC-32C misses a damaged frame
with probability 2^-32). Sent segments equal to a received one arrive intact; empty ones (a 0x00
inserted next to a delimiter) are ignored by the decoder. Segments still open when the connection
closes are not counted: the receiver never sees their end either.

Standard library only (the TCP relay is TcpRelay, scripts/edgepy/relay.py). Used in-process by
tests/fault/test_link_faults.py, or (TCP) on its own:

    python3 link_proxy.py --upstream 127.0.0.1:7700 --listen 127.0.0.1:7701 \\
        --noise 1e-3 --drop 0 --flip 0 --seed 42 [--up-only]

prints `link-proxy: listening on 127.0.0.1:7701 -> 127.0.0.1:7700, seed 42, ...` and, on SIGTERM
or SIGINT, one JSON line of counts."""

import argparse
import collections
import errno
import json
import math
import os
import random
import select
import signal
import sys
import threading
import time
import tty

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from edgepy.relay import TcpRelay  # noqa: E402

KINDS = ("noise", "drop", "flip")


class Injector:
    """Damages one direction of one connection. Where the next injection falls is drawn from the
    geometric distribution of the total rate (one draw per injection, not one per byte), so the
    positions depend on the byte offsets in the stream only, not on how it was chunked."""

    def __init__(self, rates, rng):
        self.rates = {k: float(rates.get(k, 0.0)) for k in KINDS}
        for kind, rate in self.rates.items():
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{kind} rate {rate} is not in [0, 1)")
        self.total = sum(self.rates.values())
        if self.total >= 1.0:
            raise ValueError(f"total rate {self.total} is not below 1")
        self.rng = rng
        self.counts = dict.fromkeys(KINDS, 0)
        self.skip = self._draw()

    def _draw(self):
        if self.total == 0.0:
            return math.inf
        # Bytes before the next injected one: P(k) = (1 - p)^k p.
        return int(math.log(1.0 - self.rng.random()) / math.log(1.0 - self.total))

    def _kind(self):
        x = self.rng.random() * self.total
        for kind in KINDS:
            x -= self.rates[kind]
            if x < 0.0:
                return kind
        return KINDS[-1]

    def apply(self, data):
        if self.skip >= len(data):
            self.skip -= len(data)
            return data
        out = bytearray()
        pos = 0
        while self.skip < len(data) - pos:
            at = pos + self.skip
            out += data[pos:at]
            kind = self._kind()
            self.counts[kind] += 1
            if kind == "noise":  # a random byte before data[at]; data[at] goes through
                out.append(self.rng.randrange(256))
                out.append(data[at])
            elif kind == "flip":
                out.append(data[at] ^ (1 << self.rng.randrange(8)))
            # "drop": data[at] is not copied
            pos = at + 1
            self.skip = self._draw()
        self.skip -= len(data) - pos
        out += data[pos:]
        return bytes(out)


class SegmentAudit:
    """Counts the segments (between 0x00 delimiters) sent that are not one received: those the
    receiver's frame decoder must refuse. Received segments are remembered for the last
    `memory` of them (a damaged segment comes from the frame being damaged or its neighbours)."""

    def __init__(self, memory=4096):
        self.memory = memory
        self.recent = collections.deque()
        self.known = collections.Counter()
        self.pending_in = b""
        self.pending_out = b""
        self.segments_in = 0  # non-empty segments received
        self.segments_out = 0  # non-empty segments sent
        self.damaged = 0  # non-empty segments sent that were not received as they are

    def received(self, data):
        parts = (self.pending_in + data).split(b"\x00")
        self.pending_in = parts.pop()
        for segment in parts:
            if not segment:
                continue
            self.segments_in += 1
            self.recent.append(segment)
            self.known[segment] += 1
            if len(self.recent) > self.memory:
                old = self.recent.popleft()
                self.known[old] -= 1
                if self.known[old] == 0:
                    del self.known[old]

    def sent(self, data):
        parts = (self.pending_out + data).split(b"\x00")
        self.pending_out = parts.pop()
        for segment in parts:
            if not segment:
                continue
            self.segments_out += 1
            if segment not in self.known:
                self.damaged += 1


class Direction:
    """One direction of one connection: injector, audit and byte counts."""

    def __init__(self, rates, rng):
        self.injector = Injector(rates, rng)
        self.audit = SegmentAudit()
        self.bytes_in = 0
        self.bytes_out = 0
        self.lock = threading.Lock()

    def pass_through(self, data):
        with self.lock:
            self.bytes_in += len(data)
            # Received first: a sent segment can only be intact once its original has ended.
            self.audit.received(data)
            out = self.injector.apply(data)
            self.audit.sent(out)
            self.bytes_out += len(out)
            return out


class LinkProxy(TcpRelay):
    """A TcpRelay that listens on `listen` (host, port; port 0: a free one, see .port) and
    connects every accepted connection to `upstream`. `rates` is {kind: per-byte probability} for
    the device -> gateway direction ("up"); `down_rates` for gateway -> device ("down"; default:
    the same, None: no injection). Each connection's directions get their own generator, seeded
    from `seed`, the connection's index and the direction. Half-closes as TcpRelay does, so every
    segment a side sent before its end is counted; idle() once every connection has ended."""

    def __init__(self, upstream, rates, seed, down_rates="same", listen=("127.0.0.1", 0)):
        self.rates = dict(rates)
        self.down_rates = self.rates if down_rates == "same" else dict(down_rates or {})
        self.seed = seed
        Injector(self.rates, random.Random(0))  # refuse bad rates now, not in a thread
        Injector(self.down_rates, random.Random(0))
        self.directions = {"up": [], "down": []}
        super().__init__(upstream, listen, dial_timeout=5)

    def transforms(self, index):
        up = Direction(self.rates, random.Random(f"{self.seed}/{index}/up"))
        down = Direction(self.down_rates, random.Random(f"{self.seed}/{index}/down"))
        with self.lock:
            self.directions["up"].append(up)
            self.directions["down"].append(down)
        return up.pass_through, down.pass_through

    def describe(self):
        return (f"link-proxy: listening on 127.0.0.1:{self.port} -> "
                f"{self.upstream[0]}:{self.upstream[1]}, seed {self.seed}, "
                f"up {self.rates}, down {self.down_rates}")

    def totals(self, direction):
        """Summed counts of `direction` ("up" or "down") over every connection so far."""
        with self.lock:
            dirs = list(self.directions[direction])
        out = {"bytes_in": 0, "bytes_out": 0, "segments_in": 0, "segments_out": 0, "damaged": 0}
        out.update(dict.fromkeys(KINDS, 0))
        for d in dirs:
            with d.lock:
                out["bytes_in"] += d.bytes_in
                out["bytes_out"] += d.bytes_out
                out["segments_in"] += d.audit.segments_in
                out["segments_out"] += d.audit.segments_out
                out["damaged"] += d.audit.damaged
                for kind in KINDS:
                    out[kind] += d.injector.counts[kind]
        out["injected"] = sum(out[k] for k in KINDS)
        return out

    def summary(self):
        return {"seed": self.seed, "connections": self.connections, "up": self.totals("up"),
                "down": self.totals("down")}


class PtyLinkProxy:
    """The same on a serial link: between a device's pty (edge-devsim --pty-link DEVICE_PATH,
    opened here raw once the device has made it) and a pty this proxy makes, whose slave
    GATEWAY_PATH links to (the gateway's --serial port). One link, so one generator per
    direction; counts as LinkProxy.totals(). idle() once the device's side is gone (the device
    exited) and everything it sent was written on. A tty has no end of stream: the gateway keeps
    its port open until close()."""

    def __init__(self, device_path, gateway_path, rates, seed, down_rates="same"):
        self.device_path = device_path
        self.gateway_path = gateway_path
        self.rates = dict(rates)
        self.down_rates = self.rates if down_rates == "same" else dict(down_rates or {})
        self.seed = seed
        self.directions = {"up": [Direction(self.rates, random.Random(f"{seed}/0/up"))],
                           "down": [Direction(self.down_rates, random.Random(f"{seed}/0/down"))]}
        self.lock = threading.Lock()
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # kept open: no echo or hangup before and between gateway opens
        os.set_blocking(self.master, False)
        if os.path.lexists(gateway_path):
            os.unlink(gateway_path)
        os.symlink(os.ttyname(self.slave), gateway_path)
        self.done = threading.Event()
        self.stop = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def describe(self):
        return (f"link-proxy: {self.device_path} -> pty {self.gateway_path}, seed {self.seed}, "
                f"up {self.rates}, down {self.down_rates}")

    def idle(self):
        return self.done.is_set()

    totals = LinkProxy.totals
    summary = LinkProxy.summary
    connections = 1

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
        if os.path.islink(self.gateway_path):
            os.unlink(self.gateway_path)

    def _run(self):
        device = None
        try:
            while device is None and not self.stop.is_set():
                try:
                    device = os.open(self.device_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
                except FileNotFoundError:
                    time.sleep(0.01)
            if device is None:
                return
            tty.setraw(device)
            up, down = self.directions["up"][0], self.directions["down"][0]
            to_gateway, to_device = bytearray(), bytearray()
            device_open = True
            while not self.stop.is_set():
                if not device_open and not to_gateway:
                    self.done.set()
                    time.sleep(0.05)
                    continue
                readers = [self.master] + ([device] if device_open else [])
                writers = ([self.master] if to_gateway else []) + \
                    ([device] if to_device and device_open else [])
                readable, writable, _ = select.select(readers, writers, [], 0.05)
                for fd in readable:
                    try:
                        data = os.read(fd, 65536)
                    except BlockingIOError:
                        continue
                    except OSError as e:  # EIO: the other side of that pty is closed
                        if e.errno != errno.EIO:
                            raise
                        data = b""
                    if fd == device and not data:  # EIO or end of file: the device is gone
                        device_open = False
                    elif fd == device:
                        to_gateway += up.pass_through(data)
                    elif fd == self.master and data and device_open:
                        to_device += down.pass_through(data)
                for fd, pending in ((self.master, to_gateway), (device, to_device)):
                    if fd in writable and pending:
                        try:
                            del pending[:os.write(fd, pending)]
                        except BlockingIOError:
                            pass
                        except OSError as e:
                            if e.errno != errno.EIO:
                                raise
                            pending.clear()
        except Exception as e:  # noqa: BLE001  (reported by the test through .error)
            self.error = e
            self.done.set()
        finally:
            if device is not None:
                os.close(device)


def _address(text):
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the gateway's listener")
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0: any free)")
    for kind, what in (("noise", "insert a random byte"), ("drop", "drop a byte"),
                       ("flip", "flip one bit of a byte")):
        parser.add_argument(f"--{kind}", type=float, default=0.0,
                            help=f"per-byte probability to {what}")
    parser.add_argument("--seed", type=int, default=None, help="default: a random one (printed)")
    parser.add_argument("--up-only", action="store_true",
                        help="damage device -> gateway only (acks go through intact)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    rates = {"noise": args.noise, "drop": args.drop, "flip": args.flip}
    try:
        proxy = LinkProxy(_address(args.upstream), rates, seed,
                          down_rates=None if args.up_only else "same",
                          listen=_address(args.listen))
    except (ValueError, OSError) as e:
        print(f"link-proxy: {e}", file=sys.stderr)
        return 2
    print(proxy.describe(), flush=True)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    proxy.close()
    print(json.dumps(proxy.summary()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
