/* SPDX-License-Identifier: MIT */
/*
 * A small text form of crosstrace events, for hand-written test cases (tests/data/<case>/
 * events.txt): one event per line, "TS PID TID NAME field=value ...", with the field names
 * of format/event.def. Parsing is pure (no I/O); the I/O edge (mktrace) writes the events
 * into a real trace directory. The format is described in docs/internals/analysis.md.
 */
#ifndef CT_ANALYSIS_EVTEXT_H
#define CT_ANALYSIS_EVTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "format/event.h"

#define CT_EVTEXT_NO_CPU 0xffff

struct ct_evtext {
	struct ct_event *ev; /* in file order until ct_evtext_sort */
	uint16_t *cpu; /* per event: the kernel stream's CPU (@cpu=N, default 0) */
	uint16_t *raw_id; /* per event: the id to write for "unknown" events, else 0 */
	size_t n, cap;
	uint64_t *cuts; /* "!cut TS" lines: chunk boundaries */
	size_t n_cuts;
	char **strs; /* owned strings the events point into */
	size_t n_strs, cap_strs;
};

/*
 * Parses text[0..len) into t (initialised by the call). Returns 0, or CT_EFORMAT with
 * "line N: what is wrong" in err, or -ENOMEM. On error t holds nothing (no need to fini).
 */
int ct_evtext_parse(struct ct_evtext *t, const char *text, size_t len, char *err, size_t errlen);

/* Orders events as the chunk reader merges them: timestamp, then stream name, then input
 * order. */
void ct_evtext_sort(struct ct_evtext *t);

/* The stream an event is written to: "kernel_cpuN" for kernel events, "ust_PID_TID" else. */
void ct_evtext_stream(const struct ct_evtext *t, size_t i, char *buf, size_t size);

void ct_evtext_fini(struct ct_evtext *t);

/* Parses "1.5ms", "20us", "300" (ns) into ns. Returns 0 or -1. */
int ct_evtext_time(const char *s, uint64_t *out);

#endif
