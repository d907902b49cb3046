#!/bin/sh
# tests/cli/workflow.sh BIN - the ship-room workflow outside the console:
# --webhook-url-file refuses a secret others can read (exit 2, the file and
# its mode named); `watch` writes the reports that fall due into
# --state-dir (the postmortem placeholder at the scripted rollback of
# p95-regression-25) and posts to a webhook receiver on loopback; `act
# rollback` creates the postmortem placeholder at once, `act promote` the
# phase card; `report --read-only` and a read-only `watch` write nothing.
# Every run is bounded (--for, the receiver's --max-seconds).
set -u
bin=${1:-build/shiproom}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib"
receiver=$here/../e2e/webhook_receiver.py
work=$(mktemp -d "${TMPDIR:-/tmp}/shiproom-workflow-test.XXXXXX")
rpid=
cleanup() {
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
unset SHIPROOM_WEBHOOK_URL

# Scripted rollback of p95-regression-25 at T+135: from T+125 at 600x
# virtual time, 10 virtual minutes take one real second.
FAST="--scenario p95-regression-25 --start T+125 --speed 600"

# ---- the webhook URL file is a secret -----------------------------------------
echo "http://127.0.0.1:9/hooks/T0/B0/SECRETTOKEN" >"$work/hook"
chmod 644 "$work/hook"
# shellcheck disable=SC2086
"$bin" watch $FAST --for 1 --webhook-url-file "$work/hook" >"$work/out" 2>"$work/err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q "^shiproom: webhook: webhook file $work/hook has mode 0644: it must be 0600 or stricter" "$work/err"; then
	ok "a 0644 webhook file is refused (exit 2): $(cat "$work/err")"
else
	bad "0644 webhook file: exit $rc: $(cat "$work/err")"
fi
if grep -q SECRETTOKEN "$work/out" "$work/err"; then
	bad "the webhook URL was printed"
else
	ok "the refused URL is not printed"
fi
"$bin" --webhook-url-file "$work/hook" >/dev/null 2>"$work/err" </dev/null &
cpid=$!
i=0
while kill -0 "$cpid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$cpid" 2>/dev/null; then
	kill "$cpid"
	wait "$cpid" 2>/dev/null
	bad "the console started with a 0644 webhook file"
else
	wait "$cpid"
	rc=$?
	[ "$rc" -eq 2 ] && grep -q "mode 0644" "$work/err" && ok "the console refuses it too (exit 2)" ||
		bad "console with a 0644 webhook file: exit $rc: $(cat "$work/err")"
fi
# issue 9: one secret-file reader, one exit status: the same mistake with
# the Prometheus token file exits 2 as well.
python3 - "$here/../../config/prometheus-haproxy.json" "$work/prom.json" "$work/token" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["source"]["bearer_token_file"] = sys.argv[3]
json.dump(p, open(sys.argv[2], "w"))
PY
echo "tok-SECRETTOKEN" >"$work/token"
chmod 644 "$work/token"
"$bin" status --policy "$work/prom.json" --state-dir "$work/promstate" >"$work/out" 2>"$work/err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q "bearer_token_file $work/token has mode 0644: it must be 0600 or stricter" "$work/err" &&
	! grep -q SECRETTOKEN "$work/out" "$work/err"; then
	ok "a 0644 bearer token file is refused with the same exit 2: $(cat "$work/err")"
else
	bad "0644 token file: exit $rc: $(cat "$work/err")"
fi
expect_rc 2 "--webhook-url-file outside the console and watch" "$bin" status --webhook-url-file "$work/hook"
expect_rc 2 "a missing webhook file" "$bin" watch --for 1 --webhook-url-file "$work/nonexistent"

# ---- watch writes the reports that fall due --------------------------------------
D=$work/watch
# shellcheck disable=SC2086
"$bin" watch $FAST --for 3 --state-dir "$D" >"$work/out" 2>"$work/err"
rc=$?
pm=$(ls "$D"/postmortem-T+*.md 2>/dev/null | head -1)
if [ "$rc" -eq 0 ] && [ -n "$pm" ] && grep -q "postmortem placeholder created: $(basename "$pm")" "$work/out"; then
	ok "watch: $(basename "$pm") in the state dir, and said in the log"
else
	bad "watch: exit $rc, no postmortem in $D: $(ls "$D" 2>&1) $(tail -3 "$work/out") $(cat "$work/err")"
fi
[ -n "$pm" ] && grep -qi "rolled back\|rollback" "$pm" && ok "the placeholder is about the rollback" ||
	bad "placeholder content: $(head -5 "$pm" 2>/dev/null)"

# A second watch over the same state dir: the rollback is already reached,
# nothing is written again (and the existing placeholder is kept).
before=$(ls "$D" | wc -l)
# shellcheck disable=SC2086
"$bin" watch $FAST --for 1 --state-dir "$D" >"$work/out" 2>&1
[ "$(ls "$D" | wc -l)" -eq "$before" ] && ok "watch again: nothing written twice" ||
	bad "watch again wrote: $(ls "$D")"

# Read-only: the same run writes nothing into an existing, empty state dir.
R=$work/ro-watch
mkdir "$R"
# shellcheck disable=SC2086
"$bin" watch $FAST --for 1 --read-only --state-dir "$R" >"$work/out" 2>&1
[ -z "$(ls -A "$R")" ] && ok "read-only watch writes nothing" || bad "read-only watch wrote: $(ls -A "$R")"

# ---- act ------------------------------------------------------------------------
A=$work/act
"$bin" act rollback --reason "cli workflow" --yes --scenario p95-regression-25 --at T+133 \
	--state-dir "$A" >"$work/out" 2>"$work/err"
rc=$?
if [ "$rc" -eq 0 ] && [ -f "$A/postmortem-T+133.md" ] &&
	grep -q "postmortem placeholder created: postmortem-T+133.md" "$work/err"; then
	ok "act rollback: postmortem-T+133.md at once"
else
	bad "act rollback: exit $rc: $(ls "$A" 2>&1) $(cat "$work/out" "$work/err")"
fi
grep -q "cli workflow" "$A/postmortem-T+133.md" 2>/dev/null && ok "the placeholder carries the reason" ||
	bad "placeholder lacks the reason: $(head -20 "$A/postmortem-T+133.md" 2>/dev/null)"
P=$work/promote
"$bin" act promote --yes --scenario healthy --at T+90 --state-dir "$P" >"$work/out" 2>"$work/err"
rc=$?
[ "$rc" -eq 0 ] && [ -f "$P/phase-card-5pct-T+90.md" ] && [ -f "$P/phase-card-5pct-T+90.json" ] &&
	ok "act promote: the 5% phase card" || bad "act promote: exit $rc: $(ls "$P" 2>&1) $(cat "$work/out" "$work/err")"
H=$work/hold
"$bin" act hold --yes --scenario healthy --at T+30 --state-dir "$H" >/dev/null 2>&1
[ -z "$(ls "$H" | grep -v '^journal.jsonl$\|^lock$')" ] && ok "act hold: no report" ||
	bad "act hold wrote: $(ls "$H")"

# ---- report --read-only ------------------------------------------------------------
E=$work/ro-report
mkdir "$E"
"$bin" report postmortem --read-only --scenario p95-regression-25 --state-dir "$E" >"$work/out" 2>"$work/err"
rc=$?
if [ "$rc" -eq 0 ] && [ -z "$(ls -A "$E")" ] && grep -qi "postmortem" "$work/out"; then
	ok "report --read-only: printed, nothing written into the state dir"
else
	bad "report --read-only: exit $rc, wrote $(ls -A "$E"): $(cat "$work/err")"
fi

# ---- watch posts to a webhook on loopback -------------------------------------------
python3 "$receiver" --log "$work/posts.jsonl" --max-seconds 60 >"$work/port" 2>"$work/recv.err" &
rpid=$!
i=0
while ! grep -q '^PORT ' "$work/port" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port=$(sed -n 's/^PORT //p' "$work/port")
if [ -z "$port" ]; then
	bad "the webhook receiver did not start: $(cat "$work/recv.err")"
else
	echo "http://127.0.0.1:$port/hooks/T0/B0/SECRETTOKEN" >"$work/hook600"
	chmod 600 "$work/hook600"
	# shellcheck disable=SC2086
	"$bin" watch $FAST --for 3 --webhook-url-file "$work/hook600" --state-dir "$work/wh" \
		>"$work/out" 2>"$work/err"
	rc=$?
	if [ "$rc" -eq 0 ] && python3 - "$work/posts.jsonl" <<'PY'; then
import json, sys
posts = [json.loads(l) for l in open(sys.argv[1])]
assert posts, "no post"
assert all(p["method"] == "POST" and p["answer"] == 200 for p in posts), posts
assert all(isinstance(p["json"], dict) and p["json"].get("text") for p in posts), posts
# the rollback at T+135 is news
assert any("ollback" in json.dumps(p["json"]) for p in posts), [p["json"]["text"] for p in posts]
print("posts:", len(posts))
PY
		ok "watch posted to the receiver on 127.0.0.1:$port (each with \"text\", the rollback among them)"
	else
		bad "watch webhook: exit $rc: $(head -c 600 "$work/posts.jsonl" 2>/dev/null) $(cat "$work/err")"
	fi
	grep -q SECRETTOKEN "$work/out" "$work/err" && bad "the webhook URL was printed" ||
		ok "the webhook URL is not printed"
	# every delivery is in the audit journal, the URL never is
	grep -q '"type":"notify".*"delivered":true' "$work/wh/journal.jsonl" 2>/dev/null &&
		ok "webhook deliveries journaled" || bad "no notify record in $work/wh/journal.jsonl"
	grep -q SECRETTOKEN "$work/wh/journal.jsonl" 2>/dev/null && bad "the webhook URL was journaled" ||
		ok "the webhook URL is not journaled"
	# read-only: the same watch posts nothing
	n0=$(wc -l <"$work/posts.jsonl")
	# shellcheck disable=SC2086
	"$bin" watch $FAST --for 1 --read-only --webhook-url-file "$work/hook600" >"$work/out" 2>&1
	n1=$(wc -l <"$work/posts.jsonl")
	[ "$n1" -eq "$n0" ] && ok "read-only watch posts nothing" || bad "read-only watch posted $((n1 - n0))"
fi
finish
