#!/usr/bin/env python3
"""webhook_receiver.py - a Slack/Mattermost-style incoming webhook on loopback.

Used by tests/unit/test_notify.c (and by hand, to watch what shiproom posts).
It binds 127.0.0.1 on an ephemeral port (or --port) and prints
"PORT <n>" as the first line of stdout. Every request is appended to a
JSONL log (--log) *before* it is answered:

    {"n": 1, "method": "POST", "path": "/hooks/T0/B0/xyz",
     "content_type": "application/json", "json": {...} | null,
     "raw": "<body when it is not JSON>", "answer": 200 | 500 | "hang"}

Answers, in order of precedence:
  --hang-first N      the first N posts are read and never answered (the
                      connection stays open until the receiver exits)
  --fail-first N      the next N posts get --fail-code (default 500) with
                      a Slack-like body ("internal_error")
  --retry-after V     the failures carry "Retry-After: V" (Slack sends it
                      with its 429 rate limit)
  otherwise           200 "ok", as Slack answers

Validation like Slack's: a body that is not a JSON object with a "text"
or "attachments" key gets 400 "invalid_payload" (logged with that answer),
so a test of the payload shape cannot pass by accident.

  --exit-on-stdin-eof   exit when stdin closes (the test's end of a pipe),
                        so a crashed test leaves no receiver behind
  --max-seconds S       exit after S seconds whatever happens
  --verbose             print one line per post to stderr
"""
import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STOP = threading.Event()
STATE = {"n": 0, "hang": 0, "fail": 0, "code": 500, "log": None, "verbose": False}


def log_event(ev):
    with LOCK:
        if STATE["log"]:
            with open(STATE["log"], "a", encoding="utf-8") as f:
                f.write(json.dumps(ev) + "\n")
                f.flush()
    if STATE["verbose"]:
        text = ""
        if isinstance(ev.get("json"), dict):
            text = str(ev["json"].get("text", ""))[:100]
        print(f"#{ev['n']} {ev['path']} -> {ev['answer']}: {text}", file=sys.stderr)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the JSONL log is the record
        pass

    def answer(self, code, body, retry_after=None):
        data = body.encode()
        self.send_response(code)
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def do_GET(self):
        self.answer(200, "webhook receiver: POST here\n")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        with LOCK:
            STATE["n"] += 1
            n = STATE["n"]
            if STATE["hang"] > 0:
                STATE["hang"] -= 1
                mode = "hang"
            elif STATE["fail"] > 0:
                STATE["fail"] -= 1
                mode = "fail"
            else:
                mode = "ok"
        ev = {
            "n": n,
            "method": "POST",
            "path": self.path,
            "content_type": self.headers.get("Content-Type", ""),
        }
        try:
            ev["json"] = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            ev["json"] = None
            ev["raw"] = body.decode("utf-8", "replace")
        payload = ev["json"]
        valid = isinstance(payload, dict) and ("text" in payload or "attachments" in payload)
        if mode == "hang":
            ev["answer"] = "hang"
            log_event(ev)
            # Read, never answer: the client must time out on its own.
            while not STOP.wait(0.2):
                pass
            return
        if mode == "fail":
            ev["answer"] = STATE["code"]
            log_event(ev)
            self.answer(STATE["code"], "internal_error", STATE.get("retry_after"))
            return
        if not valid:
            ev["answer"] = 400
            log_event(ev)
            self.answer(400, "invalid_payload")
            return
        ev["answer"] = 200
        log_event(ev)
        self.answer(200, "ok")


def watch_stdin():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except OSError:
        pass
    STOP.set()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", default=None)
    ap.add_argument("--hang-first", type=int, default=0)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--fail-code", type=int, default=500)
    ap.add_argument("--retry-after", default=None)
    ap.add_argument("--exit-on-stdin-eof", action="store_true")
    ap.add_argument("--max-seconds", type=float, default=0)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    STATE.update(hang=args.hang_first, fail=args.fail_first, code=args.fail_code,
                 retry_after=args.retry_after,
                 log=args.log, verbose=args.verbose)

    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    print(f"PORT {srv.server_address[1]}", flush=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    if args.exit_on_stdin_eof:
        threading.Thread(target=watch_stdin, daemon=True).start()
    deadline = time.monotonic() + args.max_seconds if args.max_seconds > 0 else None
    try:
        while not STOP.wait(0.2):
            if deadline and time.monotonic() > deadline:
                break
    except KeyboardInterrupt:
        pass
    STOP.set()
    srv.shutdown()
    os._exit(0)


if __name__ == "__main__":
    main()
