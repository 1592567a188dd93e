// SPDX-License-Identifier: MIT
/*
 * The thread context record across threads (also run under ThreadSanitizer, label tsan):
 *  - hop: a span started on one thread and entered on others is published on each thread
 *    that enters it, only there, and each thread's exit clears only its own record;
 *  - lazy ids: an unsampled span whose ids do not exist yet is entered by several threads at
 *    the same moment; every thread publishes the same ids, the ones ct_span_context_of gives
 *    afterwards, and no two spans share a span id.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "crosstrace/crosstrace.h"
#include "test.h"
#include "test_threadctx.h"

extern __thread void *otel_thread_ctx_v1;

#define HOP_THREADS 3
#define LAZY_ROUNDS 2000

static pthread_barrier_t bar;
static struct ct_span shared;
static struct ct_span_context remote; /* an unsampled remote parent */
static struct tc_rec seen[HOP_THREADS]; /* each thread's record, copied at a barrier */
static _Atomic int failures; /* failed checks on the helper threads */

static int rec_is(const struct tc_rec *r, const struct ct_span_context *want)
{
	static const uint8_t zero[24];

	if ((r->seq & 1) || r->attrs_size)
		return 0;
	if (!want)
		return !r->valid && !r->flags && !memcmp(r->trace_id, zero, 16) &&
		       !memcmp(r->span_id, zero, 8);
	return r->valid == 1 && r->flags == (want->trace_flags & 1) &&
	       !memcmp(r->trace_id, want->trace_id, 16) && !memcmp(r->span_id, want->span_id, 8);
}

static void copy_own(int i)
{
	memcpy(&seen[i], otel_thread_ctx_v1, sizeof(seen[i]));
}

/* ---- hop ---- */

static void *hop_thread(void *arg)
{
	int i = (int)(intptr_t)arg;

	ct_scope_enter(&shared); /* first call of this thread: its record exists from here */
	copy_own(i);
	pthread_barrier_wait(&bar); /* 1: every thread is inside */
	pthread_barrier_wait(&bar); /* 2: the main thread checked */
	if (i == 0)
		ct_scope_exit(); /* only thread 0 leaves */
	pthread_barrier_wait(&bar); /* 3 */
	copy_own(i);
	pthread_barrier_wait(&bar); /* 4 */
	pthread_barrier_wait(&bar); /* 5: checked */
	if (i != 0)
		ct_scope_exit();
	copy_own(i);
	pthread_barrier_wait(&bar); /* 6 */
	return NULL;
}

TEST(hop)
{
	struct ct_config cfg = {.sampler = CT_SAMPLER_PARENTBASED_ALWAYS_ON};
	pthread_t th[HOP_THREADS];
	const struct tc_rec *mine;

	CHECK_INT(ct_init(&cfg), 0);
	CHECK_INT(ct_span_start(&shared, "shared", NULL), 0); /* started here, never entered here */
	mine = otel_thread_ctx_v1;
	CHECK(mine != NULL);
	pthread_barrier_init(&bar, NULL, HOP_THREADS + 1);
	for (int i = 0; i < HOP_THREADS; i++)
		pthread_create(&th[i], NULL, hop_thread, (void *)(intptr_t)i);
	pthread_barrier_wait(&bar); /* 1 */
	for (int i = 0; i < HOP_THREADS; i++)
		CHECK(rec_is(&seen[i], ct_span_context_of(&shared)));
	CHECK(mine && rec_is(mine, NULL)); /* the starting thread never entered it */
	pthread_barrier_wait(&bar); /* 2 */
	pthread_barrier_wait(&bar); /* 3: thread 0 left */
	pthread_barrier_wait(&bar); /* 4 */
	CHECK(rec_is(&seen[0], NULL));
	for (int i = 1; i < HOP_THREADS; i++)
		CHECK(rec_is(&seen[i], ct_span_context_of(&shared)));
	pthread_barrier_wait(&bar); /* 5 */
	pthread_barrier_wait(&bar); /* 6: all left */
	for (int i = 0; i < HOP_THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK(rec_is(&seen[i], NULL));
	}
	pthread_barrier_destroy(&bar);
	ct_span_end(&shared);
	CHECK_INT(ct_shutdown(), 0);
}

/* ---- lazy ids ---- */

static void *lazy_thread(void *arg)
{
	int i = (int)(intptr_t)arg;

	for (int round = 0; round < LAZY_ROUNDS; round++) {
		pthread_barrier_wait(&bar); /* a fresh unsampled span is in `shared` */
		ct_scope_enter(&shared);
		copy_own(i);
		ct_scope_exit();
		if (!rec_is(otel_thread_ctx_v1, NULL))
			atomic_fetch_add(&failures, 1);
		pthread_barrier_wait(&bar); /* checked by the main thread after this */
	}
	return NULL;
}

TEST(lazy_ids)
{
	struct ct_config cfg = {.sampler = CT_SAMPLER_PARENTBASED_ALWAYS_ON};
	struct ct_span_opts o = {.parent = &remote};
	pthread_t th[HOP_THREADS];
	uint8_t last[8] = {0};
	int same = 0, differ = 0;

	CHECK_INT(ct_init(&cfg), 0);
	pthread_barrier_init(&bar, NULL, HOP_THREADS + 1);
	for (int i = 0; i < HOP_THREADS; i++)
		pthread_create(&th[i], NULL, lazy_thread, (void *)(intptr_t)i);
	for (int round = 0; round < LAZY_ROUNDS; round++) {
		const struct ct_span_context *c;

		CHECK_INT(ct_span_start(&shared, "lazy", &o), CT_ENOTSAMPLED);
		pthread_barrier_wait(&bar); /* the threads enter it at once */
		pthread_barrier_wait(&bar);
		c = ct_span_context_of(&shared);
		for (int i = 0; i < HOP_THREADS; i++) {
			if (rec_is(&seen[i], c))
				same++;
			else
				differ++;
		}
		CHECK(ct_span_context_is_valid(c));
		CHECK(!memcmp(c->trace_id, remote.trace_id, 16));
		CHECK(memcmp(c->span_id, last, 8)); /* a new span gets a new id */
		memcpy(last, c->span_id, 8);
		ct_span_end(&shared);
	}
	for (int i = 0; i < HOP_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	CHECK_INT(differ, 0);
	CHECK_INT(same, LAZY_ROUNDS * HOP_THREADS);
	CHECK_INT(atomic_load(&failures), 0);
	CHECK_INT(ct_shutdown(), 0);
	printf("lazy ids: %d rounds of %d threads entering a span with no ids yet: %d agree, %d "
	       "differ\n",
	       LAZY_ROUNDS, HOP_THREADS, same, differ);
}

int main(void)
{
	const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

	if (ct_traceparent_parse(tp, strlen(tp), &remote))
		return 1;
	RUN(hop);
	RUN(lazy_ids);
	return test_main_end();
}
