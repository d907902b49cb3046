#!/usr/bin/env python3
"""tests/cli/gen_policy.py N [BASE] - the shipped policy at N journeys.

Prints config/shiproom.json (or BASE) with journeys added up to N
(journey_006 ... "Journey 006") and every per-journey KPI measured on all
of them; the global KPIs stay one cell each. Used by tests/cli/many.sh,
tests/screen/run.sh and bench/ for the 50- and 500-journey figures."""
import json
import os
import sys

n = int(sys.argv[1])
here = os.path.dirname(os.path.abspath(__file__))
base = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "..", "config", "shiproom.json")
with open(base) as f:
    p = json.load(f)
journeys = p["journeys"]
for j in range(len(journeys), n):
    journeys.append({"id": "journey_%03d" % j, "name": "Journey %03d" % j, "read_heavy": False})
ids = [j["id"] for j in journeys]
for k in p["kpis"]:
    if k.get("journeys"):
        k["journeys"] = ids
json.dump(p, sys.stdout, indent=1)
sys.stdout.write("\n")
