# Propagation and sampling (lib/traceparent.c, tracestate.c, baggage.c, propagation.c,
# sampler.c): W3C Trace Context and Baggage conformance, samplers, and their fuzz targets.
ct_unit_test(test_propagation SOURCES unit/test_propagation.c LIBS crosstrace_static)
ct_unit_test(test_baggage SOURCES unit/test_baggage.c LIBS crosstrace_static)
# Labelled tsan too: the rate limiter is hammered from 4 threads.
ct_unit_test(test_sampler SOURCES unit/test_sampler.c LIBS crosstrace_static LABELS tsan)
# The parsers are compiled into each fuzz target, not linked from crosstrace_static: only
# the target's own sources get -fsanitize=fuzzer, and libFuzzer is blind to code without its
# coverage instrumentation.
set(CT_PROP_SOURCES ${CMAKE_SOURCE_DIR}/lib/traceparent.c ${CMAKE_SOURCE_DIR}/lib/tracestate.c
  ${CMAKE_SOURCE_DIR}/lib/baggage.c ${CMAKE_SOURCE_DIR}/lib/propagation.c
  ${CMAKE_SOURCE_DIR}/lib/sampler.c)
ct_fuzz_test(fuzz_traceparent SOURCES fuzz/fuzz_traceparent.c ${CT_PROP_SOURCES} LIBS m)
ct_fuzz_test(fuzz_tracestate SOURCES fuzz/fuzz_tracestate.c ${CT_PROP_SOURCES} LIBS m)
ct_fuzz_test(fuzz_baggage SOURCES fuzz/fuzz_baggage.c ${CT_PROP_SOURCES} LIBS m)
# The hot path never allocates, locks or blocks: the propagation and sampler objects may call
# nothing outside this allow-list (libc string routines, llround, each other, sanitizer
# and coverage hooks). test_propagation's no_syscalls test covers system calls at run time.
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/propagation_symbols.sh [=[
# $1: the library's object files, as one ';'-separated list (a generator expression).
n=0 bad=0
for f in $(printf '%s' "$1" | tr ';' ' '); do
  case "$f" in
  */traceparent.c.o|*/tracestate.c.o|*/baggage.c.o|*/propagation.c.o|*/sampler.c.o)
    n=$((n + 1))
    for s in $(nm -u --format=just-symbols "$f"); do
      case "$s" in
      ct_*|memchr|memcmp|memcpy|memmove|memset|strlen|strnlen|strchr|strcasecmp|llround) ;;
      __stack_chk_fail|_GLOBAL_OFFSET_TABLE_|__asan_*|__ubsan_*|__tsan_*|__sanitizer_*) ;;
      __sancov_*|__start___sancov_*|__stop___sancov_*) ;; # coverage (fuzz builds)
      *) echo "${f##*/} calls $s: not allowed on the hot path"; bad=1 ;;
      esac
    done ;;
  esac
done
[ "$n" = 5 ] || { echo "expected 5 propagation objects, found $n"; exit 1; }
[ "$bad" = 0 ] || { echo "0 passed, 1 failed"; exit 1; }
echo "1 passed, 0 failed"
]=])
ct_script_test(test_propagation_symbols LABELS unit
  COMMAND sh ${CMAKE_CURRENT_BINARY_DIR}/propagation_symbols.sh
  $<TARGET_OBJECTS:crosstrace_static>)
