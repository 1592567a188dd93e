// SPDX-License-Identifier: MIT
/* perf_event_open backend (placeholder until written). */
#include <errno.h>
#include <stdio.h>

#include "kbackend.h"

int ct__kbackend_perf_open(struct ct_kbackend **out, const struct ct_kbackend_opts *o,
			   const struct ct_ksink *sink, char *err, size_t errlen)
{
	(void)out;
	(void)o;
	(void)sink;
	snprintf(err, errlen, "perf backend not yet available");
	return -ENOTSUP;
}
