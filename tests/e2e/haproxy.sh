#!/bin/sh
# tests/e2e/haproxy.sh - start and stop a real HAProxy for the tests.
#
#   haproxy.sh start DIR FRONT_PORT STATS_PORT STABLE_PORT CANARY_PORT
#   haproxy.sh stop DIR
#   haproxy.sh free-port        print a free loopback TCP port
#
# `start` writes DIR/haproxy.cfg (one backend `app` with servers `stable`
# and `canary` on 127.0.0.1:STABLE_PORT / :CANARY_PORT, cookie stickiness,
# the Runtime API on the unix socket DIR/admin.sock and on
# 127.0.0.1:STATS_PORT, both at level admin), checks it with `haproxy -c`,
# and starts HAProxy in the background with its pid in DIR/haproxy.pid.
# Everything listens on loopback only. The canary starts at weight 0 and
# the stable server at 100, like a real edge before T-0.
# With SR_E2E_OWNER=PID in the environment a watchdog also stops HAProxy
# when that process goes away, so even a test killed with -9 leaves
# nothing running.
# `stop` ends exactly that process (by its pid file) and waits for it.
set -eu

HAPROXY=${HAPROXY:-haproxy}

die() {
	echo "haproxy.sh: $*" >&2
	exit 1
}

start() {
	[ $# -eq 5 ] || die "usage: haproxy.sh start DIR FRONT_PORT STATS_PORT STABLE_PORT CANARY_PORT"
	dir=$1 front=$2 stats=$3 stable=$4 canary=$5
	command -v "$HAPROXY" >/dev/null 2>&1 || [ -x "$HAPROXY" ] ||
		die "haproxy not found (install the Debian package: make deps)"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	# A unix socket path must fit in sun_path (108 bytes).
	[ ${#dir} -lt 90 ] || die "state dir path too long for a unix socket: $dir"
	cat >"$dir/haproxy.cfg" <<CFG
global
    stats socket $dir/admin.sock mode 600 level admin
    stats socket ipv4@127.0.0.1:$stats level admin
    stats timeout 10s
    maxconn 1024

defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:$front
    default_backend app

backend app
    balance roundrobin
    cookie SRV insert indirect nocache
    server stable 127.0.0.1:$stable cookie stable weight 100
    server canary 127.0.0.1:$canary cookie canary weight 0
CFG
	"$HAPROXY" -c -q -f "$dir/haproxy.cfg" || die "haproxy rejected $dir/haproxy.cfg"
	rm -f "$dir/haproxy.pid" "$dir/admin.sock"
	# -D: the parent returns once the listeners are bound and the worker
	# runs; -p records the pid for `stop`.
	"$HAPROXY" -D -p "$dir/haproxy.pid" -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 ||
		die "haproxy failed to start: $(cat "$dir/haproxy.log")"
	i=0
	while [ ! -S "$dir/admin.sock" ] || [ ! -s "$dir/haproxy.pid" ]; do
		i=$((i + 1))
		[ $i -le 50 ] || die "haproxy did not create $dir/admin.sock within 5 s"
		sleep 0.1
	done
	if [ -n "${SR_E2E_OWNER:-}" ]; then
		pid=$(head -n1 "$dir/haproxy.pid")
		# Detached from our stdout so a caller reading it is not held open.
		(
			while kill -0 "$SR_E2E_OWNER" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do
				sleep 1
			done
			kill "$pid" 2>/dev/null || true
		) >/dev/null 2>&1 </dev/null &
	fi
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

stop() {
	[ $# -eq 1 ] || die "usage: haproxy.sh stop DIR"
	pidf=$1/haproxy.pid
	[ -s "$pidf" ] || return 0
	pid=$(head -n1 "$pidf")
	case "$pid" in '' | *[!0-9]*) die "bad pid file $pidf" ;; esac
	kill "$pid" 2>/dev/null || { rm -f "$pidf"; return 0; }
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 50 ]; then
			kill -9 "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.1
	done
	rm -f "$pidf"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
start) start "$@" ;;
stop) stop "$@" ;;
free-port) free_port ;;
*) die "usage: haproxy.sh start DIR FRONT_PORT STATS_PORT STABLE_PORT CANARY_PORT | stop DIR | free-port" ;;
esac
