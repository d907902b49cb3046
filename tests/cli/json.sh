#!/bin/sh
# tests/cli/json.sh BIN - `shiproom status --json` is valid JSON with the
# documented keys, NaN as null, and a verdict that matches the exit code.
set -u
bin=${1:-build/shiproom}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# every cell of the shipped policy, as check-config counts them
ncells=$("$bin" check-config "$here/../../config/shiproom.json" | sed -n 's/.* KPIs, \([0-9]*\) cells.*/\1/p')
for at in T-100 T+95 T+132; do
	"$bin" status --json --scenario p95-regression-25 --at "$at" >"$tmp/out.json" 2>"$tmp/err"
	rc=$?
	if python3 -m json.tool "$tmp/out.json" >/dev/null 2>&1; then
		ok "--json at $at parses"
	else
		bad "--json at $at does not parse"
		continue
	fi
	if python3 - "$tmp/out.json" "$rc" "$ncells" <<'PY'; then ok "--json at $at has the documented keys and values"; else bad "--json at $at keys/values"; fi
import json, sys
d = json.load(open(sys.argv[1]))
rc = int(sys.argv[2])
ncells = int(sys.argv[3])
need = ["rollout", "policy_hash", "now", "t_rel_min", "phase", "weight", "state", "next_gate",
        "decision", "cells", "triggers", "approvals", "success", "preflight_open"]
missing = [k for k in need if k not in d]
assert not missing, missing
codes = {"GO": 0, "HOLD": 3, "ROLLBACK": 4, "ESCALATE": 5}
assert codes[d["decision"]["verdict"]] == rc, (d["decision"]["verdict"], rc)
assert isinstance(d["decision"]["reasons"], list) and d["decision"]["reasons"]
assert len(d["policy_hash"]) == 16
assert len(d["cells"]) == ncells, (len(d["cells"]), ncells)
for c in d["cells"]:
    for k in ["kpi", "journey", "status", "canary", "control", "limit", "samples", "age_s", "reason", "breach_s"]:
        assert k in c, k
    assert c["status"] in ("GREEN", "YELLOW", "NODATA", "STALE", "ERROR", "RED")
    assert c["canary"] is None or isinstance(c["canary"], (int, float))
for t in d["triggers"]:
    assert t["state"] in ("armed", "pending", "firing")
assert set(d["success"]) >= {"ready", "criteria"}
if d["t_rel_min"] < 0:
    # before T-0 the canary has no traffic: null, never NaN or 0
    assert d["phase"] is None and d["weight"] == 0
    assert all(c["canary"] is None for c in d["cells"]), "canary before T-0 must be null"
    assert d["state"] == "preflight"
if d["t_rel_min"] == 132:
    fired = [t["id"] for t in d["triggers"] if t["state"] == "firing"]
    assert "p95_over_160" in fired, fired
    assert d["weight"] == 25 and d["phase"] == "25%"
PY
done

# Text never contains "nan"; JSON never contains NaN/Infinity.
if "$bin" status --json --scenario metrics-stale --at T+95 | grep -Eq 'NaN|Infinity'; then
	bad "--json contains NaN or Infinity"
else
	ok "--json has no NaN or Infinity"
fi
finish
