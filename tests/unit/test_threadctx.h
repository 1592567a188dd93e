/* SPDX-License-Identifier: MIT */
/*
 * Shared by test_threadctx and its traced program: what the program reports after each step
 * (per thread: where it is and which span its record should show), and the record layout as
 * an outside reader mirrors it, from the documented byte offsets (docs/internals/threadctx.md)
 * rather than from the library's own header.
 */
#ifndef CT_TEST_THREADCTX_H
#define CT_TEST_THREADCTX_H

#include <stdint.h>

#include "crosstrace/crosstrace.h"

struct tc_seen {
	int32_t pid, tid;
	uint64_t fs_base; /* arch_prctl(ARCH_GET_FS) in the thread */
	uint64_t rec_addr; /* otel_thread_ctx_v1 in the thread (0 before its first call) */
	int32_t valid; /* 1: the record should show ctx; 0: no span */
	struct ct_span_context ctx;
};

struct tc_report {
	uint32_t n;
	struct tc_seen th[2];
};

/* The 32-byte record: OTEP 4947's 28-byte header, then crosstrace's sequence word. */
struct tc_rec {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t valid;
	uint8_t flags;
	uint16_t attrs_size;
	uint32_t seq;
};

_Static_assert(sizeof(struct tc_rec) == 32, "the record is 32 bytes");

#endif
