/* SPDX-License-Identifier: MIT */
/*
 * The thread context record: each thread publishes its current span in a fixed 32-byte record
 * in initial-exec TLS, in the layout of the OpenTelemetry thread-context proposal (OTEP 4947,
 * `otel_thread_ctx_v1`) followed by a sequence word. The record sits at the same offset from
 * the thread pointer in every thread of a process, so a reader that knows the offset (sent to
 * the recorder once per process) finds it with one read at fsbase + offset.
 * See docs/internals/threadctx.md.
 */
#ifndef CT_LIB_THREADCTX_H
#define CT_LIB_THREADCTX_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/* Layout version announced with the offset (THREAD_CTX frame, THREAD_CTX_INFO event). */
#define CT_THREAD_CTX_VERSION 1
#define CT_THREAD_CTX_SIZE 32

/* Byte offsets inside the record, for readers that mirror it (BPF). */
#define CT_THREAD_CTX_OFF_TRACE_ID 0
#define CT_THREAD_CTX_OFF_SPAN_ID 16
#define CT_THREAD_CTX_OFF_VALID 24
#define CT_THREAD_CTX_OFF_FLAGS 25
#define CT_THREAD_CTX_OFF_ATTRS_SIZE 26
#define CT_THREAD_CTX_OFF_SEQ 28

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the thread context record's tail word assumes a little-endian machine"
#endif

/*
 * Bytes 0..27 are OTEP 4947's Thread-Local Context Record with no attributes (attrs-data-size
 * 0); `seq` lies after it, where an OTEP reader stops. Bytes 24..31 are one 8-byte word so
 * that an update is four stores:
 *   byte 24 valid: 1 when the ids are the thread's current span, else 0 (OTEP)
 *   byte 25 trace_flags: W3C flags of that span, bit 0 sampled (OTEP)
 *   bytes 26-27 attrs_data_size: always 0, no custom attributes (OTEP)
 *   bytes 28-31 seq: even when stable, odd while the owner thread rewrites the record; bumped
 *     before and after every change, the second time with release semantics, so that a
 *     reader from outside that sees the same even value before and after its copy has a
 *     consistent copy (crosstrace)
 */
struct ct__thread_ctx {
	uint8_t trace_id[16]; /* W3C byte order; zero when no span is current */
	uint8_t span_id[8]; /* W3C byte order */
	_Atomic uint64_t tail; /* valid | trace_flags << 8 | seq << 32 */
};

#define CT_THREAD_CTX_TAIL(valid, flags, seq)                           \
	((uint64_t)(uint8_t)(valid) | (uint64_t)(uint8_t)(flags) << 8 | \
	 (uint64_t)(uint32_t)(seq) << 32)

_Static_assert(sizeof(struct ct__thread_ctx) == CT_THREAD_CTX_SIZE, "record layout");
_Static_assert(__builtin_offsetof(struct ct__thread_ctx, span_id) == CT_THREAD_CTX_OFF_SPAN_ID,
	       "record layout");
_Static_assert(__builtin_offsetof(struct ct__thread_ctx, tail) == CT_THREAD_CTX_OFF_VALID,
	       "record layout");

/* The calling thread's record (32-aligned: one read never straddles a cache line). */
extern __thread struct ct__thread_ctx ct__tctx __attribute__((tls_model("initial-exec")));

/*
 * OTEP 4947's discovery symbol: a pointer to the thread's record, exported in .dynsym. It is
 * set once per thread (ct__tctx_attach, on the thread's first call into the library) and
 * then stays; updates flip `valid` instead, the OTEP's "fixed record" mode.
 */
extern __thread void *otel_thread_ctx_v1;

/* Points otel_thread_ctx_v1 at the calling thread's record. */
void ct__tctx_attach(void);

/*
 * The record's address minus the thread pointer (x86_64: the fs base), identical in every
 * thread of the process because the record is in static (initial-exec) TLS. Sets *out and
 * returns 0, or returns -ENOTSUP on architectures where it is not computed.
 */
int ct__tctx_offset(int64_t *out);

/*
 * Makes ids (W3C byte order) and flags the calling thread's current span, or clears the
 * record when trace_id is NULL. Only the owner thread writes its record.
 */
static inline void ct__tctx_set(const uint8_t *trace_id, const uint8_t *span_id, uint8_t flags)
{
	struct ct__thread_ctx *r = &ct__tctx;
	uint32_t s = (uint32_t)(atomic_load_explicit(&r->tail, memory_order_relaxed) >> 32);

	/* Odd seq, and OTEP's valid = 0, while the ids change. */
	atomic_store_explicit(&r->tail, CT_THREAD_CTX_TAIL(0, 0, s + 1), memory_order_relaxed);
	/*
	 * Orders that word before the id stores (free on x86: stores are not reordered with
	 * stores). Pairs with a reader's acquire fence before its second read of seq.
	 */
	atomic_thread_fence(memory_order_release);
	if (trace_id) {
		memcpy(r->trace_id, trace_id, 16);
		memcpy(r->span_id, span_id, 8);
	} else {
		memset(r->trace_id, 0, 16);
		memset(r->span_id, 0, 8);
		flags = 0;
	}
	/*
	 * Synchronizes with a reader's acquire load of seq: the ids are visible before the even
	 * value (and, for in-thread OTEP readers, before valid = 1).
	 */
	atomic_store_explicit(&r->tail, CT_THREAD_CTX_TAIL(trace_id != NULL, flags, s + 2),
			      memory_order_release);
}

/* Publishes ids (W3C byte order) and flags as the calling thread's current span. */
static inline void ct__tctx_publish(const uint8_t trace_id[16], const uint8_t span_id[8],
				    uint8_t flags)
{
	ct__tctx_set(trace_id, span_id, flags);
}

/* The calling thread has no current span any more. */
static inline void ct__tctx_clear(void)
{
	ct__tctx_set(NULL, NULL, 0);
}

#endif
