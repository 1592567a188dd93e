# SPDX-License-Identifier: MIT
# net/: span decoders, receivers, span → event conversion, exporter.
ct_unit_test(test_net_codec SOURCES unit/test_net_codec.c LIBS ct_net_codec)
ct_unit_test(test_net_events SOURCES unit/test_net_events.c LIBS ct_net ct_format)
ct_unit_test(test_net_http SOURCES unit/test_net_http.c LIBS ct_net TIMEOUT 120)
ct_unit_test(test_net_export SOURCES unit/test_net_export.c LIBS ct_net TIMEOUT 120)
