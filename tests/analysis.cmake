# Analysis: engine unit tests, golden cases (tests/data/analysis-*/), chunk stitching, exports,
# bad input. See docs/internals/analysis.md.
ct_unit_test(test_analysis_golden SOURCES unit/test_analysis_golden.c LIBS ct_analysis_io
             TIMEOUT 300)
# tsan: the driver maps chunks on worker threads.
ct_unit_test(test_analysis_tracedir SOURCES unit/test_analysis_tracedir.c LIBS ct_analysis_io
             LABELS tsan TIMEOUT 300)
ct_unit_test(test_analysis_export SOURCES unit/test_analysis_export.c LIBS ct_analysis_io
             TIMEOUT 120)
ct_unit_test(test_analysis_random SOURCES unit/test_analysis_random.c LIBS ct_analysis_io
             TIMEOUT 300)
ct_unit_test(test_analysis_cli SOURCES unit/test_analysis_cli.c LIBS ct_analysis_io TIMEOUT 120)
add_dependencies(test_analysis_cli crosstrace_cli)

# The analysis on real recordings of the demo shop, one pathology at a time, against the
# shop's own log of what it did; whole vs chunked; `crosstrace demo`. Root (kernel test).
add_executable(test_demo_shop unit/test_demo_shop.c)
target_include_directories(test_demo_shop PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
target_link_libraries(test_demo_shop PRIVATE ct_analysis_io)
add_dependencies(test_demo_shop crosstrace_cli ct-shop)
ct_script_test(test_demo_shop COMMAND test_demo_shop LABELS "kernel;e2e" TIMEOUT 300)
