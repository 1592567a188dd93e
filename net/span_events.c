// SPDX-License-Identifier: MIT
/*
 * Span model → event.def payloads. Attribute values keep their type where event.def has one
 * (string, int, double, bool); bytes become base64 strings and arrays/kvlists their JSON text
 * (the model keeps the type for export; a trace directory holds the text).
 */
#include <errno.h>
#include <string.h>

#include "base64.h"
#include "crosstrace/crosstrace.h"
#include "format/event.h"
#include "span_events.h"

/*
 * Room reserved for each event: the largest payload is an attribute (key of up to
 * CT_SPAN_EV_MAX_NAME, value of up to CT_SPAN_EV_MAX_VALUE bytes, base64 of as many) with its
 * fixed fields, well below the CTF header's u16 payload size.
 */
#define PAYLOAD_MAX 65000

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

/*
 * Copies at most max bytes of s (n long) and a NUL; counts a cut. Not inlined: with max a
 * constant, GCC copies with rep movsq, whose start-up cost was most of an attribute's
 * conversion for the short strings attributes hold; a call of memcpy costs less.
 */
static __attribute__((noinline)) uint8_t *put_strn(uint8_t *p, const char *s, size_t n, size_t max,
						   uint64_t *truncated)
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

/* Builds the events of a span in a run: events of one time, emitted together. */
struct emitter {
	ct_span_emit_fn emit;
	void *arg;
	int32_t pid, tid;
	uint64_t *truncated;
	struct ct_buf *out; /* the run being built */
	uint64_t ts; /* its time */
	uint32_t n; /* its events */
	int err; /* the first error: later events are not built */
};

static void emitter_init(struct emitter *e, struct ct_buf *scratch, ct_span_emit_fn emit, void *arg,
			 int32_t pid, int32_t tid, uint64_t *truncated)
{
	*e = (struct emitter){.emit = emit,
			      .arg = arg,
			      .pid = pid,
			      .tid = tid,
			      .truncated = truncated,
			      .out = scratch};
	ct_buf_reset(scratch);
	scratch->oom = 0; /* an earlier conversion's failure is not this one's */
}

/* Emits the run built so far, if any. */
static void run_end(struct emitter *e)
{
	if (e->n && !e->err)
		e->err = e->emit(e->arg, e->ts, e->pid, e->tid, e->out->data, e->out->len, e->n);
	ct_buf_reset(e->out);
	e->n = 0;
}

/*
 * Where the payload of an event at ts goes (room for PAYLOAD_MAX bytes), after the run built
 * so far is emitted if its time differs; NULL after an error. ev_end completes the event.
 */
static inline uint8_t *ev_begin(struct emitter *e, uint64_t ts)
{
	size_t room = sizeof(struct ct_ev_run_hdr) + PAYLOAD_MAX;

	if (e->n && ts != e->ts)
		run_end(e);
	/* ct_buf_reserve's own test first: a call per event was a tenth of the conversion. */
	if (!e->err && e->out->len + room >= e->out->cap && ct_buf_reserve(e->out, room))
		e->err = -ENOMEM;
	if (e->err)
		return NULL;
	e->ts = ts;
	return (uint8_t *)e->out->data + e->out->len + sizeof(struct ct_ev_run_hdr);
}

/* Completes the event whose payload ev_begin placed, ending at end. */
static inline void ev_end(struct emitter *e, uint16_t id, uint8_t *end)
{
	uint8_t *h = (uint8_t *)e->out->data + e->out->len;
	struct ct_ev_run_hdr hdr = {id, (uint16_t)(end - h - sizeof(hdr))};

	memcpy(h, &hdr, sizeof(hdr));
	*end = 0; /* the buffer stays NUL-terminated; reserve left room for it */
	e->out->len = (size_t)(end - (uint8_t *)e->out->data);
	e->n++;
}

static void attr_event(struct emitter *e, uint64_t ts, uint64_t span_id, uint16_t owner,
		       const struct ct_nattr *a)
{
	uint8_t *p = ev_begin(e, ts);
	uint16_t id;

	if (!p)
		return;
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
		if (n < a->v.len && e->truncated)
			(*e->truncated)++;
		/* In place: the text of CT_SPAN_EV_MAX_VALUE bytes fits in PAYLOAD_MAX. */
		p += ct_base64_encode((char *)p, (const uint8_t *)a->v.s, n) + 1;
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
	ev_end(e, id, p);
}

static void attrs_events(struct emitter *e, uint64_t ts, uint64_t span_id, uint16_t owner,
			 const struct ct_nattrs *a)
{
	for (uint32_t i = 0; i < a->n; i++)
		attr_event(e, ts, span_id, owner, &a->v[i]);
}

int ct_span_events(const struct ct_nbatch *b, const struct ct_nspan *s,
		   const struct ct_span_ev_clock *c, struct ct_buf *scratch, ct_span_emit_fn emit,
		   void *arg, uint64_t *truncated)
{
	uint64_t start = ct_span_ev_mono(c, s->start_ns), end = ct_span_ev_mono(c, s->end_ns);
	uint64_t sid = ct_id_u64(s->span_id), thi = ct_id_u64(s->trace_id),
		 tlo = ct_id_u64(s->trace_id + 8);
	struct emitter e;
	struct ct_nattr unc;
	uint8_t *p;

	if (end < start)
		end = start; /* a reader needs the end after the start */
	emitter_init(&e, scratch, emit, arg, b->resources[s->resource].pid, ct_nspan_thread_id(s),
		     truncated);

	if ((p = ev_begin(&e, start))) {
		p = ct_put_u64(p, thi);
		p = ct_put_u64(p, tlo);
		p = ct_put_u64(p, sid);
		p = ct_put_u64(p, ct_id_u64(s->parent_id));
		p = ct_put_u64(p, start);
		/* A received span was recorded by its SDK: it is sampled whatever its flags say. */
		p = ct_put_u8(
			p, CT_SPAN_FLAG_SAMPLED |
				   ((s->flags & 0x300) == 0x300 ? CT_SPAN_FLAG_REMOTE_PARENT : 0));
		p = ct_put_u8(p, s->kind);
		p = put_s(p, s->name, CT_SPAN_EV_MAX_NAME, truncated);
		ev_end(&e, CT_EV_SPAN_START, p);
	}
	attrs_events(&e, start, sid, 0, &s->attrs);
	unc.key = CT_ATTR_TIME_UNCERTAINTY;
	unc.v.type = CT_NVAL_INT;
	unc.v.i = (int64_t)(c->uncertainty_ns + s->time_resolution_ns);
	attr_event(&e, start, sid, 0, &unc);
	/* event.def numbers links in 15 bits */
	for (uint32_t i = 0; i < s->n_links && i + 1 < 0x8000; i++) {
		const struct ct_nlink *l = &s->links[i];

		if (!(p = ev_begin(&e, start)))
			break;
		p = ct_put_u64(p, sid);
		p = ct_put_u16(p, (uint16_t)(i + 1));
		p = ct_put_u64(p, ct_id_u64(l->trace_id));
		p = ct_put_u64(p, ct_id_u64(l->trace_id + 8));
		p = ct_put_u64(p, ct_id_u64(l->span_id));
		p = ct_put_u8(p, (uint8_t)(l->flags & 1));
		ev_end(&e, CT_EV_SPAN_LINK, p);
		attrs_events(&e, start, sid, (uint16_t)(0x8000 | (i + 1)), &l->attrs);
	}
	if ((p = ev_begin(&e, start))) {
		p = ct_put_u64(p, sid);
		p = ct_put_u64(p, thi);
		p = ct_put_u64(p, tlo);
		ev_end(&e, CT_EV_SCOPE_ENTER, p);
	}
	for (uint32_t i = 0; i < s->n_events && i + 1 < 0x8000; i++) {
		const struct ct_nevent *ev = &s->events[i];
		uint64_t t = ct_span_ev_mono(c, ev->time_ns);
		/* Placed inside the span so that readers meet it between start and end; its own
		 * time stays in the payload. */
		uint64_t ts = t < start ? start : t > end ? end : t;

		if (!(p = ev_begin(&e, ts)))
			break;
		p = ct_put_u64(p, sid);
		p = ct_put_u64(p, t);
		p = ct_put_u16(p, (uint16_t)(i + 1));
		p = put_s(p, ev->name, CT_SPAN_EV_MAX_NAME, truncated);
		ev_end(&e, CT_EV_SPAN_EVENT, p);
		attrs_events(&e, ts, sid, (uint16_t)(i + 1), &ev->attrs);
	}
	if ((p = ev_begin(&e, end))) {
		p = ct_put_u64(p, sid);
		ev_end(&e, CT_EV_SCOPE_EXIT, p);
	}
	/* Readers take a span's status message from its last SPAN_STATUS. */
	if (s->status != CT_NSTATUS_UNSET && (p = ev_begin(&e, end))) {
		p = ct_put_u64(p, sid);
		p = ct_put_u8(p, s->status);
		p = put_s(p, s->status_message, CT_SPAN_EV_MAX_VALUE, truncated);
		ev_end(&e, CT_EV_SPAN_STATUS, p);
	}
	if ((p = ev_begin(&e, end))) {
		p = ct_put_u64(p, sid);
		p = ct_put_u64(p, end);
		p = ct_put_u8(p, s->status);
		p = put_s(p, s->status_message, CT_SPAN_EV_MAX_VALUE, truncated);
		ev_end(&e, CT_EV_SPAN_END, p);
	}
	run_end(&e);
	return e.err;
}

int ct_resource_events(const struct ct_nbatch *b, const struct ct_nresource *r, uint64_t ts,
		       struct ct_buf *scratch, ct_span_emit_fn emit, void *arg, uint64_t *truncated)
{
	struct emitter e;
	uint8_t *p;

	emitter_init(&e, scratch, emit, arg, r->pid, 0, truncated);
	if ((p = ev_begin(&e, ts))) {
		p = put_s(p, r->service, CT_SPAN_EV_MAX_NAME, truncated);
		p = put_s(p, b->sdk, CT_SPAN_EV_MAX_NAME, truncated);
		p = put_s(p, r->host, CT_SPAN_EV_MAX_NAME, truncated);
		ev_end(&e, CT_EV_PROCESS_INFO, p);
	}
	attrs_events(&e, ts, 0, 0, &r->attrs);
	run_end(&e);
	return e.err;
}
