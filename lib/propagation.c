// SPDX-License-Identifier: MIT
/*
 * Context propagation through a carrier (HTTP headers, message properties): inject writes
 * traceparent/tracestate/baggage through a set callback, extract reads them through a get
 * callback, applying the W3C processing model (a tracestate without a valid traceparent is
 * discarded). Header values are formatted on the stack: no heap, no locks, no system calls.
 */
#include <errno.h>

#include "crosstrace/crosstrace.h"

int ct_context_inject(const struct ct_span_context *ctx, const struct ct_tracestate *ts,
		      ct_carrier_set_fn set, void *carrier)
{
	char tp[CT_TRACEPARENT_LEN + 1];
	char tsv[sizeof(ts->buf)];

	if (!set || ct_traceparent_format(ctx, tp, sizeof(tp)) < 0)
		return -EINVAL;
	set(carrier, "traceparent", tp);
	/* W3C 3.3.1.1: vendors SHOULD avoid sending an empty tracestate. */
	if (ts && ct_tracestate_count(ts) && ct_tracestate_format(ts, tsv, sizeof(tsv)) > 0)
		set(carrier, "tracestate", tsv);
	return 0;
}

int ct_context_extract(ct_carrier_get_fn get, void *carrier, struct ct_span_context *ctx,
		       struct ct_tracestate *ts)
{
	const char *v;
	size_t len = 0;
	int err;

	if (ts)
		ct_tracestate_init(ts);
	if (!get || !ctx)
		return -EINVAL;
	v = get(carrier, "traceparent", &len);
	if (!v)
		return -ENOENT;
	/* W3C 3.3: without a valid traceparent, tracestate MUST NOT be parsed. */
	err = ct_traceparent_parse(v, len, ctx);
	if (err)
		return err;
	if (ts) {
		len = 0;
		v = get(carrier, "tracestate", &len);
		/* A bad tracestate is dropped whole and never affects traceparent (3.3). */
		if (v)
			(void)ct_tracestate_parse(v, len, ts);
	}
	return 0;
}

int ct_baggage_inject(const struct ct_baggage *bg, ct_carrier_set_fn set, void *carrier)
{
	char buf[CT_BAGGAGE_MAX_BYTES + 1];
	int n;

	if (!bg || !set)
		return -EINVAL;
	if (!ct_baggage_count(bg))
		return 0;
	n = ct_baggage_format(bg, buf, sizeof(buf));
	if (n < 0)
		return n;
	set(carrier, "baggage", buf);
	return 0;
}

int ct_baggage_extract(ct_carrier_get_fn get, void *carrier, struct ct_baggage *bg)
{
	const char *v;
	size_t len = 0;

	if (!bg)
		return -EINVAL;
	ct_baggage_init(bg);
	if (!get)
		return -EINVAL;
	v = get(carrier, "baggage", &len);
	if (!v)
		return -ENOENT;
	return ct_baggage_parse(v, len, bg);
}
