// SPDX-License-Identifier: MIT
/*
 * Settling a partial that starts the trace: everything it holds is final up to its last
 * event, so ended spans are annotated and turned into results (breakdown, causes, detail,
 * critical path, aggregates), open spans are accounted up to now, and history no open span
 * or request can need any more is dropped. Memory is then bounded by the open state:
 * requests and spans open now, and at most `window` of history behind them.
 */
#include <string.h>

#include "model.h"

static uint32_t inc_flags(const struct ct_partial *p, const struct span *s)
{
	uint32_t f = 0;

	for (uint32_t i = 0; i < p->losses.n; i++) {
		const struct loss *l = &p->losses.v[i];

		if (l->end < s->start || l->begin > s->end ||
		    l->reported > s->end + p->cfg.loss_grace_ns)
			continue;
		if (l->pid && l->pid != s->pid)
			continue;
		if (l->tid > 0 && !(s->flags & SP_PROCWIDE)) {
			/* A point event on one thread: only the spans current there. */
			int on = 0;

			for (uint32_t j = 0; j < s->threads.n && !on; j++)
				on = s->threads.v[j].tid == l->tid &&
				     s->threads.v[j].first <= l->end &&
				     s->threads.v[j].last >= l->begin;
			if (!on)
				continue;
		}
		f |= l->what;
	}
	if (s->cat[CT_CAT_UNKNOWN])
		f |= CT_INC_NO_KERNEL_DATA;
	if (s->flags & SP_PROCWIDE)
		f |= CT_INC_PROCESS_WIDE;
	return f;
}

static int cmp_cause(const void *a, const void *b)
{
	const struct cause *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns > y->ns ? -1 : 1;
	if (x->cat != y->cat)
		return (int)x->cat - (int)y->cat;
	return strcmp(x->text, y->text);
}

static int cmp_cause_text(const void *a, const void *b)
{
	const struct cause *x = a, *y = b;
	int c;

	/* Groups equal texts (hash first: cheap); the order between groups does not matter. */
	if (x->thash != y->thash)
		return x->thash < y->thash ? -1 : 1;
	if (x->cat != y->cat)
		return (int)x->cat - (int)y->cat;
	c = strcmp(x->text, y->text);
	if (c)
		return c;
	/* Equal texts merge: keep the merge order-independent. */
	if (x->by_ns != y->by_ns)
		return x->by_ns > y->by_ns ? -1 : 1;
	return x->by < y->by ? -1 : x->by > y->by;
}

/* A span has a handful of causes: insertion sort beats qsort's set-up (both orders are
 * total, so the result is the same). */
static void sort_causes(struct cause *v, uint32_t n, int (*cmp)(const void *, const void *))
{
	if (n > 16) {
		qsort(v, n, sizeof(*v), cmp);
		return;
	}
	for (uint32_t i = 1; i < n; i++) {
		struct cause c = v[i];
		uint32_t j = i;

		while (j > 0 && cmp(&v[j - 1], &c) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = c;
	}
}

/* Causes were keyed by what makes their text: merge equal texts, then order. */
static void merge_equal_causes(struct fspan *f)
{
	uint32_t w = 0;

	if (f->causes.n < 2)
		return;
	sort_causes(f->causes.v, f->causes.n, cmp_cause_text);
	for (uint32_t i = 0; i < f->causes.n; i++) {
		struct cause *c = &f->causes.v[i];

		if (w && f->causes.v[w - 1].thash == c->thash && f->causes.v[w - 1].cat == c->cat &&
		    !strcmp(f->causes.v[w - 1].text, c->text)) {
			struct cause *d = &f->causes.v[w - 1];

			d->ns += c->ns;
			if (c->by_ns > d->by_ns ||
			    (c->by_ns == d->by_ns && c->by && c->by < d->by)) {
				d->by_ns = c->by_ns;
				d->by = c->by;
			}
			free(c->text);
			continue;
		}
		f->causes.v[w++] = *c;
	}
	f->causes.n = w;
	sort_causes(f->causes.v, f->causes.n, cmp_cause);
}

/*
 * Once task names are final (the end of the analysis), causes whose words then read the
 * same are one cause: "preempted by hog[4121]" from each of the hog's threads.
 */
static void label_causes(struct ct_partial *p, struct fspan *f)
{
	char buf[600];

	if (f->labelled)
		return;
	f->labelled = 1;
	for (uint32_t i = 0; i < f->causes.n; i++) {
		struct cause *c = &f->causes.v[i];
		const char *t = lbl(p, c->text, buf, sizeof(buf));
		char *n;

		if (t == c->text)
			continue;
		n = ct_strndup0(t, strlen(t));
		if (!n) {
			p->oom++;
			continue;
		}
		free(c->text);
		c->text = n;
		c->thash = ct_hash_str(n, c->cat);
	}
	merge_equal_causes(f);
}

static void label_kv(struct ct_partial *p, struct kv_vec *v)
{
	char buf[600];
	uint32_t w = 0;

	for (uint32_t i = 0; i < v->n; i++) {
		const char *t = lbl(p, v->v[i].key, buf, sizeof(buf));
		uint32_t j;

		if (t != v->v[i].key) {
			char *n = ct_strndup0(t, strlen(t));

			if (n) {
				free(v->v[i].key);
				v->v[i].key = n;
			} else {
				p->oom++;
			}
		}
		for (j = 0; j < w && strcmp(v->v[j].key, v->v[i].key); j++)
			;
		if (j < w) {
			v->v[j].ns += v->v[i].ns;
			v->v[j].count += v->v[i].count;
			free(v->v[i].key);
			continue;
		}
		v->v[w++] = v->v[i];
	}
	v->n = w;
	/* Keys moved: nothing adds to the list after the end, so the index just goes. */
	ct_hmap_fini(&v->ix);
}

static void label_all(struct ct_partial *p)
{
	for (uint32_t i = 0; i < p->kept.n; i++)
		label_causes(p, p->kept.v[i]);
	for (uint32_t i = 0; i < p->slow_req.n; i++)
		label_causes(p, p->slow_req.v[i]);
	for (uint32_t i = 0; i < p->filt_req.n; i++)
		label_causes(p, p->filt_req.v[i]);
	for (uint32_t i = 0; i < p->op_list.n; i++) {
		struct op *o = p->op_list.v[i];

		for (uint32_t k = 0; k < o->top.n; k++)
			label_causes(p, o->top.v[k]);
		label_kv(p, &o->causes);
	}
}

static int cmp_scs(const void *a, const void *b)
{
	const struct scsum *x = a, *y = b;
	int c = strcmp(x->phase ? x->phase : "", y->phase ? y->phase : "");

	if (c)
		return c;
	if ((x->phase == NULL) != (y->phase == NULL))
		return x->phase ? 1 : -1;
	return (int)x->nr - (int)y->nr;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return x < y ? -1 : x > y;
}

static int trace_match(const struct ct_partial *p, const struct span *s)
{
	return p->cfg.trace_filter && s->trace_hi == p->cfg.trace_hi &&
	       s->trace_lo == p->cfg.trace_lo;
}

/* Moves what the span gathered into a finished span. */
static struct fspan *to_fspan(struct ct_partial *p, struct span *s, uint32_t extra_inc)
{
	struct fspan *f = calloc(1, sizeof(*f));

	if (!f) {
		p->oom++;
		return NULL;
	}
	f->refs = 1;
	f->id = s->id;
	f->parent = s->parent;
	f->trace_hi = s->trace_hi;
	f->trace_lo = s->trace_lo;
	f->start = s->start;
	f->end = s->end;
	f->pid = s->pid;
	f->tid = s->tid;
	f->end_tid = s->end_tid;
	f->kind = s->kind;
	f->status = s->status;
	f->root = (s->flags & SP_ROOT) != 0;
	f->flags = s->flags;
	f->name = s->name;
	f->status_msg = s->status_msg;
	s->name = s->status_msg = NULL;
	memcpy(f->cat, s->cat, sizeof(f->cat));
	f->causes.v = s->causes.v, f->causes.n = s->causes.n, f->causes.cap = s->causes.cap;
	f->scs.v = s->scs.v, f->scs.n = s->scs.n, f->scs.cap = s->scs.cap;
	f->attrs.v = s->attrs.v, f->attrs.n = s->attrs.n, f->attrs.cap = s->attrs.cap;
	f->events.v = s->events.v, f->events.n = s->events.n, f->events.cap = s->events.cap;
	f->links.v = s->links.v, f->links.n = s->links.n, f->links.cap = s->links.cap;
	memset(&s->causes, 0, sizeof(s->causes));
	memset(&s->scs, 0, sizeof(s->scs));
	memset(&s->attrs, 0, sizeof(s->attrs));
	memset(&s->events, 0, sizeof(s->events));
	memset(&s->links, 0, sizeof(s->links));
	merge_equal_causes(f);
	if (f->scs.n > 1)
		qsort(f->scs.v, f->scs.n, sizeof(f->scs.v[0]), cmp_scs);
	for (uint32_t i = 0; i < s->threads.n; i++) {
		int32_t *slot = CT_VEC_PUSH(f->tids);

		if (slot)
			*slot = s->threads.v[i].tid;
	}
	if (f->tids.n > 1)
		qsort(f->tids.v, f->tids.n, sizeof(f->tids.v[0]), cmp_i32);
	f->incomplete = inc_flags(p, s) | extra_inc;
	return f;
}

static void settle_span(struct ct_partial *p, struct span *s, uint32_t extra_inc)
{
	uint64_t d = s->end - s->start;
	int in_window = d <= p->cfg.window_ns;
	struct critpath *cp = NULL;
	struct fspan *f;
	int keep_cp;

	an_sweep(p, s, s->end);
	if (in_window)
		an_wakers(p, s);
	f = to_fspan(p, s, extra_inc);
	if (!f)
		return;
	p->n_spans++;
	if (in_window &&
	    (p->cfg.detail_all || (p->cfg.threshold_ns && d >= p->cfg.threshold_ns) ||
	     trace_match(p, s) || ag_wants_detail(p, f->pid, f->name ? f->name : "", f)))
		an_detail(p, s, f);
	if (f->root) {
		p->n_requests++;
		keep_cp = trace_match(p, s) || p->cfg.keep_spans ||
			  p->slow_req.n < p->cfg.top_requests ||
			  ag_cmp_slow(f, p->slow_req.v[p->slow_req.n - 1]) < 0;
		if (in_window) {
			cp = cp_compute(p, s, keep_cp);
			ag_add_critpath(p, f, cp);
		} else {
			f->incomplete |= CT_INC_TOO_LONG;
		}
		if (keep_cp)
			f->cp = cp;
		else
			cp_free(cp);
		ag_insert_sorted(p, &p->slow_req, f, p->cfg.top_requests);
		if (trace_match(p, s))
			ag_insert_sorted(p, &p->filt_req, f, UINT32_MAX);
	}
	ag_add_span(p, f);
	if (p->cfg.keep_spans || trace_match(p, s) ||
	    (p->cfg.threshold_ns && d >= p->cfg.threshold_ns)) {
		struct fspan **slot = CT_VEC_PUSH(p->kept);

		if (slot) {
			*slot = f;
			f->refs++;
		} else {
			p->oom++;
		}
	}
	fs_unref(f);
}

static void prune_thread(struct ct_partial *p, struct thread *t, uint64_t horizon)
{
	uint32_t drop = 0;

	/* Intervals that ended at or before the horizon. */
	while (drop + 1 < t->iv.n && t->iv.v[drop + 1].start <= horizon)
		drop++;
	if (drop) {
		for (uint32_t i = 0; i < drop; i++)
			iv_release(p, &t->iv.v[i]);
		memmove(t->iv.v, t->iv.v + drop, (t->iv.n - drop) * sizeof(t->iv.v[0]));
		t->iv.n -= drop;
		p->cur_iv -= drop;
	}
	/* Syscalls that ended by then: no kept interval points at them. The prefix record is
	 * referenced only by the first intervals (before the thread's first syscall). */
	drop = 0;
	while (drop < t->sc.n && t->sc_base + drop != t->cur_sc) {
		const struct screc *r = &t->sc.v[drop];
		uint32_t abs = t->sc_base + drop;

		if (r->flags & SC_PREFIX) {
			if (t->iv.n && t->iv.v[0].sc == abs)
				break;
		} else if (r->exit_ts == NO_END || r->exit_ts > horizon) {
			break;
		}
		drop++;
	}
	if (drop) {
		for (uint32_t i = 0; i < drop; i++)
			sc_release(p, &t->sc.v[i]);
		memmove(t->sc.v, t->sc.v + drop, (t->sc.n - drop) * sizeof(t->sc.v[0]));
		t->sc.n -= drop;
		if (t->prefix_sc != NOIDX && t->prefix_sc < t->sc_base + drop)
			t->prefix_sc = NOIDX;
		t->sc_base += drop;
	}
	drop = 0;
	while (drop < t->kev.n && t->kev.v[drop].ts < horizon)
		drop++;
	if (drop) {
		for (uint32_t i = 0; i < drop; i++)
			kev_release(&t->kev.v[i]);
		memmove(t->kev.v, t->kev.v + drop, (t->kev.n - drop) * sizeof(t->kev.v[0]));
		t->kev.n -= drop;
		t->kev_base += drop;
	}
}

static void prune(struct ct_partial *p, uint64_t now)
{
	uint64_t horizon = now;
	uint32_t w = 0;

	for (uint32_t i = 0; i < p->span_order.n; i++) {
		const struct span *s = p->span_order.v[i];

		if (!s)
			continue;
		/* Spans longer than the window get no detail or critical path: they do not hold
		 * history back. An ended one waiting to settle holds it if it will need it. */
		uint64_t span_len = (s->flags & SP_ENDED) ? s->end - s->start : now - s->start;

		if (span_len <= p->cfg.window_ns && s->start < horizon)
			horizon = s->start;
	}
	for (uint32_t i = 0; i < p->thread_list.n; i++)
		prune_thread(p, p->thread_list.v[i], horizon);
	for (uint32_t i = 0; i < p->proc_list.n; i++)
		pr_prune_scopes(p, p->proc_list.v[i], horizon);
	cpu_prune(p, horizon);
	for (uint32_t i = 0; i < p->losses.n; i++)
		if (p->losses.v[i].end >= horizon || p->losses.v[i].soft_begin)
			p->losses.v[w++] = p->losses.v[i];
	p->losses.n = w;
	w = 0;
	for (uint32_t i = 0; i < p->ends.n; i++)
		if (p->ends.v[i].end >= horizon)
			p->ends.v[w++] = p->ends.v[i];
	if (w != p->ends.n) {
		/* Indices moved: the parent index is rebuilt on next use. */
		p->ends.n = w;
		ct_hmap_fini(&p->ends_by_parent);
		p->ends_indexed = 0;
	}
}

void se_settle(struct ct_partial *p, int final)
{
	uint64_t now = p->last_ts;
	uint32_t w = 0;

	if (!p->at_start)
		return;
	for (uint32_t i = 0; i < p->span_order.n; i++) {
		struct span *s = p->span_order.v[i];
		uint32_t extra = 0;

		if (!s)
			continue;
		if (!(s->flags & SP_STARTED)) {
			/* Data about a span whose start is not in the trace. */
			if (final) {
				ct_hmap_del(&p->spans, s->id);
				sp_free(s);
				p->span_order.v[i] = NULL;
			}
			continue;
		}
		if (!(s->flags & SP_ENDED)) {
			if (!final) {
				an_sweep(p, s, now);
				continue;
			}
			s->end = now > s->start ? now : s->start;
			s->end_ev = now;
			s->flags |= SP_ENDED;
			extra = CT_INC_NOT_ENDED;
		}
		if (!final && (s->end > now || now - s->end < p->cfg.loss_grace_ns)) {
			/* Losses reported in the grace period may still concern it. */
			an_sweep(p, s, now);
			continue;
		}
		settle_span(p, s, extra);
		ct_hmap_del(&p->spans, s->id);
		sp_release(p, s);
		p->span_order.v[i] = NULL;
	}
	for (uint32_t i = 0; i < p->span_order.n; i++)
		if (p->span_order.v[i])
			p->span_order.v[w++] = p->span_order.v[i];
	p->span_order.n = w;
	if (!p->cfg.keep_history && !final)
		prune(p, now);
	if (final)
		label_all(p);
}
