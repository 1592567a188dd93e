/* SPDX-License-Identifier: MIT */
/*
 * The "foreign" stream of a trace directory: events of spans received from other SDKs
 * (OTLP, Zipkin). Such spans arrive after they ended, out of order, while a stream's
 * timestamps must not decrease. So received events wait in a time-ordered buffer until the
 * chunk that covers them is about to be sealed (half its grace period after rotation) or
 * they are max_hold_ns old, and are then written sorted. What arrives older than what was already written is counted as
 * "received_late", what does not fit in the buffer as "received_overflow": both appear in the
 * manifest's loss counters; nothing is dropped silently. See docs/internals/net.md.
 *
 * Threads: ct_foreign_add may be called from any thread (receivers); everything else only by
 * the thread that owns the trace directory, which must rotate and tick through this object.
 */
#ifndef CT_NET_FOREIGN_STREAM_H
#define CT_NET_FOREIGN_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "format/tracedir.h"
#include "span_events.h"
#include "span_model.h"

struct ct_foreign;

struct ct_foreign_opts {
	struct ct_tracedir *td; /* borrowed; must outlive the foreign stream */
	const char *stream; /* stream name; NULL = "foreign" */
	uint64_t grace_ns; /* the trace directory's grace period; 0 = 1 s (its default) */
	/* Soft limit of the memory held by buffered events (payloads and their records): past it
	 * the oldest half is written early; past twice it batches are refused. 0 = 16 MiB. */
	size_t max_bytes;
	/*
	 * An event is held at most this long past its own time even when its chunk is not about
	 * to be sealed (long chunks would otherwise keep minutes of spans in memory); 0 = 10 s.
	 */
	uint64_t max_hold_ns;
};

struct ct_foreign_stats {
	uint64_t spans; /* spans accepted */
	uint64_t events_buffered; /* events now waiting */
	uint64_t bytes_buffered;
	uint64_t events_written;
	uint64_t late; /* events older than what was already written */
	uint64_t overflow; /* events lost: no memory to store them */
	uint64_t refused; /* spans refused with CT_EFULL (the buffer was full; client retries) */
	uint64_t truncated; /* strings cut to the event size limits */
	uint64_t flushes;
};

/* Returns 0, -ENOMEM, or the error of creating the stream. */
int ct_foreign_new(struct ct_foreign **out, const struct ct_foreign_opts *o);

/*
 * Converts every span of b into events (clock: see span_events.h) and buffers them. b is
 * borrowed. Thread-safe. Returns 0; CT_EFULL when the buffer is over twice max_bytes (nothing
 * of b was taken: have the sender retry); -ENOMEM.
 */
int ct_foreign_add(struct ct_foreign *f, const struct ct_nbatch *b,
		   const struct ct_span_ev_clock *c);

/*
 * Whether ct_foreign_add would refuse any batch now (CT_EFULL: the buffer is over twice
 * max_bytes). Cheap (one lock); for a receiver's admit callback, so that a request is refused
 * before it is decoded. Thread-safe.
 */
int ct_foreign_full(struct ct_foreign *f);

/*
 * Owner thread, every drain period instead of ct_tracedir_tick: writes the events whose
 * chunk is about to be sealed (or the oldest half when over max_bytes), then ticks the trace
 * directory and notes a rotation. Returns 0 or the first write error.
 */
int ct_foreign_tick(struct ct_foreign *f, uint64_t now_ns);

/* Owner thread, instead of ct_tracedir_rotate. */
int ct_foreign_rotate(struct ct_foreign *f, uint64_t now_ns);

/* Owner thread: writes everything buffered (before closing the trace directory). */
int ct_foreign_flush(struct ct_foreign *f);

void ct_foreign_stats(struct ct_foreign *f, struct ct_foreign_stats *st);

/* Frees f (NULL accepted); what is still buffered is counted as lost ("received_unflushed"). */
void ct_foreign_free(struct ct_foreign *f);

#endif
