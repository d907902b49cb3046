#!/usr/bin/env python3
"""policy.py - the end-to-end tests' policy, made from the shipped worked
example config/prometheus-haproxy.json (so the example is what gets
tested), cut down to what the fixture app serves and sped up:

  policy.py OUT --prom URL --socket SOCKET --login LOGIN [--auto-rollback]
            [--token-env VAR] [--poll-s N] [--window DUR]

(--poll-s and --window: the benchmark's directive timing, 15 and 1m;
stale after three polls as in the shipped policy.)

- the KPIs the app exports: P95 and P99 by journey, the 5xx rate, payment
  success and the payment failure streak (the others would read NODATA
  and hold every gate); the 5xx query gains "or ... * 0" because the app
  exports no 5xx series until errors are injected;
- one poll a second, a 10 s rate window, stale after 3 s, 1-minute
  observation windows, every day a business day from 00:00 to 23:59 (so
  the test does not depend on the hour it runs at);
- LOGIN (the process owner) as Release DRI and gate approver;
- the fixture's control cohort is labelled variant="stable".
"""
import argparse
import json
import os
import sys

KEEP = ["p95_latency", "p99_latency", "error_rate_5xx", "payment_success",
        "payment_failure_streak"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--prom", required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--login", required=True)
    ap.add_argument("--auto-rollback", action="store_true")
    ap.add_argument("--rollout", default="e2e")
    ap.add_argument("--token-env", default="",
                    help="send a bearer token from this environment variable")
    ap.add_argument("--poll-s", type=int, default=1)
    ap.add_argument("--window", default="10s")
    a = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    base = os.path.join(here, "..", "..", "config", "prometheus-haproxy.json")
    p = json.load(open(base, encoding="utf-8"))

    p["rollout"] = a.rollout
    p["evaluation"] = {"poll_s": a.poll_s, "stale_after_s": 3 * a.poll_s, "clear_after": 1,
                       "auto_rollback": a.auto_rollback}
    src = p["source"]
    src["url"] = a.prom
    src["timeout_s"] = 2
    src["window"] = a.window
    if a.token_env:
        src["bearer_token_env"] = a.token_env
    src["samples_queries"] = {k: v for k, v in src["samples_queries"].items() if k in KEEP}
    src["evidence_queries"] = {k: v for k, v in src["evidence_queries"].items() if k in KEEP}
    p["edge"]["socket"] = a.socket
    p["edge"]["backend"] = "app"
    p["edge"]["canary_server"] = "canary"
    p["edge"]["stable_server"] = "stable"

    p["kpis"] = [k for k in p["kpis"] if k["id"] in KEEP]
    for k in p["kpis"]:
        if k["id"] == "error_rate_5xx":
            k["query"] = ("100 * (sum by (variant) (rate(http_requests_total{code=~\"5..\"}[{{window}}]))"
                          " or sum by (variant) (rate(http_requests_total[{{window}}])) * 0)"
                          " / sum by (variant) (rate(http_requests_total[{{window}}]))")
    p["groups"] = [g for g in p["groups"] if g["id"] in ("reliability", "payments")]
    for t in p["triggers"]:
        if "kpis" in t:
            t["kpis"] = [k for k in t["kpis"] if k in KEEP]
    crit = []
    for c in p["success"]["criteria"]:
        kpis = [k for k in c.get("kpis", []) if k in KEEP]
        if kpis:
            c["kpis"] = kpis
            crit.append(c)
    p["success"]["criteria"] = crit

    for i, ph in enumerate(p["phases"]):
        ph["start_min"] = i
        ph["observe_min"] = 1
        ph["cadence_min"] = 0
    for g in p["gates"]:
        g.pop("at_min", None)
    cal = p["calendar"]
    cal["workdays"] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
    cal["business_hours"] = {"start": "00:00", "end": "23:59"}
    cal["end_of_day"] = "23:59"
    p["roster"] = {"release_dri": [a.login], "gate_approver": [a.login, "approver"],
                   "exec": ["ceo"], "observer": ["observer"]}
    json.dump(p, open(a.out, "w", encoding="utf-8"), indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
