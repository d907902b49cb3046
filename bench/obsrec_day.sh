#!/bin/sh
# bench/obsrec_day.sh [BUILD_DIR] - the per-poll record of a real run:
# the simulator's `healthy` scenario played T-130..T+600 (12 h 10 min,
# 2921 polls) at 6 journeys (the shipped policy) and at 50 (the same
# policy with 44 more journeys given to every per-journey KPI, as
# bench_policy.h does), then `replay --status` of each journal, three
# times. Prints the `obs` lines' bytes, per poll and per day (5760
# polls), and the replay's wall time and peak RSS. Needs python3 (to
# write the 50-journey policy). Nothing asserts.
set -u
build=${1:-build}
bin="$build/shiproom"
tmp=$(mktemp -d /tmp/shiproom-obsday.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/p50.json" <<'PY'
import json, sys
p = json.load(open("config/shiproom.json"))
for j in range(len(p["journeys"]), 50):
    p["journeys"].append({"id": "journey_%02d" % j, "name": "Journey %02d" % j})
ids = [j["id"] for j in p["journeys"]]
for k in p["kpis"]:
    if k.get("journeys"):
        k["journeys"] = ids
json.dump(p, open(sys.argv[1], "w"))
PY
for j in 6 50; do
	pol=config/shiproom.json
	[ "$j" = 50 ] && pol="$tmp/p50.json"
	"$bin" act hold --reason bench --policy "$pol" --scenario healthy --at T+600 \
		--state-dir "$tmp/day$j" --yes >/dev/null 2>&1
	grep '"type":"obs"' "$tmp/day$j/journal.jsonl" | wc -lc | awk -v j="$j" '{
		printf "obsrec_day: %2d journeys: %d polls, %d bytes, %.0f B/poll, %.2f MB/day\n",
			j, $1, $2, $2 / $1, $2 / $1 * 5760 / 1e6 }'
	# (replay --status exits 3 for HOLD: not a failure here)
	for r in 1 2 3; do
		/usr/bin/time -f "obsrec_day: $j journeys: replay --status %e s, peak RSS %M KiB" \
			"$bin" replay "$tmp/day$j/journal.jsonl" --policy "$pol" --status 2>&1 \
			>/dev/null | grep -v "^Command exited"
	done
done
