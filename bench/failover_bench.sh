#!/bin/sh
# bench/failover_bench.sh BUILD_DIR [RUNS] [TTLS] - how long a rollout kept
# in etcd goes without a leader when its leader dies.
#
# A three-member etcd cluster on loopback (tests/e2e/etcd.sh) and two
# `shiproom serve` on one simulated rollout (the healthy drill, speed 20,
# so the leader evaluates every 0.75 s). Each run kills the leader with
# -9 and times, with `etcdctl watch` on the journal's keys, the first
# record the standby writes under its own term: its first evaluation as
# the leader (after its reconciliation). Printed per TTL: the lease TTL,
# min / median / max of kill -> first record of the new leader, and the
# part of it that is the TTL itself. Nothing here is a pass/fail test.
set -u
[ -n "${BENCH_TRACE:-}" ] && set -x
build=${1:-build}
runs=${2:-5}
ttls=${3:-"2 5"}
bin=$build/shiproom
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
e2e=$top/tests/e2e
work=$(mktemp -d)
export SHIPROOM_RUNTIME_DIR=$work/run
mkdir -p "$SHIPROOM_RUNTIME_DIR"
export SR_E2E_OWNER=$$
cleanup() {
	for f in "$work"/*/service.pid; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	[ -n "${watch_pid:-}" ] && kill "$watch_pid" 2>/dev/null
	sh "$e2e/etcd.sh" stop "$work/etcd" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
endpoints=$(sh "$e2e/etcd.sh" start "$work/etcd" 3) || {
	echo "failover_bench: etcd did not start" >&2
	exit 1
}
python3 "$e2e/bastion_setup.py" drill "$top/config/scenarios/healthy.json" "$work/drill.json"

echo "ttl_s  runs  kill->new leader's first record: min  median  max (s)"
for ttl in $ttls; do
	prefix=/failover-bench/$ttl-$$
	python3 "$e2e/bastion_setup.py" policy "$top/config/shiproom.json" "$work/p$ttl.json" \
		"$endpoints" "$prefix" "$ttl"
	P="--policy $work/p$ttl.json"
	serve() {
		rm -rf "$work/$1"
		"$bin" serve --detach $P --scenario "$work/drill.json" --speed 20 \
			--state-dir "$work/$1" --socket "$work/$1.sock" >/dev/null 2>&1
	}
	leader() { # which of a, b leads
		for s in a b; do
			"$bin" status $P --socket "$work/$s.sock" 2>/dev/null | grep -q '^store: leader' &&
				{ echo $s; return; }
		done
	}
	serve a
	sleep 1
	serve b
	sleep 2
	: >"$work/times"
	for r in $(seq 1 "$runs"); do
		l=$(leader)
		[ -n "$l" ] || { echo "no leader" >&2; break; }
		other=a
		[ "$l" = a ] && other=b
		# the records as they land, with their arrival time
		ETCDCTL_API=3 etcdctl --endpoints="$endpoints" watch --prefix "$prefix/j/" \
			2>/dev/null | python3 -u -c '
import sys, time, json
for line in sys.stdin:
    try: o = json.loads(line)
    except ValueError: continue
    print("%.3f %s" % (time.time(), o.get("term", 0)), flush=True)' >"$work/watch.out" &
		watch_pid=$!
		sleep 1
		old_term=$(tail -n 1 "$work/watch.out" | awk '{print $2}')
		t0=$(python3 -c 'import time; print("%.3f" % time.time())')
		kill -9 "$(cat "$work/$l/service.pid")"
		i=0
		while :; do
			new=$(awk -v o="$old_term" -v t="$t0" '$1 > t && $2 != o && $2 != 0 { print $1; exit }' "$work/watch.out")
			[ -n "$new" ] && break
			i=$((i + 1))
			[ $i -le 400 ] || break
			sleep 0.05
		done
		kill "$watch_pid" 2>/dev/null
		wait "$watch_pid" 2>/dev/null
		[ -n "$new" ] && python3 -c "import sys; print('%.3f' % (float(sys.argv[1]) - float(sys.argv[2])))" "$new" "$t0" >>"$work/times"
		serve "$l" # back as the standby
		sleep 2
	done
	python3 - "$ttl" "$work/times" <<'PY'
import statistics, sys
ttl = sys.argv[1]
t = sorted(float(x) for x in open(sys.argv[2]) if x.strip())
if t:
    print("%5s  %4d  %6.2f  %6.2f  %6.2f" % (ttl, len(t), t[0], statistics.median(t), t[-1]))
else:
    print("%5s  no take-over seen" % ttl)
PY
	for s in a b; do
		[ -f "$work/$s/service.pid" ] && kill -9 "$(cat "$work/$s/service.pid")" 2>/dev/null
	done
	sleep 1
done
