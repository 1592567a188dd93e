# libcrosstrace: the tracer API, the per-thread rings (also under ThreadSanitizer: label tsan),
# the wire protocol receiver, and end-to-end checks with babeltrace2 and the example.
ct_unit_test(test_tracer SOURCES unit/test_tracer.c LIBS crosstrace_static ct_format TIMEOUT 120)
ct_unit_test(test_ring SOURCES unit/test_ring.c LIBS crosstrace_static ct_format LABELS tsan
             TIMEOUT 600)
