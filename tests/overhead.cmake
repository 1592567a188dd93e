# Span-aware kernel capture (record --only-in-spans, issue #6): the filtered recording of a
# program against a full recording of the same run made by a second recorder, and the
# program's own scope events as the oracle. Needs root (label kernel); under CI=true a skip
# fails.
if(NOT TARGET ct_capture OR NOT CT_HAVE_BPF)
  return()
endif()

add_executable(test_only_in_spans_target unit/test_only_in_spans_target.c)
target_link_libraries(test_only_in_spans_target PRIVATE crosstrace Threads::Threads)
add_executable(test_only_in_spans unit/test_only_in_spans.c)
target_include_directories(test_only_in_spans PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit
                           ${CMAKE_SOURCE_DIR}/tests/e2e)
target_link_libraries(test_only_in_spans PRIVATE ct_format)
add_dependencies(test_only_in_spans crosstrace_cli test_only_in_spans_target)
ct_script_test(test_only_in_spans COMMAND test_only_in_spans $<TARGET_FILE:crosstrace_cli>
               $<TARGET_FILE:test_only_in_spans_target> LABELS "kernel;e2e" TIMEOUT 120)
