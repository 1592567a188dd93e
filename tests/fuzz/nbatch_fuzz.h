/* SPDX-License-Identifier: MIT */
/*
 * What every span decoder's fuzz target does with a batch it decoded: encode it as OTLP
 * protobuf and decode that again (the span count must survive; abort() otherwise), turn
 * spans and resources into crosstrace events, and dump the spans as JSON. Header-only: each
 * fuzz target is one executable.
 */
#ifndef CT_TESTS_NBATCH_FUZZ_H
#define CT_TESTS_NBATCH_FUZZ_H

#include <stdlib.h>

#include "net/otlp_proto.h"
#include "net/span_dump.h"
#include "net/span_events.h"

static int nbatch_fuzz_ignore(void *arg, uint64_t ts, int32_t pid, int32_t tid, const void *events,
			      size_t len, uint32_t n)
{
	(void)arg;
	(void)ts;
	(void)pid;
	(void)tid;
	(void)events;
	(void)len;
	(void)n;
	return 0;
}

/* Runs b through the encoder, the event conversion and the dump, then frees it. */
static void nbatch_fuzz(struct ct_nbatch *b, int64_t clock_offset_ns)
{
	struct ct_span_ev_clock clk = {.offset_ns = clock_offset_ns};
	struct ct_nbatch *again = NULL;
	struct ct_buf enc, dump, scratch;
	char err[256];

	ct_buf_init(&enc);
	ct_buf_init(&dump);
	ct_buf_init(&scratch);
	if (ct_otlp_proto_encode(b, NULL, 0, &enc) == 0 && enc.len) {
		if (ct_otlp_proto_decode((const uint8_t *)enc.data, enc.len, &again, err,
					 sizeof(err)) ||
		    again->n_spans != b->n_spans)
			abort(); /* what we encode must decode to the same spans */
	}
	for (uint32_t i = 0; i < b->n_spans; i++) {
		ct_span_events(b, &b->spans[i], &clk, &scratch, nbatch_fuzz_ignore, NULL, NULL);
		ct_span_dump_json(&dump, b, &b->spans[i]);
	}
	for (uint32_t i = 0; i < b->n_resources; i++)
		ct_resource_events(b, &b->resources[i], 0, &scratch, nbatch_fuzz_ignore, NULL,
				   NULL);
	ct_buf_fini(&enc);
	ct_buf_fini(&scratch);
	ct_buf_fini(&dump);
	ct_nbatch_free(again);
	ct_nbatch_free(b);
}

#endif
