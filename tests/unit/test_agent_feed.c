// SPDX-License-Identifier: MIT
/*
 * The agent's feed of received spans: the events it gives the analysis (order at equal
 * times whatever the arrival order, scopes repaired when spans of one process end out of
 * nesting order — checked by feeding them to the real analysis engine, which must see no
 * anomaly and settle every span), spans handed back unannotated with their reason (late, no
 * pid, upstream, duplicate, unsettled, shutdown), claims, memory limits and release.
 */
#include <errno.h>
#include <time.h>

#include "agent/feed.h"
#include "analysis/analysis.h"
#include "crosstrace/crosstrace.h"
#include "net/span_dump.h"
#include "test.h"

#define MS 1000000ull
/* A monotonic time already past on any running machine (a fresh VM has been up for seconds:
 * a time ahead of the clock is refused as CT_FEED_FUTURE); the clock offset below is 0. */
#define T0 (1000000000ull)

static const struct ct_span_ev_clock clk0 = {0, 0};

struct sp {
	uint8_t id; /* span id = 8 bytes of id; trace id derived */
	uint8_t parent;
	uint64_t start, end;
	int32_t pid;
};

static struct ct_nbatch *batch(const struct sp *s, int n)
{
	struct ct_nbatch *b;
	struct ct_nresource *r;

	ct_nbatch_new(&b, "otlp");
	r = ct_nbatch_add_resource(b);
	ct_nattrs_add_str(b, &r->attrs, "service.name", "feed-test");
	ct_nattrs_add_int(b, &r->attrs, "process.pid", s[0].pid);
	ct_nresource_derive(r);
	ct_nbatch_add_scope(b);
	for (int i = 0; i < n; i++) {
		struct ct_nspan *x = ct_nbatch_add_span(b, 0, 0);

		memset(x->trace_id, 0x11, 16);
		memset(x->span_id, s[i].id, 8);
		if (s[i].parent)
			memset(x->parent_id, s[i].parent, 8);
		x->name = "op";
		x->start_ns = s[i].start;
		x->end_ns = s[i].end;
		if (s[i].pid != s[0].pid) {
			/* Another process: a resource of its own. */
			r = ct_nbatch_add_resource(b);
			ct_nattrs_add_int(b, &r->attrs, "process.pid", s[i].pid);
			ct_nresource_derive(r);
			x = &b->spans[b->n_spans - 1];
			x->resource = b->n_resources - 1;
		}
	}
	return b;
}

static struct ct_feed *feed_new(uint64_t max_spans)
{
	struct ct_feed_opts o = {.max_spans = max_spans, .max_bytes = 64 << 20, .annotate = 1};
	struct ct_feed *f = NULL;

	CHECK_INT(ct_feed_new(&f, &o), 0);
	return f;
}

static int add(struct ct_feed *f, const struct sp *s, int n)
{
	struct ct_nbatch *b = batch(s, n);
	int e = ct_feed_reserve(f, b);

	if (!e)
		e = ct_feed_add(f, b, &clk0);
	if (e)
		ct_nbatch_free(b);
	return e;
}

struct evlog {
	char text[4096];
	size_t len;
	struct ct_partial *p; /* also fed to the analysis when set */
};

static void log_ev(void *arg, const struct ct_event *ev)
{
	struct evlog *l = arg;
	uint64_t id = ev->type == CT_EV_SPAN_START    ? ev->u.span_start.span_id
		      : ev->type == CT_EV_SPAN_END    ? ev->u.span_end.span_id
		      : ev->type == CT_EV_SCOPE_ENTER ? ev->u.scope_enter.span_id
						      : ev->u.scope_exit.span_id;
	static const char *const code[] = {[CT_EV_SPAN_START] = "S",
					   [CT_EV_SPAN_END] = "E",
					   [CT_EV_SCOPE_ENTER] = "+",
					   [CT_EV_SCOPE_EXIT] = "-"};

	l->len += (size_t)snprintf(l->text + l->len, sizeof(l->text) - l->len, "%s%s%x",
				   l->len ? " " : "", code[ev->type], (unsigned)(id & 0xff));
	if (l->p)
		ct_partial_feed(l->p, ev);
}

static void drain(struct ct_feed *f)
{
	struct ct_feed_span *out[64];
	size_t n;

	while ((n = ct_feed_take_ready(f, UINT64_MAX, out, 64)) > 0)
		ct_feed_release(f, out, n);
}

/* A JS SDK sends children first (they end first), with start times rounded alike. */
TEST(nesting_order)
{
	struct ct_feed *f = feed_new(1000);
	const struct sp child = {2, 1, T0, T0 + 3 * MS, 100},
			zero = {3, 1, T0 + 3 * MS, T0 + 3 * MS, 100};
	const struct sp parent = {1, 0, T0, T0 + 5 * MS, 100};
	struct evlog l = {0};

	CHECK_INT(add(f, &child, 1), 0);
	CHECK_INT(add(f, &zero, 1), 0);
	CHECK_INT(add(f, &parent, 1), 0);
	CHECK_U64(ct_feed_take_events(f, T0 + 10 * MS, log_ev, &l), 6);
	/* Parent enters first, the child exits first; the zero-length span after the child's
	 * exit at the same instant. */
	CHECK_STR(l.text, "S1 +1 S2 +2 -2 E2 S3 +3 -3 E3 -1 E1");
	drain(f);
	ct_feed_free(f);
}

static struct ct_feed *claim_feed;
static struct ct_feed_span *claimed[16];
static unsigned n_claimed;

static void claim_cb(void *arg, const struct ct_partial *p, const struct ct_an_span *v)
{
	struct ct_feed_span *sp = ct_feed_claim(claim_feed, v->trace_lo, v->id, v->pid);

	(void)arg;
	(void)p;
	CHECK(sp != NULL);
	if (sp && n_claimed < 16) {
		CHECK_INT(sp->reason, CT_FEED_ANNOTATED);
		/* The analysis had no kernel data: every instant is unknown or inactive, and the
		 * breakdown still sums to the duration. */
		uint64_t sum = 0;

		for (unsigned c = 0; c < CT_CAT_N; c++)
			sum += v->cat[c];
		CHECK_U64(sum, v->end_ns - v->start_ns);
		CHECK_INT(v->tid, 0);
		CHECK(v->incomplete & CT_INC_PROCESS_WIDE);
		claimed[n_claimed++] = sp;
	}
}

/* Two spans of one process overlapping without nesting: scopes repaired, the analysis sees a
 * consistent stack and settles both, which are then claimed once each. */
TEST(overlap_repaired)
{
	struct ct_feed *f = feed_new(1000);
	const struct sp s[] = {{1, 0, T0, T0 + 10 * MS, 100},
			       {2, 0, T0 + 2 * MS, T0 + 12 * MS, 100}};
	struct ct_an_config cfg = {.keep_spans = 1};
	struct evlog l = {0};
	struct ct_feed_stats st;
	struct ct_result_stats rs;

	CHECK_INT(ct_partial_new(&l.p, &cfg, 0, 1), 0);
	CHECK_INT(add(f, s, 2), 0);
	ct_feed_take_events(f, T0 + 20 * MS, log_ev, &l);
	CHECK_STR(l.text, "S1 +1 S2 +2 -2 -1 +2 E1 -2 E2");
	ct_feed_stats(f, &st);
	CHECK_U64(st.scope_repairs, 1);
	CHECK_U64(st.analysed_until, T0 + 20 * MS);
	ct_partial_advance(l.p, T0 + 200 * MS);
	ct_result_stats(l.p, &rs);
	CHECK_U64(rs.anomalies, 0);
	claim_feed = f;
	n_claimed = 0;
	CHECK_INT(ct_partial_take_spans(l.p, claim_cb, NULL), 2);
	CHECK_INT(n_claimed, 2);
	/* Claimed once only; a wrong pid claims nothing. */
	CHECK(ct_feed_claim(f, 0x1111111111111111ull, 0x0101010101010101ull, 100) == NULL);
	ct_feed_release(f, claimed, n_claimed);
	ct_feed_stats(f, &st);
	CHECK_U64(st.spans_held, 0);
	CHECK_U64(st.bytes_held, 0);
	CHECK_U64(st.by_reason[CT_FEED_ANNOTATED], 2);
	ct_partial_free(l.p);
	ct_feed_free(f);
}

static unsigned ready(struct ct_feed *f, uint64_t expire, unsigned reason)
{
	struct ct_feed_span *out[64];
	size_t n = ct_feed_take_ready(f, expire, out, 64);
	unsigned hits = 0;

	for (size_t i = 0; i < n; i++)
		hits += out[i]->reason == reason;
	ct_feed_release(f, out, n);
	return n == hits ? (unsigned)n : 1000 + (unsigned)n;
}

TEST(reasons)
{
	struct ct_feed *f = feed_new(1000);
	struct evlog l = {0};
	const struct sp early = {5, 0, T0, T0 + MS, 100},
			nopid = {6, 0, T0 + 50 * MS, T0 + 51 * MS, 0};
	const struct sp ok = {7, 0, T0 + 50 * MS, T0 + 60 * MS, 100};
	struct ct_nbatch *b;

	/* Time up to T0 + 20 ms has been analysed: a span starting before is late. */
	ct_feed_take_events(f, T0 + 20 * MS, log_ev, &l);
	CHECK_INT(add(f, &early, 1), 0);
	CHECK_INT(ready(f, 0, CT_FEED_LATE), 1);
	CHECK_INT(add(f, &nopid, 1), 0);
	CHECK_INT(ready(f, 0, CT_FEED_NO_PID), 1);
	/* Annotated by another agent upstream: passed on as it is. */
	b = batch(&ok, 1);
	ct_nattrs_add_str(b, &b->spans[0].attrs, "crosstrace.annotation", "kernel");
	CHECK_INT(ct_feed_reserve(f, b), 0);
	CHECK_INT(ct_feed_add(f, b, &clk0), 0);
	CHECK_INT(ready(f, 0, CT_FEED_UPSTREAM), 1);
	/* The same id twice (a client's retry): the second goes out unannotated. */
	CHECK_INT(add(f, &ok, 1), 0);
	CHECK_INT(add(f, &ok, 1), 0);
	CHECK_INT(ready(f, 0, CT_FEED_DUPLICATE), 1);
	/* Fed, never settled: handed back once its end is well behind the analysis. */
	ct_feed_take_events(f, T0 + 100 * MS, log_ev, &l);
	CHECK_INT(ready(f, T0 + 60 * MS, CT_FEED_UNSETTLED), 0);
	CHECK_INT(ready(f, T0 + 61 * MS, CT_FEED_UNSETTLED), 1);
	/* Times far ahead of this host's clock. */
	{
		struct sp fut = {8, 0, 0, 0, 100};
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		fut.start = (uint64_t)ts.tv_sec * 1000000000ull + 120000000000ull;
		fut.end = fut.start + MS;
		CHECK_INT(add(f, &fut, 1), 0);
		CHECK_INT(ready(f, 0, CT_FEED_FUTURE), 1);
	}
	/* Waiting at shutdown. */
	{
		const struct sp later = {9, 0, T0 + 200 * MS, T0 + 300 * MS, 100};

		CHECK_INT(add(f, &later, 1), 0);
		CHECK_INT(ready(f, UINT64_MAX, CT_FEED_SHUTDOWN), 1);
	}
	{
		struct ct_feed_stats st;

		ct_feed_stats(f, &st);
		CHECK_U64(st.spans_held, 0);
		CHECK_U64(st.spans_in, 7);
	}
	ct_feed_free(f);
}

TEST(limits)
{
	struct ct_feed *f = feed_new(3);
	const struct sp s[] = {{1, 0, T0, T0 + MS, 100},
			       {2, 0, T0, T0 + MS, 100},
			       {3, 0, T0, T0 + MS, 100},
			       {4, 0, T0, T0 + MS, 100}};
	struct ct_feed_stats st;

	/* Nothing asked yet: room. */
	CHECK_INT(ct_feed_admit(f), 0);
	/* A whole batch is refused, never a part of it. */
	CHECK_INT(add(f, s, 4), CT_EFULL);
	/* A batch of 4 would still be refused; decoding one is not worth it. */
	CHECK_INT(ct_feed_admit(f), CT_EFULL);
	CHECK_INT(add(f, s, 3), 0);
	CHECK_INT(add(f, s + 3, 1), CT_EFULL);
	CHECK_INT(ct_feed_admit(f), CT_EFULL);
	ct_feed_stats(f, &st);
	CHECK_U64(st.refused, 5);
	CHECK_U64(st.spans_held, 3);
	CHECK(st.bytes_held > 0);
	CHECK_INT(ready(f, UINT64_MAX, CT_FEED_SHUTDOWN), 3);
	ct_feed_stats(f, &st);
	CHECK_U64(st.spans_held, 0);
	CHECK_U64(st.bytes_held, 0);
	/* Released: a batch like the last (1 span) fits again. */
	CHECK_INT(ct_feed_admit(f), 0);
	ct_feed_free(f);
}

/* Freed with spans still waiting and events half taken: nothing leaks (ASan). */
TEST(free_while_waiting)
{
	struct ct_feed *f = feed_new(100);
	const struct sp s[] = {{1, 0, T0, T0 + 50 * MS, 100}, {2, 1, T0 + MS, T0 + 2 * MS, 100}};
	struct evlog l = {0};

	CHECK_INT(add(f, s, 2), 0);
	ct_feed_take_events(f, T0 + 10 * MS, log_ev, &l);
	CHECK_STR(l.text, "S1 +1 S2 +2 -2 E2");
	ct_feed_free(f);
}

/* A take in steps: the due records, their events one by one, and what an early end leaves. */
TEST(take_in_steps)
{
	struct ct_feed *f = feed_new(100);
	const struct sp s[] = {{1, 0, T0, T0 + 50 * MS, 100}, {2, 1, T0 + MS, T0 + 2 * MS, 100}};
	const struct ct_event *ev;

	CHECK_INT(add(f, s, 2), 0);
	/* Both starts and the child's end are due; the parent's end is not. */
	CHECK_U64(ct_feed_take_begin(f, T0 + 10 * MS), 3);
	ev = ct_feed_take_next(f);
	CHECK_INT(ev ? ev->type : -1, CT_EV_SPAN_START);
	CHECK_U64(ev ? ev->u.span_start.span_id : 0, 0x0101010101010101ull);
	ev = ct_feed_take_next(f);
	CHECK_INT(ev ? ev->type : -1, CT_EV_SCOPE_ENTER);
	/* Ended early: the other four events (S2 +2 -2 E2) never reached an analysis. */
	CHECK_U64(ct_feed_take_end(f), 4);
	/* The parent's end is taken later. */
	CHECK_U64(ct_feed_take_begin(f, T0 + 100 * MS), 1);
	ev = ct_feed_take_next(f);
	CHECK_INT(ev ? ev->type : -1, CT_EV_SCOPE_EXIT);
	ev = ct_feed_take_next(f);
	CHECK_INT(ev ? ev->type : -1, CT_EV_SPAN_END);
	CHECK(!ct_feed_take_next(f));
	CHECK_U64(ct_feed_take_end(f), 0);
	ct_feed_free(f);
}

/* A span's thread: thread.id as an int or a decimal string; keys alike in their first bytes
 * (thread.name) do not count. */
TEST(thread_ids)
{
	struct ct_feed *f = feed_new(100);
	const struct sp s[] = {{1, 0, T0, T0 + MS, 100},
			       {2, 0, T0 + 2 * MS, T0 + 3 * MS, 100},
			       {3, 0, T0 + 4 * MS, T0 + 5 * MS, 100}};
	struct ct_nbatch *b = batch(s, 3);
	const struct ct_event *ev;
	int32_t tid[3] = {-1, -1, -1};

	ct_nattrs_add_str(b, &b->spans[0].attrs, "thread.name", "main");
	ct_nattrs_add_int(b, &b->spans[0].attrs, "thread.id", 42);
	ct_nattrs_add_str(b, &b->spans[1].attrs, "thread.id", "43");
	ct_nattrs_add_str(b, &b->spans[2].attrs, "thread.name", "worker");
	CHECK_INT(ct_feed_reserve(f, b), 0);
	CHECK_INT(ct_feed_add(f, b, &clk0), 0);
	ct_feed_take_begin(f, T0 + 10 * MS);
	while ((ev = ct_feed_take_next(f)))
		if (ev->type == CT_EV_SPAN_START)
			tid[(ev->u.span_start.span_id & 0xff) - 1] = ev->tid;
	ct_feed_take_end(f);
	CHECK_INT(tid[0], 42);
	CHECK_INT(tid[1], 43);
	CHECK_INT(tid[2], 0);
	ct_feed_free(f);
}

/* A record of the documented order (feed.c): time, then ends before starts before ends of
 * zero-length spans, then the tie-break of each, then arrival. */
struct orec {
	uint64_t ts, tb, seq;
	int cls;
	uint64_t id;
};

static int orec_cmp(const void *a, const void *b)
{
	const struct orec *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	if (x->tb != y->tb)
		return x->tb < y->tb ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Many spans in one take, with times over a range that needs several passes of the feed's
 * radix sort and many equal times (ties decided by class, tie-break and arrival): the span
 * starts and ends come out in the documented order (qsort of it as the oracle).
 */
TEST(order_random)
{
	enum { NB = 30, PER = 100, N = NB * PER };
	struct ct_feed *f = feed_new(N);
	static struct orec want[2 * N];
	static uint64_t got[2 * N];
	const struct ct_event *ev;
	uint64_t r = 0x9e3779b97f4a7c15ull;
	size_t n = 0, k = 0;

	for (int bi = 0; bi < NB; bi++) {
		struct ct_nbatch *b;
		struct ct_nresource *res;

		ct_nbatch_new(&b, "otlp");
		res = ct_nbatch_add_resource(b);
		ct_nattrs_add_int(b, &res->attrs, "process.pid", 100 + bi % 3);
		ct_nresource_derive(res);
		ct_nbatch_add_scope(b);
		for (int i = 0; i < PER; i++) {
			struct ct_nspan *x = ct_nbatch_add_span(b, 0, 0);
			uint64_t id = (uint64_t)(bi * PER + i + 1), start, end;

			r ^= r << 13, r ^= r >> 7, r ^= r << 17;
			/* Half on a coarse grid (equal times), half anywhere in 100 ms. */
			start = T0 + (r & 1 ? (r >> 8) % 64 * 1000 : (r >> 8) % (100 * MS));
			end = start + (r >> 40) % 4 * 1000;
			memset(x->trace_id, 0x11, 16);
			for (int j = 0; j < 8; j++)
				x->span_id[j] = (uint8_t)(id >> (56 - 8 * j));
			x->name = "op";
			x->start_ns = start;
			x->end_ns = end;
			want[n++] = (struct orec){start, UINT64_MAX - end, 2 * (id - 1), 1, id};
			want[n++] = (struct orec){end, UINT64_MAX - start, 2 * (id - 1) + 1,
						  end == start ? 2 : 0, id | 1ull << 63};
		}
		CHECK_INT(ct_feed_reserve(f, b), 0);
		CHECK_INT(ct_feed_add(f, b, &clk0), 0);
	}
	qsort(want, n, sizeof(want[0]), orec_cmp);
	CHECK_U64(ct_feed_take_begin(f, T0 + 200 * MS), 2 * N);
	while ((ev = ct_feed_take_next(f)) && k < 2 * N)
		if (ev->type == CT_EV_SPAN_START)
			got[k++] = ev->u.span_start.span_id;
		else if (ev->type == CT_EV_SPAN_END)
			got[k++] = ev->u.span_end.span_id | 1ull << 63;
	ct_feed_take_end(f);
	CHECK_U64(k, 2 * N);
	for (size_t i = 0; i < k; i++)
		if (got[i] != want[i].id) {
			CHECK_U64(got[i], want[i].id);
			break;
		}
	ct_feed_free(f);
}

/* A batch of n spans with ids first..first+n-1 (8 bytes, big-endian), 1 ms apart. */
static struct ct_nbatch *id_batch(uint64_t first, int n)
{
	struct ct_nbatch *b;
	struct ct_nresource *r;

	ct_nbatch_new(&b, "otlp");
	r = ct_nbatch_add_resource(b);
	ct_nattrs_add_int(b, &r->attrs, "process.pid", 100);
	ct_nresource_derive(r);
	ct_nbatch_add_scope(b);
	for (int i = 0; i < n; i++) {
		struct ct_nspan *x = ct_nbatch_add_span(b, 0, 0);
		uint64_t id = first + (uint64_t)i;

		memset(x->trace_id, 0x11, 16);
		for (int j = 0; j < 8; j++)
			x->span_id[j] = (uint8_t)(id >> (56 - 8 * j));
		x->name = "op";
		x->start_ns = T0 + (uint64_t)i * MS;
		x->end_ns = x->start_ns + MS / 2;
	}
	return b;
}

/* More spans waiting than the hash's first size holds at half load: it grows, and every
 * span is still found (duplicates refused, each claimed once, none left). */
TEST(hash_grows)
{
	enum { N = 50000, PER = 1000 };
	struct ct_feed *f = feed_new(N + PER);
	struct ct_feed_span *sp;
	struct ct_nbatch *b;
	unsigned got = 0, dup = 0, k;

	for (uint64_t first = 1; first <= N; first += PER) {
		b = id_batch(first, PER);
		CHECK_INT(ct_feed_reserve(f, b), 0);
		CHECK_INT(ct_feed_add(f, b, &clk0), 0);
	}
	b = id_batch(N - PER + 1, PER); /* the last batch again: every span a duplicate */
	CHECK_INT(ct_feed_reserve(f, b), 0);
	CHECK_INT(ct_feed_add(f, b, &clk0), 0);
	while ((k = ready(f, 0, CT_FEED_DUPLICATE)) > 0 && k < 1000)
		dup += k;
	CHECK_INT(k, 0);
	CHECK_INT(dup, PER);
	ct_feed_take_begin(f, T0 + (N + 1) * MS);
	while (ct_feed_take_next(f))
		;
	CHECK_U64(ct_feed_take_end(f), 0);
	for (uint64_t id = 1; id <= N; id++) {
		sp = ct_feed_claim(f, 0x1111111111111111ull, id, 100);
		if (sp) {
			got++;
			ct_feed_release(f, &sp, 1);
		}
	}
	CHECK_INT(got, N);
	CHECK(!ct_feed_claim(f, 0x1111111111111111ull, 1, 100));
	CHECK_INT(ready(f, UINT64_MAX, CT_FEED_SHUTDOWN), 0);
	ct_feed_free(f);
}

/* Batches are kept packed while they wait: the copy must hold everything the original did. */
TEST(compaction_keeps_everything)
{
	const struct sp s0 = {1, 0, T0, T0 + MS, 100};
	struct ct_nbatch *b = batch(&s0, 1), *c = NULL;
	struct ct_nspan *x = &b->spans[0];
	struct ct_nevent *e;
	struct ct_nlink *l;
	struct ct_buf d1, d2;

	x->trace_state = "k=v";
	x->status = CT_NSTATUS_ERROR;
	x->status_message = "boom";
	ct_nattrs_add_str(b, &x->attrs, "s", "text");
	ct_nattrs_add_int(b, &x->attrs, "i", -7);
	ct_nattrs_add_double(b, &x->attrs, "d", 2.5);
	ct_nattrs_add_bool(b, &x->attrs, "b", 1);
	ct_nval_set_bytes(b, ct_nattrs_add(b, &x->attrs, "bytes", 5), CT_NVAL_BYTES, "\0\1\2", 3);
	ct_nval_set_bytes(b, ct_nattrs_add(b, &x->attrs, "arr", 3), CT_NVAL_ARRAY, "[1,\"a\"]", 7);
	ct_nval_set_bytes(b, ct_nattrs_add(b, &x->attrs, "map", 3), CT_NVAL_KVLIST, "{\"k\":1}", 7);
	e = ct_nspan_add_event(b, x);
	e->name = "ev";
	e->time_ns = T0 + 10;
	ct_nattrs_add_str(b, &e->attrs, "ek", "ev-value");
	l = ct_nspan_add_link(b, x);
	memset(l->trace_id, 0x22, 16);
	memset(l->span_id, 0x33, 8);
	l->trace_state = "lk=lv";
	ct_nattrs_add_int(b, &l->attrs, "lk", 9);
	b->peer_port = 1234;
	CHECK_INT(ct_nbatch_compact(b, &c), 0);
	ct_buf_init(&d1);
	ct_buf_init(&d2);
	ct_span_dump_json(&d1, b, &b->spans[0]);
	ct_span_dump_json(&d2, c, &c->spans[0]);
	CHECK_STR(d1.data, d2.data);
	CHECK_INT(c->resources[0].pid, 100);
	CHECK_STR(c->resources[0].service, "feed-test");
	CHECK_INT(c->peer_port, 1234);
	/* Packed into one region, smaller than the original arena (blocks of 16 KiB). */
	CHECK(c->arena.total < b->arena.total);
	ct_buf_fini(&d1);
	ct_buf_fini(&d2);
	ct_nbatch_free(b);
	ct_nbatch_free(c);
}

int main(void)
{
	RUN(compaction_keeps_everything);
	RUN(nesting_order);
	RUN(overlap_repaired);
	RUN(reasons);
	RUN(limits);
	RUN(free_while_waiting);
	RUN(take_in_steps);
	RUN(thread_ids);
	RUN(order_random);
	RUN(hash_grows);
	return test_main_end();
}
