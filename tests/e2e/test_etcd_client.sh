#!/bin/sh
# tests/e2e/test_etcd_client.sh [BUILD_DIR] - the etcd client (etcd.h)
# against a real three-member etcd 3.4 cluster on loopback
# (tests/e2e/etcd.sh), one call per run of tests/e2e/etcd_probe (built
# here against BUILD_DIR/libshiproom.a), so members can be killed, paused
# and restarted between calls:
#   1. put, get, delete; txn success and failure branches (create if
#      absent, compare-and-swap on the mod revision) with the failure
#      branch's read; prefix ranges with a limit and "more";
#   2. leases: grant, keepalive, expiry (keepalive says ttl 0 and the key
#      put under it is gone), revoke, a put under an unknown lease;
#   3. one member killed: calls still succeed (the client moves on);
#      one killed and one paused, then two killed: UNAVAILABLE (the time
#      it took is printed, not asserted); the members restarted: OK;
#   4. authentication (etcdctl: root, a user with a role on /shiproom/):
#      the password from a 0600 file; outside the role: REFUSED; a wrong
#      password from the environment: REFUSED, and no secret printed; an
#      auth token that expired between two calls is replaced once;
#   5. TLS with client certificates (a CA made here with openssl): OK
#      with ca_file, cert_file and key_file; without ca_file (the system
#      store does not know this CA): REFUSED.
# Every call is bounded (timeout 30); everything started is stopped on
# exit, and a watchdog stops etcd if this shell is killed.
set -eu
[ -n "${SR_E2E_TRACE:-}" ] && set -x
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"

fail() {
	echo "not ok - etcd client e2e: $*" >&2
	exit 1
}
for tool in etcd etcdctl python3 pkg-config timeout curl openssl; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (make deps installs it)"
done

work=$(mktemp -d /tmp/sr-etcd-e2e-XXXXXX)
cleanup() {
	status=$?
	trap - EXIT INT TERM HUP
	"$here/etcd.sh" stop "$work/c" 2>/dev/null || true
	"$here/etcd.sh" stop "$work/tls" 2>/dev/null || true
	if [ "$status" -ne 0 ]; then
		for l in "$work"/c/*.log "$work"/tls/*.log; do
			[ -f "$l" ] || continue
			echo "--- $l" >&2
			tail -5 "$l" >&2
		done
	fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
export SR_E2E_OWNER=$$

# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
probe=$work/etcd_probe
e2e_build_probe tests/e2e/etcd_probe.c "$probe" "$build"

ok() { echo "ok - $*"; }

# store_json FILE ENDPOINTS [EXTRA_JSON_MEMBERS]
store_json() {
	python3 - "$@" <<'PY'
import json, sys
o = {"kind": "etcd", "endpoints": sys.argv[2].split(","), "timeout_ms": 1000}
if len(sys.argv) > 3:
    o.update(json.loads(sys.argv[3]))
json.dump(o, open(sys.argv[1], "w"))
PY
}

S=$work/store.json
p() { timeout 30 "$probe" "$S" "$@" 2>&1 || true; }
# expect PATTERN ARGS...: the probe's output matches the extended regex.
expect() {
	pat=$1
	shift
	got=$(p "$@")
	echo "$got" | grep -Eq -- "$pat" || fail "etcd_probe $*: expected /$pat/, got: $got"
	echo "$got"
}

eps=$("$here/etcd.sh" start "$work/c" 3) || fail "cannot start the cluster"
store_json "$S" "$eps"
ok "3 members: $eps"

# ---- 1. key-values and txn ------------------------------------------------------
expect '^OK ' put /shiproom/t/a one >/dev/null
out=$(expect '^OK n=1 more=0 .*\[/shiproom/t/a=one c=([0-9]+) m=\1 v=1 l=0\]' get /shiproom/t/a)
ok "put, get: $out"
expect '^OK succeeded=1 n=0 ' create /shiproom/t/b first >/dev/null
out=$(expect '^OK succeeded=0 n=1 .*\[/shiproom/t/b=first ' create /shiproom/t/b second)
ok "txn create-if-absent: the second fails and reads the value: $out"
mod=$(echo "$out" | sed -n 's/.* m=\([0-9]*\) .*/\1/p')
out=$(expect '^OK succeeded=0 n=1 .*\[/shiproom/t/b=first ' cas /shiproom/t/b $((mod + 1000)) x)
expect '^OK succeeded=1 ' cas /shiproom/t/b "$mod" swapped >/dev/null
expect '\[/shiproom/t/b=swapped c=[0-9]+ m=[0-9]+ v=2 ' get /shiproom/t/b >/dev/null
ok "txn compare-and-swap: a stale mod revision fails, the right one succeeds"
expect '^OK ' del /shiproom/t/a >/dev/null
expect '^OK n=0 more=0' get /shiproom/t/a >/dev/null
ok "delete: the key is gone"
for i in 1 2 3 4 5; do expect '^OK ' put "/shiproom/r/$i" "v$i" >/dev/null; done
expect '^OK ' put /shiproom/rz outside >/dev/null
out=$(expect '^OK n=2 more=1 .*\[/shiproom/r/1=v1 .*\[/shiproom/r/2=v2 ' prefix /shiproom/r/ 2)
ok "prefix range, limit 2: $out"
expect '^OK n=5 more=0 .*\[/shiproom/r/5=v5 ' prefix /shiproom/r/ 0 >/dev/null
expect '^OK n=4 more=0 .*\[/shiproom/r/5=v5 .*\[/shiproom/rz=outside .*\[/shiproom/t/b=' range /shiproom/r/4 "" 0 >/dev/null
expect '^OK n=2 more=0 .*\[/shiproom/r/2=v2 .*\[/shiproom/r/3=v3 c' range /shiproom/r/2 /shiproom/r/4 0 >/dev/null
ok "prefix range without limit: 5 keys and not the neighbour; [k, \"\") to the end; [k, end)"
expect '^OK ' del /shiproom/r/ /shiproom/r0 >/dev/null
expect '^OK n=0 ' prefix /shiproom/r/ 0 >/dev/null
ok "delete of a range"

# ---- 2. leases -------------------------------------------------------------------
id=$(expect '^OK id=[0-9]+' grant 2 | sed -n 's/^OK id=\([0-9]*\).*/\1/p')
expect '^OK ' put /shiproom/l/leader me "$id" >/dev/null
expect "^OK n=1 .*l=$id\\]" get /shiproom/l/leader >/dev/null
expect '^OK ttl=2 ' keepalive "$id" >/dev/null
ok "lease $id granted (TTL 2 s), a key under it, keepalive says ttl 2"
start=$(date +%s)
i=0
while :; do
	sleep 3 # no renewal for longer than the TTL
	out=$(p keepalive "$id")
	case $out in "OK ttl=0 "*) break ;; "OK ttl="*) ;; *) fail "keepalive: $out" ;; esac
	i=$((i + 1))
	[ $i -le 5 ] || fail "lease $id did not expire: $out"
done
ok "unrenewed, the lease lapses: keepalive says ttl 0 ($(($(date +%s) - start)) s)"
expect '^OK n=0 ' get /shiproom/l/leader >/dev/null
ok "the key under the expired lease is gone"
id=$(expect '^OK id=[0-9]+' grant 30 | sed -n 's/^OK id=\([0-9]*\).*/\1/p')
expect '^OK ' revoke "$id" >/dev/null
expect '^OK ttl=0 ' keepalive "$id" >/dev/null
out=$(expect '^REFUSED .*requested lease not found' revoke "$id")
ok "revoke; keepalive then says ttl 0; a second revoke: $out"
out=$(expect '^REFUSED .*lease not found' put /shiproom/l/x y 12345)
ok "a put under an unknown lease: $out"

# ---- 3. members down ---------------------------------------------------------------
"$here/etcd.sh" kill "$work/c" m1
for i in 1 2 3; do
	out=$(expect '^OK ' put /shiproom/f/k "$i")
done
expect '^OK n=1 .*\[/shiproom/f/k=3 ' get /shiproom/f/k >/dev/null
ok "m1 killed: calls still succeed ($out)"
"$here/etcd.sh" pause "$work/c" m2
out=$(expect '^UNAVAILABLE .*connection refused.*timed out' put /shiproom/f/k 4)
ok "m1 killed, m2 paused: $out"
"$here/etcd.sh" resume "$work/c" m2
"$here/etcd.sh" kill "$work/c" m2
out=$(expect '^UNAVAILABLE ' put /shiproom/f/k 5)
ok "m1 and m2 killed: ${out##* }, $out"
out=$(expect '^UNAVAILABLE ' get /shiproom/f/k)
ok "m1 and m2 killed, a read: ${out##* }"
"$here/etcd.sh" restart "$work/c" m1
"$here/etcd.sh" restart "$work/c" m2
expect '^OK ' put /shiproom/f/k 6 >/dev/null
expect '^OK n=1 .*\[/shiproom/f/k=6 ' get /shiproom/f/k >/dev/null
ok "m1 and m2 restarted on their data: OK again"

# ---- 4. authentication -----------------------------------------------------------------
ctl() { timeout 30 etcdctl "$@" >/dev/null 2>"$work/ctl.err" || fail "etcdctl $*: $(cat "$work/ctl.err")"; }
rootpw=root-$$-pw
shippw=ship-$$-Secret
# root, and a user "shiproom" with read-write on /shiproom/ only.
# Passwords on stdin, never in argv.
auth_on() { # endpoints
	export ETCDCTL_ENDPOINTS="$1"
	echo "$rootpw" | ctl user add root --interactive=false
	ctl role add root
	ctl user grant-role root root
	echo "$shippw" | ctl user add shiproom --interactive=false
	ctl role add shiproom
	ctl role grant-permission shiproom --prefix=true readwrite /shiproom/
	ctl user grant-role shiproom shiproom
	ctl auth enable
	unset ETCDCTL_ENDPOINTS
}
auth_on "$eps"
printf '%s\n' "$shippw" >"$work/pw"
chmod 600 "$work/pw"
store_json "$S" "$eps" "{\"username\": \"shiproom\", \"password_file\": \"$work/pw\"}"
out=$(expect '^OK ' put /shiproom/a/k v)
ok "auth on, password from a 0600 file: $out"
out=$(expect '^REFUSED .*permission denied' put /elsewhere v)
ok "outside the user's role: $out"
store_json "$S" "$eps"
out=$(expect '^REFUSED .*user name is empty' put /shiproom/a/k v)
ok "no username while auth is on: $out"
store_json "$S" "$eps" '{"username": "shiproom"}'
out=$(SHIPROOM_ETCD_PASSWORD="wrong-$shippw" timeout 30 "$probe" "$S" put /shiproom/a/k v 2>&1 || true)
case $out in
OPEN*"authentication failed"*) ;;
*) fail "a wrong password: $out" ;;
esac
case $out in *"$shippw"*) fail "the password is in the message: $out" ;; esac
ok "a wrong password from SHIPROOM_ETCD_PASSWORD: refused at open, no secret printed: $out"
out=$(SHIPROOM_ETCD_PASSWORD="$shippw" timeout 30 "$probe" "$S" put /shiproom/a/k v 2>&1 || true)
case $out in "OK "*) ;; *) fail "password from the environment: $out" ;; esac
ok "the password from SHIPROOM_ETCD_PASSWORD: $out"

# Tokens expire when unused (--auth-token-ttl): a cluster whose tokens
# live 1 s, two puts 2.5 s apart on one client.
"$here/etcd.sh" stop "$work/c"
eps=$(SR_ETCD_AUTH_TOKEN_TTL=1 "$here/etcd.sh" start "$work/c" 3) || fail "cannot restart the cluster"
auth_on "$eps"
store_json "$S" "$eps" "{\"username\": \"shiproom\", \"password_file\": \"$work/pw\"}"
out=$(expect 'OK second' put2 /shiproom/a/k v 2.5)
ok "an auth token that expired between two calls is bought again: $(echo "$out" | tr '\n' ' ')"
# Every new token is a secret too: the old token must make room for it,
# not the password (the scrubber keeps 16; here it is full).
out=$(expect 'OK puts=2 scrubbed=1' renew 2 2.5 "$work/pw")
ok "a renewed token does not push the password out of the scrubber: $out"
"$here/etcd.sh" stop "$work/c"

# ---- 5. TLS with client certificates --------------------------------------------------
t=$work/pki
mkdir -p "$t"
(
	cd "$t"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 \
		-subj "/CN=shiproom test CA" >/dev/null 2>&1
	for who in server client; do
		openssl req -newkey rsa:2048 -nodes -keyout "$who-key.pem" -out "$who.csr" \
			-subj "/CN=$who" >/dev/null 2>&1
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >ext
		openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
			-out "$who.pem" -days 2 -extfile ext >/dev/null 2>&1
	done
	chmod 600 ./*-key.pem
) || fail "openssl could not make the test PKI"
[ -s "$t/client.pem" ] || fail "openssl could not make the test PKI"
eps=$(SR_ETCD_TLS=$t "$here/etcd.sh" start "$work/tls" 3) || fail "cannot start the TLS cluster"
case $eps in https://*) ;; *) fail "TLS cluster endpoints: $eps" ;; esac
store_json "$S" "$eps" "{\"ca_file\": \"$t/ca.pem\", \"cert_file\": \"$t/client.pem\", \"key_file\": \"$t/client-key.pem\"}"
out=$(expect '^OK ' put /shiproom/tls/k v)
expect '^OK n=1 .*\[/shiproom/tls/k=v ' get /shiproom/tls/k >/dev/null
ok "TLS with a client certificate: $out"
store_json "$S" "$eps"
out=$(expect '^REFUSED .*(certificate|SSL)' put /shiproom/tls/k v)
ok "TLS against the system store (this CA unknown): refused: $out"
"$here/etcd.sh" stop "$work/tls"
ok "etcd client e2e: all passed"
