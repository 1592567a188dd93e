# bench/e2e: end-to-end overhead on a small traced HTTP server driven by wrk (bench/e2e.sh runs
# every scenario and writes bench/results/e2e-<date>.md). Not a test. Included from
# bench/CMakeLists.txt.
add_executable(e2e_server ${CMAKE_CURRENT_LIST_DIR}/e2e_server.c)
target_link_libraries(e2e_server PRIVATE crosstrace Threads::Threads)
