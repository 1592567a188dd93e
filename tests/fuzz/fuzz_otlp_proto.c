// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the OTLP protobuf decoder, then everything a decoded batch goes through (our
 * encoder, which must produce a request that decodes to as many spans; event conversion; the
 * JSON dump).
 */
#include <stdlib.h>

#include "net/otlp_proto.h"
#include "net/span_dump.h"
#include "net/span_events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ignore(void *arg, uint16_t id, uint64_t ts, int32_t pid, int32_t tid, const void *p,
		  size_t len)
{
	(void)arg;
	(void)id;
	(void)ts;
	(void)pid;
	(void)tid;
	(void)p;
	(void)len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_span_ev_clock clk = {.offset_ns = 1000};
	struct ct_nbatch *b = NULL, *again = NULL;
	struct ct_buf enc, dump;
	char err[256];

	if (ct_otlp_proto_decode(data, size, &b, err, sizeof(err)))
		return 0;
	ct_buf_init(&enc);
	ct_buf_init(&dump);
	if (ct_otlp_proto_encode(b, NULL, 0, &enc) == 0 && enc.len) {
		if (ct_otlp_proto_decode((const uint8_t *)enc.data, enc.len, &again, err,
					 sizeof(err)) ||
		    again->n_spans != b->n_spans)
			abort(); /* what we encode must decode to the same spans */
	}
	for (uint32_t i = 0; i < b->n_spans; i++) {
		ct_span_events(b, &b->spans[i], &clk, ignore, NULL, NULL);
		ct_span_dump_json(&dump, b, &b->spans[i]);
	}
	for (uint32_t i = 0; i < b->n_resources; i++)
		ct_resource_events(b, &b->resources[i], 0, ignore, NULL, NULL);
	ct_buf_fini(&enc);
	ct_buf_fini(&dump);
	ct_nbatch_free(again);
	ct_nbatch_free(b);
	return 0;
}
