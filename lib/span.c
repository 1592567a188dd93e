// SPDX-License-Identifier: MIT
/*
 * Spans: ids, the sampling decision, and the records a sampled span writes into the calling
 * thread's ring (SPAN_START, ATTR_*, SPAN_EVENT, SPAN_LINK, SPAN_STATUS, SPAN_END). A record
 * and the attributes that come with it are written in one pass into one reservation. An
 * unsampled span whose decision follows from its parent (or the sampler kind) costs a few
 * stores: its ids are generated only if something looks at them; every later call on it is
 * one load and a compare.
 */
#include <errno.h>
#include <sched.h>

#include "tracer.h"

#define SP_STATE(s) ((s)&3u)
#define SP_STATUS(s) (((s) >> 2) & 3u)
#define SP_LINKS(s) ((s) >> 16)

/* Attributes written in one pass with their record; more go through the measured path. */
#define ATTR_BATCH 16
/* Upper bounds of a record, for reserving before the strings are measured. */
#define ATTR_MAX CT__ALIGN8(16 + 8 + 2 + CT_MAX_NAME + 1 + CT_MAX_STRING + 1)
#define START_MAX CT__ALIGN8(16 + 5 * 8 + 2 + CT_MAX_NAME + 1)
#define EVENT_MAX CT__ALIGN8(16 + 8 + 8 + 2 + CT_MAX_NAME + 1)

/*
 * A span handle may be passed between threads; using one from two threads at the same time
 * is the caller's race to avoid (as for any plain struct), except for reading its context,
 * which ct__span_materialize makes safe. The state word is otherwise accessed with relaxed
 * atomics only so that such handoffs need no more than the caller's own ordering.
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
	return SP_STATE(st) == CT__SP_RECORDING && s->generation == ct__gen() && ct__recording();
}

static inline int ctx_valid(const struct ct_span_context *c)
{
	uint64_t a, b, s;

	memcpy(&a, c->trace_id, 8);
	memcpy(&b, c->trace_id + 8, 8);
	memcpy(&s, c->span_id, 8);
	return (a | b) && s;
}

/* A record header, as ct__rec_header, in two stores (little-endian, like the ring). */
static inline void rec_hdr(uint8_t *p, uint16_t id, size_t payload, uint64_t ts)
{
	uint64_t w = (uint64_t)id | (uint64_t)(uint16_t)payload << 16;

	memcpy(p, &w, 8);
	memcpy(p + 8, &ts, 8);
}

/*
 * Copies n bytes with overlapping word moves. Names and keys are short: a memcpy call costs
 * more than the copy, and gcc expands a bounded memcpy into `rep movsq`, whose start-up alone
 * is tens of cycles.
 */
static inline void copy_short(uint8_t *d, const char *s, size_t n)
{
	uint64_t a, b;
	uint32_t x, y;

	if (n >= 8) {
		for (; n > 16; n -= 16, d += 16, s += 16) {
			/* Opaque to gcc, which would turn the loop back into a memcpy. */
			__asm__("" : "+r"(s));
			memcpy(&a, s, 8);
			memcpy(&b, s + 8, 8);
			memcpy(d, &a, 8);
			memcpy(d + 8, &b, 8);
		}
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		memcpy(&x, s, 4);
		memcpy(&y, s + n - 4, 4);
		memcpy(d, &x, 4);
		memcpy(d + n - 4, &y, 4);
	} else {
		for (size_t i = 0; i < n; i++)
			d[i] = (uint8_t)s[i];
	}
}

/* A string of at most max bytes and its NUL; NULL writes "". Counts a truncation. */
static inline uint8_t *put_str(struct ct__thread *t, uint8_t *q, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max + 1) : 0;

	if (CT__UNLIKELY(n > max)) {
		ct__count(&t->truncated, 1);
		n = max;
	}
	copy_short(q, s, n);
	q[n] = 0;
	return q + n + 1;
}

static const uint16_t attr_ids[] = {
	[CT_ATTR_STRING] = CT_EV_ATTR_STR,
	[CT_ATTR_INT] = CT_EV_ATTR_INT,
	[CT_ATTR_DOUBLE] = CT_EV_ATTR_DOUBLE,
	[CT_ATTR_BOOL] = CT_EV_ATTR_BOOL,
};

static inline int attr_usable(const struct ct_attr *a)
{
	return a->key && a->type >= CT_ATTR_STRING && a->type <= CT_ATTR_BOOL;
}

/*
 * One pass: writes the usable attributes of attrs[0..n) as records at p (room for n x
 * ATTR_MAX bytes) and returns the end; *records grows by their number.
 */
static uint8_t *put_attrs(struct ct__thread *t, uint8_t *p, const struct ct_attr *attrs, size_t n,
			  uint64_t ts, uint64_t span_id, uint16_t owner, unsigned *records)
{
	for (size_t i = 0; i < n; i++) {
		const struct ct_attr *a = &attrs[i];
		uint8_t *q = p + 16;

		if (!attr_usable(a))
			continue;
		q = ct_put_u64(q, span_id);
		q = ct_put_u16(q, owner);
		q = put_str(t, q, a->key, CT_MAX_NAME);
		switch (a->type) {
		case CT_ATTR_STRING:
			q = put_str(t, q, a->v.s, CT_MAX_STRING);
			break;
		case CT_ATTR_INT:
			q = ct_put_u64(q, (uint64_t)a->v.i);
			break;
		case CT_ATTR_DOUBLE:
			q = ct_put_f64(q, a->v.d);
			break;
		case CT_ATTR_BOOL:
			q = ct_put_u8(q, a->v.b ? 1 : 0);
			break;
		}
		rec_hdr(p, attr_ids[a->type], (size_t)(q - p) - 16, ts);
		p += CT__ALIGN8((size_t)(q - p));
		(*records)++;
	}
	return p;
}

/*
 * Opens a reservation of up to max bytes for a record and its attributes when the fast path
 * applies (ring of this generation, no drop waiting to be reported, room for the bound),
 * else NULL: the caller then takes the measured path, which reserves the exact size.
 */
static inline uint8_t *reserve_bound(struct ct__thread *t, size_t max)
{
	struct ct__ring *r = t->ring;

	if (CT__UNLIKELY(!r || t->ring_gen != ct__gen() ||
			 atomic_load_explicit(&t->dropped, memory_order_relaxed) !=
				 t->lost_reported))
		return NULL;
	return ct__ring_reserve(r, max);
}

static inline void commit_len(struct ct__thread *t, size_t len, unsigned records)
{
	ct__ring_commit_len(t->ring, len);
	ct__count(&t->records, records);
}

/* ---- the measured path: exact sizes first (rings too full or too small for the bound) ---- */

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
	if (!attr_usable(a))
		return 0;
	l->k = ct__strlen(t, a->key, CT_MAX_NAME);
	l->v = a->type == CT_ATTR_STRING ? ct__strlen(t, a->v.s, CT_MAX_STRING) : 0;
	return CT__ALIGN8(16 + attr_payload(a, l));
}

static uint8_t *put_attr(uint8_t *p, uint64_t ts, uint64_t span_id, uint16_t owner,
			 const struct ct_attr *a, const struct attr_len *l)
{
	size_t payload = attr_payload(a, l);
	uint8_t *q = ct__rec_header(p, attr_ids[a->type], payload, ts);

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

/* ---- ids ---- */

static void fallback_ids(struct ct_span *span, int need_trace)
{
	/* Only when the thread state cannot be allocated (ENOMEM): still unique enough. */
	struct ct__thread tmp = {.rng = ct_mono_ns() ^ (uint64_t)(uintptr_t)span};

	if (need_trace) {
		ct__put_be64(span->ctx.trace_id, ct__rand64(&tmp) | 1);
		ct__put_be64(span->ctx.trace_id + 8, ct__rand64(&tmp));
	}
	ct__put_be64(span->ctx.span_id, ct__rand64(&tmp) | 1);
}

/* A non-zero id from t's generator. */
static inline uint64_t new_id(struct ct__thread *t)
{
	uint64_t id;

	do
		id = ct__rand64(t);
	while (CT__UNLIKELY(!id));
	return id;
}

static void make_ids(struct ct__thread *t, struct ct_span *span, int need_trace)
{
	if (CT__UNLIKELY(!t)) {
		fallback_ids(span, need_trace);
		return;
	}
	if (need_trace) {
		ct__put_be64(span->ctx.trace_id, new_id(t));
		ct__put_be64(span->ctx.trace_id + 8, ct__rand64(t));
	}
	ct__put_be64(span->ctx.span_id, new_id(t));
}

void ct__span_materialize(const struct ct_span *cspan)
{
	/* Spans are caller-owned mutable memory; const only says the caller changes nothing. */
	struct ct_span *span = (struct ct_span *)cspan;
	uint32_t st = __atomic_load_n(&span->state, __ATOMIC_ACQUIRE);
	unsigned spins = 0;

	while (st & CT__SP_LAZY) {
		if (!(st & CT__SP_CLAIM)) {
			if (__atomic_compare_exchange_n(&span->state, &st, st | CT__SP_CLAIM, 0,
							__ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
				make_ids(ct__thread_get(), span, !!(st & CT__SP_LAZY_TRACE));
				/* Synchronizes with the acquire load in ct__span_ids and above. */
				__atomic_store_n(&span->state, st & ~(CT__SP_LAZY | CT__SP_CLAIM),
						 __ATOMIC_RELEASE);
				return;
			}
			continue; /* st was reloaded by the failed exchange */
		}
		/* Another thread writes the ids: a few dozen instructions, unless preempted. */
		if (++spins > 64)
			sched_yield();
#if defined(__x86_64__) || defined(__i386__)
		else
			__builtin_ia32_pause();
#endif
		st = __atomic_load_n(&span->state, __ATOMIC_ACQUIRE);
	}
}

/* ---- spans ---- */

/* An unsampled span that nothing has looked at yet: the parent's trace id, ids pending. */
static inline __attribute__((always_inline)) int
start_unsampled(struct ct__thread *t, struct ct_span *span, const struct ct_span_context *parent)
{
	uint32_t st = CT__SP_INERT | CT__SP_LAZY_SPAN;

	if (parent) {
		memcpy(span->ctx.trace_id, parent->trace_id, 16);
	} else {
		memset(span->ctx.trace_id, 0, 16);
		st |= CT__SP_LAZY_TRACE;
	}
	memset(span->ctx.span_id, 0, 8);
	span->ctx.trace_flags = 0;
	span->ctx.is_remote = 0;
	span->generation = ct__gen();
	store_state(span, st);
	if (CT__LIKELY(t))
		ct__count(&t->spans_unsampled, 1);
	return CT_ENOTSAMPLED;
}

/* Writes SPAN_START and its attributes; span ids and flags are set. */
static void record_start(struct ct__thread *t, struct ct_span *span, const char *name,
			 const struct ct_span_opts *opts, const struct ct_span_context *parent,
			 uint64_t ts)
{
	const struct ct_attr *attrs = opts ? opts->attrs : NULL;
	size_t n = attrs ? opts->n_attrs : 0, nl, head;
	uint64_t id = ct__be64(span->ctx.span_id);
	uint8_t flags = CT_SPAN_FLAG_SAMPLED |
			(parent && parent->is_remote ? CT_SPAN_FLAG_REMOTE_PARENT : 0);
	uint8_t kind = (uint8_t)(opts ? opts->kind : CT_SPAN_KIND_UNSPECIFIED);
	uint64_t start = opts && opts->start_ns ? opts->start_ns : ts;
	unsigned records = 1;
	struct batch b;
	uint8_t *p, *q;

	if (CT__LIKELY(n <= ATTR_BATCH) && (p = reserve_bound(t, START_MAX + n * ATTR_MAX))) {
		q = ct_put_u64(p + 16, ct__be64(span->ctx.trace_id));
		q = ct_put_u64(q, ct__be64(span->ctx.trace_id + 8));
		q = ct_put_u64(q, id);
		q = ct_put_u64(q, ct__be64(span->parent_id));
		q = ct_put_u64(q, start);
		q = ct_put_u8(q, flags);
		q = ct_put_u8(q, kind);
		q = put_str(t, q, name, CT_MAX_NAME);
		rec_hdr(p, CT_EV_SPAN_START, (size_t)(q - p) - 16, ts);
		q = put_attrs(t, p + CT__ALIGN8((size_t)(q - p)), attrs, n, ts, id, 0, &records);
		commit_len(t, (size_t)(q - p), records);
		return;
	}
	nl = ct__strlen(t, name, CT_MAX_NAME);
	head = CT__ALIGN8(16 + 5 * 8 + 2 + nl + 1);
	p = begin_batch(&b, t, head, ts, attrs, n);
	if (!p)
		return;
	p = ct__rec_header(p, CT_EV_SPAN_START, 5 * 8 + 2 + nl + 1, ts);
	p = ct_put_u64(p, ct__be64(span->ctx.trace_id));
	p = ct_put_u64(p, ct__be64(span->ctx.trace_id + 8));
	p = ct_put_u64(p, id);
	p = ct_put_u64(p, ct__be64(span->parent_id));
	p = ct_put_u64(p, start);
	p = ct_put_u8(p, flags);
	p = ct_put_u8(p, kind);
	ct__put_strn(p, name, nl);
	finish_batch(&b, head, ts, id, 0);
}

/* The parent a span gets when opts names none: the thread's current span, unless a root. */
static inline const struct ct_span_context *parent_of(const struct ct__thread *t,
						      const struct ct_span_opts *opts)
{
	if (opts && opts->parent)
		return ctx_valid(opts->parent) ? opts->parent : NULL;
	if ((opts && opts->root) || !t || !t->depth)
		return NULL;
	return &t->scopes[(t->depth < CT_MAX_SCOPE_DEPTH ? t->depth : CT_MAX_SCOPE_DEPTH) - 1].ctx;
}

/*
 * Everything but the unsampled fast path: ids, the sampler when the table cannot decide,
 * and the records. decision: CT__SM_YES or CT__SM_ASK.
 */
static __attribute__((noinline)) int
start_sampled(struct ct__thread *t, struct ct_span *span, const char *name,
	      const struct ct_span_opts *opts, const struct ct_span_context *parent, int decision)
{
	int sampled = 1;

	if (parent) {
		memcpy(span->ctx.trace_id, parent->trace_id, 16);
		memcpy(span->parent_id, parent->span_id, 8);
	} else {
		memset(span->parent_id, 0, 8);
	}
	make_ids(t, span, !parent);
	span->ctx.is_remote = 0;
	span->n_events = 0;
	span->generation = ct__gen();
	if (decision == CT__SM_ASK) {
		sampled = ct_sampler_should_sample(&ct__g.sampler, span->ctx.trace_id, parent,
						   ct__g.sampler_clock ? ct_mono_ns() : 0);
	}
	if (!sampled) {
		span->ctx.trace_flags = 0;
		store_state(span, CT__SP_INERT);
		if (t)
			ct__count(&t->spans_unsampled, 1);
		return CT_ENOTSAMPLED;
	}
	span->ctx.trace_flags = CT_TRACE_FLAG_SAMPLED;
	store_state(span, CT__SP_RECORDING);
	if (CT__UNLIKELY(!t))
		return 0;
	ct__count(&t->spans_started, 1);
	if (ct__recording())
		record_start(t, span, name, opts, parent, ct_mono_ns());
	return 0;
}

/* The thread's first span, before ct_init, or without memory for the thread state. */
static __attribute__((noinline)) int start_slow(struct ct_span *span, const char *name,
						const struct ct_span_opts *opts)
{
	struct ct__thread *t = ct__thread_get(); /* NULL on ENOMEM: spans still get a context */
	const struct ct_span_context *parent = parent_of(t, opts);
	int d;

	if (atomic_load_explicit(&ct__g.state, memory_order_relaxed) == CT__OFF) {
		/* Before ct_init: a valid, unsampled context, so that propagation works. */
		if (parent)
			memcpy(span->ctx.trace_id, parent->trace_id, 16);
		make_ids(t, span, !parent);
		span->ctx.trace_flags = 0;
		span->ctx.is_remote = 0;
		span->generation = ct__gen();
		store_state(span, CT__SP_INERT);
		return CT_ENOTINIT;
	}
	d = ct__g.sample_fast[parent ? 1 + !!parent->is_remote : 0];
	if (d == CT__SM_FOLLOW)
		d = parent->trace_flags & CT_TRACE_FLAG_SAMPLED;
	if (d == CT__SM_NO)
		return start_unsampled(t, span, parent);
	return start_sampled(t, span, name, opts, parent, d);
}

int ct_span_start(struct ct_span *span, const char *name, const struct ct_span_opts *opts)
{
	struct ct__thread *t = ct__self;
	const struct ct_span_context *parent;
	int d;

	if (CT__UNLIKELY(!t || atomic_load_explicit(&ct__g.state, memory_order_relaxed) == CT__OFF))
		return start_slow(span, name, opts);
	parent = parent_of(t, opts);
	d = ct__g.sample_fast[parent ? 1 + !!parent->is_remote : 0];
	if (d == CT__SM_FOLLOW)
		d = parent->trace_flags & CT_TRACE_FLAG_SAMPLED;
	/* Unsampled: no ids (generated if looked at), no sampler call, no record. */
	if (d == CT__SM_NO)
		return start_unsampled(t, span, parent);
	return start_sampled(t, span, name, opts, parent, d);
}

const struct ct_span_context *ct_span_context_of(const struct ct_span *span)
{
	ct__span_ids(span);
	return &span->ctx;
}

void ct_span_set_attr(struct ct_span *span, const struct ct_attr *attr)
{
	struct ct__thread *t;
	struct attr_len l;
	unsigned records = 0;
	uint64_t ts;
	size_t sz;
	uint8_t *p, *q;

	if (!live(span, load_state(span)) || !(t = ct__thread_get()))
		return;
	ts = ct_mono_ns();
	if ((p = reserve_bound(t, ATTR_MAX))) {
		q = put_attrs(t, p, attr, 1, ts, ct__be64(span->ctx.span_id), 0, &records);
		commit_len(t, (size_t)(q - p), records);
		return;
	}
	sz = measure(t, attr, &l);
	if (!sz)
		return;
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
	unsigned records = 1;
	size_t nl, head;
	uint8_t *p, *q;

	if (!live(span, load_state(span)) || !(t = ct__thread_get()))
		return;
	/* One thread at a time uses a handle: a plain increment, no locked instruction. */
	idx = __atomic_load_n(&span->n_events, __ATOMIC_RELAXED) + 1;
	__atomic_store_n(&span->n_events, idx, __ATOMIC_RELAXED);
	if (!attrs)
		n_attrs = 0;
	if (idx > 0x7fff) {
		/* Attribute owners number events up to 0x7fff: later ones go without. */
		ct__count(&t->truncated, 1);
		attrs = NULL;
		n_attrs = 0;
	}
	ts = ct_mono_ns();
	sid = ct__be64(span->ctx.span_id);
	if (n_attrs <= ATTR_BATCH && (p = reserve_bound(t, EVENT_MAX + n_attrs * ATTR_MAX))) {
		q = ct_put_u64(p + 16, sid);
		q = ct_put_u64(q, time_ns ? time_ns : ts);
		q = ct_put_u16(q, (uint16_t)(idx > 0xffff ? 0xffff : idx));
		q = put_str(t, q, name, CT_MAX_NAME);
		rec_hdr(p, CT_EV_SPAN_EVENT, (size_t)(q - p) - 16, ts);
		q = put_attrs(t, p + CT__ALIGN8((size_t)(q - p)), attrs, n_attrs, ts, sid,
			      (uint16_t)idx, &records);
		commit_len(t, (size_t)(q - p), records);
		return;
	}
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
	ts = ct_mono_ns();
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
	ts = ct_mono_ns();
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

static inline void span_end(struct ct_span *span, uint64_t end_ns)
{
	struct ct__thread *t;
	uint32_t st = load_state(span);
	uint64_t ts, w;
	size_t sz = CT__ALIGN8(16 + 8 + 8 + 1 + 1);
	uint8_t *p;

	if (SP_STATE(st) != CT__SP_RECORDING)
		return;
	store_state(span, (st & ~3u) | CT__SP_ENDED);
	if (span->generation != ct__gen() || !ct__recording() || !(t = ct__thread_get()))
		return;
	ts = ct_mono_ns();
	p = ct__reserve(t, sz, ts);
	if (!p) {
		ct__drop(t, 1, sz);
		return;
	}
	rec_hdr(p, CT_EV_SPAN_END, 8 + 8 + 1 + 1, ts);
	p = ct_put_u64(p + 16, ct__be64(span->ctx.span_id));
	p = ct_put_u64(p, end_ns ? end_ns : ts);
	/* status, then an empty message (it travels in SPAN_STATUS), and padding. */
	w = SP_STATUS(st);
	memcpy(p, &w, 8);
	ct__commit(t, 1);
}

void ct_span_end_at(struct ct_span *span, uint64_t end_ns)
{
	span_end(span, end_ns);
}

void(ct_span_end)(struct ct_span *span)
{
	span_end(span, 0);
}
