#!/bin/sh
# tests/cli/full_disk.sh BIN - the journal's file stops taking writes
# under a running service, as on a full disk. The kernel refuses for
# real: the service's file size limit is lowered to the journal's size
# (prlimit; the write fails with EFBIG where a full disk says ENOSPC,
# through the same code). The service must live on (SIGXFSZ would kill
# it), HOLD saying why, refuse an action that needs a record, still roll
# back (break-glass), leave no line half written, and record again, and
# say so, once there is room.
set -u
bin=${1:-build/shiproom}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib"
tmp=$(mktemp -d)
D=$tmp/state
SC="--scenario healthy"
cleanup() {
	"$bin" stop $SC >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

field() { # field EXPR: a Python expression over the status JSON `d`
	"$bin" status $SC --json 2>/dev/null |
		python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" 2>/dev/null
}

# --start T+10: the canary is at 5%; --speed 60: a poll every 0.25 s
if ! "$bin" serve --detach $SC --start T+10 --speed 60 --state-dir "$D" >"$tmp/out" 2>&1; then
	bad "serve --detach: $(cat "$tmp/out")"
	exit 1
fi
pid=$(cat "$D/service.pid")
[ "$(field 'd["weight"]')" = 5 ] && ok "the canary is at 5%" || bad "weight $(field 'd["weight"]')"

size=$(stat -c %s "$D/journal.jsonl")
prlimit --pid "$pid" --fsize="$size":unlimited || bad "prlimit"
sleep 2
kill -0 "$pid" 2>/dev/null && ok "the service lives on when its writes are refused" ||
	bad "the service died (SIGXFSZ?)"
reasons=$(field '"\n".join(d["decision"]["reasons"])')
verdict=$(field 'd["decision"]["verdict"]')
if [ "$verdict" = HOLD ] && echo "$reasons" | grep -q "journal write failed (cannot write to .*File too large)"; then
	ok "the decision HOLDs and says the journal cannot be written"
else
	bad "decision $verdict: $reasons"
fi
echo "$reasons" | grep -q "nothing acts but a rollback" && ok "and that only a rollback acts" ||
	bad "reasons: $reasons"

expect_out 1 "a hold, which needs its record, is not done" "cannot write" \
	"$bin" act hold --reason "disk full" --yes $SC
expect_out 0 "a rollback goes out all the same, and says it is not recorded" "NOT recorded" \
	"$bin" act rollback --reason "disk full" --yes $SC
[ "$(field 'd["weight"]')" = 0 ] && ok "the canary is at 0%" || bad "weight $(field 'd["weight"]')"

if [ "$(tail -c 1 "$D/journal.jsonl" | od -An -c | tr -d ' ')" = '\n' ] &&
	python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    json.loads(line)
' "$D/journal.jsonl"; then
	ok "no line is left half written"
else
	bad "the journal has a torn line"
fi
[ "$(stat -c %s "$D/journal.jsonl")" -le "$size" ] && ok "nothing past the limit" ||
	bad "the journal grew past its limit"

prlimit --pid "$pid" --fsize=unlimited:unlimited || bad "prlimit"
sleep 3
reasons=$(field '"\n".join(d["decision"]["reasons"])')
if echo "$reasons" | grep -q "journal write failed"; then
	bad "still holding for the journal with room: $reasons"
else
	ok "with room again the hold for the journal is over"
fi
[ "$(stat -c %s "$D/journal.jsonl")" -gt "$size" ] && ok "and the journal grows again" ||
	bad "the journal did not grow"
grep -q "the journal records again" "$D/service.log" && ok "the service's log says so" ||
	bad "no 'records again' in the service log"

[ "$fails" -eq 0 ]
