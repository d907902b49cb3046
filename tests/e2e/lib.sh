# tests/e2e/lib.sh - shell helpers the end-to-end tests share (sourced).
# The sourcing script defines fail(), $work, $here and app_pids.

# e2e_build_probe SRC OUT BUILD_DIR: a C probe against BUILD_DIR's
# libshiproom.a, never rebuilt from here (under `make asan` that would mix
# flags); under `make asan` (SR_SANITIZED=1) with the same sanitizers.
e2e_build_probe() {
	[ -f "$3/libshiproom.a" ] || fail "$3/libshiproom.a not built (run make first)"
	probe_cc=${CC:-cc}
	san=""
	if [ -n "${SR_SANITIZED:-}" ]; then
		probe_cc=clang
		san="-fsanitize=address,undefined"
	fi
	# shellcheck disable=SC2046,SC2086
	"$probe_cc" -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
		$san -Iinclude $(pkg-config --cflags libuv libcurl jansson) "$1" "$3/libshiproom.a" \
		$(pkg-config --libs ncursesw libuv jansson) -lm -ldl -o "$2" ||
		fail "cannot build $1"
}

# e2e_start_app VARIANT APP_ARGS...: the fixture app (app.py) in the
# background, watched by this shell's pid; waits for its port and writes
# it to $work/VARIANT.port. Not in $(...): a background job started in a
# subshell is not ours to kill.
e2e_start_app() {
	v=$1
	shift
	out=$work/app-$v.out
	python3 "$here/app.py" --variant "$v" --port 0 --owner-pid $$ "$@" \
		>"$out" 2>"$work/app-$v.err" &
	app_pids="$app_pids $!"
	i=0
	until grep -q '^PORT ' "$out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 100 ] || fail "app $v did not start: $(cat "$work/app-$v.err")"
		sleep 0.1
	done
	sed -n 's/^PORT //p' "$out" >"$work/$v.port"
}

# HAProxy's Runtime API on $work/hap/admin.sock (haproxy.sh start DIR):
# hap CMD prints the reply; hap_weight the canary's weight; hap_maint
# "yes" when the canary is in forced maintenance (admin state bit 0x1).
hap() {
	python3 - "$work/hap/admin.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
PY
}
hap_weight() { hap "get weight app/canary" | awk 'NR == 1 { print $1 }'; }
hap_maint() {
	hap "show servers state app" | awk '
		$1 == "#" { for (i = 2; i <= NF; i++) col[$i] = i - 1; next }
		$4 == "canary" { print (int($col["srv_admin_state"]) % 2 == 1) ? "yes" : "no" }'
}
