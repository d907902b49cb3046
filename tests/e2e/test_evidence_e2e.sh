#!/bin/sh
# tests/e2e/test_evidence_e2e.sh [BUILD_DIR] - the evidence test of canary
# against control (shiproom.json(5), EVIDENCE) through a real Prometheus.
#
# Starts, on loopback only: the fixture app (tests/e2e/app.py) as a stable
# instance self-loaded at 760 requests/s and a canary at 40 (a 5% canary, enough
# for the P95 cell's min_samples in its 10 s window),
# both with latencies uniform in 34-101 ms (P95 about 97 ms), and
# Prometheus scraping both every second. The policy is the shipped worked
# example cut down by policy.py, so its evidence_queries (increase() of
# the latency histogram's +Inf bucket minus the boundary's bucket, and of
# the request counter) are what gets tested. tests/e2e/evidence_probe.c
# polls through the real Prometheus driver every 3 s and feeds the real
# engine:
#   1. canary identical to control for 30 s: the test never says worse,
#      and the boundary it counts slow requests above is a real bucket;
#   2. 18 ms injected into the canary (its P95 about 115 ms, under the
#      130 ms limit, which stays GREEN): the test says worse within 90 s.
# Every wait has a deadline; everything started is stopped on exit.
set -eu
[ -n "${SR_E2E_TRACE:-}" ] && set -x
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"
case "$build" in /*) ;; *) build=$top/$build ;; esac

fail() {
	echo "not ok - evidence e2e: $*" >&2
	exit 1
}
for tool in prometheus python3 curl timeout pkg-config; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (make deps installs it)"
done

work=$(mktemp -d /tmp/sr-evidence-e2e-XXXXXX)
app_pids=""
cleanup() {
	status=$?
	trap - EXIT INT TERM HUP
	"$here/prometheus.sh" stop "$work/prom" 2>/dev/null || true
	for p in $app_pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "$status" -ne 0 ]; then
		for f in "$work"/*.out "$work"/*.err; do
			[ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }
		done
		tail -20 "$work/prom/prometheus.log" >&2 2>/dev/null || true
	fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
export SR_E2E_OWNER=$$

# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
probe=$work/evidence_probe
e2e_build_probe tests/e2e/evidence_probe.c "$probe" "$build"

# ---- the apps and Prometheus ----------------------------------------------------
for v in stable canary; do
	rps=760
	[ "$v" = canary ] && rps=40
	e2e_start_app "$v" --self-load "$rps" --seed 11 --base-min-ms 34 --base-max-ms 101 \
		--max-seconds 600
done
stable_port=$(cat "$work/stable.port")
canary_port=$(cat "$work/canary.port")
prom_port=$("$here/prometheus.sh" free-port)
"$here/prometheus.sh" start "$work/prom" "$prom_port" "127.0.0.1:$stable_port" \
	"127.0.0.1:$canary_port" || fail "cannot start prometheus"
login=$(python3 -c 'import os, pwd; print(pwd.getpwuid(os.geteuid()).pw_name)')
python3 "$here/policy.py" "$work/policy.json" --prom "http://127.0.0.1:$prom_port" \
	--socket "unix:$work/none.sock" --login "$login" || fail "policy.py failed"

# A few scrapes first, so increase() has two samples in every window.
sleep 5

# ---- 1. A/A: no false alarm, real bucket queries answered -------------------------
timeout 60 "$probe" "$work/policy.json" p95_latency search 30 3 --expect none \
	>"$work/aa.out" 2>"$work/aa.err" || fail "A/A: $(tail -3 "$work/aa.out") $(cat "$work/aa.err")"
grep -q 'slower than 100ms' "$work/aa.out" ||
	fail "A/A: no step counted above the 100 ms bucket: $(tail -3 "$work/aa.out")"
grep -Eq 'step canary [1-9][0-9]*/' "$work/aa.out" ||
	fail "A/A: Prometheus gave no canary requests: $(tail -3 "$work/aa.out")"
echo "ok - evidence e2e: canary identical to control for 30 s, never worse ($(tail -1 "$work/aa.out"))"

# ---- 2. +18 ms on the canary: worse at 5 %, the limit still GREEN ------------------
curl -fsS -X POST -d '{"latency_ms": 18}' "http://127.0.0.1:$canary_port/admin/inject" \
	>/dev/null || fail "cannot inject"
timeout 120 "$probe" "$work/policy.json" p95_latency search 90 3 --expect worse \
	>"$work/shift.out" 2>"$work/shift.err" ||
	fail "shift: $(tail -3 "$work/shift.out") $(cat "$work/shift.err")"
last=$(grep '^poll' "$work/shift.out" | tail -1)
canary_p95=$(echo "$last" | sed -n 's/.*canary \([0-9.]*\)ms control.*/\1/p')
[ -n "$canary_p95" ] || fail "shift: no canary P95 in: $last"
python3 -c "import sys; v = float(sys.argv[1]); sys.exit(0 if 105 <= v <= 130 else 1)" \
	"$canary_p95" || fail "shift: canary P95 $canary_p95 ms is not in 105-130 ms: $last"
echo "$last" | grep -q ' GREEN; ' || fail "shift: the P95 limit is not GREEN: $last"
echo "ok - evidence e2e: P95 shifted to ${canary_p95} ms at 5%: $(tail -1 "$work/shift.out"); $(echo "$last" | sed 's/.*evidence: //')"
