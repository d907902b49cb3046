#!/bin/sh
# bench/status_rss.sh BIN POLICY AT - resident memory of `status` at its
# end, split: a breakpoint (gdb) on status_print_text, after catching up
# to AT, then RssAnon (the process's own), RssFile (shared libraries'
# pages, which move with what the page cache holds) and VmHWM (peak)
# from /proc. A fresh state dir each run. Needs gdb. Nothing asserts.
set -u
bin=${1:-build/shiproom}
pol=${2:-config/shiproom.json}
at=${3:-T+350}
dir=$(mktemp -d /tmp/shiproom-status-rss.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/gdb" <<G
set pagination off
break status_print_text
run status --policy $pol --scenario healthy --at $at --state-dir $dir/state > /dev/null
python
import gdb
pid = gdb.selected_inferior().pid
d = dict(l.split(":", 1) for l in open("/proc/%d/status" % pid))
print("status_rss:", " ".join("%s %s kB" % (k, d[k].strip().split()[0]) for k in ("RssAnon", "RssFile", "VmHWM")))
end
kill
quit
G
gdb -q -batch -x "$dir/gdb" "$bin" 2>&1 | grep "^status_rss:"
