// SPDX-License-Identifier: MIT
/*
 * Scopes: the per-thread stack of current spans. Entering and leaving a scope publishes the
 * new current span in the thread's context record (threadctx.h), where the kernel side can
 * read it, and, for a sampled span, records SCOPE_ENTER / SCOPE_EXIT on the calling thread,
 * which is what lets kernel activity of that thread be attributed to the span, wherever the
 * span was started.
 */
#include "tracer.h"

void ct_scope_enter(const struct ct_span *span)
{
	struct ct__thread *t = ct__thread_get();
	struct ct__scope *sc;
	uint32_t st;
	uint64_t ts;
	uint8_t *p;
	size_t sz = CT__ALIGN8(16 + 24);

	if (!t)
		return;
	if (CT__UNLIKELY(t->depth >= CT_MAX_SCOPE_DEPTH)) {
		/* Counted and ignored, but still counted in depth so that exits pair up. */
		t->depth++;
		ct__count(&t->scope_overflow, 1);
		return;
	}
	ct__span_ids(span); /* a current span's ids are seen: its children and readers use them */
	sc = &t->scopes[t->depth++];
	sc->ctx = span->ctx;
	sc->inherited = 0;
	sc->gen = 0;
	/* From span, not from the scope copy just stored: reading that back stalls. */
	ct__tctx_publish(span->ctx.trace_id, span->ctx.span_id, span->ctx.trace_flags);
	st = __atomic_load_n(&span->state, __ATOMIC_RELAXED);
	/* Only sampled spans record (an ended one too: async code may still run for it). */
	if (!(st & 1u) || !(span->ctx.trace_flags & CT_TRACE_FLAG_SAMPLED) ||
	    span->generation != ct__gen() || !ct__recording())
		return;
	ts = ct_mono_ns();
	p = ct__reserve(t, sz, ts);
	if (!p) {
		ct__drop(t, 1, sz);
		return;
	}
	p = ct__rec_header(p, CT_EV_SCOPE_ENTER, 24, ts);
	p = ct_put_u64(p, ct__be64(span->ctx.span_id));
	p = ct_put_u64(p, ct__be64(span->ctx.trace_id));
	ct_put_u64(p, ct__be64(span->ctx.trace_id + 8));
	ct__commit(t, 1);
	sc->gen = ct__gen();
}

void ct_scope_exit(void)
{
	struct ct__thread *t = ct__self;
	struct ct__scope *sc, *top;
	uint64_t ts;
	uint8_t *p;
	size_t sz = CT__ALIGN8(16 + 8);

	if (!t || !t->depth)
		return;
	if (--t->depth >= CT_MAX_SCOPE_DEPTH)
		return; /* an ignored enter: scopes[CT_MAX_SCOPE_DEPTH - 1] stays current */
	sc = &t->scopes[t->depth];
	top = t->depth ? &t->scopes[t->depth - 1] : NULL;
	/* A fork child starts with no published span, even inside its parent's scopes. */
	if (top && !top->inherited)
		ct__tctx_publish(top->ctx.trace_id, top->ctx.span_id, top->ctx.trace_flags);
	else
		ct__tctx_clear();
	/* Only an enter this generation recorded gets its exit (not one from before a fork). */
	if (!sc->gen || sc->gen != ct__gen() || !ct__recording())
		return;
	ts = ct_mono_ns();
	p = ct__reserve(t, sz, ts);
	if (!p) {
		ct__drop(t, 1, sz);
		return;
	}
	p = ct__rec_header(p, CT_EV_SCOPE_EXIT, 8, ts);
	ct_put_u64(p, ct__be64(sc->ctx.span_id));
	ct__commit(t, 1);
}

const struct ct_span_context *ct_current_context(void)
{
	struct ct__thread *t = ct__self;

	if (!t || !t->depth)
		return NULL;
	return &t->scopes[(t->depth < CT_MAX_SCOPE_DEPTH ? t->depth : CT_MAX_SCOPE_DEPTH) - 1].ctx;
}
