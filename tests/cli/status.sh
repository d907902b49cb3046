#!/bin/sh
# tests/cli/status.sh BIN - `shiproom status` exit codes per scenario:
# 0 GO, 3 HOLD, 4 ROLLBACK, 5 ESCALATE, at times the scenarios document.
set -u
bin=${1:-build/shiproom}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib"

expect_rc 3 "healthy before T-0 is HOLD" "$bin" status --scenario healthy --at T-30
expect_rc 0 "healthy gate 1 is GO" "$bin" status --scenario healthy --at T+90
expect_rc 3 "healthy observing 25% is HOLD" "$bin" status --scenario healthy --at T+95
expect_rc 0 "healthy gate 3 is GO" "$bin" status --scenario healthy --at T+452
expect_rc 4 "p95-regression-25 is ROLLBACK" "$bin" status --scenario p95-regression-25 --at T+132
expect_rc 3 "p95-regression-25 at its end (rolled back) is HOLD" "$bin" status --scenario p95-regression-25
expect_rc 3 "payment-streak: 5 in a row does not fire" "$bin" status --scenario payment-streak --at T+121
expect_rc 4 "payment-streak: 6 in a row is ROLLBACK" "$bin" status --scenario payment-streak --at T+151
expect_rc 3 "sustained-5xx: 4 minutes RED does not fire" "$bin" status --scenario sustained-5xx --at T+127
expect_rc 4 "sustained-5xx: 5 minutes RED is ROLLBACK" "$bin" status --scenario sustained-5xx --at T+157
expect_rc 3 "metrics-stale: stale data is HOLD" "$bin" status --scenario metrics-stale --at T+95
expect_rc 5 "overnight-hold: past end of day is ESCALATE" "$bin" status --scenario overnight-hold --at T+601
expect_rc 3 "overnight-hold: after the tie-break is HOLD" "$bin" status --scenario overnight-hold --at T+615
expect_rc 0 "--seed keeps the documented verdict" "$bin" status --scenario healthy --seed 5 --at T+90
expect_rc 0 "scenario by path" "$bin" status --scenario "$here/../../config/scenarios/healthy.json" --at T+90

# A restart goes on where the last process stopped: the journal's
# observations drive the engine through the first read, so a breach 3
# minutes into its 5 keeps its 3 minutes and fires when it would have
# (it started again from 0: HOLD, "4m00s" where the continuous run says
# "6m30s").
rd=$(mktemp -d "${TMPDIR:-/tmp}/shiproom-status-restart.XXXXXX")
"$bin" status --scenario sustained-5xx --at T+153 --state-dir "$rd" >/dev/null 2>&1
restarted=$("$bin" status --scenario sustained-5xx --at T+157 --state-dir "$rd" 2>&1)
rc=$?
continuous=$("$bin" status --scenario sustained-5xx --at T+157 2>&1)
if [ "$rc" -eq 4 ]; then ok "restarted mid-breach: still ROLLBACK at T+157"; else bad "restarted mid-breach: exit $rc, not 4"; fi
a=$(echo "$continuous" | grep '^5xx error rate')
b=$(echo "$restarted" | grep '^5xx error rate')
if [ -n "$a" ] && [ "$a" = "$b" ]; then
	ok "restarted mid-breach: the breach timer as in one run ($(echo "$a" | grep -o '[0-9]*m[0-9]*s' | head -1))"
else
	bad "restarted mid-breach: '$b' where one run says '$a'"
fi
rm -rf "$rd"

# Read-only: the script's actions are refused, nothing moves.
out=$("$bin" status --read-only --scenario healthy --at T+30 2>&1)
rc=$?
if [ "$rc" -eq 3 ] && echo "$out" | grep -q "canary weight 0%" &&
	echo "$out" | grep -q "read-only console: promote is not available"; then
	ok "read-only status refuses the script and stays at 0%"
else
	bad "read-only status (exit $rc)"
fi

# The text names the decision and its reasons, the cells and the triggers.
out=$("$bin" status --scenario p95-regression-25 --at T+132 2>&1)
for want in "decision: ROLLBACK" "p95_over_160" "search P95" "RED" "triggers:" "approvals:" \
	"Gate 1" "T+132"; do
	if echo "$out" | grep -q -- "$want"; then ok "status text has '$want'"; else bad "status text lacks '$want'"; fi
done

# Same scenario, same seed: byte-identical output.
a=$("$bin" status --scenario sustained-5xx --at T+140 --json)
b=$("$bin" status --scenario sustained-5xx --at T+140 --json)
if [ "$a" = "$b" ]; then ok "two headless runs agree exactly"; else bad "two headless runs differ"; fi
# issue 9: status and act report a garbage journal line (not only replay),
# and a torn last line in read-only.
jd=$(mktemp -d "${TMPDIR:-/tmp}/shiproom-status-journal.XXXXXX")
"$bin" act tick --checklist preflight --item roster_posted --yes --state-dir "$jd" >/dev/null 2>&1
echo 'garbage line {' >>"$jd/journal.jsonl"
for cmd in status "act hold --yes --reason x"; do
	# shellcheck disable=SC2086
	"$bin" $cmd --state-dir "$jd" >/dev/null 2>"$jd/err"
	if grep -q "journal: line [0-9]*: not valid JSON" "$jd/err"; then
		ok "$cmd reports the garbage journal line"
	else
		bad "$cmd is silent about a garbage journal line: $(cat "$jd/err")"
	fi
done
printf '{"seq":' >>"$jd/journal.jsonl"
"$bin" status --state-dir "$jd" >/dev/null 2>"$jd/err"
if grep -q "torn last line" "$jd/err"; then ok "status reports a torn last line"; else bad "status is silent about a torn last line: $(cat "$jd/err")"; fi
# issue 9: replay refuses what is not a regular file (/dev/zero was one
# endless line and hung; a FIFO waited for a writer). Bounded by timeout.
mkfifo "$jd/fifo"
for f in /dev/zero "$jd/fifo" "$jd"; do
	timeout 20 "$bin" replay "$f" --status >/dev/null 2>"$jd/err"
	rc=$?
	if [ "$rc" -eq 1 ] && grep -q "is not a regular file" "$jd/err"; then
		ok "replay $f: refused: $(head -1 "$jd/err")"
	else
		bad "replay $f: exit $rc: $(head -1 "$jd/err")"
	fi
done
rm -rf "$jd"

# issue 9: --read-only opens nothing for writing, so it works on a state
# dir its user may only read (an observer's view of the DRI's rollout). As
# root nothing is refused by permissions: the check runs as nobody.
rod=$(mktemp -d)
"$bin" act tick --checklist preflight --item roster_posted --yes --scenario healthy \
	--state-dir "$rod/d" >/dev/null 2>&1
chmod 755 "$rod" "$rod/d"
chmod 644 "$rod/d/journal.jsonl"
cp "$bin" "$rod/shiproom" && chmod 755 "$rod/shiproom"
before=$(ls -l --time-style=+%s.%N "$rod/d")
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
	bad "--read-only on a read-only state dir: needs root to run as another user"
else
	(cd / && runuser -u nobody -- env SHIPROOM_DATADIR="$top" SHIPROOM_RUNTIME_DIR="$rod" \
		"$rod/shiproom" status --read-only --scenario healthy --state-dir "$rod/d" \
		>"$rod/out" 2>"$rod/err")
	rc=$? # the verdict: 0 GO, 3 HOLD ...; 1 a failure (it could not read)
	if [ "$rc" -ne 1 ] && [ "$rc" -ne 2 ] && grep -q "\[read-only\]" "$rod/out" &&
		[ "$before" = "$(ls -l --time-style=+%s.%N "$rod/d")" ]; then
		ok "--read-only reads a state dir it may not write, and changes nothing in it (exit $rc)"
	else
		bad "--read-only as nobody on a read-only state dir: exit $rc $(head -2 "$rod/err")"
	fi
	# without --read-only the same user is told what to do, not only
	# "Permission denied"
	(cd / && runuser -u nobody -- env SHIPROOM_DATADIR="$top" SHIPROOM_RUNTIME_DIR="$rod" \
		"$rod/shiproom" status --scenario healthy --state-dir "$rod/d" \
		>"$rod/out" 2>"$rod/err")
	rc=$?
	if [ "$rc" -eq 1 ] && grep -q "for writing: Permission denied (to look without acting, add --read-only" "$rod/err"; then
		ok "a state dir it may not write: status says to add --read-only (exit 1)"
	else
		bad "status as nobody on a read-only state dir: exit $rc $(head -2 "$rod/err")"
	fi
fi
rm -rf "$rod"

# The simulator without --state-dir journals privately and keeps no
# per-poll observations or periodic snapshots there (nothing can read
# them): what it says must be what a kept journal says.
sd=$(mktemp -d)
for sc in p95-regression-25 sustained-5xx; do
	a=$("$bin" status --scenario $sc --at T+400 --json 2>/dev/null | md5sum)
	b=$("$bin" status --scenario $sc --at T+400 --json --state-dir "$sd/$sc" 2>/dev/null | md5sum)
	[ "$a" = "$b" ] && ok "status of $sc is the same without a state dir as with one" ||
		bad "status of $sc differs without a state dir"
	a=$("$bin" report postmortem --scenario $sc --at T+400 2>/dev/null | md5sum)
	b=$("$bin" report postmortem --scenario $sc --at T+400 --state-dir "$sd/r$sc" 2>/dev/null | md5sum)
	[ "$a" = "$b" ] && ok "and so is its postmortem" || bad "the postmortem of $sc differs"
done
rm -rf "$sd"
finish
