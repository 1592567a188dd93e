/* SPDX-License-Identifier: MIT */
/*
 * Runs an in-memory event sequence through the engine cut into pieces: each piece is mapped
 * into its own partial, then the partials are reduced in a chosen grouping. Used by the tests
 * (any cut and any grouping must give the whole-trace result) and the benchmark. Pure.
 */
#ifndef CT_ANALYSIS_CUTRUN_H
#define CT_ANALYSIS_CUTRUN_H

#include <stddef.h>
#include <stdint.h>

#include "analysis.h"

enum ct_grouping {
	CT_GROUP_FOLD = 0, /* ((p0 + p1) + p2) + ...: the starting partial grows */
	CT_GROUP_RIGHT, /* p0 + (p1 + (p2 + ...)): soft partials merge first */
	CT_GROUP_TREE, /* balanced pairs */
};

/*
 * Cuts ev[0..n) (timestamp order) at the times cuts[0..n_cuts) (ascending; an event at a cut
 * time goes right), maps each piece and reduces them with grouping, then finishes. *out is
 * the finished partial (ct_partial_free). Returns 0 or a negative errno.
 */
int ct_an_run(const struct ct_an_config *cfg, const struct ct_event *ev, size_t n,
	      const uint64_t *cuts, size_t n_cuts, enum ct_grouping grouping,
	      struct ct_partial **out);

#endif
