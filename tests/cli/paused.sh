#!/bin/sh
# tests/cli/paused.sh BIN - the rollout's service stops speaking while its
# socket stays open (SIGSTOP: a debugger, a machine out of CPU). `watch`
# through it must say so rather than let a quiet log pass for a quiet
# rollout, and say when it speaks again; a client that connects to it
# while it is stopped says so. (The console's side of this:
# tests/screen/run.sh service_paused.)
set -u
bin=${1:-build/shiproom}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib"
tmp=$(mktemp -d)
SC="--scenario healthy"
spid=
cleanup() {
	[ -n "$spid" ] && kill -CONT "$spid" 2>/dev/null
	"$bin" stop $SC >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

if ! "$bin" serve --detach $SC --start T+20 --speed 60 --state-dir "$tmp/state" >"$tmp/out" 2>&1; then
	bad "serve --detach: $(cat "$tmp/out")"
	exit 1
fi
spid=$(cat "$tmp/state/service.pid")
"$bin" watch $SC --for 16 >"$tmp/log" 2>"$tmp/err" &
wpid=$!
sleep 2
kill -STOP "$spid"
sleep 9
grep -q "watch: no word from the service (pid $spid) for [0-9]*s: stopped, stuck or cut off" "$tmp/err" &&
	ok "watch says the service has gone quiet, naming its pid" || bad "stderr: $(cat "$tmp/err")"
kill -CONT "$spid"
wait "$wpid"
grep -q "watch: the service speaks again" "$tmp/err" && ok "and that it speaks again" ||
	bad "stderr: $(cat "$tmp/err")"
[ -s "$tmp/log" ] && ok "the log went on" || bad "no log"

# a client that connects while the service is stopped says so after 6 s
# (not a blank wait of 30), and gets its answer once the service goes on
kill -STOP "$spid"
(sleep 9 && kill -CONT "$spid") &
"$bin" status $SC >"$tmp/st" 2>"$tmp/st.err"
rc=$?
grep -q "took the connection but has not answered for 6s (stopped or stuck?)" "$tmp/st.err" &&
	ok "status says the service has not answered" || bad "status stderr: $(cat "$tmp/st.err")"
[ $rc -ne 1 ] && grep -q "^decision:" "$tmp/st" && ok "and answers once it goes on (exit $rc)" ||
	bad "status: exit $rc $(head -2 "$tmp/st")"
wait

[ "$fails" -eq 0 ]
