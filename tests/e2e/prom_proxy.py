#!/usr/bin/env python3
"""prom_proxy.py - an HTTP proxy in front of the real Prometheus that can
misbehave the ways a real one (or a proxy in front of it) does.

  prom_proxy.py --upstream http://127.0.0.1:PORT --mode-file FILE [--owner-pid PID]

Listens on a free loopback port (first stdout line: "PORT <n>"). Every
request is handled according to the mode file's content, read per request:

  (absent or empty)  forward to Prometheus, relay the answer;
  hang               read the request, never answer (a hung Prometheus);
  warn               forward, and add `warnings` to Prometheus's JSON
                     answer (a partial answer, as Thanos or Mimir give
                     when a store does not answer);
  echo               answer 500 with every request header in the body,
                     the Authorization header included (a proxy that
                     reflects what it got).
"""
import argparse
import json
import os
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None


def mode():
    try:
        with open(ARGS.mode_file, encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return ""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, code, body, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        m = mode()
        if m == "hang":
            time.sleep(120)
            self.close_connection = True
            return
        if m == "echo":
            text = "rejected %s; the request carried:\n%s" % (
                self.headers.get("Authorization"),
                "".join("%s: %s\n" % (k, v) for k, v in self.headers.items()))
            self.answer(500, text.encode(), "text/plain")
            return
        req = urllib.request.Request(ARGS.upstream + self.path, data=body if body else None,
                                     method=self.command)
        for k in ("Content-Type", "Accept"):
            if self.headers.get(k):
                req.add_header(k, self.headers[k])
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                code, out = r.status, r.read()
        except urllib.error.HTTPError as e:
            code, out = e.code, e.read()
        if m == "warn" and code == 200:
            d = json.loads(out)
            d["warnings"] = ["partial response: store eu-west-1 did not answer"]
            out = json.dumps(d).encode()
        self.answer(code, out)

    do_GET = handle_any
    do_POST = handle_any


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--mode-file", required=True)
    ap.add_argument("--owner-pid", type=int, default=0)
    ARGS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    if ARGS.owner_pid:
        def watch():
            while True:
                try:
                    os.kill(ARGS.owner_pid, 0)
                except OSError:
                    os._exit(0)
                time.sleep(1)
        threading.Thread(target=watch, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
