#!/bin/sh
# tests/e2e/test_prometheus_e2e.sh [BUILD_DIR] - shiproom's Prometheus
# source against a real Prometheus scraping the fixture app.
#
# Starts, on loopback only: the app as a stable and a canary instance
# (tests/e2e/app.py, self-loaded), a real Prometheus scraping both every
# second (tests/e2e/prometheus.sh), and tests/e2e/prom_probe (built here
# against BUILD_DIR/libshiproom.a) polling the shipped policy's queries
# through the real source and engine every second (the rollout in its
# first phase, 5%, so the rollback triggers are armed). Then:
#   1. baseline: canary and control P95 both read in the app's 20-40 ms;
#   2. 200 ms injected into the canary: its P95 reads inside the bucket
#      that holds the true value (200-250 ms), control stays < 50 ms, the
#      cell is RED with samples from the samples query, and the
#      "P95 > 160 ms" trigger fires;
#   3. Prometheus stopped: every cell turns ERROR (keeping its last value)
#      or STALE, and none is ever OK or GREEN while it is down;
#   4. Prometheus restarted on the same data: the values come back.
# Every phase has a deadline; everything started is stopped on exit.
# A missing prometheus or python3 is a failure, not a skip.
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"

fail() {
	echo "not ok - prometheus e2e: $*" >&2
	exit 1
}
for tool in prometheus python3 curl pkg-config; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (make deps installs it)"
done

work=$(mktemp -d /tmp/sr-prom-e2e-XXXXXX)
app_pids=""
probe_pid=""
cleanup() {
	status=$?
	trap - EXIT INT TERM HUP
	[ -n "$probe_pid" ] && kill "$probe_pid" 2>/dev/null
	"$here/prometheus.sh" stop "$work/prom" 2>/dev/null || true
	for p in $app_pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "$status" -ne 0 ]; then
		echo "--- probe (last 40 lines)" >&2
		tail -40 "$work/probe.log" >&2 2>/dev/null || true
		cat "$work/probe.err" >&2 2>/dev/null || true
		echo "--- prometheus log" >&2
		tail -20 "$work/prom/prometheus.log" >&2 2>/dev/null || true
	fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
# prometheus.sh's watchdog stops Prometheus if this shell dies hard.
export SR_E2E_OWNER=$$

# ---- the probe -------------------------------------------------------------
# Built against the library `make` already built in BUILD_DIR; under
# `make asan` (SR_SANITIZED=1) with the same sanitizers as that library.
[ -f "$build/libshiproom.a" ] || fail "$build/libshiproom.a not built (run make first)"
probe_cc=${CC:-cc}
san=""
if [ -n "${SR_SANITIZED:-}" ]; then
	probe_cc=clang
	san="-fsanitize=address,undefined"
fi
probe=$work/prom_probe
# shellcheck disable=SC2046,SC2086
"$probe_cc" -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror $san \
	-Iinclude $(pkg-config --cflags libuv libcurl jansson) tests/e2e/prom_probe.c \
	"$build/libshiproom.a" $(pkg-config --libs ncursesw libuv libcurl jansson) -lm -o "$probe" ||
	fail "cannot build tests/e2e/prom_probe.c"

# ---- the apps --------------------------------------------------------------
start_app() { # variant -> prints its port
	out=$work/app-$1.out
	python3 "$here/app.py" --variant "$1" --port 0 --self-load 120 --seed 7 \
		--max-seconds 600 --owner-pid $$ >"$out" 2>"$work/app-$1.err" &
	app_pids="$app_pids $!"
	i=0
	until grep -q '^PORT ' "$out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 100 ] || fail "app $1 did not start: $(cat "$work/app-$1.err")"
		sleep 0.1
	done
	sed -n 's/^PORT //p' "$out"
}
# Not in $(...): a background job started in a subshell is not ours to kill.
start_app stable >"$work/stable.port"
start_app canary >"$work/canary.port"
stable_port=$(cat "$work/stable.port")
canary_port=$(cat "$work/canary.port")

# ---- Prometheus ------------------------------------------------------------
prom_port=$("$here/prometheus.sh" free-port)
"$here/prometheus.sh" start "$work/prom" "$prom_port" "127.0.0.1:$stable_port" \
	"127.0.0.1:$canary_port" || fail "cannot start prometheus"

# The policy's "source" object for Prometheus, as a user would write it.
# A 10 s rate window so the test is short; the samples queries give the
# latency and error KPIs real counts for min_samples.
cat >"$work/source.json" <<JSON
{
  "kind": "prometheus",
  "url": "http://127.0.0.1:$prom_port",
  "timeout_s": 2,
  "window": "10s",
  "control_value": "stable",
  "samples_queries": {
    "p95_latency": "sum by (journey, variant) (increase(http_request_duration_seconds_count{journey=~\"{{journeys}}\"}[{{window}}]))",
    "p99_latency": "sum by (journey, variant) (increase(http_request_duration_seconds_count{journey=~\"{{journeys}}\"}[{{window}}]))",
    "provider_dashboard_p95": "sum by (journey, variant) (increase(http_request_duration_seconds_count{journey=~\"{{journeys}}\"}[{{window}}]))",
    "error_rate_5xx": "sum by (variant) (increase(http_requests_total[{{window}}]))"
  }
}
JSON

# 300 polls: a bound even if this script is killed before its trap runs.
"$probe" config/shiproom.json "$work/source.json" --polls 300 --interval-ms 1000 \
	--stale-after-ms 4000 --phase 0 >"$work/probe.log" 2>"$work/probe.err" &
probe_pid=$!

# ---- checks over the probe's log ---------------------------------------------
# check MODE FROM [TO]: exit 0 and print the poll number when the log
# satisfies MODE (see the Python below), 1 otherwise.
check() {
	python3 - "$work/probe.log" "$@" <<'PY'
import sys
log, mode, frm = sys.argv[1], sys.argv[2], int(sys.argv[3])
to = int(sys.argv[4]) if len(sys.argv) > 4 else None
polls, cur = {}, None
for line in open(log, encoding="utf-8", errors="replace"):
    f = line.split()
    if not f:
        continue
    if f[0] == "POLL":
        cur = {"cells": {}, "trig": {}, "done": False}
        polls[int(f[1])] = cur
    elif f[0] == "CELL" and cur is not None:
        cur["cells"][(f[2], f[3])] = {"ck": f[4], "cv": float(f[5]), "xk": f[6],
                                     "xv": float(f[7]), "st": f[8], "n": float(f[9])}
    elif f[0] == "TRIG" and cur is not None:
        cur["trig"][f[2]] = f[3]
    elif f[0] == "END" and cur is not None:
        cur["done"] = True
P95 = ["search", "scholarship_detail", "application_start", "application_submit", "payments"]
def p95(p, j):
    return p["cells"][("p95_latency", j)]
def ok(n, p):
    if mode == "baseline":
        return all(p95(p, j)["ck"] == "OK" and p95(p, j)["xk"] == "OK" and
                   20 <= p95(p, j)["cv"] < 50 and 20 <= p95(p, j)["xv"] < 50 for j in P95)
    if mode == "injected":
        # The true canary P95 is ~239 ms (220-240 ms uniform): the
        # histogram reads it inside its bucket, (200, 250] ms.
        return all(p95(p, j)["ck"] == "OK" and 200 <= p95(p, j)["cv"] <= 250 and
                   p95(p, j)["xv"] < 50 and p95(p, j)["st"] == "RED" and p95(p, j)["n"] >= 50
                   for j in P95) and p["trig"].get("p95_over_160") == "firing"
    if mode == "down":
        return all(c["ck"] == "ERROR" for c in p["cells"].values())
    if mode == "recovered":
        return all(p95(p, j)["ck"] == "OK" and 200 <= p95(p, j)["cv"] <= 250 for j in P95)
    raise SystemExit("unknown mode " + mode)
if mode == "never_green":
    seen = 0
    for n in sorted(polls):
        p = polls[n]
        if n < frm or n > to or not p["done"]:
            continue
        seen += 1
        for key, c in p["cells"].items():
            if c["ck"] == "OK" or c["st"] == "GREEN":
                print("poll %d: %s %s is %s/%s while Prometheus is down" % (n, key[0], key[1], c["ck"], c["st"]), file=sys.stderr)
                sys.exit(1)
            if key[0] == "p95_latency" and c["st"] not in ("ERROR", "STALE"):
                print("poll %d: %s %s is %s" % (n, key[0], key[1], c["st"]), file=sys.stderr)
                sys.exit(1)
        # ERROR keeps the last value: the canary P95 still reads ~247 ms.
        if not 200 <= p95(p, "search")["cv"] <= 250:
            print("poll %d: last value lost: %r" % (n, p95(p, "search")), file=sys.stderr)
            sys.exit(1)
    print(seen)
    sys.exit(0 if seen >= 3 else 1)
for n in sorted(polls):
    if n >= frm and polls[n]["done"] and ok(n, polls[n]):
        print(n)
        sys.exit(0)
sys.exit(1)
PY
}

last_poll() {
	awk '$1 == "END" { n = $2 } END { print n + 0 }' "$work/probe.log"
}

# wait_for MODE FROM SECONDS: the first poll >= FROM satisfying MODE.
wait_for() {
	i=0
	while [ $i -lt $(($3 * 2)) ]; do
		kill -0 "$probe_pid" 2>/dev/null || fail "prom_probe died: $(cat "$work/probe.err")"
		if n=$(check "$1" "$2" 2>/dev/null); then
			echo "$n"
			return 0
		fi
		sleep 0.5
		i=$((i + 1))
	done
	fail "$1: not reached within $3 s (from poll $2)"
}

# 1. Baseline (the first scrape comes ~5 s after start: Prometheus's
#    service discovery batches its first update).
n=$(wait_for baseline 1 60)
echo "ok - baseline read at poll $n"

# 2. Inject canary latency.
curl -fsS -X POST -d '{"latency_ms": 200}' "http://127.0.0.1:$canary_port/admin/inject" \
	>/dev/null || fail "cannot inject latency"
from=$(($(last_poll) + 1))
n=$(wait_for injected "$from" 60)
echo "ok - canary P95 reads the injected 200 ms within its bucket, RED, trigger firing (poll $n)"

# 3. Stop Prometheus.
"$here/prometheus.sh" stop "$work/prom"
from=$(($(last_poll) + 2)) # a poll already in flight may still have been answered
n=$(wait_for down "$from" 20)
sleep 6
to=$(last_poll)
seen=$(check never_green "$from" "$to") || fail "a cell read OK/GREEN while Prometheus was down"
echo "ok - Prometheus down: $seen polls all ERROR/STALE, last values kept, never GREEN"

# 4. Restart on the same data and port.
"$here/prometheus.sh" start "$work/prom" "$prom_port" "127.0.0.1:$stable_port" \
	"127.0.0.1:$canary_port" || fail "cannot restart prometheus"
from=$(($(last_poll) + 1))
n=$(wait_for recovered "$from" 60)
echo "ok - Prometheus restarted: values back at poll $n"

# The probe ends cleanly on SIGTERM (under ASan: no leak, no error).
kill -TERM "$probe_pid"
rc=0
wait "$probe_pid" || rc=$?
probe_pid=""
[ "$rc" -eq 0 ] || fail "prom_probe exited with status $rc: $(tail -20 "$work/probe.err")"
echo "ok - prometheus e2e"
