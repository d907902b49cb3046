#!/bin/sh
# tests/cli/many.sh BIN - hundreds of journeys: the shipped policy at 500
# journeys (tests/cli/gen_policy.py, 2518 cells) loads and plays; past the
# capacity (1024 journeys) the loader says what and where.
set -u
bin=${1:-build/shiproom}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib"

dir=$(mktemp -d /tmp/shiproom-many.XXXXXX)
python3 "$here/gen_policy.py" 500 >"$dir/p500.json" || bad "gen_policy.py 500"
python3 "$here/gen_policy.py" 1025 >"$dir/p1025.json" || bad "gen_policy.py 1025"

expect_out 0 "500 journeys load (2518 cells)" "2518 cells" "$bin" check-config "$dir/p500.json"
# The Prometheus example: {{journeys}} expands to 500 ids (about 7 kB) in
# every per-journey query, and each must still fit.
python3 "$here/gen_policy.py" 500 "$here/../../config/prometheus-haproxy.json" >"$dir/pp500.json" ||
	bad "gen_policy.py 500 prometheus-haproxy.json"
expect_out 0 "the Prometheus example at 500 journeys: every query expands" \
	"2518 cells, 4 phases, 3 gates, 3 triggers), source prometheus" \
	"$bin" check-config "$dir/pp500.json"

# Played a few minutes: every journey is judged and printed, the last too.
out=$("$bin" status --policy "$dir/p500.json" --scenario healthy --at T-125 2>&1)
rc=$?
if [ "$rc" -eq 3 ] && echo "$out" | grep -q "^journey_499 P95 " &&
	echo "$out" | grep -q "^journey_499 Cache hit"; then
	ok "status at 500 journeys judges journey_499 (exit $rc)"
else
	bad "status at 500 journeys (exit $rc): $(echo "$out" | grep -c journey_499) journey_499 lines"
fi
n=$(echo "$out" | grep -c "^journey_[0-9]* P95 ")
# Two P95 KPIs per journey: P95 latency and the provider dashboard P95.
if [ "$n" -eq 988 ]; then ok "494 generated journeys have their two P95 lines"; else bad "$n generated P95 lines, expected 988"; fi

expect_out 2 "1025 journeys refused, naming the file, place and limit" \
	"p1025.json:[0-9]*:[0-9]*: /journeys: too many journeys (1025, at most 1024)" \
	"$bin" check-config "$dir/p1025.json"
rm -rf "$dir"
finish
