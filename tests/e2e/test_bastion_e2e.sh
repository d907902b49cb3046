#!/bin/sh
# tests/e2e/test_bastion_e2e.sh BUILD_DIR - one rollout from two bastions.
#
# A real three-member etcd cluster on loopback (etcd.sh) holds the
# journal; two `shiproom serve` processes ("bastions" A and B, each with
# its own state dir and socket) run one simulated rollout. What must hold:
#   1. one leads, the other stands by and shows the same rollout;
#   2. an action asked of the standby is carried out by the leader, once,
#      with the same result words and exit code;
#   3. kill -9 the leader: the standby leads within the lease TTL plus a
#      poll (the figure is printed), nothing lost or doubled;
#   4. SIGSTOP the leader past its TTL: the standby takes over and acts;
#      SIGCONT the old one: it writes nothing, acts on nothing, steps
#      down and says so;
#   5. one etcd member killed: the rollout goes on; two killed: "store
#      unavailable", HOLD, promote refused, a rollback still reaches the
#      edge, and is merged into the journal, exactly once, when quorum
#      returns;
#   6. after all that, journal_check.py: seqs without gap or duplicate,
#      every intent closed once, no request carried out twice, no two
#      leaders' records interleaved.
set -u
build=${1:-build}
bin=$build/shiproom
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
export SHIPROOM_RUNTIME_DIR=$work/run
mkdir -p "$SHIPROOM_RUNTIME_DIR"
export SR_E2E_OWNER=$$
TTL=2
nfail=0

cleanup() {
	for s in a b; do
		[ -f "$work/$s/service.pid" ] && kill -9 "$(cat "$work/$s/service.pid")" 2>/dev/null
	done
	sh "$here/etcd.sh" stop "$work/etcd" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
ok() { echo "ok - $*"; }
bad() {
	echo "not ok - $*"
	nfail=$((nfail + 1))
}
fail() {
	echo "not ok - $*"
	for s in a b; do
		[ -f "$work/$s/service.log" ] && { echo "--- $s/service.log (tail)"; tail -n 25 "$work/$s/service.log"; }
	done
	exit 1
}
now() { date +%s.%N; }
since() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }

command -v etcd >/dev/null || fail "etcd is not installed (make deps)"
endpoints=$(sh "$here/etcd.sh" start "$work/etcd" 3) || fail "etcd cluster did not start"
ok "a three-member etcd cluster on loopback: $endpoints"

prefix=/shiproom-e2e/$$
python3 "$here/bastion_setup.py" policy "$top/config/shiproom.json" "$work/policy.json" \
	"$endpoints" "$prefix" "$TTL" || fail "bastion_setup.py policy"
# The healthy drill, begun three minutes before T-0 (its pre-flight
# ticked at once): the promote to 5% comes a few seconds in.
python3 "$here/bastion_setup.py" drill "$top/config/scenarios/healthy.json" "$work/drill.json" ||
	fail "bastion_setup.py drill"
P="--policy $work/policy.json"
"$bin" check-config "$work/policy.json" >/dev/null 2>&1 || fail "the policy with a store does not load"

serve() { # NAME
	"$bin" serve --detach $P --scenario "$work/drill.json" --speed 20 --state-dir "$work/$1" \
		--socket "$work/$1.sock" >"$work/$1.out" 2>&1 || fail "serve $1: $(cat "$work/$1.out")"
}
lead_of() { # NAME -> the store line of its status
	"$bin" status $P --socket "$work/$1.sock" 2>/dev/null | sed -n 's/^store: //p'
}
wait_lead() { # NAME SECONDS
	i=0
	until lead_of "$1" | grep -q '^leader '; do
		i=$((i + 1))
		[ $i -le $(($2 * 10)) ] || return 1
		sleep 0.1
	done
}
check_journal() { # WHAT
	if python3 "$here/journal_check.py" "$endpoints" "$prefix" >"$work/check.out" 2>&1; then
		ok "$1: $(tail -n 1 "$work/check.out" | sed 's/^journal_check: //')"
	else
		bad "$1: $(cat "$work/check.out")"
	fi
}
records() { # TYPE [FIELD=VALUE]: how many such records the store holds
	ETCDCTL_API=3 etcdctl --endpoints="$endpoints" get --prefix "$prefix/j/" --print-value-only |
		python3 -c '
import json, sys
t = sys.argv[1]; kv = sys.argv[2].split("=", 1) if len(sys.argv) > 2 else None
n = 0
for line in sys.stdin:
    try: o = json.loads(line)
    except ValueError: continue
    if o.get("type") == t and (not kv or str(o.get(kv[0])) == kv[1]): n += 1
print(n)' "$@"
}

# 0. `store import`: a state dir's rollout moved into etcd, whole or not at all
python3 - "$work/policy.json" "$work/import.json" "$prefix-import" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["store"]["prefix"] = sys.argv[3]
json.dump(p, open(sys.argv[2], "w"), indent=1)
PY
"$bin" act tick --checklist preflight --item roster_posted --yes --state-dir "$work/imp0" \
	--policy "$work/import.json" >"$work/imp.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "its service answers status, act" "$work/imp.out" &&
	ok "without a service, act on an etcd rollout says to start one (exit 1)" ||
	bad "act without a service: exit $rc $(cat "$work/imp.out")"
# the state dir is made on the shipped policy: a rollout begun before the move
"$bin" act tick --checklist preflight --item roster_posted --yes --state-dir "$work/imp" \
	>/dev/null 2>&1
nrec=$(wc -l <"$work/imp/journal.jsonl")
cp -r "$work/imp" "$work/imp-bad"
printf '{"seq":\n' >>"$work/imp-bad/journal.jsonl"
sed -i '3s/.*/not a record/' "$work/imp-bad/journal.jsonl"
"$bin" store import --policy "$work/import.json" --state-dir "$work/imp-bad" >"$work/imp.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "journal.jsonl:3: not a journal record" "$work/imp.out" &&
	[ -z "$(ETCDCTL_API=3 etcdctl --endpoints="$endpoints" get --prefix "$prefix-import/" --keys-only)" ] &&
	ok "a journal with a bad line is refused at file:line, nothing written" ||
	bad "bad import: exit $rc $(cat "$work/imp.out")"
"$bin" store import --policy "$work/import.json" --state-dir "$work/imp" >"$work/imp.out" 2>&1 &&
	grep -q "^imported $nrec records" "$work/imp.out" && ok "store import: $nrec records moved" ||
	bad "store import: $(cat "$work/imp.out")"
"$bin" store import --policy "$work/import.json" --state-dir "$work/imp" >"$work/imp.out" 2>&1
[ $? -eq 1 ] && grep -q "already holds a journal" "$work/imp.out" &&
	ok "a second import is refused" || bad "second import: $(cat "$work/imp.out")"
python3 "$here/journal_check.py" "$endpoints" "$prefix-import" >"$work/check.out" 2>&1 &&
	ok "the imported journal: $(tail -n 1 "$work/check.out" | sed 's/^journal_check: //')" ||
	bad "imported journal: $(cat "$work/check.out")"

# 1. one leads, one stands by, both show one rollout
serve a
wait_lead a 5 || fail "A does not lead: $(lead_of a)"
ok "A leads alone: $(lead_of a)"
# the same line in the JSON form, for scripts
"$bin" status --json $P --socket "$work/a.sock" 2>/dev/null |
	python3 -c 'import json,sys; s=json.load(sys.stdin).get("store",""); print(s); sys.exit(not s.startswith("leader "))' >"$work/sj.out" &&
	ok "status --json says who leads: $(cat "$work/sj.out")" || bad "status --json store: '$(cat "$work/sj.out")'"
serve b
sleep 1
case "$(lead_of b)" in
"standby; leader "*) ok "B stands by: $(lead_of b)" ;;
*) bad "B: '$(lead_of b)'" ;;
esac
ta=$("$bin" status $P --socket "$work/a.sock" | sed -n 's/^time: *\(T[-+][0-9]*\).*/\1/p')
tb=$("$bin" status $P --socket "$work/b.sock" | sed -n 's/^time: *\(T[-+][0-9]*\).*/\1/p')
ok "A at $ta, B at $tb"
[ -n "$ta" ] && [ "$ta" = "$tb" ] || {
	sleep 1
	ta=$("$bin" status $P --socket "$work/a.sock" | sed -n 's/^time: *\(T[-+][0-9]*\).*/\1/p')
	tb=$("$bin" status $P --socket "$work/b.sock" | sed -n 's/^time: *\(T[-+][0-9]*\).*/\1/p')
	[ "$ta" = "$tb" ] && ok "the same moment on both ($ta)" || bad "A at $ta, B at $tb"
}

# 2. an action asked of the standby: carried out by the leader, once
"$bin" act hold --reason "db locks" --yes $P --socket "$work/b.sock" >"$work/act.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "^done: hold by .*db locks" "$work/act.out" &&
	ok "hold through the standby: done, exit 0" || bad "hold via B: exit $rc $(cat "$work/act.out")"
[ "$(records hold)" = 1 ] && ok "one hold record in the store" || bad "hold records: $(records hold)"
"$bin" act promote --yes $P --socket "$work/b.sock" >"$work/act.out" 2>&1
rc=$?
[ $rc -eq 3 ] && grep -q "held by" "$work/act.out" &&
	ok "promote through the standby refused by the leader's rights (exit 3)" ||
	bad "promote via B: exit $rc $(cat "$work/act.out")"
"$bin" act resume --reason "locks gone" --yes $P --socket "$work/b.sock" >/dev/null 2>&1 ||
	bad "resume via B"

i=0
until [ "$(records outcome action=promote)" -ge 1 ]; do
	i=$((i + 1))
	[ $i -le 300 ] || fail "no promote to 5% in the drill"
	sleep 0.1
done
ok "the drill promoted to 5% (its outcome is in the store)"

# 3. kill -9 the leader: B leads within TTL + a poll
kill -9 "$(cat "$work/a/service.pid")"
t=$(now)
wait_lead b $((TTL + 5)) || fail "B did not lead after A was killed: $(lead_of b)"
took=$(since "$t")
ok "leader killed: B leads after ${took}s (lease TTL ${TTL}s)"
echo "# failover_s=$took ttl_s=$TTL"
sleep 1
check_journal "after the kill"

# 4. SIGSTOP the leader (B) past its TTL; A (restarted) takes over and acts
serve a
sleep 1
b_pid=$(cat "$work/b/service.pid")
kill -STOP "$b_pid"
wait_lead a $((TTL + 5)) || { kill -CONT "$b_pid"; fail "A did not lead while B was stopped"; }
ok "B stopped: A leads ($(lead_of a))"
"$bin" act hold --reason "B asleep" --yes $P --socket "$work/a.sock" >"$work/act.out" 2>&1 &&
	ok "A acts as the new leader" || bad "hold on A: $(cat "$work/act.out")"
before=$(records obs)
kill -CONT "$b_pid"
sleep 2
grep -q "lost the leadership" "$work/b/service.log" &&
	ok "B woke, found it had lost, and says so" || bad "B's log does not say it lost"
case "$(lead_of b)" in
"standby; "*) ok "B stands by again" ;;
*) bad "B after SIGCONT: '$(lead_of b)'" ;;
esac
check_journal "after the pause (no interleaved terms)"
"$bin" act resume --reason "go on" --yes $P --socket "$work/a.sock" >/dev/null 2>&1 || bad "resume on A"

# 5. etcd members die
sh "$here/etcd.sh" kill "$work/etcd" m3 >/dev/null
n1=$(records obs)
sleep 2
n2=$(records obs)
[ "$n2" -gt "$n1" ] && ok "one member killed: the rollout goes on ($n1 -> $n2 obs records)" ||
	bad "no new records with one member down ($n1 -> $n2)"
sh "$here/etcd.sh" kill "$work/etcd" m2 >/dev/null
i=0
until lead_of a | grep -q 'store unavailable'; do
	i=$((i + 1))
	[ $i -le 100 ] || break
	sleep 0.1
done
lead_of a | grep -q 'store unavailable' && ok "two members killed: A says the store is unavailable" ||
	bad "A with no quorum: '$(lead_of a)'"
"$bin" status $P --socket "$work/a.sock" >"$work/st.out" 2>&1
rc=$?
[ $rc -eq 3 ] && grep -q "store unavailable" "$work/st.out" && ok "the decision is HOLD (exit 3)" ||
	bad "status without quorum: exit $rc"
"$bin" act approve --yes $P --socket "$work/a.sock" >"$work/act.out" 2>&1
rc=$?
[ $rc -eq 3 ] && grep -q "store unavailable" "$work/act.out" && ok "approve refused: store unavailable" ||
	bad "approve without quorum: exit $rc $(cat "$work/act.out")"
"$bin" act rollback --reason "break glass" --yes $P --socket "$work/a.sock" >"$work/act.out" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "a rollback still reaches the edge: $(head -n 1 "$work/act.out")" ||
	bad "rollback without quorum: exit $rc $(cat "$work/act.out")"
[ -s "$work/a/spool.jsonl" ] && ok "its records wait in the spool ($(wc -l <"$work/a/spool.jsonl") lines)" ||
	bad "no spool in A's state dir"
sh "$here/etcd.sh" restart "$work/etcd" m2 >/dev/null
sh "$here/etcd.sh" restart "$work/etcd" m3 >/dev/null
i=0
while [ -s "$work/a/spool.jsonl" ]; do
	i=$((i + 1))
	[ $i -le 150 ] || break
	sleep 0.1
done
[ ! -s "$work/a/spool.jsonl" ] && ok "quorum back: the spool is merged" || bad "the spool is still there"
sleep 1
[ "$(records intent action=rollback)" = 1 ] && [ "$(records outcome action=rollback)" = 1 ] &&
	ok "the rollback is in the journal exactly once" ||
	bad "rollback records: $(records intent action=rollback) intents, $(records outcome action=rollback) outcomes"
check_journal "at the end"

[ $nfail -eq 0 ] || { fail "$nfail checks failed"; }
echo "ok - bastions: all checks passed"
