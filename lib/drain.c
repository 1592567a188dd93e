// SPDX-License-Identifier: MIT
/*
 * The drain thread: every flush period (or when ct_flush asks) it empties every thread's ring
 * into the sink, reports drops no CLIENT_LOST record carried, frees the states of exited
 * threads once their rings are empty, and lets the sink do its housekeeping (rotation,
 * sending). Application threads never wait for it; ct_flush and ct_shutdown do.
 * The period adapts to the busiest ring: a thread recording fast fills its ring within one
 * flush period (1 MiB in 20 ms is 50 MB/s, about a million records per second), so a
 * cycle that finds a ring more than a quarter full halves the next wait (more than half full:
 * straight to the 1 ms minimum), and the wait grows back to the flush period once rings are
 * found under a sixteenth full. The application threads still never wake the drain thread.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "sink.h"
#include "tracer.h"
#include "util/clock.h"

#define MIN_WAIT_NS 1000000ull

/* The fullest ring the last cycles found, in bytes (any thread may run a cycle). */
static _Atomic size_t busiest;

struct drain_ctx {
	struct ct__sink *sink;
	struct ct__thread *t;
};

static int on_record(void *arg, const uint8_t *rec, size_t len)
{
	struct drain_ctx *c = arg;
	struct ct__thread *t = c->t;
	uint16_t id;
	uint64_t ts;

	if (c->sink->ops->record(c->sink, t, rec, len))
		return 1;
	memcpy(&id, rec, 2);
	memcpy(&ts, rec + 8, 8);
	if (ts > t->last_ts)
		t->last_ts = ts;
	if (id == CT_EV_CLIENT_LOST) {
		uint64_t n, b;

		memcpy(&n, rec + 16, 8);
		memcpy(&b, rec + 24, 8);
		t->lost_seen += n;
		t->lost_bytes_seen += b;
	}
	return 0;
}

/* Reports t's drops that no CLIENT_LOST record in its ring carried. */
static void report_unreported(struct ct__sink *sink, struct ct__thread *t, uint64_t now)
{
	uint64_t dropped = atomic_load_explicit(&t->dropped, memory_order_relaxed);
	uint64_t bytes = atomic_load_explicit(&t->dropped_bytes, memory_order_relaxed);

	if (dropped <= t->lost_seen)
		return;
	sink->ops->lost(sink, t, now > t->last_ts ? now : t->last_ts, dropped - t->lost_seen,
			bytes > t->lost_bytes_seen ? bytes - t->lost_bytes_seen : 0);
	t->lost_seen = dropped;
	t->lost_bytes_seen = bytes;
}

int ct__drain_cycle(int final, int flush)
{
	struct ct__sink *sink = ct__g.sink;
	uint64_t gen = ct__gen();
	uint64_t now;
	struct ct__thread **pp = &ct__g.threads;
	int err;

	if (!sink)
		return 0;
	while (*pp) {
		struct ct__thread *t = *pp;
		/* Synchronizes with the release store of dead in on_thread_exit: all the
		 * thread's records and counters are visible from here on. */
		int dead = atomic_load_explicit(&t->dead, memory_order_acquire);
		int empty = 1;

		if (t->ring && t->ring_gen == gen) {
			struct drain_ctx c = {sink, t};
			size_t used = ct__ring_used(t->ring);

			if (used > atomic_load_explicit(&busiest, memory_order_relaxed))
				atomic_store_explicit(&busiest, used, memory_order_relaxed);

			sink->ops->begin_thread(sink, t);
			ct__ring_consume(t->ring, on_record, &c);
			sink->ops->end_thread(sink, t);
			empty = ct__ring_used(t->ring) == 0;
			if ((dead || final) && empty)
				report_unreported(sink, t, ct_mono_ns());
		}
		if (dead && empty) {
			*pp = t->next;
			ct__thread_free(t);
			continue;
		}
		pp = &t->next;
	}
	now = ct_mono_ns();
	err = sink->ops->tick(sink, now, flush);
	/*
	 * Records the sink holds for a slow reader wait as if still in a ring: the sink can pass
	 * on only about one socket buffer per cycle, so with rings nearly empty and the wait
	 * grown back to the flush period, it would refill faster than it empties, then the
	 * rings would, and records would drop while the reader had time to spare.
	 */
	if (sink->ops->backlog) {
		size_t b = sink->ops->backlog(sink);

		if (b > atomic_load_explicit(&busiest, memory_order_relaxed))
			atomic_store_explicit(&busiest, b, memory_order_relaxed);
	}
	return err;
}

/* The next wait after a cycle, from the fill the cycles since the last wait found. */
static uint64_t next_wait(uint64_t wait_ns)
{
	size_t b = atomic_exchange_explicit(&busiest, 0, memory_order_relaxed);
	uint64_t period = (uint64_t)ct__g.flush_ms * 1000000ull;

	if (b > ct__g.ring_bytes / 2)
		wait_ns = MIN_WAIT_NS; /* about to drop: at once, not in a few halvings */
	else if (b > ct__g.ring_bytes / 4)
		wait_ns = wait_ns / 2 > MIN_WAIT_NS ? wait_ns / 2 : MIN_WAIT_NS;
	else if (b < ct__g.ring_bytes / 16)
		wait_ns = wait_ns * 2 < period ? wait_ns * 2 : period;
	return wait_ns < period ? wait_ns : period;
}

static void *drain_main(void *arg)
{
	uint64_t wait_ns = (uint64_t)ct__g.flush_ms * 1000000ull;

	(void)arg;
	pthread_mutex_lock(&ct__g.flush_lock);
	ct__g.drain_started = 1;
	pthread_cond_broadcast(&ct__g.done);
	for (;;) {
		uint64_t req = ct__g.flush_req;
		int stop = ct__g.stop, err;
		struct timespec ts;

		pthread_mutex_unlock(&ct__g.flush_lock);
		pthread_mutex_lock(&ct__g.lock);
		err = ct__drain_cycle(0, req != ct__g.flush_done);
		pthread_mutex_unlock(&ct__g.lock);
		pthread_mutex_lock(&ct__g.flush_lock);
		ct__g.flush_done = req;
		ct__g.last_err = err;
		pthread_cond_broadcast(&ct__g.done);
		if (stop)
			break;
		if (ct__g.flush_req != req || ct__g.stop)
			continue;
		wait_ns = next_wait(wait_ns);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)(wait_ns % 1000000000ull);
		ts.tv_sec += (time_t)(wait_ns / 1000000000ull) + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&ct__g.wake, &ct__g.flush_lock, &ts);
	}
	pthread_mutex_unlock(&ct__g.flush_lock);
	return NULL;
}

/* Called with ct__g.lock held. */
int ct__drain_start(void)
{
	sigset_t all, old;
	int err;

	pthread_mutex_lock(&ct__g.flush_lock);
	ct__g.stop = 0;
	ct__g.drain_started = 0;
	ct__g.flush_req = ct__g.flush_done = 0;
	pthread_mutex_unlock(&ct__g.flush_lock);
	/* Signals are the application's business: the drain thread takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&ct__g.drain, NULL, drain_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return err;
	/*
	 * Wait until the thread runs its own code: a fork right after ct_init must not catch
	 * it half-started (inside libc's or a sanitizer's allocator, whose locks the child
	 * would inherit held).
	 */
	pthread_mutex_lock(&ct__g.flush_lock);
	while (!ct__g.drain_started)
		pthread_cond_wait(&ct__g.done, &ct__g.flush_lock);
	pthread_mutex_unlock(&ct__g.flush_lock);
	ct__g.drain_running = 1;
	return 0;
}

void ct__drain_stop(void)
{
	if (!ct__g.drain_running)
		return;
	pthread_mutex_lock(&ct__g.flush_lock);
	ct__g.stop = 1;
	pthread_cond_signal(&ct__g.wake);
	pthread_mutex_unlock(&ct__g.flush_lock);
	pthread_join(ct__g.drain, NULL);
	pthread_mutex_lock(&ct__g.lock);
	ct__g.drain_running = 0;
	pthread_mutex_unlock(&ct__g.lock);
}
