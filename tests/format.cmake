# Trace format: events, CTF streams, trace directories (writer, reader, babeltrace2 oracle).
ct_unit_test(test_format SOURCES unit/test_format.c LIBS ct_format)
ct_fuzz_test(fuzz_ctf_stream SOURCES fuzz/fuzz_ctf_stream.c LIBS ct_format)
ct_script_test(format_cli COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/format_cli.sh LABELS e2e)
