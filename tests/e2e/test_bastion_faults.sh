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
python3 - "$top/config/shiproom.json" "$work/policy.json" "$endpoints" "$prefix" \
	"$top/config/scenarios/healthy.json" "$work/drill.json" <<'PY'
import json, sys
src, dst, eps, prefix, sc_src, sc_dst = sys.argv[1:]
p = json.load(open(src))
p["store"] = {"kind": "etcd", "endpoints": eps.split(","), "prefix": prefix,
              "lease_ttl_s": 2, "timeout_ms": 500}
json.dump(p, open(dst, "w"), indent=1)
sc = json.load(open(sc_src))
sc["name"] = "fault-drill"; sc["start_min"] = -3; sc["expect"] = []
for s in sc["script"]:
    s["at_min"] = max(s["at_min"], -3)
json.dump(sc, open(sc_dst, "w"), indent=1)
PY
if python3 "$here/bastion_faults.py" "$bin" "$work" "$endpoints" "$prefix" "$work/policy.json" \
	"$work/drill.json" "$seed" "$secs"; then
	echo "ok - fault run (seed $seed, ${secs}s): nothing lost or doubled"
else
	fail "seed $seed: an invariant does not hold (replay: SR_FAULT_SEED=$seed sh $0 $build)"
fi
