/* SPDX-License-Identifier: MIT */
/*
 * The analysis configuration the golden cases (tests/data/analysis-*) are checked with, by
 * the engine directly (test_analysis_golden) and through trace directories and the driver
 * (test_analysis_tracedir): both must see the same results.
 */
#ifndef CT_TESTS_GOLDEN_CONFIG_H
#define CT_TESTS_GOLDEN_CONFIG_H

#include <string.h>

#include "analysis/analysis.h"

static inline void golden_config(struct ct_an_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->keep_spans = 1;
	cfg->keep_history = 1;
	cfg->detail_all = 1;
	cfg->top_requests = 1000;
	cfg->settle_every = 3; /* settle often: results must not depend on when */
	cfg->loss_grace_ns = 500000; /* the cases' loss reports come within 500 us */
}

#endif
