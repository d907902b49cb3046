#!/usr/bin/env python3
"""wire_server.py - a loopback HTTP server that replays the wire's edge cases.

Used by tests/unit/test_http.c and tests/unit/test_prometheus.c (and by
hand). It binds 127.0.0.1 on an ephemeral port and prints "PORT <n>" on
its first line of stdout. Every request is appended to a JSONL log
(--log) *before* the answer is sent, with the id of its TCP connection, so
a test can check what was sent (method, path, headers, body) and count
connections (reuse).

Routes (any method):
  /echo                   200, JSON of what was received
  /status/<code>          that status; 502 gets an HTML page with a newline
                          and an ESC byte in it, like a proxy's
  /hang                   accepts, reads the request, never answers
  /reset                  reads the request, then resets the connection
                          (SO_LINGER 0: the client sees ECONNRESET)
  /retry-after/<v>        429 with "Retry-After: <v>"
  /slow/<ms>              answers "ok" after <ms>
  /big/<n>                200 with n bytes (Content-Length)
  /bigchunked/<n>         200 with n bytes, chunked (no length up front)
  /_control/<mode>        sets the mode of the Prometheus route:
                          normal, hang, 502, 429 (Retry-After: 60), promerror,
                          garbage, echo
                          (500 with the request headers in the body)
  .../api/v1/query        a Prometheus instant-query endpoint under any
                          prefix; POST form (query, time). The answer is
                          picked by the query's first identifier, see
                          CANNED below; `time` is echoed as the samples'
                          timestamp.
"""
import argparse
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"mode": "normal", "conn": 0, "log": None}


def log_event(ev):
    with LOCK:
        if STATE["log"]:
            with open(STATE["log"], "a", encoding="utf-8") as f:
                f.write(json.dumps(ev) + "\n")
                f.flush()


def series(labels, ts, value):
    return {"metric": labels, "value": [ts, value]}


def canned(name, ts):
    """The data part of a Prometheus answer for a query named `name`,
    or a (status, body) pair for an error answer."""
    J = "journey"
    V = "variant"
    if name == "lat":  # latency by journey and variant, ms
        return [
            series({J: "search", V: "canary", "job": "app"}, ts, "101.5"),
            series({J: "search", V: "control", "job": "app"}, ts, "99.25"),
            series({J: "pay", V: "canary"}, ts, "120"),
            series({J: "pay", V: "control"}, ts, "1e-07"),
        ]
    if name == "err":  # a global ratio by variant
        return [series({V: "canary"}, ts, "0.5"), series({V: "control"}, ts, "0.25")]
    if name == "samples":
        return [
            series({J: "search", V: "canary"}, ts, "42"),
            series({J: "search", V: "control"}, ts, "900"),
            series({J: "pay", V: "canary"}, ts, "7"),
            series({J: "pay", V: "control"}, ts, "NaN"),
        ]
    if name == "nan":
        return [series({V: "canary"}, ts, "NaN"), series({V: "control"}, ts, "+Inf")]
    if name == "max":  # the rhythm query: newest sample times, in seconds
        return [series({V: "canary"}, ts, repr(float(ts) - 3.5)),
                series({V: "control"}, ts, repr(float(ts) - 1))]
    if name == "empty":
        return []
    if name == "missing":  # no series for journey "pay"
        return [
            series({J: "search", V: "canary"}, ts, "10"),
            series({J: "search", V: "control"}, ts, "11"),
        ]
    if name == "escape":  # label values carrying terminal escapes
        return [
            series({J: "search\u001b[2J", V: "canary"}, ts, "1"),
            series({J: "search", V: "canary\u0007"}, ts, "2"),
        ]
    if name == "big":  # many series: more than a small size cap
        return [series({J: "j%d" % i, V: "canary"}, ts, "1") for i in range(200)]
    if name == "promerror":
        return (422, {"status": "error", "errorType": "execution",
                      "error": "query timed out in expression evaluation"})
    return (400, {"status": "error", "errorType": "bad_data",
                  "error": "unknown canned query %r" % name})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so reuse can be counted
    server_version = "wire/1"

    def setup(self):
        super().setup()
        with LOCK:
            STATE["conn"] += 1
            self.conn_id = STATE["conn"]

    def log_message(self, fmt, *args):  # quiet
        pass

    def _send(self, code, body, ctype="application/json", reason=None):
        if isinstance(body, str):
            body = body.encode("utf-8")
        if reason:
            self.send_response(code, reason)
        else:
            self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _hang(self):
        # Never answer; return when the client gives up (EOF) or after 60 s.
        self.connection.settimeout(60)
        try:
            while self.connection.recv(1024):
                pass
        except OSError:
            pass
        self.close_connection = True

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urllib.parse.urlsplit(self.path).path
        text = body.decode("utf-8", "replace")
        log_event({"event": "request", "conn": self.conn_id, "method": self.command,
                   "path": path, "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": text})
        m = re.fullmatch(r"/status/(\d{3})", path)
        if path == "/echo":
            self._send(200, json.dumps({"method": self.command, "path": path, "body": text,
                                        "headers": {k.lower(): v for k, v in self.headers.items()}}))
        elif m:
            code = int(m.group(1))
            if code == 502:
                self._send(502, "<html>\n<head><title>502 Bad Gateway</title></head>\n"
                           "<body>\x1b[31mupstream went away</body></html>\n", "text/html")
            else:
                self._send(code, "status %d\n" % code, "text/plain")
        elif path == "/hang":
            self._hang()
        elif path == "/reset":
            import socket
            import struct
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif path.startswith("/retry-after/"):
            body = b"slow down\n"
            self.send_response(429)
            self.send_header("Retry-After", urllib.parse.unquote(path[13:]))
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif path.startswith("/slow/"):
            time.sleep(int(path[6:]) / 1000.0)
            self._send(200, "ok", "text/plain")
        elif path.startswith("/big/"):
            self._send(200, "x" * int(path[5:]), "text/plain")
        elif path.startswith("/bigchunked/"):
            n = int(path[12:])
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                while n > 0:
                    k = min(n, 16384)
                    self.wfile.write(b"%x\r\n" % k + b"y" * k + b"\r\n")
                    n -= k
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                self.close_connection = True
        elif path.startswith("/_control/"):
            STATE["mode"] = path[10:]
            self._send(200, "mode %s\n" % STATE["mode"], "text/plain")
        elif path.endswith("/api/v1/query"):
            self._prometheus(text)
        else:
            self._send(404, "no route %s\n" % path, "text/plain")

    def _prometheus(self, text):
        mode = STATE["mode"]
        if mode == "hang":
            return self._hang()
        if mode == "502":
            return self._send(502, "<html><body><h1>502 Bad Gateway</h1>\nnginx</body></html>",
                              "text/html")
        if mode == "429":  # rate-limited, as a Mimir or Thanos front-end does
            self.send_response(429)
            self.send_header("Retry-After", "60")
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "11")
            self.end_headers()
            self.wfile.write(b"slow down\n\n")
            return
        if mode == "garbage":
            return self._send(200, "{\"status\":\"success\",\"data\":{\"resultType\":")
        if mode == "echo":  # a proxy reflecting what it got, Authorization included
            return self._send(500, "bad auth %s; %s" % (self.headers.get("Authorization"), " ".join(
                "%s=%s" % (k, v) for k, v in self.headers.items())), "text/plain")
        form = urllib.parse.parse_qs(text, keep_blank_values=True)
        query = form.get("query", [""])[0]
        ts_text = form.get("time", ["0"])[0]
        ts = float(ts_text) if "." in ts_text else int(ts_text)
        m = re.match(r"\s*\(?\s*([A-Za-z_:][A-Za-z0-9_:]*)", query)
        name = "promerror" if mode == "promerror" else (m.group(1) if m else "")
        data = canned(name, ts)
        if isinstance(data, tuple):
            return self._send(data[0], json.dumps(data[1]))
        doc = {"status": "success", "data": {"resultType": "vector", "result": data}}
        if name == "err" and mode == "warn":
            doc["warnings"] = ["partial response: store eu-1 unavailable"]
        self._send(200, json.dumps(doc))

    def do_GET(self):
        self._handle()

    do_POST = do_GET
    do_PUT = do_GET
    do_PATCH = do_GET
    do_DELETE = do_GET


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that gives up mid-answer (the size cap, a timeout) is
        # expected here; anything else is still reported.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", help="JSONL log of requests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=120,
                    help="exit after this long whatever happens")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    ap.add_argument("--tls-key", help="the certificate's private key (PEM)")
    ap.add_argument("--exit-on-stdin-eof", action="store_true",
                    help="exit when stdin closes (the parent test died)")
    args = ap.parse_args()
    STATE["log"] = args.log
    if args.log:
        open(args.log, "w").close()
    srv = Server(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("PORT %d" % srv.server_address[1], flush=True)

    def watchdog():
        time.sleep(args.max_seconds)
        os._exit(0)

    def stdin_watch():
        try:
            while sys.stdin.buffer.read(1024):
                pass
        except OSError:
            pass
        os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()
    if args.exit_on_stdin_eof:
        threading.Thread(target=stdin_watch, daemon=True).start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
