/* SPDX-License-Identifier: MIT */
/*
 * The analysis' I/O edge: reads a trace directory (format/trace_reader.h) and feeds the pure
 * engine. The first chunk is fed to the starting partial directly; later chunks are mapped
 * by worker threads into partials of their own and reduced into it in chunk order, so at
 * most a few chunks' partials are alive at once. Missing chunks become gaps; chunks with
 * losses or read errors flag the spans they overlap.
 */
#ifndef CT_ANALYSIS_DRIVER_H
#define CT_ANALYSIS_DRIVER_H

#include <stdint.h>

#include "analysis.h"
#include "format/trace_reader.h"

struct ct_an_driver_opts {
	const char *dir; /* the trace directory */
	struct ct_an_config cfg;
	unsigned jobs; /* map threads; 0 = one per CPU (at most 8); 1 = all on the caller's */
	/* Events per mapped slice of a chunk (map threads only); 0 = 128 Ki. Smaller slices
	 * hold less memory in flight; tests use tiny ones to cut everywhere. */
	unsigned slice_events;
	/* Told how far the analysis got (events read / expected, 0 when unknown), from the
	 * calling thread, at most every 64 Ki events and once per chunk. Optional. */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
	ct_read_error_fn on_error; /* damage met while reading (optional) */
	void *error_arg;
};

/*
 * Analyses the trace directory o->dir. On success *out is a finished partial (the result;
 * free with ct_partial_free) and 0 is returned; otherwise a negative code with the reason
 * in errbuf (not a trace directory, out of memory). Damaged or missing chunks are not errors:
 * they are reported through on_error and flag the affected spans.
 */
int ct_an_analyse_dir(const struct ct_an_driver_opts *o, struct ct_partial **out, char *errbuf,
		      size_t errlen);

/* Parses a 32-hex-digit trace id (W3C form). Returns 0 or -1. */
int ct_an_parse_trace_id(const char *s, uint64_t *hi, uint64_t *lo);

/*
 * A progress callback for ct_an_driver_opts that draws a bar on stderr when it is a
 * terminal and the analysis takes more than half a second; arg is a struct
 * ct_an_progress_bar (zero-initialised). Call ct_an_progress_done at the end.
 */
struct ct_an_progress_bar {
	uint64_t started_ns, last_ns;
	int tty, drawn;
};
void ct_an_progress(void *arg, uint64_t done, uint64_t total);
void ct_an_progress_done(struct ct_an_progress_bar *b);

#endif
