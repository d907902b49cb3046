#!/bin/sh
# bench/run.sh BUILD_DIR - run every benchmark in bench/ and print figures.
# Benchmarks are measured side by side in one run on a noisy shared
# machine: compare ratios, not absolute numbers. Nothing here asserts.
#
# The last two need a real Prometheus and HAProxy (`make deps` installs
# them; PROMETHEUS= and HAPROXY= name other binaries, as in tests/e2e/).
# When one is missing they are skipped, said on stdout. Each is bounded by
# timeout(1): a hung Prometheus never hangs `make bench`. The scripts clean
# up on SIGTERM (their trap stops what they started).
#   BENCH_ROLLBACK_RUNS  runs of the rollback benchmark (default 5)
#   BENCH_PROM_LIMIT     seconds allowed for prom_requests.sh (default 120)
#   BENCH_ROLLBACK_LIMIT seconds allowed for rollback_bench.sh (default 900)
#   BENCH_AA_DAYS        simulated days of the A/A run (default 100; the
#                        figures in bench/README.md are from 1000)
#   BENCH_LOAD_LIMIT     seconds allowed for poll_load.sh (default 600)
#   BENCH_ETCD_LIMIT     seconds allowed for etcd_bench.sh (default 300)
#   BENCH_FAILOVER_LIMIT seconds allowed for failover_bench.sh (default 600)
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1

echo "== engine: one full evaluation, directive policy, 50 journeys x 2 cohorts"
cc -std=c17 -O2 -Iinclude bench/eval_bench.c "$build/libshiproom.a" \
	$(pkg-config --libs ncursesw libuv jansson) -lm -ldl -o "$build/eval_bench" &&
	"$build/eval_bench" config/shiproom.json

echo "== engine: the same with the evidence test switched off (its cost is the difference)"
"$build/eval_bench" config/shiproom.json 5001 evidence-off

echo "== evidence: A/A false alarms over whole simulated days, and power against theory"
cc -std=c17 -O2 -Iinclude bench/evidence_bench.c "$build/libshiproom.a" \
	$(pkg-config --libs ncursesw libuv jansson) -lm -ldl -o "$build/evidence_bench" &&
	"$build/evidence_bench" power 2000 &&
	"$build/evidence_bench" aa config/shiproom.json config/scenarios/healthy.json \
		"${BENCH_AA_DAYS:-100}"
echo "== status: peak RSS and time of one answer, shipped policy, healthy scenario"
# --at T+350 replays the simulated rollout up to T+350 before answering;
# T-130 is the start of the plan. GNU time(1) gives the peak RSS.
if [ -x /usr/bin/time ]; then
	for at in T-130 T+350; do
		/usr/bin/time -f "status --at $at: %e s, peak RSS %M KiB" \
			"$build/shiproom" status --scenario healthy --at "$at" >/dev/null
	done
else
	echo "skipped: needs /usr/bin/time (Debian package time)"
fi

echo "== watch: idle wake-ups (voluntary context switches over 5 s at --speed 1)"
# Between two 15 s polls nothing is due: every wake-up is overhead.
"$build/shiproom" watch --scenario healthy --start T+30 --speed 1 --for 9 >/dev/null 2>&1 &
wpid=$!
sleep 2
wa=$(awk '/^voluntary_ctxt/{print $2}' /proc/$wpid/status 2>/dev/null)
sleep 5
wb=$(awk '/^voluntary_ctxt/{print $2}' /proc/$wpid/status 2>/dev/null)
wait $wpid
if [ -n "$wa" ] && [ -n "$wb" ]; then
	echo "watch: $((wb - wa)) wake-ups in 5 s"
else
	echo "watch: could not read /proc/$wpid/status"
fi

echo "== journal: the per-poll obs record, bytes per day at 6 and 50 journeys, decode time"
cc -std=c17 -O2 -Iinclude -Ibench bench/obsrec_bench.c "$build/libshiproom.a" \
	$(pkg-config --libs ncursesw libuv jansson) -lm -ldl -o "$build/obsrec_bench" &&
	"$build/obsrec_bench" config/shiproom.json
if command -v python3 >/dev/null 2>&1; then
	echo "== journal: the simulator's obs lines at 6 and 50 journeys, replay load time"
	bench/obsrec_day.sh "$build"
else
	echo "== journal: obsrec_day.sh skipped (no python3)"
fi

if [ -x bench/term_bench.sh ]; then
	echo "== terminal: bytes/s and CPU s/min, shiproom vs htop at 120x40"
	bench/term_bench.sh "$build/shiproom"
fi
if [ -x bench/redraw_bench.sh ]; then
	echo "== terminal: bytes of one full redraw (^L), shiproom vs htop at 120x40"
	bench/redraw_bench.sh "$build/shiproom"
fi
if [ -x bench/console_rss.sh ] && command -v python3 >/dev/null 2>&1; then
	echo "== memory: a console and its service at 50 journeys with 8 h of history"
	bench/console_rss.sh "$build/shiproom"
fi

have() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }

# bounded NAME SECONDS CMD...: run CMD under timeout(1), say when it ran out.
bounded() {
	name=$1 limit=$2
	shift 2
	timeout --kill-after=30 "$limit" "$@"
	rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "$name: stopped after ${limit} s (BENCH_*_LIMIT raises the bound)"
	elif [ $rc -ne 0 ]; then
		echo "$name: exit $rc"
	fi
}

echo "== the rollout service: Prometheus requests, CPU, RSS and bytes with 0/1/10/50 clients; attach"
if have python3 && have curl && have tmux; then
	bounded service_bench.sh "${BENCH_SERVICE_LIMIT:-300}" sh bench/service_bench.sh "$build"
else
	echo "skipped: needs python3, curl and tmux"
fi

echo "== prometheus: HTTP requests per refresh, directive policy at 6 and 60 journeys"
if have python3 && have curl; then
	bounded prom_requests.sh "${BENCH_PROM_LIMIT:-120}" sh bench/prom_requests.sh "$build"
else
	echo "skipped: needs python3 and curl"
fi

echo "== auto-rollback: injected regression -> HAProxy reads canary weight 0"
if have python3 && have curl && have "${PROMETHEUS:-prometheus}" && have "${HAPROXY:-haproxy}"; then
	bounded rollback_bench.sh "${BENCH_ROLLBACK_LIMIT:-900}" \
		sh bench/rollback_bench.sh "$build" "${BENCH_ROLLBACK_RUNS:-5}"
else
	echo "skipped: needs python3, curl, prometheus and haproxy (make deps installs them)"
fi

echo "== polling load: Prometheus queries a minute, healthy and during a pending breach"
if have python3 && have curl && have "${PROMETHEUS:-prometheus}" && have "${HAPROXY:-haproxy}"; then
	bounded poll_load.sh "${BENCH_LOAD_LIMIT:-600}" sh bench/poll_load.sh "$build" 60
else
	echo "skipped: needs python3, curl, prometheus and haproxy (make deps installs them)"
fi

echo "== etcd: one journal append (txn, 3 members on loopback) against an fsynced file append"
if have etcd && have curl && have python3; then
	bounded etcd_bench.sh "${BENCH_ETCD_LIMIT:-300}" sh bench/etcd_bench.sh "$build" 1000
else
	echo "skipped: needs etcd, curl and python3 (make deps installs etcd-server)"
fi

echo "== fail-over: kill -9 the leader of a rollout kept in etcd, the standby's first record"
if have etcd && have etcdctl && have python3; then
	bounded failover_bench.sh "${BENCH_FAILOVER_LIMIT:-600}" sh bench/failover_bench.sh "$build" 5 "2 5"
else
	echo "skipped: needs etcd, etcdctl and python3 (make deps installs etcd-server and etcd-client)"
fi
