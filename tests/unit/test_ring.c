// SPDX-License-Identifier: MIT
/*
 * The per-thread ring under concurrency (also run under ThreadSanitizer, label tsan):
 *  - ring_spsc: one producer, one consumer, variable-size records across many wrap-arounds;
 *    the consumer sees every record once, in order, intact (sequence numbers + contents).
 *  - ring_drops: a producer that never waits; every record is either consumed or counted.
 *  - tracer_stress: 8 threads x N spans through the whole tracer into a trace directory with
 *    a small ring; read back, every record is delivered or counted dropped, no span id twice,
 *    and each delivered span id is one its thread generated.
 * N is 1e6 in every build: about 8 s here normally, under a minute under ThreadSanitizer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_trace.h"
#include "crosstrace/crosstrace.h"
#include "lib/ring.h"
#include "test.h"

#define STRESS_SPANS 1000000
#define SPSC_RECORDS 2000000
#define STRESS_THREADS 8

/* ---- ring_spsc ---- */

struct spsc {
	struct ct__ring *r;
	uint64_t n;
	int drop; /* 1: producer drops when full instead of retrying */
	uint64_t dropped;
	_Atomic int done;
	/* consumer */
	uint64_t next_seq, got, bad, gaps;
};

/* Record payload: u64 seq, then (seq % 97) bytes each equal to (uint8_t)seq. */
static size_t rec_len(uint64_t seq)
{
	return 16 + 8 + (size_t)(seq % 97);
}

static void *producer(void *arg)
{
	struct spsc *s = arg;

	for (uint64_t seq = 0; seq < s->n; seq++) {
		size_t len = rec_len(seq);
		uint8_t *p;

		while (!(p = ct__ring_reserve(s->r, len))) {
			if (s->drop) {
				s->dropped++;
				break;
			}
		}
		if (!p)
			continue;
		{
			uint16_t id = 1, sz = (uint16_t)(len - 16);

			memcpy(p, &id, 2);
			memcpy(p + 2, &sz, 2);
			memset(p + 4, 0, 12);
			memcpy(p + 16, &seq, 8);
			memset(p + 24, (int)(uint8_t)seq, len - 24);
		}
		ct__ring_commit(s->r);
	}
	atomic_store(&s->done, 1);
	return NULL;
}

static int check_rec(void *arg, const uint8_t *rec, size_t len)
{
	struct spsc *s = arg;
	uint64_t seq;

	memcpy(&seq, rec + 16, 8);
	if (seq < s->next_seq || len != rec_len(seq)) {
		s->bad++;
	} else {
		if (seq != s->next_seq)
			s->gaps += seq - s->next_seq;
		for (size_t i = 24; i < len; i++)
			if (rec[i] != (uint8_t)seq) {
				s->bad++;
				break;
			}
	}
	s->next_seq = seq + 1;
	s->got++;
	return 0;
}

static void run_spsc(struct spsc *s)
{
	pthread_t th;

	pthread_create(&th, NULL, producer, s);
	for (;;) {
		int done = atomic_load(&s->done);

		ct__ring_consume(s->r, check_rec, s);
		if (done && ct__ring_used(s->r) == 0)
			break;
	}
	pthread_join(th, NULL);
}

TEST(ring_spsc)
{
	struct spsc s = {.n = SPSC_RECORDS};

	CHECK_INT(ct__ring_new(&s.r, 8192), 0);
	run_spsc(&s);
	CHECK_U64(s.got, s.n);
	CHECK_U64(s.bad, 0);
	CHECK_U64(s.gaps, 0);
	CHECK_U64(s.next_seq, s.n);
	ct__ring_free(s.r);
}

TEST(ring_drops)
{
	struct spsc s = {.n = SPSC_RECORDS, .drop = 1};

	CHECK_INT(ct__ring_new(&s.r, 4096), 0);
	run_spsc(&s);
	CHECK_U64(s.bad, 0);
	/* what was not consumed was dropped by the producer, and nothing else */
	CHECK_U64(s.got + s.dropped, s.n);
	CHECK_U64(s.gaps, s.dropped - (s.n - s.next_seq));
	ct__ring_free(s.r);
}

TEST(ring_reject_oversize)
{
	struct ct__ring *r;

	CHECK_INT(ct__ring_new(&r, 4096), 0);
	CHECK(ct__ring_reserve(r, 8192) == NULL);
	CHECK(ct__ring_reserve(r, 4096) != NULL); /* exactly the ring, when empty */
	ct__ring_free(r);
}

/* ---- tracer_stress ---- */

struct stress_thread {
	pthread_t th;
	int32_t tid;
	uint64_t *ids; /* span ids this thread generated, in order */
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t be64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static void *stress_main(void *arg)
{
	struct stress_thread *st = arg;

	st->tid = (int32_t)gettid();
	for (uint64_t i = 0; i < STRESS_SPANS; i++) {
		struct ct_span s;

		ct_span_start(&s, "s", NULL);
		ct_span_end(&s);
		st->ids[i] = be64(s.ctx.span_id);
	}
	return NULL;
}

TEST(tracer_stress)
{
	struct stress_thread th[STRESS_THREADS];
	struct ct_config cfg = {0};
	struct ct_stats st0, st;
	char dir[256];
	struct tevs e;
	uint64_t starts = 0, ends = 0, lost = 0, dup = 0, foreign = 0, unmatched = 0;

	snprintf(dir, sizeof(dir), "/tmp/ct-test-ring-%d", (int)getpid());
	cfg.output = dir;
	cfg.sampler = CT_SAMPLER_ALWAYS_ON;
	cfg.ring_bytes = 1 << 20; /* the default; 8 threads on 2 CPUs still overrun it */
	cfg.flush_ms = 2;
	ct_stats_get(&st0);
	CHECK_INT(ct_init(&cfg), 0);
	for (int i = 0; i < STRESS_THREADS; i++) {
		th[i].ids = malloc(STRESS_SPANS * sizeof(uint64_t));
		pthread_create(&th[i].th, NULL, stress_main, &th[i]);
	}
	for (int i = 0; i < STRESS_THREADS; i++)
		pthread_join(th[i].th, NULL);
	CHECK_INT(ct_shutdown(), 0);
	ct_stats_get(&st);
	printf("stress: %d threads x %d spans: %llu records, %llu dropped\n", STRESS_THREADS,
	       STRESS_SPANS, (unsigned long long)(st.records - st0.records),
	       (unsigned long long)(st.dropped - st0.dropped));

	CHECK_INT(tevs_load(dir, &e), 0);
	CHECK_U64(e.errors, 0);
	for (int i = 0; i < STRESS_THREADS; i++)
		qsort(th[i].ids, STRESS_SPANS, sizeof(uint64_t), cmp_u64);
	{
		/* span ids seen: starts and ends separately, then sorted for duplicates */
		uint64_t *sid = malloc(e.n * sizeof(uint64_t)),
			 *eid = malloc(e.n * sizeof(uint64_t));
		size_t ns = 0, ne = 0;

		for (size_t i = 0; i < e.n; i++) {
			const struct ct_event *v = &e.v[i];
			uint64_t id = 0;
			struct stress_thread *owner = NULL;

			if (v->type == CT_EV_CLIENT_LOST) {
				lost += v->u.client_lost.records;
				continue;
			}
			if (v->type == CT_EV_SPAN_START) {
				id = sid[ns++] = v->u.span_start.span_id;
				starts++;
			} else if (v->type == CT_EV_SPAN_END) {
				id = eid[ne++] = v->u.span_end.span_id;
				ends++;
			} else {
				continue;
			}
			for (int t = 0; t < STRESS_THREADS; t++)
				if (th[t].tid == v->tid)
					owner = &th[t];
			if (!owner ||
			    !bsearch(&id, owner->ids, STRESS_SPANS, sizeof(uint64_t), cmp_u64))
				foreign++;
		}
		qsort(sid, ns, sizeof(uint64_t), cmp_u64);
		qsort(eid, ne, sizeof(uint64_t), cmp_u64);
		for (size_t i = 1; i < ns; i++)
			dup += sid[i] == sid[i - 1];
		for (size_t i = 1; i < ne; i++)
			dup += eid[i] == eid[i - 1];
		/* an end without its start can only be a dropped start */
		for (size_t i = 0; i < ne; i++)
			unmatched += !bsearch(&eid[i], sid, ns, sizeof(uint64_t), cmp_u64);
		free(sid);
		free(eid);
	}
	CHECK_U64(dup, 0);
	CHECK_U64(foreign, 0);
	/* none lost silently: delivered + counted dropped = everything the threads wrote */
	CHECK_U64(starts + ends + (st.dropped - st0.dropped), 2ull * STRESS_THREADS * STRESS_SPANS);
	CHECK_U64(lost, st.dropped - st0.dropped);
	CHECK_U64(e.lost_client, st.dropped - st0.dropped);
	CHECK_U64(e.discarded, st.dropped - st0.dropped);
	CHECK(unmatched <= st.dropped - st0.dropped);
	tevs_free(&e);
	for (int i = 0; i < STRESS_THREADS; i++)
		free(th[i].ids);
	if (!t_failed_checks) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", dir);
	}
}

int main(void)
{
	RUN(ring_spsc);
	RUN(ring_drops);
	RUN(ring_reject_oversize);
	RUN(tracer_stress);
	return test_main_end();
}
