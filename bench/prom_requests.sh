#!/bin/sh
# bench/prom_requests.sh [BUILD_DIR] - Prometheus HTTP requests per refresh
# for the directive policy (config/prometheus-haproxy.json, the shipped
# directive pointed at Prometheus) at its 6 journeys and at 60.
#
# Each refresh is one `shiproom status` (one poll of the source) against a
# counting stand-in for Prometheus on loopback (bench/prom_count.py): it
# answers every /api/v1/query with an empty vector and counts requests,
# TCP connections, and distinct `time` parameters. The 60-journey policy
# is the same policy with 54 more journeys added to every per-journey KPI.
# The figure the design promises: one query per KPI (and one per samples
# query), whatever the number of journeys - never one per tile - all at
# one instant, over reused connections. Nothing here asserts.
set -eu
build=${1:-build}
cd "$(dirname "$0")/.."
bin=$build/shiproom
work=$(mktemp -d /tmp/sr-bench-prom-XXXXXX)
srv=""
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$work"' EXIT INT TERM

python3 bench/prom_count.py --port-file "$work/port" --count-file "$work/count" &
srv=$!
i=0
until [ -s "$work/port" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || { echo "prom_count.py did not start" >&2; exit 1; }
	sleep 0.1
done
port=$(cat "$work/port")

python3 - config/prometheus-haproxy.json "$work" "$port" <<'PY'
import json, sys
src, work, port = sys.argv[1], sys.argv[2], sys.argv[3]
p = json.load(open(src))
p["source"]["url"] = "http://127.0.0.1:%s" % port
json.dump(p, open(work + "/p6.json", "w"), indent=1)
extra = ["journey_%02d" % i for i in range(7, 61)]
p["journeys"] += [{"id": j, "name": j, "read_heavy": False} for j in extra]
for k in p["kpis"]:
    if k.get("journeys") and k["id"] != "cache_hit_ratio":
        k["journeys"] = k["journeys"] + [j for j in extra]
json.dump(p, open(work + "/p60.json", "w"), indent=1)
PY

echo "policy                      journeys  KPIs  cells  requests/refresh  distinct queries  connections  instants"
for n in 6 60; do
	pol=$work/p$n.json
	summary=$("$bin" check-config "$pol")
	kpis=$(echo "$summary" | sed -n 's/.*ok (\([0-9]*\) KPIs.*/\1/p')
	cells=$(echo "$summary" | sed -n 's/.* KPIs, \([0-9]*\) cells.*/\1/p')
	: >"$work/count"
	curl -fsS "http://127.0.0.1:$port/reset" >/dev/null
	"$bin" status --policy "$pol" --state-dir "$work/state$n" >/dev/null 2>&1 || true
	set -- $(curl -fsS "http://127.0.0.1:$port/stats")
	printf "%-27s %8s %5s %6s %17s %17s %12s %9s\n" "directive, $n journeys" "$n" "$kpis" "$cells" "$1" "$4" "$2" "$3"
done
