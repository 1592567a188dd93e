# Trace format: events, CTF streams, trace directories (writer, reader, babeltrace2 oracle).
ct_unit_test(test_format SOURCES unit/test_format.c LIBS ct_format)
