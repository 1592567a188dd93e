/* SPDX-License-Identifier: MIT */
/*
 * Received spans waiting for their kernel data. Receivers add decoded batches (any thread);
 * the annotator thread takes, chunk by chunk, the span events the analysis needs in time
 * order (span start + scope enter at the start, scope exit + span end at the end, on the
 * span's process and thread), then finds each settled span's original to annotate and
 * export it, byte for byte as received plus crosstrace.* attributes. A span that can no
 * longer be annotated (it arrived after its time was analysed, it has no process id, it was
 * annotated upstream) is handed back unannotated, with the reason. Nothing is dropped
 * silently: past its memory limits the feed refuses whole batches (the sender gets 503).
 */
#ifndef CT_AGENT_FEED_H
#define CT_AGENT_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "format/event.h"
#include "net/span_events.h"
#include "net/span_model.h"

/* Why a span is exported without kernel annotation. */
enum ct_feed_reason {
	CT_FEED_ANNOTATED = 0,
	CT_FEED_LATE, /* arrived after the kernel data of its start was analysed */
	CT_FEED_NO_PID, /* no process id: no process to look at */
	CT_FEED_UPSTREAM, /* already annotated by another crosstrace agent */
	CT_FEED_OFF, /* annotation or capture is off */
	CT_FEED_UNSETTLED, /* its events were fed but the analysis gave no result */
	CT_FEED_FUTURE, /* its times lie too far ahead of this host's clock */
	CT_FEED_SHUTDOWN, /* the agent stopped before its kernel data was complete */
	CT_FEED_DUPLICATE, /* a span with the same id is already waiting (a client's retry) */
	CT_FEED_NREASONS
};

/* "late", "no-pid", ... (for counters and the crosstrace.annotation attribute). */
const char *ct_feed_reason_name(unsigned reason);

struct ct_feed_batch; /* a received batch, freed when its last span is released */

/* One received span. Fields are read-only for users. */
struct ct_feed_span {
	struct ct_feed_batch *fb;
	struct ct_nbatch *b; /* fb's batch (the annotator's to modify once handed out) */
	uint32_t idx; /* the span: b->spans[idx] */
	uint64_t start, end; /* CLOCK_MONOTONIC */
	int64_t offset_ns; /* realtime - monotonic used for the conversion */
	uint64_t uncertainty_ns; /* of start/end: clock offset + the sender's resolution */
	int32_t pid, tid; /* tid 0: no thread.id */
	uint8_t reason; /* enum ct_feed_reason */
	/* private */
	uint8_t state;
	uint32_t name_len; /* measured on arrival, while the batch is in cache */
	uint64_t id, trace_lo;
	uint64_t end_pos; /* ended: its entry in the feed's list of ended spans */
	struct ct_feed_span *hnext;
};

struct ct_feed_opts {
	uint64_t max_spans; /* spans held at most (then CT_EFULL) */
	uint64_t max_bytes; /* memory of the batches held */
	int annotate; /* 0: every span is handed back at once (CT_FEED_OFF) */
	uint64_t max_ahead_ns; /* spans ending further in the future: CT_FEED_FUTURE; 0 = 60 s */
};

struct ct_feed_stats {
	uint64_t spans_in; /* accepted */
	uint64_t spans_held; /* waiting now */
	uint64_t bytes_held;
	uint64_t refused; /* spans refused (memory limits): the sender got 503 */
	uint64_t by_reason[CT_FEED_NREASONS]; /* handed back, per reason (ANNOTATED: matched) */
	uint64_t events_fed;
	uint64_t scope_repairs; /* scope exits out of nesting order, re-entered */
	uint64_t analysed_until; /* ns, CLOCK_MONOTONIC */
};

struct ct_feed;

int ct_feed_new(struct ct_feed **out, const struct ct_feed_opts *o);

/*
 * Reserves room for batch b within the memory limits, before anything else sees it (so that
 * a batch refused here was not recorded elsewhere either). Thread-safe. Returns 0, or
 * CT_EFULL (counted as refused: the caller should have the sender retry).
 */
int ct_feed_reserve(struct ct_feed *f, const struct ct_nbatch *b);

/*
 * Whether ct_feed_reserve would now refuse a batch as large as the last one it was asked
 * about: receivers ask before decoding a request, so that under overload a request that
 * would be refused is answered 503 without being decoded. An estimate (the next batch may be
 * smaller): a wrong CT_EFULL costs the sender a retry, a wrong 0 a decode that
 * ct_feed_reserve then refuses. Thread-safe. Returns 0, or CT_EFULL (nothing is counted
 * here: the span count is unknown before decoding; the receiver counts the request).
 */
int ct_feed_admit(struct ct_feed *f);

/* Gives back a reservation of b that will not be followed by ct_feed_add. Thread-safe. */
void ct_feed_unreserve(struct ct_feed *f, const struct ct_nbatch *b);

/*
 * Takes reserved batch b (ownership passes in on 0 only): each span is converted to the
 * monotonic clock with c and queued for analysis, or set aside to be handed back
 * unannotated (see ct_feed_take_ready). b must not have changed since it was reserved.
 * Thread-safe. Returns 0, or -ENOMEM (the reservation is given back, the caller still owns
 * b).
 */
int ct_feed_add(struct ct_feed *f, struct ct_nbatch *b, const struct ct_span_ev_clock *c);

/* Receives one analysis event (valid during the call only). */
typedef void (*ct_feed_event_fn)(void *arg, const struct ct_event *ev);

/*
 * Annotator thread, a take in three calls, so that the caller merges the feed's events with
 * its own without a copy of them all: _begin records before_ns as analysed (spans added
 * later that start before it are late) and returns how many span records are due; _next
 * gives, in timestamp order, the next event of every queued span older than before_ns (NULL
 * when there is none left; the event is the feed's, valid until the next call); _end makes
 * the spans that ended claimable and keeps the rest for later takes, and returns how many
 * events could not be handed over (no memory: the analysis missed them). A take must be
 * ended before spans are claimed or another take begins.
 */
size_t ct_feed_take_begin(struct ct_feed *f, uint64_t before_ns);
const struct ct_event *ct_feed_take_next(struct ct_feed *f);
uint64_t ct_feed_take_end(struct ct_feed *f);

/*
 * Annotator thread: a whole take (_begin, every event to fn, _end). Returns the number of
 * span records that gave events.
 */
uint64_t ct_feed_take_events(struct ct_feed *f, uint64_t before_ns, ct_feed_event_fn fn, void *arg);

/*
 * Annotator thread: the queued span settled by the analysis as (trace_lo, id) of pid, now
 * handed out (reason ANNOTATED), or NULL when it is not one of ours. Thread-safe.
 */
struct ct_feed_span *ct_feed_claim(struct ct_feed *f, uint64_t trace_lo, uint64_t id, int32_t pid);

/*
 * Annotator thread: hands out spans to export without annotation (up to max, into out[]):
 * those set aside on arrival, and those whose end lies before expire_before_ns (analysis
 * gave no result: CT_FEED_UNSETTLED; UINT64_MAX at shutdown: CT_FEED_SHUTDOWN). Returns
 * how many. Thread-safe.
 */
size_t ct_feed_take_ready(struct ct_feed *f, uint64_t expire_before_ns, struct ct_feed_span **out,
			  size_t max);

/*
 * Releases spans handed out (after they were exported, or dropped): their batches are freed
 * with their last span. Thread-safe.
 */
void ct_feed_release(struct ct_feed *f, struct ct_feed_span *const *s, size_t n);

void ct_feed_stats(struct ct_feed *f, struct ct_feed_stats *st);

/* Frees f and every batch still held (NULL accepted). */
void ct_feed_free(struct ct_feed *f);

#endif
