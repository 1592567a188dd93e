# libcrosstrace: the tracer API, the per-thread rings (also under ThreadSanitizer: label tsan),
# the wire protocol receiver, and end-to-end checks with babeltrace2 and the example.
ct_unit_test(test_tracer SOURCES unit/test_tracer.c LIBS crosstrace_static ct_format TIMEOUT 120)
ct_unit_test(test_ring SOURCES unit/test_ring.c LIBS crosstrace_static ct_format LABELS tsan
             TIMEOUT 600)
ct_unit_test(test_wire SOURCES unit/test_wire.c LIBS crosstrace_static ct_format TIMEOUT 120)
add_dependencies(test_wire ct_example_checkout)
ct_fuzz_test(fuzz_wire SOURCES fuzz/fuzz_wire.c LIBS ct_format)
ct_script_test(client_babeltrace COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/client_babeltrace.sh
               LABELS e2e TIMEOUT 120)
# The thread context record (lib/threadctx.h): read in the thread, from the trace directory,
# and from another process (ptrace + process_vm_readv) in a traced program linked with the
# shared library; thread hops and lazily made ids under ThreadSanitizer too (label tsan).
add_executable(test_threadctx_target unit/test_threadctx_target.c)
target_link_libraries(test_threadctx_target PRIVATE crosstrace Threads::Threads)
ct_unit_test(test_threadctx SOURCES unit/test_threadctx.c LIBS crosstrace_static ct_format
             TIMEOUT 120)
add_dependencies(test_threadctx test_threadctx_target)
ct_unit_test(test_threadctx_threads SOURCES unit/test_threadctx_threads.c LIBS crosstrace_static
             LABELS tsan TIMEOUT 300)
