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
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1

echo "== engine: one full evaluation, directive policy, 50 journeys x 2 cohorts"
cc -std=c17 -O2 -Iinclude bench/eval_bench.c "$build/libshiproom.a" \
	$(pkg-config --libs ncursesw libuv libcurl jansson) -lm -o "$build/eval_bench" &&
	"$build/eval_bench" config/shiproom.json

echo "== journal: the per-poll obs record, bytes per day at 6 and 50 journeys, decode time"
cc -std=c17 -O2 -Iinclude -Ibench bench/obsrec_bench.c "$build/libshiproom.a" \
	$(pkg-config --libs ncursesw libuv libcurl jansson) -lm -o "$build/obsrec_bench" &&
	"$build/obsrec_bench" config/shiproom.json

if [ -x bench/term_bench.sh ]; then
	echo "== terminal: bytes/s and CPU s/min, shiproom vs htop at 120x40"
	bench/term_bench.sh "$build/shiproom"
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
