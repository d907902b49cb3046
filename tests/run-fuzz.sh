#!/bin/sh
# tests/run-fuzz.sh BUILD_DIR SECONDS - run every libFuzzer target for a
# while over its seed corpus (tests/fuzz/corpus/NAME). A crash, leak or
# sanitizer report fails the run and leaves the reproducer in BUILD_DIR.
set -u
build=$1
secs=${2:-5}
status=0
for f in "$build"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corpus="tests/fuzz/corpus/$name"
	work="$build/fuzz/work-$name"
	mkdir -p "$work"
	[ -d "$corpus" ] || corpus=""
	if "$f" -max_total_time="$secs" -artifact_prefix="$build/fuzz/$name-" \
		-print_final_stats=0 "$work" $corpus >"$build/fuzz/$name.log" 2>&1; then
		echo "ok - $name ($secs s, $(grep -c . "$build/fuzz/$name.log") log lines)"
	else
		echo "not ok - $name: see $build/fuzz/$name.log"
		tail -20 "$build/fuzz/$name.log"
		status=1
	fi
done
exit $status
