#!/bin/sh
# bench/service_bench.sh [BUILD_DIR] - what the rollout service costs as
# consoles attach: Prometheus requests per refresh, the service's CPU and
# RSS, and bytes per second per client, with 1, 10 and 50 clients
# attached; and attach to first frame of a real console in tmux.
#
# The service runs the directive (config/prometheus-haproxy.json) against
# a counting stand-in for Prometheus on loopback (bench/prom_count.py),
# polling every 2 s, read-only (no edge). Clients are protocol clients
# reading every state as a console does (bench/service_clients.py). Each
# window is BENCH_SERVICE_SECONDS (default 20) of real time, all in one
# run: compare the rows, not absolute numbers. Nothing here asserts.
set -eu
build=${1:-build}
cd "$(dirname "$0")/.."
bin=$(pwd)/$build/shiproom
secs=${BENCH_SERVICE_SECONDS:-20}
work=$(mktemp -d /tmp/sr-bench-svc-XXXXXX)
srv=""
cleanup() {
	"$bin" stop --policy "$work/p.json" >/dev/null 2>&1 || true
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	for i in 1 2 3 4 5; do tmux -L "srbench$$-$i" kill-server >/dev/null 2>&1 || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

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
src, work, port = sys.argv[1:]
p = json.load(open(src))
p["source"]["url"] = "http://127.0.0.1:%s" % port
p.setdefault("evaluation", {})["poll_s"] = 2
p["evaluation"].pop("stale_after_s", None)
p["service"] = {"socket": work + "/svc.sock"}
json.dump(p, open(work + "/p.json", "w"), indent=1)
PY
# read-only: a service that polls and serves but has no edge to act on
pid=$("$bin" serve --detach --read-only --policy "$work/p.json" --state-dir "$work/state" |
	sed -n 's/.*service pid \([0-9]*\) .*/\1/p')
[ -n "$pid" ] || { echo "the service did not start" >&2; exit 1; }
sock=$work/svc.sock
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)

echo "clients  requests/refresh  refreshes  service CPU %  service RSS MiB  bytes/s per client  states/s per client"
for n in 0 1 10 50; do
	curl -fsS "http://127.0.0.1:$port/reset" >/dev/null
	c0=$(ticks)
	if [ "$n" -gt 0 ]; then
		python3 bench/service_clients.py "$sock" "$n" "$secs" >"$work/clients" &
		cl=$!
		sleep $((secs - 2))
		rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
		wait $cl
		set -- $(cat "$work/clients")
		bytes=$1 msgs=$2
	else
		sleep "$secs"
		rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
		bytes=0 msgs=0
	fi
	c1=$(ticks)
	set -- $(curl -fsS "http://127.0.0.1:$port/stats")
	req=$1 inst=$3
	python3 - "$n" "$req" "$inst" "$c0" "$c1" "$hz" "$secs" "$rss" "$bytes" "$msgs" <<'PY'
import sys
n, req, inst, c0, c1, hz, secs, rss, b, m = sys.argv[1:]
n, req, inst, secs = int(n), int(req), int(inst), float(secs)
cpu = (int(c1) - int(c0)) / int(hz) / secs * 100
per = "%.1f" % (req / inst) if inst else "-"
bps = "%.0f" % (int(b) / secs / n) if n else "-"
sps = "%.2f" % (int(m) / secs / n) if n else "-"
print("%7d  %16s  %9d  %12.2f  %15s  %18s  %19s" % (n, per, inst, cpu, rss, bps, sps))
PY
done

# attach to first frame: a real console in tmux, 120x40, five times
times=""
for i in 1 2 3 4 5; do
	# a new tmux server each time (one going away must not be reused)
	TM="tmux -u -L srbench$$-$i -f /dev/null"
	start=$(date +%s%N)
	$TM new-session -d -x 120 -y 40 "$bin attach --policy $work/p.json; sleep 30"
	until $TM capture-pane -p 2>/dev/null | grep -q "scholarship-canary"; do
		sleep 0.005
		[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 10000 ] || break
	done
	times="$times $(( ($(date +%s%N) - start) / 1000000 ))"
	$TM kill-server >/dev/null 2>&1 || true
done
echo "attach to first frame (tmux 120x40, ms, 5 runs):$times; median $(echo $times | tr ' ' '\n' | sort -n | sed -n 3p) ms"
