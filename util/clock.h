/* SPDX-License-Identifier: MIT */
/* The clocks crosstrace stamps events with. CLOCK_MONOTONIC is the clock of
 * bpf_ktime_get_ns() and of perf with use_clockid, so user and kernel events compare. */
#ifndef CT_UTIL_CLOCK_H
#define CT_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* ns, CLOCK_MONOTONIC (vDSO: no system call). */
static inline uint64_t ct_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ns, CLOCK_REALTIME. */
static inline uint64_t ct_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * realtime - monotonic in ns, from the tightest of a few monotonic/realtime/monotonic
 * brackets; *uncertainty_ns (optional) gets half that bracket's width.
 */
int64_t ct_clock_offset_ns(uint64_t *uncertainty_ns);

#endif
