// SPDX-License-Identifier: MIT
/*
 * The process-wide scope timeline: a process keeps each change of its process-wide scope once
 * (spans received without a thread id are current on the whole process), and a thread's
 * interval is read as pieces cut where that scope changes. Cutting every thread's interval at
 * every change made the feed and the sweep O(threads) per change (docs/internals/analysis.md).
 */
#include <string.h>

#include "model.h"

void pr_scope_changed(struct ct_partial *p, struct proc *pr, uint64_t ts, struct frame *top)
{
	struct pscope *e = CT_VEC_PUSH(pr->tl);

	if (!e) {
		p->oom++;
		return;
	}
	e->ts = ts;
	e->top = fr_ref(top);
	e->same = 0;
	if (pr->tl.n > 1 && pr->tl.v[pr->tl.n - 2].ts == ts)
		pr->tl.v[pr->tl_run].same++;
	else
		pr->tl_run = pr->tl.n - 1;
}

void pr_prune_scopes(struct ct_partial *p, struct proc *pr, uint64_t horizon)
{
	uint32_t drop = 0;

	/* Keep the entry that covers the horizon: pieces from there on compare with it. */
	while (drop + 1 < pr->tl.n && pr->tl.v[drop + 1].ts <= horizon)
		drop++;
	if (!drop)
		return;
	fr_unref(p, pr->tl_before);
	pr->tl_before = pr->tl.v[drop - 1].top; /* its reference moves */
	for (uint32_t i = 0; i + 1 < drop; i++)
		fr_unref(p, pr->tl.v[i].top);
	memmove(pr->tl.v, pr->tl.v + drop, (pr->tl.n - drop) * sizeof(pr->tl.v[0]));
	pr->tl.n -= drop;
	/* The entry kept first is the last of its instant (same 0): only the last instant may
	 * have lost its first entry, and then it is that entry. */
	pr->tl_run = pr->tl_run >= drop ? pr->tl_run - drop : 0;
}

static inline struct frame *tl_val(const struct proc *pr, uint32_t k)
{
	return fr_resolve(k == NOIDX ? pr->tl_before : pr->tl.v[k].top);
}

/* Index of the last entry with ts <= at, or NOIDX. */
static uint32_t tl_at(const struct proc *pr, uint64_t at)
{
	uint32_t lo = 0, hi = pr->tl.n;

	if (!hi || pr->tl.v[0].ts > at)
		return NOIDX;
	if (pr->tl.v[hi - 1].ts <= at) /* the usual question: now */
		return hi - 1;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (pr->tl.v[mid].ts <= at)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static inline const struct proc *proc_of_thread(const struct ct_partial *p, const struct thread *t)
{
	const struct proc *pr = t->pr ? t->pr : t->pid > 0 ? pr_find(p, t->pid) : NULL;

	return pr && pr->pid == t->pid ? pr : NULL;
}

/* The piece's end: the first change of the resolved scope after entry k, before re. */
static void piece_end(const struct proc *pr, uint32_t k, uint64_t re, struct piece *pc)
{
	pc->end = re;
	pc->kend = NOIDX;
	for (uint32_t j = k == NOIDX ? 0 : k + 1; j < pr->tl.n && pr->tl.v[j].ts < re; j++) {
		if (tl_val(pr, j) != tl_val(pr, j ? j - 1 : NOIDX)) {
			pc->end = pr->tl.v[j].ts;
			pc->kend = j;
			break;
		}
	}
	if (pc->end < re && (pc->iv.state == TS_BLOCKED || pc->iv.state == TS_UNKNOWN)) {
		/* How a wait ended is its last piece's. */
		pc->iv.flags &= (uint8_t) ~(IV_WOKEN | IV_WAKE_IRQ);
		pc->iv.other = 0;
	}
}

static void piece_init(const struct thread *t, uint32_t i, uint64_t now, struct piece *pc)
{
	pc->iv = t->iv.v[i];
	pc->i = i;
	pc->iv_end = iv_end(t, i, now);
	pc->end = pc->iv_end;
	pc->proc = NULL;
	pc->k = pc->kend = NOIDX;
}

/* tl_at, looking first near the entry hint (walks ask about nearby instants). */
static uint32_t tl_near(const struct proc *pr, uint64_t at, uint32_t hint)
{
	if (hint == NOIDX || hint >= pr->tl.n)
		return tl_at(pr, at);
	for (unsigned n = 0; n < 8; n++) {
		if (pr->tl.v[hint].ts > at) {
			if (!hint)
				return NOIDX;
			hint--;
		} else if (hint + 1 < pr->tl.n && pr->tl.v[hint + 1].ts <= at) {
			hint++;
		} else {
			return hint;
		}
	}
	return tl_at(pr, at);
}

void th_piece_near(const struct ct_partial *p, const struct thread *t, uint32_t i, uint64_t ts,
		   uint64_t now, struct piece *pc, uint32_t hint)
{
	const struct proc *pr = proc_of_thread(p, t);
	uint64_t rs = t->iv.v[i].start, lo, at;
	uint32_t k;

	piece_init(t, i, now, pc);
	if (!pr)
		return;
	if (!pr->tl.n) {
		pc->proc = fr_resolve(pr->tl_before);
		return;
	}
	if (ts < rs)
		ts = rs;
	/* Changes before the thread's first interval was made do not cut its prefix: it holds
	 * the scope current then, as the whole trace saw it. */
	lo = rs > t->first_ev ? rs : t->first_ev;
	at = ts > lo ? ts : lo;
	k = tl_near(pr, at, hint);
	pc->k = k;
	pc->proc = tl_val(pr, k);
	/* The piece's start: the last change of the (resolved) scope after lo, up to ts. */
	for (uint32_t j = k; j != NOIDX && pr->tl.v[j].ts > lo; j--) {
		if (tl_val(pr, j) != tl_val(pr, j ? j - 1 : NOIDX)) {
			pc->iv.start = pr->tl.v[j].ts;
			pc->iv.flags &= (uint8_t)~IV_PREFIX;
			break;
		}
	}
	piece_end(pr, k, pc->iv_end, pc);
}

void th_piece_at(const struct ct_partial *p, const struct thread *t, uint32_t i, uint64_t ts,
		 uint64_t now, struct piece *pc)
{
	th_piece_near(p, t, i, ts, now, pc, NOIDX);
}

int th_piece_next(const struct ct_partial *p, const struct thread *t, uint64_t now,
		  struct piece *pc)
{
	const struct proc *pr;
	uint64_t at;
	uint32_t k;

	if (pc->end < pc->iv_end) {
		/* The next piece of the same interval starts at the change that ended this one
		 * (after every change of that instant). */
		pr = proc_of_thread(p, t);
		k = pc->kend;
		at = pr->tl.v[k].ts;
		while (k + 1 < pr->tl.n && pr->tl.v[k + 1].ts <= at)
			k++;
		pc->iv = t->iv.v[pc->i];
		pc->iv.start = at;
		pc->iv.flags &= (uint8_t)~IV_PREFIX;
		pc->k = k;
		pc->proc = tl_val(pr, k);
		piece_end(pr, k, pc->iv_end, pc);
		return 1;
	}
	if (pc->i + 1 >= t->iv.n)
		return 0;
	pr = proc_of_thread(p, t);
	k = pc->k;
	piece_init(t, pc->i + 1, now, pc);
	if (!pr)
		return 1;
	if (!pr->tl.n) {
		pc->proc = fr_resolve(pr->tl_before);
		return 1;
	}
	/* A later interval starts where its piece does (it began after first_ev). */
	at = pc->iv.start > t->first_ev ? pc->iv.start : t->first_ev;
	if (k != NOIDX && pr->tl.v[k].ts > at) {
		k = tl_at(pr, at); /* (intervals are in time order: not expected) */
	} else {
		for (uint32_t nk = k == NOIDX ? 0 : k + 1; nk < pr->tl.n && pr->tl.v[nk].ts <= at;
		     nk++)
			k = nk;
	}
	pc->k = k;
	pc->proc = tl_val(pr, k);
	if (pc->iv.start < at) {
		/* (only a prefix interval reaches back before first_ev) */
		th_piece_at(p, t, pc->i, pc->iv.start, now, pc);
		return 1;
	}
	piece_end(pr, k, pc->iv_end, pc);
	return 1;
}

void tl_cursor_init(const struct ct_partial *p, const struct thread *t, struct tlcur *c)
{
	c->pr = proc_of_thread(p, t);
	c->from = t->first_ev;
	c->k = NOIDX;
	c->next = NO_END;
	c->val = c->pr ? fr_resolve(c->pr->tl_before) : NULL;
	c->started = 0;
}

struct frame *tl_cursor_move(struct tlcur *c, uint64_t ts)
{
	const struct proc *pr = c->pr;
	uint32_t nk;

	if (!pr || !pr->tl.n) {
		c->started = 1; /* c->next stays NO_END: constant */
		return c->val;
	}
	if (ts < c->from)
		ts = c->from;
	if (!c->started) {
		c->k = tl_at(pr, ts);
		c->started = 1;
	} else if (c->next > ts) {
		return c->val;
	} else {
		/* Galloping: usually a step or two, but a sweep's shortcut may have skipped many
		 * (lo: an entry at or before ts, hi: past it or the end). */
		uint32_t lo = c->k == NOIDX ? 0 : c->k, hi, step = 1;

		if (pr->tl.v[lo].ts > ts) {
			c->k = NOIDX; /* (k NOIDX and nothing reached yet) */
		} else {
			while (lo + step < pr->tl.n && pr->tl.v[lo + step].ts <= ts) {
				lo += step;
				step *= 2;
			}
			hi = lo + step < pr->tl.n ? lo + step : pr->tl.n;
			while (hi - lo > 1) {
				uint32_t mid = lo + (hi - lo) / 2;

				if (pr->tl.v[mid].ts <= ts)
					lo = mid;
				else
					hi = mid;
			}
			c->k = lo;
		}
	}
	nk = c->k == NOIDX ? 0 : c->k + 1;
	c->next = nk < pr->tl.n ? pr->tl.v[nk].ts : NO_END;
	c->val = tl_val(pr, c->k);
	return c->val;
}

struct frame *tl_cursor_next(struct tlcur *c)
{
	const struct proc *pr = c->pr;
	/* the first change at c->next (the cursor is at the last of its instant), then the
	 * last of that instant */
	uint32_t k = c->k == NOIDX ? 0 : c->k + 1;

	k += pr->tl.v[k].same;
	c->k = k;
	c->next = k + 1 < pr->tl.n ? pr->tl.v[k + 1].ts : NO_END;
	c->val = tl_val(pr, k);
	return c->val;
}
