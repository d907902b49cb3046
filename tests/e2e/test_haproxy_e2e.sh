#!/bin/sh
# tests/e2e/test_haproxy_e2e.sh [BUILD_DIR] - shiproom's HAProxy edge and
# its journal against a real HAProxy 2.6 in front of the fixture app, at
# the driver's level (the binary's own end-to-end test, through `shiproom
# act`, is test_shiproom_e2e.sh): both socket kinds, the sticky cookie at
# weight 0 without maint (why a rollback needs maint), 5/25/50 splits.
#
# Starts, on loopback only: the app as a stable and a canary instance
# (tests/e2e/app.py), HAProxy with one backend, cookie stickiness and the
# Runtime API on a unix socket and a TCP port (tests/e2e/haproxy.sh), and
# moves the weights with tests/e2e/edge_probe (built here against
# BUILD_DIR/libshiproom.a: the real driver and the real journal). Then:
#   1. promote 5 -> 25 -> 50: after each, 1000 requests without cookies,
#      counted by X-Server, within +-1 percentage point of the weight;
#   2. a client holding the canary's sticky cookie reaches the canary,
#      and still does at weight 0 alone (why rollback also sets maint);
#   3. rollback (weight 0 + maint): 0 % to the canary, the cookie client
#      included; resume puts the canary back to ready;
#   4. kill -9 after the edge moved but before the outcome, and kill -9
#      before the edge call: start-up reconciliation records what HAProxy
#      really shows;
#   5. HAProxy stopped: the action fails visibly after exactly 3 attempts,
#      and the journal holds the intent and the failure.
# Every step is bounded; everything started is stopped on exit. A missing
# haproxy or python3 is a failure, not a skip.
set -eu
[ -n "${SR_E2E_TRACE:-}" ] && set -x
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"

fail() {
	echo "not ok - haproxy e2e: $*" >&2
	exit 1
}
for tool in haproxy python3 pkg-config timeout; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (make deps installs it)"
done

work=$(mktemp -d /tmp/sr-hap-e2e-XXXXXX)
app_pids=""
cleanup() {
	status=$?
	trap - EXIT INT TERM HUP
	"$here/haproxy.sh" stop "$work/hap" 2>/dev/null || true
	for p in $app_pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "$status" -ne 0 ]; then
		echo "--- journal" >&2
		cat "$work/state/journal.jsonl" >&2 2>/dev/null || true
		echo "--- haproxy log" >&2
		tail -20 "$work/hap/haproxy.log" >&2 2>/dev/null || true
	fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
# haproxy.sh's watchdog stops HAProxy if this shell dies hard; the apps
# watch --owner-pid.
export SR_E2E_OWNER=$$

# ---- the probe -------------------------------------------------------------
# Built against the library `make` already built in BUILD_DIR (never
# rebuilt from here: under `make asan` that would mix flags); under
# `make asan` (SR_SANITIZED=1) with the same sanitizers as that library.
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
probe=$work/edge_probe
e2e_build_probe tests/e2e/edge_probe.c "$probe" "$build"

# ---- the apps and HAProxy ----------------------------------------------------
for v in stable canary; do
	e2e_start_app "$v" --base-min-ms 0.5 --base-max-ms 1 --max-seconds 600
done
front=$("$here/haproxy.sh" free-port)
stats=$("$here/haproxy.sh" free-port)
"$here/haproxy.sh" start "$work/hap" "$front" "$stats" "$(cat "$work/stable.port")" \
	"$(cat "$work/canary.port")" || fail "cannot start haproxy"

# The policy's "edge" objects, as a user would write them.
edge_obj() { # socket
	printf '{"kind":"haproxy","socket":"%s","backend":"app","canary_server":"canary","stable_server":"stable","timeout_ms":2000}' "$1"
}
EDGE_UNIX=$(edge_obj "unix:$work/hap/admin.sock")
EDGE_TCP=$(edge_obj "tcp:127.0.0.1:$stats")
J=$work/state

edge() { # EDGE_JSON args... -> the probe's output; bounded in time
	timeout 30 "$probe" "$@"
}

expect_ok() { # expected-weight EDGE_JSON args...
	want=$1
	shift
	out=$(edge "$@") || fail "edge_probe $*: $out"
	case "$out" in
	"ok weight=$want attempts=1") ;;
	*) fail "edge_probe $*: expected weight $want, got: $out" ;;
	esac
}

# count N [--cookie C] -> prints "canary total" for N requests through HAProxy
count() {
	n=$1
	shift
	res=$(python3 "$here/load.py" "http://127.0.0.1:$front/search" -n "$n" -c 8 \
		--timeout-s 60 "$@") || fail "load through haproxy failed: $res"
	echo "$res" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["by_server"].get("canary", 0), d["ok"])'
}

# split WEIGHT: 1000 cookieless requests, canary within +-1 point (10 requests)
split() {
	set -- $(count 1000)
	c=$1
	total=$2
	[ "$total" -eq 1000 ] || fail "only $total of 1000 requests succeeded"
	lo=$(($want_w * 10 - 10))
	hi=$(($want_w * 10 + 10))
	[ "$c" -ge "$lo" ] && [ "$c" -le "$hi" ] ||
		fail "at weight $want_w%: $c of 1000 to the canary (want $lo..$hi)"
	echo "ok - split at $want_w%: $c of 1000 requests to the canary"
}

sticky() { # N expected-canary-count
	set -- "$1" "$2" $(count "$1" --cookie "SRV=canary")
	[ "$3" -eq "$2" ] || fail "cookie client: $3 of $1 to the canary, want $2"
}

# ---- 1. promote: the real split ----------------------------------------------
for want_w in 5 25 50; do
	expect_ok "$want_w" "$EDGE_TCP" set "$want_w" --journal "$J" --reason "gate to $want_w%"
	split
done
expect_ok 50 "$EDGE_UNIX" get

# ---- 2. the sticky cookie, and why weight 0 alone is not a rollback ------------
expect_ok 25 "$EDGE_UNIX" set 25
sticky 100 100
echo "ok - a client holding SRV=canary reaches the canary at 25%"
expect_ok 0 "$EDGE_UNIX" set 0
want_w=0
split
sticky 100 100
echo "ok - at weight 0 without maint the cookie client still reaches the canary"

# ---- 3. rollback: weight 0 AND maint, cookie client included ------------------
expect_ok 25 "$EDGE_UNIX" set 25
expect_ok 0 "$EDGE_UNIX" set 0 --drain --journal "$J" --reason "P95 > 160 ms"
want_w=0
split
sticky 200 0
echo "ok - rollback: 0 of 200 cookie-holding requests reach the canary"
# resume: back to ready, stickiness works again
expect_ok 5 "$EDGE_UNIX" set 5 --journal "$J" --reason "resume after fix"
want_w=5
split
sticky 100 100
echo "ok - resume: the canary is ready again"

# ---- 4. crash between intent and outcome, then start-up reconciliation ---------
# after the edge moved: HAProxy shows 25, the journal has no outcome
set +e
edge "$EDGE_UNIX" set 25 --journal "$J" --crash-after-edge >/dev/null 2>&1
st=$?
set -e
[ "$st" -eq 137 ] || fail "edge_probe --crash-after-edge exited $st, expected a SIGKILL"
expect_ok 25 "$EDGE_UNIX" get
out=$(edge "$EDGE_UNIX" reconcile --journal "$J") || fail "reconcile: $out"
case "$out" in
"reconciled sr-"*" action=promote applied=yes weight=25") ;;
*) fail "reconcile after the edge moved: $out" ;;
esac
# before the edge call: HAProxy still shows 25, the intent said 50
set +e
edge "$EDGE_UNIX" set 50 --journal "$J" --crash-after-intent >/dev/null 2>&1
st=$?
set -e
[ "$st" -eq 137 ] || fail "edge_probe --crash-after-intent exited $st, expected a SIGKILL"
out=$(edge "$EDGE_UNIX" reconcile --journal "$J") || fail "reconcile: $out"
case "$out" in
"reconciled sr-"*" action=promote applied=no weight=25") ;;
*) fail "reconcile before the edge moved: $out" ;;
esac
out=$(edge "$EDGE_UNIX" reconcile --journal "$J")
[ "$out" = "nothing pending" ] || fail "a second reconcile found: $out"
echo "ok - kill -9 between intent and outcome: reconciled with HAProxy's real weight"

# ---- 5. HAProxy unreachable: visible failure, bounded attempts, journaled ------
"$here/haproxy.sh" stop "$work/hap"
set +e
out=$(edge "$EDGE_TCP" set 0 --drain --attempts 3 --backoff-ms 100 --journal "$J" \
	--reason "rollback with the edge down")
st=$?
set -e
[ "$st" -eq 1 ] || fail "edge call with HAProxy down exited $st: $out"
n=$(echo "$out" | grep -c '^attempt [12]/3 failed: haproxy tcp:127.0.0.1:[0-9]*: connect: connection refused$' || true)
[ "$n" -eq 2 ] || fail "expected 2 retried attempts, got: $out"
echo "$out" | grep -q '^failed weight=-1 attempts=3: haproxy tcp:127.0.0.1:[0-9]*: connect: connection refused$' ||
	fail "expected a final failure after 3 attempts, got: $out"
out=$(edge "$EDGE_UNIX" get --attempts 1) && fail "get with HAProxy down succeeded: $out"
echo "ok - HAProxy down: failed after exactly 3 attempts"

# ---- the journal tells the whole story ------------------------------------------
python3 - "$J/journal.jsonl" <<'PY' || fail "journal check failed"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
assert lines[-1] == "", "the journal must end with a newline"
ev = [json.loads(l) for l in lines[:-1]]
seqs = [e["seq"] for e in ev]
assert seqs == list(range(1, len(ev) + 1)), seqs
for e in ev:
    for k in ("seq", "at", "wall", "type", "actor"):
        assert k in e, (k, e)
kinds = [(e["type"], e.get("action"), e.get("weight"), e.get("result")) for e in ev]
# promote 5, 25, 50; rollback; resume to 5; crash after edge (25) + reconcile ok;
# crash before edge (50) + reconcile failed; rollback with HAProxy down
want = [
    ("intent", "promote", 5, None), ("outcome", "promote", 5, "ok"),
    ("intent", "promote", 25, None), ("outcome", "promote", 25, "ok"),
    ("intent", "promote", 50, None), ("outcome", "promote", 50, "ok"),
    ("intent", "rollback", 0, None), ("outcome", "rollback", 0, "ok"),
    ("intent", "promote", 5, None), ("outcome", "promote", 5, "ok"),
    ("intent", "promote", 25, None), ("reconcile", "promote", 25, "ok"),
    ("intent", "promote", 50, None), ("reconcile", "promote", 25, "failed"),
    ("intent", "rollback", 0, None), ("outcome", "rollback", -1, "failed"),
]
assert kinds == want, "\n".join(map(str, kinds))
# every outcome names its intent's key
for i in range(0, len(ev), 2):
    assert ev[i]["key"] == ev[i + 1]["key"], (ev[i], ev[i + 1])
assert ev[6]["drain"] is True and ev[6]["reason"] == "P95 > 160 ms"
last = ev[-1]
assert last["attempts"] == 3, last
assert "connection refused" in last["error"], last
print("ok - the journal: %d records, intents paired with outcomes or reconciles" % len(ev))
PY
echo "ok - haproxy e2e"
