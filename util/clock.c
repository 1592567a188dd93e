// SPDX-License-Identifier: MIT
/* Sampling the realtime - monotonic offset (see clock.h). */
#include "clock.h"

int64_t ct_clock_offset_ns(uint64_t *uncertainty_ns)
{
	uint64_t best_w = UINT64_MAX;
	int64_t best = 0;

	for (int i = 0; i < 5; i++) {
		uint64_t a = ct_mono_ns(), r = ct_real_ns(), b = ct_mono_ns();

		if (b - a < best_w) {
			best_w = b - a;
			best = (int64_t)(r - (a + (b - a) / 2));
		}
	}
	if (uncertainty_ns)
		*uncertainty_ns = best_w / 2 + 1;
	return best;
}
