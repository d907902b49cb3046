#!/bin/sh
# bench/startup_bench.sh [BIN...] - start to first frame at --start T+N.
#
# Each BIN opens the console (healthy scenario, --speed 1) in a private
# tmux server at 120x40 with its own rollout service, and the clock runs
# until the screen first shows the header at the asked time ("T+350"):
# the service has played the simulated rollout up to there, the console
# has attached and drawn it. Polled every 20 ms (about 10 ms of
# resolution with the capture itself). Median of ROUNDS.
#   BENCH_START="T+350 T-120"        start times (default T+350)
#   BENCH_POLICY=FILE                 --policy (default the shipped one)
#   BENCH_STARTUP_ROUNDS=3            rounds (default 3)
#   BENCH_STARTUP_LIMIT=120           seconds before giving up (default 120)
#   BENCH_STATE_FROM=DIR              a restart: each round starts on a copy
#                                     of the state dir DIR (a journal that
#                                     already holds the rollout up to the
#                                     start time), not on a fresh one
set -u
[ $# -gt 0 ] || set -- build/shiproom
. "$(dirname "$0")/lib_tmux.sh"
bench_tmux startup_bench
ROUNDS=${BENCH_STARTUP_ROUNDS:-3}
LIMIT=${BENCH_STARTUP_LIMIT:-120}
POL=""
[ -n "${BENCH_POLICY:-}" ] && POL="--policy $BENCH_POLICY"
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
printf '%-40s %8s %14s\n' "program" "start" "first frame s"
n=0
for bin in "$@"; do
	case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
	for at in ${BENCH_START:-T+350}; do
		: >"$DIR/t"
		for r in $(seq 1 "$ROUNDS"); do
			n=$((n + 1))
			mkdir -p "$DIR/run$n"
			SD=""
			if [ -n "${BENCH_STATE_FROM:-}" ]; then
				cp -r "$BENCH_STATE_FROM" "$DIR/state$n" || exit 1
				SD="--state-dir $DIR/state$n"
			fi
			t0=$(now)
			$TM new-session -d -x 120 -y 40 -s "s$n" \
				"exec env SHIPROOM_RUNTIME_DIR=$DIR/run$n $bin $POL $SD --scenario healthy --start $at --speed 1" ||
				exit 1
			t1=""
			while :; do
				if $TM capture-pane -p -t "s$n" 2>/dev/null | head -n 1 | grep -v '^shiproom:' | grep -q -- " $at "; then
					t1=$(now)
					break
				fi
				awk -v a="$t0" -v b="$(now)" -v l="$LIMIT" 'BEGIN { exit !(b - a > l) }' && break
				sleep 0.02
			done
			$TM send-keys -t "s$n" q
			sleep 0.3
			$TM kill-session -t "s$n" >/dev/null 2>&1
			if [ -n "$t1" ]; then
				awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >>"$DIR/t"
			else
				echo "999" >>"$DIR/t"
			fi
		done
		printf '%-40s %8s %14s\n' "$(echo "$bin" | tail -c 40)" "$at" "$(median <"$DIR/t")"
	done
done
echo "(median of $ROUNDS; 999: no frame at that time within ${LIMIT} s)"
