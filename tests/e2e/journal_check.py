#!/usr/bin/env python3
"""journal_check.py - the invariants of a rollout journal kept in etcd.

Usage: journal_check.py ENDPOINTS PREFIX [--expect-final-weight N]

Reads every record under PREFIX/j/ with etcdctl (JSON output, base64) and
checks what must hold whatever was killed or paused on the way:

  - the keys are PREFIX/j/<seq, 20 digits>, the record's seq is its key's,
    and the seqs run 1..N without a gap or a duplicate;
  - every intent has exactly one outcome or reconcile for its key, and no
    outcome or reconcile is for an unknown key or comes twice;
  - a forwarded request (its id in "request") is carried out at most once:
    at most one intent or one-record action carries each id;
  - the leaders' terms ("term": the leader key's create revision) never go
    back in seq order: no two leaders' records interleave (records merged
    from a break-glass spool carry "spooled" and are exempt);
  - every line is a JSON object with seq, at, wall, type, actor.

Prints one line per finding and a summary; exit 0 when all hold.
"""
import base64
import json
import subprocess
import sys


def records(endpoints, prefix):
    out = subprocess.run(
        ["etcdctl", "--endpoints=" + endpoints, "--command-timeout=10s", "get", "--prefix",
         prefix + "/j/", "-w", "json"],
        check=True, capture_output=True, env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"},
    ).stdout
    doc = json.loads(out)
    for kv in doc.get("kvs", []):
        yield base64.b64decode(kv["key"]).decode(), base64.b64decode(kv.get("value", "")).decode()


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    endpoints, prefix = sys.argv[1], sys.argv[2].rstrip("/")
    expect_weight = None
    if "--expect-final-weight" in sys.argv:
        expect_weight = int(sys.argv[sys.argv.index("--expect-final-weight") + 1])
    problems = []
    recs = []
    for key, value in records(endpoints, prefix):
        try:
            seq_from_key = int(key[len(prefix) + 3:])
        except ValueError:
            problems.append(f"key {key!r} is not a journal key")
            continue
        try:
            o = json.loads(value)
        except ValueError as e:
            problems.append(f"{key}: not JSON ({e})")
            continue
        for f in ("seq", "at", "wall", "type", "actor"):
            if f not in o:
                problems.append(f"{key}: no {f}")
        if o.get("seq") != seq_from_key:
            problems.append(f"{key}: record says seq {o.get('seq')}")
        recs.append((seq_from_key, o))
    recs.sort(key=lambda r: r[0])
    for i, (seq, _) in enumerate(recs):
        if seq != i + 1:
            problems.append(f"seq {seq} at position {i + 1}: a gap or a duplicate")
            break
    open_intents, closed, requests = {}, set(), {}
    last_term, last_term_seq = 0, 0
    last_weight = None
    for seq, o in recs:
        t = o.get("type")
        k = o.get("key")
        if t == "intent":
            if k in open_intents or k in closed:
                problems.append(f"seq {seq}: intent key {k} used twice")
            open_intents[k] = seq
        elif t in ("outcome", "reconcile"):
            if k not in open_intents:
                problems.append(f"seq {seq}: {t} for {k}, which has no open intent"
                                f"{' (closed already)' if k in closed else ''}")
            else:
                del open_intents[k]
                closed.add(k)
                if (t == "outcome" and o.get("result") == "ok") or \
                   (t == "reconcile" and o.get("result") == "ok"):
                    w = o.get("weight")
                    if isinstance(w, int) and w >= 0:
                        last_weight = w
        rq = o.get("request")
        if rq and t != "outcome":
            if rq in requests:
                problems.append(f"seq {seq}: request {rq} carried out again (first at seq "
                                f"{requests[rq]})")
            requests[rq] = seq
        term = o.get("term", 0)
        if term and "spooled" not in o:
            if term < last_term:
                problems.append(f"seq {seq}: term {term} after term {last_term} (seq "
                                f"{last_term_seq}): two leaders' records interleave")
            else:
                last_term, last_term_seq = term, seq
    for k, seq in open_intents.items():
        problems.append(f"intent {k} (seq {seq}) has no outcome and no reconcile")
    if expect_weight is not None and last_weight is not None and last_weight != expect_weight:
        problems.append(f"the edge reads {expect_weight}%, the last outcome says {last_weight}%")
    terms = sorted({o.get("term") for _, o in recs if o.get("term")})
    for p in problems:
        print("journal_check: " + p)
    print(f"journal_check: {len(recs)} records, {len(closed)} actions closed, "
          f"{len(requests)} forwarded requests, {len(terms)} leader terms, "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
