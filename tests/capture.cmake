# Kernel capture (bpf/, capture/, crosstrace record). Unit tests of the pure parts run
# everywhere (and under ASan); the kernel tests need root and run the real kernel against
# independent oracles: strace -f, /proc context-switch counters, babeltrace2. Under CI=true a
# kernel test that cannot run fails instead of skipping.
if(NOT TARGET ct_capture)
  return()
endif()

# Pure parts: the reorder window, the /proc and tracefs parsers, the state dump of this very
# process, command resolution. Also run under ASan+UBSan.
ct_unit_test(test_capture_reorder SOURCES unit/test_capture_reorder.c LIBS ct_capture)
ct_unit_test(test_capture_parsers SOURCES unit/test_capture_parsers.c LIBS ct_capture)
# The parsers are compiled into their fuzz targets (coverage instrumentation needs them there).
ct_fuzz_test(fuzz_capture_procnet SOURCES fuzz/fuzz_capture_procnet.c
             ${CMAKE_SOURCE_DIR}/capture/statedump.c)
ct_fuzz_test(fuzz_capture_tpformat SOURCES fuzz/fuzz_capture_tpformat.c
             ${CMAKE_SOURCE_DIR}/capture/tracefs.c)

add_executable(capture_workload e2e/capture_workload.c)
target_link_libraries(capture_workload PRIVATE crosstrace_static Threads::Threads)

# ct_capture_kernel_test(name [TIMEOUT s]): tests/e2e/<name>.c driving crosstrace record.
function(ct_capture_kernel_test name)
  cmake_parse_arguments(K "" "TIMEOUT" "" ${ARGN})
  add_executable(${name} e2e/${name}.c)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit
                             ${CMAKE_SOURCE_DIR}/tests/e2e)
  target_link_libraries(${name} PRIVATE ct_format)
  add_dependencies(${name} crosstrace_cli capture_workload)
  if(NOT K_TIMEOUT)
    set(K_TIMEOUT 120)
  endif()
  ct_script_test(${name} COMMAND ${name} $<TARGET_FILE:crosstrace_cli>
                 $<TARGET_FILE:capture_workload> LABELS "kernel;e2e" TIMEOUT ${K_TIMEOUT})
endfunction()

ct_capture_kernel_test(test_capture_syscalls)
ct_capture_kernel_test(test_capture_sched)
ct_capture_kernel_test(test_capture_loss)
ct_capture_kernel_test(test_capture_rotation)
ct_capture_kernel_test(test_capture_cli)
