// SPDX-License-Identifier: MIT
/*
 * The feed of received spans (see feed.h). Each waiting span has two records, its start and
 * its end, in a pool sorted when the annotator takes a time range. At equal timestamps the
 * order is: ends of spans (innermost, i.e. latest started, first), then starts (outermost,
 * i.e. latest ending, first), then ends of zero-length spans, so that nested spans enter
 * and leave their scopes in nesting order whatever order they arrived in. Scopes that still
 * end out of nesting order (concurrent spans of one process) are repaired: the spans above
 * are left and entered again, so the analysis always sees a consistent stack.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crosstrace/crosstrace.h"
#include "feed.h"
#include "util/clock.h"

struct ct_feed_batch {
	struct ct_nbatch *b;
	uint32_t refs; /* spans not released yet; guarded by the feed's mutex */
	uint64_t bytes;
	struct ct_feed_span spans[]; /* one per span of b, in order */
};

enum { ST_QUEUED = 1, ST_ENTERED, ST_ENDED, ST_OUT };

/* 32 bytes: a take moves every record several times (partition, sort passes). */
struct rec {
	uint64_t ts;
	uint64_t tb; /* tie-break within a class */
	uint64_t key; /* class << 62 | arrival number (makes every record's key unique) */
	struct ct_feed_span *sp;
};

/* A record's class: 0 end, 1 start, 2 end of a zero-length span. */
#define REC_END 0
#define REC_START 1
#define REC_END0 2
#define REC_KEY(cls, seq) ((uint64_t)(cls) << 62 | (seq))

static inline unsigned rec_cls(const struct rec *r)
{
	return (unsigned)(r->key >> 62);
}

/*
 * A span whose end was fed, in end order. A claim clears sp (the span may be released, i.e.
 * freed, while its entry is still listed), so that the entries left are the spans the
 * analysis did not settle.
 */
struct endrec {
	struct ct_feed_span *sp;
	uint64_t end;
};

/* A (pid, tid) scope stack as the analysis sees it. */
struct stack {
	int32_t pid, tid;
	struct ct_feed_span **v;
	uint32_t n, cap;
	struct stack *next;
};

#define HBITS 16 /* the hash's first size; it grows */
#define SBITS 10

/* ct_id_u64 without a call per id (three ids per span on arrival, three per event taken). */
static inline uint64_t id64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

struct ct_feed {
	struct ct_feed_opts o;
	pthread_mutex_t mu;
	/* under mu */
	struct rec *pool;
	size_t n_pool, cap_pool;
	/* Queued spans by id: 1 << hbits chains, at most half as many spans as chains (a chain
	 * walked touches spans long out of cache, under this lock). */
	struct ct_feed_span **hash;
	unsigned hbits;
	size_t n_hashed;
	struct ct_feed_span **ready; /* handed back unannotated, waiting for the annotator */
	size_t n_ready, cap_ready;
	struct endrec *ended; /* ended (end record fed), in end order */
	size_t ended_head, n_ended, cap_ended;
	uint64_t ended_base; /* position of ended[0] in the list ever appended (end_pos) */
	uint64_t seq, analysed_until;
	uint64_t last_spans, last_bytes; /* the last batch ct_feed_reserve was asked about */
	struct ct_feed_stats st;
	/* annotator thread only */
	struct stack *stacks[1 << SBITS];
	struct rec *take;
	size_t cap_take;
	struct rec *tmp; /* rec_sort's second array */
	size_t cap_tmp;
	struct ct_feed_span **pend; /* ended in this take, listed in f->ended at its end */
	size_t n_pend, cap_pend;
	/* The take in progress (ct_feed_take_begin .. _end): the records taken it_take, the
	 * first it_nd not due yet; the due ones sorted in it[0..it_n) (the end of it_take or
	 * tmp), it_i the next of those to turn into events; q the events of one record (a
	 * span's end with its scope repairs) not handed over yet. */
	struct rec *it_take, *it;
	size_t it_nd, it_n, it_i;
	uint64_t it_emitted, it_dropped;
	uint64_t it_fed, it_repairs; /* added to st under mu at the take's end */
	struct ct_event *q;
	size_t q_head, q_n, q_cap;
};

const char *ct_feed_reason_name(unsigned reason)
{
	static const char *const names[CT_FEED_NREASONS] = {
		"annotated", "late",	     "no-pid",	 "upstream", "off",
		"unsettled", "future-times", "shutdown", "duplicate"};

	return reason < CT_FEED_NREASONS ? names[reason] : "?";
}

int ct_feed_new(struct ct_feed **out, const struct ct_feed_opts *o)
{
	struct ct_feed *f = calloc(1, sizeof(*f));

	if (!f || !(f->hash = calloc(1u << HBITS, sizeof(*f->hash)))) {
		free(f);
		return -ENOMEM;
	}
	f->hbits = HBITS;
	f->o = *o;
	if (!f->o.max_ahead_ns)
		f->o.max_ahead_ns = 60000000000ull;
	pthread_mutex_init(&f->mu, NULL);
	*out = f;
	return 0;
}

static size_t hslot(uint64_t id, unsigned bits)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

static struct ct_feed_span **hfind(struct ct_feed *f, uint64_t id, uint64_t trace_lo)
{
	struct ct_feed_span **p = &f->hash[hslot(id, f->hbits)];

	while (*p && ((*p)->id != id || (*p)->trace_lo != trace_lo))
		p = &(*p)->hnext;
	return p;
}

/*
 * Called with mu held: doubles the hash until n more spans leave it at most half full. A
 * fixed size let chains grow with the spans held (three spans a chain at the default limit
 * of 200k waiting spans, more with a higher one). Without memory it stays as it is, only
 * slower.
 */
static void hash_room(struct ct_feed *f, size_t n)
{
	while (f->n_hashed + n > (size_t)1 << (f->hbits - 1)) {
		unsigned bits = f->hbits + 1;
		struct ct_feed_span **h = calloc((size_t)1 << bits, sizeof(*h));

		if (!h)
			return;
		for (size_t i = 0; i < (size_t)1 << f->hbits; i++)
			while (f->hash[i]) {
				struct ct_feed_span *sp = f->hash[i];
				size_t j = hslot(sp->id, bits);

				f->hash[i] = sp->hnext;
				sp->hnext = h[j];
				h[j] = sp;
			}
		free(f->hash);
		f->hash = h;
		f->hbits = bits;
	}
}

/* Called with mu held: takes the span *slot points to (found by hfind) out of the hash. */
static void hash_remove(struct ct_feed *f, struct ct_feed_span **slot)
{
	struct ct_feed_span *sp = *slot;

	*slot = sp->hnext;
	sp->hnext = NULL;
	f->n_hashed--;
}

static int grow_to(void **v, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap ? *cap : 256;
	void *n;

	while (c < need)
		c *= 2;
	n = realloc(*v, c * elem);
	if (!n)
		return -ENOMEM;
	*v = n;
	*cap = c;
	return 0;
}

/* Room for need elements of elem bytes in *v, of *cap: 0, or -ENOMEM (*v unchanged). Inline:
 * it is asked for every event and every span ended, and nearly always has room. */
static inline int grow(void **v, size_t *cap, size_t need, size_t elem)
{
	return need <= *cap ? 0 : grow_to(v, cap, need, elem);
}

/* Called with mu held. */
static int push_ready(struct ct_feed *f, struct ct_feed_span *sp, uint8_t reason)
{
	if (grow((void **)&f->ready, &f->cap_ready, f->n_ready + 1, sizeof(*f->ready)))
		return -ENOMEM;
	sp->reason = reason;
	sp->state = ST_OUT;
	f->ready[f->n_ready++] = sp;
	return 0;
}

/*
 * What the feed reads of a span's attributes, in one pass: whether another agent annotated
 * it (returns 1), and its thread id (*tid, 0 without one). The first bytes rule out nearly
 * every key without a call (ct_nspan_thread_id compared every key with strcmp); the thread
 * id's value is read by ct_nspan_thread_id, only for spans that carry one.
 */
static int scan_attrs(const struct ct_nspan *s, int32_t *tid)
{
	int upstream = 0, has_tid = 0;

	for (uint32_t i = 0; i < s->attrs.n; i++) {
		const char *k = s->attrs.v[i].key;

		if (k[0] == 'c' && k[1] == 'r' && !strcmp(k, "crosstrace.annotation"))
			upstream = 1;
		else if (k[0] == 't' && k[1] == 'h' && !strcmp(k, "thread.id"))
			has_tid = 1;
	}
	*tid = has_tid ? ct_nspan_thread_id(s) : 0;
	return upstream;
}

/* Memory a held batch is charged for (fixed at reservation: b does not change until added). */
static uint64_t batch_bytes(const struct ct_nbatch *b)
{
	return b->arena.total + sizeof(struct ct_feed_batch) +
	       b->n_spans * sizeof(struct ct_feed_span);
}

int ct_feed_reserve(struct ct_feed *f, const struct ct_nbatch *b)
{
	uint64_t bytes = batch_bytes(b);
	int e = 0;

	pthread_mutex_lock(&f->mu);
	f->last_spans = b->n_spans;
	f->last_bytes = bytes;
	if (f->st.spans_held + b->n_spans > f->o.max_spans ||
	    f->st.bytes_held + bytes > f->o.max_bytes) {
		f->st.refused += b->n_spans;
		e = CT_EFULL;
	} else {
		f->st.spans_held += b->n_spans;
		f->st.bytes_held += bytes;
	}
	pthread_mutex_unlock(&f->mu);
	return e;
}

int ct_feed_admit(struct ct_feed *f)
{
	int e = 0;

	pthread_mutex_lock(&f->mu);
	/* The same test as ct_feed_reserve's, with the last batch's size (none yet: room). */
	if (f->last_spans && (f->st.spans_held + f->last_spans > f->o.max_spans ||
			      f->st.bytes_held + f->last_bytes > f->o.max_bytes))
		e = CT_EFULL;
	pthread_mutex_unlock(&f->mu);
	return e;
}

void ct_feed_unreserve(struct ct_feed *f, const struct ct_nbatch *b)
{
	pthread_mutex_lock(&f->mu);
	f->st.spans_held -= b->n_spans;
	f->st.bytes_held -= batch_bytes(b);
	pthread_mutex_unlock(&f->mu);
}

int ct_feed_add(struct ct_feed *f, struct ct_nbatch *b, const struct ct_span_ev_clock *c)
{
	struct ct_feed_batch *fb;
	struct ct_feed_span *sp;
	uint64_t bytes = batch_bytes(b);
	uint64_t now = ct_mono_ns();

	if (!b->n_spans) {
		ct_feed_unreserve(f, b);
		ct_nbatch_free(b);
		return 0;
	}
	/* The batch and its spans in one allocation (each span is set whole below). */
	fb = malloc(sizeof(*fb) + b->n_spans * sizeof(*fb->spans));
	if (!fb) {
		ct_feed_unreserve(f, b);
		return -ENOMEM;
	}
	fb->b = b;
	fb->bytes = bytes;
	fb->refs = b->n_spans;
	sp = fb->spans;
	for (uint32_t i = 0; i < b->n_spans; i++) {
		const struct ct_nspan *s = &b->spans[i];
		uint64_t start = ct_span_ev_mono(c, s->start_ns);
		uint64_t end = ct_span_ev_mono(c, s->end_ns);

		sp[i] = (struct ct_feed_span){
			.fb = fb,
			.b = b,
			.idx = i,
			.start = start,
			.end = end < start ? start : end,
			.offset_ns = c->offset_ns,
			.uncertainty_ns = c->uncertainty_ns + s->time_resolution_ns,
			.pid = b->resources[s->resource].pid,
			.name_len = s->name ? (uint32_t)strlen(s->name) : 0,
			.id = id64(s->span_id),
			.trace_lo = id64(s->trace_id + 8),
		};
		/* Looked at outside the lock; the reason is final under it (see below). */
		if (scan_attrs(s, &sp[i].tid) && f->o.annotate)
			sp[i].reason = CT_FEED_UPSTREAM;
	}
	pthread_mutex_lock(&f->mu);
	/* Reserve the records first: after this point nothing can fail half-way. */
	if (grow((void **)&f->pool, &f->cap_pool, f->n_pool + 2 * (size_t)b->n_spans,
		 sizeof(*f->pool)) ||
	    grow((void **)&f->ready, &f->cap_ready, f->n_ready + b->n_spans, sizeof(*f->ready))) {
		f->st.spans_held -= b->n_spans;
		f->st.bytes_held -= bytes;
		pthread_mutex_unlock(&f->mu);
		free(fb);
		return -ENOMEM;
	}
	hash_room(f, b->n_spans);
	for (uint32_t i = 0; i < b->n_spans; i++) {
		struct ct_feed_span *x = &sp[i];
		struct ct_feed_span **slot;
		uint8_t why = CT_FEED_ANNOTATED;
		unsigned end_cls;

		if (!f->o.annotate)
			why = CT_FEED_OFF;
		else if (x->reason == CT_FEED_UPSTREAM)
			why = CT_FEED_UPSTREAM;
		else if (x->pid <= 0)
			why = CT_FEED_NO_PID;
		else if (x->start < f->analysed_until)
			why = CT_FEED_LATE;
		else if (x->end > now + f->o.max_ahead_ns)
			why = CT_FEED_FUTURE; /* its records would wait in memory for that long */
		if (why == CT_FEED_ANNOTATED) {
			slot = hfind(f, x->id, x->trace_lo);
			if (*slot)
				why = CT_FEED_DUPLICATE;
		}
		if (why != CT_FEED_ANNOTATED) {
			push_ready(f, x, why); /* room reserved above */
			continue;
		}
		x->state = ST_QUEUED;
		*slot = x;
		f->n_hashed++;
		end_cls = x->end == x->start ? REC_END0 : REC_END;
		f->pool[f->n_pool++] = (struct rec){.ts = x->start,
						    .tb = UINT64_MAX - x->end,
						    .key = REC_KEY(REC_START, f->seq++),
						    .sp = x};
		f->pool[f->n_pool++] = (struct rec){.ts = x->end,
						    .tb = UINT64_MAX - x->start,
						    .key = REC_KEY(end_cls, f->seq++),
						    .sp = x};
	}
	f->st.spans_in += b->n_spans;
	pthread_mutex_unlock(&f->mu);
	return 0;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (rec_cls(x) != rec_cls(y))
		return rec_cls(x) < rec_cls(y) ? -1 : 1;
	if (x->tb != y->tb)
		return x->tb < y->tb ? -1 : 1;
	return x->key < y->key ? -1 : x->key > y->key; /* one class: arrival order */
}

/* rec_cmp(x, y) < 0 (the key makes every record unique: any sort gives the same order). */
static inline int rec_less(const struct rec *x, const struct rec *y)
{
	if (x->ts != y->ts)
		return x->ts < y->ts;
	if (rec_cls(x) != rec_cls(y))
		return rec_cls(x) < rec_cls(y);
	if (x->tb != y->tb)
		return x->tb < y->tb;
	return x->key < y->key;
}

#define RADIX_BITS 11

/*
 * Sorts v[0..n) by rec_less into v or tmp (room for n), and returns which: a radix sort of
 * the times relative to the earliest (a take's records lie within a chunk or two: 250 ms
 * chunks take 3 passes of 11 bits), then runs of one time by rec_less (insertion, as they are
 * short and rare). The merge sort it replaced moved and compared whole records at each of
 * its ~log2(n) levels, and ends stand out of place in every batch (a parent's end after its
 * children's).
 */
static struct rec *rec_sort(struct rec *v, struct rec *tmp, size_t n)
{
	size_t cnt[1u << RADIX_BITS];
	uint64_t lo = UINT64_MAX, hi = 0;
	struct rec *from = v, *to = tmp;
	unsigned bits;

	for (size_t i = 0; i < n; i++) {
		lo = v[i].ts < lo ? v[i].ts : lo;
		hi = v[i].ts > hi ? v[i].ts : hi;
	}
	bits = n > 1 && hi > lo ? 64 - (unsigned)__builtin_clzll(hi - lo) : 0;
	for (unsigned shift = 0; shift < bits; shift += RADIX_BITS) {
		const uint64_t mask = (1u << RADIX_BITS) - 1;
		size_t sum = 0;

		memset(cnt, 0, sizeof(cnt));
		for (size_t i = 0; i < n; i++)
			cnt[((from[i].ts - lo) >> shift) & mask]++;
		for (size_t d = 0; d <= mask; d++) {
			size_t c = cnt[d];

			cnt[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			to[cnt[((from[i].ts - lo) >> shift) & mask]++] = from[i];
		from = to;
		to = to == tmp ? v : tmp;
	}
	v = from;
	for (size_t a = 0, b; a < n; a = b) {
		for (b = a + 1; b < n && v[b].ts == v[a].ts; b++)
			;
		if (b - a > 32) {
			/* A long run of one time (a client with a coarse or stuck clock): insertion
			 * would be quadratic in it. */
			qsort(v + a, b - a, sizeof(*v), rec_cmp);
			continue;
		}
		for (size_t i = a + 1; i < b; i++) {
			struct rec x = v[i];
			size_t j = i;

			while (j > a && rec_less(&x, &v[j - 1])) {
				v[j] = v[j - 1];
				j--;
			}
			v[j] = x;
		}
	}
	return v;
}

/* ---- events (annotator thread) ---- */

static struct stack *stack_of(struct ct_feed *f, int32_t pid, int32_t tid, int create)
{
	unsigned h = (unsigned)((((uint64_t)(uint32_t)pid << 32) | (uint32_t)tid) *
					0x9e3779b97f4a7c15ull >>
				(64 - SBITS));
	struct stack *s;

	for (s = f->stacks[h]; s; s = s->next)
		if (s->pid == pid && s->tid == tid)
			return s;
	if (!create)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->pid = pid;
	s->tid = tid;
	s->next = f->stacks[h];
	f->stacks[h] = s;
	return s;
}

/* A span entered: on top of its (pid, tid) stack. Without memory for it, its exit will find
 * it missing and leave the stack alone (the analysis pops what lies above, as it would). */
static void stack_push(struct ct_feed *f, struct ct_feed_span *sp)
{
	struct stack *st = stack_of(f, sp->pid, sp->tid, 1);

	if (!st)
		return;
	if (st->n == st->cap) {
		uint32_t cap = st->cap ? st->cap * 2 : 8;
		struct ct_feed_span **v = realloc(st->v, cap * sizeof(*v));

		if (!v)
			return;
		st->v = v;
		st->cap = cap;
	}
	st->v[st->n++] = sp;
}

/*
 * A queued event of sp's thread (or process) at ts, or NULL without memory (counted as
 * dropped). Events are written in place and handed over from there: building each (~100
 * bytes) on the stack to copy it in and out again cost more than filling it. The caller sets
 * the payload of its type, the only part readers look at: the rest is not cleared.
 */
static inline struct ct_event *q_event(struct ct_feed *f, const struct ct_feed_span *sp,
				       uint16_t type, uint64_t ts)
{
	struct ct_event *ev;

	if (grow((void **)&f->q, &f->q_cap, f->q_n + 1, sizeof(*f->q))) {
		f->it_dropped++;
		return NULL;
	}
	ev = &f->q[f->q_n++];
	ev->ts = ts;
	ev->pid = sp->pid;
	ev->tid = sp->tid;
	ev->type = type;
	ev->cpu = 0xffff;
	ev->stream = 0;
	return ev;
}

static void q_scope(struct ct_feed *f, const struct ct_feed_span *sp, int enter, uint64_t ts)
{
	struct ct_event *ev = q_event(f, sp, enter ? CT_EV_SCOPE_ENTER : CT_EV_SCOPE_EXIT, ts);

	if (!ev)
		return;
	if (enter) {
		ev->u.scope_enter.span_id = sp->id;
		ev->u.scope_enter.trace_hi = id64(sp->b->spans[sp->idx].trace_id);
		ev->u.scope_enter.trace_lo = sp->trace_lo;
	} else {
		ev->u.scope_exit.span_id = sp->id;
	}
}

static void emit_start(struct ct_feed *f, const struct ct_feed_span *sp)
{
	const struct ct_nspan *s = &sp->b->spans[sp->idx];
	struct ct_event *ev = q_event(f, sp, CT_EV_SPAN_START, sp->start);

	if (ev)
		ev->u.span_start = (struct ct_ev_span_start){.trace_hi = id64(s->trace_id),
							     .trace_lo = sp->trace_lo,
							     .span_id = sp->id,
							     .parent_id = id64(s->parent_id),
							     .start_ns = sp->start,
							     .flags = CT_SPAN_FLAG_SAMPLED,
							     .kind = s->kind,
							     .name = s->name ? s->name : "",
							     .name_len = sp->name_len};
	q_scope(f, sp, 1, sp->start);
	f->it_fed += 2;
}

static void emit_end(struct ct_feed *f, struct ct_feed_span *sp)
{
	struct stack *st = stack_of(f, sp->pid, sp->tid, 0);
	struct ct_event *ev;
	uint32_t at = UINT32_MAX;

	for (uint32_t i = st ? st->n : 0; i-- > 0;)
		if (st->v[i] == sp) {
			at = i;
			break;
		}
	if (at != UINT32_MAX) {
		/* Spans entered above it and still open: leave them, leave it, re-enter them. */
		for (uint32_t i = st->n; i-- > at + 1;)
			q_scope(f, st->v[i], 0, sp->end);
		q_scope(f, sp, 0, sp->end);
		for (uint32_t i = at + 1; i < st->n; i++) {
			q_scope(f, st->v[i], 1, sp->end);
			st->v[i - 1] = st->v[i];
		}
		if (at + 1 < st->n)
			f->it_repairs++;
		f->it_fed += 1 + 2 * (st->n - at - 1);
		st->n--;
	}
	ev = q_event(f, sp, CT_EV_SPAN_END, sp->end);
	if (ev)
		ev->u.span_end = (struct ct_ev_span_end){.span_id = sp->id,
							 .end_ns = sp->end,
							 .status = sp->b->spans[sp->idx].status,
							 .message = ""};
	f->it_fed++;
}

size_t ct_feed_take_begin(struct ct_feed *f, uint64_t before_ns)
{
	struct rec *take;
	size_t n, nd = 0, cut;

	pthread_mutex_lock(&f->mu);
	if (before_ns > f->analysed_until)
		f->analysed_until = before_ns;
	/* Swap the pool out; receivers go on adding into the spare array. */
	take = f->pool;
	n = f->n_pool;
	f->pool = f->take;
	f->cap_take ^= f->cap_pool;
	f->cap_pool ^= f->cap_take;
	f->cap_take ^= f->cap_pool;
	f->n_pool = 0;
	f->take = NULL;
	pthread_mutex_unlock(&f->mu);

	/*
	 * Only what is due gets sorted: later records wait unsorted for their round. They go to
	 * the front, so that this array becomes the pool again with them in place (with a
	 * span-delay of seconds, most records wait for several takes; copying them back each
	 * time, under the lock the receivers need, was the larger part of a take).
	 */
	for (size_t i = 0; i < n; i++) {
		if (take[i].ts < before_ns)
			continue;
		if (i != nd) {
			struct rec t = take[nd];

			take[nd] = take[i];
			take[i] = t;
		}
		nd++;
	}
	cut = n - nd;
	f->it = take ? take + nd : NULL; /* no array before the first record arrives */
	if (cut) {
		if (grow((void **)&f->tmp, &f->cap_tmp, cut, sizeof(*f->tmp)))
			qsort(take + nd, cut, sizeof(*take), rec_cmp); /* no memory for the radix */
		else
			f->it = rec_sort(take + nd, f->tmp, cut);
	}
	f->it_take = take;
	f->it_nd = nd;
	f->it_n = cut;
	f->it_i = 0;
	f->it_emitted = f->it_dropped = 0;
	f->q_head = f->q_n = 0;
	return cut;
}

/*
 * How far ahead spans are fetched into the cache, in the records of a take and in the list of
 * ended spans (claims): a span was last touched on arrival, and waiting for it and for the
 * batch's span it points to was most of a take's time (perf). The span comes first, at twice
 * this distance; what it points to once it has arrived.
 */
#define AHEAD 8

/* Every line of a span record (its 100-odd bytes may lie across three). A macro: GCC drops a
 * function made only of prefetches as a call without effect. */
#define PREFETCH_SPAN(sp)                                                 \
	do {                                                              \
		const char *p_ = (const char *)(sp);                      \
                                                                          \
		__builtin_prefetch(p_);                                   \
		__builtin_prefetch(p_ + 64);                              \
		__builtin_prefetch(p_ + sizeof(struct ct_feed_span) - 1); \
	} while (0)

const struct ct_event *ct_feed_take_next(struct ct_feed *f)
{
	while (f->q_head == f->q_n) {
		struct ct_feed_span *sp;

		if (f->it_i == f->it_n)
			return NULL;
		if (f->it_i + 2 * AHEAD < f->it_n)
			PREFETCH_SPAN(f->it[f->it_i + 2 * AHEAD].sp);
		if (f->it_i + AHEAD < f->it_n) {
			const struct ct_feed_span *a = f->it[f->it_i + AHEAD].sp;
			const char *p = (const char *)&a->b->spans[a->idx];

			__builtin_prefetch(p);
			__builtin_prefetch(p + 64);
		}
		f->q_head = f->q_n = 0;
		sp = f->it[f->it_i].sp;
		if (rec_cls(&f->it[f->it_i++]) == REC_START) {
			if (sp->state != ST_QUEUED)
				continue;
			emit_start(f, sp);
			sp->state = ST_ENTERED;
			stack_push(f, sp);
		} else {
			if (sp->state != ST_ENTERED)
				continue;
			emit_end(f, sp);
			/* Without memory to list it, it stays entered: never claimed, handed back
			 * unannotated at shutdown (as when f->ended cannot grow in _end). */
			if (!grow((void **)&f->pend, &f->cap_pend, f->n_pend + 1, sizeof(*f->pend)))
				f->pend[f->n_pend++] = sp;
		}
		f->it_emitted++;
	}
	return &f->q[f->q_head++];
}

uint64_t ct_feed_take_end(struct ct_feed *f)
{
	struct rec *take = f->it_take;
	size_t nd = f->it_nd;

	/* Records not turned into events yet (the caller stopped early) are taken now. */
	while (ct_feed_take_next(f))
		f->it_dropped++;
	pthread_mutex_lock(&f->mu);
	/* The take's counts: ct_feed_stats reads them under mu from other threads. */
	f->st.events_fed += f->it_fed;
	f->st.scope_repairs += f->it_repairs;
	f->it_fed = f->it_repairs = 0;
	/* Ended spans become claimable, one lock for all (only this thread claims, afterwards). */
	if (f->n_pend && !grow((void **)&f->ended, &f->cap_ended,
			       f->ended_head + f->n_ended + f->n_pend, sizeof(*f->ended))) {
		for (size_t i = 0; i < f->n_pend; i++) {
			struct ct_feed_span *sp = f->pend[i];

			sp->state = ST_ENDED;
			sp->end_pos = f->ended_base + f->ended_head + f->n_ended;
			f->ended[f->ended_head + f->n_ended++] = (struct endrec){sp, sp->end};
		}
	}
	f->n_pend = 0;
	/* The records not due yet stay where they are; what arrived meanwhile joins them, and
	 * this array is the pool again (the pool of the meantime becomes the spare). */
	if (!grow((void **)&take, &f->cap_take, nd + f->n_pool, sizeof(*take))) {
		struct rec *spare = f->pool;
		size_t cap_spare = f->cap_pool;

		if (f->n_pool)
			memcpy(take + nd, f->pool, f->n_pool * sizeof(*take));
		f->pool = take;
		f->n_pool += nd;
		f->cap_pool = f->cap_take;
		f->take = spare;
		f->cap_take = cap_spare;
	} else {
		/* No memory to keep them: their spans are handed back unannotated. */
		for (size_t i = 0; i < nd; i++)
			if (rec_cls(&take[i]) == REC_START && take[i].sp->state == ST_QUEUED) {
				hash_remove(f, hfind(f, take[i].sp->id, take[i].sp->trace_lo));
				push_ready(f, take[i].sp, CT_FEED_UNSETTLED);
			}
		f->take = take; /* the spare, of capacity cap_take */
	}
	pthread_mutex_unlock(&f->mu);
	f->it_take = f->it = NULL;
	f->it_n = f->it_nd = f->it_i = 0;
	return f->it_dropped;
}

uint64_t ct_feed_take_events(struct ct_feed *f, uint64_t before_ns, ct_feed_event_fn fn, void *arg)
{
	const struct ct_event *ev;

	ct_feed_take_begin(f, before_ns);
	while ((ev = ct_feed_take_next(f)))
		fn(arg, ev);
	ct_feed_take_end(f);
	return f->it_emitted;
}

struct ct_feed_span *ct_feed_claim(struct ct_feed *f, uint64_t trace_lo, uint64_t id, int32_t pid)
{
	struct ct_feed_span **slot, *sp = NULL;

	pthread_mutex_lock(&f->mu);
	slot = hfind(f, id, trace_lo);
	if (*slot && (*slot)->pid == pid && (*slot)->state == ST_ENDED) {
		size_t at, end = f->ended_head + f->n_ended;
		const struct ct_feed_span *a;

		sp = *slot;
		hash_remove(f, slot);
		at = sp->end_pos - f->ended_base;
		f->ended[at].sp = NULL;
		sp->state = ST_OUT;
		sp->reason = CT_FEED_ANNOTATED;
		f->st.by_reason[CT_FEED_ANNOTATED]++;
		/*
		 * The analysis settles spans mostly in the order they ended (3 claims in 4 are of
		 * the next span listed): fetch the span records of those listed further on, and
		 * the hash slots and batch spans (their ids, and the attribute list annotate grows)
		 * of nearer ones, whose records have arrived. Each claim waited for a slot and a
		 * span last touched on arrival, and annotate for the batch span (perf).
		 */
		if (at + 2 * AHEAD < end && (a = f->ended[at + 2 * AHEAD].sp))
			PREFETCH_SPAN(a);
		if (at + AHEAD < end && (a = f->ended[at + AHEAD].sp)) {
			const struct ct_nspan *s = &a->b->spans[a->idx];

			__builtin_prefetch(&f->hash[hslot(a->id, f->hbits)]);
			__builtin_prefetch(s);
			__builtin_prefetch(&s->attrs);
		}
	}
	pthread_mutex_unlock(&f->mu);
	return sp;
}

size_t ct_feed_take_ready(struct ct_feed *f, uint64_t expire_before_ns, struct ct_feed_span **out,
			  size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&f->mu);
	while (n < max && f->n_ready) {
		struct ct_feed_span *sp = f->ready[--f->n_ready];

		f->st.by_reason[sp->reason]++;
		out[n++] = sp;
	}
	/* Ended spans the analysis settled were claimed: skip them. Those still waiting when
	 * their time is well past were not settled: hand them back. */
	while (n < max && f->n_ended) {
		const struct endrec *r = &f->ended[f->ended_head];
		struct ct_feed_span *sp = r->sp;

		if (r->end >= expire_before_ns)
			break;
		f->ended_head++;
		f->n_ended--;
		if (!sp)
			continue; /* claimed (and perhaps released) since */
		hash_remove(f, hfind(f, sp->id, sp->trace_lo));
		sp->state = ST_OUT;
		sp->reason = expire_before_ns == UINT64_MAX ? CT_FEED_SHUTDOWN : CT_FEED_UNSETTLED;
		f->st.by_reason[sp->reason]++;
		out[n++] = sp;
	}
	if (!f->n_ended) {
		f->ended_base += f->ended_head;
		f->ended_head = 0;
	} else if (f->ended_head > 4096 && f->ended_head > f->n_ended) {
		memmove(f->ended, f->ended + f->ended_head, f->n_ended * sizeof(*f->ended));
		f->ended_base += f->ended_head;
		f->ended_head = 0;
	}
	if (expire_before_ns == UINT64_MAX && n < max) {
		/* Shutdown: spans whose end was never fed. */
		for (size_t h = 0; h < (size_t)1 << f->hbits && n < max; h++) {
			while (f->hash[h] && n < max) {
				struct ct_feed_span *sp = f->hash[h];

				hash_remove(f, &f->hash[h]);
				sp->state = ST_OUT;
				sp->reason = CT_FEED_SHUTDOWN;
				f->st.by_reason[sp->reason]++;
				out[n++] = sp;
			}
		}
	}
	pthread_mutex_unlock(&f->mu);
	return n;
}

void ct_feed_release(struct ct_feed *f, struct ct_feed_span *const *s, size_t n)
{
	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < n; i++) {
		struct ct_feed_batch *fb = s[i]->fb;

		f->st.spans_held--;
		if (--fb->refs)
			continue;
		f->st.bytes_held -= fb->bytes;
		ct_nbatch_free(fb->b);
		free(fb);
	}
	pthread_mutex_unlock(&f->mu);
}

void ct_feed_stats(struct ct_feed *f, struct ct_feed_stats *st)
{
	pthread_mutex_lock(&f->mu);
	*st = f->st;
	st->analysed_until = f->analysed_until;
	pthread_mutex_unlock(&f->mu);
}

void ct_feed_free(struct ct_feed *f)
{
	struct ct_feed_span *out[256];
	size_t n;

	if (!f)
		return;
	/* Whatever is still held: hand it out and release it (counted as shutdown). */
	while ((n = ct_feed_take_ready(f, UINT64_MAX, out, 256)) > 0)
		ct_feed_release(f, out, n);
	for (unsigned h = 0; h < (1u << SBITS); h++)
		while (f->stacks[h]) {
			struct stack *s = f->stacks[h];

			f->stacks[h] = s->next;
			free(s->v);
			free(s);
		}
	free(f->hash);
	free(f->pool);
	free(f->take);
	free(f->tmp);
	free(f->pend);
	free(f->q);
	free(f->it_take); /* a take left unfinished */
	free(f->ready);
	free(f->ended);
	pthread_mutex_destroy(&f->mu);
	free(f);
}
