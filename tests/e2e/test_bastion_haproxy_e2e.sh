#!/bin/sh
# tests/e2e/test_bastion_haproxy_e2e.sh [BUILD_DIR] - the etcd store with
# a real Prometheus and a real HAProxy: two bastions, one rollout.
#
# On loopback: the fixture app as stable and canary, Prometheus scraping
# both, HAProxy in front with its Runtime API behind slow_proxy.py (which
# can stall a call), a three-member etcd cluster, and two `shiproom serve`
# on one policy (config/prometheus-haproxy.json cut down by policy.py,
# plus a "store" of kind etcd). What must hold:
#   1. the pre-flight ticks and the promote to 5 %, asked of the standby,
#      are carried out once by the leader: HAProxy reads 5;
#   2. a rollback asked of the standby stalls in the proxy after HAProxy
#      moved; the leader is killed (-9) between the intent and its
#      outcome; the standby takes over, reconciles the intent with
#      HAProxy's real weight before anything else, answers the waiting
#      `act` from the journal (it is not carried out twice), and HAProxy
#      reads 0 and maint;
#   3. journal_check.py: no gap, every intent closed once, no request
#      carried out twice, no interleaved terms, and HAProxy's weight is
#      the last outcome's.
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"
bin=$top/$build/shiproom
case "$build" in /*) bin=$build/shiproom ;; esac

fail() {
	echo "not ok - bastion haproxy e2e: $*" >&2
	exit 1
}
for tool in prometheus haproxy python3 curl etcd etcdctl; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (make deps installs it)"
done
work=$(mktemp -d /tmp/sr-bastion-XXXXXX)
SHIPROOM_RUNTIME_DIR=$work/run
export SHIPROOM_RUNTIME_DIR
mkdir -p "$SHIPROOM_RUNTIME_DIR"
export SR_E2E_OWNER=$$
app_pids=""
bg_pids=""
cleanup() {
	status=$?
	set +e # a service already killed by the test is no failure of the cleanup
	trap - EXIT INT TERM HUP
	for s in a b; do
		[ -f "$work/$s/service.pid" ] && kill -9 "$(cat "$work/$s/service.pid")" 2>/dev/null
	done
	for p in $bg_pids; do kill "$p" 2>/dev/null || true; done
	"$here/prometheus.sh" stop "$work/prom" 2>/dev/null || true
	"$here/haproxy.sh" stop "$work/hap" 2>/dev/null || true
	sh "$here/etcd.sh" stop "$work/etcd" >/dev/null 2>&1 || true
	for p in $app_pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "$status" -ne 0 ]; then
		for f in "$work"/*.out "$work"/a/service.log "$work"/b/service.log; do
			[ -s "$f" ] || continue
			echo "--- $f (last 20 lines)" >&2
			tail -20 "$f" >&2
		done
	fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
login=$(python3 -c 'import os, pwd; print(pwd.getpwuid(os.geteuid()).pw_name)')

# e2e_start_app, hap, hap_weight, hap_maint
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
e2e_start_app stable --self-load 120 --seed 7 --max-seconds 600
e2e_start_app canary --self-load 120 --seed 7 --max-seconds 600
prom_port=$("$here/prometheus.sh" free-port)
"$here/prometheus.sh" start "$work/prom" "$prom_port" "127.0.0.1:$(cat "$work/stable.port")" \
	"127.0.0.1:$(cat "$work/canary.port")" || fail "cannot start prometheus"
front=$("$here/haproxy.sh" free-port)
stats=$("$here/haproxy.sh" free-port)
"$here/haproxy.sh" start "$work/hap" "$front" "$stats" "$(cat "$work/stable.port")" \
	"$(cat "$work/canary.port")" || fail "cannot start haproxy"
: >"$work/proxy.mode"
python3 "$here/slow_proxy.py" --upstream "127.0.0.1:$stats" --mode-file "$work/proxy.mode" \
	--owner-pid $$ >"$work/proxy.out" 2>"$work/proxy.err" &
bg_pids="$bg_pids $!"
i=0
until grep -q '^PORT ' "$work/proxy.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "slow_proxy did not start"
	sleep 0.1
done
proxy_port=$(sed -n 's/^PORT //p' "$work/proxy.out")
endpoints=$(sh "$here/etcd.sh" start "$work/etcd" 3) || fail "etcd did not start"
prefix=/shiproom-hap/$$

python3 "$here/policy.py" "$work/p.json" --prom "http://127.0.0.1:$prom_port" \
	--socket "tcp:127.0.0.1:$proxy_port" --login "$login" || fail "policy.py"
python3 "$here/bastion_setup.py" policy "$work/p.json" "$work/p.json" "$endpoints" "$prefix" 2 ||
	fail "bastion_setup.py policy"
"$bin" check-config "$work/p.json" >/dev/null || fail "the policy does not load"
P="--policy $work/p.json"

lead_of() { "$bin" status $P --socket "$work/$1.sock" 2>/dev/null | sed -n 's/^store: //p'; }
records() { # TYPE [FIELD=VALUE]
	ETCDCTL_API=3 etcdctl --endpoints="$endpoints" get --prefix "$prefix/j/" --print-value-only |
		python3 -c '
import json, sys
t = sys.argv[1]; kv = sys.argv[2].split("=", 1) if len(sys.argv) > 2 else None
print(sum(1 for l in sys.stdin for o in [json.loads(l)] if o.get("type") == t
          and (not kv or str(o.get(kv[0])) == kv[1])))' "$@"
}

serve() {
	"$bin" serve --detach $P --t0 -1 --state-dir "$work/$1" --socket "$work/$1.sock" \
		>"$work/serve-$1.out" 2>&1 || fail "serve $1: $(cat "$work/serve-$1.out")"
}
serve a
i=0
until lead_of a | grep -q '^leader'; do
	i=$((i + 1))
	[ $i -le 50 ] || fail "A does not lead: $(lead_of a)"
	sleep 0.1
done
serve b
sleep 1
lead_of b | grep -q '^standby' || fail "B: $(lead_of b)"
echo "ok - two bastions on a real Prometheus and HAProxy: A leads, B stands by"

# 1. pre-flight and the promote to 5 %, asked of the standby
for item in roster_posted region_posted security_signoff dashboards_ready; do
	"$bin" act tick --checklist preflight --item "$item" --yes $P --socket "$work/b.sock" \
		>"$work/act.out" 2>&1 || fail "tick $item via B: $(cat "$work/act.out")"
done
i=0
until "$bin" act promote --yes $P --socket "$work/b.sock" >"$work/act.out" 2>&1; do
	i=$((i + 1))
	[ $i -le 30 ] || fail "promote via B: $(cat "$work/act.out")"
	sleep 1 # the first evaluations after T-0 (fresh data from both cohorts)
done
[ "$(hap_weight)" = 5 ] || fail "HAProxy reads $(hap_weight) after the promote"
[ "$(records intent action=promote)" = 1 ] || fail "promote intents: $(records intent action=promote)"
echo "ok - ticks and the promote asked of the standby: carried out once by the leader, HAProxy reads 5"

# 2. rollback via B; the leader killed between its intent and outcome
echo read >"$work/proxy.mode" # the sets land, the read-back stalls
a_pid=$(cat "$work/a/service.pid")
"$bin" act rollback --reason "e2e: leader killed mid-rollback" --yes $P \
	--socket "$work/b.sock" >"$work/rb.out" 2>&1 &
rbp=$!
i=0
until [ "$(records intent action=rollback)" = 1 ]; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "no rollback intent in the store"
	sleep 0.1
done
sleep 1
kill -9 "$a_pid"
t=$(date +%s.%N)
: >"$work/proxy.mode"
rc=0
wait "$rbp" || rc=$?
took=$(python3 -c "import sys,time; print('%.1f' % (time.time() - float(sys.argv[1])))" "$t")
grep -q "reconciled rollback" "$work/rb.out" && [ $rc -eq 0 ] ||
	fail "the waiting act: exit $rc $(cat "$work/rb.out")"
echo "ok - the act waiting on B was answered from the journal after the take-over (${took}s after the kill): $(head -n 1 "$work/rb.out")"
lead_of b | grep -q '^leader' || fail "B does not lead: $(lead_of b)"
[ "$(records reconcile action=rollback)" = 1 ] || fail "reconcile records: $(records reconcile)"
[ "$(records intent action=rollback)" = 1 ] || fail "the rollback was carried out twice"
[ "$(hap_weight)" = 0 ] && [ "$(hap_maint)" = yes ] ||
	fail "HAProxy after: $(hap_weight) maint $(hap_maint)"
echo "ok - B reconciled the rollback with HAProxy (0%, maint), carried out once"

python3 "$here/journal_check.py" "$endpoints" "$prefix" --expect-final-weight "$(hap_weight)" \
	>"$work/check.out" 2>&1 || fail "journal: $(cat "$work/check.out")"
echo "ok - journal and edge agree: $(tail -n 1 "$work/check.out" | sed 's/^journal_check: //')"
