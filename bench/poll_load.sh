#!/bin/sh
# bench/poll_load.sh [BUILD_DIR] [SECONDS] - what the guard costs
# Prometheus: /api/v1/query requests a minute from one `shiproom watch`,
# in a healthy steady state and while a breach is pending (the fast rate
# of poll_schedule.h), counted by Prometheus itself
# (prometheus_http_requests_total{handler="/api/v1/query"}).
#
# The set-up is the rollback benchmark's (bench/lib_e2e.sh; the same
# BENCH_SCRAPE_S, BENCH_POLL_S, BENCH_WINDOW), without auto_rollback. The
# pending breach: 100 ms added to every canary request puts its P95 near
# 140 ms - RED at 5% (limit 130 ms), a breach clock running, within the
# margin of the 160 ms trigger - for longer than the count (the 5-minute
# rule cannot fire within it). Each count covers SECONDS (default 120)
# after the watch has run six poll intervals (healthy: the rhythm learned
# and settled) or after the first RED (pending). Nothing here asserts.
set -eu
build=${1:-build}
secs=${2:-120}
cd "$(dirname "$0")/.."
BENCH_AUTO_ROLLBACK=0
. bench/lib_e2e.sh

queries() {
	curl -fsS "http://127.0.0.1:$pp/metrics" |
		awk '/^prometheus_http_requests_total\{.*handler="\/api\/v1\/query"/ {s += $NF} END {print s + 0}'
}
per_min() { python3 -c "print('%.1f' % (($2 - $1) * 60.0 / $secs))"; }

curl -fsS -X POST "http://127.0.0.1:$cp/admin/reset" >/dev/null
clean
S=$work/state
start_rollout "$S"
"$bin" watch --for $((4 * secs + 10 * poll)) --policy "$pol" --state-dir "$S" >"$work/watch.log" 2>&1 &
pids="$pids $!"
# Settled: learned (second poll), three aligned polls that found their
# scrape; from then on the rhythm costs one query every eighth poll.
sleep $((6 * poll + 1))
q0=$(queries)
sleep "$secs"
q1=$(queries)
curl -fsS -X POST -d '{"latency_ms": 100}' "http://127.0.0.1:$cp/admin/inject" >/dev/null
i=0
until grep -q "P95 RED" "$work/watch.log" 2>/dev/null; do
	i=$((i + 1)); [ $i -le $((10 * limit)) ] || { echo "no breach: $(tail -3 "$work/watch.log")" >&2; exit 1; }
	sleep 0.1
done
q2=$(queries)
sleep "$secs"
q3=$(queries)
grep -q "firing" "$work/watch.log" && echo "note: a trigger fired during the count" >&2
curl -fsS -X POST "http://127.0.0.1:$cp/admin/reset" >/dev/null
echo "scrape ${scrape}s, poll_s ${poll}, window ${window}s, $secs s counts ($build)"
echo "healthy steady state: $(per_min "$q0" "$q1") queries/min"
echo "pending breach:       $(per_min "$q2" "$q3") queries/min"
grep "polling:" "$work/watch.log" | sed 's/^/  /' || true
