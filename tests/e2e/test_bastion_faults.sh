#!/bin/sh
# tests/e2e/test_bastion_faults.sh BUILD_DIR - the randomised fault run of
# a rollout kept in etcd (bastion_faults.py says what it does and checks).
# Bounded: SR_FAULT_SECONDS of faults (default 75) plus set-up and checks;
# seeded: SR_FAULT_SEED (default 13), printed, so a failure can be replayed.
set -u
build=${1:-build}
bin=$build/shiproom
case "$bin" in /*) ;; *) bin=$(pwd)/$bin ;; esac
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
export SHIPROOM_RUNTIME_DIR=$work/run
mkdir -p "$SHIPROOM_RUNTIME_DIR"
export SR_E2E_OWNER=$$
seed=${SR_FAULT_SEED:-13}
secs=${SR_FAULT_SECONDS:-75}
cleanup() {
	for s in a b c; do
		p=$(cat "$work/$s/service.pid" 2>/dev/null) || continue
		kill -CONT "$p" 2>/dev/null
		kill -9 "$p" 2>/dev/null
	done
	sh "$here/etcd.sh" stop "$work/etcd" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "not ok - fault run: $*"
	[ -f "$work/faults.log" ] && { echo "--- faults.log (tail)"; tail -n 30 "$work/faults.log"; }
	exit 1
}
command -v etcd >/dev/null || fail "etcd is not installed (make deps)"
endpoints=$(sh "$here/etcd.sh" start "$work/etcd" 3) || fail "etcd did not start"
prefix=/shiproom-faults/$$
python3 "$here/bastion_setup.py" policy "$top/config/shiproom.json" "$work/policy.json" \
	"$endpoints" "$prefix" 2 || fail "bastion_setup.py policy"
python3 "$here/bastion_setup.py" drill "$top/config/scenarios/healthy.json" "$work/drill.json" ||
	fail "bastion_setup.py drill"
if python3 "$here/bastion_faults.py" "$bin" "$work" "$endpoints" "$prefix" "$work/policy.json" \
	"$work/drill.json" "$seed" "$secs"; then
	echo "ok - fault run (seed $seed, ${secs}s): nothing lost or doubled"
else
	fail "seed $seed: an invariant does not hold (replay: SR_FAULT_SEED=$seed sh $0 $build)"
fi
