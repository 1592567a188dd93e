// SPDX-License-Identifier: MIT
/*
 * Span model → event.def payloads. Attribute values keep their type where event.def has one
 * (string, int, double, bool); bytes become base64 strings and arrays/kvlists their JSON text
 * (the model keeps the type for export; a trace directory holds the text).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "crosstrace/crosstrace.h"
#include "format/event.h"
#include "span_events.h"

#define PAYLOAD_MAX 65000 /* below the CTF header's u16 payload size */

uint64_t ct_span_ev_mono(const struct ct_span_ev_clock *c, uint64_t real_ns)
{
	uint64_t off;

	/* In unsigned arithmetic: any offset and time must convert without overflow. */
	if (c->offset_ns >= 0) {
		off = (uint64_t)c->offset_ns;
		return real_ns > off ? real_ns - off : 0;
	}
	off = (uint64_t)0 - (uint64_t)c->offset_ns;
	return real_ns > UINT64_MAX - off ? UINT64_MAX : real_ns + off;
}

/* Copies at most max bytes of s (n long) and a NUL; counts a cut. */
static uint8_t *put_strn(uint8_t *p, const char *s, size_t n, size_t max, uint64_t *truncated)
{
	if (n > max) {
		n = max;
		if (truncated)
			(*truncated)++;
	}
	memcpy(p, s, n);
	p[n] = 0;
	return p + n + 1;
}

static uint8_t *put_s(uint8_t *p, const char *s, size_t max, uint64_t *truncated)
{
	return put_strn(p, s ? s : "", s ? strlen(s) : 0, max, truncated);
}

struct emitter {
	ct_span_emit_fn emit;
	void *arg;
	int32_t pid, tid;
	uint64_t *truncated;
	uint8_t buf[PAYLOAD_MAX + 2 * 8 + 2 * 8]; /* room for fixed fields around the strings */
};

static int attr_event(struct emitter *e, uint64_t ts, uint64_t span_id, uint16_t owner,
		      const struct ct_nattr *a)
{
	uint8_t *p = e->buf;
	uint16_t id;
	char *tmp = NULL;
	int err;

	p = ct_put_u64(p, span_id);
	p = ct_put_u16(p, owner);
	p = put_s(p, a->key, CT_SPAN_EV_MAX_NAME, e->truncated);
	switch (a->v.type) {
	case CT_NVAL_INT:
		id = CT_EV_ATTR_INT;
		p = ct_put_u64(p, (uint64_t)a->v.i);
		break;
	case CT_NVAL_DOUBLE:
		id = CT_EV_ATTR_DOUBLE;
		p = ct_put_f64(p, a->v.d);
		break;
	case CT_NVAL_BOOL:
		id = CT_EV_ATTR_BOOL;
		p = ct_put_u8(p, (uint8_t)a->v.b);
		break;
	case CT_NVAL_BYTES: {
		size_t n = a->v.len > CT_SPAN_EV_MAX_VALUE ? CT_SPAN_EV_MAX_VALUE : a->v.len;

		id = CT_EV_ATTR_STR;
		tmp = malloc(ct_base64_encoded_size(n));
		if (!tmp)
			return -ENOMEM;
		if (n < a->v.len && e->truncated)
			(*e->truncated)++;
		ct_base64_encode(tmp, (const uint8_t *)a->v.s, n);
		p = put_s(p, tmp, CT_SPAN_EV_MAX_VALUE * 2, e->truncated);
		break;
	}
	case CT_NVAL_EMPTY:
		id = CT_EV_ATTR_STR;
		p = put_s(p, "", 0, NULL);
		break;
	default: /* STR, ARRAY, KVLIST */
		id = CT_EV_ATTR_STR;
		p = put_strn(p, a->v.s, a->v.len, CT_SPAN_EV_MAX_VALUE, e->truncated);
		break;
	}
	free(tmp);
	err = e->emit(e->arg, id, ts, e->pid, e->tid, e->buf, (size_t)(p - e->buf));
	return err;
}

static int attrs_events(struct emitter *e, uint64_t ts, uint64_t span_id, uint16_t owner,
			const struct ct_nattrs *a)
{
	for (uint32_t i = 0; i < a->n; i++) {
		int err = attr_event(e, ts, span_id, owner, &a->v[i]);

		if (err)
			return err;
	}
	return 0;
}

int ct_span_events(const struct ct_nbatch *b, const struct ct_nspan *s,
		   const struct ct_span_ev_clock *c, ct_span_emit_fn emit, void *arg,
		   uint64_t *truncated)
{
	struct emitter *e = malloc(sizeof(*e));
	uint64_t start = ct_span_ev_mono(c, s->start_ns), end = ct_span_ev_mono(c, s->end_ns);
	uint64_t sid = ct_id_u64(s->span_id), thi = ct_id_u64(s->trace_id),
		 tlo = ct_id_u64(s->trace_id + 8);
	struct ct_nattr unc;
	uint8_t *p;
	int err;

	if (!e)
		return -ENOMEM;
	if (end < start)
		end = start; /* a reader needs the end after the start */
	e->emit = emit;
	e->arg = arg;
	e->pid = b->resources[s->resource].pid;
	e->tid = ct_nspan_thread_id(s);
	e->truncated = truncated;

	p = e->buf;
	p = ct_put_u64(p, thi);
	p = ct_put_u64(p, tlo);
	p = ct_put_u64(p, sid);
	p = ct_put_u64(p, ct_id_u64(s->parent_id));
	p = ct_put_u64(p, start);
	/* A received span was recorded by its SDK: it is sampled whatever its flags say. */
	p = ct_put_u8(p, CT_SPAN_FLAG_SAMPLED |
				 ((s->flags & 0x300) == 0x300 ? CT_SPAN_FLAG_REMOTE_PARENT : 0));
	p = ct_put_u8(p, s->kind);
	p = put_s(p, s->name, CT_SPAN_EV_MAX_NAME, truncated);
	err = emit(arg, CT_EV_SPAN_START, start, e->pid, e->tid, e->buf, (size_t)(p - e->buf));
	if (!err)
		err = attrs_events(e, start, sid, 0, &s->attrs);
	if (!err) {
		unc.key = CT_ATTR_TIME_UNCERTAINTY;
		unc.v.type = CT_NVAL_INT;
		unc.v.i = (int64_t)(c->uncertainty_ns + s->time_resolution_ns);
		err = attr_event(e, start, sid, 0, &unc);
	}
	for (uint32_t i = 0; !err && i < s->n_links; i++) {
		const struct ct_nlink *l = &s->links[i];
		uint16_t owner = (uint16_t)(0x8000 | (i + 1));

		if (i + 1 >= 0x8000)
			break; /* event.def numbers links in 15 bits */
		p = e->buf;
		p = ct_put_u64(p, sid);
		p = ct_put_u16(p, (uint16_t)(i + 1));
		p = ct_put_u64(p, ct_id_u64(l->trace_id));
		p = ct_put_u64(p, ct_id_u64(l->trace_id + 8));
		p = ct_put_u64(p, ct_id_u64(l->span_id));
		p = ct_put_u8(p, (uint8_t)(l->flags & 1));
		err = emit(arg, CT_EV_SPAN_LINK, start, e->pid, e->tid, e->buf,
			   (size_t)(p - e->buf));
		if (!err)
			err = attrs_events(e, start, sid, owner, &l->attrs);
	}
	if (!err) {
		p = e->buf;
		p = ct_put_u64(p, sid);
		p = ct_put_u64(p, thi);
		p = ct_put_u64(p, tlo);
		err = emit(arg, CT_EV_SCOPE_ENTER, start, e->pid, e->tid, e->buf,
			   (size_t)(p - e->buf));
	}
	for (uint32_t i = 0; !err && i < s->n_events && i + 1 < 0x8000; i++) {
		const struct ct_nevent *ev = &s->events[i];
		uint64_t t = ct_span_ev_mono(c, ev->time_ns);
		/* Placed inside the span so that readers meet it between start and end; its own
		 * time stays in the payload. */
		uint64_t ts = t < start ? start : t > end ? end : t;

		p = e->buf;
		p = ct_put_u64(p, sid);
		p = ct_put_u64(p, t);
		p = ct_put_u16(p, (uint16_t)(i + 1));
		p = put_s(p, ev->name, CT_SPAN_EV_MAX_NAME, truncated);
		err = emit(arg, CT_EV_SPAN_EVENT, ts, e->pid, e->tid, e->buf, (size_t)(p - e->buf));
		if (!err)
			err = attrs_events(e, ts, sid, (uint16_t)(i + 1), &ev->attrs);
	}
	if (!err) {
		p = ct_put_u64(e->buf, sid);
		err = emit(arg, CT_EV_SCOPE_EXIT, end, e->pid, e->tid, e->buf,
			   (size_t)(p - e->buf));
	}
	if (!err && s->status != CT_NSTATUS_UNSET) {
		/* Readers take a span's status message from its last SPAN_STATUS. */
		p = e->buf;
		p = ct_put_u64(p, sid);
		p = ct_put_u8(p, s->status);
		p = put_s(p, s->status_message, CT_SPAN_EV_MAX_VALUE, truncated);
		err = emit(arg, CT_EV_SPAN_STATUS, end, e->pid, e->tid, e->buf,
			   (size_t)(p - e->buf));
	}
	if (!err) {
		p = e->buf;
		p = ct_put_u64(p, sid);
		p = ct_put_u64(p, end);
		p = ct_put_u8(p, s->status);
		p = put_s(p, s->status_message, CT_SPAN_EV_MAX_VALUE, truncated);
		err = emit(arg, CT_EV_SPAN_END, end, e->pid, e->tid, e->buf, (size_t)(p - e->buf));
	}
	free(e);
	return err;
}

int ct_resource_events(const struct ct_nbatch *b, const struct ct_nresource *r, uint64_t ts,
		       ct_span_emit_fn emit, void *arg, uint64_t *truncated)
{
	struct emitter *e = malloc(sizeof(*e));
	uint8_t *p;
	int err;

	if (!e)
		return -ENOMEM;
	e->emit = emit;
	e->arg = arg;
	e->pid = r->pid;
	e->tid = 0;
	e->truncated = truncated;
	p = e->buf;
	p = put_s(p, r->service, CT_SPAN_EV_MAX_NAME, truncated);
	p = put_s(p, b->sdk, CT_SPAN_EV_MAX_NAME, truncated);
	p = put_s(p, r->host, CT_SPAN_EV_MAX_NAME, truncated);
	err = emit(arg, CT_EV_PROCESS_INFO, ts, r->pid, 0, e->buf, (size_t)(p - e->buf));
	if (!err)
		err = attrs_events(e, ts, 0, 0, &r->attrs);
	free(e);
	return err;
}
