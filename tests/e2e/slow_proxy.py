#!/usr/bin/env python3
"""slow_proxy.py - a HAProxy Runtime API proxy that can stall, so a test
can kill shiproom in the middle of an edge call (between the journal's
intent and its outcome) at a chosen point.

  slow_proxy.py --upstream 127.0.0.1:PORT --mode-file FILE [--owner-pid PID]

Listens on a free loopback port (first stdout line: "PORT <n>"). Each
connection carries one command line, as the non-interactive Runtime API
does. What happens to it depends on the mode file's content, read per
connection:

  (absent or empty)  forward, relay the reply at once;
  all                never forward: the command does not reach HAProxy
                     (a crash before the edge moved);
  read               forward every command, but stall the replies to
                     "get ..." and "show ..." (a crash after the edge
                     moved, before the read-back and the outcome);
  maint              never forward "set server .../canary state maint"
                     (a rollback cut between its steps: the stable is at
                     100, the canary keeps its weight and takes traffic);
  late               forward "set server .../canary weight N" 1.5 s late,
                     even when the client has gone (an answer after the timeout, or a
                     crash, that still takes effect).

A stalled connection is held for 120 s, or until the client goes away.
"""
import argparse
import os
import socket
import sys
import threading
import time


def upstream_call(addr, line):
    s = socket.create_connection(addr, timeout=5)
    s.sendall(line)
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out


def stall(conn):
    conn.settimeout(1.0)
    end = time.monotonic() + 120
    while time.monotonic() < end:
        try:
            if conn.recv(1) == b"":
                return  # the client is gone (killed)
        except socket.timeout:
            continue
        except OSError:
            return


def handle(conn, addr, mode_file):
    try:
        line = b""
        conn.settimeout(10)
        while b"\n" not in line:
            b = conn.recv(4096)
            if not b:
                break
            line += b
        try:
            mode = open(mode_file).read().strip()
        except OSError:
            mode = ""
        cmd = line.strip().decode("ascii", "replace")
        if mode == "all" or (mode == "maint" and cmd.endswith("/canary state maint")):
            stall(conn)
            return
        if mode == "late" and cmd.startswith("set ") and "/canary weight" in cmd:
            time.sleep(1.5)  # lands whether the client is still there or not
        reply = upstream_call(addr, line)
        if mode == "read" and (cmd.startswith("get ") or cmd.startswith("show ")):
            stall(conn)
            return
        conn.sendall(reply)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--mode-file", required=True)
    ap.add_argument("--owner-pid", type=int, default=0)
    a = ap.parse_args()
    host, port = a.upstream.rsplit(":", 1)
    addr = (host, int(port))
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    print("PORT %d" % ls.getsockname()[1], flush=True)
    if a.owner_pid:
        def watch():
            while True:
                try:
                    os.kill(a.owner_pid, 0)
                except OSError:
                    os._exit(0)
                time.sleep(1)
        threading.Thread(target=watch, daemon=True).start()
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=handle, args=(conn, addr, a.mode_file), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
