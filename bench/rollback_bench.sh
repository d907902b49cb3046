#!/bin/sh
# bench/rollback_bench.sh [BUILD_DIR] [RUNS] - the time from injecting a
# canary regression to the canary's weight reaching 0 under auto_rollback,
# with a real Prometheus and a real HAProxy on loopback, next to its floor.
#
# The set-up is the end-to-end test's (tests/e2e/): the fixture app as
# stable and canary (120 requests/s of self-load each, 20 per journey),
# Prometheus scraping both every second, HAProxy in front, and the e2e
# policy (policy.py: the shipped example cut to what the app serves; a
# 10 s rate window, one poll a second, auto_rollback: true). Each run: a
# fresh rollout promoted to 5% by `shiproom act`, `shiproom watch` running,
# then 200 ms added to every canary request; the clock stops when HAProxy
# itself reads the canary's weight as 0 (polled every 20 ms over the
# Runtime API).
#
# The worst cases: the P95 of the rate window crosses the 160 ms limit
# once the slow requests are more than 5% of the window (0.05 x 10 s =
# 0.5 s after the injection; 3 s with a 1 m window); Prometheus sees it
# at the first scrape after that, up to a scrape interval later; a
# free-running poll reads it up to a poll interval after that (scrape +
# poll + crossing), a scrape-aligned one (poll_schedule.h) a settle time
# of about 0.25 s after the scrape (scrape + crossing + settle). A run is
# faster when the scrape happens to fall right after the crossing.
# Nothing here asserts. The set-up is bench/lib_e2e.sh.
#
# The timing is the e2e one unless the environment says otherwise:
# BENCH_SCRAPE_S (Prometheus' scrape_interval, default 1), BENCH_POLL_S
# (the policy's poll_s, default 1) and BENCH_WINDOW (the rate window,
# default 10s). The directive's own timing with a typical scrape:
#   BENCH_SCRAPE_S=15 BENCH_POLL_S=15 BENCH_WINDOW=1m bench/rollback_bench.sh build 10
set -eu
build=${1:-build}
runs=${2:-5}
cd "$(dirname "$0")/.."
. bench/lib_e2e.sh

: >"$work/times"
r=1
while [ $r -le "$runs" ]; do
	curl -fsS -X POST "http://127.0.0.1:$cp/admin/reset" >/dev/null
	clean
	S=$work/state$r
	start_rollout "$S"
	# The watch starts at any moment of the scrape cycle (else the
	# clean-data check above, which ends just after a scrape, would line
	# the polls up with the scrapes by accident).
	sleep "$(python3 -c "import random; print('%.3f' % random.uniform(0, $scrape))")"
	"$bin" watch --for $((2 * limit + 3 * poll)) --policy "$pol" --state-dir "$S" >"$work/watch$r.log" 2>&1 &
	w=$!
	i=0
	until grep -q "HOLD: observing" "$work/watch$r.log" 2>/dev/null; do
		i=$((i + 1)); [ $i -le 100 ] || { echo "watch did not start" >&2; exit 1; }
		sleep 0.1
	done
	# Steady state: the watch has polled a few times (a real guard has
	# run for hours; a scrape-aligned one has learned the rhythm).
	sleep $((2 * poll))
	# Any phase of the scrape and poll cycles: a random wait over a whole
	# poll interval (and a whole scrape interval).
	sleep "$(python3 -c "import random; print('%.3f' % random.uniform(0, max(1, $poll, $scrape)))")"
	python3 bench/prom_cross.py "http://127.0.0.1:$pp" "${window}s" 160 "$limit" >"$work/cross$r" &
	probe=$!
	t0=$(now)
	curl -fsS -X POST -d '{"latency_ms": 200}' "http://127.0.0.1:$cp/admin/inject" >/dev/null
	i=0
	while [ "$(weight)" != 0 ]; do
		i=$((i + 1)); [ $i -le $((15 * limit)) ] || { echo "no rollback within about $limit s" >&2; exit 1; }
		sleep 0.02
	done
	t1=$(now)
	kill -TERM "$w"
	wait "$w" || true
	wait "$probe" || true
	# total, and the part the data took (injection -> Prometheus answers
	# P95 > 160 ms: bench/prom_cross.py); "nan" if the probe saw none
	python3 -c "import sys; c = sys.argv[3]; print('%.2f %s' % (float(sys.argv[2]) - float(sys.argv[1]), '%.2f' % (float(c) - float(sys.argv[1])) if c != 'none' else 'nan'))" "$t0" "$t1" "$(cat "$work/cross$r")" >>"$work/times"
	echo "run $r: $(tail -1 "$work/times" | awk '{print $1 " s (the data: " $2 " s)"}')"
	r=$((r + 1))
done
curl -fsS -X POST "http://127.0.0.1:$cp/admin/reset" >/dev/null
python3 - "$work/times" "$scrape" "$poll" "$window" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
t = [float(r[0]) for r in rows]
data = [float(r[1]) for r in rows]
ours = [a - b for a, b in zip(t, data) if b == b]
scrape, poll, window = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
cross = 0.05 * window
floor = scrape + poll + cross
aligned = scrape + cross + 0.25
print("injection -> canary weight 0 (read from HAProxy), %d runs at a %.0f s scrape: min %.2f s, median %.2f s, max %.2f s"
      % (len(t), scrape, min(t), statistics.median(t), max(t)))
print("runs: " + " ".join("%.2f" % x for x in t))
print("of which the data (injection -> Prometheus answers P95 > 160 ms, bench/prom_cross.py): "
      + " ".join("%.2f" % x for x in data))
if ours:
    print("the console's part (that answer -> HAProxy at 0): min %.2f s, median %.2f s, max %.2f s"
          % (min(ours), statistics.median(ours), max(ours)))
print("worst case, free-running polls: scrape %.0f s + poll %.0f s + P95 crossing %.1f s (5%% of a %.0f s window) = %.1f s"
      % (scrape, poll, cross, window, floor))
print("worst case, scrape-aligned polls: scrape %.0f s + P95 crossing %.1f s + settle 0.25 s = %.2f s"
      % (scrape, cross, aligned))
PY
