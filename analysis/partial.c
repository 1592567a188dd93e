// SPDX-License-Identifier: MIT
/*
 * Partials: creation, the event dispatch (kernel events to the thread state machine, client
 * events to the span table), and the shared tables every other file uses: threads,
 * processes, task names, scope frames.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "syscalls.h"
#include "util/decimal.h"

static const char *const cat_names[CT_CAT_N] = {
	"cpu-user",	"cpu-kernel",	   "runnable",	    "blocked-io",
	"blocked-lock", "blocked-network", "blocked-sleep", "blocked-other",
	"unknown",	"inactive",	   "children",
};

const char *ct_cat_name(unsigned cat)
{
	return cat < CT_CAT_N ? cat_names[cat] : "?";
}

char *ct_strndup0(const char *s, size_t n)
{
	char *d;

	if (!s)
		s = "";
	n = strnlen(s, n);
	d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

size_t txt_put(char *buf, size_t size, size_t at, const char *s)
{
	size_t n = strlen(s);

	if (at + n >= size)
		n = at < size ? size - at - 1 : 0;
	memcpy(buf + at, s, n);
	buf[at + n] = 0;
	return at + n;
}

size_t txt_put_int(char *buf, size_t size, size_t at, int64_t v)
{
	char d[CT_DECIMAL_MAX + 1];

	d[CT_DECIMAL_MAX] = 0;
	return txt_put(buf, size, at, ct_decimal(d + CT_DECIMAL_MAX, ct_decimal_abs(v), v < 0));
}

uint64_t ct_hash_str(const char *s, uint64_t seed)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (seed * 0x9e3779b97f4a7c15ull);
	size_t n = s ? strlen(s) : 0, i = 0;

	/* Eight bytes at a time (cause texts are hashed once per cause of every span); only
	 * equality of results matters to callers, never their order. */
	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
	}
	for (; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
	h ^= n;
	h ^= h >> 29;
	return h ? h : 1;
}

void p_anomaly(struct ct_partial *p)
{
	p->anomalies++;
}

/* ---- frames ---- */

struct frame *fr_new(struct ct_partial *p, uint64_t span, struct frame *parent, int32_t tid,
		     int32_t pid, uint8_t flags)
{
	struct frame *f = p->frame_pool;

	if (f) {
		p->frame_pool = f->parent;
		/* released long ago, rarely in cache: the next one is fetched meanwhile */
		__builtin_prefetch(p->frame_pool);
		memset(f, 0, sizeof(*f));
	} else if (!(f = calloc(1, sizeof(*f)))) {
		p->oom++;
		return NULL;
	}
	f->span = span;
	f->parent = fr_ref(parent);
	f->tid = tid;
	f->pid = pid;
	f->exit_ts = NO_END;
	f->flags = flags;
	f->next = p->frames.next;
	f->prev = &p->frames;
	p->frames.next->prev = f;
	p->frames.next = f;
	return f;
}

void fr_unref(struct ct_partial *p, struct frame *f)
{
	if (p->teardown)
		return;
	while (f && --f->refs == 0) {
		struct frame *parent = f->parent, *fwd = f->fwd;

		f->prev->next = f->next;
		f->next->prev = f->prev;
		f->parent = p->frame_pool;
		p->frame_pool = f;
		fr_unref(p, fwd);
		f = parent;
	}
}

static uint64_t floor_key(int32_t tid, int32_t pid, uint16_t level)
{
	/* Thread floors by tid, process-wide ones by pid with bit 62 set. */
	uint64_t who = tid ? (uint64_t)(uint32_t)tid : ((uint64_t)(uint32_t)pid | 1ull << 30);

	return (who << 16 | level) + 1;
}

struct frame *fr_floor(struct ct_partial *p, int32_t tid, int32_t pid, uint16_t level)
{
	uint64_t key = floor_key(tid, pid, level);
	uint64_t *v = ct_hmap_get(&p->floors, key);
	struct frame *f;

	if (v)
		return (struct frame *)(uintptr_t)*v;
	/* The level below is created lazily too: only popped floors need a parent. */
	f = fr_new(p, 0, NULL, tid, pid, FR_FLOOR | (tid ? 0 : FR_PROC));
	if (!f)
		return NULL;
	f->level = level;
	f->refs = 1; /* held by the floors table */
	if (ct_hmap_put(&p->floors, key, (uint64_t)(uintptr_t)f)) {
		p->oom++;
		fr_unref(p, f);
		return NULL;
	}
	return f;
}

/* ---- threads, processes, task names ---- */

struct thread *th_find(const struct ct_partial *p, int32_t tid)
{
	uint64_t *v = ct_hmap_get(&p->threads, (uint64_t)(uint32_t)tid);

	return v ? (struct thread *)(uintptr_t)*v : NULL;
}

struct proc *pr_find(const struct ct_partial *p, int32_t pid)
{
	uint64_t *v = ct_hmap_get(&p->procs, (uint64_t)(uint32_t)pid);

	return v ? (struct proc *)(uintptr_t)*v : NULL;
}

struct proc *pr_get(struct ct_partial *p, int32_t pid)
{
	struct proc *pr, **slot;

	/* Every scope change of a process-wide span asks, nearly always for the same pid. */
	if (p->pr_last && p->pr_last->pid == pid)
		return p->pr_last;
	pr = pr_find(p, pid);
	if (pr)
		p->pr_last = pr;
	if (pr || pid <= 0)
		return pr;
	pr = calloc(1, sizeof(*pr));
	slot = CT_VEC_PUSH(p->proc_list);
	if (!pr || !slot ||
	    ct_hmap_put(&p->procs, (uint64_t)(uint32_t)pid, (uint64_t)(uintptr_t)pr)) {
		if (slot)
			p->proc_list.n--;
		free(pr);
		p->oom++;
		return NULL;
	}
	*slot = pr;
	pr->pid = pid;
	ct_hmap_init(&pr->fds);
	if (!p->at_start) {
		pr->pstack = fr_ref(fr_floor(p, 0, pid, 0));
		pr->tl_before = fr_ref(pr->pstack);
	}
	return pr;
}

void th_set_pid(struct ct_partial *p, struct thread *t, int32_t pid)
{
	struct proc *pr;
	int32_t *slot;

	if (pid <= 0 || t->pid == pid)
		return;
	t->pid = pid;
	pr = pr_get(p, pid);
	t->pr = pr;
	if (!pr)
		return;
	slot = CT_VEC_PUSH(pr->tids);
	if (slot)
		*slot = t->tid;
	else
		p->oom++;
}

struct thread *th_get(struct ct_partial *p, int32_t tid)
{
	struct thread *t = th_find(p, tid), **slot;

	if (t || tid <= 0)
		return t;
	t = calloc(1, sizeof(*t));
	slot = CT_VEC_PUSH(p->thread_list);
	if (!t || !slot ||
	    ct_hmap_put(&p->threads, (uint64_t)(uint32_t)tid, (uint64_t)(uintptr_t)t)) {
		if (slot)
			p->thread_list.n--;
		free(t);
		p->oom++;
		return NULL;
	}
	*slot = t;
	t->tid = tid;
	t->cur_sc = NOIDX;
	t->prefix_sc = NOIDX;
	t->wcpu = NO_CPU;
	if (!p->at_start)
		t->own = fr_ref(fr_floor(p, tid, 0, 0));
	return t;
}

static uint32_t intern_comm(struct ct_partial *p, const char *comm, size_t len)
{
	char buf[64];
	uint64_t h, *v;
	char **slot;

	len = strnlen(comm, len < sizeof(buf) - 1 ? len : sizeof(buf) - 1);
	memcpy(buf, comm, len);
	buf[len] = 0;
	h = ct_hash_str(buf, 7);
	v = ct_hmap_get(&p->comm_ix, h);
	if (v && !strcmp(p->comms.v[*v - 1], buf))
		return (uint32_t)*v - 1;
	slot = CT_VEC_PUSH(p->comms);
	if (!slot || !(*slot = ct_strndup0(buf, len))) {
		if (slot)
			p->comms.n--;
		p->oom++;
		return NOIDX;
	}
	if (!v)
		ct_hmap_put(&p->comm_ix, h, p->comms.n);
	return p->comms.n - 1;
}

void task_name(struct ct_partial *p, int32_t tid, int32_t pid, const char *comm, size_t len)
{
	uint64_t *v;
	uint32_t ci;

	if (tid <= 0)
		return;
	v = ct_hmap_get(&p->tasks, (uint64_t)(uint32_t)tid);
	if (!comm || !*comm) {
		if (!v && pid > 0)
			ct_hmap_put(&p->tasks, (uint64_t)(uint32_t)tid,
				    (uint64_t)(uint32_t)pid << 32 | NOIDX);
		else if (v && pid > 0)
			*v = (uint64_t)(uint32_t)pid << 32 | (*v & 0xffffffffu);
		return;
	}
	if (v && (uint32_t)*v != NOIDX && (uint32_t)*v < p->comms.n &&
	    (pid <= 0 || (int32_t)(*v >> 32) == pid)) {
		/* Seen with this name already (every context switch names its task). */
		const char *cur = p->comms.v[(uint32_t)*v];
		size_t n = strnlen(comm, len < 63 ? len : 63);

		if (!strncmp(cur, comm, n) && cur[n] == 0)
			return;
	}
	ci = intern_comm(p, comm, len);
	if (pid <= 0 && v)
		pid = (int32_t)(*v >> 32);
	ct_hmap_put(&p->tasks, (uint64_t)(uint32_t)tid, (uint64_t)(uint32_t)pid << 32 | ci);
}

struct thread *pr_thread(const struct ct_partial *p, struct proc *pr, uint32_t i)
{
	/* Threads are never removed and tids only grow: a thread once found stays the one.
	 * A tid may be listed before its thread exists (stitching): the prefix stops there. */
	while (pr->thr.n <= i && pr->thr.n < pr->tids.n) {
		struct thread *t = th_find(p, pr->tids.v[pr->thr.n]), **slot;

		if (!t || !(slot = CT_VEC_PUSH(pr->thr)))
			break;
		*slot = t;
	}
	return i < pr->thr.n ? pr->thr.v[i] : th_find(p, pr->tids.v[i]);
}

int32_t task_pid(const struct ct_partial *p, int32_t tid)
{
	uint64_t *v = ct_hmap_get(&p->tasks, (uint64_t)(uint32_t)tid);
	struct thread *t;

	if (v && (int32_t)(*v >> 32) > 0)
		return (int32_t)(*v >> 32);
	t = th_find(p, tid);
	return t && t->pid > 0 ? t->pid : 0;
}

void task_label(const struct ct_partial *p, int32_t tid, char *buf, size_t size)
{
	if (tid <= 0) {
		snprintf(buf, size, tid < 0 ? "interrupt" : "whole process");
		return;
	}
	uint64_t *v = ct_hmap_get(&p->tasks, (uint64_t)(uint32_t)tid);
	uint32_t ci = v ? (uint32_t)*v : NOIDX;
	int32_t pid = task_pid(p, tid);

	if (ci != NOIDX && ci < p->comms.n) {
		/* "%s[%d]" by hand: every cause handed out names its tasks this way. */
		size_t at = txt_put(buf, size, 0, p->comms.v[ci]);

		at = txt_put(buf, size, at, "[");
		at = txt_put_int(buf, size, at, pid > 0 ? pid : tid);
		txt_put(buf, size, at, "]");
	} else if (pid > 0 && pid != tid)
		snprintf(buf, size, "pid %d tid %d", pid, tid);
	else
		snprintf(buf, size, "tid %d", tid);
}

uint32_t th_iv_at(const struct thread *t, uint64_t ts)
{
	uint32_t lo = 0, hi = t->iv.n;

	if (!t->iv.n || ts < t->iv.v[0].start)
		return NOIDX;
	/* Last interval with start <= ts. */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->iv.v[mid].start <= ts)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int32_t th_waker(const struct ct_partial *p, const struct thread *t, uint32_t i)
{
	const struct ival *iv = &t->iv.v[i], *wiv = NULL;
	const struct thread *w;
	uint64_t at;
	uint32_t k;

	if (iv->state != TS_BLOCKED || !(iv->flags & IV_WOKEN))
		return 0;
	if (iv->other <= 0 || iv->other == t->tid)
		return iv->other < 0 ? -1 : 0;
	at = iv_end(t, i, NO_END);
	w = th_find(p, iv->other);
	/* The waker's intervals around the instant: those starting at it too, since events of
	 * the same nanosecond on other CPUs have no order. */
	for (k = w ? th_iv_at(w, at) : NOIDX; k != NOIDX; k--) {
		const struct screc *r;

		wiv = &w->iv.v[k];
		/* A prefix record is "whatever it was doing when the data began": for a task
		 * outside the traced processes (seen only switching with one), forever. */
		r = wiv->state == TS_RUNNING ? th_sc(w, wiv->sc) : NULL;
		if (r && !(r->flags & SC_PREFIX))
			return iv->other;
		if (wiv->start < at || k == 0)
			break;
	}
	/* User code wakes nobody: an interrupt did (on the interrupted task's stack). Any
	 * other state means our data about the waker is incomplete. */
	return wiv && wiv->state == TS_RUNNING && wiv->sc == NOIDX ? -1 : 0;
}

void iv_release(struct ct_partial *p, struct ival *iv)
{
	fr_unref(p, iv->own);
	iv->own = NULL;
}

void sc_release(struct ct_partial *p, struct screc *r)
{
	fd_unref(p, r->fd);
	fr_unref(p, r->own);
	fr_unref(p, r->proc);
	free(r->text);
	r->fd = NULL;
	r->own = r->proc = NULL;
	r->text = NULL;
}

void kev_release(struct kev *k)
{
	free(k->text);
	k->text = NULL;
}

/* ---- lifecycle ---- */

static struct ct_partial *alloc_partial(const struct ct_an_config *cfg, uint64_t begin,
					int at_start)
{
	struct ct_partial *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cfg = *cfg;
	if (!p->cfg.top_k)
		p->cfg.top_k = 5;
	if (!p->cfg.top_requests)
		p->cfg.top_requests = 10;
	if (!p->cfg.window_ns)
		p->cfg.window_ns = 60000000000ull;
	if (!p->cfg.settle_every)
		p->cfg.settle_every = 65536;
	if (!p->cfg.loss_grace_ns)
		p->cfg.loss_grace_ns = 50000000ull;
	p->begin = begin;
	p->end = NO_END;
	p->at_start = at_start;
	p->frames.next = p->frames.prev = &p->frames;
	p->fdinfos.next = p->fdinfos.prev = &p->fdinfos;
	return p;
}

int ct_partial_new(struct ct_partial **out, const struct ct_an_config *cfg, uint64_t begin_ns,
		   int at_start)
{
	*out = alloc_partial(cfg, begin_ns, at_start);
	return *out ? 0 : -ENOMEM;
}

int ct_partial_new_gap(struct ct_partial **out, const struct ct_an_config *cfg, uint64_t begin_ns,
		       uint64_t end_ns, int at_start)
{
	struct ct_partial *p = alloc_partial(cfg, begin_ns, at_start);
	struct loss *l;

	*out = p;
	if (!p)
		return -ENOMEM;
	p->gap = 1;
	p->end = end_ns;
	l = CT_VEC_PUSH(p->losses);
	if (!l) {
		ct_partial_free(p);
		*out = NULL;
		return -ENOMEM;
	}
	*l = (struct loss){
		.begin = begin_ns, .end = end_ns, .what = CT_INC_MISSING_CHUNK, .cpu = -1};
	return 0;
}

void ct_partial_loss(struct ct_partial *p, uint64_t begin_ns, uint64_t end_ns, const char *what)
{
	struct loss *l = CT_VEC_PUSH(p->losses);

	if (!l) {
		p->oom++;
		return;
	}
	*l = (struct loss){.begin = begin_ns, .end = end_ns, .reported = begin_ns, .cpu = -1};
	l->what = !strcmp(what, "read-errors")	   ? CT_INC_READ_ERRORS
		  : !strcmp(what, "missing-chunk") ? CT_INC_MISSING_CHUNK
						   : CT_INC_LOST_EVENTS;
}

void ct_partial_clock(struct ct_partial *p, uint64_t begin_ns, int64_t offset_ns)
{
	struct clockpt *c = CT_VEC_PUSH(p->clocks);

	if (!c) {
		p->oom++;
		return;
	}
	c->begin = begin_ns;
	c->offset = offset_ns;
}

void ct_partial_end(struct ct_partial *p, uint64_t end_ns)
{
	p->end = end_ns;
}

static void unknown_event(struct ct_partial *p, const struct ct_event *ev)
{
	/* Flags the spans current on its thread then (or its process' process-wide spans). */
	struct loss *l = CT_VEC_PUSH(p->losses);

	p->unknown_events++;
	if (!l) {
		p->oom++;
		return;
	}
	*l = (struct loss){.begin = ev->ts,
			   .end = ev->ts,
			   .reported = ev->ts,
			   .what = CT_INC_UNKNOWN_EVENTS,
			   .cpu = -1,
			   .pid = ev->pid,
			   .tid = ev->tid};
}

void ct_partial_feed(struct ct_partial *p, const struct ct_event *ev_in)
{
	struct ct_event evc;
	const struct ct_event *ev = ev_in;

	if (p->finished || p->gap)
		return;
	if (p->events == 0) {
		if (p->at_start)
			p->begin = ev->ts;
		p->first_ts = ev->ts;
	}
	if (ev->ts < p->last_ts || ev->ts < p->begin) {
		/* The readers never do this; keep the model consistent if a caller does. */
		evc = *ev;
		evc.ts = p->last_ts > p->begin ? p->last_ts : p->begin;
		ev = &evc;
		p_anomaly(p);
	}
	if (p->at_start && ev->ts > p->last_ts && p->since_settle >= p->cfg.settle_every) {
		se_settle(p, 0);
		p->since_settle = 0;
	}
	p->events++;
	p->since_settle++;
	p->last_ts = ev->ts;
	if (ev->type >= 1 && ev->type < 64)
		sp_feed_client(p, ev);
	else if (ev->type >= 64 && ev->type < CT_EV_MAX)
		ts_feed_kernel(p, ev);
	else
		unknown_event(p, ev);
}

static void free_thread(struct ct_partial *p, struct thread *t)
{
	for (uint32_t i = 0; i < t->iv.n; i++)
		iv_release(p, &t->iv.v[i]);
	for (uint32_t i = 0; i < t->sc.n; i++)
		sc_release(p, &t->sc.v[i]);
	for (uint32_t i = 0; i < t->kev.n; i++)
		kev_release(&t->kev.v[i]);
	fr_unref(p, t->own);
	CT_VEC_FREE(t->iv);
	CT_VEC_FREE(t->sc);
	CT_VEC_FREE(t->kev);
	free(t);
}

static void free_proc(struct ct_partial *p, struct proc *pr)
{
	uint64_t k, v;

	for (size_t it = 0; ct_hmap_next(&pr->fds, &it, &k, &v);)
		if (v)
			fd_unref(p, (struct fdinfo *)(uintptr_t)v);
	ct_hmap_fini(&pr->fds);
	fr_unref(p, pr->pstack);
	for (uint32_t i = 0; i < pr->tl.n; i++)
		fr_unref(p, pr->tl.v[i].top);
	CT_VEC_FREE(pr->tl);
	fr_unref(p, pr->tl_before);
	for (uint32_t i = 0; i < pr->rattrs.n; i++)
		attr_fini(&pr->rattrs.v[i]);
	CT_VEC_FREE(pr->rattrs);
	CT_VEC_FREE(pr->tids);
	CT_VEC_FREE(pr->thr);
	free(pr->service);
	free(pr->comm);
	free(pr->sdk);
	free(pr->host);
	free(pr);
}

void ct_partial_free(struct ct_partial *p)
{
	if (!p)
		return;
	/* References between frames, fd infos and records are not undone one by one: the
	 * partial's lists free them all at the end. */
	p->teardown = 1;
	for (uint32_t i = 0; i < p->thread_list.n; i++)
		free_thread(p, p->thread_list.v[i]);
	for (uint32_t i = 0; i < p->proc_list.n; i++)
		free_proc(p, p->proc_list.v[i]);
	for (uint32_t i = 0; i < p->span_order.n; i++)
		if (p->span_order.v[i])
			sp_free(p->span_order.v[i]);
	for (uint32_t i = 0; i < p->orphans.n; i++)
		free(p->orphans.v[i].msg);
	for (uint32_t i = 0; i < p->comms.n; i++)
		free(p->comms.v[i]);
	for (uint32_t i = 0; i < p->op_list.n; i++)
		ag_free_op(p->op_list.v[i]);
	for (uint32_t i = 0; i < p->kept.n; i++)
		fs_unref(p->kept.v[i]);
	for (uint32_t i = 0; i < p->slow_req.n; i++)
		fs_unref(p->slow_req.v[i]);
	for (uint32_t i = 0; i < p->filt_req.n; i++)
		fs_unref(p->filt_req.v[i]);
	/* Whatever references remain (cycles through floors), frames and fd infos go in bulk. */
	while (p->frames.next != &p->frames) {
		struct frame *f = p->frames.next;

		p->frames.next = f->next;
		free(f);
	}
	CT_VEC_FREE(p->cursors);
	for (uint32_t i = 0; i < p->span_pool.n; i++)
		free(p->span_pool.v[i]);
	CT_VEC_FREE(p->span_pool);
	while (p->frame_pool) {
		struct frame *f = p->frame_pool;

		p->frame_pool = f->parent;
		free(f);
	}
	while (p->fdinfos.next != &p->fdinfos) {
		struct fdinfo *f = p->fdinfos.next;

		p->fdinfos.next = f->next;
		free(f->name);
		free(f);
	}
	ct_hmap_fini(&p->threads);
	ct_hmap_fini(&p->procs);
	ct_hmap_fini(&p->tasks);
	ct_hmap_fini(&p->comm_ix);
	ct_hmap_fini(&p->spans);
	ct_hmap_fini(&p->floors);
	ct_hmap_fini(&p->ops);
	ct_hmap_fini(&p->klost_last);
	ct_hmap_fini(&p->ends_by_parent);
	CT_VEC_FREE(p->thread_list);
	CT_VEC_FREE(p->proc_list);
	CT_VEC_FREE(p->comms);
	CT_VEC_FREE(p->span_order);
	CT_VEC_FREE(p->orphans);
	CT_VEC_FREE(p->ends);
	CT_VEC_FREE(p->losses);
	CT_VEC_FREE(p->clocks);
	CT_VEC_FREE(p->blk);
	for (uint32_t i = 0; i < p->cpus.n; i++)
		CT_VEC_FREE(p->cpus.v[i].s);
	CT_VEC_FREE(p->cpus);
	CT_VEC_FREE(p->op_list);
	CT_VEC_FREE(p->kept);
	CT_VEC_FREE(p->slow_req);
	CT_VEC_FREE(p->filt_req);
	free(p);
}

int ct_partial_reduce(struct ct_partial *left, struct ct_partial *right)
{
	int err;

	if (left->finished || right->at_start || right->finished) {
		ct_partial_free(right);
		return -EINVAL;
	}
	err = st_reduce(left, right);
	if (left->at_start)
		se_settle(left, 0);
	return err;
}

int ct_partial_finish(struct ct_partial *p)
{
	if (!p->at_start || p->finished)
		return -EINVAL;
	se_settle(p, 1);
	/* Now that it is known which processes were traced: their lost wake-ups. */
	for (uint32_t i = 0; i < p->thread_list.n; i++) {
		const struct thread *t = p->thread_list.v[i];
		const struct proc *pr = t->pid > 0 ? pr_find(p, t->pid) : NULL;

		if (pr && pr->traced)
			p->anomalies += t->lost_wakes;
	}
	p->finished = 1;
	return 0;
}

void ct_result_stats(const struct ct_partial *p, struct ct_result_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->events = p->events;
	st->unknown_events = p->unknown_events;
	st->anomalies = p->anomalies;
	st->spans = p->n_spans;
	st->requests = p->n_requests;
	st->oom = p->oom;
	st->first_ns = p->first_ts;
	st->last_ns = p->last_ts;
	st->peak_intervals = p->peak_iv;
}
