/* SPDX-License-Identifier: MIT */
/*
 * What every span decoder's fuzz target does with a batch it decoded: encode it as OTLP
 * protobuf and decode that again (the span count must survive; abort() otherwise), turn
 * spans and resources into crosstrace events, and dump the spans as JSON; and the whole model
 * as text, to compare two decoders. Header-only: each fuzz target is one executable.
 */
#ifndef CT_TESTS_NBATCH_FUZZ_H
#define CT_TESTS_NBATCH_FUZZ_H

#include <stdlib.h>

#include "net/otlp_proto.h"
#include "net/span_dump.h"
#include "net/span_events.h"

static inline int nbatch_fuzz_ignore(void *arg, uint64_t ts, int32_t pid, int32_t tid,
				     const void *events, size_t len, uint32_t n)
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
static inline void nbatch_fuzz(struct ct_nbatch *b, int64_t clock_offset_ns)
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

/*
 * Everything of b's model as text (out is reset): counts and rejection, each span's JSON
 * dump, resources and scopes, and b encoded again as OTLP protobuf (hex), which holds what
 * the dump leaves out (value types, schema URLs, link states, dropped counts).
 */
static inline void nbatch_fuzz_text(struct ct_buf *out, const struct ct_nbatch *b)
{
	struct ct_buf enc;
	int e;

	ct_buf_reset(out);
	ct_buf_printf(out, "%u spans, %u resources, %u scopes, %llu rejected: %s\n", b->n_spans,
		      b->n_resources, b->n_scopes, (unsigned long long)b->rejected, b->reject_msg);
	for (uint32_t i = 0; i < b->n_spans; i++)
		ct_span_dump_json(out, b, &b->spans[i]);
	for (uint32_t i = 0; i < b->n_resources; i++) {
		const struct ct_nresource *r = &b->resources[i];

		ct_buf_printf(out, "resource %s|%s|%s|%s|%d|%u\n", r->schema_url, r->service,
			      r->host, r->sdk_language, r->pid, r->attrs.dropped);
	}
	for (uint32_t i = 0; i < b->n_scopes; i++) {
		const struct ct_nscope *c = &b->scopes[i];

		ct_buf_printf(out, "scope %s|%s|%s|%u|%u\n", c->name, c->version, c->schema_url,
			      c->attrs.n, c->attrs.dropped);
	}
	ct_buf_init(&enc);
	e = ct_otlp_proto_encode(b, NULL, 0, &enc);
	ct_buf_printf(out, "encoded %d:", e);
	for (size_t i = 0; i < enc.len; i++)
		ct_buf_printf(out, "%02x", (uint8_t)enc.data[i]);
	ct_buf_fini(&enc);
}

#endif
