#!/bin/sh
# bench/run.sh BUILD_DIR - run every benchmark in bench/ and print figures.
# Benchmarks are measured side by side in one run on a noisy shared
# machine: compare ratios, not absolute numbers. Nothing here asserts.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1

echo "== engine: one full evaluation, directive policy, 50 journeys x 2 cohorts"
cc -std=c17 -O2 -Iinclude bench/eval_bench.c "$build/libshiproom.a" \
	$(pkg-config --libs ncursesw libuv libcurl jansson) -lm -o "$build/eval_bench" &&
	"$build/eval_bench" config/shiproom.json

if [ -x bench/term_bench.sh ]; then
	echo "== terminal: bytes/s and CPU s/min, shiproom vs htop at 120x40"
	bench/term_bench.sh "$build/shiproom"
fi
