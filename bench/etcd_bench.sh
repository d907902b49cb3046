#!/bin/sh
# bench/etcd_bench.sh BUILD_DIR [N] - the cost of one journal append in
# etcd against the state dir's, in one run: a three-member etcd cluster on
# loopback (tests/e2e/etcd.sh, its data dirs on the same disk as the
# file), N (default 1000) appends of a 256-byte record as one txn each
# (two compares: the leader key's create revision, the record key absent;
# one put), each followed by the same bytes appended to a file and
# fsynced. Prints median, p99 and max of each (tests/e2e/etcd_probe.c,
# "bench"). BENCH_ETCD_DIR: where the cluster and the file live (default
# a directory under /tmp). Nothing here asserts.
set -eu
build=${1:-build}
n=${2:-1000}
cd "$(dirname "$0")/.."
command -v etcd >/dev/null 2>&1 || {
	echo "skipped: needs etcd (Debian etcd-server: make deps)"
	exit 0
}
work=$(mktemp -d "${BENCH_ETCD_DIR:-/tmp}/sr-etcd-bench-XXXXXX")
cleanup() {
	status=$?
	trap - EXIT INT TERM HUP
	tests/e2e/etcd.sh stop "$work/c" 2>/dev/null || true
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
export SR_E2E_OWNER=$$
fail() {
	echo "etcd_bench: $*" >&2
	exit 1
}
. tests/e2e/lib.sh
e2e_build_probe tests/e2e/etcd_probe.c "$work/etcd_probe" "$build"
# The cluster's default timings, not the tests' quick elections.
eps=$(SR_ETCD_HEARTBEAT_MS=100 SR_ETCD_ELECTION_MS=1000 tests/e2e/etcd.sh start "$work/c" 3)
printf '{"kind": "etcd", "endpoints": ["%s"]}\n' "$(echo "$eps" | sed 's/,/", "/g')" >"$work/store.json"
echo "etcd $(etcd --version | sed -n 's/^etcd Version: //p'), 3 members on loopback, $n appends; file on $(df -P "$work" | awk 'NR == 2 { print $1 }')"
"$work/etcd_probe" "$work/store.json" bench "$n" "$work/journal.jsonl" | sed '/^OK /d'
