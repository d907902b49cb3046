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
# The floor: scrape interval + poll interval + the time the P95 of the
# rate window needs to cross the 160 ms limit (the slow requests must be
# more than 5% of the window: 0.05 x 10 s = 0.5 s). That is the worst case
# of the pipeline; a run is faster when the scrape and the poll happen to
# fall right after the crossing. Nothing here asserts.
#
# The timing is the e2e one unless the environment says otherwise:
# BENCH_SCRAPE_S (Prometheus' scrape_interval, default 1), BENCH_POLL_S
# (the policy's poll_s, default 1) and BENCH_WINDOW (the rate window,
# default 10s). The directive's own timing with a typical scrape:
#   BENCH_SCRAPE_S=15 BENCH_POLL_S=15 BENCH_WINDOW=1m bench/rollback_bench.sh build 10
set -eu
build=${1:-build}
runs=${2:-5}
scrape=${BENCH_SCRAPE_S:-1}
export SR_E2E_SCRAPE_S=$scrape
cd "$(dirname "$0")/.."
top=$(pwd)
bin=$top/$build/shiproom
e2e=$top/tests/e2e
work=$(mktemp -d /tmp/sr-bench-rb-XXXXXX)
pids=""
cleanup() {
	trap - EXIT INT TERM
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	"$e2e/prometheus.sh" stop "$work/prom" 2>/dev/null || true
	"$e2e/haproxy.sh" stop "$work/hap" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export SR_E2E_OWNER=$$
login=$(python3 -c 'import os, pwd; print(pwd.getpwuid(os.geteuid()).pw_name)')
now() { python3 -c 'import time; print("%.3f" % time.time())'; }

for v in stable canary; do
	python3 "$e2e/app.py" --variant "$v" --port 0 --self-load 120 --seed 7 --max-seconds 1800 \
		--owner-pid $$ >"$work/$v.out" 2>/dev/null &
	pids="$pids $!"
done
for v in stable canary; do
	i=0
	until grep -q '^PORT ' "$work/$v.out" 2>/dev/null; do
		i=$((i + 1)); [ $i -le 100 ] || { echo "app $v did not start" >&2; exit 1; }
		sleep 0.1
	done
done
sp=$(sed -n 's/^PORT //p' "$work/stable.out")
cp=$(sed -n 's/^PORT //p' "$work/canary.out")
pp=$("$e2e/prometheus.sh" free-port)
"$e2e/prometheus.sh" start "$work/prom" "$pp" "127.0.0.1:$sp" "127.0.0.1:$cp"
fp=$("$e2e/haproxy.sh" free-port)
st=$("$e2e/haproxy.sh" free-port)
"$e2e/haproxy.sh" start "$work/hap" "$fp" "$st" "$sp" "$cp"
pol=$work/policy.json
python3 "$e2e/policy.py" "$pol" --prom "http://127.0.0.1:$pp" --socket "unix:$work/hap/admin.sock" \
	--login "$login" --auto-rollback --poll-s "${BENCH_POLL_S:-1}" --window "${BENCH_WINDOW:-10s}"
poll=$(python3 -c "import json; print(json.load(open('$pol'))['evaluation']['poll_s'])")
window=$(python3 -c "import json; w = json.load(open('$pol'))['source']['window']; print(int(w[:-1]) * (60 if w.endswith('m') else 1))")
# How long a run may take before it counts as a failure: four times the
# free-running worst case, and no less than a minute.
limit=$(python3 -c "print(max(60, int(4 * ($scrape + $poll + 0.05 * $window))))")

weight() {
	python3 - "$work/hap/admin.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"get weight app/canary\n")
print(s.recv(200).split()[0].decode())
PY
}
clean() { # wait until status reads every cell GREEN
	i=0
	while [ $i -lt $((2 * limit)) ]; do
		if "$bin" status --json --policy "$pol" --state-dir "$work/none" 2>/dev/null |
			python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if all(c["status"]=="GREEN" for c in d["cells"]) else 1)'; then
			return 0
		fi
		sleep 0.5
		i=$((i + 1))
	done
	echo "data never clean" >&2
	exit 1
}

: >"$work/times"
r=1
while [ $r -le "$runs" ]; do
	curl -fsS -X POST "http://127.0.0.1:$cp/admin/reset" >/dev/null
	clean
	S=$work/state$r
	"$bin" act tick --checklist preflight --item roster_posted --yes --t0 -1 --policy "$pol" --state-dir "$S" >/dev/null 2>&1
	for item in region_posted security_signoff dashboards_ready; do
		"$bin" act tick --checklist preflight --item "$item" --yes --policy "$pol" --state-dir "$S" >/dev/null 2>&1
	done
	"$bin" act promote --yes --policy "$pol" --state-dir "$S" >/dev/null 2>&1 || { echo "promote failed" >&2; exit 1; }
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
	python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$t1" >>"$work/times"
	echo "run $r: $(tail -1 "$work/times") s"
	r=$((r + 1))
done
curl -fsS -X POST "http://127.0.0.1:$cp/admin/reset" >/dev/null
python3 - "$work/times" "$scrape" "$poll" "$window" <<'PY'
import statistics, sys
t = [float(x) for x in open(sys.argv[1])]
scrape, poll, window = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
cross = 0.05 * window
floor = scrape + poll + cross
print("injection -> canary weight 0 (read from HAProxy), %d runs at a %.0f s scrape: min %.2f s, median %.2f s, max %.2f s"
      % (len(t), scrape, min(t), statistics.median(t), max(t)))
print("runs: " + " ".join("%.2f" % x for x in t))
print("free-running worst case: scrape %.0f s + poll %.0f s + P95 crossing %.1f s (5%% of a %.0f s window) = %.1f s"
      % (scrape, poll, cross, window, floor))
PY
