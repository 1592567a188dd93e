/* SPDX-License-Identifier: MIT */
/*
 * The analysis engine: thread states, span annotation, critical paths and per-operation
 * aggregates, computed from events by map/reduce. A partial is fed the events of one time
 * range (a chunk, or part of one) in timestamp order; partials of adjacent ranges reduce
 * into one; the partial that starts at the beginning of the trace settles what has become
 * final as it grows and, once finished, is the result. Any chunking and any grouping of the
 * reductions give the same result, byte for byte (docs/internals/analysis.md).
 *
 * Pure computation: no I/O, no syscalls. A partial is not thread-safe, but distinct partials
 * may be fed on distinct threads; reduce touches only its two arguments.
 */
#ifndef CT_ANALYSIS_H
#define CT_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "format/event.h"
#include "util/buf.h"
#include "util/jsonw.h"

struct ct_an_config {
	/* Spans at least this long get full detail (syscall child spans, kernel events); 0 =
	 * only the slowest of each operation. */
	uint64_t threshold_ns;
	int detail_all; /* full detail for every span (exports with --detail all, tests) */
	unsigned top_k; /* per operation, the slowest spans kept in full detail; 0 = 5 */
	unsigned top_requests; /* slowest requests reported; 0 = 10 */
	/* Spans and requests longer than this get no full detail and no critical path, so that
	 * memory stays bounded by the open state; 0 = 60 s. */
	uint64_t window_ns;
	int keep_spans; /* keep every finished span (exports, --format json --spans) */
	int keep_history; /* keep every thread state interval (Chrome export, tests) */
	int trace_filter; /* report trace (trace_hi, trace_lo) in full */
	uint64_t trace_hi, trace_lo;
	unsigned settle_every; /* events between two settles of the starting partial; 0 = 65536 */
	/* Losses reported up to this long after a span ends still flag it (the capture reports
	 * them every drain period, 10 ms); spans are settled only then. 0 = 50 ms. */
	uint64_t loss_grace_ns;
};

/* Time breakdown categories. A span's categories sum to its duration (docs). */
enum ct_cat {
	CT_CAT_CPU_USER,
	CT_CAT_CPU_KERNEL,
	CT_CAT_RUNNABLE,
	CT_CAT_BLOCKED_IO,
	CT_CAT_BLOCKED_LOCK,
	CT_CAT_BLOCKED_NET,
	CT_CAT_BLOCKED_SLEEP,
	CT_CAT_BLOCKED_OTHER,
	CT_CAT_UNKNOWN, /* no kernel data for the thread at that time */
	CT_CAT_INACTIVE, /* the span was current on no thread (async wait, not instrumented) */
	CT_CAT_CHILDREN, /* a child span was current instead (not part of the span's own time) */
	CT_CAT_N
};

/* "cpu-user", "blocked-io", ... */
const char *ct_cat_name(unsigned cat);

/* Why a span's annotation may be partial (bits of ct_span_incomplete). */
enum {
	CT_INC_LOST_EVENTS = 1 << 0, /* events were lost while it ran */
	CT_INC_MISSING_CHUNK = 1 << 1, /* a chunk of its time range is missing */
	CT_INC_UNKNOWN_EVENTS = 1 << 2, /* event types this version does not know */
	CT_INC_NO_KERNEL_DATA = 1 << 3, /* some of its time has no thread state */
	CT_INC_NOT_ENDED = 1 << 4, /* no span_end before the trace ends */
	CT_INC_NO_START = 1 << 5, /* span_start not in the trace */
	CT_INC_PROCESS_WIDE = 1 << 6, /* no thread id: covers every thread of its process */
	CT_INC_TOO_LONG = 1 << 7, /* longer than the window: no detail / critical path */
	CT_INC_READ_ERRORS = 1 << 8, /* damaged data in its time range */
};

struct ct_partial;

/*
 * A partial for the time range starting at begin_ns. at_start: the range starts the trace
 * (nothing happened before it), so everything it learns is final and it settles as it goes;
 * its begin is then its first event's timestamp. cfg is copied. Returns 0 or -ENOMEM.
 */
int ct_partial_new(struct ct_partial **out, const struct ct_an_config *cfg, uint64_t begin_ns,
		   int at_start);

/*
 * A partial for a time range with no data (a chunk listed but missing): thread states become
 * unknown across it and spans overlapping it are flagged. Returns 0 or -ENOMEM.
 */
int ct_partial_new_gap(struct ct_partial **out, const struct ct_an_config *cfg, uint64_t begin_ns,
		       uint64_t end_ns, int at_start);

/*
 * Feeds one event. Events must come in timestamp order within a partial (the chunk reader's
 * order); strings are copied. Unknown event types (CT_EV_NONE) are counted and flag the
 * spans current on their thread. Never fails: allocation failures are counted and reported
 * in the result.
 */
void ct_partial_feed(struct ct_partial *p, const struct ct_event *ev);

/* Notes that events of [begin_ns, end_ns) were lost or damaged (what: "lost-events",
 * "read-errors"); spans overlapping it are flagged incomplete. */
void ct_partial_loss(struct ct_partial *p, uint64_t begin_ns, uint64_t end_ns, const char *what);

/* realtime - monotonic (ns) from begin_ns on, for exports' wall-clock times. */
void ct_partial_clock(struct ct_partial *p, uint64_t begin_ns, int64_t offset_ns);

/* The partial's range ends at end_ns (exclusive; the next partial's begin). */
void ct_partial_end(struct ct_partial *p, uint64_t end_ns);

/*
 * Merges right (the range that follows left's) into left and frees right, always. Either may
 * be soft; when left is at_start the result settles. Returns 0, or -EINVAL when right does
 * not follow left (its events are then dropped). Allocation failures are counted and
 * reported in the result.
 */
int ct_partial_reduce(struct ct_partial *left, struct ct_partial *right);

/* Frees p (NULL accepted). */
void ct_partial_free(struct ct_partial *p);

/*
 * Ends the analysis of an at_start partial covering the whole trace: closes what is still
 * open at the last event, finalises every span and request. Afterwards only the result
 * functions below may be used. Returns 0, or -EINVAL when p is not at_start.
 */
int ct_partial_finish(struct ct_partial *p);

/* Sections of the JSON result. */
enum {
	CT_OUT_INPUT = 1 << 0, /* what was read: events, losses, anomalies */
	CT_OUT_OPERATIONS = 1 << 1, /* per-operation aggregates */
	CT_OUT_REQUESTS = 1 << 2, /* slowest requests (and the filtered trace) with critical path */
	CT_OUT_SPANS = 1 << 3, /* finished spans kept (keep_spans, filter, detail) */
	CT_OUT_THREADS = 1 << 4, /* every thread's state intervals (keep_history) */
	CT_OUT_ALL = 0x1f,
	CT_OUT_FILTERED = 1 << 5, /* only the filtered trace's requests ("trace") */
};

/* Writes the result of a finished partial as one JSON object. Deterministic. */
void ct_result_json(const struct ct_partial *p, struct ct_jsonw *w, unsigned sections);

/* Text renderings for the terminal (report_text.c). width: terminal columns (0 = 100). */
void ct_result_text_report(const struct ct_partial *p, struct ct_buf *out, unsigned width);
void ct_result_text_trace(const struct ct_partial *p, struct ct_buf *out, unsigned width);
void ct_result_text_critpath(const struct ct_partial *p, struct ct_buf *out, unsigned width);
/* The critical path of the slowest request, condensed into steps (one thread, one span);
 * span names need cfg.keep_spans. Nothing when there is no request with a path. */
void ct_result_text_slowest_path(const struct ct_partial *p, struct ct_buf *out, unsigned width);

/* Exports of a finished partial (keep_spans; Chrome also keep_history). */
void ct_export_otlp_json(const struct ct_partial *p, struct ct_buf *out);
void ct_export_jaeger_json(const struct ct_partial *p, struct ct_buf *out);
void ct_export_chrome_json(const struct ct_partial *p, struct ct_buf *out);

/* Numbers of a finished partial, for drivers and tests. */
struct ct_result_stats {
	uint64_t events, unknown_events, anomalies, spans, requests, oom;
	uint64_t first_ns, last_ns;
	uint64_t peak_intervals; /* most thread state intervals held at once */
};
void ct_result_stats(const struct ct_partial *p, struct ct_result_stats *st);

/* Number of requests (root spans) finished for trace (hi, lo); for `--trace` checks. */
unsigned ct_result_trace_requests(const struct ct_partial *p, uint64_t hi, uint64_t lo);

/* ---- incremental use: a long-running driver (crosstrace agent, analysis/incremental.c) ---- */

/*
 * For an at_start partial: every event before now_ns has been fed (a chunk ended there), so
 * what became final by then settles even when no event follows (an idle system). Does
 * nothing for a soft or finished partial, or when now_ns is not after the last event. The
 * next events fed or reduced must not be older than now_ns.
 */
void ct_partial_advance(struct ct_partial *p, uint64_t now_ns);

/* A settled span handed out by ct_partial_take_spans; valid during the callback only. */
struct ct_an_span {
	uint64_t trace_hi, trace_lo, id, parent;
	uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC */
	int32_t pid, tid; /* tid 0: process-wide (no thread id: every thread of pid counted) */
	uint8_t kind, status, root;
	uint8_t detailed; /* syscalls and kernel events were taken (threshold, detail_all) */
	uint32_t incomplete; /* CT_INC_* */
	const char *name, *status_message; /* never NULL */
	uint64_t cat[CT_CAT_N]; /* breakdown, ns; sums to end_ns - start_ns */
	uint32_t n_causes; /* sorted: most time first */
	uint32_t n_syscalls, syscalls_omitted; /* detail (entry order) */
	uint32_t n_sums; /* syscall time per phase */
	uint32_t n_attrs, n_events, n_links;
	uint64_t cp_own_process_ns; /* roots: time of the critical path in the span's process */
	uint32_t cp_segments; /* roots: segments of the critical path (0: none computed) */
	const void *impl; /* the engine's record: for the accessors below only */
};

struct ct_an_cause {
	unsigned cat; /* enum ct_cat */
	uint64_t ns;
	int32_t by; /* dominant waker / preemptor tid, 0 none */
	const char *text; /* "blocked in read(/data/x)", in the caller's buffer */
};

struct ct_an_syscall {
	uint64_t entry_ns, exit_ns; /* exit_ns UINT64_MAX: not seen */
	uint64_t args[6];
	int64_t ret; /* valid when exit_ns is known */
	int32_t tid, fd; /* fd -1: none */
	uint16_t nr;
	const char *name; /* "read", or "syscall_N" (caller's buffer) */
	const char *target; /* what fd/path it worked on ("/etc/hosts", "tcp 10.0.0.1:80"), "" */
};

/* Syscall time per phase (phase: the span event before it, "" before any). */
struct ct_an_sum {
	const char *phase, *name;
	uint64_t count, ns;
};

/* An attribute of the span (owner 0), of its event k (owner k) or link k (0x8000 | k). */
struct ct_an_attr {
	const char *key;
	uint16_t owner;
	uint8_t type; /* 1 string, 2 int, 3 double, 4 bool */
	const char *s;
	int64_t i; /* int, bool */
	double d;
};

struct ct_an_event {
	uint64_t time_ns; /* CLOCK_MONOTONIC */
	uint16_t index;
	const char *name;
};

struct ct_an_link {
	uint64_t trace_hi, trace_lo, span;
	uint16_t index;
	uint8_t flags;
};

typedef void (*ct_an_span_fn)(void *arg, const struct ct_partial *p, const struct ct_an_span *s);

/*
 * Hands every span kept since the last call (cfg.keep_spans: every settled span) to fn, in
 * settling order, then lets the partial release them, so that a driver that calls it after
 * each chunk keeps memory bounded. Works on a partial that is not finished as well as on a
 * finished one. Returns the number of spans handed out.
 */
unsigned ct_partial_take_spans(struct ct_partial *p, ct_an_span_fn fn, void *arg);

/*
 * Accessors of a span handed out (i below the matching n_* count). Texts go into buf when
 * they need building; each returns 0, or -EINVAL for an index out of range.
 */
int ct_an_span_cause(const struct ct_partial *p, const struct ct_an_span *s, uint32_t i,
		     struct ct_an_cause *out, char *buf, size_t size);
int ct_an_span_syscall(const struct ct_partial *p, const struct ct_an_span *s, uint32_t i,
		       struct ct_an_syscall *out, char *buf, size_t size);
int ct_an_span_sum(const struct ct_partial *p, const struct ct_an_span *s, uint32_t i,
		   struct ct_an_sum *out, char *buf, size_t size);
int ct_an_span_attr(const struct ct_an_span *s, uint32_t i, struct ct_an_attr *out);
int ct_an_span_event(const struct ct_an_span *s, uint32_t i, struct ct_an_event *out);
int ct_an_span_link(const struct ct_an_span *s, uint32_t i, struct ct_an_link *out);

/* What the partial knows of process pid: service name (buf), sdk and host ("" unknown). */
void ct_an_process(const struct ct_partial *p, int32_t pid, const char **service, const char **sdk,
		   const char **host, char *buf, size_t size);

#endif
