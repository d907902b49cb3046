#!/bin/sh
# tests/run-all.sh BUILD_DIR - every test of shiproom, in one run:
#   unit tests (cmocka), CLI tests, fuzz smoke runs, screen tests in tmux.
# Each suite is counted once; the last line is "N passed, N failed".
# Under `make asan` (SR_SANITIZED=1) the fuzz smoke is skipped: the fuzz
# targets are already built with ASan+UBSan and run by `make check`.
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
cd "$top" || exit 1

passed=0
failed=0
failures=""

run_suite() { # name command...
	name=$1
	shift
	echo "=== $name"
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures="$failures $name"
		echo "!!! FAILED: $name"
	fi
}

run_suite "format" make --no-print-directory format-check

for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	run_suite "unit/$(basename "$t")" "$t"
done

for t in tests/cli/*.sh; do
	[ -f "$t" ] || continue
	run_suite "cli/$(basename "$t" .sh)" sh "$t" "$build/shiproom"
done

if [ -z "${SR_SANITIZED:-}" ] && [ -z "${SR_SKIP_FUZZ:-}" ]; then
	run_suite "fuzz-smoke" make --no-print-directory fuzz FUZZ_TIME="${FUZZ_TIME:-5}"
fi

# End-to-end: a real Prometheus and a real HAProxy on loopback ports,
# started and stopped by each test. A missing one is a failure.
for t in tests/e2e/test_*.sh; do
	[ -f "$t" ] || continue
	run_suite "e2e/$(basename "$t" .sh)" sh "$t" "$build"
done

if [ -x tests/screen/run.sh ]; then
	run_suite "screen" tests/screen/run.sh "$build/shiproom"
fi

echo
if [ "$failed" -gt 0 ]; then
	echo "failed suites:$failures"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
