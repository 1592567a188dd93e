/* SPDX-License-Identifier: MIT */
/*
 * The flight recorder's triggers and snapshots. The kernel recording runs into a ring: a
 * trace directory in memory (tmpfs) with short chunks and retention, so it always holds the
 * last N seconds. A span slower than the threshold triggers a snapshot: the chunks covering
 * [span start - margin, span end + margin] are copied, as they are sealed, into a trace
 * directory of their own (out_dir/snapshot-NNNNNN: trace.json + chunks/) that every
 * crosstrace tool and babeltrace2 read; overlapping triggers share one snapshot. Its manifest
 * names the spans that triggered it and any chunk already gone. Fast spans trigger nothing.
 *
 * Threads: ct_flight_trigger from any thread; everything else on the ring's owner thread.
 */
#ifndef CT_AGENT_FLIGHT_H
#define CT_AGENT_FLIGHT_H

#include <stdint.h>

struct ct_flight_opts {
	const char *ring_dir; /* the ring's trace directory (its trace.json is read) */
	const char *out_dir; /* where snapshots go (created when needed) */
	uint64_t margin_ns;
	uint64_t threshold_ns; /* for the manifest and the log */
};

/* What triggered a snapshot: a span of at least the threshold. */
struct ct_flight_trigger {
	uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC */
	uint8_t trace_id[16], span_id[8];
	int32_t pid;
	char name[128];
	char service[64];
	char source[16]; /* "otlp", "zipkin", "native" */
};

struct ct_flight_stats {
	uint64_t triggers; /* slow spans seen */
	uint64_t snapshots; /* snapshots written (complete) */
	uint64_t open; /* snapshots waiting for chunks to be sealed */
	uint64_t chunks_copied;
	uint64_t chunks_missing; /* needed but already removed from the ring */
	uint64_t copy_errors;
};

struct ct_flight;

/* Returns 0 or -ENOMEM. Nothing is created until the first trigger. */
int ct_flight_new(struct ct_flight **out, const struct ct_flight_opts *o);

/* A slow span (copied). Thread-safe, never blocks on I/O. */
void ct_flight_trigger(struct ct_flight *f, const struct ct_flight_trigger *t);

/* Owner: a ring chunk [begin_ns, end_ns) at dir was sealed ("sealed") or removed. */
void ct_flight_chunk(struct ct_flight *f, const char *what, unsigned index, uint64_t begin_ns,
		     uint64_t end_ns, const char *dir);

/* Owner, every round: takes new triggers (copying the sealed chunks they need), completes
 * snapshots whose window is fully sealed. */
void ct_flight_tick(struct ct_flight *f, uint64_t now_ns);

/* Owner, after the ring was closed (every chunk sealed): completes every snapshot. */
void ct_flight_finish(struct ct_flight *f);

/* Thread-safe. */
void ct_flight_stats(struct ct_flight *f, struct ct_flight_stats *st);

void ct_flight_free(struct ct_flight *f);

#endif
