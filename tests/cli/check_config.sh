#!/bin/sh
# tests/cli/check_config.sh BIN - `shiproom check-config FILE`: 0 and a
# summary on the shipped policy; 2 and file:line:column on a broken one.
set -u
bin=${1:-build/shiproom}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$("$bin" check-config "$top/config/shiproom.json" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && echo "$out" | grep -Eq "shiproom.json: ok \(22 KPIs, [0-9]+ cells, 4 phases, 3 gates, 3 triggers\)"; then
	ok "shipped policy: $out"
else
	bad "shipped policy: exit $rc: $out"
fi

# A syntax error: the message points at the line and column.
printf '{\n  "rollout": "x",\n  "title": oops\n}\n' >"$tmp/syntax.json"
"$bin" check-config "$tmp/syntax.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 2 ] && grep -Eq "syntax.json:3:[0-9]+" "$tmp/err" && [ ! -s "$tmp/out" ]; then
	ok "syntax error: exit 2, $(head -1 "$tmp/err")"
else
	bad "syntax error: exit $rc: $(cat "$tmp/err")"
fi

# A semantic error deep inside a valid file: file:line:column of the key.
python3 - "$top/config/shiproom.json" "$tmp/bad.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["kpis"][2]["kind"] = "maximum"
json.dump(p, open(sys.argv[2], "w"), indent=2)
PY
"$bin" check-config "$tmp/bad.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 2 ] && grep -Eq "bad.json:[0-9]+:[0-9]+" "$tmp/err"; then
	ok "bad kind: exit 2, $(head -1 "$tmp/err")"
else
	bad "bad kind: exit $rc: $(cat "$tmp/err")"
fi

expect_rc 2 "missing file" "$bin" check-config "$tmp/does-not-exist.json"
expect_rc 2 "a broken --policy stops status too" "$bin" status --policy "$tmp/bad.json"
finish
