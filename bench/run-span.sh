#!/bin/sh
# Runs bench/span with an LTTng-UST session recording its tracepoint, so that the LTTng column
# is the cost of an event really written (per-UID buffers, discard mode, 4 x 4 MiB per CPU).
# Usage: bench/run-span.sh [build dir] [iterations] [rounds]. Needs lttng-tools; starts
# lttng-sessiond when none runs and stops only what it started. Prints the table (medians of
# the interleaved rounds, with their range); not a test. LD_LIBRARY_PATH=<other build>/lib
# runs the same benchmark against another libcrosstrace.so (before/after comparisons).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
iters=${2:-500000}
rounds=${3:-5}
bin=$build/bench/ct_bench_span
[ -x "$bin" ] || { echo "run-span: $bin missing: build first (ninja -C $build ct_bench_span)" >&2; exit 1; }
command -v lttng > /dev/null || { echo "run-span: lttng missing (apt-get install lttng-tools)" >&2; exit 1; }
started=""
if ! pgrep -x lttng-sessiond > /dev/null; then
	lttng-sessiond --daemonize
	# None ran before: the one running now is ours, and only it is stopped (by pid).
	started=$(pgrep -x -o lttng-sessiond || true)
fi
session=ct-bench-$$
tmp=$(mktemp -d /tmp/ct-bench-lttng-XXXXXX)
cleanup() {
	lttng destroy "$session" > /dev/null 2>&1 || true
	rm -rf "$tmp"
	[ -z "$started" ] || kill "$started" 2> /dev/null || true
}
trap cleanup EXIT
lttng create "$session" --output="$tmp" > /dev/null
lttng enable-channel --userspace --subbuf-size=4M --num-subbuf=4 bench > /dev/null
lttng enable-event --userspace --channel=bench 'ct_bench:span' > /dev/null
lttng start "$session" > /dev/null
"$bin" "$iters" "$rounds"
lttng stop "$session" > /dev/null
lttng view "$session" 2> /dev/null | head -n 1 | cut -c1-160 || true
