/* SPDX-License-Identifier: MIT */
/*
 * Received spans as crosstrace events (format/event.def): SPAN_START, its ATTR_*, SPAN_LINK,
 * SCOPE_ENTER at the start; SPAN_EVENT (+ attributes) at their times; SCOPE_EXIT, SPAN_STATUS
 * (when set) and SPAN_END at the end; and a process's PROCESS_INFO + resource attributes. Wall-clock span times
 * become CLOCK_MONOTONIC with a given offset, and every span gets the attribute
 * crosstrace.time_uncertainty_ns saying how far its times may be off. Pure: no I/O.
 */
#ifndef CT_NET_SPAN_EVENTS_H
#define CT_NET_SPAN_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "format/event.h"
#include "span_model.h"
#include "util/buf.h"

/* Longest strings written into events (longer ones are cut and counted in *truncated). */
#define CT_SPAN_EV_MAX_NAME 1024
#define CT_SPAN_EV_MAX_VALUE 16384

#define CT_ATTR_TIME_UNCERTAINTY "crosstrace.time_uncertainty_ns"

/*
 * Receives a run of n events of one time, process and thread (format/event.h), in the order a
 * reader needs them, len bytes in all, valid during the call only. Returns 0 or a negative
 * code that stops the conversion.
 */
typedef int (*ct_span_emit_fn)(void *arg, uint64_t ts, int32_t pid, int32_t tid, const void *events,
			       size_t len, uint32_t n);

struct ct_span_ev_clock {
	int64_t offset_ns; /* realtime - monotonic, as sampled by the receiver */
	uint64_t uncertainty_ns; /* of that offset */
};

/* Wall-clock ns → CLOCK_MONOTONIC ns (0 when before the monotonic epoch). */
uint64_t ct_span_ev_mono(const struct ct_span_ev_clock *c, uint64_t real_ns);

/*
 * Emits the events of span s of batch b (pid: its resource's process.pid or 0; tid: its
 * thread.id or 0), in the order a reader needs them for equal timestamps, as runs of events
 * of one time (the start's, each span event's, the end's; one run when times are equal).
 * scratch: where runs are built, kept by the caller from call to call so that a conversion
 * allocates nothing; its contents are not kept. *truncated (may be NULL) is increased by the
 * number of strings cut. Returns 0, -ENOMEM (scratch could not grow), or the first emit
 * error. Thread-safe when each thread has its own scratch.
 */
int ct_span_events(const struct ct_nbatch *b, const struct ct_nspan *s,
		   const struct ct_span_ev_clock *c, struct ct_buf *scratch, ct_span_emit_fn emit,
		   void *arg, uint64_t *truncated);

/*
 * Emits PROCESS_INFO (service, sdk, host) and the resource's attributes (ATTR_* with span_id
 * 0) at ts for resource r of b, as one run. scratch as for ct_span_events. Returns 0,
 * -ENOMEM or the emit error.
 */
int ct_resource_events(const struct ct_nbatch *b, const struct ct_nresource *r, uint64_t ts,
		       struct ct_buf *scratch, ct_span_emit_fn emit, void *arg,
		       uint64_t *truncated);

#endif
