#!/bin/sh
# tests/screen/run.sh [BIN] - the console in tmux, read back from the screen.
#
# Each test starts shiproom in a private tmux server (its own socket, no
# user config), sends keys, and polls `capture-pane -p` until the
# expected text shows up or a timeout passes; no fixed sleeps decide a
# result. Determinism comes from the simulator: a scenario, a seed, and
# --start to open the console at a chosen virtual time. One line per
# test ("ok - name" / "not ok - name"); exits non-zero if any failed.
#
#   SCREEN_KEEP=1   keep the failing screen dumps in /tmp
#   SCREEN_ONLY=x   run only the tests whose name contains x
set -u

BIN=${1:-build/shiproom}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TESTS=$(cd "$(dirname "$0")/.." && pwd)
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
if ! command -v tmux >/dev/null 2>&1; then
	echo "not ok - tmux is not installed (make deps)"
	exit 1
fi
if [ ! -x "$BIN" ]; then
	echo "not ok - no binary at $BIN"
	exit 1
fi

SOCK="shiproom-test-$$"
TM="tmux -u -L $SOCK -f /dev/null"
WORK=$(mktemp -d /tmp/shiproom-screen.XXXXXX)
PASS=0
FAIL=0
FAILED=""
export LC_ALL=C.UTF-8
unset NO_COLOR TMUX

cleanup() {
	$TM kill-server >/dev/null 2>&1
	rm -rf "$WORK"
	# tmux leaves its socket files behind; they are ours, by name.
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"-* 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start W H ARGS... : a fresh tmux server (a new socket each time: a
# server still going away must not be reused) running shiproom in an
# 80x24 or WxH window; the shell stays after shiproom exits and prints its
# exit status.
NSERV=0
new_server() {
	$TM kill-server >/dev/null 2>&1
	NSERV=$((NSERV + 1))
	TM="tmux -u -L $SOCK-$NSERV -f /dev/null"
	# A private place for the rollout service's socket: the console
	# starts (or joins) the service there, never one of another test.
	SHIPROOM_RUNTIME_DIR="$WORK/run$NSERV"
	export SHIPROOM_RUNTIME_DIR
	mkdir -p "$SHIPROOM_RUNTIME_DIR"
}
start() {
	w=$1
	h=$2
	shift 2
	new_server
	# In the scratch directory, without core files: a crash test must not
	# leave anything in the tree.
	$TM new-session -d -x "$w" -y "$h" -s t -c "$WORK" \
		"ulimit -c 0; ${ENVV:-} \"$BIN\" $*; echo SHIPROOM-EXIT=\$?; sleep 600" || return 1
	$TM set-option -t t status off >/dev/null 2>&1
	return 0
}

# start_shell W H: like start, but an interactive shell with job control
# (bash) in the window, at a "$ " prompt; the test types the command.
start_shell() {
	new_server
	$TM new-session -d -x "$1" -y "$2" -s t -c "$WORK" \
		"env PS1='$ ' bash --norc --noprofile -i" || return 1
	$TM set-option -t t status off >/dev/null 2>&1
	return 0
}

screen() {
	$TM capture-pane -p -t t
}

# wait_for TEXT [SECONDS]: poll the screen for a fixed string.
wait_for() {
	want=$1
	limit=${2:-10}
	n=0
	while [ $n -lt $((limit * 10)) ]; do
		if screen | grep -F -q -- "$want"; then
			return 0
		fi
		sleep 0.1
		n=$((n + 1))
	done
	echo "# timed out waiting for: $want" >&2
	return 1
}

# wait_re REGEX [SECONDS]: the same for an extended regular expression.
wait_re() {
	want=$1
	limit=${2:-10}
	n=0
	while [ $n -lt $((limit * 10)) ]; do
		if screen | grep -E -q -- "$want"; then
			return 0
		fi
		sleep 0.1
		n=$((n + 1))
	done
	echo "# timed out waiting for /$want/" >&2
	return 1
}

# wait_gone TEXT [SECONDS]
wait_gone() {
	want=$1
	limit=${2:-10}
	n=0
	while [ $n -lt $((limit * 10)) ]; do
		if ! screen | grep -F -q -- "$want"; then
			return 0
		fi
		sleep 0.1
		n=$((n + 1))
	done
	echo "# still on screen: $want" >&2
	return 1
}

keys() {
	$TM send-keys -t t "$@"
}

fmt() {
	$TM display-message -p -t t "$1"
}

shiproom_pid() {
	sh_pid=$(fmt '#{pane_pid}')
	pgrep -P "$sh_pid" | head -n 1
}

run() {
	name=$1
	case $name in *"${SCREEN_ONLY:-}"*) ;; *) return 0 ;; esac
	if "t_$name" >"$WORK/out" 2>&1; then
		echo "ok - $name"
		PASS=$((PASS + 1))
	else
		echo "not ok - $name"
		sed 's/^/#   /' "$WORK/out"
		echo "#   screen:"
		screen 2>/dev/null | sed 's/^/#   | /'
		if [ -n "${SCREEN_KEEP:-}" ]; then
			screen >"/tmp/shiproom-screen-$name.txt" 2>/dev/null
		fi
		FAIL=$((FAIL + 1))
		FAILED="$FAILED $name"
	fi
}

# Lines of the journey table (80x24) or the tiles (larger).
journey_lines() {
	screen | grep -E 'Scholarship search|Scholarship detail|Application start|Application submit|Payments  |Provider dashboard'
}

# ---- tests ---------------------------------------------------------------

# Healthy scenario 30 minutes into the 5% phase: every journey and every
# KPI group is GREEN (the decision is HOLD only because the observation
# window is still running).
t_main_all_green() {
	start 80 24 --scenario healthy --seed 42 --start T+30 || return 1
	wait_for "canary 5%" || return 1
	wait_for "Provider dashboard" || return 1
	s=$(screen)
	echo "$s" | grep -q "T+3[0-9]" || { echo "no T+ clock"; return 1; }
	n=$(journey_lines | grep -c "ok GREEN")
	[ "$n" -eq 6 ] || { echo "$n of 6 journeys GREEN"; return 1; }
	for g in "Reliability ok 8/8" "Payments    ok 3/3" "B2C         ok 4/4" \
		"B2B         ok 3/3" "Cost        ok 5/5"; do
		echo "$s" | grep -F -q "$g" || { echo "missing: $g"; return 1; }
	done
	if echo "$s" | sed '/Events (/,$d' | grep -E -q "RED|NODATA|STALE|ERROR"; then
		echo "a non-GREEN status on an all-green screen"
		return 1
	fi
	echo "$s" | grep -F -q "HOLD" || { echo "no decision"; return 1; }
	echo "$s" | grep -F -q "observing" || { echo "no state"; return 1; }
	echo "$s" | grep -E -q "T-2h +T-0 +T\+90 +T\+210 +T\+450 +EOD" || { echo "no timeline"; return 1; }
	echo "$s" | grep -F -q "x rollback" || { echo "no key bar"; return 1; }
	echo "$s" | grep -F -q "Events" || { echo "no event log"; return 1; }
}

t_main_all_green_160x48() {
	start 160 48 --scenario healthy --seed 42 --start T+30 || return 1
	wait_for "canary 5%" || return 1
	wait_for "Provider dashboard" || return 1
	s=$(screen)
	n=$(echo "$s" | grep -o "ok GREEN" | wc -l)
	[ "$n" -ge 6 ] || { echo "$n tiles GREEN"; return 1; }
	# Boxed tiles, three to a row, each with canary/control/limit.
	[ "$(echo "$s" | grep -c "canary  control    limit")" -eq 2 ] || { echo "not 2 rows of tiles"; return 1; }
	[ "$(echo "$s" | grep -o "canary  control    limit" | wc -l)" -eq 6 ] || { echo "not 6 tiles"; return 1; }
	echo "$s" | grep -F -q "Reliability & performance" || { echo "no KPI columns"; return 1; }
	echo "$s" | grep -F -q "Error budget consumption" || { echo "KPIs not listed"; return 1; }
	echo "$s" | grep -F -q "now T+3" || { echo "no now-marker"; return 1; }
	# Above the workflow strip and the event log (the log may mention the
	# past, the status page's reason says "no ... KPI RED").
	echo "$s" | grep -E -q "Status page +ok GREEN Operational" || { echo "status page not GREEN"; return 1; }
	if echo "$s" | sed '/Workflow /,$d' | grep -E -q "RED|NODATA|STALE|ERROR"; then
		echo "a non-GREEN status on an all-green screen"
		return 1
	fi
}

# The search journey's canary P95 doubles at T+130: its row is RED with
# the sustained-breach timer running against the 5 minute window.
t_red_breach_timer() {
	start 80 24 --scenario p95-regression-25 --start T+131 || return 1
	wait_for "Scholarship search" || return 1
	wait_re "Scholarship search .*X RED [0-9]+(m[0-9]+)?s/5m" || return 1
	[ "$(journey_lines | grep -c "ok GREEN")" -eq 5 ] || { echo "others not GREEN"; return 1; }
	screen | grep -F -q "search P95 1" || { echo "KPI line without the RED value"; return 1; }
}

# The p95_over_160 trigger fires: banner, ROLLBACK decision, rollback key
# highlighted in the key bar.
t_trigger_banner() {
	start 80 24 --scenario p95-regression-25 --start T+131 || return 1
	wait_for "TRIGGER FIRING" || return 1
	s=$(screen)
	echo "$s" | grep -F -q "Journey canary P95 > 160 ms" || { echo "trigger not named"; return 1; }
	echo "$s" | grep -F -q "x, y, enter" || { echo "no keys in banner"; return 1; }
	echo "$s" | grep -E -q "^ +ROLLBACK " || { echo "decision not ROLLBACK"; return 1; }
	echo "$s" | grep -F -q "x ROLLBACK" || { echo "rollback key not highlighted"; return 1; }
	# The triggers view says it too.
	keys 3
	wait_re "X firing +Journey canary P95 > 160 ms" || return 1
}

t_resize() {
	start 80 24 --scenario healthy --start T+30 || return 1
	wait_for "Provider dashboard" || return 1
	$TM resize-window -t t -x 70 -y 20
	wait_for "shiproom needs at least 80x24; this terminal is 70x20" || return 1
	# ... and nothing else on the screen.
	n=$(screen | grep -c '[^ ]')
	[ "$n" -eq 1 ] || { echo "$n non-empty lines below the minimum"; return 1; }
	$TM resize-window -t t -x 80 -y 23
	wait_for "this terminal is 80x23" || return 1
	$TM resize-window -t t -x 80 -y 24
	wait_for "Provider dashboard" || return 1
	wait_gone "shiproom needs" || return 1
	screen | grep -F -q "x rollback" || { echo "no key bar after resize"; return 1; }
	$TM resize-window -t t -x 160 -y 48
	wait_for "canary  control    limit" || return 1
}

# A rollback dialog open when the terminal shrinks below 80x24: y and
# enter pressed blind must not roll back (they did: the dialog and the
# reason line took keys while only "shiproom needs at least 80x24" showed).
t_resize_blind_keys() {
	start 80 24 --scenario p95-regression-25 --start T+131 || return 1
	wait_for "TRIGGER FIRING" || return 1
	keys x
	wait_for "rollback?" || return 1
	$TM resize-window -t t -x 40 -y 10
	wait_for "shiproom needs at least 80x24" || return 1
	keys y
	sleep 0.3
	keys Enter
	sleep 1
	$TM resize-window -t t -x 80 -y 24
	wait_for "Scholarship search" || return 1
	s=$(screen)
	echo "$s" | grep -F -q "canary 25%" || { echo "rolled back by keys pressed blind"; return 1; }
	echo "$s" | grep -F -q "rollback?" || { echo "the dialog did not wait"; return 1; }
	keys n
	wait_for "rollback cancelled" || return 1
}

# Pasted text is never keys: on the main view a paste of "xa" and a
# newline would open a rollback and approve (it did: keys pressed one by
# one); in a note it is the note's text, its newline not an enter. An
# escape sequence the console does not know (a colour code in the paste
# of a terminal without bracketed paste) is ignored whole, not read as
# "[", "3" (the triggers view), "1" and "m".
t_paste_is_not_keys() {
	start 80 24 --scenario healthy --start T+30 || return 1
	wait_for "Provider dashboard" || return 1
	printf 'xa\n' >"$WORK/paste1"
	$TM load-buffer -b p1 "$WORK/paste1"
	$TM paste-buffer -p -b p1 -t t
	wait_for "a paste was ignored" || return 1
	s=$(screen)
	echo "$s" | grep -F -q "rollback?" && { echo "a paste opened a rollback"; return 1; }
	echo "$s" | grep -F -q "why approve?" && { echo "a paste opened an approval"; return 1; }
	keys n
	wait_for "enter: save" || return 1
	printf 'line one\nline two' >"$WORK/paste2"
	$TM load-buffer -b p2 "$WORK/paste2"
	$TM paste-buffer -p -b p2 -t t
	wait_for "note line one line two" || return 1
	keys Enter
	wait_for "note by" || return 1
	keys -l "$(printf '\033[31m')"
	sleep 0.5
	screen | grep -F -q "Rollback triggers" && { echo "an escape sequence was read as keys"; return 1; }
	return 0
}

# A note in another language: its characters were dropped (only ASCII
# was taken), and backspace took off one byte of a character.
t_note_utf8() {
	start 80 24 --scenario healthy --start T+30 || return 1
	wait_for "Provider dashboard" || return 1
	keys n
	wait_for "enter: save" || return 1
	keys -l "café 日本語"
	keys BSpace
	wait_for "note café 日本 " || return 1
	keys Enter
	wait_for "note by root: café 日本" || return 1
}

t_help() {
	start 80 24 --scenario healthy --start T+30 || return 1
	wait_for "Provider dashboard" || return 1
	keys '?'
	wait_for "Keys" || return 1
	s=$(screen)
	for k in "this help" "esc" "quit" "1 2 3 4 5" "enter"; do
		echo "$s" | grep -F -q "$k" || { echo "help lacks: $k"; return 1; }
	done
	# Scroll to the actions: every action of the table with its role.
	keys PageDown PageDown
	wait_for "rollback: roll back" 5 || { keys j j j j j j j j; wait_for "rollback: roll back" || return 1; }
	screen | grep -F -q "release_dri" || { echo "no role named"; return 1; }
	keys Escape
	wait_for "Provider dashboard" || return 1
}

# Read-only: RO badge, no action in the key bar, and every action key
# answered with the dispatcher's refusal.
t_read_only() {
	start 80 24 --scenario healthy --start T+30 --read-only || return 1
	wait_for "Provider dashboard" || return 1
	s=$(screen)
	echo "$s" | head -n 1 | grep -E -q " RO ?$" || { echo "no RO badge"; return 1; }
	# Read-only refuses the scenario's scripted actions too: nothing moves.
	w0=$(echo "$s" | head -n 1 | grep -o "canary [0-9]*%")
	echo "$s" | tail -n 1 | grep -F -q "read-only" || { echo "key bar does not say read-only"; return 1; }
	if echo "$s" | tail -n 1 | grep -E -q "promote|rollback|approve|hold"; then
		echo "actions shown in the read-only key bar"
		return 1
	fi
	for pair in "h:hold" "r:resume" "p:promote" "x:rollback" "a:approve" "Space:tick" \
		"T:tiebreak" "S:declare_success"; do
		k=${pair%%:*}
		act=${pair#*:}
		keys "$k"
		wait_for "read-only console: $act is not available" 5 || { echo "key $k"; return 1; }
		keys Escape
		wait_gone "refused ─" 5 || return 1
	done
	# The weight never moved.
	screen | head -n 1 | grep -F -q "$w0" || { echo "weight changed from $w0"; return 1; }
}

# Promote while the decision is HOLD: the dialog says it will be refused,
# and the dispatcher refuses with the reasons.
t_promote_refused() {
	start 80 24 --scenario healthy --start T+30 || return 1
	wait_for "Provider dashboard" || return 1
	keys p
	wait_for "target weight:" || return 1
	screen | grep -F -q "This will be refused" || { echo "no early warning"; return 1; }
	keys 2 5
	wait_for "target weight: 25_" || return 1
	keys Enter
	wait_for "promote refused" || return 1
	s=$(screen)
	echo "$s" | grep -F -q "promote to 25%: decision is HOLD" || { echo "no refusal text"; return 1; }
	echo "$s" | grep -F -q "decision is HOLD" || { echo "no reason"; return 1; }
	echo "$s" | grep -F -q "Gate 1 needs 1 approval" || { echo "approvals not given as a reason"; return 1; }
	keys Escape
	wait_gone "promote refused ─" || return 1
	screen | grep -F -q "canary 5%" || { echo "weight changed"; return 1; }
	# ":promote 25" offers its weight in the same box (it was dropped)
	keys :
	keys -l "promote 25"
	keys Enter
	wait_for "target weight: 25_" || return 1
	keys Escape
	wait_for "promote cancelled" || return 1
}

# Rollback: one key, then y; the simulated edge's weight goes to 0 and the
# header says so. A key other than y cancels first.
t_rollback_flow() {
	start 80 24 --scenario p95-regression-25 --start T+131 || return 1
	wait_for "TRIGGER FIRING" || return 1
	screen | grep -F -q "canary 25%" || { echo "not at 25%"; return 1; }
	keys x
	wait_for "rollback?" || return 1
	keys n
	wait_for "rollback cancelled" || return 1
	screen | grep -F -q "canary 25%" || { echo "a cancelled rollback moved the weight"; return 1; }
	keys x
	wait_for "rollback?" || return 1
	screen | grep -F -q "canary 25% -> 0%" || { echo "dialog does not say the weights"; return 1; }
	keys y
	# y, then why: the default names the firing trigger; enter accepts it
	wait_for "why rollback?" || return 1
	screen | grep -F -q "Journey canary P95 > 160 ms: search P95" ||
		{ echo "no default reason from the firing trigger"; return 1; }
	screen | grep -F -q "enter: rollback" ||
		{ echo "the reason line does not say that enter rolls back"; return 1; }
	keys Enter
	wait_for "canary 0%" || return 1
	s=$(screen)
	echo "$s" | grep -F -q "rolled_back" || { echo "state not rolled_back"; return 1; }
	echo "$s" | grep -F -q "rollback by" || { echo "not in the log"; return 1; }
	echo "$s" | grep -F -q "edge read back 0%" || { echo "no read-back"; return 1; }
	wait_gone "TRIGGER FIRING" || return 1
	# a second rollback says there is nothing to take off before asking
	keys x
	wait_for "rollback?" || return 1
	screen | grep -F -q "already rolled back" ||
		{ echo "a second rollback does not say the canary is already at 0%"; return 1; }
	keys n
	wait_for "rollback cancelled" || return 1
}

# The DRI's drill at the trigger: a note, then a rollback with a typed
# reason in place of the one offered.
note_and_rollback() {
	wait_for "TRIGGER FIRING" || return 1
	keys n
	wait_for "note" || return 1
	keys -l "DB locks seen on the primary, watching"
	keys Enter
	wait_for "note by" || return 1
	keys x
	wait_for "rollback?" || return 1
	keys y
	wait_for "why rollback?" || return 1
	keys C-u
	keys -l "search P95 RED at 25%, rolling back"
	keys Enter
	wait_for "canary 0%" || return 1
}

# The drill of the postmortem: a note and a rollback with the DRI's own
# reason at T+130, then the journal replayed: the 156-171 ms RED, the
# reason, the note, stepping by event, a jump, and the end of the journal.
t_replay_drill() {
	start 120 40 --scenario p95-regression-25 --start T+131 --state-dir "$WORK/drill" || return 1
	note_and_rollback || return 1
	keys q
	wait_for "SHIPROOM-EXIT=0" || return 1
	start 120 40 replay "$WORK/drill/journal.jsonl" --speed 60 || return 1
	wait_for "REPLAY x60" || return 1
	# T+130: the trigger fired there (the journal ends at the rollback)
	keys :
	keys -l "T+130"
	keys Enter
	wait_for "replay at T+130" || return 1
	keys Space
	wait_for "PAUSED x60" || return 1
	# T+130:00 still had the 92 ms of the poll before; the next event is
	# the poll that turned search P95 RED, with the trigger firing
	screen | grep -F -q "ok search P95" || { echo "not GREEN at T+130:00"; return 1; }
	keys .
	wait_re "search P95 +[0-9hms]+/5m +1[4-9][0-9]ms" || return 1
	# a poll later, over 160 ms: the trigger fires
	keys .
	wait_for "TRIGGER FIRING" || return 1
	wait_for "PAUSED x60" || return 1
	# step by event to the rollback, then past the end
	keys :
	keys -l "goto T+200"
	keys Enter
	wait_for "end of journal at T+13" || return 1
	s=$(screen)
	echo "$s" | grep -F -q "search P95 RED at 25%, rolling back" || { echo "no DRI reason"; return 1; }
	echo "$s" | grep -F -q "rolled_back" || { echo "not rolled back"; return 1; }
	# the P95 the DRI saw when rolling back, RED, with its breach timer
	echo "$s" | grep -E -q "search P95 [0-9hms]+/5m +1[4-9][0-9]ms" || { echo "not the RED P95"; return 1; }
	keys / n o t e Enter
	wait_for "note by root: DB locks seen on the primary, watching" || return 1
	keys Escape
	keys ,
	wait_for "replay at T+13" || return 1
	keys q
	wait_for "SHIPROOM-EXIT=0" || return 1
}

# ---- live console against its replay ------------------------------------
#
# The live console is opened at a moment (--start, at --speed 0.001 so
# its clock stands still while it is read), maybe acted on, and its
# screen kept; it quits, and `shiproom replay` of its journal jumps past
# the end, where the replay stops at the same T+ (the journal's last
# event): the two screens must be the same, but for what a replay
# legitimately shows otherwise, masked by mask_live_replay:
#   - the header after the T+ clock: the live console's next-gate
#     countdown, the replay's "end of journal at T+N" badge and "RO";
#   - the last two rows: the live view list and key bar, the replay's
#     end-of-journal line and its own key bar (read-only, replay keys);
#   - in the workflow strip, the approvers named on the "Next:" row (the
#     simulator drill adds the console's own user to the roster of a
#     live console, session.c; a read-only replay does not) and the
#     right-hand cells, webhook and reports (a replay posts and writes
#     nothing);
#   - event rows of kind "info" (who attached, the service's socket, the
#     drill's roster: the live process's own notices, never journaled)
#     and, for the same reason, the count in the "Events (N)" title.
# Everything else - the decision and its reasons, every journey row and
# KPI cell with values, breach timers and statuses, the trigger banner,
# the timeline, the workflow strip's other cells and every journaled
# event row, in order - must be the same to the character.
mask_live_replay() {
	awk '
	NR == 1 { sub(/T[+-][0-9]+.*/, substr($0, match($0, /T[+-][0-9]+/), RLENGTH)); print; next }
	/^── Workflow / { wf = 1; print; next }
	/^── Events \(/ { wf = 0; sub(/\([0-9]+\)/, "(N)"); print; next }
	/^ T[+-][0-9]+ +[A-Z][a-z][a-z] [0-9:]+ +info / { next }
	wf { $0 = substr($0, 1, 74) "<webhook/reports>" }
	wf && /^ Next: / { sub(/: [^:<]*</, ": <roster><") }
	{ print }
	' "$1" | sed '$d' | sed '$d'
}

# live_at NAME ARGS...: a live console with its journal in $WORK/NAME,
# its clock all but stopped (a virtual second every 1000 s).
live_at() {
	lr=$1
	shift
	start 120 40 "$@" --speed 0.001 --state-dir "$WORK/$lr"
}

# live_then_replay NAME: keep the live screen (stable for a second), quit,
# replay the journal to its end and compare the two, masked.
live_then_replay() {
	lr=$1
	n=0
	screen >"$WORK/$lr.live"
	while [ $n -lt 50 ]; do
		sleep 1
		screen >"$WORK/$lr.live2"
		cmp -s "$WORK/$lr.live" "$WORK/$lr.live2" && break
		mv "$WORK/$lr.live2" "$WORK/$lr.live"
		n=$((n + 1))
	done
	grep -E -o "T[+-][0-9]+" "$WORK/$lr.live" | head -n 1 >"$WORK/$lr.at"
	keys q
	wait_for "SHIPROOM-EXIT=0" || return 1
	start 120 40 replay "$WORK/$lr/journal.jsonl" --speed 60 || return 1
	wait_for "REPLAY x60" || return 1
	keys :
	keys -l "goto T+9999"
	keys Enter
	wait_for "end of journal at $(cat "$WORK/$lr.at")" || return 1
	sleep 1
	screen >"$WORK/$lr.replay"
	mask_live_replay "$WORK/$lr.live" >"$WORK/$lr.live.masked"
	# the live screen's info rows leave room for as many older events
	# in the replay's log: compare as many rows as the live one kept
	mask_live_replay "$WORK/$lr.replay" |
		head -n "$(wc -l <"$WORK/$lr.live.masked")" >"$WORK/$lr.replay.masked"
	# the masks must leave the screen's substance: the journeys and events
	# (a tile cuts a long name to keep its status: "Scholarship sear…")
	grep -q "Scholarship sear" "$WORK/$lr.live.masked" || { echo "masked away"; return 1; }
	if ! diff "$WORK/$lr.live.masked" "$WORK/$lr.replay.masked" >"$WORK/$lr.diff"; then
		echo "live (<) and replay (>) differ at $(cat "$WORK/$lr.at"):"
		cat "$WORK/$lr.diff"
		return 1
	fi
	keys q
	wait_for "SHIPROOM-EXIT=0" || return 1
}

# Healthy, half an hour into 5%: observing, every journey GREEN.
t_live_replay_healthy_observing() {
	live_at lr1 --scenario healthy --seed 42 --start T+30 || return 1
	wait_for "Provider dashboard" || return 1
	wait_re "Events \([0-9]+\)" || return 1
	live_then_replay lr1
}

# Healthy, just past Gate 1: approved at T+85, promoted to 25% at T+91.
t_live_replay_healthy_gate1() {
	live_at lr2 --scenario healthy --seed 42 --start T+92 || return 1
	wait_for "canary 25%" || return 1
	wait_for "promote to 25% by dri" || return 1
	wait_for "Gate 1 approved by approver" || return 1
	live_then_replay lr2
}

# p95-regression-25 at T+131: search P95 RED with its breach timer, the
# p95_over_160 trigger firing, the decision ROLLBACK.
t_live_replay_p95_trigger() {
	live_at lr3 --scenario p95-regression-25 --start T+131 || return 1
	wait_for "TRIGGER FIRING" || return 1
	wait_re "search P95 +[0-9hms]+/5m" || return 1
	live_then_replay lr3
}

# The same moment, acted on from the keyboard: a note, then a rollback
# with a typed reason; the replay shows the outcome as the console did.
t_live_replay_p95_rollback() {
	live_at lr4 --scenario p95-regression-25 --start T+131 || return 1
	note_and_rollback || return 1
	wait_for "rollback by" || return 1
	live_then_replay lr4
}

# TERM=dumb cannot address the cursor: refused with a clear message, not
# one line of screen.
t_dumb_terminal() {
	ENVV="TERM=dumb" start 80 24 --scenario healthy || return 1
	wait_for "cannot move the cursor" || return 1
	wait_for "SHIPROOM-EXIT=1" || return 1
}

# The event log scrolls back (PgUp, Home) and forward (PgDn, End).
t_log_scroll() {
	start 120 40 --scenario healthy --start T+100 || return 1
	wait_re "Events \([0-9]+\)" || return 1
	newest=$(screen | grep -A1 "Events (" | tail -1)
	keys PPage
	wait_for "newer above: PgDn, End" || return 1
	screen | grep -F -q -- "$newest" && { echo "PgUp left the newest row in view"; return 1; }
	keys Home
	wait_for "simulator: scenario healthy" || return 1
	keys End
	wait_gone "newer above" || return 1
	screen | grep -F -q -- "$newest" || { echo "End did not come back to the newest"; return 1; }
}

t_quit_restores_terminal() {
	start 80 24 --scenario healthy --start T+30 || return 1
	wait_for "Provider dashboard" || return 1
	[ "$(fmt '#{alternate_on}')" = 1 ] || { echo "console not on the alternate screen"; return 1; }
	keys q
	wait_for "SHIPROOM-EXIT=0" || return 1
	[ "$(fmt '#{alternate_on}')" = 0 ] || { echo "alternate screen left on"; return 1; }
	[ "$(fmt '#{cursor_flag}')" = 1 ] || { echo "cursor left hidden"; return 1; }
	[ "$(fmt '#{keypad_cursor_flag}')" = 0 ] || { echo "keypad mode left on"; return 1; }
}

# ^Z under a shell with job control: the shell gets the terminal back as
# it was (modes, main screen, cursor), what is typed there never reaches
# the console, and `fg` brings the console back, repainted and live. The
# raw terminal sends ^Z as a key: before, it did nothing, and the shell
# command typed next went to the console ("a", enter: a gate approved).
t_ctrl_z_suspends() {
	start_shell 80 24 || return 1
	keys "stty -g >stty.before; \"$BIN\" --scenario healthy --start T+30" Enter
	wait_for "Provider dashboard" || return 1
	keys C-z
	wait_for "Stopped" || return 1
	[ "$(fmt '#{alternate_on}')" = 0 ] || { echo "alternate screen left on"; return 1; }
	[ "$(fmt '#{cursor_flag}')" = 1 ] || { echo "cursor left hidden"; return 1; }
	keys "stty -g >stty.after; cmp -s stty.before stty.after && echo MODES-SAME; echo a" Enter
	wait_for "MODES-SAME" || { echo "the terminal's modes differ from before the console"; return 1; }
	keys "fg" Enter
	wait_for "Provider dashboard" || return 1
	[ "$(fmt '#{alternate_on}')" = 1 ] || { echo "not back on the alternate screen"; return 1; }
	wait_re "T\+3[1-9]|data [0-9]s" 20 || return 1
	! screen | grep -F -q "approved by" || { echo "a shell's keys reached the console"; return 1; }
	keys q
	wait_for '$ ' || return 1
}

# Where no shell can continue it (a window's only program, ssh host
# shiproom), ^Z must not freeze the console: it says why and goes on.
t_ctrl_z_without_job_control() {
	start 80 24 --scenario healthy --start T+30 || return 1
	wait_for "Provider dashboard" || return 1
	keys C-z
	wait_for "not suspended: no shell with job control" || return 1
	keys 2
	wait_for "KPIs: 39 checks" || { echo "the console stopped answering"; return 1; }
}

t_sigterm_restores_terminal() {
	start 80 24 --scenario healthy --start T+30 || return 1
	wait_for "Provider dashboard" || return 1
	pid=$(shiproom_pid)
	[ -n "$pid" ] || { echo "no pid"; return 1; }
	kill -TERM "$pid"
	wait_for "SHIPROOM-EXIT=143" || return 1
	[ "$(fmt '#{alternate_on}')" = 0 ] || { echo "alternate screen left on"; return 1; }
	[ "$(fmt '#{cursor_flag}')" = 1 ] || { echo "cursor left hidden"; return 1; }
}

# A crash must not leave the terminal unusable: SIGSEGV goes through the
# fatal-signal restore, then kills the process as before.
t_crash_restores_terminal() {
	start 80 24 --scenario healthy --start T+30 || return 1
	wait_for "Provider dashboard" || return 1
	pid=$(shiproom_pid)
	[ -n "$pid" ] || { echo "no pid"; return 1; }
	kill -SEGV "$pid"
	wait_re "SHIPROOM-EXIT=(139|1)" || return 1
	[ "$(fmt '#{alternate_on}')" = 0 ] || { echo "alternate screen left on"; return 1; }
	[ "$(fmt '#{cursor_flag}')" = 1 ] || { echo "cursor left hidden"; return 1; }
}

# NO_COLOR: attributes only, no colour escape at all; without it, colour.
t_no_color() {
	ENVV="NO_COLOR=1" start 80 24 --scenario p95-regression-25 --start T+131 || return 1
	wait_for "TRIGGER FIRING" || return 1
	esc=$($TM capture-pane -e -p -t t)
	if printf '%s' "$esc" | grep -E -q '\[([0-9;]*;)?(3[0-7]|4[0-7]|9[0-7]|38;5;[0-9]+|48;5;[0-9]+)(;[0-9;]*)?m'; then
		echo "colour escapes under NO_COLOR"
		return 1
	fi
	# The RED row still stands out: reverse video, and its words.
	printf '%s' "$esc" | grep -q 'X RED' || { echo "no RED text"; return 1; }
	printf '%s' "$esc" | grep -q '\[7m\|;7m\|\[1;7m\|7;1m' || { echo "no reverse video"; return 1; }
	start 80 24 --scenario p95-regression-25 --start T+131 || return 1
	wait_for "TRIGGER FIRING" || return 1
	$TM capture-pane -e -p -t t | grep -E -q '38;5;[0-9]+|\[3[0-7]m|;3[0-7]m' || { echo "no colour without NO_COLOR"; return 1; }
}

t_ascii() {
	start 80 24 --scenario healthy --start T+30 --ascii || return 1
	wait_for "Provider dashboard" || return 1
	if screen | LC_ALL=C grep -q '[^ -~]'; then
		echo "non-ASCII on an --ascii screen:"
		screen | LC_ALL=C grep -n '[^ -~]' | head -3
		return 1
	fi
	screen | grep -F -q -- "---" || { echo "no ASCII rules"; return 1; }
	# Gate 1 passed at T+90 and the gates ahead look different: * and +.
	start 80 24 --scenario healthy --start T+100 --ascii || return 1
	wait_for "Provider dashboard" || return 1
	axis=$(screen | grep -E -- "-+ 5% -+" | head -1)
	echo "$axis" | grep -F -q "*" || { echo "no passed-gate mark: $axis"; return 1; }
	echo "$axis" | grep -E -q -- "-\+-" || { echo "no pending-gate mark: $axis"; return 1; }
	# A locale that is not UTF-8 gives ASCII without being asked.
	ENVV="LC_ALL=C" start 80 24 --scenario healthy --start T+30 || return 1
	wait_for "Provider dashboard" || return 1
	if screen | LC_ALL=C grep -q '[^ -~]'; then
		echo "non-ASCII under LC_ALL=C"
		return 1
	fi
}

# An SSH drop: SIGHUP ends the session (no action is in flight on the
# synchronous simulated edge) and the terminal is restored.
t_sighup() {
	start 80 24 --scenario healthy --start T+30 || return 1
	wait_for "Provider dashboard" || return 1
	pid=$(shiproom_pid)
	[ -n "$pid" ] || { echo "no pid"; return 1; }
	kill -HUP "$pid"
	wait_for "SHIPROOM-EXIT=129" || return 1
	[ "$(fmt '#{alternate_on}')" = 0 ] || { echo "alternate screen left on"; return 1; }
}

t_views() {
	start 80 24 --scenario healthy --start T+100 || return 1
	wait_for "canary 25%" || return 1
	keys 2
	wait_for "KPIs: 39 checks (27 gating)" || return 1
	keys 4
	wait_for "Pre-flight  4/4" || return 1
	keys 5
	wait_for "Gates and approvals" || return 1
	screen | grep -E -q "Gate 1 +T\+90 +5%->25% +passed" || { echo "gate 1 not passed"; return 1; }
	keys 1 Enter
	wait_for "search P95  (P95 latency by journey)" || return 1
	screen | grep -F -q "canary  control  limit" || { echo "no chart legend"; return 1; }
	screen | grep -F -q "c: braille" || { echo "not braille on UTF-8"; return 1; }
	keys c
	wait_for "c: blocks" || return 1
	keys c
	wait_for "c: ascii" || return 1
	keys Tab
	wait_for "search P99  (P99 latency)" || return 1
	keys Escape
	wait_for "Provider dashboard" || return 1
	# the command line reaches every view, by name or by its key (":view
	# who" and ":view 3" were "no view", the list without who)
	keys :
	keys -l "view who"
	keys Enter
	wait_for "Who is attached to this rollout" || return 1
	keys :
	keys -l "view 3"
	keys Enter
	wait_for "Rollback triggers" || return 1
	keys :
	keys -l "view nowhere"
	keys Enter
	wait_for "no view \"nowhere\" (main kpis" || return 1
}

# Tick a checklist item from the checklists view through the dispatcher.
t_checklist_tick() {
	start 80 24 --scenario healthy --start T+30 || return 1
	wait_for "Provider dashboard" || return 1
	keys 4
	wait_for "Risk watchlist  0/11" || return 1
	keys j j j j
	keys Space
	wait_for "Risk watchlist  1/11" || return 1
	screen | grep -F -q "watchlist: cache_hit ticked by" || { echo "no done message"; return 1; }
}

# ---- the ship-room workflow (issue 5) and the console polish -------------

# The reports need main to hand the console its templates (console.h):
# say so plainly instead of timing out.
no_templates() {
	if screen | grep -F -q "reports are off: this console has no report templates"; then
		echo "this binary's console has no report templates: main must fill"
		echo "sr_console_opts.templates and .state_dir (include/shiproom/console.h)"
		return 0
	fi
	return 1
}

# g opens the gate report of the gate ahead in the pager: its title, the
# decision, scrolling, tab to the next gate, w writes it to the state dir,
# esc goes back; c opens the phase card the same way.
t_report_pager() {
	state="$WORK/state-pager"
	start 80 24 --scenario healthy --seed 42 --start T+30 --state-dir "$state" || return 1
	wait_for "Provider dashboard" || return 1
	keys g
	if ! wait_for "Gate 1 report" 5; then
		no_templates
		return 1
	fi
	s=$(screen)
	echo "$s" | grep -F -q "Gate 1 report: scholarship-canary" || { echo "no report heading"; return 1; }
	echo "$s" | grep -F -q "Decision: NO-GO" || { echo "no decision"; return 1; }
	echo "$s" | grep -F -q "Gate 1 needs 1 approval from gate_approver" || { echo "no approvals"; return 1; }
	echo "$s" | grep -E -q "lines 1-[0-9]+/[0-9]+" || { echo "no position"; return 1; }
	# Down to the control-vs-canary tables.
	keys PageDown PageDown
	wait_re "lines [3-9][0-9]-" || return 1
	screen | grep -E -q "\| search P95 +\| GREEN" || { echo "no KPI table after paging"; return 1; }
	keys w
	wait_re "wrote .*/gate-1-T\+3[0-9]\.md \(and \.json\)" || return 1
	ls "$state"/gate-1-T+3*.md >/dev/null 2>&1 || { echo "no gate report file in $state"; return 1; }
	ls "$state"/gate-1-T+3*.json >/dev/null 2>&1 || { echo "no JSON next to it"; return 1; }
	grep -F -q "# Gate 1 report" "$state"/gate-1-T+3*.md || { echo "the file is not the report"; return 1; }
	keys Tab
	wait_for "Gate 2 report" || return 1
	keys Escape
	wait_for "Provider dashboard" || return 1
	keys c
	wait_for "Phase summary: 5%" || return 1
	screen | grep -F -q "Recommended action: NO-GO" || { echo "card without its action"; return 1; }
	screen | grep -E -q "\| search +\| +[0-9.]+ms \| +[0-9.]+ms" || { echo "card without P50/P95"; return 1; }
	keys Escape
	wait_for "Provider dashboard" || return 1
}

# The rollback flow of p95-regression-25, then the postmortem deadline:
# 48 hours from the rollback (Wed 10:11 -> Fri 10:11), on the main screen
# and in the workflow view.
t_postmortem_deadline() {
	start 80 24 --scenario p95-regression-25 --start T+131 || return 1
	wait_for "TRIGGER FIRING" || return 1
	screen | grep -F -q "postmortem due" && { echo "a deadline before any rollback"; return 1; }
	keys x
	wait_for "rollback?" || return 1
	keys y
	wait_for "why rollback?" || return 1
	keys Enter
	wait_for "canary 0%" || return 1
	wait_re "postmortem due in 4[78]h[0-9][0-9]m \(Fri 10:1[0-9]\)" || return 1
	keys 6
	wait_for "Rolled back" || return 1
	s=$(screen)
	echo "$s" | grep -E -q "postmortem due in 4[78]h[0-9][0-9]m \(Fri 10:1[0-9]\)" || { echo "not in view 6"; return 1; }
	echo "$s" | grep -F -q "Next step       none: the rollout was rolled back" || { echo "a next step after a rollback"; return 1; }
}

# With templates and a state dir the console writes the postmortem
# placeholder at once on a rollback (not at the next poll) and says where.
t_postmortem_placeholder() {
	state="$WORK/state-postmortem"
	start 80 24 --scenario p95-regression-25 --start T+131 --state-dir "$state" || return 1
	wait_for "TRIGGER FIRING" || return 1
	keys x
	wait_for "rollback?" || return 1
	keys y
	wait_for "why rollback?" || return 1
	keys C-u
	keys -l "DRI: search P95 171ms at 25%"
	keys Enter
	wait_for "canary 0%" || return 1
	keys 6
	wait_for "Rolled back" || return 1
	if screen | grep -F -q "reports: off (no templates loaded)"; then
		echo "this binary's console has no report templates: main must fill"
		echo "sr_console_opts.templates and .state_dir (include/shiproom/console.h)"
		return 1
	fi
	wait_for "placeholder written: postmortem-T+131.md" 5 || return 1
	[ -f "$state/postmortem-T+131.md" ] || { echo "no placeholder file in $state"; return 1; }
	grep -q "ostmortem" "$state/postmortem-T+131.md" || { echo "not a postmortem"; return 1; }
	# the reason the DRI typed, not "from the console"
	grep -F -q "Reason given:** DRI: search P95 171ms at 25%" "$state/postmortem-T+131.md" ||
		{ echo "the typed reason is not in the placeholder"; grep -i reason "$state/postmortem-T+131.md"; return 1; }
}

# The status-page tile: Operational on a healthy rollout; Degraded
# performance with its reason when a user-facing KPI is RED.
t_status_page_tile() {
	start 80 24 --scenario healthy --seed 42 --start T+30 || return 1
	wait_for "Provider dashboard" || return 1
	screen | grep -F -q "Status page ok Operational" || { echo "no GREEN status page"; return 1; }
	start 160 48 --scenario p95-regression-25 --start T+131 || return 1
	wait_for "TRIGGER FIRING" || return 1
	wait_re "Status page +! YELLOW Degraded performance: user impact: search P95 RED" || return 1
	keys 6
	wait_for "Workflow   g gate report" || return 1
	screen | grep -E -q "Status page +! YELLOW  Degraded performance" || { echo "not in view 6"; return 1; }
	screen | grep -F -q "rule: GREEN unless an SLO breach is sustained" || { echo "no rule"; return 1; }
}

# P50, P95 and P99 of canary and control on every journey row at 80x24;
# all three rows in every boxed tile at 160x48.
t_p50_tiles() {
	start 80 24 --scenario healthy --seed 42 --start T+30 || return 1
	wait_for "Provider dashboard" || return 1
	s=$(screen)
	echo "$s" | grep -E -q "Journey +P50 +ctl +P95 +ctl +lim +P99 +ctl +Status" || { echo "no P50 heading"; return 1; }
	n=$(journey_lines | grep -E -c "^[> ] [A-Z][a-z]+( [a-z]+)? +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +1[23]0 +[0-9]+ +[0-9]+ +ok GREEN$")
	[ "$n" -eq 6 ] || { echo "$n of 6 rows with P50/P95/P99 and a status"; return 1; }
	start 160 48 --scenario healthy --seed 42 --start T+30 || return 1
	wait_for "Provider dashboard" || return 1
	for q in P50 P95 P99; do
		n=$(screen | grep -o "│ $q  *[0-9]*ms  *[0-9]*ms" | wc -l)
		[ "$n" -eq 6 ] || { echo "$n of 6 tiles with a $q row"; return 1; }
	done
}

# The first data turns every check GREEN within a minute: folded into a
# row per minute, not 39 lines.
t_first_data_folded() {
	start 80 24 --scenario healthy --seed 42 --start T+5 || return 1
	wait_for "Provider dashboard" || return 1
	wait_re "T\+0 +ok engine +[0-9]+ checks GREEN \(first data\)" || return 1
	s=$(screen | sed -n '/Events (/,$p')
	echo "$s" | grep -E -q "T\+1 +ok engine +[0-9]+ checks GREEN \(first data\)" || { echo "T+1 not folded"; return 1; }
	if echo "$s" | grep -E -q "(P95|P99|P50) GREEN:"; then
		echo "an unfolded first-data line"
		return 1
	fi
}

# '/' filters the event log and the KPI list; esc clears.
t_filter() {
	start 80 24 --scenario healthy --seed 42 --start T+30 || return 1
	wait_for "Provider dashboard" || return 1
	keys /
	wait_for "filtering the event log" || return 1
	keys s e a r c h
	wait_re "Events /search/ [0-9]+ of [0-9]+" || return 1
	rows=$(screen | sed -n '/Events \//,$p' | sed -n '2,5p')
	[ -n "$rows" ] || { echo "no rows"; return 1; }
	if echo "$rows" | grep -v -i -q "search"; then
		echo "a row without 'search':"
		echo "$rows"
		return 1
	fi
	keys Enter
	wait_for "esc clears" || return 1
	wait_gone "filtering the event log" || return 1
	keys Escape
	wait_re "Events \([0-9]+\)" || return 1
	keys 2
	wait_for "KPIs: 39 checks" || return 1
	keys / p 5 0
	wait_for "KPIs /p50/: 6 of 39 checks" || return 1
	[ "$(screen | grep -c " P50  ")" -eq 6 ] || { echo "not the 6 P50 cells"; return 1; }
	keys Enter Escape
	wait_for "KPIs: 39 checks (27 gating)" || return 1
	# esc again leaves the view.
	keys Escape
	wait_for "Provider dashboard" || return 1
}

# issue 9: at 80x24 an overdue gate read like a future one ("Gate 3 due
# 2h31m": its "ago" was cut). The word comes before the number.
t_gate_overdue_80x24() {
	start 80 24 --scenario overnight-hold --start T+603 || return 1
	wait_for "Gate 3 OVERDUE 2h" || return 1
	screen | head -n 1 | grep -q "Gate 3 due" && { echo "overdue reads as due"; return 1; }
	return 0
}

# issue 9: a RED tile whose journey has a 21-character name lost its
# status word at 160 columns (8 journeys: 4 tiles a row). The name is
# cut, never the status.
t_long_name_keeps_status_160() {
	python3 - "$ROOT/config/shiproom.json" "$WORK/long.json" <<-'PY' || return 1
		import json, sys
		p = json.load(open(sys.argv[1]))
		p["journeys"][0]["name"] = "Scholarship searching"
		p["journeys"] += [{"id": "extra_one", "name": "Extra one"},
		                  {"id": "extra_two", "name": "Extra two"}]
		json.dump(p, open(sys.argv[2], "w"))
	PY
	start 160 48 --policy "$WORK/long.json" --scenario p95-regression-25 --start T+131 || return 1
	wait_for "Scholarship sear" || return 1
	screen | grep -F "Scholarship sear" | grep -q "X RED" || { echo "the RED tile has no status"; return 1; }
	return 0
}

# issue 9: a monitor-only P99 at twice the control or more read "ok
# GREEN". It still never holds, but it is marked to watch (YELLOW "!").
t_p99_tail_watch_160() {
	python3 - "$ROOT/config/scenarios/healthy.json" "$WORK/tail.json" <<-'PY' || return 1
		import json, sys
		s = json.load(open(sys.argv[1]))
		s["name"] = "p99-tail"
		s["effects"] = s.get("effects", []) + [{"from_min": 90, "to_min": 600,
		    "kpi": "p99_latency", "journey": "search", "cohort": "canary", "scale": 3.0}]
		json.dump(s, open(sys.argv[2], "w"))
	PY
	start 160 48 --scenario "$WORK/tail.json" --start T+100 || return 1
	wait_for "search P99" || return 1
	line=$(screen | grep -E "^ (ok|!|X) +search P99 " | head -n 1)
	echo "$line" | grep -q "^ ! " || { echo "the P99 tail is not marked: $line"; return 1; }
	return 0
}

# issue 9: after a self-approval the header, the approvals view and the
# workflow strip said "no approval missing" while this user's promote is
# refused (their own approval does not count): they say what is needed.
t_self_approval_shows_need() {
	python3 - "$ROOT/config/scenarios/healthy.json" "$WORK/self.json" <<-'PY' || return 1
		import json, sys
		s = json.load(open(sys.argv[1]))
		s["name"] = "self-approval"
		s["script"] = s["script"][:5]  # nobody else approves Gate 1
		json.dump(s, open(sys.argv[2], "w"))
	PY
	start 120 40 --scenario "$WORK/self.json" --start T+90 || return 1
	wait_for "Gate 1 needs 1 approval" || return 1
	keys a
	wait_for "why approve?" || return 1
	keys Enter
	wait_for "your promote: Gate 1 needs 1 approval from gate_approver: approver" || return 1
	keys 5
	wait_for "Next step: Gate 1 needs 1 approval from gate_approver: approver" || return 1
	screen | grep -q "no approval missing" && { echo "the approvals view says none is missing"; return 1; }
	keys 6
	wait_for "Workflow" || return 1
	screen | grep -q "approvals complete" && { echo "the workflow says approvals complete"; return 1; }
	return 0
}

# 500 journeys (tests/cli/gen_policy.py) at 80x24: the journey table
# shows the worst rows and summarises the others on its last row, the
# KPI groups, timeline and event log keep their place; the KPIs view's
# filter finds any journey's cells and enter opens one in the detail.
# A console restarted on its state dir goes on where the last process
# stopped: the breach that began at T+130 is minutes old at T+133 (one
# run says 2m45s; started again from 0 it said 0s), and the trend lines
# keep their history (not one bar).
t_restart_keeps_state() {
	"$BIN" status --scenario p95-regression-25 --at T+133 --state-dir "$WORK/restart" >/dev/null 2>&1
	[ -s "$WORK/restart/journal.jsonl" ] || { echo "no journal written"; return 1; }
	start 100 30 --scenario p95-regression-25 --start T+133 --speed 0.001 \
		--state-dir "$WORK/restart" || return 1
	wait_for "Scholarship search" 20 || return 1
	wait_re "Scholarship search .*RED 2m[0-9]+s/5m" || return 1
	bars=$(journey_lines | grep -F "Scholarship detail" | grep -o '[▁▂▃▄▅▆▇█]' | wc -l)
	[ "$bars" -ge 10 ] || { echo "trend of $bars bars after the restart"; return 1; }
}

# The console's service stops speaking (SIGSTOP: a debugger, a machine out
# of CPU) but keeps its socket open. Its last numbers must not pass for
# live ones: past 6 s of silence every cell is STALE and the decision
# HOLD, each saying why, and the status line names the pid; when the
# service speaks again, everything comes back.
# marked_old SCREEN: a console's screen while its service says nothing:
# no GREEN, the cells STALE, the decision HOLD.
marked_old() {
	if echo "$1" | grep -F -q "ok GREEN"; then
		echo "a GREEN cell while the service says nothing"
		return 1
	fi
	echo "$1" | grep -E -q "Scholarship search .*STALE" || { echo "no STALE cell"; return 1; }
	echo "$1" | grep -F -q "HOLD  no word from the service for" || { echo "no HOLD"; return 1; }
}

paused_screen() {
	wait_for "has said nothing for" 15 || return 1
	s=$(screen)
	marked_old "$s" || return 1
	echo "$s" | grep -F -q "(pid $1)" || { echo "the pid is not named"; return 1; }
}
t_service_paused() {
	start 100 30 --scenario healthy --start T+20 --speed 60 --state-dir "$WORK/paused" || return 1
	wait_for "ok GREEN" 20 || return 1
	spid=$(cat "$WORK/paused/service.pid") || return 1
	kill -STOP "$spid" || return 1
	paused_screen "$spid"
	rc=$?
	kill -CONT "$spid"
	[ $rc -eq 0 ] || return 1
	wait_for "speaks again" 10 || return 1
	wait_for "ok GREEN" 10 || return 1
	wait_gone "no word from the service" 5 || return 1
}

# The simulator's private service killed (kill -9): nothing restarts it
# (its day lived only in it). The console kept every cell GREEN with its
# clock running, and emptied its event log at the first attempt to attach
# again ("Events (0)"). Its numbers are now STALE at once, the decision
# HOLD, the clock stopped, and the log stays until a service answers.
t_service_killed() {
	start 100 30 --scenario healthy --start T+20 --speed 60 || return 1
	wait_for "ok GREEN" 20 || return 1
	spid=$(pgrep -f "serve --detach --socket $SHIPROOM_RUNTIME_DIR/" | head -n 1)
	[ -n "$spid" ] || { echo "no service process"; return 1; }
	kill -9 "$spid" || return 1
	wait_for "service is gone" 10 || return 1
	sleep 2.5 # two attempts to attach again
	s=$(screen)
	marked_old "$s" || return 1
	echo "$s" | grep -F -q "Events (0)" && { echo "the event log was emptied"; return 1; }
	t1=$(echo "$s" | head -n 1 | grep -E -o "T\+[0-9]+")
	sleep 2
	t2=$(screen | head -n 1 | grep -E -o "T\+[0-9]+")
	[ "$t1" = "$t2" ] || { echo "the clock runs on without a service ($t1 -> $t2)"; return 1; }
}

# A console attached to its service never speaks HTTP, so it never maps
# libcurl and its TLS stack (5 MB resident when linked at start:
# include/shiproom/curl_load.h). Neither does a simulator's service with
# no webhook.
t_console_without_tls() {
	start 100 30 --scenario healthy --start T+20 --state-dir "$WORK/notls" || return 1
	wait_for "ok GREEN" 20 || return 1
	cpid=$(shiproom_pid)
	spid=$(cat "$WORK/notls/service.pid") || return 1
	[ -r "/proc/$cpid/maps" ] || { echo "no console pid ($cpid)"; return 1; }
	for p in "$cpid" "$spid"; do
		if grep -E -q "libcurl|libssl|libgnutls" "/proc/$p/maps"; then
			echo "pid $p maps: $(grep -E -o "lib(curl|ssl|gnutls)[^ ]*" "/proc/$p/maps" | sort -u | tr '\n' ' ')"
			return 1
		fi
	done
}

# Journey names with wide characters (CJK, an emoji: two columns each)
# leave every number of their row whole. The frame's blank pass read a
# line's cells as one per column, but curses gives one per character, so
# after a wide one it blanked the last digit of each coloured number
# ("45" drawn "4 ", the limit "130" drawn "13 ").
t_wide_names() {
	python3 - "$ROOT/config/shiproom.json" "$WORK/wide.json" <<-'PY' || return 1
	import json, sys
	p = json.load(open(sys.argv[1]))
	p["journeys"][1]["name"] = "Détail \U0001F393 bourse"
	p["journeys"][2]["name"] = "申請開始 start"
	json.dump(p, open(sys.argv[2], "w"), ensure_ascii=False)
	PY
	start 80 24 --policy "$WORK/wide.json" --scenario p95-regression-25 --start T+131 || return 1
	wait_for "bourse" || return 1
	wait_for "申請開始" || return 1
	for j in bourse 申請開始; do
		row=$(screen | grep -F "$j")
		echo "$row" | grep -E -q " 130 +[0-9]{2,3} +[0-9]{2,3} +ok GREEN" ||
			{ echo "a number cut short in: $row"; return 1; }
	done
}

# A service start that takes a while (the simulator playing hours of a
# 500-journey day first) says so at once, instead of leaving the
# terminal as it was for seconds.
t_slow_start_says_so() {
	python3 "$TESTS/cli/gen_policy.py" 500 >"$WORK/p500s.json" || return 1
	start 80 24 --policy "$WORK/p500s.json" --scenario healthy --start T+120 || return 1
	wait_for "the simulator plays the day to T+120 first..." 10 || return 1
	wait_re "^ scholarship-canary .*T\+120" 60 || return 1
}

t_many_journeys() {
	python3 "$TESTS/cli/gen_policy.py" 500 >"$WORK/p500.json" || return 1
	start 80 24 --policy "$WORK/p500.json" --scenario healthy --seed 42 --start T-125 || return 1
	wait_re "\+ [0-9]+ more journeys: [0-9]+ " 30 || return 1
	s=$(screen)
	echo "$s" | grep -F -q "Journey  " || { echo "no table heading"; return 1; }
	echo "$s" | grep -F -q "Reliability" || { echo "no KPI groups"; return 1; }
	echo "$s" | grep -E -q "T-2h +T-0" || { echo "no timeline"; return 1; }
	echo "$s" | grep -F -q "Events (" || { echo "no event log"; return 1; }
	echo "$s" | grep -F -q "x rollback" || { echo "no key bar"; return 1; }
	keys 2
	wait_for "KPIs: 2518 checks" || return 1
	keys / j o u r n e y _ 3 2 1
	wait_for "KPIs /journey_321/: 5 of 2518 checks" || return 1
	keys Enter
	wait_gone "filtering" || true
	keys Enter
	wait_for "journey_321 P95  (P95 latency by journey)" || return 1
}

for t in many_journeys main_all_green main_all_green_160x48 red_breach_timer trigger_banner resize \
	resize_blind_keys paste_is_not_keys note_utf8 help \
	read_only promote_refused rollback_flow quit_restores_terminal sigterm_restores_terminal \
	crash_restores_terminal sighup no_color ascii views checklist_tick report_pager \
	postmortem_deadline postmortem_placeholder status_page_tile p50_tiles first_data_folded \
	filter replay_drill live_replay_healthy_observing live_replay_healthy_gate1 \
	live_replay_p95_trigger live_replay_p95_rollback dumb_terminal log_scroll \
	gate_overdue_80x24 long_name_keeps_status_160 p99_tail_watch_160 self_approval_shows_need \
	restart_keeps_state service_paused service_killed console_without_tls ctrl_z_suspends \
	ctrl_z_without_job_control wide_names slow_start_says_so; do
	run "$t"
done

echo "# screen: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
