#!/bin/sh
# bench/redraw_bench.sh [BIN...] - the bytes of one full redraw (^L) at
# 120x40, next to htop's, in one run.
#
# One tmux server; htop (-d 100: its own refresh stays out of the window)
# and each BIN (the healthy scenario opened at T+30, --speed 1: a poll
# every 15 s, a clock change a second) in sessions of their own, all
# 120x40, their output captured with `tmux pipe-pane`. After a warm-up,
# ROUNDS times for each program: the bytes written in one idle second,
# then ^L and the bytes written in the second after it; the row gives the
# median of the ^L seconds less the median idle second, and its ratio to
# htop's. Figures vary with the machine (htop's with the process list):
# compare the rows of one run. An argument BIN@POLICY runs BIN with
# --policy POLICY (the growth rows: tests/cli/gen_policy.py N).
#   BENCH_REDRAW_ROUNDS=5   rounds (default 5)
set -u
[ $# -gt 0 ] || set -- build/shiproom
ROUNDS=${BENCH_REDRAW_ROUNDS:-5}
. "$(dirname "$0")/lib_tmux.sh"
bench_tmux redraw_bench
mkdir -p "$DIR/run"

$TM new-session -d -x 120 -y 40 -s s0 "exec htop -d 100" || exit 1
$TM set-option -g status off >/dev/null
echo "htop -d 100" >"$DIR/s0.name"
n=0
for arg in "$@"; do
	n=$((n + 1))
	bin=${arg%%@*}
	pol=""
	case $arg in *@*) pol="--policy ${arg#*@}" ;; esac
	case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
	[ -x "$bin" ] || { echo "redraw_bench: no binary at $bin"; exit 1; }
	$TM new-session -d -x 120 -y 40 -s "s$n" \
		"exec env SHIPROOM_RUNTIME_DIR=$DIR/run/$n $bin $pol --scenario healthy --start T+30 --speed 1 --refresh 1000" || exit 1
	echo "$arg" >"$DIR/s$n.name"
done
for i in $(seq 0 "$n"); do
	: >"$DIR/s$i.out"
	$TM pipe-pane -o -t "s$i" "cat >>'$DIR/s$i.out'"
done
# Until every console shows T+30 (hundreds of journeys take a while to
# play up to there), then a few seconds more.
for w in $(seq 1 600); do
	all=1
	for i in $(seq 1 "$n"); do
		$TM capture-pane -p -t "s$i" | head -n 1 | grep -v '^shiproom:' | grep -q " T+3" || all=0
	done
	[ $all = 1 ] && break
	sleep 0.2
done
sleep 4

size() { wc -c <"$1" | tr -d ' '; }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
for r in $(seq 1 "$ROUNDS"); do
	for i in $(seq 0 "$n"); do
		f="$DIR/s$i.out"
		b0=$(size "$f")
		sleep 1
		b1=$(size "$f")
		$TM send-keys -t "s$i" C-l
		sleep 1
		b2=$(size "$f")
		echo $((b1 - b0)) >>"$DIR/s$i.idle"
		echo $((b2 - b1)) >>"$DIR/s$i.redraw"
	done
done
for i in $(seq 1 "$n"); do $TM send-keys -t "s$i" q; done

printf '%-40s %10s %10s %10s\n' "program (120x40)" "^L bytes" "idle B/s" "vs htop"
base=""
for i in $(seq 0 "$n"); do
	idle=$(median <"$DIR/s$i.idle")
	red=$(median <"$DIR/s$i.redraw")
	net=$((red - idle))
	[ -n "$base" ] || base=$net
	awk -v name="$(cat "$DIR/s$i.name")" -v b="$net" -v i="$idle" -v h="$base" \
		'BEGIN { printf "%-40s %10d %10d %9.2fx\n", substr(name, length(name) > 40 ? length(name) - 39 : 1), b, i, b / h }'
done
echo "(median of $ROUNDS rounds; ^L bytes = the second after ^L less an idle second)"
