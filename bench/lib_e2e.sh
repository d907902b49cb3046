# bench/lib_e2e.sh - sourced by the benchmarks that need the real thing:
# the end-to-end test's set-up (tests/e2e/) on loopback. Before sourcing,
# set `build` (the build dir) and optionally BENCH_SCRAPE_S (Prometheus'
# scrape_interval, default 1), BENCH_POLL_S (the policy's poll_s,
# default 1), BENCH_WINDOW (the rate window, default 10s) and
# BENCH_AUTO_ROLLBACK (default 1). It starts the fixture app as stable
# and canary (120 requests/s of self-load each), Prometheus scraping
# both, HAProxy in front, writes the e2e policy (tests/e2e/policy.py) to
# $pol, and sets: top bin e2e work pol poll scrape window limit sp cp pp;
# it defines now, weight (HAProxy's canary weight) and clean (wait until
# `status` reads every cell GREEN). Everything stops on exit.
scrape=${BENCH_SCRAPE_S:-1}
export SR_E2E_SCRAPE_S=$scrape
top=$(pwd)
bin=$top/$build/shiproom
e2e=$top/tests/e2e
work=$(mktemp -d /tmp/sr-bench-rb-XXXXXX)
pids=""
cleanup() {
	trap - EXIT INT TERM
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	"$e2e/prometheus.sh" stop "$work/prom" 2>/dev/null || true
	"$e2e/haproxy.sh" stop "$work/hap" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export SR_E2E_OWNER=$$
login=$(python3 -c 'import os, pwd; print(pwd.getpwuid(os.geteuid()).pw_name)')
now() { python3 -c 'import time; print("%.3f" % time.time())'; }

for v in stable canary; do
	python3 "$e2e/app.py" --variant "$v" --port 0 --self-load 120 --seed 7 --max-seconds 1800 \
		--owner-pid $$ >"$work/$v.out" 2>/dev/null &
	pids="$pids $!"
done
for v in stable canary; do
	i=0
	until grep -q '^PORT ' "$work/$v.out" 2>/dev/null; do
		i=$((i + 1)); [ $i -le 100 ] || { echo "app $v did not start" >&2; exit 1; }
		sleep 0.1
	done
done
sp=$(sed -n 's/^PORT //p' "$work/stable.out")
cp=$(sed -n 's/^PORT //p' "$work/canary.out")
pp=$("$e2e/prometheus.sh" free-port)
"$e2e/prometheus.sh" start "$work/prom" "$pp" "127.0.0.1:$sp" "127.0.0.1:$cp"
fp=$("$e2e/haproxy.sh" free-port)
st=$("$e2e/haproxy.sh" free-port)
"$e2e/haproxy.sh" start "$work/hap" "$fp" "$st" "$sp" "$cp"
pol=$work/policy.json
python3 "$e2e/policy.py" "$pol" --prom "http://127.0.0.1:$pp" --socket "unix:$work/hap/admin.sock" \
	--login "$login" $([ "${BENCH_AUTO_ROLLBACK:-1}" = 1 ] && echo --auto-rollback) --poll-s "${BENCH_POLL_S:-1}" --window "${BENCH_WINDOW:-10s}"
poll=$(python3 -c "import json; print(json.load(open('$pol'))['evaluation']['poll_s'])")
window=$(python3 -c "import json; w = json.load(open('$pol'))['source']['window']; print(int(w[:-1]) * (60 if w.endswith('m') else 1))")
# How long a run may take before it counts as a failure: four times the
# free-running worst case, and no less than a minute.
limit=$(python3 -c "print(max(60, int(4 * ($scrape + $poll + 0.05 * $window))))")

weight() {
	python3 - "$work/hap/admin.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"get weight app/canary\n")
print(s.recv(200).split()[0].decode())
PY
}
clean() { # wait until status reads every cell GREEN
	i=0
	while [ $i -lt $((2 * limit)) ]; do
		if "$bin" status --json --policy "$pol" --state-dir "$work/none" 2>/dev/null |
			python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if all(c["status"]=="GREEN" for c in d["cells"]) else 1)'; then
			return 0
		fi
		sleep 0.5
		i=$((i + 1))
	done
	echo "data never clean" >&2
	exit 1
}
start_rollout() { # STATE_DIR: a fresh rollout, pre-flight ticked, promoted to 5% by `shiproom act`
	"$bin" act tick --checklist preflight --item roster_posted --yes --t0 -1 --policy "$pol" --state-dir "$1" >/dev/null 2>&1
	for item in region_posted security_signoff dashboards_ready; do
		"$bin" act tick --checklist preflight --item "$item" --yes --policy "$pol" --state-dir "$1" >/dev/null 2>&1
	done
	"$bin" act promote --yes --policy "$pol" --state-dir "$1" >/dev/null 2>&1 || { echo "promote failed" >&2; exit 1; }
}
