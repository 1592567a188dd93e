/* SPDX-License-Identifier: MIT */
/*
 * The annotator: a thread that runs the analysis incrementally. Each sealed chunk of the
 * kernel recording (handed over pinned: hard links the retention cannot take away) waits
 * until spans covering its time range had time to arrive (span_delay), is then mapped into
 * a partial together with the received spans' events of that range (agent/feed.h), and
 * reduced into the running result, which settles what became final. Settled received spans
 * get their kernel annotation as crosstrace.* attributes (and, when slow, syscall child
 * spans) on the span exactly as received; spans of native clients are exported from the
 * analysis' record. Then they go to the exporter. Memory stays bounded: the running result
 * holds only what is still open, and settled spans are handed out at once.
 */
#ifndef CT_AGENT_ANNOTATOR_H
#define CT_AGENT_ANNOTATOR_H

#include <stdint.h>

#include "feed.h"
#include "net/otlp_exporter.h"
#include "net/span_model.h"

struct ct_annotator_opts {
	struct ct_feed *feed; /* borrowed */
	struct ct_otlp_exporter *exporter; /* borrowed; NULL: nothing is sent */
	uint64_t span_delay_ns; /* a chunk is analysed this long after it ended */
	uint64_t threshold_ns; /* spans this slow get syscall child spans */
	int detail_all;
	int kernel; /* chunks will come (kernel capture on) */
	/* Told about every span exported (or, without an exporter, that would be). Optional. */
	void (*exported)(void *arg, const struct ct_nbatch *b, const uint32_t *idx, uint32_t n);
	/* A settled span of a native client at least threshold_ns long (flight recorder). */
	void (*slow_native)(void *arg, uint64_t start_ns, uint64_t end_ns, uint64_t trace_hi,
			    uint64_t trace_lo, uint64_t span_id, int32_t pid, const char *name);
	void *arg;
};

struct ct_annotator_stats {
	uint64_t chunks_analysed, chunks_missing;
	uint64_t events; /* analysed (kernel, native clients, received spans) */
	uint64_t annotated; /* received spans annotated */
	uint64_t unannotated; /* received spans exported without annotation (feed: why) */
	uint64_t native; /* native client spans exported */
	uint64_t syscall_spans; /* syscall child spans added */
	uint64_t submitted; /* spans handed to the exporter (all kinds) */
	uint64_t export_refused; /* refused by the exporter's full queue (counted there too) */
	uint64_t anomalies, oom; /* the analysis' own counters */
	uint64_t analysed_until; /* ns, CLOCK_MONOTONIC: end of the last chunk analysed */
	uint64_t lag_ns; /* how far behind its data the analysis is now */
};

struct ct_annotator;

/* Starts the thread. Returns 0, -ENOMEM, or -errno of pthread_create. */
int ct_annotator_new(struct ct_annotator **out, const struct ct_annotator_opts *o);

/*
 * A sealed chunk covering [begin_ns, end_ns), pinned at dir (the annotator removes dir once
 * read; dir may be "" when it could not be pinned: the range is then a gap). Chunks must come
 * in order. Thread-safe.
 */
void ct_annotator_chunk(struct ct_annotator *a, unsigned index, uint64_t begin_ns, uint64_t end_ns,
			const char *dir);

void ct_annotator_stats(struct ct_annotator *a, struct ct_annotator_stats *st);

/*
 * Analyses every chunk handed over (at once: no more spans will come), finishes the
 * analysis, exports what it settled and hands every span still waiting to the exporter
 * unannotated; then stops the thread. Call after the last ct_annotator_chunk.
 */
void ct_annotator_finish(struct ct_annotator *a);

/* Stops the thread if running and frees a (NULL accepted). */
void ct_annotator_free(struct ct_annotator *a);

#endif
