/* SPDX-License-Identifier: MIT */
/*
 * Writing parsed events.txt cases into a real trace directory (format/tracedir.h), one
 * stream per CPU for kernel events and per thread for client events, with chunk boundaries
 * at the given cut times. An I/O edge of the analysis (tests, the ct-mktrace tool).
 */
#ifndef CT_ANALYSIS_MKTRACE_H
#define CT_ANALYSIS_MKTRACE_H

#include <stddef.h>
#include <stdint.h>

#include "evtext.h"

/*
 * Writes t's events (ct_evtext_sort order) into a new trace directory dir, rotating to a
 * new chunk at each of cuts[0..n_cuts) (ascending). Returns 0, or a negative code with the
 * reason in err (directory exists, cannot write).
 */
int ct_mktrace_write(const struct ct_evtext *t, const char *dir, const uint64_t *cuts,
		     size_t n_cuts, char *err, size_t errlen);

#endif
