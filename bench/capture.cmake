# bench/capture: per-syscall recording overhead (ours BPF and perf, perf record/trace,
# strace -f, a bare BPF floor built here) and the event rate crosstrace sustains. Not a test.
# Included from bench/CMakeLists.txt.
if(CT_HAVE_BPF AND TARGET crosstrace_cli)
  ct_bpf_skeleton(ct_bpf_capture_floor capture_floor
                  ${CMAKE_CURRENT_LIST_DIR}/capture_floor.bpf.c)
  add_executable(capture_bench ${CMAKE_CURRENT_LIST_DIR}/capture_bench.c)
  target_link_libraries(capture_bench PRIVATE ct_bpf_capture_floor Threads::Threads)
  add_dependencies(capture_bench crosstrace_cli)
endif()
