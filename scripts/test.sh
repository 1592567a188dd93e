#!/bin/sh
# Runs the whole crosstrace test suite, as CI does (.ci/run calls exactly this):
#   1. formatting (clang-format, kernel style)
#   2. the main build: unit, kernel-capture (root), end-to-end and browser tests
#   3. an ASan+UBSan build (clang): unit tests and every fuzz target for a short fixed time
#   4. a ThreadSanitizer build: the lock-free ring stress tests
# Kernel tests need root (CAP_BPF + CAP_PERFMON); without it they skip with a reason, except
# under CI=true where a skipped kernel test fails the run.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
jobs=$(nproc 2>/dev/null || echo 2)
start=$(date +%s)

step() { printf '\n==== %s (%ss)\n' "$1" "$(($(date +%s) - start))"; }

step "format"
scripts/check-format.sh

step "main build"
scripts/build.sh build
step "main tests"
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 600

step "ASan+UBSan build"
scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCT_SANITIZE=ON \
	-DCT_FUZZ=ON
step "ASan+UBSan tests and fuzzing"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --test-dir build-asan --output-on-failure -j "$jobs" -L 'unit|fuzz' -LE 'nosan' \
	--timeout 600

step "ThreadSanitizer build"
scripts/build.sh build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	-DCT_TSAN=ON
step "ThreadSanitizer tests"
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan --output-on-failure -L tsan \
	--no-tests=error --timeout 900

step "all tests passed"
