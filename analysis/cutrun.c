// SPDX-License-Identifier: MIT
/* Cut-and-reduce runs of an in-memory event sequence (see cutrun.h). */
#include <errno.h>
#include <stdlib.h>

#include "cutrun.h"

static int reduce_range(struct ct_partial **ps, size_t lo, size_t hi, enum ct_grouping g)
{
	int err = 0;

	/* On return ps[lo] holds the reduction of ps[lo..hi). */
	if (hi - lo <= 1)
		return 0;
	if (g == CT_GROUP_FOLD) {
		for (size_t i = lo + 1; i < hi && !err; i++) {
			err = ct_partial_reduce(ps[lo], ps[i]);
			ps[i] = NULL;
		}
		return err;
	}
	if (g == CT_GROUP_RIGHT) {
		for (size_t i = hi - 1; i > lo && !err; i--) {
			err = ct_partial_reduce(ps[i - 1], ps[i]);
			ps[i] = NULL;
		}
		return err;
	}
	{
		size_t mid = lo + (hi - lo) / 2;

		err = reduce_range(ps, lo, mid, g);
		if (!err)
			err = reduce_range(ps, mid, hi, g);
		if (!err) {
			err = ct_partial_reduce(ps[lo], ps[mid]);
			ps[mid] = NULL;
		}
		return err;
	}
}

int ct_an_run(const struct ct_an_config *cfg, const struct ct_event *ev, size_t n,
	      const uint64_t *cuts, size_t n_cuts, enum ct_grouping grouping,
	      struct ct_partial **out)
{
	struct ct_partial **ps = calloc(n_cuts + 1, sizeof(*ps));
	size_t k = 0, i = 0;
	int err = 0;

	*out = NULL;
	if (!ps)
		return -ENOMEM;
	for (k = 0; k <= n_cuts && !err; k++) {
		uint64_t begin = k ? cuts[k - 1] : (n ? ev[0].ts : 0);
		uint64_t end = k < n_cuts ? cuts[k] : UINT64_MAX;

		err = ct_partial_new(&ps[k], cfg, begin, k == 0);
		for (; !err && i < n && ev[i].ts < end; i++)
			ct_partial_feed(ps[k], &ev[i]);
		if (!err)
			ct_partial_end(ps[k], end);
	}
	if (!err)
		err = reduce_range(ps, 0, n_cuts + 1, grouping);
	if (!err)
		err = ct_partial_finish(ps[0]);
	if (!err) {
		*out = ps[0];
		ps[0] = NULL;
	}
	for (k = 0; k <= n_cuts; k++)
		ct_partial_free(ps[k]);
	free(ps);
	return err;
}
