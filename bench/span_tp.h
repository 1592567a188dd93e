/* SPDX-License-Identifier: MIT */
/*
 * The LTTng-UST tracepoint bench/span compares crosstrace with: one event carrying what one
 * crosstrace span records (trace id, span id, parent id, start and end times, name, and the
 * same four attributes).
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER ct_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./span_tp.h"

#if !defined(CT_BENCH_SPAN_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define CT_BENCH_SPAN_TP_H

#include <lttng/tracepoint.h>
#include <stdint.h>

#ifndef CT_BENCH_SPAN_STRUCT
#define CT_BENCH_SPAN_STRUCT
/* What one span carries (LTTng-UST takes at most 10 arguments: pass them in a struct). */
struct ct_bench_span {
	uint64_t trace_hi, trace_lo, span_id, parent_id, start_ns, end_ns;
	const char *name, *method;
	int64_t status_code;
	double ratio;
	int cached;
};
#endif

/* The field list reads best one per line. */
/* clang-format off */
LTTNG_UST_TRACEPOINT_EVENT(ct_bench, span,
	LTTNG_UST_TP_ARGS(const struct ct_bench_span *, s),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, trace_hi, s->trace_hi)
		lttng_ust_field_integer(uint64_t, trace_lo, s->trace_lo)
		lttng_ust_field_integer(uint64_t, span_id, s->span_id)
		lttng_ust_field_integer(uint64_t, parent_id, s->parent_id)
		lttng_ust_field_integer(uint64_t, start_ns, s->start_ns)
		lttng_ust_field_integer(uint64_t, end_ns, s->end_ns)
		lttng_ust_field_string(name, s->name)
		lttng_ust_field_string(method, s->method)
		lttng_ust_field_integer(int64_t, status_code, s->status_code)
		lttng_ust_field_float(double, ratio, s->ratio)
		lttng_ust_field_integer(int, cached, s->cached)
	)
)
/* clang-format on */

#endif

#include <lttng/tracepoint-event.h>
