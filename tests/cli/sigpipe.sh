#!/bin/sh
# tests/cli/sigpipe.sh BIN - a reader that went away must not kill shiproom
# with SIGPIPE: main() ignores it (a HAProxy peer closing its socket in the
# middle of a rollback is the case that matters; stdout closed early is the
# one a test can make for sure). The write then fails with EPIPE, which is
# reported: exit 1 and "cannot write the output", not death by signal.
set -u
bin=${1:-build/shiproom}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib"

out=$(python3 - "$bin" <<'PY' 2>&1
import os, subprocess, sys
r, w = os.pipe()
os.close(r)  # nobody will ever read: any write gets SIGPIPE / EPIPE
# restore_signals (the default) gives the child SIGPIPE's default action,
# as a shell would; only shiproom's own signal() can ignore it.
p = subprocess.run([sys.argv[1], "status", "--scenario", "healthy", "--at", "T+30", "--json"],
                   stdout=w, stderr=subprocess.PIPE)
os.close(w)
print("rc=%d" % p.returncode)
sys.stdout.write(p.stderr.decode(errors="replace"))
PY
)
case $out in
rc=1*"cannot write the output"*) ok "stdout closed: exit 1 with a message, not killed by SIGPIPE" ;;
*) bad "stdout closed: $out" ;;
esac
finish
