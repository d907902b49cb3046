#!/usr/bin/env python3
"""prom_count.py - a stand-in for Prometheus that counts what it is asked
(bench/prom_requests.sh). Every POST /api/v1/query gets a successful empty
vector; GET /stats prints "requests connections instants distinct-queries" since the last
GET /reset. HTTP/1.1 with keep-alive, so connection reuse shows. Loopback
only; the first free port is written to --port-file.
"""
import argparse
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
stats = {"requests": 0, "connections": 0, "times": set(), "queries": set()}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with lock:
            stats["connections"] += 1

    def log_message(self, fmt, *args):
        pass

    def send(self, body, ctype="application/json"):
        b = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_GET(self):
        if self.path == "/reset":
            with lock:
                stats.update(requests=0, connections=0, times=set(), queries=set())
            self.send("ok\n", "text/plain")
        elif self.path == "/stats":
            with lock:
                self.send("%d %d %d %d\n" % (stats["requests"], stats["connections"] - 1,
                                             len(stats["times"]), len(stats["queries"])),
                          "text/plain")
        else:
            self.send_error(404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        with lock:
            stats["requests"] += 1
            stats["times"].update(form.get("time", []))
            stats["queries"].update(form.get("query", []))
        self.send('{"status":"success","data":{"resultType":"vector","result":[]}}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--count-file", required=True)
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    open(a.port_file, "w").write("%d\n" % srv.server_address[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
