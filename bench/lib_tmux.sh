# bench/lib_tmux.sh - sourced by the terminal benchmarks (term_bench.sh,
# redraw_bench.sh): tmux and htop present, a private tmux server ($TM on
# socket $SOCK) and a scratch directory ($DIR), both removed on exit, a
# UTF-8 locale, colours on.
# bench_tmux NAME: sets SOCK, TM and DIR; exits when tmux or htop is missing.
bench_tmux() {
	for tool in tmux htop; do
		command -v $tool >/dev/null 2>&1 || { echo "$1: $tool is not installed (make deps)"; exit 1; }
	done
	SOCK="shiproom-$1-$$"
	TM="tmux -u -L $SOCK -f /dev/null"
	DIR=$(mktemp -d "/tmp/shiproom-$1.XXXXXX")
	trap '$TM kill-server >/dev/null 2>&1; rm -rf "$DIR"; rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"' EXIT
	trap 'exit 130' INT TERM
	export LC_ALL=C.UTF-8
	unset NO_COLOR TMUX
}
