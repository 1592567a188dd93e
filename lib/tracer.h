/* SPDX-License-Identifier: MIT */
/*
 * libcrosstrace's internal state: the process-wide tracer (configuration, registry of
 * per-thread states, the sink and its drain thread) and the per-thread state that the hot
 * path reaches through one initial-exec TLS pointer (ring, ids, scope stack, counters).
 * Only tracer.c, thread.c and drain.c change the registry, always under ct__g.lock.
 */
#ifndef CT_LIB_TRACER_H
#define CT_LIB_TRACER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "crosstrace/crosstrace.h"
#include "format/event.h"
#include "ring.h"
#include "threadctx.h"
#include "util/clock.h"

#define CT__LIKELY(x) __builtin_expect(!!(x), 1)
#define CT__UNLIKELY(x) __builtin_expect(!!(x), 0)

struct ct__sink;

struct ct__scope {
	struct ct_span_context ctx;
	uint8_t inherited; /* entered before a fork, by the parent: not published in the child */
	uint64_t gen; /* tracer generation that recorded the enter; 0: not recorded */
};

/*
 * One application thread. The thread itself is the only writer of everything but the
 * drain-owned fields; counters are atomics so that ct_stats_get can read them, but being
 * single-writer they are updated with a plain load + store (no locked instruction).
 */
struct ct__thread {
	/* ---- owned by the thread ---- */
	struct ct__ring *ring; /* NULL until the first record of the current generation */
	uint64_t ring_gen; /* generation the ring belongs to */
	int32_t tid;
	uint64_t rng; /* splitmix64 state */
	uint64_t lost_reported; /* drops already put into a CLIENT_LOST record */
	uint64_t lost_bytes_reported;
	unsigned depth; /* scope nesting, may exceed CT_MAX_SCOPE_DEPTH */
	struct ct__scope scopes[CT_MAX_SCOPE_DEPTH];

	/* ---- written by the thread, read by anyone ---- */
	_Atomic uint64_t records, dropped, dropped_bytes, truncated;
	_Atomic uint64_t spans_started, spans_unsampled, scope_overflow;

	/* ---- set once by the thread's TLS destructor ---- */
	_Atomic int dead;

	/* ---- owned by the drain thread (under ct__g.lock) ---- */
	void *sink_stream; /* the sink's per-thread handle */
	uint64_t lost_seen; /* drops reported so far (CLIENT_LOST records + synthetic) */
	uint64_t lost_bytes_seen;
	uint64_t last_ts; /* newest record timestamp drained */

	struct ct__thread *next; /* registry, under ct__g.lock */
};

/*
 * What the sampler decides without being called, from the parent alone: for a root (index 0),
 * a local parent (1) and a remote parent (2), CT__SM_YES / CT__SM_NO, CT__SM_FOLLOW (the
 * parent's sampled flag) or CT__SM_ASK (ct_sampler_should_sample decides: it needs the trace
 * id or the clock). ct_init derives the table from the sampler kind; it always agrees with
 * ct_sampler_should_sample.
 */
enum ct__sample_fast {
	CT__SM_NO = 0,
	CT__SM_YES = 1,
	CT__SM_FOLLOW = 2,
	CT__SM_ASK = 3,
};

enum ct__state {
	CT__OFF = 0, /* before ct_init, after ct_shutdown */
	CT__RUNNING = 1, /* recording (or not, when output is NULL) */
	CT__FORKED = 2, /* a fork child: the sink and drain thread start on the first record */
};

struct ct__tracer {
	_Atomic int state; /* enum ct__state */
	_Atomic int recording; /* records go to rings (an output is configured) */
	_Atomic uint64_t gen; /* bumped by ct_init and in fork children; never 0 once used */
	struct ct_sampler sampler;
	int sampler_clock; /* the sampler wants now_ns (rate limiters) */
	uint8_t sample_fast[3]; /* enum ct__sample_fast for a root, local, remote parent */

	/* Configuration (copies owned by the tracer). */
	char *output, *service, *resource;
	size_t ring_bytes;
	uint32_t flush_ms;
	uint64_t rotate_bytes, rotate_ms;
	int32_t pid;

	/* The process's own records (PROCESS_INFO + resource attributes), wire layout. */
	uint8_t *proc;
	size_t proc_len;
	unsigned proc_count;

	pthread_mutex_t lock; /* registry, sink, lifecycle */
	struct ct__thread *threads;
	struct ct__sink *sink;
	uint64_t freed_records, freed_dropped, freed_dropped_bytes, freed_truncated;
	uint64_t freed_started, freed_unsampled, freed_overflow, threads_created;
	_Atomic uint64_t sink_dropped; /* records lost after leaving their ring */

	/* Drain thread and the flush handshake (under flush_lock). */
	pthread_t drain;
	int drain_running; /* under lock */
	int drain_started; /* under flush_lock: the thread has entered its loop */
	pthread_mutex_t flush_lock;
	pthread_cond_t wake; /* to the drain thread: flush requested / stop */
	pthread_cond_t done; /* from the drain thread: a cycle finished */
	uint64_t flush_req, flush_done;
	int stop;
	int last_err;
};

extern struct ct__tracer ct__g;

/* Fills ct__g.sample_fast's table for a sampler kind. */
void ct__sample_fast_init(enum ct_sampler_kind kind, uint8_t table[3]);

/* span->state: bits 0-1 the state, 2-3 the status code, 4-6 lazy ids, 16-31 links added. */
#define CT__SP_NONE 0u
#define CT__SP_RECORDING 1u /* sampled, started, not ended */
#define CT__SP_INERT 2u /* unsampled, or from before ct_init: nothing to record */
#define CT__SP_ENDED 3u
#define CT__SP_LAZY_SPAN (1u << 4) /* span id not generated yet */
#define CT__SP_LAZY_TRACE (1u << 5) /* trace id not generated yet */
#define CT__SP_CLAIM (1u << 6) /* a thread is generating the lazy ids */
#define CT__SP_LAZY (CT__SP_LAZY_SPAN | CT__SP_LAZY_TRACE)
/* crosstrace.h's inline ct_span_end tests this without the library. */
_Static_assert(CT__SP_RECORDING == 1u && (CT__SP_ENDED & 3u) == 3u, "ABI: span->state & 3");

/*
 * An unsampled span's ids are generated when something first looks at them (its context is
 * asked for, or it becomes current): OpenTelemetry asks SDKs to act *as if* every span got
 * its ids at start, and ids nobody sees cannot tell the difference. Generates them now when
 * they are still pending; any thread may call it, concurrently too (one generates, the others
 * wait for it).
 */
void ct__span_materialize(const struct ct_span *span);

static inline void ct__span_ids(const struct ct_span *span)
{
	/* Synchronizes with the release store in ct__span_materialize: the ids are written. */
	if (CT__UNLIKELY(__atomic_load_n(&span->state, __ATOMIC_ACQUIRE) & CT__SP_LAZY))
		ct__span_materialize(span);
}

/* The calling thread's state, NULL until its first call into the library. */
extern __thread struct ct__thread *ct__self __attribute__((tls_model("initial-exec")));

/*
 * Registers the fork handlers and the atexit flush, once per process: from ct_init, and from
 * a thread's first call, since scopes (published in TLS) work before ct_init too and a fork
 * child must start with none.
 */
void ct__tracer_once(void);

/* Slow path: allocates and registers the calling thread's state (may lock). NULL on ENOMEM. */
struct ct__thread *ct__thread_init(void);

static inline struct ct__thread *ct__thread_get(void)
{
	struct ct__thread *t = ct__self;

	return CT__LIKELY(t) ? t : ct__thread_init();
}

/* Slow path: the ring of the current generation for t (created and registered, may lock;
 * starts the sink in a fork child). NULL when not recording or out of memory. */
struct ct__ring *ct__ring_init(struct ct__thread *t);

static inline uint64_t ct__gen(void)
{
	return atomic_load_explicit(&ct__g.gen, memory_order_relaxed);
}

static inline int ct__recording(void)
{
	return atomic_load_explicit(&ct__g.recording, memory_order_relaxed);
}

/* Single-writer counter update: the owner thread is the only one storing to c. */
static inline void ct__count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* splitmix64: a bijection of a counter, so one thread never repeats an id. */
static inline uint64_t ct__rand64(struct ct__thread *t)
{
	uint64_t z = (t->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Seeds t->rng from getrandom (the one system call, once per thread and fork). */
void ct__rng_seed(struct ct__thread *t);

static inline uint64_t ct__be64(const uint8_t b[8])
{
	uint64_t v;

	memcpy(&v, b, 8);
	return __builtin_bswap64(v);
}

static inline void ct__put_be64(uint8_t b[8], uint64_t v)
{
	v = __builtin_bswap64(v);
	memcpy(b, &v, 8);
}

/* Writes a 16-byte record header; returns where the payload goes. */
static inline uint8_t *ct__rec_header(uint8_t *p, uint16_t id, size_t payload, uint64_t ts)
{
	uint16_t sz = (uint16_t)payload;

	memcpy(p, &id, 2);
	memcpy(p + 2, &sz, 2);
	memset(p + 4, 0, 4);
	memcpy(p + 8, &ts, 8);
	return p + 16;
}

/*
 * Opens a reservation of len bytes in the calling thread's ring, first putting a CLIENT_LOST
 * record there when drops are still unreported. NULL when not recording or full (the caller
 * then calls ct__drop with the record count and size it meant to write).
 */
static inline uint8_t *ct__reserve(struct ct__thread *t, size_t len, uint64_t ts)
{
	struct ct__ring *r = t->ring;
	uint64_t dropped;

	if (CT__UNLIKELY(!r || t->ring_gen != ct__gen())) {
		r = ct__ring_init(t);
		if (!r)
			return NULL;
	}
	dropped = atomic_load_explicit(&t->dropped, memory_order_relaxed);
	if (CT__UNLIKELY(dropped != t->lost_reported)) {
		/* Reported in the ring itself, ahead of the next record, so that the loss keeps
		 * its place in time and the drain needs no shared state to report it. */
		uint8_t *p = ct__ring_reserve(r, CT__ALIGN8(16 + 16) + len);

		if (!p)
			return NULL;
		p = ct__rec_header(p, CT_EV_CLIENT_LOST, 16, ts);
		uint64_t bytes = atomic_load_explicit(&t->dropped_bytes, memory_order_relaxed);

		p = ct_put_u64(p, dropped - t->lost_reported);
		p = ct_put_u64(p, bytes - t->lost_bytes_reported);
		t->lost_reported = dropped;
		t->lost_bytes_reported = bytes;
		ct__count(&t->records, 1);
		return p;
	}
	return ct__ring_reserve(r, len);
}

/* Publishes the reservation holding n records. */
static inline void ct__commit(struct ct__thread *t, unsigned n)
{
	ct__ring_commit(t->ring);
	ct__count(&t->records, n);
}

/* Counts n records of len bytes that did not fit (only while recording). */
static inline void ct__drop(struct ct__thread *t, unsigned n, size_t len)
{
	if (!t->ring || t->ring_gen != ct__gen())
		return;
	ct__count(&t->dropped, n);
	ct__count(&t->dropped_bytes, len);
}

/* Bounded string length, counting a truncation. */
static inline size_t ct__strlen(struct ct__thread *t, const char *s, size_t max)
{
	size_t n;

	if (!s)
		return 0;
	n = strnlen(s, max + 1);
	if (CT__UNLIKELY(n > max)) {
		ct__count(&t->truncated, 1);
		n = max;
	}
	return n;
}

static inline uint8_t *ct__put_strn(uint8_t *p, const char *s, size_t n)
{
	if (n)
		memcpy(p, s, n);
	p[n] = 0;
	return p + n + 1;
}

/* ct_stats_get with ct__g.lock already held. */
void ct__stats_locked(struct ct_stats *st);

/* Builds the process's own records into ct__g.proc (called by ct_init). */
int ct__proc_records_build(void);

/* Drain thread control (drain.c). */
int ct__drain_start(void);
/* Runs one drain cycle now on the calling thread (drain thread not running). final: report
 * every thread's unreported drops. Called with ct__g.lock held. */
int ct__drain_cycle(int final, int flush);
void ct__drain_stop(void);
/* Forgets a thread state: adds its counters to the totals and frees it (lock held). */
void ct__thread_free(struct ct__thread *t);

#endif
