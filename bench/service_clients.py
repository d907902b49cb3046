#!/usr/bin/env python3
"""service_clients.py SOCKET N SECONDS - N protocol clients attached to a
shiproom service as consoles (read-only), each reading every state message
as fast as it comes, for SECONDS. Prints "bytes messages first_ms": the
bytes and state messages all clients received, and the median time from
connect to the first state. bench/service_bench.sh uses it; the protocol
is shiproom(1), PROTOCOL.
"""
import json
import selectors
import socket
import statistics
import struct
import sys
import time


def main():
    path, n, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    sel = selectors.DefaultSelector()
    hello = json.dumps({"type": "hello", "version": 2, "purpose": "console",  # SR_WIRE_VERSION
                        "read_only": True}).encode()
    conns = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX)
        t0 = time.monotonic()
        s.connect(path)
        s.sendall(struct.pack(">I", len(hello)) + hello)
        s.setblocking(False)
        c = {"s": s, "buf": b"", "t0": t0, "first": None, "bytes": 0, "msgs": 0}
        conns.append(c)
        sel.register(s, selectors.EVENT_READ, c)
    end = time.monotonic() + secs
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.2):
            c = key.data
            try:
                data = c["s"].recv(1 << 20)
            except BlockingIOError:
                continue
            if not data:
                sel.unregister(c["s"])
                continue
            c["bytes"] += len(data)
            c["buf"] += data
            while len(c["buf"]) >= 4:
                ln = struct.unpack(">I", c["buf"][:4])[0]
                if len(c["buf"]) < 4 + ln:
                    break
                body = c["buf"][4:4 + ln]
                c["buf"] = c["buf"][4 + ln:]
                if body.startswith(b'{"type":"state"'):
                    c["msgs"] += 1
                    if c["first"] is None:
                        c["first"] = (time.monotonic() - c["t0"]) * 1000
    firsts = [c["first"] for c in conns if c["first"] is not None]
    print(sum(c["bytes"] for c in conns), sum(c["msgs"] for c in conns),
          "%.1f" % (statistics.median(firsts) if firsts else -1))


if __name__ == "__main__":
    main()
