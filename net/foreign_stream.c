// SPDX-License-Identifier: MIT
/*
 * The foreign stream's time-ordered buffer. Receivers append events to a pool under a mutex,
 * as records of events of one time; the owner thread swaps the pool out, sorts its new
 * records by (time, arrival), merges them with the records held back from earlier rounds
 * (kept in that order), writes the prefix older than the watermark and holds the rest. Each
 * chunk boundary the owner observed is remembered so that a boundary's events are written
 * while its chunk is still open, and so that PROCESS_INFO is written once per process and
 * chunk.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crosstrace/crosstrace.h"
#include "foreign_stream.h"
#include "format/event.h"
#include "util/buf.h"
#include "util/msort.h"

/*
 * A record is a run of events that arrived one after the other with the same time, process
 * and thread: a span's start, attributes and scope entry, or its scope exit, status and end.
 * Nothing can come between them in (time, arrival) order, so they are sorted, merged and
 * copied as one (a dozen events per span were each a record before: most of the owner's
 * instructions went to sorting and copying them).
 */
struct rec {
	uint64_t ts;
	int32_t pid, tid;
	uint32_t proc; /* index into procs */
	uint32_t off; /* offset of its events in the pool's data, a run (format/event.h) */
	uint32_t len; /* bytes of its events there */
	uint32_t n; /* number of events */
};

/* A pool holds records in arrival order (cur) or in (time, arrival) order (held). */
struct pool {
	struct rec *r;
	size_t n, cap;
	size_t events; /* in its records */
	struct ct_buf data;
};

/* A new event's place in the sort: its time and its index in the pool (arrival order). */
struct key {
	uint64_t ts;
	uint64_t idx;
};

/* A process that sent spans: its PROCESS_INFO + resource attributes, pre-encoded. */
struct proc {
	int32_t pid;
	char *service, *sdk;
	struct ct_buf events; /* one run, as ct_resource_events emits it */
	uint64_t last_chunk; /* chunk number + 1 it was last written to; 0 never */
};

#define MAX_PROCS 4096

struct ct_foreign {
	struct ct_tracedir *td;
	struct ct_tdstream *s;
	uint64_t grace_ns;
	size_t max_bytes;
	uint64_t max_hold_ns;

	pthread_mutex_t mu; /* guards cur, spare, procs, scratch, watermark, counters below */
	struct pool cur;
	struct pool spare; /* an empty pool whose memory is reused at the next flush */
	struct proc **procs; /* each entry stays put: the owner reads it without the lock */
	uint32_t n_procs, cap_procs;
	struct ct_buf scratch; /* where adders build a span's events */
	uint64_t watermark; /* every event older than this was written or counted */
	uint64_t min_ts; /* oldest event in cur (UINT64_MAX when empty) */
	uint64_t late, overflow, truncated, spans, written, flushes, refused;
	uint64_t late_reported, overflow_reported;

	size_t held_events, held_bytes; /* copies of held's size for adders and stats */

	/* Owner thread only. */
	struct pool held; /* not yet written, sorted by (time, arrival) */
	struct pool held_next; /* memory for the next round's held */
	struct key *keys, *ktmp; /* the sort of a round's new records */
	size_t cap_keys;
	uint64_t *bounds; /* chunk boundaries observed, ascending */
	size_t n_bounds, cap_bounds;
	uint64_t chunk_base; /* chunks created before the first observed boundary */
};

static void pool_init(struct pool *p)
{
	memset(p, 0, sizeof(*p));
	ct_buf_init(&p->data);
}

static void pool_fini(struct pool *p)
{
	free(p->r);
	ct_buf_fini(&p->data);
	memset(p, 0, sizeof(*p));
}

/* Memory a pool's events take: payloads and their records. */
static size_t pool_bytes(const struct pool *p)
{
	return p->data.len + p->n * sizeof(struct rec);
}

/* Makes room for one more record and n bytes of data. Returns 0 or -ENOMEM. */
static int pool_reserve(struct pool *p, size_t n)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 1024;
		struct rec *r = realloc(p->r, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		p->r = r;
		p->cap = cap;
	}
	if (p->data.len + n > UINT32_MAX)
		return -ENOMEM;
	return ct_buf_reserve(&p->data, n);
}

/* Appends a copy of record r whose events are at events. */
static int pool_push(struct pool *p, const struct rec *r, const char *events)
{
	if (pool_reserve(p, r->len))
		return -ENOMEM;
	p->r[p->n] = *r;
	p->r[p->n].off = (uint32_t)p->data.len;
	memcpy(p->data.data + p->data.len, events, r->len);
	p->data.len += r->len;
	p->data.data[p->data.len] = 0;
	p->n++;
	p->events += r->n;
	return 0;
}

/*
 * Appends a run of n events (len bytes) at (at->ts, pid, tid, proc): to the last record when it
 * has the same ones and its events end the data (it is not a record removed as late), else as
 * a new record.
 */
static int pool_add(struct pool *p, const struct rec *at, const void *events, size_t len,
		    uint32_t n)
{
	struct rec *r;

	if (pool_reserve(p, len))
		return -ENOMEM;
	r = p->n ? &p->r[p->n - 1] : NULL;
	if (!r || r->ts != at->ts || r->pid != at->pid || r->tid != at->tid ||
	    r->proc != at->proc || r->off + r->len != p->data.len) {
		r = &p->r[p->n++];
		*r = *at;
		r->off = (uint32_t)p->data.len;
		r->len = 0;
		r->n = 0;
	}
	memcpy(p->data.data + p->data.len, events, len);
	p->data.len += len;
	p->data.data[p->data.len] = 0;
	r->len += (uint32_t)len;
	r->n += n;
	p->events += n;
	return 0;
}

int ct_foreign_new(struct ct_foreign **out, const struct ct_foreign_opts *o)
{
	struct ct_foreign *f = calloc(1, sizeof(*f));
	struct ct_tracedir_stats st;
	int err;

	if (!f)
		return -ENOMEM;
	err = ct_tracedir_stream(o->td, o->stream ? o->stream : "foreign", 0xffffffffu, &f->s);
	if (err) {
		free(f);
		return err;
	}
	f->td = o->td;
	f->grace_ns = o->grace_ns ? o->grace_ns : 1000000000ull;
	f->max_bytes = o->max_bytes ? o->max_bytes : (size_t)16 << 20;
	f->max_hold_ns = o->max_hold_ns ? o->max_hold_ns : 10000000000ull;
	pthread_mutex_init(&f->mu, NULL);
	pool_init(&f->cur);
	pool_init(&f->spare);
	pool_init(&f->held);
	pool_init(&f->held_next);
	ct_buf_init(&f->scratch);
	f->min_ts = UINT64_MAX;
	ct_tracedir_stats(o->td, &st);
	f->chunk_base = st.chunks ? st.chunks - 1 : 0;
	*out = f;
	return 0;
}

struct add_ctx {
	struct ct_foreign *f;
	uint32_t proc;
};

/* Called with f->mu held. */
static int add_run(void *arg, uint64_t ts, int32_t pid, int32_t tid, const void *events, size_t len,
		   uint32_t n)
{
	struct add_ctx *c = arg;
	struct ct_foreign *f = c->f;
	struct rec at = {.ts = ts, .pid = pid, .tid = tid, .proc = c->proc};

	if (ts < f->watermark) {
		f->late += n;
		return 0;
	}
	if (pool_add(&f->cur, &at, events, len, n)) {
		f->overflow += n;
		return 0;
	}
	if (ts < f->min_ts)
		f->min_ts = ts;
	return 0;
}

static int proc_run(void *arg, uint64_t ts, int32_t pid, int32_t tid, const void *events,
		    size_t len, uint32_t n)
{
	struct ct_buf *b = arg;

	(void)ts;
	(void)pid;
	(void)tid;
	(void)n;
	ct_buf_append(b, events, len);
	return b->oom ? -ENOMEM : 0;
}

/* The process entry of resource r, created on first sight. Called with f->mu held. */
static uint32_t proc_for(struct ct_foreign *f, const struct ct_nbatch *b,
			 const struct ct_nresource *r)
{
	struct proc *p;

	for (uint32_t i = 0; i < f->n_procs; i++) {
		p = f->procs[i];
		if (p->pid == r->pid && !strcmp(p->service, r->service) && !strcmp(p->sdk, b->sdk))
			return i;
	}
	if (f->n_procs == MAX_PROCS)
		return UINT32_MAX; /* its spans still go in; only its PROCESS_INFO is skipped */
	if (f->n_procs == f->cap_procs) {
		uint32_t cap = f->cap_procs ? f->cap_procs * 2 : 16;
		struct proc **n = realloc(f->procs, cap * sizeof(*n));

		if (!n)
			return UINT32_MAX;
		f->procs = n;
		f->cap_procs = cap;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return UINT32_MAX;
	p->pid = r->pid;
	p->service = strdup(r->service);
	p->sdk = strdup(b->sdk);
	ct_buf_init(&p->events);
	if (!p->service || !p->sdk ||
	    ct_resource_events(b, r, 0, &f->scratch, proc_run, &p->events, &f->truncated)) {
		free(p->service);
		free(p->sdk);
		ct_buf_fini(&p->events);
		free(p);
		return UINT32_MAX;
	}
	f->procs[f->n_procs] = p;
	return f->n_procs++;
}

int ct_foreign_full(struct ct_foreign *f)
{
	int full;

	pthread_mutex_lock(&f->mu);
	full = pool_bytes(&f->cur) + f->held_bytes > f->max_bytes * 2;
	pthread_mutex_unlock(&f->mu);
	return full;
}

int ct_foreign_add(struct ct_foreign *f, const struct ct_nbatch *b,
		   const struct ct_span_ev_clock *c)
{
	struct add_ctx ctx = {.f = f};
	uint32_t *procs = calloc(b->n_resources ? b->n_resources : 1, sizeof(*procs));
	int err = 0;

	if (!procs)
		return -ENOMEM;
	pthread_mutex_lock(&f->mu);
	/*
	 * Hard bound, twice the soft limit at which the owner starts writing early: refuse the
	 * whole batch (the receiver answers 503 and the client sends it again later) rather than
	 * keep part of its spans.
	 */
	if (pool_bytes(&f->cur) + f->held_bytes > f->max_bytes * 2) {
		f->refused += b->n_spans;
		pthread_mutex_unlock(&f->mu);
		free(procs);
		return CT_EFULL;
	}
	for (uint32_t i = 0; i < b->n_resources; i++)
		procs[i] = proc_for(f, b, &b->resources[i]);
	for (uint32_t i = 0; i < b->n_spans && !err; i++) {
		ctx.proc = procs[b->spans[i].resource];
		err = ct_span_events(b, &b->spans[i], c, &f->scratch, add_run, &ctx, &f->truncated);
		f->spans++;
	}
	pthread_mutex_unlock(&f->mu);
	free(procs);
	return err;
}

/* ---- owner side ---- */

static inline int key_lt(const struct key *a, const struct key *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->idx < b->idx);
}

/* A round's keys (tmp: room for n / 2 + 1): qsort of the 40-byte records was most of the
 * owner's time, and records come in nearly in time order (util/msort.h). */
CT_MSORT_DEFINE(key_sort, struct key, key_lt)

/* Number of the chunk (0-based) covering ts, per the boundaries seen. */
static uint64_t chunk_of(const struct ct_foreign *f, uint64_t ts)
{
	size_t lo = 0, hi = f->n_bounds;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (f->bounds[mid] <= ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	return f->chunk_base + lo;
}

/* Writes one record (and its process's PROCESS_INFO first when its chunk has not had it). */
static int write_rec(struct ct_foreign *f, const struct rec *r, const char *events, struct proc **p,
		     uint32_t *p_idx)
{
	int err = 0, e;

	if (r->proc != UINT32_MAX) {
		uint64_t ch = chunk_of(f, r->ts) + 1;

		if (r->proc != *p_idx) {
			pthread_mutex_lock(&f->mu); /* procs may be growing */
			*p = f->procs[r->proc];
			pthread_mutex_unlock(&f->mu);
			*p_idx = r->proc;
		}
		if ((*p)->last_chunk != ch) {
			(*p)->last_chunk = ch;
			e = ct_tdstream_append_run(f->s, r->ts, (*p)->pid, 0, (*p)->events.data,
						   (*p)->events.len);
			if (e < 0)
				err = e;
		}
	}
	e = ct_tdstream_append_run(f->s, r->ts, r->pid, r->tid, events, r->len);
	return err ? err : e < 0 ? e : 0;
}

/* Whether the next event in (time, arrival) order is held's i-th rather than take's j-th:
 * on equal times held's came first (everything held arrived before this round's events). */
static int held_first(const struct ct_foreign *f, size_t i, const struct key *k, size_t j,
		      size_t n_take)
{
	if (i == f->held.n)
		return 0;
	return j == n_take || f->held.r[i].ts <= k[j].ts;
}

/*
 * Writes every buffered event older than w (all when w is UINT64_MAX), or at least the
 * oldest half when the buffer is over its soft limit. Events held from earlier rounds are
 * sorted already; only the new ones are sorted, then the two are merged.
 */
static int flush_before(struct ct_foreign *f, uint64_t w)
{
	struct pool take;
	struct proc *p = NULL;
	uint32_t p_idx = UINT32_MAX;
	size_t ch = 0, ct = 0, i, j, total, written = 0;
	uint64_t held_min = f->held.n ? f->held.r[0].ts : UINT64_MAX, last = 0;
	int err = 0, over;
	struct pool next;
	struct key *k;

	pthread_mutex_lock(&f->mu);
	over = pool_bytes(&f->cur) + f->held_bytes > f->max_bytes;
	if ((!f->cur.n && !f->held.n) || (!over && f->min_ts >= w && held_min >= w)) {
		pthread_mutex_unlock(&f->mu);
		return 0;
	}
	/* Receivers go on adding into the spare pool (its memory kept from the last round). */
	take = f->cur;
	f->cur = f->spare;
	pool_init(&f->spare);
	f->min_ts = UINT64_MAX;
	pthread_mutex_unlock(&f->mu);

	if (take.n > f->cap_keys) {
		size_t cap = take.n + take.n / 2;
		struct key *nk = realloc(f->keys, cap * sizeof(*nk));
		struct key *nt = nk ? realloc(f->ktmp, (cap / 2 + 1) * sizeof(*nt)) : NULL;

		if (nk)
			f->keys = nk;
		if (nt)
			f->ktmp = nt;
		if (!nk || !nt) {
			/* Cannot sort them: counted, as any event that could not be kept. */
			pthread_mutex_lock(&f->mu);
			f->overflow += take.events;
			pthread_mutex_unlock(&f->mu);
			take.n = 0;
			take.events = 0;
		} else {
			f->cap_keys = cap;
		}
	}
	k = f->keys;
	for (i = 0; i < take.n; i++)
		k[i] = (struct key){take.r[i].ts, i};
	if (take.n)
		key_sort(k, f->ktmp, take.n);

	/* The cut: every event older than w, or at least the oldest half of all records. */
	total = f->held.n + take.n;
	while (ch < f->held.n && f->held.r[ch].ts < w)
		ch++;
	while (ct < take.n && k[ct].ts < w)
		ct++;
	if (over && ch + ct < total / 2) {
		while (ch + ct < total / 2) {
			if (held_first(f, ch, k, ct, take.n))
				ch++;
			else
				ct++;
		}
		/* Never split events of one timestamp: later arrivals at it must not be late. */
		last = ch && (!ct || f->held.r[ch - 1].ts >= k[ct - 1].ts) ? f->held.r[ch - 1].ts
									   : k[ct - 1].ts;
		while (ch < f->held.n && f->held.r[ch].ts == last)
			ch++;
		while (ct < take.n && k[ct].ts == last)
			ct++;
	}
	if (ch || ct)
		last = ch && (!ct || f->held.r[ch - 1].ts >= k[ct - 1].ts) ? f->held.r[ch - 1].ts
									   : k[ct - 1].ts;
	/*
	 * Raise the watermark before writing: from now on an add older than the last event
	 * written cannot go into the stream in order, and is counted late. Equal times still can.
	 */
	pthread_mutex_lock(&f->mu);
	if ((ch || ct) && last > f->watermark)
		f->watermark = last;
	pthread_mutex_unlock(&f->mu);
	for (i = 0, j = 0; i < ch || j < ct;) {
		const struct rec *r;
		const char *payload;
		int e;

		if (i < ch && (j == ct || f->held.r[i].ts <= k[j].ts)) {
			r = &f->held.r[i++];
			payload = f->held.data.data + r->off;
		} else {
			r = &take.r[k[j++].idx];
			payload = take.data.data + r->off;
		}
		e = write_rec(f, r, payload, &p, &p_idx);
		if (e < 0 && !err)
			err = e;
		written += r->n;
	}
	/* The rest, still in order, is held for a later round (copied: take's memory is reused). */
	f->held_next.n = 0;
	f->held_next.events = 0;
	f->held_next.data.len = 0;
	for (i = ch, j = ct; i < f->held.n || j < take.n;) {
		const struct rec *r;
		const char *payload;

		if (held_first(f, i, k, j, take.n)) {
			r = &f->held.r[i++];
			payload = f->held.data.data + r->off;
		} else {
			r = &take.r[k[j++].idx];
			payload = take.data.data + r->off;
		}
		if (pool_push(&f->held_next, r, payload))
			break; /* could not keep this one and the rest: counted below */
	}
	pthread_mutex_lock(&f->mu);
	f->overflow += f->held.events + take.events - written - f->held_next.events;
	next = f->held;
	f->held = f->held_next;
	f->held_next = next;
	take.n = 0;
	take.events = 0;
	take.data.len = 0;
	/*
	 * Events added while this round wrote, older than what it wrote (they came in before the
	 * watermark was raised), can no longer go in order: late.
	 */
	{
		size_t n = 0;

		f->min_ts = UINT64_MAX;
		for (i = 0; i < f->cur.n; i++) {
			if (f->cur.r[i].ts < f->watermark) {
				f->late += f->cur.r[i].n;
				f->cur.events -= f->cur.r[i].n;
				continue;
			}
			if (f->cur.r[i].ts < f->min_ts)
				f->min_ts = f->cur.r[i].ts;
			f->cur.r[n++] = f->cur.r[i];
		}
		f->cur.n = n;
	}
	f->held_events = f->held.events;
	f->held_bytes = pool_bytes(&f->held);
	f->written += written;
	f->flushes++;
	/* Emptied, its memory becomes the next spare. */
	pool_fini(&f->spare);
	f->spare = take;
	pthread_mutex_unlock(&f->mu);
	return err;
}

/* Reports loss counted by adders (ct_tdstream_lost is owner-only). */
static void report_loss(struct ct_foreign *f, uint64_t now_ns)
{
	uint64_t late, overflow;

	pthread_mutex_lock(&f->mu);
	late = f->late - f->late_reported;
	overflow = f->overflow - f->overflow_reported;
	f->late_reported = f->late;
	f->overflow_reported = f->overflow;
	pthread_mutex_unlock(&f->mu);
	if (late)
		ct_tdstream_lost(f->s, "received_late", now_ns, late);
	if (overflow)
		ct_tdstream_lost(f->s, "received_overflow", now_ns, overflow);
}

static int note_bound(struct ct_foreign *f, unsigned before, uint64_t now_ns)
{
	struct ct_tracedir_stats st;

	ct_tracedir_stats(f->td, &st);
	if (st.chunks == before)
		return 0;
	if (f->n_bounds == f->cap_bounds) {
		size_t cap = f->cap_bounds ? f->cap_bounds * 2 : 16;
		uint64_t *n = realloc(f->bounds, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		f->bounds = n;
		f->cap_bounds = cap;
	}
	f->bounds[f->n_bounds++] = now_ns;
	return 0;
}

int ct_foreign_tick(struct ct_foreign *f, uint64_t now_ns)
{
	struct ct_tracedir_stats st;
	uint64_t w = 0;
	int err, e;

	/* The newest boundary whose chunk is past half its grace period: write what it holds. */
	for (size_t i = 0; i < f->n_bounds; i++) {
		if (now_ns >= f->bounds[i] + f->grace_ns / 2)
			w = f->bounds[i];
	}
	/* Held long enough: a long chunk must not keep minutes of spans in memory. */
	if (now_ns > f->max_hold_ns && now_ns - f->max_hold_ns > w)
		w = now_ns - f->max_hold_ns;
	err = flush_before(f, w);
	report_loss(f, now_ns);
	ct_tracedir_stats(f->td, &st);
	e = ct_tracedir_tick(f->td, now_ns);
	if (e && !err)
		err = e;
	e = note_bound(f, st.chunks, now_ns);
	return err ? err : e;
}

int ct_foreign_rotate(struct ct_foreign *f, uint64_t now_ns)
{
	struct ct_tracedir_stats st;
	int err;

	ct_tracedir_stats(f->td, &st);
	err = ct_tracedir_rotate(f->td, now_ns);
	if (!err)
		err = note_bound(f, st.chunks, now_ns);
	return err;
}

int ct_foreign_flush(struct ct_foreign *f)
{
	int err = flush_before(f, UINT64_MAX);

	report_loss(f, f->watermark);
	return err;
}

void ct_foreign_stats(struct ct_foreign *f, struct ct_foreign_stats *st)
{
	pthread_mutex_lock(&f->mu);
	st->spans = f->spans;
	st->events_buffered = f->cur.events + f->held_events;
	st->bytes_buffered = pool_bytes(&f->cur) + f->held_bytes;
	st->events_written = f->written;
	st->late = f->late;
	st->overflow = f->overflow;
	st->refused = f->refused;
	st->truncated = f->truncated;
	st->flushes = f->flushes;
	pthread_mutex_unlock(&f->mu);
}

void ct_foreign_free(struct ct_foreign *f)
{
	if (!f)
		return;
	if (f->cur.events + f->held.events)
		ct_tdstream_lost(f->s, "received_unflushed", f->watermark,
				 f->cur.events + f->held.events);
	pool_fini(&f->cur);
	pool_fini(&f->spare);
	pool_fini(&f->held);
	pool_fini(&f->held_next);
	free(f->keys);
	free(f->ktmp);
	ct_buf_fini(&f->scratch);
	for (uint32_t i = 0; i < f->n_procs; i++) {
		free(f->procs[i]->service);
		free(f->procs[i]->sdk);
		ct_buf_fini(&f->procs[i]->events);
		free(f->procs[i]);
	}
	free(f->procs);
	free(f->bounds);
	pthread_mutex_destroy(&f->mu);
	free(f);
}
