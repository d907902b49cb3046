#!/bin/sh
# tests/e2e/test_etcd_full.sh BUILD_DIR - the etcd that keeps the journal
# runs out of space (its NOSPACE alarm: a real one-member cluster on
# loopback with a small --quota-backend-bytes, filled by the test). etcd
# then answers reads and refuses every write. The service must:
#   - HOLD, saying the store takes no write and why (etcd's words);
#   - still roll back (break-glass): the edge at 0%, its records in the
#     state dir's spool, not lost;
#   - say "not merged" once, not at every tick;
#   - when an operator makes room (delete, compact, defragment, disarm),
#     merge the spool into the store in order and stop holding for it.
set -u
build=${1:-build}
bin=$build/shiproom
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
export SHIPROOM_RUNTIME_DIR=$work/run
mkdir -p "$SHIPROOM_RUNTIME_DIR"
export SR_E2E_OWNER=$$
nfail=0

cleanup() {
	[ -f "$work/a/service.pid" ] && kill -9 "$(cat "$work/a/service.pid")" 2>/dev/null
	sh "$here/etcd.sh" stop "$work/etcd" >/dev/null 2>&1
	[ -n "${SR_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
ok() { echo "ok - $*"; }
bad() {
	echo "not ok - $*"
	nfail=$((nfail + 1))
}
fail() {
	echo "not ok - $*"
	[ -f "$work/a/service.log" ] && { echo "--- service.log (tail)"; tail -n 25 "$work/a/service.log"; }
	exit 1
}

wait_log() { # PATTERN: until the service's log has it (20 s at most)
	i=0
	until grep -q "$1" "$work/a/service.log"; do
		i=$((i + 1))
		[ $i -le 100 ] || return 1
		sleep 0.2
	done
}

command -v etcd >/dev/null || fail "etcd is not installed (make deps)"
# 300 kB: the service's own records take minutes to fill it; the test
# fills it at once
endpoints=$(SR_ETCD_QUOTA_BYTES=300000 sh "$here/etcd.sh" start "$work/etcd" 1) ||
	fail "etcd did not start"
ok "a one-member etcd with a 300 kB quota: $endpoints"
export ETCDCTL_API=3
ec() { etcdctl --endpoints="$endpoints" "$@"; }

prefix=/shiproom-full/$$
python3 "$here/bastion_setup.py" policy "$top/config/shiproom.json" "$work/policy.json" \
	"$endpoints" "$prefix" 5 || fail "bastion_setup.py policy"
python3 "$here/bastion_setup.py" drill "$top/config/scenarios/healthy.json" "$work/drill.json" ||
	fail "bastion_setup.py drill"
P="--policy $work/policy.json --socket $work/a.sock"
"$bin" serve --detach --policy "$work/policy.json" --scenario "$work/drill.json" --speed 20 \
	--state-dir "$work/a" --socket "$work/a.sock" >"$work/a.out" 2>&1 || fail "serve: $(cat "$work/a.out")"
weight() { "$bin" status $P --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["weight"])' 2>/dev/null; }
i=0
until [ "$(weight)" = 5 ]; do
	i=$((i + 1))
	[ $i -le 150 ] || fail "the drill did not promote to 5%"
	sleep 0.2
done
ok "the drill is at 5%, its records in etcd"

# fill it: 20 kB values until etcd refuses
v=$(head -c 20000 /dev/zero | tr '\0' x)
i=0
while ec put "/junk-$$/k$i" "$v" >/dev/null 2>"$work/put.err"; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "etcd never ran out of space"
done
grep -q "database space exceeded" "$work/put.err" && ok "etcd is full: $(tail -n 1 "$work/put.err")" ||
	fail "etcd refused for another reason: $(cat "$work/put.err")"
ec alarm list | grep -q NOSPACE && ok "its NOSPACE alarm is raised" || bad "no NOSPACE alarm"

i=0
until "$bin" status $P >"$work/st.out" 2>&1; [ $? -eq 3 ] && grep -q "store takes no write" "$work/st.out"; do
	i=$((i + 1))
	[ $i -le 50 ] || break
	sleep 0.2
done
if grep -q "store takes no write (.*database space exceeded" "$work/st.out"; then
	ok "the decision HOLDs: the store takes no write, in etcd's words"
else
	bad "status: $(sed -n 8,10p "$work/st.out")"
fi
grep -q "nothing acts but a rollback" "$work/st.out" && ok "and only a rollback acts" ||
	bad "status: $(sed -n 8,10p "$work/st.out")"

"$bin" act rollback --reason "etcd is full" --yes $P >"$work/rb.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "^done: rollback" "$work/rb.out" && ok "a rollback goes out all the same (exit 0)" ||
	bad "rollback: exit $rc $(cat "$work/rb.out")"
[ "$(weight)" = 0 ] && ok "the canary is at 0%" || bad "weight $(weight)"
in_spool=$(python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(json.loads(l)["line"]).get("action") == "rollback"))
' "$work/a/spool.jsonl" 2>/dev/null)
[ "${in_spool:-0}" -ge 1 ] && ok "its records wait in the spool ($(grep -c . "$work/a/spool.jsonl") records)" ||
	bad "no rollback record in the spool"
sleep 2
n=$(grep -c "spool: not merged" "$work/a/service.log")
[ "$n" -eq 1 ] && ok "'not merged' said once, not at every tick" || bad "'not merged' said $n times"

# an operator makes room
ec del --prefix "/junk-$$/" >/dev/null || bad "del"
rev=$(ec endpoint status -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Status"]["header"]["revision"])')
ec compact "$rev" >/dev/null && ec defrag >/dev/null && ec alarm disarm >/dev/null ||
	bad "compact, defrag, disarm"
wait_log "break-glass records* merged into the store" && [ ! -f "$work/a/spool.jsonl" ] &&
	ok "room again: the spool is merged into the store" || bad "the spool is not merged"
n=$(ec get --prefix "$prefix/j/" --print-value-only | grep -c '"action":"rollback"')
[ "$n" -ge 1 ] && ok "the rollback's records are in etcd" || bad "no rollback record in etcd"
i=0
while "$bin" status $P >"$work/st.out" 2>&1; grep -q "store takes no write (.*) since" "$work/st.out"; do
	i=$((i + 1))
	[ $i -le 50 ] || break
	sleep 0.2
done
grep -q "store takes no write (.*) since" "$work/st.out" && bad "still holding for the store" ||
	ok "the hold for the store is over"
wait_log "the journal records again" && ok "and the log says so" ||
	bad "no 'records again' in the log"

[ $nfail -eq 0 ]
