# SPDX-License-Identifier: MIT
# net/: span decoders, receivers, span → event conversion, exporter.
ct_unit_test(test_net_codec SOURCES unit/test_net_codec.c LIBS ct_net_codec)
ct_unit_test(test_net_events SOURCES unit/test_net_events.c LIBS ct_net ct_format LABELS tsan)
ct_unit_test(test_net_http SOURCES unit/test_net_http.c LIBS ct_net TIMEOUT 120)
ct_unit_test(test_net_export SOURCES unit/test_net_export.c LIBS ct_net LABELS tsan TIMEOUT 120)
# Real SDK clients from npm against `crosstrace receive` (needs node + tests/e2e/node/node_modules).
ct_script_test(net_node COMMAND sh ${CMAKE_SOURCE_DIR}/tests/e2e/net_node.sh LABELS e2e TIMEOUT 120)
set_tests_properties(net_node PROPERTIES SKIP_RETURN_CODE 77)
# Decoders under libFuzzer (clang build, CT_FUZZ) or corpus replay.
ct_fuzz_test(fuzz_otlp_proto SOURCES fuzz/fuzz_otlp_proto.c LIBS ct_net SECONDS 20)
ct_fuzz_test(fuzz_otlp_json SOURCES fuzz/fuzz_otlp_json.c LIBS ct_net SECONDS 20)
ct_fuzz_test(fuzz_zipkin_json SOURCES fuzz/fuzz_zipkin_json.c LIBS ct_net SECONDS 20)
