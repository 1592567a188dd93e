// SPDX-License-Identifier: MIT
/*
 * The thread state machine: kernel events (sched_switch, wake-ups, syscalls, fork/exit,
 * block I/O, state dumps, losses) become per-thread state intervals, syscall records and
 * kernel event records. A thread first met in the middle of a partial gets a first interval
 * from the partial's begin with the state its first event implies (woken: it was blocked;
 * switched in: it was runnable; anything it does itself: it was running), flagged IV_PREFIX
 * so that stitching can replace the inference by what the left partial knew.
 */
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "syscalls.h"

static void count_iv(struct ct_partial *p, int delta)
{
	p->cur_iv += (uint64_t)(int64_t)delta;
	if (p->cur_iv > p->peak_iv)
		p->peak_iv = p->cur_iv;
}

static struct proc *proc_of(struct ct_partial *p, struct thread *t)
{
	/* A hash lookup per syscall record was ~2% of the analysis. */
	if (!t->pr && t->pid > 0)
		t->pr = pr_find(p, t->pid);
	return t->pr;
}

struct ival *ts_push(struct ct_partial *p, struct thread *t, uint64_t ts, uint8_t state,
		     uint8_t flags, int32_t other)
{
	struct ival *last = t->iv.n ? &t->iv.v[t->iv.n - 1] : NULL, *iv;

	uint16_t cpu = state == TS_RUNNABLE ? t->wcpu : NO_CPU;

	if (last && last->state == state && last->flags == flags && last->other == other &&
	    last->sc == t->cur_sc && last->own == t->own && last->cpu == cpu)
		return last;
	if (last && ts < last->start)
		ts = last->start;
	iv = CT_VEC_PUSH(t->iv);
	if (!iv) {
		p->oom++;
		return NULL;
	}
	iv->start = ts;
	iv->own = fr_ref(t->own);
	iv->sc = t->cur_sc;
	iv->other = other;
	iv->cpu = cpu;
	iv->state = state;
	iv->flags = flags;
	count_iv(p, 1);
	return iv;
}

/* ---- who ran on each CPU ---- */

struct cputl *cpu_get(struct ct_partial *p, uint32_t cpu)
{
	if (cpu >= NO_CPU || cpu >= 4096)
		return NULL;
	if (cpu >= p->cpus.n) {
		if (CT_VEC_RESERVE(p->cpus, cpu + 1 - p->cpus.n)) {
			p->oom++;
			return NULL;
		}
		while (p->cpus.n <= cpu) {
			struct cputl *c = &p->cpus.v[p->cpus.n++];

			memset(c, 0, sizeof(*c));
			c->first_prev = -1;
		}
	}
	return &p->cpus.v[cpu];
}

void cpu_append(struct ct_partial *p, struct cputl *c, uint64_t ts, int32_t tid)
{
	struct cpuslot *s;

	if (c->s.n && c->s.v[c->s.n - 1].tid == tid)
		return;
	s = CT_VEC_PUSH(c->s);
	if (!s) {
		p->oom++;
		return;
	}
	s->ts = ts;
	s->tid = tid;
}

static void cpu_switch(struct ct_partial *p, uint16_t cpu, uint64_t ts, int32_t prev, int32_t next)
{
	struct cputl *c = cpu_get(p, cpu);

	if (!c)
		return;
	if (!c->s.n && c->first_prev < 0)
		c->first_prev = prev;
	cpu_append(p, c, ts, next);
}

int32_t cpu_occupant(const struct ct_partial *p, uint16_t cpu, uint64_t ts, uint64_t *since,
		     uint64_t *until)
{
	/* The hint is a cache, not state: writing it through a const partial is safe because a
	 * partial has one user at a time. */
	struct cputl *c = cpu < p->cpus.n ? (struct cputl *)&p->cpus.v[cpu] : NULL;
	uint32_t lo = 0, hi;

	*since = 0;
	*until = NO_END;
	if (!c || (!c->s.n && c->first_prev < 0))
		return -1;
	hi = c->s.n;
	if (!hi || ts < c->s.v[0].ts) {
		if (hi)
			*until = c->s.v[0].ts;
		return c->first_prev;
	}
	/* Lookups come in bursts around one instant: try the last answer and its successor. */
	for (uint32_t k = c->hint; k < c->hint + 2 && k < hi; k++)
		if (c->s.v[k].ts <= ts && (k + 1 == hi || c->s.v[k + 1].ts > ts)) {
			lo = k;
			goto found;
		}
	/* Last slot with ts <= the instant. */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (c->s.v[mid].ts <= ts)
			lo = mid;
		else
			hi = mid;
	}
found:
	c->hint = lo;
	*since = c->s.v[lo].ts;
	if (lo + 1 < c->s.n)
		*until = c->s.v[lo + 1].ts;
	return c->s.v[lo].tid;
}

void cpu_prune(struct ct_partial *p, uint64_t horizon)
{
	for (uint32_t i = 0; i < p->cpus.n; i++) {
		struct cputl *c = &p->cpus.v[i];
		uint32_t drop = 0;

		/* Keep the slot that covers the horizon. */
		while (drop + 1 < c->s.n && c->s.v[drop + 1].ts <= horizon)
			drop++;
		if (drop) {
			c->first_prev = c->s.v[drop - 1].tid;
			memmove(c->s.v, c->s.v + drop, (c->s.n - drop) * sizeof(c->s.v[0]));
			c->s.n -= drop;
			c->hint = 0;
		}
	}
}

static inline struct ival *cur_iv(struct thread *t)
{
	return t->iv.n ? &t->iv.v[t->iv.n - 1] : NULL;
}

/* A record standing for "whatever syscall the thread was in when the partial began". */
static void make_prefix_record(struct ct_partial *p, struct thread *t)
{
	struct screc *r = CT_VEC_PUSH(t->sc);

	if (!r) {
		p->oom++;
		return;
	}
	memset(r, 0, sizeof(*r));
	r->entry_ts = p->begin;
	r->exit_ts = NO_END;
	r->fdnum = -1;
	r->flags = SC_PREFIX | SC_NO_ENTRY;
	t->prefix_sc = t->sc_base + t->sc.n - 1;
	t->cur_sc = t->prefix_sc;
}

/*
 * Gives t its first interval, from the partial's begin, when it has none: a kernel event
 * says what state it was in (inferred), a client event only that it exists (NOINFO).
 */
static void ensure_state(struct ct_partial *p, struct thread *t, uint8_t state, uint8_t flags)
{
	if (t->iv.n)
		return;
	proc_of(p, t);
	t->first_ev = p->last_ts;
	make_prefix_record(p, t);
	ts_push(p, t, p->begin, state, (uint8_t)(flags | IV_PREFIX), 0);
	if (state != TS_UNKNOWN)
		t->flags |= TH_KERNEL;
}

void ts_first_seen(struct ct_partial *p, struct thread *t, uint64_t ts)
{
	(void)ts;
	ensure_state(p, t, TS_UNKNOWN, IV_NOINFO);
}

/* Starts a new interval in the same state as the current one (something else changed). */
static void same_state(struct ct_partial *p, struct thread *t, uint64_t ts)
{
	struct ival *c = cur_iv(t);

	if (!c)
		return;
	if (c->state == TS_BLOCKED || c->state == TS_UNKNOWN)
		/* How a wait ends belongs to the interval that it ends. */
		ts_push(p, t, ts, c->state,
			(uint8_t)(c->flags & ~(IV_PREFIX | IV_WOKEN | IV_WAKE_IRQ)), 0);
	else
		ts_push(p, t, ts, c->state, (uint8_t)(c->flags & ~IV_PREFIX), c->other);
}

void ts_scope_changed(struct ct_partial *p, struct thread *t, uint64_t ts)
{
	ts_first_seen(p, t, ts);
	same_state(p, t, ts);
}

void ts_client_event(struct ct_partial *p, struct thread *t, uint64_t ts)
{
	ts_first_seen(p, t, ts);
	/* Client code runs in user mode: the thread is in no syscall from here on. */
	if (t->cur_sc != NOIDX && t->cur_sc == t->prefix_sc) {
		t->cur_sc = NOIDX;
		same_state(p, t, ts);
	}
}

/* The thread's state now, after making sure it has one (inferred from this event). */
static struct thread *event_thread(struct ct_partial *p, int32_t tid, int32_t pid, uint8_t state,
				   uint8_t flags)
{
	struct thread *t;

	if (tid <= 0)
		return NULL;
	t = th_get(p, tid);
	if (!t)
		return NULL;
	th_set_pid(p, t, pid);
	ensure_state(p, t, state, flags);
	t->flags |= TH_KERNEL;
	return t;
}

/* Becomes RUNNING (the thread emits an event itself). */
static void now_running(struct ct_partial *p, struct thread *t, uint64_t ts)
{
	struct ival *c = cur_iv(t);

	/* The state before the partial (or not known yet) is stitching's to check. */
	if (c && (c->flags & (IV_PREFIX | IV_NOINFO)) && !p->at_start && !t->first_check) {
		t->first_check = FC_OWN;
		t->first_own_ts = ts;
	}
	if (c && c->state == TS_RUNNING)
		return;
	if (c && (c->state == TS_BLOCKED || c->state == TS_RUNNABLE)) {
		p_anomaly(p); /* a switch-in was lost */
		if (!p->at_start && t->iv.n == 2 && c == &t->iv.v[1] &&
		    (t->iv.v[0].flags & IV_PREFIX) && (t->iv.v[0].flags & IV_WOKEN))
			t->wake_anomaly = 1;
	}
	ts_push(p, t, ts, TS_RUNNING, 0, 0);
}

static struct screc *new_record(struct ct_partial *p, struct thread *t)
{
	struct screc *r = CT_VEC_PUSH(t->sc);

	if (!r) {
		p->oom++;
		return NULL;
	}
	memset(r, 0, sizeof(*r));
	r->fdnum = -1;
	r->exit_ts = NO_END;
	return r;
}

static void close_open_record(struct ct_partial *p, struct thread *t, uint64_t ts)
{
	struct screc *r = th_sc(t, t->cur_sc);

	if (r && !(r->flags & SC_PREFIX) && r->exit_ts == NO_END) {
		r->exit_ts = ts;
		r->flags |= SC_NO_EXIT;
	}
	t->cur_sc = NOIDX;
	(void)p;
}

static void syscall_entry(struct ct_partial *p, const struct ct_event *ev, uint32_t nr,
			  const uint64_t *args, const char *text, size_t text_len)
{
	struct thread *t = event_thread(p, ev->tid, ev->pid, TS_RUNNING, 0);
	struct proc *pr;
	struct screc *r;
	int fa;

	if (!t)
		return;
	now_running(p, t, ev->ts);
	if (t->cur_sc != NOIDX && t->cur_sc != t->prefix_sc)
		p_anomaly(p); /* an exit was lost */
	close_open_record(p, t, ev->ts);
	r = new_record(p, t);
	if (!r)
		return;
	pr = proc_of(p, t);
	r->entry_ts = ev->ts;
	r->nr = (uint16_t)nr;
	memcpy(r->args, args, sizeof(r->args));
	fa = ct_syscall_fd_arg(nr);
	if (fa >= 0) {
		r->fdnum = (int32_t)args[fa];
		if (pr && r->fdnum >= 0)
			r->fd = fd_ref(fdt_lookup(p, pr, r->fdnum));
	}
	r->own = fr_ref(t->own);
	r->proc = fr_ref(pr ? pr->pstack : NULL);
	if (text && text_len)
		r->text = ct_strndup0(text, text_len);
	t->cur_sc = t->sc_base + t->sc.n - 1;
	ts_push(p, t, ev->ts, TS_RUNNING, 0, 0);
}

static void syscall_exit(struct ct_partial *p, const struct ct_event *ev, uint32_t nr, int64_t ret,
			 const uint8_t *addr, size_t addr_len)
{
	struct thread *t = event_thread(p, ev->tid, ev->pid, TS_RUNNING, 0);
	struct screc *r;
	char buf[160];

	if (!t)
		return;
	now_running(p, t, ev->ts);
	r = th_sc(t, t->cur_sc);
	if (r && (r->flags & SC_PREFIX)) {
		/* The syscall the thread was in when the partial began ends here. */
		r->flags |= SC_PREFIX_EXIT;
		r->nr = (uint16_t)nr;
		r->ret = ret;
		r->exit_ts = ev->ts;
		/* An accepted connection is named by its exit alone. */
		if (addr && addr_len && !r->text &&
		    fd_sockaddr_text(addr, addr_len, buf, sizeof(buf)) > 0)
			r->text = ct_strndup0(buf, sizeof(buf));
		fd_syscall_exit(p, t, r);
	} else if (r && r->nr == nr && r->exit_ts == NO_END) {
		r->exit_ts = ev->ts;
		r->ret = ret;
		if (addr && addr_len && !r->text &&
		    fd_sockaddr_text(addr, addr_len, buf, sizeof(buf)) > 0)
			r->text = ct_strndup0(buf, sizeof(buf));
		fd_syscall_exit(p, t, r);
	} else {
		/* An exit without its entry: keep what it says. A new task starts with the exit
		 * of the call that made it (0): nothing was lost there. */
		if (!(ct_syscall_is_clone(nr) && ret == 0))
			p_anomaly(p);
		close_open_record(p, t, ev->ts);
		r = new_record(p, t);
		if (r) {
			r->entry_ts = r->exit_ts = ev->ts;
			r->nr = (uint16_t)nr;
			r->ret = ret;
			r->flags = SC_NO_ENTRY;
		}
	}
	t->cur_sc = NOIDX;
	ts_push(p, t, ev->ts, TS_RUNNING, 0, 0);
}

static void sched_switch(struct ct_partial *p, const struct ct_event *ev)
{
	const struct ct_ev_sched_switch *s = &ev->u.sched_switch;
	struct thread *t, *n;

	p->sched_events++;
	cpu_switch(p, ev->cpu, ev->ts, ev->tid, s->next_tid);
	if (ev->tid > 0 && (t = event_thread(p, ev->tid, ev->pid, TS_RUNNING, 0))) {
		/* 0 and TASK_REPORT_MAX (0x100, "R+") both mean preempted while runnable. */
		int runnable = (s->prev_state & 0xff) == 0;

		/* The final switch reports the exit state (EXIT_DEAD, EXIT_ZOMBIE). An exiting
		 * task can still be preempted or block on its way out: only those bits say
		 * it is gone (and they do not depend on having seen its process_exit). */
		if (s->prev_state & 0x30) {
			close_open_record(p, t, ev->ts);
			ts_push(p, t, ev->ts, TS_DEAD, 0, 0);
			t->flags &= (uint8_t)~TH_EXITING;
		} else if (runnable) {
			/* It waits for the CPU it was running on (until a migration we do not
			 * see). */
			t->wcpu = ev->cpu;
			ts_push(p, t, ev->ts, TS_RUNNABLE, IV_PREEMPTED, s->next_tid);
		} else {
			ts_push(p, t, ev->ts, TS_BLOCKED, (s->prev_state & 2) ? IV_DSTATE : 0, 0);
		}
	}
	if (s->next_tid > 0) {
		task_name(p, s->next_tid, s->next_pid, s->next_comm, s->next_comm_len);
		n = event_thread(p, s->next_tid, s->next_pid, TS_RUNNABLE, 0);
		if (n) {
			struct ival *c = cur_iv(n);

			if (c && (c->flags & (IV_PREFIX | IV_NOINFO)) && !p->at_start &&
			    !n->first_check)
				n->first_check = FC_SWITCH_IN;
			if (c && c->state == TS_BLOCKED)
				n->lost_wakes++; /* its wake-up was lost, or it is not traced */
			ts_push(p, n, ev->ts, TS_RUNNING, 0, 0);
		}
	}
}

static void wake(struct ct_partial *p, const struct ct_event *ev, int32_t tid, int32_t pid,
		 int32_t waker, int known_waker, uint32_t cpu)
{
	struct thread *t = event_thread(p, tid, pid, TS_BLOCKED, 0);
	struct ival *c;

	if (!t)
		return;
	c = cur_iv(t);
	if (!c || (c->state != TS_BLOCKED && !(c->state == TS_UNKNOWN && (c->flags & IV_NOINFO))))
		return; /* already runnable or running: nothing to wake */
	if (!known_waker)
		waker = 0;
	c->other = waker;
	c->flags |= IV_WOKEN | (waker < 0 ? IV_WAKE_IRQ : 0);
	t->wcpu = cpu < NO_CPU ? (uint16_t)cpu : NO_CPU;
	ts_push(p, t, ev->ts, TS_RUNNABLE, IV_WOKEN, waker);
}

static void new_thread(struct ct_partial *p, int32_t tid, int32_t pid, uint64_t ts, uint32_t cpu)
{
	struct thread *t = th_get(p, tid);
	struct ival *c;

	if (!t)
		return;
	th_set_pid(p, t, pid);
	c = cur_iv(t);
	if (c && c->state == TS_RUNNABLE && (c->flags & IV_NEW) && cpu < NO_CPU) {
		/* Announced by its fork; wakeup_new says which CPU it waits for. */
		c->cpu = (uint16_t)cpu;
		t->wcpu = (uint16_t)cpu;
		return;
	}
	if (c && c->state != TS_DEAD && c->state != TS_UNKNOWN)
		return; /* already announced (fork before wakeup_new) */
	/* A new thread runs nothing yet: no syscall, no scope. */
	fr_unref(p, t->own);
	t->own = NULL;
	t->cur_sc = NOIDX;
	if (!t->iv.n) {
		t->flags |= TH_FROM_FORK;
		t->first_ev = ts;
	}
	t->flags |= TH_KERNEL;
	t->wcpu = cpu < NO_CPU ? (uint16_t)cpu : NO_CPU;
	ts_push(p, t, ts, TS_RUNNABLE, IV_NEW, 0);
}

static struct kev *add_kev(struct ct_partial *p, struct thread *t, uint64_t ts, uint8_t type,
			   const char *text, size_t len)
{
	struct kev *k = CT_VEC_PUSH(t->kev);

	if (!k) {
		p->oom++;
		return NULL;
	}
	memset(k, 0, sizeof(*k));
	k->ts = ts;
	k->type = type;
	if (text)
		k->text = ct_strndup0(text, len);
	return k;
}

static void process_fork(struct ct_partial *p, const struct ct_event *ev)
{
	const struct ct_ev_process_fork *f = &ev->u.process_fork;
	struct thread *t = event_thread(p, ev->tid, ev->pid, TS_RUNNING, 0);
	struct kev *k;

	if (t) {
		now_running(p, t, ev->ts);
		k = add_kev(p, t, ev->ts, KEV_FORK, f->child_comm, f->child_comm_len);
		if (k)
			k->a = (uint64_t)(uint32_t)f->child_tid;
	}
	task_name(p, f->child_tid, f->child_pid, f->child_comm, f->child_comm_len);
	if (f->child_pid > 0 && f->child_pid != ev->pid && !pr_find(p, f->child_pid)) {
		struct proc *child = pr_get(p, f->child_pid), *parent = pr_get(p, ev->pid);

		if (child) {
			/* A new process starts with its parent's fds and no current scope. */
			fr_unref(p, child->pstack);
			child->pstack = NULL;
			fr_unref(p, child->tl_before);
			child->tl_before = NULL;
			if (parent)
				fdt_copy(p, child, parent);
			if (!p->at_start)
				child->fork_parent = ev->pid;
			free(child->comm);
			child->comm = ct_strndup0(f->child_comm, f->child_comm_len);
		}
	}
	if (f->child_tid > 0)
		new_thread(p, f->child_tid, f->child_pid, ev->ts, NO_CPU);
}

static void block_issue(struct ct_partial *p, const struct ct_event *ev)
{
	const struct ct_ev_block_rq_issue *b = &ev->u.block_rq_issue;
	struct thread *t = event_thread(p, ev->tid, ev->pid, TS_RUNNING, 0);
	struct blkio *io;
	struct kev *k;

	if (!t)
		return;
	k = add_kev(p, t, ev->ts, KEV_BLOCK_IO, b->rwbs, b->rwbs_len);
	if (!k)
		return;
	k->a = b->bytes;
	io = CT_VEC_PUSH(p->blk);
	if (!io) {
		p->oom++;
		return;
	}
	io->dev_sector = (uint64_t)b->dev << 44 ^ b->sector;
	io->ts = ev->ts;
	io->tid = t->tid;
	io->kev = t->kev_base + t->kev.n - 1;
	io->completed = 0;
}

/*
 * The oldest open issue of dev_sector in p, or NULL. Completions of one sector are matched to
 * its issues first in, first out (a journal rewrites the same sector while earlier writes of
 * it are still in flight), by issue time, not by position in the vector: the result must not
 * depend on how the trace was cut.
 */
struct blkio *blk_oldest_open(struct ct_partial *p, uint64_t dev_sector)
{
	struct blkio *best = NULL;

	for (uint32_t i = 0; i < p->blk.n; i++) {
		struct blkio *io = &p->blk.v[i];

		if (io->completed || io->dev_sector != dev_sector)
			continue;
		if (!best || io->ts < best->ts ||
		    (io->ts == best->ts &&
		     (io->tid < best->tid || (io->tid == best->tid && io->kev < best->kev))))
			best = io;
	}
	return best;
}

void blk_complete(struct ct_partial *p, struct blkio *io, uint64_t ts)
{
	struct thread *t = th_find(p, io->tid);
	uint32_t ki = io->kev;

	if (t && ki >= t->kev_base && ki - t->kev_base < t->kev.n)
		t->kev.v[ki - t->kev_base].b = ts - io->ts;
	*io = p->blk.v[--p->blk.n];
}

static void block_complete(struct ct_partial *p, const struct ct_event *ev)
{
	const struct ct_ev_block_rq_complete *b = &ev->u.block_rq_complete;
	uint64_t key = (uint64_t)b->dev << 44 ^ b->sector;
	struct blkio *io;

	/* Only a partial that begins with the trace knows every issue still open: a later one
	 * keeps its completions, in time order, for the reduce to match. */
	if (p->at_start) {
		if ((io = blk_oldest_open(p, key)))
			blk_complete(p, io, ev->ts);
		return; /* else its issue was never recorded */
	}
	io = CT_VEC_PUSH(p->blk);
	if (!io) {
		p->oom++;
		return;
	}
	io->dev_sector = key;
	io->ts = ev->ts;
	io->tid = 0;
	io->kev = NOIDX;
	io->completed = 1;
}

static void kernel_lost(struct ct_partial *p, const struct ct_event *ev, uint64_t key, int32_t cpu,
			int32_t pid)
{
	uint64_t *last = ct_hmap_get(&p->klost_last, key);
	struct loss *l = CT_VEC_PUSH(p->losses);

	if (!l) {
		p->oom++;
		return;
	}
	*l = (struct loss){.begin = last ? *last : p->begin,
			   .end = ev->ts,
			   .what = CT_INC_LOST_EVENTS,
			   .cpu = cpu,
			   .pid = pid};
	l->soft_begin = !last && !p->at_start;
	l->key = key;
	if (ct_hmap_put(&p->klost_last, key, ev->ts))
		p->oom++;
}

void ts_feed_kernel(struct ct_partial *p, const struct ct_event *ev)
{
	struct thread *t;
	struct proc *pr;

	p->kernel_events++;
	switch (ev->type) {
	case CT_EV_SCHED_SWITCH:
	case CT_EV_SCHED_WAKING:
	case CT_EV_SCHED_WAKEUP:
	case CT_EV_SCHED_WAKEUP_NEW:
	case CT_EV_KERNEL_LOST:
	case CT_EV_BLOCK_RQ_ISSUE:
	case CT_EV_BLOCK_RQ_COMPLETE:
		break;
	default:
		/* Only a traced process has its own syscalls, forks, execs... recorded. */
		if (ev->pid > 0 && (pr = pr_get(p, ev->pid)))
			pr->traced = 1;
		break;
	}
	switch (ev->type) {
	case CT_EV_SYSCALL_ENTRY:
		syscall_entry(p, ev, ev->u.syscall_entry.nr, ev->u.syscall_entry.args, NULL, 0);
		break;
	case CT_EV_SYSCALL_ENTRY_PATH:
		syscall_entry(p, ev, ev->u.syscall_entry_path.nr, ev->u.syscall_entry_path.args,
			      ev->u.syscall_entry_path.path, ev->u.syscall_entry_path.path_len);
		break;
	case CT_EV_SYSCALL_ENTRY_ADDR: {
		char buf[160];
		int n = fd_sockaddr_text(ev->u.syscall_entry_addr.addr,
					 ev->u.syscall_entry_addr.addr_len, buf, sizeof(buf));

		syscall_entry(p, ev, ev->u.syscall_entry_addr.nr, ev->u.syscall_entry_addr.args,
			      n > 0 ? buf : NULL, n > 0 ? (size_t)n : 0);
		break;
	}
	case CT_EV_SYSCALL_EXIT:
		syscall_exit(p, ev, ev->u.syscall_exit.nr, ev->u.syscall_exit.ret, NULL, 0);
		break;
	case CT_EV_SYSCALL_EXIT_ADDR:
		syscall_exit(p, ev, ev->u.syscall_exit_addr.nr, ev->u.syscall_exit_addr.ret,
			     ev->u.syscall_exit_addr.addr, ev->u.syscall_exit_addr.addr_len);
		break;
	case CT_EV_SCHED_SWITCH:
		sched_switch(p, ev);
		break;
	case CT_EV_SCHED_WAKING: {
		const struct ct_ev_sched_waking *w = &ev->u.sched_waking;
		int irq = (w->flags & CT_WAKE_FLAG_IRQ) || ev->tid <= 0;

		p->sched_events++;
		task_name(p, w->tid, w->pid, w->comm, w->comm_len);
		if (!irq)
			task_name(p, ev->tid, ev->pid, NULL, 0);
		wake(p, ev, w->tid, w->pid, irq ? -1 : ev->tid, 1, w->target_cpu);
		break;
	}
	case CT_EV_SCHED_WAKEUP:
		p->sched_events++;
		wake(p, ev, ev->u.sched_wakeup.tid, ev->u.sched_wakeup.pid, 0, 0,
		     ev->u.sched_wakeup.target_cpu);
		break;
	case CT_EV_SCHED_WAKEUP_NEW:
		p->sched_events++;
		new_thread(p, ev->u.sched_wakeup_new.tid, ev->u.sched_wakeup_new.pid, ev->ts,
			   ev->u.sched_wakeup_new.target_cpu);
		break;
	case CT_EV_PROCESS_FORK:
		process_fork(p, ev);
		break;
	case CT_EV_PROCESS_EXEC:
		t = event_thread(p, ev->tid, ev->pid, TS_RUNNING, 0);
		if (t) {
			now_running(p, t, ev->ts);
			add_kev(p, t, ev->ts, KEV_EXEC, ev->u.process_exec.filename,
				ev->u.process_exec.filename_len);
		}
		task_name(p, ev->tid, ev->pid, ev->u.process_exec.comm,
			  ev->u.process_exec.comm_len);
		pr = pr_get(p, ev->pid);
		if (pr) {
			free(pr->comm);
			pr->comm =
				ct_strndup0(ev->u.process_exec.comm, ev->u.process_exec.comm_len);
		}
		break;
	case CT_EV_PROCESS_EXIT:
		t = event_thread(p, ev->tid, ev->pid, TS_RUNNING, 0);
		if (t) {
			now_running(p, t, ev->ts);
			t->flags |= TH_EXITING;
			add_kev(p, t, ev->ts, KEV_EXIT, NULL, 0);
		}
		break;
	case CT_EV_TASK_RENAME:
		t = event_thread(p, ev->tid, ev->pid, TS_RUNNING, 0);
		if (t) {
			now_running(p, t, ev->ts);
			add_kev(p, t, ev->ts, KEV_RENAME, ev->u.task_rename.newcomm,
				ev->u.task_rename.newcomm_len);
		}
		task_name(p, ev->tid, ev->pid, ev->u.task_rename.newcomm,
			  ev->u.task_rename.newcomm_len);
		break;
	case CT_EV_BLOCK_RQ_ISSUE:
		block_issue(p, ev);
		break;
	case CT_EV_BLOCK_RQ_COMPLETE:
		block_complete(p, ev);
		break;
	case CT_EV_STATEDUMP_PROCESS:
		pr = pr_get(p, ev->pid);
		if (pr && ev->u.statedump_process.comm_len) {
			free(pr->comm);
			pr->comm = ct_strndup0(ev->u.statedump_process.comm,
					       ev->u.statedump_process.comm_len);
		}
		task_name(p, ev->tid > 0 ? ev->tid : ev->pid, ev->pid, ev->u.statedump_process.comm,
			  ev->u.statedump_process.comm_len);
		break;
	case CT_EV_STATEDUMP_THREAD:
		t = th_get(p, ev->tid);
		if (t)
			th_set_pid(p, t, ev->pid);
		task_name(p, ev->tid, ev->pid, ev->u.statedump_thread.comm,
			  ev->u.statedump_thread.comm_len);
		break;
	case CT_EV_STATEDUMP_FD: {
		const struct ct_ev_statedump_fd *d = &ev->u.statedump_fd;
		struct fdinfo *f;

		pr = pr_get(p, ev->pid);
		if (!pr || d->fd < 0)
			break;
		f = fd_new(p, d->fd_type, d->name, d->name_len);
		if (f) {
			fdt_set(p, pr, d->fd, f);
			fd_unref(p, f);
		}
		break;
	}
	case CT_EV_KERNEL_LOST:
		kernel_lost(p, ev, (uint64_t)ev->u.kernel_lost.cpu + 1,
			    (int32_t)ev->u.kernel_lost.cpu, 0);
		break;
	default:
		p->unknown_events++;
		break;
	}
}

void ts_client_lost(struct ct_partial *p, const struct ct_event *ev);
void ts_client_lost(struct ct_partial *p, const struct ct_event *ev)
{
	kernel_lost(p, ev, ((uint64_t)(uint32_t)ev->tid | 1ull << 40) + 1, -1, ev->pid);
}
