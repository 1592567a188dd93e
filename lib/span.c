// SPDX-License-Identifier: MIT
/*
 * Spans: ids, the sampling decision, and the records a sampled span writes into the calling
 * thread's ring (SPAN_START, ATTR_*, SPAN_EVENT, SPAN_LINK, SPAN_STATUS, SPAN_END). A record
 * and the attributes that come with it share one ring reservation. An unsampled span costs
 * its ids and the sampler call; every later call on it is one load and a compare.
 */
#include <errno.h>

#include "tracer.h"

/* span->state: bits 0-1 the state, 2-3 the status code, 16-31 the links added so far. */
#define SP_NONE 0u
#define SP_RECORDING 1u /* sampled, started, not ended */
#define SP_INERT 2u /* unsampled, or from before ct_init: nothing to record */
#define SP_ENDED 3u
#define SP_STATE(s) ((s)&3u)
#define SP_STATUS(s) (((s) >> 2) & 3u)
#define SP_LINKS(s) ((s) >> 16)

/* Attributes whose lengths are measured once, up front, per reservation. */
#define ATTR_BATCH 16

/*
 * A span handle may be passed between threads; using one from two threads at the same time
 * is the caller's race to avoid (as for any plain struct). The state word is accessed with
 * relaxed atomics only so that such handoffs need no more than the caller's own ordering.
 */
static inline uint32_t load_state(const struct ct_span *s)
{
	return __atomic_load_n(&s->state, __ATOMIC_RELAXED);
}

static inline void store_state(struct ct_span *s, uint32_t v)
{
	__atomic_store_n(&s->state, v, __ATOMIC_RELAXED);
}

/* The span records, when it is sampled, of this generation, and the tracer records. */
static inline int live(const struct ct_span *s, uint32_t st)
{
	return SP_STATE(st) == SP_RECORDING && s->generation == ct__gen() && ct__recording();
}

struct attr_len {
	size_t k, v;
};

static size_t attr_payload(const struct ct_attr *a, const struct attr_len *l)
{
	size_t n = 8 + 2 + l->k + 1;

	switch (a->type) {
	case CT_ATTR_STRING:
		return n + l->v + 1;
	case CT_ATTR_INT:
	case CT_ATTR_DOUBLE:
		return n + 8;
	case CT_ATTR_BOOL:
		return n + 1;
	}
	return 0;
}

/* Measures attrs; returns the bytes their records take (aligned), 0 for an unusable one. */
static size_t measure(struct ct__thread *t, const struct ct_attr *a, struct attr_len *l)
{
	size_t n;

	if (!a->key)
		return 0;
	l->k = ct__strlen(t, a->key, CT_MAX_NAME);
	l->v = a->type == CT_ATTR_STRING ? ct__strlen(t, a->v.s, CT_MAX_STRING) : 0;
	n = attr_payload(a, l);
	return n ? CT__ALIGN8(16 + n) : 0;
}

static uint8_t *put_attr(uint8_t *p, uint64_t ts, uint64_t span_id, uint16_t owner,
			 const struct ct_attr *a, const struct attr_len *l)
{
	static const uint16_t ids[] = {
		[CT_ATTR_STRING] = CT_EV_ATTR_STR,
		[CT_ATTR_INT] = CT_EV_ATTR_INT,
		[CT_ATTR_DOUBLE] = CT_EV_ATTR_DOUBLE,
		[CT_ATTR_BOOL] = CT_EV_ATTR_BOOL,
	};
	size_t payload = attr_payload(a, l);
	uint8_t *q = ct__rec_header(p, ids[a->type], payload, ts);

	q = ct_put_u64(q, span_id);
	q = ct_put_u16(q, owner);
	q = ct__put_strn(q, a->key, l->k);
	switch (a->type) {
	case CT_ATTR_STRING:
		ct__put_strn(q, a->v.s ? a->v.s : "", l->v);
		break;
	case CT_ATTR_INT:
		ct_put_u64(q, (uint64_t)a->v.i);
		break;
	case CT_ATTR_DOUBLE:
		ct_put_f64(q, a->v.d);
		break;
	case CT_ATTR_BOOL:
		ct_put_u8(q, a->v.b ? 1 : 0);
		break;
	}
	return p + CT__ALIGN8(16 + payload);
}

/*
 * Writes a head record (head_len bytes, already aligned, written by the caller into the
 * returned space) followed by attribute records, in as few reservations as possible.
 * Returns where the head goes, or NULL (then everything was counted as dropped). The caller
 * writes the head, then calls finish_batch.
 */
struct batch {
	struct ct__thread *t;
	uint8_t *head;
	const struct ct_attr *attrs;
	size_t n_attrs, first; /* attrs[0..first) go with the head */
	struct attr_len len[ATTR_BATCH];
	size_t sizes[ATTR_BATCH];
	unsigned records;
};

static uint8_t *begin_batch(struct batch *b, struct ct__thread *t, size_t head_len, uint64_t ts,
			    const struct ct_attr *attrs, size_t n_attrs)
{
	size_t total = head_len;

	b->t = t;
	b->attrs = attrs;
	b->n_attrs = attrs ? n_attrs : 0;
	b->first = b->n_attrs < ATTR_BATCH ? b->n_attrs : ATTR_BATCH;
	b->records = 1;
	for (size_t i = 0; i < b->first; i++) {
		b->sizes[i] = measure(t, &attrs[i], &b->len[i]);
		total += b->sizes[i];
		b->records += b->sizes[i] != 0;
	}
	b->head = ct__reserve(t, total, ts);
	if (!b->head)
		ct__drop(t, b->records, total);
	return b->head;
}

/* Writes the attribute records after the head and commits; more attributes go one by one. */
static void finish_batch(struct batch *b, size_t head_len, uint64_t ts, uint64_t span_id,
			 uint16_t owner)
{
	uint8_t *p = b->head + head_len;

	for (size_t i = 0; i < b->first; i++) {
		if (b->sizes[i])
			p = put_attr(p, ts, span_id, owner, &b->attrs[i], &b->len[i]);
	}
	ct__commit(b->t, b->records);
	for (size_t i = b->first; i < b->n_attrs; i++) {
		struct attr_len l;
		size_t sz = measure(b->t, &b->attrs[i], &l);
		uint8_t *q;

		if (!sz)
			continue;
		q = ct__reserve(b->t, sz, ts);
		if (!q) {
			ct__drop(b->t, 1, sz);
			continue;
		}
		put_attr(q, ts, span_id, owner, &b->attrs[i], &l);
		ct__commit(b->t, 1);
	}
}

static void fallback_ids(struct ct_span *span, int need_trace)
{
	/* Only when the thread state cannot be allocated (ENOMEM): still unique enough. */
	struct ct__thread tmp = {.rng = ct_now_ns() ^ (uint64_t)(uintptr_t)span};

	if (need_trace) {
		ct__put_be64(span->ctx.trace_id, ct__rand64(&tmp) | 1);
		ct__put_be64(span->ctx.trace_id + 8, ct__rand64(&tmp));
	}
	ct__put_be64(span->ctx.span_id, ct__rand64(&tmp) | 1);
}

int ct_span_start(struct ct_span *span, const char *name, const struct ct_span_opts *opts)
{
	struct ct__thread *t = ct__thread_get();
	const struct ct_span_context *parent = NULL;
	int sampled, state = atomic_load_explicit(&ct__g.state, memory_order_relaxed);
	uint64_t id, ts, trace_hi, trace_lo, parent_id = 0;
	struct batch b;
	size_t nl, head;
	uint8_t *p;

	if (opts && opts->parent) {
		if (ct_span_context_is_valid(opts->parent))
			parent = opts->parent;
	} else if (!(opts && opts->root) && t && t->depth) {
		parent =
			&t->scopes[(t->depth < CT_MAX_SCOPE_DEPTH ? t->depth : CT_MAX_SCOPE_DEPTH) -
				   1]
				 .ctx;
	}
	if (parent) {
		memcpy(span->ctx.trace_id, parent->trace_id, 16);
		memcpy(span->parent_id, parent->span_id, 8);
		parent_id = ct__be64(parent->span_id);
	} else {
		memset(span->parent_id, 0, 8);
	}
	if (CT__LIKELY(t)) {
		if (!parent) {
			do
				trace_hi = ct__rand64(t);
			while (CT__UNLIKELY(!trace_hi));
			ct__put_be64(span->ctx.trace_id, trace_hi);
			ct__put_be64(span->ctx.trace_id + 8, ct__rand64(t));
		}
		do
			id = ct__rand64(t);
		while (CT__UNLIKELY(!id));
		ct__put_be64(span->ctx.span_id, id);
	} else {
		fallback_ids(span, !parent);
		id = ct__be64(span->ctx.span_id);
	}
	span->ctx.is_remote = 0;
	span->n_events = 0;
	span->generation = ct__gen();
	if (CT__UNLIKELY(state == CT__OFF)) {
		span->ctx.trace_flags = 0;
		store_state(span, SP_INERT);
		return CT_ENOTINIT;
	}
	sampled = ct_sampler_should_sample(&ct__g.sampler, span->ctx.trace_id, parent,
					   ct__g.sampler_clock ? ct_now_ns() : 0);
	span->ctx.trace_flags = sampled ? CT_TRACE_FLAG_SAMPLED : 0;
	if (!sampled) {
		store_state(span, SP_INERT);
		if (t)
			ct__count(&t->spans_unsampled, 1);
		return CT_ENOTSAMPLED;
	}
	store_state(span, SP_RECORDING);
	if (!t)
		return 0;
	ct__count(&t->spans_started, 1);
	if (!ct__recording())
		return 0;

	ts = ct_now_ns();
	nl = ct__strlen(t, name, CT_MAX_NAME);
	head = CT__ALIGN8(16 + 5 * 8 + 2 + nl + 1);
	p = begin_batch(&b, t, head, ts, opts ? opts->attrs : NULL, opts ? opts->n_attrs : 0);
	if (!p)
		return 0;
	trace_hi = ct__be64(span->ctx.trace_id);
	trace_lo = ct__be64(span->ctx.trace_id + 8);
	p = ct__rec_header(p, CT_EV_SPAN_START, 5 * 8 + 2 + nl + 1, ts);
	p = ct_put_u64(p, trace_hi);
	p = ct_put_u64(p, trace_lo);
	p = ct_put_u64(p, id);
	p = ct_put_u64(p, parent_id);
	p = ct_put_u64(p, opts && opts->start_ns ? opts->start_ns : ts);
	p = ct_put_u8(p, CT_SPAN_FLAG_SAMPLED |
				 (parent && parent->is_remote ? CT_SPAN_FLAG_REMOTE_PARENT : 0));
	p = ct_put_u8(p, (uint8_t)(opts ? opts->kind : CT_SPAN_KIND_UNSPECIFIED));
	ct__put_strn(p, name, nl);
	finish_batch(&b, head, ts, id, 0);
	return 0;
}

const struct ct_span_context *ct_span_context_of(const struct ct_span *span)
{
	return &span->ctx;
}

void ct_span_set_attr(struct ct_span *span, const struct ct_attr *attr)
{
	struct ct__thread *t;
	struct attr_len l;
	uint64_t ts;
	size_t sz;
	uint8_t *p;

	if (!live(span, load_state(span)) || !(t = ct__thread_get()))
		return;
	sz = measure(t, attr, &l);
	if (!sz)
		return;
	ts = ct_now_ns();
	p = ct__reserve(t, sz, ts);
	if (!p) {
		ct__drop(t, 1, sz);
		return;
	}
	put_attr(p, ts, ct__be64(span->ctx.span_id), 0, attr, &l);
	ct__commit(t, 1);
}

void ct_span_set_str(struct ct_span *span, const char *key, const char *value)
{
	struct ct_attr a = CT_ATTR_STR(key, value);

	ct_span_set_attr(span, &a);
}

void ct_span_set_int(struct ct_span *span, const char *key, int64_t value)
{
	struct ct_attr a = CT_ATTR_I64(key, value);

	ct_span_set_attr(span, &a);
}

void ct_span_set_double(struct ct_span *span, const char *key, double value)
{
	struct ct_attr a = CT_ATTR_F64(key, value);

	ct_span_set_attr(span, &a);
}

void ct_span_set_bool(struct ct_span *span, const char *key, int value)
{
	struct ct_attr a = CT_ATTR_BOOL(key, value);

	ct_span_set_attr(span, &a);
}

void ct_span_add_event(struct ct_span *span, const char *name, uint64_t time_ns,
		       const struct ct_attr *attrs, size_t n_attrs)
{
	struct ct__thread *t;
	struct batch b;
	uint64_t ts, sid;
	uint32_t idx;
	size_t nl, head;
	uint8_t *p;

	if (!live(span, load_state(span)) || !(t = ct__thread_get()))
		return;
	idx = __atomic_add_fetch(&span->n_events, 1, __ATOMIC_RELAXED);
	if (idx > 0x7fff) {
		/* Attribute owners number events up to 0x7fff: later ones go without. */
		ct__count(&t->truncated, 1);
		attrs = NULL;
		n_attrs = 0;
	}
	ts = ct_now_ns();
	sid = ct__be64(span->ctx.span_id);
	nl = ct__strlen(t, name, CT_MAX_NAME);
	head = CT__ALIGN8(16 + 8 + 8 + 2 + nl + 1);
	p = begin_batch(&b, t, head, ts, attrs, n_attrs);
	if (!p)
		return;
	p = ct__rec_header(p, CT_EV_SPAN_EVENT, 8 + 8 + 2 + nl + 1, ts);
	p = ct_put_u64(p, sid);
	p = ct_put_u64(p, time_ns ? time_ns : ts);
	p = ct_put_u16(p, (uint16_t)(idx > 0xffff ? 0xffff : idx));
	ct__put_strn(p, name, nl);
	finish_batch(&b, head, ts, sid, (uint16_t)idx);
}

void ct_span_add_link(struct ct_span *span, const struct ct_span_context *linked,
		      const struct ct_attr *attrs, size_t n_attrs)
{
	struct ct__thread *t;
	struct batch b;
	uint32_t st, k;
	uint64_t ts, sid;
	size_t head = CT__ALIGN8(16 + 8 + 2 + 8 + 8 + 8 + 1);
	uint8_t *p;

	st = load_state(span);
	if (!live(span, st) || !ct_span_context_is_valid(linked) || !(t = ct__thread_get()))
		return;
	k = SP_LINKS(st) + 1;
	if (k > 0x7fff) {
		ct__count(&t->truncated, 1);
		return;
	}
	store_state(span, (st & 0xffffu) | (k << 16));
	ts = ct_now_ns();
	sid = ct__be64(span->ctx.span_id);
	p = begin_batch(&b, t, head, ts, attrs, n_attrs);
	if (!p)
		return;
	p = ct__rec_header(p, CT_EV_SPAN_LINK, 8 + 2 + 8 + 8 + 8 + 1, ts);
	p = ct_put_u64(p, sid);
	p = ct_put_u16(p, (uint16_t)k);
	p = ct_put_u64(p, ct__be64(linked->trace_id));
	p = ct_put_u64(p, ct__be64(linked->trace_id + 8));
	p = ct_put_u64(p, ct__be64(linked->span_id));
	ct_put_u8(p, (uint8_t)((linked->trace_flags & CT_TRACE_FLAG_SAMPLED ? CT_SPAN_FLAG_SAMPLED
									    : 0) |
			       (linked->is_remote ? CT_SPAN_FLAG_REMOTE_PARENT : 0)));
	finish_batch(&b, head, ts, sid, (uint16_t)(0x8000u | k));
}

void ct_span_set_status(struct ct_span *span, enum ct_status_code code, const char *message)
{
	struct ct__thread *t;
	uint32_t st = load_state(span);
	uint64_t ts;
	size_t ml, sz;
	uint8_t *p;

	if (!live(span, st) || (unsigned)code > CT_STATUS_ERROR || !(t = ct__thread_get()))
		return;
	store_state(span, (st & ~(3u << 2)) | ((uint32_t)code << 2));
	if (code != CT_STATUS_ERROR)
		message = NULL; /* OpenTelemetry keeps a description for errors only */
	ml = ct__strlen(t, message, CT_MAX_STRING);
	sz = CT__ALIGN8(16 + 8 + 1 + ml + 1);
	ts = ct_now_ns();
	p = ct__reserve(t, sz, ts);
	if (!p) {
		ct__drop(t, 1, sz);
		return;
	}
	p = ct__rec_header(p, CT_EV_SPAN_STATUS, 8 + 1 + ml + 1, ts);
	p = ct_put_u64(p, ct__be64(span->ctx.span_id));
	p = ct_put_u8(p, (uint8_t)code);
	ct__put_strn(p, message, ml);
	ct__commit(t, 1);
}

void ct_span_end_at(struct ct_span *span, uint64_t end_ns)
{
	struct ct__thread *t;
	uint32_t st = load_state(span);
	uint64_t ts;
	size_t sz = CT__ALIGN8(16 + 8 + 8 + 1 + 1);
	uint8_t *p;

	if (SP_STATE(st) != SP_RECORDING)
		return;
	store_state(span, (st & ~3u) | SP_ENDED);
	if (span->generation != ct__gen() || !ct__recording() || !(t = ct__thread_get()))
		return;
	ts = ct_now_ns();
	p = ct__reserve(t, sz, ts);
	if (!p) {
		ct__drop(t, 1, sz);
		return;
	}
	p = ct__rec_header(p, CT_EV_SPAN_END, 8 + 8 + 1 + 1, ts);
	p = ct_put_u64(p, ct__be64(span->ctx.span_id));
	p = ct_put_u64(p, end_ns ? end_ns : ts);
	p = ct_put_u8(p, (uint8_t)SP_STATUS(st));
	*p = 0; /* the message travels in SPAN_STATUS */
	ct__commit(t, 1);
}

void ct_span_end(struct ct_span *span)
{
	ct_span_end_at(span, 0);
}
