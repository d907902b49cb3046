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

# 23 KPIs: the directive's 22 and the display-only P50 latency.
out=$("$bin" check-config "$top/config/shiproom.json" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && echo "$out" | grep -Eq "shiproom.json: ok \(23 KPIs, 39 cells, 4 phases, 3 gates, 3 triggers\)"; then
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

# The worked example: the directive pointed at Prometheus and HAProxy.
out=$("$bin" check-config "$top/config/prometheus-haproxy.json" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && echo "$out" | grep -Eq "ok \([0-9]+ KPIs, [0-9]+ cells, 4 phases, 3 gates, 3 triggers\), source prometheus, edge haproxy"; then
	ok "worked example: $out"
else
	bad "worked example: exit $rc: $out"
fi
if python3 "$top/tests/e2e/example_config.py" --check; then
	ok "the worked example is the shipped directive with a real source and edge"
else
	bad "config/prometheus-haproxy.json drifted from config/shiproom.json"
fi

# A driver's own keys are checked at load, with file:line:column too.
python3 - "$top/config/prometheus-haproxy.json" "$tmp" <<'PY'
import json, sys
base, tmp = sys.argv[1], sys.argv[2]
def w(name, f):
    p = json.load(open(base)); f(p); json.dump(p, open(tmp + "/" + name, "w"), indent=2)
w("timeout.json", lambda p: p["source"].__setitem__("timeout_s", 0))
w("samples.json", lambda p: p["source"]["samples_queries"].__setitem__("nope", "up"))
w("socket.json", lambda p: p["edge"].__setitem__("socket", "tcp:haproxy.internal:9999"))
w("noquery.json", lambda p: p["kpis"][3].pop("query"))
w("http.json", lambda p: p.__setitem__("edge", {"kind": "http", "get": {"method": "GET", "url": "ftp://edge"}}))
w("store.json", lambda p: p.__setitem__("store", {"kind": "etcd", "endpoints": ["https://etcd-1:2379", "https://etcd-2:2379/v3"]}))
w("storecert.json", lambda p: p.__setitem__("store", {"kind": "etcd", "endpoints": ["https://etcd-1:2379"], "cert_file": "/c.pem"}))
PY
for case in "timeout.json:/source/timeout_s: must be a number" \
	"samples.json:/source/samples_queries/nope: no KPI \"nope\"" \
	"socket.json:/edge/socket: expected" \
	"noquery.json:/kpis/3/query: KPI" \
	"http.json:/edge/get/url: must start with http" \
	"store.json:/store/endpoints/1: must be http://host:port" \
	"storecert.json:/store/cert_file: cert_file and key_file go together"; do
	f=${case%%:*}
	want=${case#*:}
	"$bin" check-config "$tmp/$f" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 2 ] && grep -Fq "$want" "$tmp/err" && grep -Eq "$f:[0-9]+:[0-9]+: " "$tmp/err"; then
		ok "driver error located: $(head -1 "$tmp/err")"
	else
		bad "$f: exit $rc: $(cat "$tmp/err")"
	fi
done

# The store: the state dir unless the policy says etcd.
out=$("$bin" check-config "$top/tests/policies/store-etcd.json" 2>&1)
if echo "$out" | grep -q "edge sim, store etcd$"; then
	ok "etcd store: $out"
else
	bad "etcd store: $out"
fi
if "$bin" check-config "$top/config/shiproom.json" 2>&1 | grep -q "store dir$"; then
	ok "no store object: the state dir"
else
	bad "no store object: $("$bin" check-config "$top/config/shiproom.json" 2>&1)"
fi

expect_rc 2 "missing file" "$bin" check-config "$tmp/does-not-exist.json"
expect_rc 2 "a broken --policy stops status too" "$bin" status --policy "$tmp/bad.json"
finish
