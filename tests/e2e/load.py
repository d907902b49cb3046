#!/usr/bin/env python3
"""load.py - send a bounded number of requests through a URL and count
which server answered each (its X-Server header).

  load.py URL -n 1000 [-c 8] [--timeout-s 60] [--cookie 'SRV=canary']
          [--sticky]

Prints one JSON object: {"total": N, "ok": N, "errors": N,
"by_server": {"stable": N, "canary": N}, "seconds": S}. Exits 1 if any
request failed or the time bound was hit before N requests were sent.

--cookie sends that Cookie header on every request (a client holding a
sticky cookie). --sticky makes each worker keep the cookies it is given,
like a browser. Every worker keeps one keep-alive connection (reopened
when the server closes it). Standard library only.
"""
import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse


def worker(url, todo, lock, out, deadline, cookie, sticky):
    u = urllib.parse.urlsplit(url)
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    conn = None
    jar = {}
    if cookie:
        for part in cookie.split(";"):
            if "=" in part:
                k, v = part.strip().split("=", 1)
                jar[k] = v
    while time.monotonic() < deadline:
        with lock:
            if todo[0] <= 0:
                break
            todo[0] -= 1
        try:
            if conn is None:
                conn = http.client.HTTPConnection(u.hostname, u.port or 80,
                                                  timeout=max(1.0, deadline - time.monotonic()))
            headers = {}
            if jar:
                headers["Cookie"] = "; ".join("%s=%s" % kv for kv in sorted(jar.items()))
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            r.read()
            server = r.getheader("X-Server") or "(none)"
            if sticky:
                for k, v in r.getheaders():
                    if k.lower() == "set-cookie":
                        name, _, rest = v.partition("=")
                        jar[name.strip()] = rest.split(";", 1)[0]
            with lock:
                out["total"] += 1
                if 200 <= r.status < 300:
                    out["ok"] += 1
                else:
                    out["errors"] += 1
                out["by_server"][server] = out["by_server"].get(server, 0) + 1
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            with lock:
                out["total"] += 1
                out["errors"] += 1
            if conn is not None:
                conn.close()
            conn = None
    if conn is not None:
        conn.close()


def main():
    ap = argparse.ArgumentParser(description="bounded load, counted by X-Server")
    ap.add_argument("url")
    ap.add_argument("-n", type=int, default=1000, help="requests to send")
    ap.add_argument("-c", type=int, default=8, help="concurrent workers")
    ap.add_argument("--timeout-s", type=float, default=60.0, help="bound on the whole run")
    ap.add_argument("--cookie", default="", help="Cookie header for every request")
    ap.add_argument("--sticky", action="store_true", help="keep cookies the server sets")
    args = ap.parse_args()

    todo = [args.n]
    lock = threading.Lock()
    out = {"total": 0, "ok": 0, "errors": 0, "by_server": {}}
    t0 = time.monotonic()
    deadline = t0 + args.timeout_s
    threads = [threading.Thread(target=worker,
                                args=(args.url, todo, lock, out, deadline, args.cookie, args.sticky))
               for _ in range(max(1, args.c))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["seconds"] = round(time.monotonic() - t0, 3)
    print(json.dumps(out, sort_keys=True))
    sys.exit(0 if out["errors"] == 0 and out["total"] == args.n else 1)


if __name__ == "__main__":
    main()
