#!/bin/sh
# bench/console_rss.sh [BIN...] - what a console and its rollout service
# keep resident, as a DRI runs them: the console in a private tmux server
# at 120x40 with its own service (healthy scenario, --start AT, --speed 1),
# then, once both have settled, VmRSS and VmHWM (peak) of each from
# /proc. One line per BIN and process. Nothing asserts.
#   BENCH_POLICY=FILE      --policy (default: the shipped policy with 50
#                          journeys, tests/cli/gen_policy.py 50)
#   BENCH_START=T+350      start time (default T+350: 8 h of history)
#   BENCH_SETTLE=25        seconds before reading (default 25)
set -u
[ $# -gt 0 ] || set -- build/shiproom
. "$(dirname "$0")/lib_tmux.sh"
bench_tmux console_rss
AT=${BENCH_START:-T+350}
SETTLE=${BENCH_SETTLE:-25}
POL=${BENCH_POLICY:-}
if [ -z "$POL" ]; then
	POL="$DIR/p50.json"
	python3 tests/cli/gen_policy.py 50 >"$POL" || exit 1
fi
kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
printf '%-40s %-8s %10s %10s\n' "program" "process" "RSS kB" "peak kB"
n=0
for bin in "$@"; do
	case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
	n=$((n + 1))
	mkdir -p "$DIR/run$n"
	$TM new-session -d -x 120 -y 40 -s "s$n" \
		"exec env SHIPROOM_RUNTIME_DIR=$DIR/run$n $bin --policy $POL --scenario healthy --start $AT --speed 1" ||
		exit 1
	sleep "$SETTLE"
	con=$($TM list-panes -t "s$n" -F '#{pane_pid}')
	svc=$(pgrep -f "$DIR/run$n/" | grep -v "^$con\$" | head -n 1)
	for p in "console $con" "service $svc"; do
		set -- $p
		[ -n "${2:-}" ] || { echo "$bin: no $1 process"; continue; }
		printf '%-40s %-8s %10s %10s\n' "$(echo "$bin" | tail -c 40)" "$1" "$(kb "$2" VmRSS)" \
			"$(kb "$2" VmHWM)"
	done
	$TM send-keys -t "s$n" q
	sleep 1
	[ -n "$svc" ] && kill "$svc" 2>/dev/null
	$TM kill-session -t "s$n" >/dev/null 2>&1
done
