# bench/analysis: events/s of the analysis on a large synthetic recording, next to
# babeltrace2 -o dummy, and its memory at two trace sizes. Not a test.
# Included from bench/CMakeLists.txt.
if(TARGET ct_analysis_io)
  add_executable(ct_bench_analysis ${CMAKE_CURRENT_LIST_DIR}/analysis.c)
  target_link_libraries(ct_bench_analysis PRIVATE ct_analysis_io)
endif()

# bench/analysis_bt2: babeltrace2's decode cost per event for variants of our CTF layout
# (alignment, per-event context, argument array, payload size, strings). Not a test.
add_executable(ct_bench_analysis_bt2 ${CMAKE_CURRENT_LIST_DIR}/analysis_bt2.c)
