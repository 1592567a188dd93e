# SPDX-License-Identifier: MIT
# agent/: `crosstrace agent`. Unit tests of its pure parts run everywhere (and under ASan);
# the end-to-end tests run real agent processes: bad input and export failures against the
# receivers and exporter (no kernel needed), and, as root on the real kernel, real SDK
# clients, the flight recorder, retention and the process watchers. Under CI=true a test
# that cannot run fails instead of skipping.
if(NOT TARGET ct_agent)
  return()
endif()

# Real SDK clients (npm) -> agent A (kernel annotation) -> agent B (round trip).
ct_script_test(agent_node COMMAND sh ${CMAKE_SOURCE_DIR}/tests/e2e/agent_node.sh
               LABELS "kernel;e2e" TIMEOUT 120)
set_tests_properties(agent_node PROPERTIES SKIP_RETURN_CODE 77)

# ct_agent_e2e_test(name [LABELS ...] [TIMEOUT s]): tests/e2e/<name>.c driving agent processes.
function(ct_agent_e2e_test name)
  cmake_parse_arguments(A "" "TIMEOUT" "LABELS;LIBS" ${ARGN})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 120)
  endif()
  ct_unit_test(${name} SOURCES e2e/${name}.c LIBS ct_util PkgConfig::AGENT_TEST_JANSSON ${A_LIBS}
               LABELS "e2e;${A_LABELS}" TIMEOUT ${A_TIMEOUT})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/e2e)
  add_dependencies(${name} crosstrace_cli)
  set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77)
endfunction()
pkg_check_modules(AGENT_TEST_JANSSON REQUIRED IMPORTED_TARGET jansson)

# Bad input to the receivers, health endpoint, config file, pid file (no kernel needed).
ct_agent_e2e_test(test_agent_input TIMEOUT 60)

# Export failures: endpoint down, 503 then OK, always 503, hanging (no kernel needed).
pkg_check_modules(AGENT_TEST_MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
# Also under ThreadSanitizer: the agent's receivers, annotator, exporter and health threads.
ct_agent_e2e_test(test_agent_export LIBS ct_net_codec PkgConfig::AGENT_TEST_MHD LABELS tsan
                  TIMEOUT 120)

# On the real kernel (root): flight recorder, retention, process watchers, native clients.
add_executable(agent_workload e2e/agent_workload.c)
target_link_libraries(agent_workload PRIVATE crosstrace_static)
add_executable(test_agent_kernel e2e/test_agent_kernel.c)
target_include_directories(test_agent_kernel PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit
                           ${CMAKE_SOURCE_DIR}/tests/e2e)
target_link_libraries(test_agent_kernel PRIVATE ct_format ct_util PkgConfig::AGENT_TEST_JANSSON)
add_dependencies(test_agent_kernel crosstrace_cli agent_workload)
ct_script_test(test_agent_kernel COMMAND test_agent_kernel $<TARGET_FILE:agent_workload>
               LABELS "kernel;e2e;tsan" TIMEOUT 180)
set_tests_properties(test_agent_kernel PROPERTIES SKIP_RETURN_CODE 77)

# Pure parts (also under ASan+UBSan).
ct_unit_test(test_agent_config SOURCES unit/test_agent_config.c LIBS ct_agent)
ct_unit_test(test_agent_feed SOURCES unit/test_agent_feed.c LIBS ct_agent LABELS tsan)
ct_unit_test(test_agent_procfs SOURCES unit/test_agent_procfs.c LIBS ct_agent)
# Annotation texts written without printf, checked against snprintf.
ct_unit_test(test_agent_anntext SOURCES unit/test_agent_anntext.c LIBS ct_agent)
# The agent's own parsers under libFuzzer (clang build, CT_FUZZ) or corpus replay.
ct_fuzz_test(fuzz_agent_config SOURCES fuzz/fuzz_agent_config.c LIBS ct_agent SECONDS 10)
ct_fuzz_test(fuzz_agent_procfs SOURCES fuzz/fuzz_agent_procfs.c LIBS ct_agent SECONDS 10)
