#!/usr/bin/env python3
"""app.py - the fixture application of the end-to-end tests.

A small threaded HTTP server (standard library only) that plays one
variant of the product, "stable" or "canary". It serves the journeys of
the shipped policy and exports, in the Prometheus text format on /metrics,
what the policy's queries read:

  http_request_duration_seconds_bucket{journey, variant, le} (+ _sum, _count)
      with the simulator's buckets (5 ms ... 1 s, +Inf)
  http_requests_total{journey, variant, code}
  payments_total{variant, outcome}          outcome: success | failure
  payment_consecutive_failures{variant}     gauge

Journeys (label value = the policy's journey id):
  /search -> search                 /scholarship -> scholarship_detail
  /apply/start -> application_start /apply/submit -> application_submit
  /pay -> payments                  /provider -> provider_dashboard

Every answer carries "X-Server: <variant>" (the HAProxy tests count it);
the app sets no cookie itself (stickiness is HAProxy's).

Latency model: each request takes a base latency drawn uniformly from
[--base-min-ms, --base-max-ms] plus the injected latency; a journey
request really sleeps that long and observes the time it took.

Control (same port):
  POST /admin/inject {"latency_ms": N, "error_rate": F, "payment_fail": B}
       (any subset; the rest is kept). GET /admin/inject shows the state.
  POST /admin/reset  back to no injection.
  GET  /metrics      Prometheus text format.

--self-load RPS adds RPS synthetic requests per second, spread over the
journeys, observed with the same model but without sleeping, so the
histograms fill without an outside client. --port 0 picks a free port;
the first line on stdout is "PORT <n>".
"""
import argparse
import json
import os
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The simulator's buckets (src/source/sim.c), in seconds.
BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.11, 0.12, 0.13, 0.14,
           0.16, 0.18, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0]

ROUTES = {
    "/search": "search",
    "/scholarship": "scholarship_detail",
    "/apply/start": "application_start",
    "/apply/submit": "application_submit",
    "/pay": "payments",
    "/provider": "provider_dashboard",
}
JOURNEYS = list(ROUTES.values())


class Metrics:
    """The app's counters, under one lock."""

    def __init__(self, variant):
        self.variant = variant
        self.lock = threading.Lock()
        self.buckets = {j: [0] * (len(BUCKETS) + 1) for j in JOURNEYS}  # last: +Inf
        self.sum = {j: 0.0 for j in JOURNEYS}
        self.count = {j: 0 for j in JOURNEYS}
        self.requests = {(j, "200"): 0 for j in JOURNEYS}
        self.payments = {"success": 0, "failure": 0}
        self.consecutive_failures = 0

    def observe(self, journey, seconds, code, payment=None):
        with self.lock:
            b = self.buckets[journey]
            for i, le in enumerate(BUCKETS):
                if seconds <= le:
                    b[i] += 1
            b[-1] += 1
            self.sum[journey] += seconds
            self.count[journey] += 1
            key = (journey, str(code))
            self.requests[key] = self.requests.get(key, 0) + 1
            if payment is not None:
                self.payments[payment] += 1
                if payment == "failure":
                    self.consecutive_failures += 1
                else:
                    self.consecutive_failures = 0

    def render(self):
        v = self.variant
        out = []
        with self.lock:
            out.append("# HELP http_request_duration_seconds Request latency by journey.")
            out.append("# TYPE http_request_duration_seconds histogram")
            for j in JOURNEYS:
                lab = 'journey="%s",variant="%s"' % (j, v)
                for i, le in enumerate(BUCKETS):
                    out.append('http_request_duration_seconds_bucket{%s,le="%s"} %d'
                               % (lab, repr(le), self.buckets[j][i]))
                out.append('http_request_duration_seconds_bucket{%s,le="+Inf"} %d'
                           % (lab, self.buckets[j][-1]))
                out.append("http_request_duration_seconds_sum{%s} %r" % (lab, self.sum[j]))
                out.append("http_request_duration_seconds_count{%s} %d" % (lab, self.count[j]))
            out.append("# HELP http_requests_total Requests by journey and status code.")
            out.append("# TYPE http_requests_total counter")
            for (j, code), n in sorted(self.requests.items()):
                out.append('http_requests_total{journey="%s",variant="%s",code="%s"} %d'
                           % (j, v, code, n))
            out.append("# HELP payments_total Payments by outcome.")
            out.append("# TYPE payments_total counter")
            for outcome, n in sorted(self.payments.items()):
                out.append('payments_total{variant="%s",outcome="%s"} %d' % (v, outcome, n))
            out.append("# HELP payment_consecutive_failures Payment failures in a row.")
            out.append("# TYPE payment_consecutive_failures gauge")
            out.append('payment_consecutive_failures{variant="%s"} %d'
                       % (v, self.consecutive_failures))
        return "\n".join(out) + "\n"


class App:
    def __init__(self, args):
        self.variant = args.variant
        self.base_min = args.base_min_ms / 1000.0
        self.base_max = args.base_max_ms / 1000.0
        self.metrics = Metrics(args.variant)
        self.rng = random.Random(args.seed)
        self.rng_lock = threading.Lock()
        self.inject = {"latency_ms": 0.0, "error_rate": 0.0, "payment_fail": False}
        self.inject_lock = threading.Lock()

    def draw(self, journey):
        """(latency s, status code, payment outcome or None) for one request."""
        with self.inject_lock:
            inj = dict(self.inject)
        with self.rng_lock:
            lat = self.rng.uniform(self.base_min, self.base_max)
            fail = self.rng.random() < inj["error_rate"]
        lat += inj["latency_ms"] / 1000.0
        code = 500 if fail else 200
        payment = None
        if journey == "payments":
            payment = "failure" if (inj["payment_fail"] or fail) else "success"
        return lat, code, payment

    def set_inject(self, doc):
        with self.inject_lock:
            if "latency_ms" in doc:
                self.inject["latency_ms"] = max(0.0, float(doc["latency_ms"]))
            if "error_rate" in doc:
                self.inject["error_rate"] = min(1.0, max(0.0, float(doc["error_rate"])))
            if "payment_fail" in doc:
                self.inject["payment_fail"] = bool(doc["payment_fail"])
            return dict(self.inject)

    def reset(self):
        with self.inject_lock:
            self.inject = {"latency_ms": 0.0, "error_rate": 0.0, "payment_fail": False}
            return dict(self.inject)

    def self_load(self, rps):
        """Synthetic traffic: rps requests a second, in 100 ms steps."""
        carry = 0.0
        step = 0.1
        i = 0
        while True:
            t0 = time.monotonic()
            carry += rps * step
            while carry >= 1.0:
                carry -= 1.0
                j = JOURNEYS[i % len(JOURNEYS)]
                i += 1
                lat, code, payment = self.draw(j)
                self.metrics.observe(j, lat, code, payment)
            time.sleep(max(0.0, step - (time.monotonic() - t0)))


def make_handler(app):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Keep-alive plus Nagle and delayed ACK cost ~40 ms a request.
        disable_nagle_algorithm = True
        server_version = "shiproom-fixture/1"

        def log_message(self, fmt, *args):
            pass

        def send(self, code, body, ctype="text/plain; charset=utf-8"):
            data = body.encode("utf-8")
            self.send_response(code)
            self.send_header("X-Server", app.variant)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def body_json(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b"{}"
            return json.loads(raw.decode("utf-8") or "{}")

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                return self.send(200, app.metrics.render(), "text/plain; version=0.0.4")
            if path == "/admin/inject":
                with app.inject_lock:
                    return self.send(200, json.dumps(app.inject), "application/json")
            if path in ("/", "/health"):
                return self.send(200, "ok %s\n" % app.variant)
            journey = ROUTES.get(path)
            if journey is None:
                return self.send(404, "no such journey\n")
            t0 = time.monotonic()
            lat, code, payment = app.draw(journey)
            time.sleep(lat)
            app.metrics.observe(journey, time.monotonic() - t0, code, payment)
            self.send(code, "%s %s %s\n" % (journey, app.variant, "ok" if code == 200 else "error"))

        do_HEAD = do_GET

        def do_POST(self):
            path = self.path.split("?", 1)[0]
            try:
                if path == "/admin/inject":
                    return self.send(200, json.dumps(app.set_inject(self.body_json())),
                                     "application/json")
                if path == "/admin/reset":
                    self.body_json()
                    return self.send(200, json.dumps(app.reset()), "application/json")
            except (ValueError, TypeError) as e:
                return self.send(400, "bad request: %s\n" % e)
            if path in ROUTES:  # journeys answer POST too (apply/submit, pay)
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                return self.do_GET()
            self.send(404, "no such endpoint\n")

    return Handler


def main():
    ap = argparse.ArgumentParser(description="shiproom e2e fixture app")
    ap.add_argument("--variant", choices=["stable", "canary"], required=True)
    ap.add_argument("--port", type=int, default=0, help="0: pick a free port")
    ap.add_argument("--self-load", type=float, default=0.0, metavar="RPS",
                    help="synthetic requests per second (no sleeping)")
    ap.add_argument("--base-min-ms", type=float, default=20.0)
    ap.add_argument("--base-max-ms", type=float, default=40.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-seconds", type=float, default=0,
                    help="exit after this long (0: never); a safety net for tests")
    ap.add_argument("--owner-pid", type=int, default=0,
                    help="exit when this process is gone (the test that started us)")
    args = ap.parse_args()
    app = App(args)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(app))
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    if args.self_load > 0:
        threading.Thread(target=app.self_load, args=(args.self_load,), daemon=True).start()
    if args.max_seconds > 0:
        def watchdog():
            time.sleep(args.max_seconds)
            os._exit(0)
        threading.Thread(target=watchdog, daemon=True).start()
    if args.owner_pid > 0:
        def owner_watch():
            while True:
                try:
                    os.kill(args.owner_pid, 0)
                except ProcessLookupError:
                    os._exit(0)
                except PermissionError:
                    pass
                time.sleep(1)
        threading.Thread(target=owner_watch, daemon=True).start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
