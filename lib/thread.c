// SPDX-License-Identifier: MIT
/*
 * Per-thread state: created on a thread's first call into the library (the one allocation
 * and lock a thread ever pays), its ring created on its first record of a tracer generation,
 * and marked dead by a pthread key destructor when the thread exits so that the drain thread
 * empties the ring and then frees it.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

#include "sink.h"
#include "tracer.h"

__thread struct ct__thread *ct__self __attribute__((tls_model("initial-exec")));

static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

void ct__rng_seed(struct ct__thread *t)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
		/* No entropy yet (early boot): unique enough per thread and process. */
		seed = ct_now_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)t;
	}
	t->rng = seed;
}

void ct__thread_free(struct ct__thread *t)
{
	ct__g.freed_records += atomic_load(&t->records);
	ct__g.freed_dropped += atomic_load(&t->dropped);
	ct__g.freed_dropped_bytes += atomic_load(&t->dropped_bytes);
	ct__g.freed_truncated += atomic_load(&t->truncated);
	ct__g.freed_started += atomic_load(&t->spans_started);
	ct__g.freed_unsampled += atomic_load(&t->spans_unsampled);
	ct__g.freed_overflow += atomic_load(&t->scope_overflow);
	ct__ring_free(t->ring);
	free(t);
}

/* Unlinks t from the registry (lock held). */
static void unlink_thread(struct ct__thread *t)
{
	for (struct ct__thread **pp = &ct__g.threads; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			return;
		}
	}
}

static void on_thread_exit(void *arg)
{
	struct ct__thread *t = arg;

	ct__self = NULL;
	/* Whatever scopes the thread left open, its last moments are in no span. */
	ct__tctx_clear();
	pthread_mutex_lock(&ct__g.lock);
	if (ct__g.drain_running && t->ring && t->ring_gen == ct__gen()) {
		/*
		 * Synchronizes with the acquire load of dead in the drain cycle: every record
		 * this thread committed is visible to the drain thread once it sees dead.
		 */
		atomic_store_explicit(&t->dead, 1, memory_order_release);
	} else {
		/* Nobody will drain it: nothing recorded can be pending. */
		unlink_thread(t);
		ct__thread_free(t);
	}
	pthread_mutex_unlock(&ct__g.lock);
}

static void make_key(void)
{
	pthread_key_create(&exit_key, on_thread_exit);
}

struct ct__thread *ct__thread_init(void)
{
	struct ct__thread *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	pthread_once(&key_once, make_key);
	ct__tracer_once();
	t->tid = (int32_t)gettid();
	ct__rng_seed(t);
	pthread_mutex_lock(&ct__g.lock);
	t->next = ct__g.threads;
	ct__g.threads = t;
	ct__g.threads_created++;
	pthread_mutex_unlock(&ct__g.lock);
	pthread_setspecific(exit_key, t);
	ct__tctx_attach();
	ct__self = t;
	return t;
}

struct ct__ring *ct__ring_init(struct ct__thread *t)
{
	struct ct__ring *old = NULL, *r = NULL;

	if (!ct__recording())
		return NULL;
	pthread_mutex_lock(&ct__g.lock);
	if (atomic_load(&ct__g.state) == CT__FORKED && ct__sink_start_child() == 0)
		atomic_store(&ct__g.state, CT__RUNNING);
	if (atomic_load(&ct__g.state) == CT__RUNNING && ct__recording() &&
	    ct__ring_new(&r, ct__g.ring_bytes) == 0) {
		/* A ring of an earlier generation was drained by its ct_shutdown; records
		 * racing with that shutdown are the only ones it can still hold. */
		old = t->ring;
		t->ring = r;
		t->ring_gen = ct__gen();
		t->lost_reported = atomic_load_explicit(&t->dropped, memory_order_relaxed);
		t->lost_bytes_reported =
			atomic_load_explicit(&t->dropped_bytes, memory_order_relaxed);
		t->lost_seen = t->lost_reported;
		t->lost_bytes_seen = t->lost_bytes_reported;
		t->sink_stream = NULL;
		t->last_ts = 0;
	}
	pthread_mutex_unlock(&ct__g.lock);
	ct__ring_free(old);
	return r;
}
