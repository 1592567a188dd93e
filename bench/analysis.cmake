# bench/analysis: events/s of the analysis on a large synthetic recording, next to
# babeltrace2 -o dummy, and its memory at two trace sizes. Not a test.
# Included from bench/CMakeLists.txt.
if(TARGET ct_analysis_io)
  add_executable(ct_bench_analysis ${CMAKE_CURRENT_LIST_DIR}/analysis.c)
  target_link_libraries(ct_bench_analysis PRIVATE ct_analysis_io)
endif()
