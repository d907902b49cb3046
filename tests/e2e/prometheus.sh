#!/bin/sh
# tests/e2e/prometheus.sh - start and stop a real Prometheus for the tests.
#
#   prometheus.sh start DIR PORT TARGET...   TARGET: host:port serving /metrics
#   prometheus.sh stop DIR
#   prometheus.sh free-port                  print a free loopback port
#
# `start` writes DIR/prometheus.yml (scrape_interval 1s, or
# $SR_E2E_SCRAPE_S seconds: the benchmark's 15 s; one job `app` over the
# TARGETs), keeps the TSDB in DIR/data (a restart on the same DIR
# keeps the data, like a real restart), listens on 127.0.0.1:PORT only,
# logs to DIR/prometheus.log, records its pid in DIR/prometheus.pid and
# returns once /-/ready answers (30 s at most). With SR_E2E_OWNER=PID in
# the environment a watchdog also stops Prometheus when that process
# goes away, so even a test killed with -9 leaves nothing running.
# `stop` ends exactly that process (by its pid file) and waits for it.
set -eu

PROMETHEUS=${PROMETHEUS:-prometheus}

die() {
	echo "prometheus.sh: $*" >&2
	exit 1
}

# kill -0 also succeeds on a zombie, and an orphan's zombie may never be
# reaped here (pid 1 is not always an init): a zombie counts as gone.
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	st=$(sed -n 's/^[0-9]* (.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null || echo "")
	[ "$st" != Z ]
}

ready() { # port
	if command -v curl >/dev/null 2>&1; then
		curl -fsS -m 2 "http://127.0.0.1:$1/-/ready" >/dev/null 2>&1
	else
		python3 - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen("http://127.0.0.1:%s/-/ready" % sys.argv[1], timeout=2).read()
PY
	fi
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
	[ $# -ge 3 ] || die "usage: prometheus.sh start DIR PORT TARGET..."
	dir=$1 port=$2
	shift 2
	command -v "$PROMETHEUS" >/dev/null 2>&1 || [ -x "$PROMETHEUS" ] ||
		die "prometheus not found (install the Debian package: make deps)"
	mkdir -p "$dir/data"
	dir=$(cd "$dir" && pwd)
	targets=""
	for t in "$@"; do
		targets="$targets${targets:+, }'$t'"
	done
	scrape=${SR_E2E_SCRAPE_S:-1}
	case $scrape in *[!0-9]* | '' | 0) die "SR_E2E_SCRAPE_S: a whole number of seconds" ;; esac
	cat >"$dir/prometheus.yml" <<YML
global:
  scrape_interval: ${scrape}s
  scrape_timeout: 1s
  evaluation_interval: ${scrape}s
scrape_configs:
  - job_name: app
    static_configs:
      - targets: [$targets]
YML
	if [ -s "$dir/prometheus.pid" ] && alive "$(cat "$dir/prometheus.pid")"; then
		die "already running with pid $(cat "$dir/prometheus.pid")"
	fi
	"$PROMETHEUS" --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
		--web.listen-address="127.0.0.1:$port" --storage.tsdb.retention.time=2h \
		--log.level=warn >>"$dir/prometheus.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$dir/prometheus.pid"
	if [ -n "${SR_E2E_OWNER:-}" ]; then
		# Detached from our stdout so a caller reading it is not held open.
		(
			while kill -0 "$SR_E2E_OWNER" 2>/dev/null && alive "$pid"; do sleep 1; done
			kill "$pid" 2>/dev/null || true
		) >/dev/null 2>&1 </dev/null &
	fi
	i=0
	until ready "$port"; do
		alive "$pid" || die "prometheus exited: $(tail -5 "$dir/prometheus.log")"
		i=$((i + 1))
		[ $i -le 300 ] || {
			kill "$pid" 2>/dev/null || true
			die "prometheus not ready on 127.0.0.1:$port within 30 s"
		}
		sleep 0.1
	done
}

stop() {
	[ $# -eq 1 ] || die "usage: prometheus.sh stop DIR"
	pidf=$1/prometheus.pid
	[ -s "$pidf" ] || return 0
	pid=$(head -n1 "$pidf")
	case "$pid" in '' | *[!0-9]*) die "bad pid file $pidf" ;; esac
	kill "$pid" 2>/dev/null || { rm -f "$pidf"; return 0; }
	i=0
	while alive "$pid"; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
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
*) die "usage: prometheus.sh start DIR PORT TARGET... | stop DIR | free-port" ;;
esac
