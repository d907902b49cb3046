#!/bin/sh
# tests/cli/service.sh BIN - the rollout service on the simulator, as its
# clients see it: serve --detach, status/act/report/watch through it (one
# truth), attach without a service, a second service refused, a garbage
# client dropped with a reason while the others are served, a client that
# never reads not slowing anyone, stop, and a restart that continues the
# journal instead of playing the scenario again. (Several Unix users, SSH
# and tmux consoles: tests/e2e/test_service_e2e.sh.)
set -u
bin=${1:-build/shiproom}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib"
tmp=$(mktemp -d)
D=$tmp/state
SC="--scenario p95-regression-25"
cleanup() {
	"$bin" stop $SC >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
me=$(python3 -c 'import os, pwd; print(pwd.getpwuid(os.geteuid()).pw_name)')
sock=$SHIPROOM_RUNTIME_DIR/scholarship-canary-sim-p95-regression-25.sock

expect_rc 1 "attach without a service says so" "$bin" attach $SC
"$bin" attach $SC 2>"$tmp/err" >/dev/null
grep -q "no service for this rollout" "$tmp/err" && ok "attach names what is missing" ||
	bad "attach message: $(cat "$tmp/err")"

# --speed 60: T+120 at once, then a minute of rollout a second
if "$bin" serve --detach $SC --start T+120 --speed 60 --state-dir "$D" >"$tmp/out" 2>&1; then
	ok "serve --detach returns once listening"
else
	bad "serve --detach: $(cat "$tmp/out")"
fi
grep -q "listening on $sock" "$tmp/out" && ok "it says where it listens" ||
	bad "serve output: $(cat "$tmp/out")"
[ -S "$sock" ] && ok "the socket exists" || bad "no socket at $sock"
[ "$(stat -c %a "$sock")" = 600 ] && ok "the socket is 0600 by default" ||
	bad "socket mode $(stat -c %a "$sock")"
pid=$(cat "$D/service.pid" 2>/dev/null)
kill -0 "$pid" 2>/dev/null && ok "pid file in the state dir ($pid)" || bad "no live pid file"

expect_rc 1 "a second service on the same socket is refused" "$bin" serve $SC --state-dir "$tmp/s2"
"$bin" serve $SC --state-dir "$tmp/s2" 2>"$tmp/err" >/dev/null
grep -q "a service already runs" "$tmp/err" && ok "and says so" || bad "$(cat "$tmp/err")"

# status through the service: the service's moment, not the scenario's end
"$bin" status $SC --json >"$tmp/s1.json"
rc=$?
t1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["t_rel_min"])' "$tmp/s1.json" 2>/dev/null)
case "$t1" in
12[0-9]|13[0-9]) ok "status through the service is at its T+ ($t1, exit $rc)" ;;
*) bad "status T+ '$t1' (the scenario's end would be T+540)" ;;
esac
sleep 2
t2=$("$bin" status $SC --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["t_rel_min"])')
[ "$t2" -gt "$t1" ] && ok "and moves with the service's clock (T+$t1 -> T+$t2)" ||
	bad "T+ did not move: $t1 -> $t2"

# act through the service: the kernel's identity, journaled by the service
"$bin" act hold --reason "db locks" --yes $SC >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && grep -q "^done: hold by $me: db locks" "$tmp/out" &&
	ok "act hold through the service (exit 0)" || bad "act hold: exit $rc $(cat "$tmp/out" "$tmp/err")"
grep -q "\"type\":\"hold\".*\"actor\":\"$me\"" "$D/journal.jsonl" ||
	grep -q "\"actor\":\"$me\".*\"type\":\"hold\"" "$D/journal.jsonl" &&
	ok "the service journaled the hold as $me" || bad "no hold record by $me in the journal"
"$bin" act promote --yes $SC >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 3 ] && grep -q "^refused: .*held by $me" "$tmp/out" &&
	ok "promote refused through the service with the reasons (exit 3)" ||
	bad "promote: exit $rc $(cat "$tmp/out")"
"$bin" act resume --yes --read-only $SC >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 3 ] && grep -q "read-only" "$tmp/out" && ok "a read-only client is refused (exit 3)" ||
	bad "read-only act: exit $rc $(cat "$tmp/out")"

"$bin" report card $SC --read-only >"$tmp/card.md" 2>"$tmp/err"
grep -q "^# Phase summary: 25%" "$tmp/card.md" && ok "report through the service" ||
	bad "report: $(head -3 "$tmp/card.md") $(cat "$tmp/err")"

# a garbage client is told why and dropped; the others are served
python3 - "$sock" >"$tmp/garbage" 2>&1 <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(struct.pack(">I", 5) + b"{nope")
data = b""
s.settimeout(10)
while True:
    x = s.recv(65536)
    if not x: break
    data += x
print(data[4:].decode(errors="replace"))
PY
grep -q '"type":"error".*protocol error' "$tmp/garbage" && ok "garbage is answered with a reason, then closed" ||
	bad "garbage answer: $(cat "$tmp/garbage")"
python3 - "$sock" >"$tmp/garbage2" 2>&1 <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(struct.pack(">I", 0x7fffffff))
s.settimeout(10)
data = s.recv(65536)
print(data[4:].decode(errors="replace"))
PY
grep -q 'outside 1' "$tmp/garbage2" && ok "a huge length is refused before anything is buffered" ||
	bad "huge length: $(cat "$tmp/garbage2")"

# a client that connects and says nothing is dropped, with a reason
python3 - "$sock" >"$tmp/silent" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.settimeout(20)
data = b""
while True:
    x = s.recv(65536)
    if not x: break
    data += x
print(data[4:].decode(errors="replace"))
PY
silent=$!

# a client that says hello and never reads: the service keeps serving
python3 - "$sock" >/dev/null 2>&1 <<'PY' &
import socket, struct, sys, time, json
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
b = json.dumps({"type": "hello", "version": 2, "purpose": "console", "read_only": True}).encode()
s.sendall(struct.pack(">I", len(b)) + b)
time.sleep(20)
PY
stuck=$!
sleep 3
start=$(date +%s%N)
"$bin" status $SC >/dev/null 2>&1
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $ms -lt 5000 ] && ok "a client that never reads does not hold the others up (status in ${ms} ms)" ||
	bad "status took $ms ms next to a stuck client"
kill $stuck 2>/dev/null
wait $stuck 2>/dev/null

wait $silent
grep -q 'no hello within' "$tmp/silent" && ok "a client that never says hello is dropped with a reason" ||
	bad "silent client: $(cat "$tmp/silent")"

timeout 20 "$bin" watch --for 2 $SC >"$tmp/watch" 2>&1
grep -q "hold by $me\|held by $me\|$me: hold" "$tmp/watch" && ok "watch through the service prints its log" ||
	bad "watch: $(tail -3 "$tmp/watch")"

# stop, then a restart on the same state dir continues the journal
"$bin" stop $SC >"$tmp/out" 2>&1 && grep -q "^stopped" "$tmp/out" && ok "stop (exit 0)" ||
	bad "stop: $(cat "$tmp/out")"
n=0
while kill -0 "$pid" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
kill -0 "$pid" 2>/dev/null && bad "the service did not end" || ok "the service ended"
[ ! -e "$D/service.pid" ] && [ ! -e "$sock" ] && ok "pid file and socket removed" ||
	bad "left behind: $(ls "$D/service.pid" "$sock" 2>&1)"

lines_before=$(wc -l <"$D/journal.jsonl")
last_before=$(tail -n 1 "$D/journal.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["at"])')
"$bin" serve --detach $SC --speed 60 --state-dir "$D" >/dev/null 2>&1
sleep 2
"$bin" status $SC --json >"$tmp/s3.json" 2>/dev/null
t3=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["t_rel_min"])' "$tmp/s3.json" 2>/dev/null)
[ -n "$t3" ] && [ "$t3" -ge "$t2" ] && ok "a restarted service goes on from T+$t2 (now T+$t3), not from the start" ||
	bad "restarted at T+$t3 (was T+$t2)"
"$bin" stop $SC >/dev/null 2>&1
sleep 1
python3 - "$D/journal.jsonl" "$lines_before" "$last_before" >"$tmp/j" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
before, last = int(sys.argv[2]), int(sys.argv[3])
prev = 0
bad = []
for i, l in enumerate(lines):
    r = json.loads(l)
    if r["at"] < prev:
        bad.append("line %d at %d before %d" % (i + 1, r["at"], prev))
    prev = r["at"]
again = [json.loads(l)["type"] for l in lines[before:] if json.loads(l).get("type") in ("approval", "intent", "tick")]
print("backdated:", bad[:3])
print("replayed:", again[:5])
PY
grep -q "backdated: \[\]" "$tmp/j" && ok "no record dated before the one it follows" || bad "$(cat "$tmp/j")"
grep -q "replayed: \[\]" "$tmp/j" && ok "no scenario step played again after the restart" || bad "$(cat "$tmp/j")"

# stop's answer comes after the first state, which at 50 journeys is
# large: the service ended before it was written, and stop said "the
# connection to the service was lost" (exit 1) though it had stopped.
python3 "$here/gen_policy.py" 50 >"$tmp/p50.json"
"$bin" serve --detach --policy "$tmp/p50.json" --start T+60 >/dev/null 2>&1 ||
	bad "serve --detach at 50 journeys"
"$bin" stop --policy "$tmp/p50.json" >"$tmp/out" 2>&1 && grep -q "^stopped" "$tmp/out" &&
	ok "stop of a 50-journey service answers (exit 0)" || bad "stop at 50 journeys: $(cat "$tmp/out")"
"$bin" stop --policy "$tmp/p50.json" >/dev/null 2>&1
finish
