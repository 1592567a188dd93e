// SPDX-License-Identifier: MIT
/* The LTTng-UST probe provider for bench/span (span_tp.h). */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "span_tp.h"
