#!/bin/sh
# tests/e2e/etcd.sh - a real etcd cluster on loopback for the tests.
#
#   etcd.sh start DIR N        N members (1..7): prints the client URLs,
#                              comma separated, once every member is healthy
#   etcd.sh stop DIR           end every member (paused ones too) and wait
#   etcd.sh kill DIR NAME      kill -9 one member (m1, m2, ...)
#   etcd.sh pause DIR NAME     SIGSTOP it; resume: SIGCONT
#   etcd.sh resume DIR NAME
#   etcd.sh restart DIR NAME   start a killed member again on its data dir
#                              (it rejoins the cluster it was part of)
#   etcd.sh wait-healthy DIR NAME   until that member says it is healthy
#
# `start` picks free loopback ports (a client and a peer port per member),
# keeps member NAME's data in DIR/NAME.etcd and its log in DIR/NAME.log,
# and writes DIR/members: "NAME PID CLIENT_URL PEER_URL" per line (the
# pid column follows restarts). Heartbeat 50 ms and election 500 ms (or
# $SR_ETCD_HEARTBEAT_MS / $SR_ETCD_ELECTION_MS): a test's fail-over is
# quick, and loopback has no latency to cover. SR_ETCD_AUTH_TOKEN_TTL
# (seconds, default 300): how long an unused auth token lives.
# SR_ETCD_QUOTA_BYTES: the backend's space quota (default 0: etcd's own),
# small to make a cluster raise its NOSPACE alarm. With SR_E2E_OWNER=PID in
# the environment a watchdog per member stops it when that process goes
# away (a paused member is continued first so it can die), so even a
# test killed with -9 leaves no etcd running.
#
# TLS: with SR_ETCD_TLS=DIR2 (DIR2/ca.pem, server.pem, server-key.pem
# for 127.0.0.1, client.pem, client-key.pem) the client URLs are https and
# the members ask for client certificates signed by that CA
# (--client-cert-auth).
set -eu

ETCD=${ETCD:-etcd}

die() {
	echo "etcd.sh: $*" >&2
	exit 1
}

# kill -0 also succeeds on a zombie: a zombie counts as gone.
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	st=$(sed -n 's/^[0-9]* (.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null || echo "")
	[ "$st" != Z ]
}

free_ports() { # count: distinct ports, all bound at once so none repeats
	python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

healthy() { # client_url
	if [ -n "${SR_ETCD_TLS:-}" ]; then
		curl -fsS -m 2 --cacert "$SR_ETCD_TLS/ca.pem" --cert "$SR_ETCD_TLS/client.pem" \
			--key "$SR_ETCD_TLS/client-key.pem" "$1/health" 2>/dev/null | grep -q '"health":"true"'
	else
		curl -fsS -m 2 "$1/health" 2>/dev/null | grep -q '"health":"true"'
	fi
}

field() { # dir name column
	awk -v n="$2" -v c="$3" '$1 == n { print $c }' "$1/members"
}

set_pid() { # dir name pid
	awk -v n="$2" -v p="$3" '$1 == n { $2 = p } { print }' "$1/members" >"$1/members.tmp"
	mv "$1/members.tmp" "$1/members"
}

watchdog() { # pid
	[ -n "${SR_E2E_OWNER:-}" ] || return 0
	# Detached from our stdout so a caller reading it is not held open.
	(
		while kill -0 "$SR_E2E_OWNER" 2>/dev/null && alive "$1"; do sleep 1; done
		kill -CONT "$1" 2>/dev/null || true
		kill "$1" 2>/dev/null || true
		# A leader whose peers are gone waits seconds to hand over.
		i=0
		while alive "$1" && [ $i -lt 20 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		! alive "$1" || kill -9 "$1" 2>/dev/null || true
	) >/dev/null 2>&1 </dev/null &
}

# run_member DIR NAME CLIENT_URL PEER_URL STATE: one etcd in the
# background; prints its pid.
run_member() {
	dir=$1 name=$2 curl_=$3 purl=$4 state=$5
	tls=""
	if [ -n "${SR_ETCD_TLS:-}" ]; then
		tls="--cert-file=$SR_ETCD_TLS/server.pem --key-file=$SR_ETCD_TLS/server-key.pem"
		tls="$tls --trusted-ca-file=$SR_ETCD_TLS/ca.pem --client-cert-auth"
	fi
	# shellcheck disable=SC2086
	"$ETCD" --name "$name" --data-dir "$dir/$name.etcd" \
		--listen-client-urls "$curl_" --advertise-client-urls "$curl_" \
		--listen-peer-urls "$purl" --initial-advertise-peer-urls "$purl" \
		--initial-cluster "$(cat "$dir/cluster")" --initial-cluster-state "$state" \
		--initial-cluster-token "$(cat "$dir/token")" \
		--heartbeat-interval "${SR_ETCD_HEARTBEAT_MS:-50}" \
		--election-timeout "${SR_ETCD_ELECTION_MS:-500}" \
		--logger zap --log-outputs stderr --log-level warn $tls \
		--auth-token-ttl "${SR_ETCD_AUTH_TOKEN_TTL:-300}" \
		--quota-backend-bytes "${SR_ETCD_QUOTA_BYTES:-0}" \
		>>"$dir/$name.log" 2>&1 </dev/null &
	echo $!
}

wait_healthy() { # dir name
	url=$(field "$1" "$2" 3)
	pid=$(field "$1" "$2" 2)
	[ -n "$url" ] || die "no member $2 in $1/members"
	i=0
	until healthy "$url"; do
		alive "$pid" || die "$2 exited: $(tail -5 "$1/$2.log")"
		i=$((i + 1))
		[ $i -le 300 ] || die "$2 not healthy at $url within 30 s: $(tail -3 "$1/$2.log")"
		sleep 0.1
	done
}

start() {
	[ $# -eq 2 ] || die "usage: etcd.sh start DIR N"
	dir=$1 n=$2
	case $n in [1-7]) ;; *) die "N: from 1 to 7 members" ;; esac
	command -v "$ETCD" >/dev/null 2>&1 || [ -x "$ETCD" ] ||
		die "etcd not found (install the Debian package etcd-server: make deps)"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[ ! -s "$dir/members" ] || die "$dir/members exists: stop that cluster first"
	rm -rf "$dir"/m[1-7].etcd # a new cluster: no member's old state
	scheme=http
	[ -z "${SR_ETCD_TLS:-}" ] || scheme=https
	# shellcheck disable=SC2046
	set -- $(free_ports $((2 * n)))
	: >"$dir/members.new"
	cluster="" endpoints=""
	i=1
	while [ $i -le "$n" ]; do
		c=$1 p=$2
		shift 2
		echo "m$i 0 $scheme://127.0.0.1:$c http://127.0.0.1:$p" >>"$dir/members.new"
		cluster="$cluster${cluster:+,}m$i=http://127.0.0.1:$p"
		endpoints="$endpoints${endpoints:+,}$scheme://127.0.0.1:$c"
		i=$((i + 1))
	done
	echo "$cluster" >"$dir/cluster"
	echo "shiproom-test-$$-$(date +%s)" >"$dir/token"
	mv "$dir/members.new" "$dir/members"
	while read -r name _ curl_ purl; do
		pid=$(run_member "$dir" "$name" "$curl_" "$purl" new)
		set_pid "$dir" "$name" "$pid"
		watchdog "$pid"
	done <"$dir/members"
	for name in $(awk '{ print $1 }' "$dir/members"); do
		wait_healthy "$dir" "$name"
	done
	echo "$endpoints"
}

member_pid() { # dir name
	[ -s "$1/members" ] || die "no cluster in $1"
	pid=$(field "$1" "$2" 2)
	case "$pid" in '' | *[!0-9]*) die "no member $2 in $1/members" ;; esac
	echo "$pid"
}

stop() {
	[ $# -eq 1 ] || die "usage: etcd.sh stop DIR"
	[ -s "$1/members" ] || return 0
	pids=$(awk '{ print $2 }' "$1/members")
	for pid in $pids; do
		kill -CONT "$pid" 2>/dev/null || true
		kill "$pid" 2>/dev/null || true
	done
	for pid in $pids; do
		i=0
		while alive "$pid"; do
			i=$((i + 1))
			# A member shutting down waits for its peers; the data is
			# the test's to throw away, so 2 s is enough.
			if [ $i -gt 20 ]; then
				kill -9 "$pid" 2>/dev/null || true
				break
			fi
			sleep 0.1
		done
	done
	rm -f "$1/members"
}

kill9() {
	[ $# -eq 2 ] || die "usage: etcd.sh kill DIR NAME"
	pid=$(member_pid "$1" "$2")
	kill -9 "$pid" 2>/dev/null || true
	i=0
	while alive "$pid" && [ $i -lt 100 ]; do
		i=$((i + 1))
		sleep 0.05
	done
}

restart() {
	[ $# -eq 2 ] || die "usage: etcd.sh restart DIR NAME"
	dir=$(cd "$1" && pwd) name=$2
	pid=$(member_pid "$dir" "$name")
	! alive "$pid" || die "$name is running (pid $pid): kill it first"
	pid=$(run_member "$dir" "$name" "$(field "$dir" "$name" 3)" "$(field "$dir" "$name" 4)" existing)
	set_pid "$dir" "$name" "$pid"
	watchdog "$pid"
	wait_healthy "$dir" "$name"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
start) start "$@" ;;
stop) stop "$@" ;;
kill) kill9 "$@" ;;
pause) [ $# -eq 2 ] || die "usage: etcd.sh pause DIR NAME"; kill -STOP "$(member_pid "$1" "$2")" ;;
resume) [ $# -eq 2 ] || die "usage: etcd.sh resume DIR NAME"; kill -CONT "$(member_pid "$1" "$2")" ;;
restart) restart "$@" ;;
wait-healthy) [ $# -eq 2 ] || die "usage: etcd.sh wait-healthy DIR NAME"; wait_healthy "$@" ;;
*) die "usage: etcd.sh start DIR N | stop DIR | kill|pause|resume|restart|wait-healthy DIR NAME" ;;
esac
