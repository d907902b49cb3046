#!/bin/sh
# tests/cli/act.sh BIN - `shiproom act` on the simulator: exit codes (0
# done, 3 refused, 2 usage), the journal it writes with --state-dir, the
# action lock, a torn journal reported and repaired, and `replay --status`
# rebuilding what act did. (Against a real Prometheus and HAProxy:
# tests/e2e/test_shiproom_e2e.sh.)
set -u
bin=${1:-build/shiproom}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
me=$(python3 -c 'import os, pwd; print(pwd.getpwuid(os.geteuid()).pw_name)')
D=$tmp/state

run() { # NAME WANT_RC args... -> $tmp/out, $tmp/err
	name=$1 want=$2
	shift 2
	"$bin" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		ok "$name (exit $rc): $(head -1 "$tmp/out")"
	else
		bad "$name: exit $rc, want $want: $(cat "$tmp/out" "$tmp/err" | head -5)"
	fi
}

# Without a state dir the simulator journals into a temporary one that
# does not outlive the command.
before=$(ls -d /tmp/shiproom-sim-* 2>/dev/null | wc -l)
run "hold on the simulator" 0 act hold --reason "cli test" --yes --scenario healthy --at T+30
grep -q "^done: hold by $me: cli test$" "$tmp/out" && ok "hold says who and why" || bad "hold: $(cat "$tmp/out")"
after=$(ls -d /tmp/shiproom-sim-* 2>/dev/null | wc -l)
[ "$after" -eq "$before" ] && ok "no temporary state dir left behind" || bad "temporary state dirs left: $before -> $after"

run "promote before T-0 is refused" 3 act promote --yes --scenario healthy --at T-100
grep -q "^refused: promote to 5%: decision is HOLD: before T-0" "$tmp/out" &&
	ok "the refusal carries the decision's reasons" || bad "refusal text: $(cat "$tmp/out")"
run "read-only refuses" 3 act hold --yes --read-only --scenario healthy --at T+30
grep -q "read-only console: hold is not available" "$tmp/out" && ok "read-only says so" || bad "read-only: $(cat "$tmp/out")"

# With --state-dir the journal stays, and the next command replays it.
run "hold into a state dir" 0 act hold --reason "first" --yes --scenario healthy --at T+30 --state-dir "$D"
if python3 - "$D/journal.jsonl" "$me" <<'PY'; then ok "the journal holds start and the hold, by $me"; else bad "journal after hold"; fi
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev[0]["type"] == "start" and ev[0]["policy_hash"].startswith("fnv1a64:")
holds = [e for e in ev if e["type"] == "hold"]
assert len(holds) == 1 and holds[0]["actor"] == sys.argv[2] and holds[0]["reason"] == "first", holds
# the scenario's own script ran through the same dispatcher
assert any(e["type"] == "intent" and e["action"] == "promote" and e["weight"] == 5 for e in ev)
assert any(e["type"] == "outcome" and e["result"] == "ok" for e in ev)
PY
run "a second hold is refused: the journal says held" 3 act hold --yes --scenario healthy --at T+30 --state-dir "$D"
grep -q "already held by $me" "$tmp/out" && ok "refused with who holds it" || bad "second hold: $(cat "$tmp/out")"

# replay --status rebuilds it from the file alone
run "replay --status" 3 replay "$D/journal.jsonl" --status --json
if python3 - "$tmp/out" "$me" <<'PY'; then ok "replay rebuilds: 5%, held"; else bad "replay: $(head -c 300 "$tmp/out")"; fi
import json, sys
d = json.load(open(sys.argv[1]))
assert d["phase"] == "5%" and d["weight"] == 5 and d["state"] == "held", (d["phase"], d["weight"], d["state"])
assert not d["preflight_open"]
PY

# The action lock: while another console holds it, act is refused.
python3 - "$D/lock" "$tmp/locked" <<'PY' &
import fcntl, json, os, sys, time
f = open(sys.argv[1], "r+")
fcntl.flock(f, fcntl.LOCK_EX)
f.truncate(0)
f.write(json.dumps({"pid": os.getpid(), "user": "alice", "action": "rollback", "since": int(time.time() * 1000)}))
f.flush()
open(sys.argv[2], "w").close()
time.sleep(5)
PY
lpid=$!
i=0
while [ ! -e "$tmp/locked" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
run "act while another console acts" 3 act resume --yes --scenario healthy --at T+30 --state-dir "$D"
grep -q "another console (pid [0-9]*, alice) is acting: rollback since" "$tmp/out" &&
	ok "the refusal names the other console" || bad "lock refusal: $(cat "$tmp/out")"
kill "$lpid" 2>/dev/null
wait "$lpid" 2>/dev/null

# A torn last line (a crash mid-write): reported and moved aside, never parsed.
printf '{"seq":9999,"at":1,"type":"hold"' >>"$D/journal.jsonl"
run "replay of a torn journal" 3 replay "$D/journal.jsonl" --status
grep -q "^shiproom: replay: journal: torn last line at offset [0-9]*: 32 bytes without a newline" "$tmp/err" &&
	ok "replay reports the torn line, by offset" || bad "replay torn: $(cat "$tmp/err")"
run "resume over a torn journal" 0 act resume --yes --scenario healthy --at T+30 --state-dir "$D"
grep -q "journal: torn last line at offset [0-9]* (32 bytes, a write cut short) moved to" "$tmp/err" &&
	ok "the torn line is reported on start" || bad "torn report: $(cat "$tmp/err")"
ls "$D"/journal.jsonl.torn-* >/dev/null 2>&1 && ok "its bytes are kept aside" || bad "no .torn file"
tail -c 1 "$D/journal.jsonl" | od -c | grep -q '\\n' && ok "the journal ends with a newline again" || bad "journal tail"
grep -q '"type":"torn"' "$D/journal.jsonl" && ok "the repair is journaled" || bad "no torn record"

# The journal moved away from a state dir that held a rollout: the next act
# does not silently start a new rollout (new T-0, pre-flight ticks lost).
mv "$D/journal.jsonl" "$tmp/journal.moved"
run "act on a state dir whose journal is gone" 2 act resume --yes --scenario healthy --at T+30 --state-dir "$D"
grep -q "holds a rollout's files .* but no journal.jsonl: was it deleted or moved?" "$tmp/err" &&
	ok "it says the journal is gone and how to go on" || bad "no journal: $(cat "$tmp/err")"
[ ! -e "$D/journal.jsonl" ] && ok "and creates no new journal" || bad "a new journal was created"
run "--new-rollout starts one there on purpose" 0 act tick --checklist preflight --item roster_posted --yes --scenario healthy --state-dir "$D" --new-rollout
[ -s "$D/journal.jsonl" ] && ok "a new journal, asked for" || bad "no new journal with --new-rollout"

# usage
run "act without --yes" 2 act promote --scenario healthy
grep -q "act needs --yes" "$tmp/err" && ok "says act needs --yes" || bad "no --yes message: $(cat "$tmp/err")"
run "act with an unknown action" 2 act deploy --yes
run "act tick without an item" 2 act tick --checklist preflight --yes
run "--weight outside promote" 2 act hold --weight 25 --yes
run "--yes outside act" 2 status --yes
run "replay without a file" 2 replay
run "--status outside replay" 2 status --status
run "--t0 on the simulator" 2 act hold --yes --t0 now
run "--t0 not a time" 2 act hold --yes --t0 tomorrow
finish
