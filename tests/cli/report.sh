#!/bin/sh
# tests/cli/report.sh BIN - `shiproom report`: the ship-room reports headless
# on the simulator (gate N, the phase card, the postmortem placeholder, the
# win note), Markdown or --json, written into --state-dir when given, and
# exit 2 on a bad report name or gate number.
set -u
bin=${1:-build/shiproom}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib"
work=$(mktemp -d "${TMPDIR:-/tmp}/shiproom-report-test.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# Gate 1 of the healthy scenario at its time: a GO report.
out=$("$bin" report gate 1 --scenario healthy --at T+90 2>"$work/err")
rc=$?
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "Gate 1 report" &&
	echo "$out" | grep -q "Decision: GO"; then
	ok "gate 1 of healthy at T+90: Gate 1 report, Decision: GO"
else
	bad "gate 1 of healthy at T+90 (exit $rc): $(echo "$out" | head -5) $(cat "$work/err")"
fi

# The p95 regression fires: the report says ROLLBACK.
out=$("$bin" report gate 1 --scenario p95-regression-25 --at T+134 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "ROLLBACK"; then
	ok "p95-regression-25 at T+134: ROLLBACK"
else
	bad "p95-regression-25 at T+134 (exit $rc): $(echo "$out" | head -12)"
fi

# --json is the template's data, valid JSON, for every kind.
for kind in "gate 1" card postmortem win-note; do
	# shellcheck disable=SC2086 # the kind is two words for a gate
	if "$bin" report $kind --json --scenario healthy --at T+90 >"$work/j" 2>"$work/err" &&
		python3 -m json.tool "$work/j" >/dev/null 2>&1; then
		ok "report $kind --json parses"
	else
		bad "report $kind --json: $(head -c 300 "$work/j") $(cat "$work/err")"
	fi
done
"$bin" report gate 1 --json --scenario healthy --at T+90 >"$work/j0" 2>/dev/null
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["decision"]["word"] == "GO", d["decision"]' "$work/j0" 2>/dev/null; then
	ok "gate 1 --json: decision.word GO"
else
	bad "gate 1 --json lacks decision.word GO: $(head -c 300 "$work/j0")"
fi

# Markdown for the other kinds, exit 0.
for kind in card postmortem win-note; do
	expect_rc 0 "report $kind" "$bin" report "$kind" --scenario healthy --at T+90
done

# --state-dir: also written there, the path on stderr.
out=$("$bin" report gate 1 --scenario healthy --at T+90 --state-dir "$work/state" 2>"$work/err")
rc=$?
path=$(sed -n 's/^shiproom: report: written to //p' "$work/err")
if [ "$rc" -eq 0 ] && [ -n "$path" ] && [ -f "$path" ] && [ "$(cat "$path")" = "$out" ] &&
	[ -f "${path%.md}.json" ]; then
	ok "--state-dir: written to $(basename "$path") (and its .json), same as stdout"
else
	bad "--state-dir (exit $rc): stderr $(cat "$work/err")"
fi

# Usage errors: exit 2 with a clear message.
for args in "gate 0" "gate 4" "gate x" "gate -1" "nonsense" ""; do
	# shellcheck disable=SC2086
	"$bin" report $args --scenario healthy --at T+90 >/dev/null 2>"$work/err"
	rc=$?
	if [ "$rc" -eq 2 ] && grep -q "^shiproom: " "$work/err"; then
		ok "report $args: exit 2 ($(head -1 "$work/err"))"
	else
		bad "report $args: exit $rc, expected 2: $(cat "$work/err")"
	fi
done
expect_rc 2 "report card with an extra argument" "$bin" report card 2 --scenario healthy
expect_rc 2 "report --at before the scenario" "$bin" report card --scenario healthy --at T-10000

# A broken template is a config error: exit 2, named.
mkdir -p "$work/data/config"
cp -r "$here/../../config/." "$work/data/config/"
cp -r "$here/../../themes" "$work/data/" 2>/dev/null
printf '{{#if nothing\n' >>"$work/data/config/GATE_REPORT_TEMPLATE.md"
SHIPROOM_DATADIR="$work/data" "$bin" report gate 1 --scenario healthy --at T+90 >/dev/null 2>"$work/err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q "GATE_REPORT_TEMPLATE.md" "$work/err"; then
	ok "a broken template: exit 2, named"
else
	bad "a broken template: exit $rc: $(cat "$work/err")"
fi
finish
