#!/bin/sh
# tests/cli/usage.sh BIN - usage errors exit 2 with a message on stderr;
# --help and --version exit 0.
set -u
bin=${1:-build/shiproom}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

usage_case() { # name args...
	name=$1
	shift
	# bounded: a time far past the plan once ran for 91 s of CPU
	timeout 30 "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 2 ] && [ -s "$tmp/err" ] && [ ! -s "$tmp/out" ]; then
		ok "$name: exit 2: $(head -1 "$tmp/err")"
	else
		bad "$name: exit $rc (stderr: $(head -1 "$tmp/err"))"
	fi
}

usage_case "unknown option" --bogus
usage_case "unknown command" frobnicate
usage_case "check-config without FILE" check-config
usage_case "--at without a value" status --at
usage_case "--at not a time" status --at soon
usage_case "--speed zero" --speed 0
usage_case "--speed not a number" --speed fast
usage_case "--seed negative" --seed -3
usage_case "--refresh out of range" --refresh 5
usage_case "--json outside status" --json
usage_case "extra argument" status extra
usage_case "unknown scenario" status --scenario no-such-scenario
usage_case "--at before the scenario starts" status --at T-1000
usage_case "status --at after the scenario ends" status --at T+99999
usage_case "report --at after the scenario ends" report card --at T+99999
usage_case "act --at after the scenario ends" act hold --reason x --yes --at T+99999
usage_case "watch --start after the scenario ends" watch --for 1 --start T+99999
usage_case "flag with a value" --read-only=yes
usage_case "no data directory" status --policy /nonexistent/shiproom.json

# Errors that echo argv sanitise it: no raw escape byte reaches the
# terminal, whichever command and whichever argument carries it.
esc=$(printf '\033]0;pwned\007\033[2J')
for args in "--bogus$esc" "status --at T$esc" "replay /nonexistent/j$esc" \
	"status --state-dir /proc/no$esc" "stop --socket /tmp/no-such$esc" \
	"check-config /nonexistent/p$esc" "status --scenario no$esc"; do
	# shellcheck disable=SC2086
	timeout 30 "$bin" $args >"$tmp/out" 2>"$tmp/err"
	if [ -s "$tmp/err" ] && ! LC_ALL=C grep -q "$(printf '\033')" "$tmp/err" &&
		! LC_ALL=C grep -q "$(printf '\007')" "$tmp/err"; then
		ok "escape bytes sanitised: $(echo "$args" | cut -d' ' -f1-2 | tr -cd '[:print:]')"
	else
		bad "raw escape bytes or no error for: $(echo "$args" | tr -cd '[:print:]')"
	fi
done

out=$("$bin" --help)
rc=$?
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "usage: shiproom" && echo "$out" | grep -q -- "--read-only"; then
	ok "--help exit 0"
else
	bad "--help: exit $rc"
fi
# An 80-column terminal shows --help without wrapping.
wide=$("$bin" --help | awk 'length($0) > 80' | head -1)
if [ -z "$wide" ]; then
	ok "--help fits 80 columns"
else
	bad "--help is wider than 80 columns: $wide"
fi
# --readonly (k9s, htop) is --read-only.
"$bin" status --readonly --scenario healthy --at T+5 >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 3 ] && grep -q "T+5" "$tmp/out"; then
	ok "--readonly is --read-only"
else
	bad "--readonly: exit $rc: $(head -1 "$tmp/err")"
fi
out=$("$bin" --version)
rc=$?
if [ "$rc" -eq 0 ] && echo "$out" | grep -Eq "^shiproom [0-9]+\.[0-9]+"; then
	ok "--version: $out"
else
	bad "--version: exit $rc: $out"
fi
out=$(SHIPROOM_DATADIR=/nonexistent "$bin" status 2>&1)
rc=$?
if [ "$rc" -eq 2 ] && echo "$out" | grep -q "/nonexistent/config/shiproom.json"; then
	ok "SHIPROOM_DATADIR is honoured: $out"
else
	bad "SHIPROOM_DATADIR: exit $rc: $out"
fi
finish
