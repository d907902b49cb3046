#!/bin/sh
# bench/term_bench.sh [BIN] - what the console costs a terminal, next to htop.
#
# One tmux server, one session per program, all 120x40, all started
# together and measured over the same window after a warm-up:
#   bytes/s     bytes the program wrote to its pty (tmux pipe-pane);
#   CPU s/min   utime+stime from /proc/PID/stat, per minute of wall time;
#   ms/frame    shiproom only: SHIPROOM_FRAME_STATS (frames, draw time).
# Programs:
#   htop -d 10                              refreshes every second
#   shiproom --speed 1  --refresh 1000      real time: a poll every 15 s
#   shiproom --speed 60 --refresh 1000      a poll every 250 ms real
# both shiproom runs on the healthy scenario opened at T+30 (5% phase,
# steady state: every KPI GREEN, nothing scripted for 55 virtual minutes
# at speed 1; at speed 60 the run goes through gate 1 and the promotion to
# 25% during the window: the busier case).
#
#   BENCH_SECONDS=60  measuring window (default 60)
#   BENCH_WARMUP=5    seconds before measuring (default 5)
# Figures vary with the machine: compare the rows of one run. Results go
# to bench/README.md, section "Terminal cost".
set -u

BIN=${1:-build/shiproom}
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
SECS=${BENCH_SECONDS:-60}
WARM=${BENCH_WARMUP:-5}
W=120
H=40

[ -x "$BIN" ] || { echo "term_bench: no binary at $BIN"; exit 1; }

. "$(dirname "$0")/lib_tmux.sh"
bench_tmux term_bench
TICK=$(getconf CLK_TCK)
# Each console its own rollout service: two consoles of one scenario at
# different speeds must not join one service (the second would exit).
mkdir -p "$DIR/run1" "$DIR/run60"

# name|command
set -- \
	"htop|exec htop -d 10" \
	"shiproom-speed1|exec env SHIPROOM_RUNTIME_DIR=$DIR/run1 SHIPROOM_FRAME_STATS=$DIR/frames-speed1 $BIN --scenario healthy --start T+30 --speed 1 --refresh 1000" \
	"shiproom-speed60|exec env SHIPROOM_RUNTIME_DIR=$DIR/run60 SHIPROOM_FRAME_STATS=$DIR/frames-speed60 $BIN --scenario healthy --start T+30 --speed 60 --refresh 1000"

first=1
for spec in "$@"; do
	name=${spec%%|*}
	cmd=${spec#*|}
	if [ $first = 1 ]; then
		$TM new-session -d -x $W -y $H -s "$name" "$cmd" || exit 1
		$TM set-option -g status off >/dev/null
		first=0
	else
		$TM new-session -d -x $W -y $H -s "$name" "$cmd" || exit 1
	fi
	: >"$DIR/$name.out"
	$TM pipe-pane -o -t "$name" "cat >>'$DIR/$name.out'"
done

sleep "$WARM"

pid_of() { # session -> the program's pid (the pane runs it directly)
	$TM display-message -p -t "$1" '#{pane_pid}'
}
cpu_ticks() { # pid -> utime+stime of the process and its children so far
	awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat" 2>/dev/null || echo 0
}
size_of() {
	wc -c <"$1" | tr -d ' '
}

for spec in "$@"; do
	name=${spec%%|*}
	pid=$(pid_of "$name")
	# exec and env(1) exec the program: the pane's pid is the program's.
	echo "$pid" >"$DIR/$name.pid"
	cpu_ticks "$pid" >"$DIR/$name.cpu0"
	size_of "$DIR/$name.out" >"$DIR/$name.b0"
done
sleep "$SECS"
for spec in "$@"; do
	name=${spec%%|*}
	pid=$(cat "$DIR/$name.pid")
	cpu_ticks "$pid" >"$DIR/$name.cpu1"
	size_of "$DIR/$name.out" >"$DIR/$name.b1"
done

# Quit shiproom normally so it writes its frame statistics.
for spec in "$@"; do
	name=${spec%%|*}
	case $name in shiproom*) $TM send-keys -t "$name" q ;; esac
done
sleep 1

printf '%-18s %12s %14s %12s %10s\n' "program" "bytes/s" "CPU s/min" "frames" "ms/frame"
for spec in "$@"; do
	name=${spec%%|*}
	b=$(( $(cat "$DIR/$name.b1") - $(cat "$DIR/$name.b0") ))
	c=$(( $(cat "$DIR/$name.cpu1") - $(cat "$DIR/$name.cpu0") ))
	frames="-"
	msf="-"
	case $name in
	shiproom-*)
		f="$DIR/frames-${name#shiproom-}"
		if [ -f "$f" ]; then
			frames=$(awk '/^frames/ {print $2}' "$f")
			msf=$(awk '/^render_ms_mean/ {print $2}' "$f")
		fi
		;;
	esac
	awk -v n="$name" -v b="$b" -v c="$c" -v s="$SECS" -v t="$TICK" -v fr="$frames" -v m="$msf" \
		'BEGIN { printf "%-18s %12.1f %14.3f %12s %10s\n", n, b / s, c / t * 60 / s, fr, m }'
done
echo "(${W}x${H}, ${SECS} s window after ${WARM} s warm-up, $(nproc) CPUs; frames/ms per frame are over the whole run)"
