#!/bin/sh
# tests/e2e/test_service_e2e.sh BUILD - one rollout, one truth, as a team
# uses it: a service and its consoles as real processes and real Unix
# users, in real terminals (tmux), over a real SSH connection.
#
#   - three users made here (useradd): sr_dri on the roster, sr_obs an
#     observer (policy service.observers), sr_out neither; all three in a
#     group that may reach the socket (service.group, mode 0660);
#   - the service runs as sr_dri; a console for sr_dri and one for sr_obs
#     show the same T+ and decision; sr_dri's hold appears on sr_obs's
#     screen within a refresh; every action sr_obs tries is refused by the
#     service (keys and `act`); sr_out is refused at connect;
#   - the who view lists both, the SSH one with its address;
#   - kill -9 of a console mid-refresh and a dropped SSH session: the
#     service keeps polling, the journal says who detached and how, a new
#     attach sees the current state;
#   - a SIGSTOPped console does not slow the others (the DRI's screen keeps
#     its refresh cadence while the observer's is stopped).
# Needs root (useradd, sshd); `make deps` installs openssh-server.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
bin="$top/$build/shiproom"
fails=0
ok() { echo "ok - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }

if [ "$(id -u)" != 0 ]; then
	echo "FAIL - needs root to create the test's users (CI runs as root)"
	exit 1
fi
for cmd in useradd tmux /usr/sbin/sshd ssh ssh-keygen python3; do
	command -v "$cmd" >/dev/null 2>&1 || { echo "FAIL - $cmd is missing (make deps)"; exit 1; }
done

# Everything the other users run from is theirs to read: a private copy of
# the binary, config and themes, in a directory they can traverse.
W=$(mktemp -d /tmp/shiproom-svc.XXXXXX)
chmod 755 "$W"
cp "$bin" "$W/shiproom"
cp -r "$top/config" "$top/themes" "$W/"
chmod -R a+rX "$W"
SUF=$$
GRP=srteam$SUF
DRI=srdri$SUF OBS=srobs$SUF OUT=srout$SUF
TM="tmux -u -L srsvc-$SUF -f /dev/null"
SSHD_PID=""

cleanup() {
	$TM kill-server >/dev/null 2>&1
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null
	pkill -u "$DRI" 2>/dev/null
	pkill -u "$OBS" 2>/dev/null
	sleep 0.3
	pkill -9 -u "$DRI" 2>/dev/null
	for u in "$DRI" "$OBS" "$OUT"; do userdel "$u" >/dev/null 2>&1; done
	groupdel "$GRP" >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

groupadd "$GRP" || { echo "FAIL - groupadd"; exit 1; }
for u in "$DRI" "$OBS" "$OUT"; do
	# no home, a real shell, a password that is not "locked" (sshd with
	# UsePAM no refuses locked accounts even for keys)
	useradd -M -d "$W/home-$u" -s /bin/sh -G "$GRP" "$u" || { echo "FAIL - useradd $u"; exit 1; }
	usermod -p '*' "$u"
done

mkdir -p "$W/run" "$W/state"
chown "$DRI:$GRP" "$W/run"
chmod 750 "$W/run"
chown "$DRI" "$W/state"
chmod 700 "$W/state"
P="$W/policy.json"
python3 - "$top/config/shiproom.json" "$P" "$W/run/rollout.sock" "$GRP" "$DRI" "$OBS" <<'PY'
import json, sys
src, dst, sock, grp, dri, obs = sys.argv[1:]
p = json.load(open(src))
p["roster"]["release_dri"].append(dri)
p["roster"]["gate_approver"].append(dri)
p["service"] = {"socket": sock, "group": grp, "mode": "0660", "observers": [obs]}
json.dump(p, open(dst, "w"), indent=2)
PY
chmod 644 "$P"
SOCK="$W/run/rollout.sock"
ENV="SHIPROOM_DATADIR=$W LC_ALL=C.UTF-8 TERM=xterm-256color"

as() { # USER CMD... : run as USER with the test's environment
	u=$1
	shift
	runuser -u "$u" -- env $ENV "$@"
}

# The service, as the DRI, for the rest of the test. The simulator at
# speed 60 (a minute of rollout a second): a screen that stops moving
# is easy to see.
if as "$DRI" "$W/shiproom" serve --detach --policy "$P" --scenario healthy --start T+30 \
	--speed 60 --state-dir "$W/state" >"$W/serve.out" 2>&1; then
	ok "the service runs as $DRI ($(cat "$W/serve.out"))"
else
	bad "serve: $(cat "$W/serve.out")"
	exit 1
fi
[ "$(stat -c '%a %G' "$SOCK")" = "660 $GRP" ] && ok "the socket is 0660, group $GRP (the policy's)" ||
	bad "socket: $(stat -c '%a %G' "$SOCK")"

# consoles: window 0 the DRI, window 1 the observer
$TM new-session -d -x 100 -y 30 -s t -n dri \
	"runuser -u $DRI -- env $ENV $W/shiproom attach --policy $P; sleep 600"
$TM set-option -t t status off >/dev/null 2>&1
$TM new-window -d -t t -n obs "runuser -u $OBS -- env $ENV $W/shiproom attach --policy $P; sleep 600"
screen() { $TM capture-pane -p -t "t:$1"; }
wait_for() { # WINDOW TEXT [SECONDS]
	n=0
	while [ $n -lt $((${3:-10} * 10)) ]; do
		screen "$1" | grep -F -q -- "$2" && return 0
		sleep 0.1
		n=$((n + 1))
	done
	echo "# window $1 timed out waiting for: $2"
	screen "$1" | sed 's/^/#   | /'
	return 1
}
wait_for dri "Provider dashboard" && wait_for obs "Provider dashboard" &&
	ok "both consoles show the rollout" || bad "consoles did not come up"
screen obs | head -n 1 | grep -q " RO *$" && ok "the observer's console is read-only (RO badge)" ||
	bad "no RO badge for the observer: $(screen obs | head -n 1)"

# the same T+ and decision on both (two captures a few ms apart: at speed
# 60 they may straddle a minute, so compare twice)
same=0
for i in 1 2 3; do
	a="$(screen dri | head -n 1 | grep -o 'T[+-][0-9]*') $(screen dri | awk 'NR==2{print $1}')"
	b="$(screen obs | head -n 1 | grep -o 'T[+-][0-9]*') $(screen obs | awk 'NR==2{print $1}')"
	[ -n "$a" ] && [ "$a" = "$b" ] && { same=1; break; }
	sleep 0.2
done
[ $same = 1 ] && ok "both show the same T+ and decision ($a)" || bad "dri '$a' vs observer '$b'"
# and the same values: the journey rows (P50/P95/P99 canary and control,
# limit, status), captured a few ms apart (a poll may fall between: try
# a few times)
same=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	ra=$(screen dri | sed -n '4,9p' | cut -c3-)
	rb=$(screen obs | sed -n '4,9p' | cut -c3-)
	[ -n "$ra" ] && [ "$ra" = "$rb" ] && echo "$ra" | grep -q "Payments" && { same=1; break; }
	sleep 0.1
done
[ $same = 1 ] && ok "both show the same values in every journey row" ||
	bad "journey rows differ: dri: $ra observer: $rb"

# an action from one appears in the other within one refresh
$TM send-keys -t t:dri h
# h asks why (a default offered); enter accepts it
wait_for dri "why hold?" 5 || true
$TM send-keys -t t:dri Enter
wait_for dri "held" 5 && ok "the DRI holds" || bad "hold did not take"
wait_for obs "held" 3 && ok "the observer sees the hold within a refresh" ||
	bad "the observer never saw the hold"

# the observer cannot act: keys and commands, refused by the service
$TM send-keys -t t:obs r
wait_for obs "read-only console: resume is not available" 5 &&
	ok "the observer's resume key is refused by the service" || bad "observer key not refused"
$TM send-keys -t t:obs Escape
as "$OBS" "$W/shiproom" act resume --yes --policy "$P" >"$W/o.out" 2>&1
rc=$?
[ $rc = 3 ] && grep -q "read-only" "$W/o.out" && ok "act resume as the observer: refused (exit 3)" ||
	bad "observer act: exit $rc $(cat "$W/o.out")"
grep -q "\"type\":\"resume\"" "$W/state/journal.jsonl" && bad "a resume reached the journal" ||
	ok "nothing the observer tried reached the journal"
as "$OUT" "$W/shiproom" attach --policy "$P" >"$W/out.out" 2>&1
rc=$?
[ $rc = 1 ] && grep -q "may not attach" "$W/out.out" && ok "$OUT (no role) is refused at connect" ||
	bad "outsider: exit $rc $(cat "$W/out.out")"
as "$OUT" "$W/shiproom" status --policy "$P" >"$W/out.out" 2>&1
grep -q "may not attach" "$W/out.out" && ok "and cannot read the status either" ||
	bad "outsider status: $(head -3 "$W/out.out")"
# A user outside the socket's group cannot even reach it (the run dir is
# 0750): told so, not answered by a simulator of its own (it was: exit 3
# and a pre-flight status at T+600).
runuser -u nobody -- env $ENV "$W/shiproom" status --policy "$P" >"$W/nobody.out" 2>&1
rc=$?
[ $rc = 1 ] && grep -q "cannot connect: Permission denied" "$W/nobody.out" &&
	ok "a user outside group $GRP is told the socket is closed to them (exit 1)" ||
	bad "nobody status: exit $rc $(head -3 "$W/nobody.out")"

# who is here
$TM send-keys -t t:obs 7
wait_for obs "$DRI" 5 && screen obs | grep -q "$OBS .*read-only" &&
	ok "the who view lists the DRI and the observer (read-only)" || bad "who view"
$TM send-keys -t t:obs Escape

# a SIGSTOPped console does not slow the others: the DRI's T+ keeps moving
obs_pid=$(pgrep -u "$OBS" -f "shiproom attach" | head -n 1)
kill -STOP "$obs_pid"
seen=""
for i in 1 2 3 4 5 6 7 8; do
	seen="$seen $(screen dri | head -n 1 | grep -o 'T[+-][0-9]*')"
	sleep 0.5
done
distinct=$(echo "$seen" | tr ' ' '\n' | grep . | sort -u | wc -l)
[ "$distinct" -ge 3 ] && ok "the DRI's screen kept refreshing while the observer was stopped ($distinct distinct T+ in 4 s)" ||
	bad "the DRI's screen stalled next to a stopped client: $seen"
kill -CONT "$obs_pid"

# kill -9 the observer's console: the service keeps polling, says so
kill -9 "$obs_pid"
sleep 1
t_a=$(as "$DRI" "$W/shiproom" status --policy "$P" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["t_rel_min"])')
sleep 2
t_b=$(as "$DRI" "$W/shiproom" status --policy "$P" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["t_rel_min"])')
[ -n "$t_a" ] && [ "$t_b" -gt "$t_a" ] && ok "after a console's kill -9 the service keeps polling (T+$t_a -> T+$t_b)" ||
	bad "service stalled: $t_a -> $t_b"
grep "\"type\":\"session\"" "$W/state/journal.jsonl" | grep "$OBS" | grep -q "connection lost" &&
	ok "the journal records the observer's console as lost" || bad "no detach record for $OBS"
screen dri | grep -q "$OBS detached (connection lost)" && ok "and the DRI's event log says so" ||
	bad "no detach line in the DRI's log"

# a new attach sees the current state (held, the same T+)
$TM new-window -d -t t -n obs2 "runuser -u $OBS -- env $ENV $W/shiproom attach --policy $P; sleep 600"
wait_for obs2 "held" 10 && ok "a new attach sees the current state" || bad "new attach"

# SSH: the DRI over a real SSH connection; the connection dies
ssh-keygen -q -t ed25519 -N "" -f "$W/hostkey" >/dev/null
ssh-keygen -q -t ed25519 -N "" -f "$W/userkey" >/dev/null
mkdir -p "$W/keys"
cp "$W/userkey.pub" "$W/keys/$DRI"
chmod 755 "$W/keys"
chmod 644 "$W/keys/$DRI"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p /run/sshd
/usr/sbin/sshd -D -e -f /dev/null -p "$PORT" -o ListenAddress=127.0.0.1 -h "$W/hostkey" \
	-o "AuthorizedKeysFile $W/keys/%u" -o StrictModes=no -o UsePAM=no \
	-o PasswordAuthentication=no -o "SetEnv=$ENV" -o PidFile=none 2>"$W/sshd.log" &
SSHD_PID=$!
n=0
while ! python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$PORT),1)" 2>/dev/null && [ $n -lt 50 ]; do
	sleep 0.1
	n=$((n + 1))
done
$TM new-window -d -t t -n ssh "ssh -tt -i $W/userkey -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -p $PORT $DRI@127.0.0.1 $W/shiproom attach --policy $P; sleep 600"
if wait_for ssh "Provider dashboard" 15; then
	ok "the DRI attaches over SSH"
	$TM send-keys -t t:ssh 7
	wait_for ssh "127.0.0.1" 5 && ok "the who view shows the SSH connection's address" || bad "no ssh address in who"
	# the connection dies: kill the sshd process serving it
	sess=$(pgrep -f "sshd: $DRI" | head -n 1)
	[ -n "$sess" ] && kill -9 $(pgrep -f "sshd: $DRI") 2>/dev/null
	sleep 2
	grep "\"type\":\"session\"" "$W/state/journal.jsonl" | grep "$DRI" | grep -q "connection lost" &&
		ok "the dropped SSH session is journaled as lost" || bad "no lost record for the SSH session"
	t_c=$(as "$DRI" "$W/shiproom" status --policy "$P" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["t_rel_min"])')
	sleep 2
	t_d=$(as "$DRI" "$W/shiproom" status --policy "$P" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["t_rel_min"])')
	[ "$t_d" -gt "$t_c" ] && ok "the rollout is still guarded after the SSH drop (T+$t_c -> T+$t_d)" ||
		bad "stalled after the SSH drop"
else
	bad "no console over SSH: $(tail -5 "$W/sshd.log")"
fi

# the service dies (kill -9) and is started again on its state dir: the
# consoles say so, then attach again by themselves
svc_pid=$(cat "$W/state/service.pid" 2>/dev/null)
kill -9 "$svc_pid" 2>/dev/null
wait_for obs2 "service is gone" 5 && ok "a console says when the service is gone" ||
	bad "no word of the lost service"
as "$DRI" "$W/shiproom" serve --detach --policy "$P" --scenario healthy --speed 60 \
	--state-dir "$W/state" >"$W/serve2.out" 2>&1 || bad "restart: $(cat "$W/serve2.out")"
wait_for obs2 "attached again" 5 && ok "and attaches again to the restarted service" ||
	bad "the console did not reattach"
wait_for obs2 "held" 5 && ok "which goes on from the journal (still held)" ||
	bad "the restarted service lost the hold"

# the observer may not stop the service; the DRI may
as "$OBS" "$W/shiproom" stop --policy "$P" >"$W/o.out" 2>&1
[ $? = 3 ] && ok "the observer may not stop the service (exit 3)" || bad "observer stop: $(cat "$W/o.out")"
as "$DRI" "$W/shiproom" stop --policy "$P" >"$W/o.out" 2>&1 && ok "the DRI stops it" ||
	bad "DRI stop: $(cat "$W/o.out")"
wait_for dri "service ended the session" 5 || screen dri | grep -q "stopped by $DRI" &&
	ok "attached consoles are told why the service ended" || bad "consoles not told"

[ $fails -eq 0 ] || { echo "$fails failed"; exit 1; }
