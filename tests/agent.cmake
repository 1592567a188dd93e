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
