// SPDX-License-Identifier: MIT
/* ct_now_ns: the client's clock, CLOCK_MONOTONIC like the kernel's bpf_ktime_get_ns(). */
#include "crosstrace/crosstrace.h"
#include "util/clock.h"

uint64_t ct_now_ns(void)
{
	return ct_mono_ns();
}
