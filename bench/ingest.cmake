# bench/ingest: OTLP spans ingested per core by the receiver or by `crosstrace agent`, with a
# load generator on loopback (bench/ingest.c). Not a test. Included from bench/CMakeLists.txt.
if(TARGET ct_net)
  add_executable(bench_ingest ${CMAKE_CURRENT_LIST_DIR}/ingest.c)
  set_target_properties(bench_ingest PROPERTIES OUTPUT_NAME ingest)
  target_link_libraries(bench_ingest PRIVATE ct_net)
endif()
