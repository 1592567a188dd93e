// SPDX-License-Identifier: MIT
/*
 * Critical path of a request, after Giraldeau & Dagenais' bounded algorithm (Trace Compass
 * CriticalPathAlgorithmBounded): walk backward from the root span's end through the state
 * intervals of the thread that ended it; a wait that a thread's wake-up ended is explained by
 * that waker's own activity within the wait (bounded by the wait's start), recursively; a
 * wait with no waker thread (interrupt, remote peer) is explained by the child span, in
 * another thread or process, that ended last within it. The segments cover the request
 * exactly once. docs/internals/critpath.md has the details and a worked example.
 */
#include <stdio.h>
#include <string.h>

#include "model.h"

#define MAX_STEPS 1000000

struct walk {
	int32_t tid;
	uint32_t hint; /* interval index last used on tid (the walk goes backward) */
	uint32_t khint; /* the process-wide timeline entry last used there */
	uint64_t lo, t; /* still to explain: [lo, t] on tid */
	/* The child span the walk went into from here began on this thread: until then the
	 * same wait was for that service to take the request (0: none). */
	int32_t took_tid;
};

/* The interval of t containing ts, starting from a nearby index. */
static uint32_t iv_near(const struct thread *t, uint64_t ts, uint32_t hint)
{
	if (hint < t->iv.n && t->iv.v[hint].start <= ts && iv_end(t, hint, NO_END) > ts)
		return hint;
	/* Backward by a few (zero-length intervals lie in between), else search. */
	for (uint32_t k = 1; k <= 4 && hint != NOIDX && hint >= k && hint - k < t->iv.n; k++)
		if (t->iv.v[hint - k].start <= ts && iv_end(t, hint - k, NO_END) > ts)
			return hint - k;
	return th_iv_at(t, ts);
}

static void emit(struct ct_partial *p, struct critpath *cp, const struct span *root, int32_t tid,
		 int32_t pid, unsigned cat, const char *detail, const struct frame *inner,
		 uint64_t a, uint64_t b)
{
	struct critseg *s;

	if (b <= a)
		return;
	/* Paths have tens to hundreds of segments: skip the first doublings. */
	if (!cp->seg.cap && CT_VEC_RESERVE(cp->seg, 64)) {
		p->oom++;
		return;
	}
	s = CT_VEC_PUSH(cp->seg);
	if (!s) {
		p->oom++;
		return;
	}
	memset(s, 0, sizeof(*s));
	s->start = a;
	s->dur = b - a;
	s->tid = tid;
	s->pid = pid;
	s->cat = (uint8_t)cat;
	s->span = inner ? inner->span : 0;
	s->same_trace =
		inner && inner->trace_hi == root->trace_hi && inner->trace_lo == root->trace_lo;
	/* Paths nobody reads (aggregates only) have no words: no allocation for them. */
	s->detail = detail[0] ? ct_strndup0(detail, strlen(detail)) : NULL;
}

/*
 * The child span of parent, running off the blocked thread, that overlaps the wait (a, b]
 * and ends last within it: the downstream call the wait was for. A server span usually ends
 * just after its response woke the caller, so overlap, not containment, is the test.
 */
static const struct endrec *child_within(struct ct_partial *p, const struct span *root,
					 uint64_t parent, const struct thread *t, uint64_t a,
					 uint64_t b)
{
	const struct endrec *best = NULL;
	uint64_t best_end = 0, *head;

	/* Index the ends by parent (incrementally: the list only grows between prunes). */
	for (; p->ends_indexed < p->ends.n; p->ends_indexed++) {
		struct endrec *e = &p->ends.v[p->ends_indexed];
		uint64_t *h = e->parent ? ct_hmap_get(&p->ends_by_parent, e->parent) : NULL;

		e->next_sibling = h ? (uint32_t)(*h - 1) : NOIDX;
		if (e->parent && ct_hmap_put(&p->ends_by_parent, e->parent, p->ends_indexed + 1))
			p->oom++;
	}
	head = parent ? ct_hmap_get(&p->ends_by_parent, parent) : NULL;
	for (uint32_t i = head ? (uint32_t)(*head - 1) : NOIDX; i != NOIDX;
	     i = p->ends.v[i].next_sibling) {
		const struct endrec *e = &p->ends.v[i];
		uint64_t end;

		/* Only ends known whenever the walk runs: it runs once the root has been over
		 * for the loss grace period (or at the end of the data). A server span often
		 * ends after the caller's root: its thread was preempted by the caller. */
		if (e->end_ev > root->end + p->cfg.loss_grace_ns || e->end <= a || e->start >= b)
			continue;
		if (e->end_tid == t->tid)
			continue; /* ran on the blocked thread itself: not what it waited for */
		end = e->end < b ? e->end : b;
		if (!best || end > best_end || (end == best_end && e->id < best->id)) {
			best = e;
			best_end = end;
		}
	}
	return best;
}

void cp_free(struct critpath *cp)
{
	if (!cp)
		return;
	for (uint32_t i = 0; i < cp->seg.n; i++)
		free(cp->seg.v[i].detail);
	CT_VEC_FREE(cp->seg);
	free(cp);
}

/* Reverses (the walk emits backward) and merges neighbours that say the same. */
static void finish(struct critpath *cp)
{
	uint32_t n = cp->seg.n, w = 0;

	for (uint32_t i = 0; i < n / 2; i++) {
		struct critseg tmp = cp->seg.v[i];

		cp->seg.v[i] = cp->seg.v[n - 1 - i];
		cp->seg.v[n - 1 - i] = tmp;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct critseg *s = &cp->seg.v[i];

		if (w && cp->seg.v[w - 1].tid == s->tid && cp->seg.v[w - 1].cat == s->cat &&
		    cp->seg.v[w - 1].span == s->span && cp->seg.v[w - 1].pid == s->pid &&
		    !strcmp(cp->seg.v[w - 1].detail ? cp->seg.v[w - 1].detail : "",
			    s->detail ? s->detail : "") &&
		    cp->seg.v[w - 1].start + cp->seg.v[w - 1].dur == s->start) {
			cp->seg.v[w - 1].dur += s->dur;
			free(s->detail);
			continue;
		}
		cp->seg.v[w++] = *s;
	}
	cp->seg.n = w;
}

static const struct thread *start_thread(const struct ct_partial *p, const struct span *root)
{
	const struct thread *t = root->end_tid > 0 ? th_find(p, root->end_tid) : NULL;
	const struct spthread *last = NULL;

	if (t && t->iv.n)
		return t;
	for (uint32_t i = 0; i < root->threads.n; i++)
		if (!last || root->threads.v[i].last >= last->last)
			last = &root->threads.v[i];
	t = last ? th_find(p, last->tid) : NULL;
	if (!t && root->tid > 0)
		t = th_find(p, root->tid);
	return t && t->iv.n ? t : NULL;
}

struct critpath *cp_compute(struct ct_partial *p, const struct span *root, int words)
{
	struct critpath *cp = calloc(1, sizeof(*cp));
	CT_VEC(struct walk) stack = {0};
	const struct thread *t0 = start_thread(p, root);
	char text[512], who[96];
	unsigned steps = 0;

	if (!cp) {
		p->oom++;
		return NULL;
	}
	if (!t0) {
		snprintf(text, sizeof(text), "no thread data (process-wide span)");
		emit(p, cp, root, 0, root->pid, CT_CAT_UNKNOWN, text, NULL, root->start, root->end);
		finish(cp);
		return cp;
	}
	{
		struct walk *w = CT_VEC_PUSH(stack);
		/* Before its start event the span was nowhere (explicit start time in the past);
		 * history from then on is all the walk may rely on. */
		uint64_t lo = root->start_ev > root->start && root->start_ev < root->end
				      ? root->start_ev
				      : root->start;

		if (!w) {
			p->oom++;
			free(cp);
			return NULL;
		}
		*w = (struct walk){
			.tid = t0->tid, .hint = NOIDX, .khint = NOIDX, .lo = lo, .t = root->end};
		emit(p, cp, root, t0->tid, t0->pid, CT_CAT_INACTIVE,
		     "before the span was recorded (explicit start time)", NULL, root->start, lo);
	}
	while (stack.n) {
		struct walk *w = &stack.v[stack.n - 1];
		const struct thread *t;
		const struct ival *iv;
		struct piece pc;
		uint32_t i;
		uint64_t a, end;
		unsigned cat;
		int32_t by;

		if (w->t <= w->lo) {
			stack.n--;
			continue;
		}
		t = th_find(p, w->tid);
		if (++steps > MAX_STEPS) {
			/* Keep the sum exact even when giving up. */
			cp->truncated = 1;
			emit(p, cp, root, w->tid, task_pid(p, w->tid), CT_CAT_UNKNOWN,
			     "critical path not followed further (too many steps)", NULL, w->lo,
			     w->t);
			w->t = w->lo;
			continue;
		}
		i = t ? iv_near(t, w->t - 1, w->hint) : NOIDX;
		w->hint = i;
		if (i == NOIDX) {
			task_label(p, w->tid, who, sizeof(who));
			snprintf(text, sizeof(text), "no kernel data for %s", who);
			emit(p, cp, root, w->tid, task_pid(p, w->tid), CT_CAT_UNKNOWN, text, NULL,
			     w->lo, w->t);
			w->t = w->lo;
			continue;
		}
		/* The piece with its process-wide scope then (a wait's end is its last piece's). */
		th_piece_quick(p, t, i, w->t - 1, NO_END, &pc, w->khint);
		w->khint = pc.k;
		iv = &pc.iv;
		end = pc.end;
		a = iv->start > w->lo ? iv->start : w->lo;
		if (iv->state == TS_BLOCKED && end == w->t && (iv->flags & IV_WOKEN) &&
		    th_waker(p, t, i) > 0) {
			/* Woken by a thread: what it did until then is what this wait was for. */
			struct walk *n;
			int32_t waker = iv->other;
			uint64_t t_end = w->t;

			w->t = a;
			n = CT_VEC_PUSH(stack);
			if (!n) {
				p->oom++;
				break;
			}
			*n = (struct walk){
				.tid = waker, .hint = NOIDX, .khint = NOIDX, .lo = a, .t = t_end};
			continue;
		}
		if (iv->state == TS_RUNNABLE && iv->cpu != NO_CPU) {
			/* Runnable: one segment per task that held the CPU meanwhile. */
			uint64_t since, until;

			an_cpu_holder(p, t, iv, w->t - 1, &since, &until);
			if (since > a)
				a = since;
			cat = an_classify_at(p, t, iv, w->t - 1, words ? text : NULL, sizeof(text),
					     &by);
		} else {
			/* The words are costly: only for paths that are kept. */
			cat = an_classify(p, t, iv, words ? text : NULL, sizeof(text), &by);
		}
		if (!words)
			text[0] = 0;
		if (iv->state == TS_BLOCKED) {
			const struct frame *inner = an_innermost(&pc);
			const struct endrec *c =
				inner ? child_within(p, root, inner->span, t, a, w->t) : NULL;

			if (c) {
				/* Waiting for a child span elsewhere (a downstream call). */
				uint64_t c_lo = c->start > a ? c->start : a, t_end = w->t;
				uint64_t c_hi = c->end < t_end ? c->end : t_end;
				const struct thread *ct =
					c->end_tid > 0 ? th_find(p, c->end_tid) : NULL;
				struct walk *n;

				emit(p, cp, root, t->tid, t->pid, cat, text, inner, c_hi, t_end);
				w->t = c_lo;
				w->took_tid = c->start_tid > 0 ? c->start_tid : c->end_tid;
				if (!ct || !ct->iv.n) {
					snprintf(text, sizeof(text),
						 "child span in pid %d (no thread data)", c->pid);
					emit(p, cp, root, c->end_tid, c->pid, CT_CAT_UNKNOWN, text,
					     NULL, c_lo, c_hi);
					continue;
				}
				n = CT_VEC_PUSH(stack);
				if (!n) {
					p->oom++;
					break;
				}
				*n = (struct walk){.tid = ct->tid,
						   .hint = NOIDX,
						   .khint = NOIDX,
						   .lo = c_lo,
						   .t = c_hi};
				continue;
			}
		}
		if (w->took_tid && iv->state == TS_BLOCKED && words) {
			/* The part of a wait for a downstream call before the callee's span
			 * began: queued there (accept backlog, busy workers) or in transit. */
			size_t len = strlen(text);

			snprintf(text + len, sizeof(text) - len,
				 ", before \x01%d\x02 took the request", w->took_tid);
		}
		w->took_tid = 0;
		emit(p, cp, root, t->tid, t->pid > 0 ? t->pid : task_pid(p, t->tid), cat, text,
		     an_innermost(&pc), a, w->t);
		w->t = a;
	}
	CT_VEC_FREE(stack);
	finish(cp);
	return cp;
}
