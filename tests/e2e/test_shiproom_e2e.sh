#!/bin/sh
# tests/e2e/test_shiproom_e2e.sh [BUILD_DIR] - the real `shiproom` binary
# against a real Prometheus and a real HAProxy, end to end.
#
# Starts, on loopback only: the fixture app as a stable and a canary
# instance (tests/e2e/app.py, self-loaded so the metrics do not depend on
# the split), Prometheus scraping both every second, HAProxy in front of
# them with cookie stickiness and the Runtime API. The policies are the
# shipped example config/prometheus-haproxy.json cut down by policy.py to
# what the app serves. Every step goes through BUILD_DIR/shiproom:
#   1. `status --json` reads canary and control P95 in the app's 20-50 ms
#      (a read-only status writes no journal);
#   2. `act tick` x4 and `act promote --yes`: HAProxy reads 5 %, and 1000
#      requests through HAProxy, counted by X-Server, are within 1 point;
#   3. 200 ms injected into the canary: `status --json` reads its P95 in
#      the bucket of the true value (200-250 ms), control < 50 ms, RED,
#      the "P95 > 160 ms" trigger firing, exit 4 (ROLLBACK);
#   4. HAProxy unreachable (another rollout, a dead port): the promote
#      fails visibly after 3 attempts with back-off, exit 1; the journal
#      holds the intent and the failure;
#   5. after the 1-minute window, with the gate approved by someone else
#      (our own approval is refused: the promoter may not approve), `act
#      promote` to 25 %: the split is 25 % +- 1 point;
#   6. `act rollback`: 0 % to the canary, a client holding the canary's
#      sticky cookie included (maint);
#   7. kill -9 between intent and outcome (a Runtime API proxy stalls the
#      call): before the edge moved, and after it moved; the next start
#      reconciles the journal with HAProxy's real weight; a call that
#      lands 1.5 s late (after the crash) is waited for, not recorded as
#      failed; the rollout's service killed mid-rollback is reconciled by
#      its restart;
#   8. auto_rollback: the rollout's service (`shiproom serve`) on a policy
#      with auto_rollback learns the 1 s scrape rhythm ("polling: aligned
#      1s"); the
#      injected regression fires the trigger and the canary reaches weight
#      0 and maint, read back from HAProxy (the time it took is printed);
#   9. Prometheus stopped: `status` shows every cell ERROR, a running
#      read-only `watch` turns the P95 cells ERROR (a failing fetch is
#      ERROR; STALE is the same age without an error), never GREEN, also
#      past stale_after; restarted, they come back GREEN;
#  10. the journal tells the whole story, `replay --status` rebuilds it,
#      and the bearer token sent to Prometheus appears nowhere;
#  11. never blind (prom_proxy.py in front of Prometheus, KPIs over [1h]):
#      a Prometheus that hangs before T-0 makes every cell ERROR and the
#      promote to 5% is refused; a `warnings` answer reads YELLOW "partial
#      data"; a proxy echoing the token shows it nowhere; the canary's
#      exporter killed, its cells read STALE; the journal moved away under
#      a running watch is noticed at once and written no more.
# Every wait has a deadline; everything started is stopped on exit. A
# missing prometheus, haproxy or python3 is a failure, not a skip.
set -eu
[ -n "${SR_E2E_TRACE:-}" ] && set -x
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"
bin=$top/$build/shiproom
case "$build" in /*) bin=$build/shiproom ;; esac

fail() {
	echo "not ok - shiproom e2e: $*" >&2
	exit 1
}
for tool in prometheus haproxy python3 curl timeout; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (make deps installs it)"
done
[ -x "$bin" ] || fail "$bin not built (run make first)"

work=$(mktemp -d /tmp/sr-e2e-XXXXXX)
# the rollout services this test starts listen here, and only here
SHIPROOM_RUNTIME_DIR=$work/run
export SHIPROOM_RUNTIME_DIR
app_pids=""
bg_pids=""
cleanup() {
	status=$?
	trap - EXIT INT TERM HUP
	for p in $bg_pids; do kill "$p" 2>/dev/null || true; done
	"$here/prometheus.sh" stop "$work/prom" 2>/dev/null || true
	"$here/haproxy.sh" stop "$work/hap" 2>/dev/null || true
	for p in $app_pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "$status" -ne 0 ]; then
		for f in "$work"/*.out "$work"/*.err "$work"/*.log; do
			[ -s "$f" ] || continue
			echo "--- $f (last 15 lines)" >&2
			tail -15 "$f" >&2
		done
		echo "--- prometheus log" >&2
		tail -10 "$work/prom/prometheus.log" >&2 2>/dev/null || true
	fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
# The helper scripts' watchdogs stop Prometheus, HAProxy, the apps and
# the proxy if this shell dies hard.
export SR_E2E_OWNER=$$
# A bearer token for Prometheus (which ignores it): it must never show.
SECRET="sr-e2e-secret-$$-$(date +%s)"
export SR_E2E_PROM_TOKEN="$SECRET"
login=$(python3 -c 'import os, pwd; print(pwd.getpwuid(os.geteuid()).pw_name)')

now() { python3 -c 'import time; print("%.3f" % time.time())'; }
elapsed() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

# ---- the apps, Prometheus, HAProxy -------------------------------------------------
start_app() { # variant -> its port in $work/VARIANT.port
	out=$work/app-$1.out
	python3 "$here/app.py" --variant "$1" --port 0 --self-load 120 --seed 7 \
		--max-seconds 900 --owner-pid $$ >"$out" 2>"$work/app-$1.err" &
	app_pids="$app_pids $!"
	i=0
	until grep -q '^PORT ' "$out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 100 ] || fail "app $1 did not start: $(cat "$work/app-$1.err")"
		sleep 0.1
	done
	sed -n 's/^PORT //p' "$out" >"$work/$1.port"
}
start_app stable
start_app canary
stable_port=$(cat "$work/stable.port")
canary_port=$(cat "$work/canary.port")
prom_port=$("$here/prometheus.sh" free-port)
"$here/prometheus.sh" start "$work/prom" "$prom_port" "127.0.0.1:$stable_port" \
	"127.0.0.1:$canary_port" || fail "cannot start prometheus"
front=$("$here/haproxy.sh" free-port)
stats=$("$here/haproxy.sh" free-port)
"$here/haproxy.sh" start "$work/hap" "$front" "$stats" "$stable_port" "$canary_port" ||
	fail "cannot start haproxy"

# start_proxy NAME SCRIPT UPSTREAM: a misbehaving proxy, its behaviour in
# $work/NAME.mode; prints its port
start_proxy() {
	: >"$work/$1.mode"
	python3 "$here/$2" --upstream "$3" --mode-file "$work/$1.mode" \
		--owner-pid $$ >"$work/$1.out" 2>"$work/$1.err" &
	bg_pids="$bg_pids $!"
	i=0
	until grep -q '^PORT ' "$work/$1.out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 100 ] || fail "$2 did not start: $(cat "$work/$1.err")"
		sleep 0.1
	done
	sed -n 's/^PORT //p' "$work/$1.out"
}
# The stalling Runtime API proxy (step 7).
start_proxy proxy slow_proxy.py "127.0.0.1:$stats" >"$work/proxy.port"
proxy_port=$(cat "$work/proxy.port")
dead_port=$("$here/haproxy.sh" free-port)

mkpolicy() { # OUT SOCKET [extra args]
	out=$1 sock=$2
	shift 2
	python3 "$here/policy.py" "$out" --prom "http://127.0.0.1:$prom_port" --socket "$sock" \
		--login "$login" --token-env SR_E2E_PROM_TOKEN "$@" || fail "policy.py failed"
	"$bin" check-config "$out" >/dev/null || fail "the e2e policy does not load"
}
P1=$work/p1.json S1=$work/s1
P2=$work/p2.json S2=$work/s2
P3=$work/p3.json S3=$work/s3
P4=$work/p4.json S4=$work/s4
mkpolicy "$P1" "unix:$work/hap/admin.sock"
mkpolicy "$P2" "unix:$work/hap/admin.sock" --auto-rollback
mkpolicy "$P3" "tcp:127.0.0.1:$dead_port"
mkpolicy "$P4" "tcp:127.0.0.1:$proxy_port"

# ---- helpers --------------------------------------------------------------------------
sr() { # the binary, bounded in time
	timeout 60 "$bin" "$@"
}

inject() { # JSON for the canary
	curl -fsS -X POST -d "$1" "http://127.0.0.1:$canary_port/admin/inject" >/dev/null ||
		fail "cannot inject $1"
}
reset_canary() {
	curl -fsS -X POST "http://127.0.0.1:$canary_port/admin/reset" >/dev/null || fail "cannot reset"
}

# hap, hap_weight, hap_maint: lib.sh
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

# check_status MODE FILE RC: does one `status --json` answer satisfy MODE?
check_status() {
	python3 - "$@" <<'PY'
import json, sys
mode, path, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = json.load(open(path))
P95 = ["search", "scholarship_detail", "application_start", "application_submit", "payments"]
cells = {(c["kpi"], c["journey"]): c for c in d["cells"]}
p95 = [cells[("p95_latency", j)] for j in P95]
trig = {t["id"]: t["state"] for t in d["triggers"]}
def num(v):
    return v if isinstance(v, (int, float)) else float("nan")
if mode == "baseline":
    ok = all(c["status"] == "GREEN" and 20 <= num(c["canary"]) < 50 and 20 <= num(c["control"]) < 50
             for c in p95)
elif mode == "clean":
    ok = all(c["status"] == "GREEN" for c in d["cells"]) and rc in (0, 3)
elif mode == "injected":
    # the true canary P95 is ~239 ms (220-240 ms uniform): the histogram
    # reads it inside its bucket, (200, 250] ms
    ok = (rc == 4 and d["decision"]["verdict"] == "ROLLBACK" and trig.get("p95_over_160") == "firing"
          and all(c["status"] == "RED" and 200 <= num(c["canary"]) <= 250 and num(c["control"]) < 50
                  and num(c["samples"]) >= 50 for c in p95))
elif mode == "down":
    ok = rc != 0 and all(c["status"] in ("ERROR", "STALE") for c in d["cells"])
    bad = [c for c in d["cells"] if c["status"] == "GREEN"]
    if bad:
        print("GREEN while Prometheus is down: %r" % bad[0], file=sys.stderr)
        sys.exit(2)
else:
    raise SystemExit("unknown mode " + mode)
sys.exit(0 if ok else 1)
PY
}

# wait_status MODE POLICY STATE SECONDS
wait_status() {
	mode=$1 pol=$2 st=$3 secs=$4
	i=0
	while [ $i -lt $((secs * 2)) ]; do
		rc=0
		sr status --json --policy "$pol" --state-dir "$st" >"$work/status.json" 2>"$work/status.err" || rc=$?
		if [ -s "$work/status.json" ]; then
			crc=0
			check_status "$mode" "$work/status.json" "$rc" || crc=$?
			[ $crc -eq 0 ] && return 0
			[ $crc -eq 2 ] && fail "status $mode: $(cat "$work/status.json" | head -c 600)"
		fi
		sleep 0.5
		i=$((i + 1))
	done
	fail "status: '$mode' not reached within $secs s: $(head -c 800 "$work/status.json")"
}

# act POLICY STATE WANT_RC ACTION args... -> stdout in $work/act.out, stderr in act.err
act() {
	pol=$1 st=$2 want=$3
	shift 3
	rc=0
	sr act "$@" --yes --policy "$pol" --state-dir "$st" >"$work/act.out" 2>"$work/act.err" || rc=$?
	[ "$rc" -eq "$want" ] ||
		fail "act $* exited $rc, want $want: $(cat "$work/act.out" "$work/act.err")"
}

preflight() { # POLICY STATE: tick the four items, T-0 a minute ago
	act "$1" "$2" 0 tick --checklist preflight --item roster_posted --t0 -1
	for item in region_posted security_signoff dashboards_ready; do
		act "$1" "$2" 0 tick --checklist preflight --item "$item"
	done
}

count() { # N [--cookie C] -> "canary ok"
	n=$1
	shift
	res=$(python3 "$here/load.py" "http://127.0.0.1:$front/search" -n "$n" -c 16 \
		--timeout-s 60 "$@") || fail "load through haproxy failed: $res"
	echo "$res" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["by_server"].get("canary", 0), d["ok"])'
}

split() { # WEIGHT: 1000 cookieless requests, canary within +-1 point
	w=$1
	set -- $(count 1000)
	[ "$2" -eq 1000 ] || fail "only $2 of 1000 requests succeeded"
	lo=$((w * 10 - 10))
	hi=$((w * 10 + 10))
	[ "$1" -ge "$lo" ] && [ "$1" -le "$hi" ] ||
		fail "at weight $w%: $1 of 1000 to the canary (want $lo..$hi)"
	echo "ok - split at $w%: $1 of 1000 requests through HAProxy to the canary"
	echo "$w $1" >>"$work/splits"
}

journal_actions() { # STATE -> the action records, one "type action weight result" per line
	python3 - "$1/journal.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    if e["type"] in ("status", "trigger", "snapshot", "obs"):
        continue
    print(e["type"], e.get("action", "-"), e.get("weight", "-"), e.get("result", "-"))
PY
}

# ---- 1. values --------------------------------------------------------------------------
wait_status baseline "$P1" "$S1" 60
[ ! -e "$S1/journal.jsonl" ] || fail "a read-only status wrote a journal"
echo "ok - status reads canary and control P95 in the app's 20-50 ms; wrote no journal"

# ---- 2. promote: the real split -----------------------------------------------------------
preflight "$P1" "$S1"
act "$P1" "$S1" 0 promote
grep -q "^done: promote to 5% by $login (edge read back 5%)$" "$work/act.out" ||
	fail "promote: $(cat "$work/act.out")"
promoted=$(now)
[ "$(hap_weight)" = 5 ] || fail "HAProxy reads $(hap_weight) after promote to 5"
split 5

# ---- 3. injected latency, as shiproom shows it ----------------------------------------------
inject '{"latency_ms": 200}'
wait_status injected "$P1" "$S1" 40
echo "ok - canary P95 reads the injected 200 ms in its bucket (200-250 ms), RED, p95_over_160 firing, exit 4"
reset_canary

# ---- 4. HAProxy unreachable -------------------------------------------------------------------
# (the canary must be clean again first: a RED canary is no GO, not even for 5%)
wait_status clean "$P3" "$S3" 40
preflight "$P3" "$S3"
t=$(now)
act "$P3" "$S3" 1 promote
took=$(elapsed "$t" "$(now)")
grep -q "^failed: promote to 5% failed after 3 attempts: set_weight failed: haproxy tcp:127.0.0.1:$dead_port: connect: connection refused (rollout unchanged)$" "$work/act.out" ||
	fail "unreachable: $(cat "$work/act.out")"
grep -q "retry 2/3 in 1s: set_weight failed: .*connection refused" "$work/act.err" &&
	grep -q "retry 3/3 in 2s: " "$work/act.err" || fail "retries not shown: $(cat "$work/act.err")"
[ "$(grep -c 'retry ' "$work/act.err")" -eq 2 ] || fail "not exactly 2 retries: $(cat "$work/act.err")"
journal_actions "$S3" | tail -2 >"$work/j3"
[ "$(sed -n 1p "$work/j3")" = "intent promote 5 -" ] && [ "$(sed -n 2p "$work/j3")" = "outcome promote -1 failed" ] ||
	fail "journal after the failure: $(cat "$work/j3")"
python3 - "$S3/journal.jsonl" <<'PY' || fail "the failed outcome lacks its attempts or error"
import json, sys
o = [json.loads(l) for l in open(sys.argv[1])][-1]
assert o["type"] == "outcome" and o["attempts"] == 3 and "connection refused" in o["error"], o
PY
echo "ok - HAProxy unreachable: failed visibly after 3 attempts with back-off (${took}s), intent and failure journaled"

# ---- 5. past the window: approve, promote to 25 % ------------------------------------------------
wait_status clean "$P1" "$S1" 40
left=$(python3 -c "import sys; print(max(0, int(62 - (float(sys.argv[2]) - float(sys.argv[1])))))" "$promoted" "$(now)")
sleep "$left"
# The promoter's own approval does not count for their promote: the one
# that counts comes from another person's console on the same state dir,
# i.e. one more line in the journal, appended as every console appends
# (under the journal file's flock, with the next seq).
act "$P1" "$S1" 0 approve
grep -q "^done: Gate 1 approved by $login$" "$work/act.out" || fail "approve: $(cat "$work/act.out")"
act "$P1" "$S1" 3 promote
grep -q "approvals must come from someone other than the promoter" "$work/act.out" ||
	fail "self-approved promote: $(cat "$work/act.out")"
python3 - "$S1/journal.jsonl" <<'PY' || fail "cannot append the approver's record"
import fcntl, json, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_APPEND)
fcntl.flock(fd, fcntl.LOCK_EX)
last = [json.loads(l) for l in open(sys.argv[1])][-1]["seq"]
now = int(time.time() * 1000)
rec = {"seq": last + 1, "at": now, "wall": now, "type": "approval", "actor": "approver",
       "action": "approve", "gate": 0, "reason": "e2e: approved from another console"}
os.write(fd, (json.dumps(rec, separators=(",", ":")) + "\n").encode())
os.fsync(fd)
fcntl.flock(fd, fcntl.LOCK_UN)
PY
act "$P1" "$S1" 0 promote
grep -q "^done: promote to 25% by $login (edge read back 25%)$" "$work/act.out" ||
	fail "promote to 25: $(cat "$work/act.out")"
[ "$(hap_weight)" = 25 ] || fail "HAProxy reads $(hap_weight) after promote to 25"
split 25

# ---- 6. rollback, cookie client included ---------------------------------------------------------
set -- $(count 100 --cookie SRV=canary)
[ "$1" -eq 100 ] || fail "before the rollback a canary cookie reaches the canary: $1 of 100"
act "$P1" "$S1" 0 rollback --reason "e2e: rollback drill"
grep -q "^done: rollback by $login: canary weight 0%, drained (edge read back 0%): e2e: rollback drill$" "$work/act.out" ||
	fail "rollback: $(cat "$work/act.out")"
[ "$(hap_weight)" = 0 ] && [ "$(hap_maint)" = yes ] || fail "after rollback: weight $(hap_weight), maint $(hap_maint)"
split 0
set -- $(count 200 --cookie SRV=canary)
[ "$1" -eq 0 ] && [ "$2" -eq 200 ] || fail "rollback: $1 of 200 cookie requests reached the canary"
echo "ok - rollback: 0 of 1000 cookieless and 0 of 200 canary-cookie requests reach the canary"

# ---- 7. kill -9 between intent and outcome ---------------------------------------------------------
crash_promote() { # MODE: start a promote through the proxy, kill -9 it mid-call
	echo "$1" >"$work/proxy.mode"
	n0=$(grep -c '"type":"intent"' "$S4/journal.jsonl" || true)
	# In a shell of its own, so that its "Killed" goes to crash.out.
	rm -f "$work/crash.pid"
	sh -c '"$@" & echo $! >"$0"; wait $!' "$work/crash.pid" \
		"$bin" act promote --yes --policy "$P4" --state-dir "$S4" >"$work/crash.out" 2>&1 &
	outer=$!
	i=0
	until [ -s "$work/crash.pid" ] &&
		[ "$(grep -c '"type":"intent"' "$S4/journal.jsonl" || true)" -gt "$n0" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || fail "no intent written: $(cat "$work/crash.out")"
		sleep 0.1
	done
	sleep 1 # the call is now stalled in the proxy
	kill -9 "$(cat "$work/crash.pid")"
	st=0
	wait "$outer" || st=$?
	[ "$st" -eq 137 ] || fail "the crashing act exited $st: $(cat "$work/crash.out")"
	[ "$(journal_actions "$S4" | tail -1)" = "intent promote 5 -" ] ||
		fail "after kill -9 the journal ends with: $(journal_actions "$S4" | tail -1)"
	: >"$work/proxy.mode"
}
wait_intent() { # STATE OUT: until the journal holds an intent (5 s at most)
	i=0
	until grep -q '"type":"intent"' "$1/journal.jsonl" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 100 ] || fail "no intent written in $1: $(cat "$2")"
		sleep 0.05
	done
}
preflight "$P4" "$S4"
# (a) before the edge moved: the command never reached HAProxy (still 0)
crash_promote all
[ "$(hap_weight)" = 0 ] || fail "the stalled promote reached HAProxy"
act "$P4" "$S4" 0 hold --reason "after a crash"
grep -q "start-up: promote to 5% by $login had no outcome (a crash?); the edge reads 0%: it did not take effect, recorded as failed" "$work/act.err" ||
	fail "reconcile (a): $(cat "$work/act.err")"
[ "$(journal_actions "$S4" | grep '^reconcile' | tail -1)" = "reconcile promote 0 failed" ] ||
	fail "reconcile record (a): $(journal_actions "$S4" | tail -3)"
act "$P4" "$S4" 0 resume
# (b) after the edge moved: the read-back stalls, HAProxy is at 5
crash_promote read
[ "$(hap_weight)" = 5 ] || fail "HAProxy reads $(hap_weight) after the stalled promote's sets"
act "$P4" "$S4" 0 hold --reason "after a second crash"
grep -q "start-up: promote to 5% by $login had no outcome (a crash?); the edge reads 5%: it took effect, recorded" "$work/act.err" ||
	fail "reconcile (b): $(cat "$work/act.err")"
[ "$(journal_actions "$S4" | grep '^reconcile' | tail -1)" = "reconcile promote 5 ok" ] ||
	fail "reconcile record (b): $(journal_actions "$S4" | tail -3)"
sr status --json --policy "$P4" --state-dir "$S4" >"$work/s4.json" || true
python3 - "$work/s4.json" <<'PY' || fail "the rollout after reconciliation: $(head -c 300 "$work/s4.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["phase"] == "5%" and d["weight"] == 5 and d["state"] == "held", (d["phase"], d["weight"], d["state"])
PY
echo "ok - kill -9 between intent and outcome: the restart reconciled the journal with HAProxy's real weight (0%, then 5%)"
# (c) the rollout's service killed mid-action: a rollback through it
# stalls on its read-back; kill -9 the service; a restarted service
# reconciles with HAProxy before anything else, and a client attaches
sr serve --detach --policy "$P4" --state-dir "$S4" >"$work/serve4.out" 2>&1 ||
	fail "serve on P4: $(cat "$work/serve4.out")"
svc=$(cat "$S4/service.pid")
echo read >"$work/proxy.mode"
n0=$(grep -c '"type":"intent"' "$S4/journal.jsonl" || true)
"$bin" act rollback --reason "e2e: service killed mid-action" --yes --policy "$P4" \
	--state-dir "$S4" >"$work/crash.out" 2>&1 &
actp=$!
i=0
until [ "$(grep -c '"type":"intent"' "$S4/journal.jsonl" || true)" -gt "$n0" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "no intent from the service: $(cat "$work/crash.out")"
	sleep 0.1
done
sleep 1 # the read-back is now stalled in the proxy; the sets have landed
kill -9 "$svc"
st=0
wait "$actp" || st=$?
[ "$st" -eq 1 ] && grep -q "no answer from the service" "$work/crash.out" ||
	fail "act through a killed service: exit $st: $(cat "$work/crash.out")"
[ "$(journal_actions "$S4" | tail -1)" = "intent rollback 0 -" ] ||
	fail "after the service's kill -9 the journal ends with: $(journal_actions "$S4" | tail -1)"
: >"$work/proxy.mode"
sr serve --detach --policy "$P4" --state-dir "$S4" >"$work/serve4.out" 2>&1 ||
	fail "serve on P4 again: $(cat "$work/serve4.out")"
sr status --json --policy "$P4" --state-dir "$S4" >"$work/s4.json" 2>"$work/s4.err" || true
python3 - "$work/s4.json" <<'PY' || fail "after the service restart: $(head -c 300 "$work/s4.json") $(cat "$work/s4.err")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["weight"] == 0 and d["state"] == "rolled_back", (d["weight"], d["state"])
PY
[ "$(journal_actions "$S4" | grep '^reconcile' | tail -1)" = "reconcile rollback 0 ok" ] ||
	fail "the restarted service's reconcile: $(journal_actions "$S4" | tail -3)"
[ "$(hap_weight)" = 0 ] && [ "$(hap_maint)" = yes ] || fail "HAProxy after: $(hap_weight) maint $(hap_maint)"
sr stop --policy "$P4" >/dev/null 2>&1 || fail "stop the service on P4"
echo "ok - the service killed mid-rollback: its restart reconciled the journal with HAProxy (0%, maint) and a client attached"
# (d) the call lands after the crash: a restart at once must not read the
# edge before the call can no longer land (it would record a failure that
# then takes effect)
S4c=$work/s4c
hap "set server app/canary weight 0" >/dev/null
hap "set server app/canary state ready" >/dev/null # (c) left it in maint
preflight "$P4" "$S4c"
echo late >"$work/proxy.mode"
rm -f "$work/crash.pid"
sh -c '"$@" & echo $! >"$0"; wait $!' "$work/crash.pid" \
	"$bin" act promote --yes --policy "$P4" --state-dir "$S4c" >"$work/crash.out" 2>&1 &
outer=$!
wait_intent "$S4c" "$work/crash.out"
until [ -s "$work/crash.pid" ]; do sleep 0.05; done
sleep 0.5 # the stable's weight is set; the canary's is held in the proxy
kill -9 "$(cat "$work/crash.pid")"
wait "$outer" || true
: >"$work/proxy.mode"
[ "$(hap_weight)" = 0 ] || fail "(d): the late call landed before the restart (weight $(hap_weight)): the test cannot tell"
act "$P4" "$S4c" 0 hold --reason "restart right after a crash"
grep -q "its call may still land: reading the edge in" "$work/act.err" ||
	fail "reconcile (d) did not wait: $(cat "$work/act.err")"
[ "$(hap_weight)" = 5 ] || fail "(d): the late call never landed (weight $(hap_weight))"
[ "$(journal_actions "$S4c" | grep '^reconcile' | tail -1)" = "reconcile promote 5 ok" ] ||
	fail "reconcile record (d): $(journal_actions "$S4c" | tail -3); $(cat "$work/act.err")"
echo "ok - a call landing after the crash: the restart waited past the edge's timeouts and recorded what really happened (5%)"
# (e) a weight changed behind shiproom's back: an anomaly, journaled, HOLD
act "$P4" "$S4c" 0 resume
hap "set server app/canary weight 10" >/dev/null
act "$P4" "$S4c" 3 promote
grep -q "edge anomaly since .*: the edge reads 10%, the journal says 5%" "$work/act.out" ||
	fail "a hand-made weight was not seen: $(cat "$work/act.out")"
python3 - "$S4c/journal.jsonl" <<'PY' || fail "the anomaly is not in the journal"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
e = [x for x in ev if x["type"] == "edge"]
assert e and e[-1]["anomaly"] is True and e[-1]["weight"] == 10 and e[-1]["expected"] == 5, e
PY
act "$P4" "$S4c" 0 rollback --reason "e2e: the edge was changed by hand"
[ "$(hap_weight)" = 0 ] && [ "$(hap_maint)" = yes ] || fail "rollback after the anomaly: weight $(hap_weight)"
echo "ok - a weight changed by hand (10% for 5%): anomaly journaled, promote held, rollback still possible"
# (f) SIGTERM during `act`, between intent and outcome: the action finishes
# and journals its outcome, as for SIGINT and SIGHUP
S4d=$work/s4d
preflight "$P4" "$S4d"
echo all >"$work/proxy.mode"
"$bin" act promote --yes --policy "$P4" --state-dir "$S4d" >"$work/term.out" 2>&1 &
term_pid=$!
wait_intent "$S4d" "$work/term.out"
kill -TERM "$term_pid"
st=0
wait "$term_pid" || st=$?
: >"$work/proxy.mode"
[ "$st" -ne 143 ] || fail "SIGTERM cut the action short (exit 143): $(cat "$work/term.out")"
[ "$(journal_actions "$S4d" | tail -1 | cut -d' ' -f1,2)" = "outcome promote" ] ||
	fail "after SIGTERM the journal ends with: $(journal_actions "$S4d" | tail -1)"
echo "ok - SIGTERM during act: the promote finished (exit $st) and its outcome is journaled"
# (g) a rollback killed between its two HAProxy steps: the stable at 100,
# the canary still at 5 and not in maint (it takes traffic). The restart
# does not read "5%" as "the rollback did not happen": it sends the
# rollback's steps again and records the completed rollback.
S4e=$work/s4e
hap "set server app/canary state ready" >/dev/null
hap "set server app/canary weight 0" >/dev/null
hap "set server app/stable weight 100" >/dev/null
preflight "$P4" "$S4e"
act "$P4" "$S4e" 0 promote
[ "$(hap_weight)" = 5 ] || fail "(g): the promote left HAProxy at $(hap_weight)"
echo maint >"$work/proxy.mode"
rm -f "$work/crash.pid"
sh -c '"$@" & echo $! >"$0"; wait $!' "$work/crash.pid" \
	"$bin" act rollback --yes --reason "e2e: cut short" --policy "$P4" --state-dir "$S4e" \
	>"$work/crash.out" 2>&1 &
outer=$!
i=0
until [ "$(hap "get weight app/stable" | awk 'NR == 1 { print $1 }')" = 100 ] && [ -s "$work/crash.pid" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "(g): the rollback's first step never landed: $(cat "$work/crash.out")"
	sleep 0.05
done
kill -9 "$(cat "$work/crash.pid")"
wait "$outer" || true
: >"$work/proxy.mode"
[ "$(hap_weight)" = 5 ] && [ "$(hap_maint)" = no ] ||
	fail "(g): not cut between the steps: weight $(hap_weight), maint $(hap_maint)"
[ "$(journal_actions "$S4e" | tail -1)" = "intent rollback 0 -" ] ||
	fail "(g): after kill -9 the journal ends with: $(journal_actions "$S4e" | tail -1)"
act "$P4" "$S4e" 0 note --reason "e2e: after the cut rollback"
grep -q "start-up: rollback by $login (key .*) has no outcome: sending its edge steps again" "$work/act.err" ||
	fail "(g): the restart did not resend the rollback: $(cat "$work/act.err")"
[ "$(hap_weight)" = 0 ] && [ "$(hap_maint)" = yes ] ||
	fail "(g): after the restart: weight $(hap_weight), maint $(hap_maint)"
[ "$(journal_actions "$S4e" | grep '^reconcile' | tail -1)" = "reconcile rollback 0 ok" ] ||
	fail "(g): reconcile record: $(journal_actions "$S4e" | tail -3)"
echo "ok - a rollback killed between its HAProxy steps (stable 100, canary 5): the restart completed it (0%, maint) and journaled it"

# ---- 8. auto_rollback: the trigger moves HAProxy ---------------------------------------------------
wait_status clean "$P2" "$S2" 40
preflight "$P2" "$S2"
act "$P2" "$S2" 0 promote
[ "$(hap_weight)" = 5 ] && [ "$(hap_maint)" = no ] || fail "before auto-rollback: weight $(hap_weight), maint $(hap_maint)"
# The guard is the rollout's service (`serve` in the foreground, as a
# process supervisor runs it: its event log on stdout).
"$bin" serve --policy "$P2" --state-dir "$S2" >"$work/watch.log" 2>"$work/watch.err" &
watch_pid=$!
bg_pids="$bg_pids $watch_pid"
i=0
until grep -q "HOLD: observing" "$work/watch.log" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "watch did not evaluate: $(cat "$work/watch.err")"
	sleep 0.1
done
# The watch learns the scrape rhythm from Prometheus' own sample times
# (timestamp() of the KPIs' series) and polls just after each scrape.
i=0
until grep -q "polling: aligned 1s" "$work/watch.log" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "watch never aligned its polls to the 1 s scrape: $(grep polling "$work/watch.log")"
	sleep 0.1
done
t=$(now)
inject '{"latency_ms": 200}'
i=0
while [ "$(hap_weight)" != 0 ]; do
	i=$((i + 1))
	[ $i -le 600 ] || fail "auto-rollback: the canary is still at $(hap_weight)% after 60 s"
	sleep 0.1
done
took=$(elapsed "$t" "$(now)")
[ "$(hap_maint)" = yes ] || fail "auto-rollback left the canary out of maint"
# status goes through the running service: one truth
sr status --json --policy "$P2" --state-dir "$S2" >"$work/s2.json" 2>"$work/s2.err" || true
python3 - "$work/s2.json" <<'PY' || fail "status through the service: $(head -c 300 "$work/s2.json") $(cat "$work/s2.err")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["weight"] == 0 and d["state"] == "rolled_back", (d["weight"], d["state"])
PY
kill -TERM "$watch_pid"
st=0
wait "$watch_pid" || st=$?
[ "$st" -eq 0 ] || fail "serve exited $st: $(tail -5 "$work/watch.err")"
grep -q "RED    Journey canary P95 > 160 ms firing" "$work/watch.log" &&
	grep -q "auto-rollback: rollback by auto-rollback: canary weight 0%, drained (edge read back 0%)" "$work/watch.log" ||
	fail "watch log: $(tail -10 "$work/watch.log")"
python3 - "$S2/journal.jsonl" <<'PY' || fail "auto-rollback journal"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
fired = [i for i, e in enumerate(ev) if e["type"] == "trigger" and e["trigger"] == "p95_over_160" and e["to"] == "firing"]
out = [i for i, e in enumerate(ev) if e["type"] == "outcome" and e["action"] == "rollback"]
assert fired and out and fired[0] < out[-1], (fired, out)
o = ev[out[-1]]
assert o["actor"] == "auto-rollback" and o["result"] == "ok" and o["weight"] == 0, o
red = [e for e in ev if e["type"] == "status" and e["kpi"] == "p95_latency" and e["to"] == "RED"]
assert red, "the watch journaled no P95 status change"
PY
reset_canary
echo "ok - auto_rollback: p95_over_160 fired and HAProxy read the canary at 0% in maint ${took}s after the injection"

# ---- 9. Prometheus down, then back --------------------------------------------------------------
wait_status clean "$P1" "$S1" 40
"$bin" watch --read-only --for 120 --policy "$P1" --state-dir "$S1" >"$work/ro.log" 2>"$work/ro.err" &
ro_pid=$!
bg_pids="$bg_pids $ro_pid"
sleep 2
down_at=$(date -u +%Y-%m-%dT%H:%M:%S)
"$here/prometheus.sh" stop "$work/prom"
wait_status down "$P1" "$S1" 10
i=0
until grep -q "search P95 ERROR" "$work/ro.log"; do
	i=$((i + 1))
	[ $i -le 150 ] || fail "the watch never showed search P95 ERROR: $(tail -5 "$work/ro.log")"
	sleep 0.1
done
sleep 5 # past stale_after (3 s): still not GREEN
up_at=$(date -u +%Y-%m-%dT%H:%M:%S)
"$here/prometheus.sh" start "$work/prom" "$prom_port" "127.0.0.1:$stable_port" \
	"127.0.0.1:$canary_port" || fail "cannot restart prometheus"
i=0
until grep -q "search P95 GREEN" "$work/ro.log"; do
	i=$((i + 1))
	[ $i -le 600 ] || fail "the cells did not come back GREEN: $(tail -5 "$work/ro.log")"
	sleep 0.1
done
kill -TERM "$ro_pid"
wait "$ro_pid" || true
python3 - "$work/ro.log" "$down_at" "$up_at" <<'PY' || fail "a P95 cell read GREEN while Prometheus was down"
import sys
log, down, up = sys.argv[1], sys.argv[2], sys.argv[3]
seen = set()
for line in open(log):
    f = line.split()
    if len(f) < 4 or " P95 " not in line:
        continue
    t = f[0][:19]
    if down <= t < up:
        assert "P95 GREEN" not in line, line
        for s in ("ERROR", "STALE"):
            if "P95 " + s in line:
                seen.add(s)
assert seen, "no ERROR or STALE line while Prometheus was down"
PY
wait_status baseline "$P1" "$S1" 60
echo "ok - Prometheus down: status all ERROR, the watch ERROR/STALE and never GREEN; back GREEN after the restart"

# ---- 10. the journal, replay, secrets ----------------------------------------------------------------
journal_actions "$S1" >"$work/j1"
cat >"$work/j1.want" <<EOF
start - - -
tick tick - -
tick tick - -
tick tick - -
tick tick - -
intent promote 5 -
outcome promote 5 ok
approval approve - -
approval approve - -
intent promote 25 -
outcome promote 25 ok
intent rollback 0 -
outcome rollback 0 ok
EOF
diff "$work/j1.want" "$work/j1" >/dev/null || fail "the journal's actions: $(diff "$work/j1.want" "$work/j1")"
python3 - "$S1/journal.jsonl" <<'PY' || fail "journal contents"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
seqs = [e["seq"] for e in ev]
assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
keys = {}
for e in ev:
    if e["type"] in ("intent", "outcome"):
        keys.setdefault(e["key"], []).append(e["type"])
assert all(v == ["intent", "outcome"] for v in keys.values()), keys
rb = [e for e in ev if e["type"] == "intent" and e["action"] == "rollback"][0]
assert rb["drain"] is True and rb["reason"] == "e2e: rollback drill", rb
labels = [e["label"] for e in ev if e["type"] == "snapshot"]
assert "T-0" in labels and "Gate 1" in labels, labels
PY
rc=0
sr replay "$S1/journal.jsonl" --status --json --policy "$P1" >"$work/replay.json" || rc=$?
python3 - "$work/replay.json" <<'PY' || fail "replay --status: $(head -c 300 "$work/replay.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["state"] == "rolled_back" and d["weight"] == 0 and d["phase"] == "25%", (d["state"], d["weight"], d["phase"])
assert [a["outcome"] for a in d["approvals"]][:2] == ["passed", "rolled_back"], d["approvals"]
PY
if grep -rqF "$SECRET" "$work" 2>/dev/null; then
	fail "the bearer token appears in: $(grep -rlF "$SECRET" "$work")"
fi
echo "ok - the journal tells the story (intents paired with outcomes, T-0 and gate snapshots); replay rebuilds it; the token appears nowhere"
# ---- 11. never blind: a hung Prometheus, a partial answer, a dead exporter ------------------------
# Behind prom_proxy.py (the real Prometheus behind it), KPIs over [1h], the
# edge a dead port: a promote that gets through shows as an edge failure.
start_proxy pp prom_proxy.py "http://127.0.0.1:$prom_port" >"$work/pp.port"
pp_port=$(cat "$work/pp.port")
P5=$work/p5.json S5=$work/s5
python3 "$here/policy.py" "$P5" --prom "http://127.0.0.1:$pp_port" --socket "tcp:127.0.0.1:$dead_port" \
	--login "$login" --token-env SR_E2E_PROM_TOKEN --rollout blind || fail "policy.py failed"
python3 - "$P5" <<'PY' || fail "cannot set the [1h] window"
import json, sys
p = json.load(open(sys.argv[1]))
p["source"]["window"] = "1h"
json.dump(p, open(sys.argv[1], "w"), indent=2)
PY
"$bin" check-config "$P5" >/dev/null || fail "the blind policy does not load"
# cell_check FILE EXPR: a python expression over d (status --json) and P95 (its P95 cells)
cell_check() {
	python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
P95 = [c for c in d["cells"] if c["kpi"] == "p95_latency"]
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}
# wait_cells SECONDS EXPR WHAT
wait_cells() {
	i=0
	while :; do
		sr status --json --policy "$P5" --state-dir "$S5" >"$work/s5.json" 2>"$work/s5.err" || true
		[ -s "$work/s5.json" ] && cell_check "$work/s5.json" "$2" && return 0
		i=$((i + 1))
		[ $i -le $(($1 * 2)) ] || fail "$3: $(head -c 900 "$work/s5.json")"
		sleep 0.5
	done
}
wait_cells 30 'all(c["status"] == "GREEN" for c in P95)' "the blind policy never read GREEN"
# (a) Prometheus hangs before T-0: the first step is refused, never a GO
echo hang >"$work/pp.mode"
preflight "$P5" "$S5"
act "$P5" "$S5" 3 promote
grep -q "refused" "$work/act.out" || fail "promote on a hung Prometheus: $(cat "$work/act.out")"
grep -q "ERROR" "$work/act.out" || fail "the refusal does not name the ERROR cells: $(cat "$work/act.out")"
sr status --json --policy "$P5" --state-dir "$S5" >"$work/s5.json" 2>/dev/null || true
cell_check "$work/s5.json" 'd["decision"]["verdict"] == "HOLD" and all(c["status"] == "ERROR" for c in d["cells"])' ||
	fail "status on a hung Prometheus: $(head -c 600 "$work/s5.json")"
echo "ok - Prometheus hung before T-0: every cell ERROR, HOLD, promote to 5% refused"
# (b) a partial answer (`warnings`) is not GREEN
echo warn >"$work/pp.mode"
wait_cells 20 'all(c["status"] == "YELLOW" and "partial data" in c["reason"] for c in P95)' \
	"a partial answer read as"
echo "ok - Prometheus warnings: the P95 cells read YELLOW 'partial data', not GREEN"
: >"$work/pp.mode"
wait_cells 30 'all(c["status"] == "GREEN" for c in P95)' "clean again"
# (d) a proxy echoing the Authorization header: the token shows nowhere
echo echo >"$work/pp.mode"
act "$P5" "$S5" 0 hold --reason "e2e: echoing proxy"
sr status --json --policy "$P5" --state-dir "$S5" >"$work/echo.json" 2>"$work/echo.err" || true
grep -q "redacted" "$work/echo.json" || fail "the echoing proxy was not seen: $(head -c 600 "$work/echo.json")"
if grep -rqF "$SECRET" "$work" 2>/dev/null; then
	fail "the echoed bearer token appears in: $(grep -rlF "$SECRET" "$work")"
fi
act "$P5" "$S5" 0 resume
: >"$work/pp.mode"
echo "ok - a proxy echoing the Authorization header: the token is [redacted] in status, the journal and every file"
wait_cells 30 'all(c["status"] == "GREEN" for c in P95)' "clean again"
# (c) the canary's exporter dies: its cells go STALE though [1h] still answers
canary_pid=$(echo $app_pids | awk '{ print $2 }')
kill "$canary_pid"
wait_cells 30 'all(c["status"] == "STALE" for c in P95 if c["journey"]) and "canary" in P95[0]["reason"]' \
	"after the canary's exporter died"
echo "ok - the canary's exporter died: its P95 cells read STALE (liveness), though the [1h] queries still answer"
# (e) the journal deleted under a running watch: said at once, nothing more
# written into the ghost file, no action taken
"$bin" watch --for 60 --policy "$P5" --state-dir "$S5" >"$work/ghost.log" 2>"$work/ghost.err" &
ghost_pid=$!
bg_pids="$bg_pids $ghost_pid"
sleep 3
mv "$S5/journal.jsonl" "$work/journal-moved.jsonl"
i=0
until grep -q "was deleted or moved" "$work/ghost.log" "$work/ghost.err" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "the watch did not notice its journal was moved: $(tail -5 "$work/ghost.log")"
	sleep 0.1
done
n1=$(wc -l <"$work/journal-moved.jsonl")
sleep 3
n2=$(wc -l <"$work/journal-moved.jsonl")
kill -TERM "$ghost_pid"
wait "$ghost_pid" || true
[ "$n1" -eq "$n2" ] || fail "the watch kept writing into the moved journal ($n1 -> $n2 lines)"
[ ! -e "$S5/journal.jsonl" ] || fail "the watch started a new journal behind the moved one"
echo "ok - the journal moved away under a running watch: said at once, nothing more written, none recreated"

echo "split measurements (weight: canary of 1000):" $(tr '\n' ';' <"$work/splits")
echo "ok - shiproom e2e"
