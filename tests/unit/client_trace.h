/* SPDX-License-Identifier: MIT */
/*
 * Test helper for the client tests: loads every event of a trace directory through the C
 * reader (format/trace_reader.h) into an array, with strings copied, so a test can look
 * records up after the reader is closed. Also counts reader errors and discarded events.
 */
#ifndef CT_TEST_CLIENT_TRACE_H
#define CT_TEST_CLIENT_TRACE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/trace_reader.h"

struct tevs {
	struct ct_event *v;
	size_t n, cap;
	uint64_t errors; /* reader errors (damage) */
	uint64_t discarded; /* events_discarded summed over chunks */
	uint64_t lost_client; /* manifest totals: lost.client_records */
	unsigned chunks;
	char status[32];
	char **strs; /* copies of the events' strings, freed by tevs_free */
	size_t n_strs, cap_strs;
};

__attribute__((unused)) static void tevs_on_error(void *arg, int code, const char *msg)
{
	(void)code;
	(void)arg;
	fprintf(stderr, "reader: %s\n", msg);
}

static const char *tevs_dup(struct tevs *e, const char *s, uint32_t len)
{
	char *d = malloc(len + 1);

	memcpy(d, s, len);
	d[len] = 0;
	if (e->n_strs == e->cap_strs) {
		e->cap_strs = e->cap_strs ? e->cap_strs * 2 : 1024;
		e->strs = realloc(e->strs, e->cap_strs * sizeof(*e->strs));
	}
	e->strs[e->n_strs++] = d;
	return d;
}

/* Copies the strings of ev that point into the reader's memory. */
static void tevs_own(struct tevs *e, struct ct_event *ev)
{
#define DUP(f) ev->u.f = tevs_dup(e, ev->u.f, ev->u.f##_len)
	switch (ev->type) {
	case CT_EV_SPAN_START:
		DUP(span_start.name);
		break;
	case CT_EV_SPAN_END:
		DUP(span_end.message);
		break;
	case CT_EV_SPAN_STATUS:
		DUP(span_status.message);
		break;
	case CT_EV_ATTR_STR:
		DUP(attr_str.key);
		DUP(attr_str.value);
		break;
	case CT_EV_ATTR_INT:
		DUP(attr_int.key);
		break;
	case CT_EV_ATTR_DOUBLE:
		DUP(attr_double.key);
		break;
	case CT_EV_ATTR_BOOL:
		DUP(attr_bool.key);
		break;
	case CT_EV_SPAN_EVENT:
		DUP(span_event.name);
		break;
	case CT_EV_PROCESS_INFO:
		DUP(process_info.service);
		DUP(process_info.sdk);
		DUP(process_info.host);
		break;
	default:
		break;
	}
#undef DUP
}

/* Loads the trace at dir. Returns 0, or -1 when it cannot be opened. */
__attribute__((unused)) static int tevs_load(const char *dir, struct tevs *out)
{
	struct ct_trace *t;
	char err[512];

	memset(out, 0, sizeof(*out));
	if (ct_trace_open(&t, dir, tevs_on_error, NULL, err, sizeof(err))) {
		fprintf(stderr, "cannot open trace %s: %s\n", dir, err);
		return -1;
	}
	out->chunks = ct_trace_chunk_count(t);
	out->lost_client = ct_trace_lost(t, "client_records");
	snprintf(out->status, sizeof(out->status), "%s", ct_trace_status(t));
	for (unsigned i = 0; i < out->chunks; i++) {
		struct ct_chunk_reader *r;
		struct ct_event ev;

		if (ct_chunk_reader_open(&r, ct_trace_chunk(t, i)->dir, tevs_on_error, NULL, err,
					 sizeof(err))) {
			fprintf(stderr, "cannot open chunk %u: %s\n", i, err);
			out->errors++;
			continue;
		}
		while (ct_chunk_reader_next(r, &ev) == 1) {
			if (out->n == out->cap) {
				out->cap = out->cap ? out->cap * 2 : 1024;
				out->v = realloc(out->v, out->cap * sizeof(*out->v));
			}
			tevs_own(out, &ev);
			out->v[out->n++] = ev;
		}
		out->errors += ct_chunk_reader_errors(r);
		out->discarded += ct_chunk_reader_discarded(r);
		ct_chunk_reader_close(r);
	}
	ct_trace_close(t);
	return 0;
}

/* Number of events of a type (0: all) recorded by pid (0: any). */
__attribute__((unused)) static size_t tevs_count(const struct tevs *e, unsigned type, int32_t pid)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++)
		n += (!type || e->v[i].type == type) && (!pid || e->v[i].pid == pid);
	return n;
}

__attribute__((unused)) static void tevs_free(struct tevs *e)
{
	for (size_t i = 0; i < e->n_strs; i++)
		free(e->strs[i]);
	free(e->strs);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

#endif
