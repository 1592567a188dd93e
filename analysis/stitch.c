// SPDX-License-Identifier: MIT
/*
 * Stitching: reduce(left, right) for adjacent time ranges. What the right partial left open
 * at its start (soft bounds) is resolved with what the left one knew at its end (floors →
 * the scopes then current, pending fds → the fd table, prefix intervals and records → the
 * thread's state and syscall in progress, orphan ends → the spans), then the right's
 * history, spans and counters move into the left. docs/internals/analysis.md walks through
 * the rules and why the result equals a whole-trace analysis.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "syscalls.h"

/* ---- frames ---- */

/* What the left partial had current at depth `level` of the stack topped by top (tid or
 * process floors below known frames). */
static struct frame *left_depth(struct ct_partial *l, struct frame *top, int32_t tid, int32_t pid,
				uint16_t level)
{
	struct frame *f = top;

	for (;;) {
		f = fr_resolve(f);
		if (!f)
			return NULL;
		if (f->flags & FR_FLOOR) /* still unknown on the left too */
			return fr_floor(l, tid, pid, (uint16_t)(f->level + level));
		if (!level)
			return f;
		level--;
		f = f->parent;
	}
}

static void resolve_floors(struct ct_partial *l, struct ct_partial *r)
{
	uint64_t k, v;

	for (size_t it = 0; ct_hmap_next(&r->floors, &it, &k, &v);) {
		struct frame *rf = (struct frame *)(uintptr_t)v, *target, *top;

		if (rf->tid) {
			struct thread *lt = th_find(l, rf->tid);

			if (lt)
				top = lt->own;
			else
				top = l->at_start ? NULL : fr_floor(l, rf->tid, 0, 0);
			target = (lt || !l->at_start) ? left_depth(l, top, rf->tid, 0, rf->level)
						      : NULL;
		} else {
			struct proc *lp = pr_find(l, rf->pid);

			if (lp)
				top = lp->pstack;
			else
				top = l->at_start ? NULL : fr_floor(l, 0, rf->pid, 0);
			target = (lp || !l->at_start) ? left_depth(l, top, 0, rf->pid, rf->level)
						      : NULL;
		}
		if (target) {
			rf->fwd = fr_ref(target);
			if (rf->span && target->span && target->span != rf->span &&
			    !(target->flags & FR_FLOOR))
				p_anomaly(l);
			if (rf->span && (target->flags & FR_FLOOR) && !target->span)
				target->span = rf->span;
			if (rf->flags & FR_EXITED) {
				/* Popped on the right: that scope of the left ended there. */
				target->exit_ts = rf->exit_ts;
				target->flags |= FR_EXITED;
			}
		} else {
			rf->flags |= FR_EMPTY;
			if (rf->span)
				p_anomaly(l); /* a scope exit of nothing */
		}
	}
}

/* Replaces *f by what it resolves to (taking a reference on that, dropping the old one). */
static void rewrite_frame(struct ct_partial *l, struct frame **f)
{
	struct frame *res = fr_resolve(*f);

	if (res == *f)
		return;
	fr_ref(res);
	fr_unref(l, *f);
	*f = res;
}

/* ---- fds ---- */

struct fd_effect {
	int32_t pid, fd;
	uint64_t after; /* exit time */
	struct fdinfo *now; /* what the fd is after it (ref), NULL when closed */
};
CT_VEC_DEF(fx_vec, struct fd_effect);

static int32_t left_table_pid(struct ct_partial *r, int32_t pid)
{
	/* A process forked inside the right partial had its parent's table then. */
	for (int depth = 0; depth < 64; depth++) {
		struct proc *rp = pr_find(r, pid);

		if (!rp || !rp->fork_parent)
			return pid;
		pid = rp->fork_parent;
	}
	return pid;
}

static struct fdinfo *left_fd(struct ct_partial *l, int32_t pid, int32_t fd)
{
	struct proc *lp = pr_get(l, pid);

	return lp ? fdt_lookup(l, lp, fd) : NULL;
}

/* The left's record of t's syscall in progress, when it is a real one (entry known). */
static struct screc *left_open_record(struct ct_partial *l, int32_t tid)
{
	struct thread *lt = th_find(l, tid);
	struct screc *e = lt ? th_sc(lt, lt->cur_sc) : NULL;

	return e && !(e->flags & SC_PREFIX) && e->exit_ts == NO_END ? e : NULL;
}

/*
 * A syscall entered on the left and ended on the right changes an fd the right could not
 * name (close, connect, bind, dup2): compute that effect now.
 */
static void prefix_exit_effects(struct ct_partial *l, struct ct_partial *r, struct fx_vec *out)
{
	for (uint32_t i = 0; i < r->thread_list.n; i++) {
		struct thread *rt = r->thread_list.v[i];
		struct screc *rp = th_sc(rt, rt->prefix_sc), *e;
		struct fd_effect *fx;
		int32_t fd = -1;
		struct fdinfo *now = NULL;
		char name[256];

		if (!rp || !(rp->flags & SC_PREFIX_EXIT) || !(e = left_open_record(l, rt->tid)))
			continue;
		if (e->nr != rp->nr || rp->ret < 0)
			continue;
		switch (e->nr) {
		case CT_NR_CLOSE:
			fd = (int32_t)e->args[0];
			break;
		case CT_NR_CONNECT:
		case CT_NR_BIND:
			if (!e->text || !e->fd)
				continue;
			fd = (int32_t)e->args[0];
			snprintf(name, sizeof(name), e->nr == CT_NR_CONNECT ? "%s" : "%s (bound)",
				 e->text);
			now = fd_new(l, CT_FD_UNKNOWN, name, strlen(name));
			if (!now)
				continue;
			now->type_of = fd_ref(e->fd);
			break;
		case CT_NR_DUP2:
		case CT_NR_DUP3:
			if (!e->fd || e->args[0] == e->args[1])
				continue;
			fd = (int32_t)e->args[1];
			now = fd_ref(e->fd);
			break;
		default:
			continue;
		}
		fx = CT_VEC_PUSH(*out);
		if (!fx) {
			fd_unref(l, now);
			l->oom++;
			continue;
		}
		fx->pid = rt->pid;
		fx->fd = fd;
		fx->after = rp->exit_ts;
		fx->now = now;
	}
}

/* Records of the right that used fd after the effect now see what the effect made of it. */
static void apply_effect_to_records(struct ct_partial *l, struct ct_partial *r,
				    const struct fd_effect *fx)
{
	/* A placeholder first used after the effect stands for what the effect made: all its
	 * uses (records, and sockets named after it by connect) follow. */
	for (struct fdinfo *f = r->fdinfos.next; f != &r->fdinfos; f = f->next) {
		struct fdinfo *now;

		/* ... unless it already resolved to something defined after the effect. */
		if (!(f->flags & FD_PENDING) || f->fd != fx->fd ||
		    left_table_pid(r, f->pid) != fx->pid || f->born <= fx->after ||
		    (f->fwd && fd_resolve(f)->born > fx->after))
			continue;
		if (f->fwd) {
			fd_unref(l, f->fwd);
			f->fwd = NULL;
		}
		now = fx->now ? fd_ref(fx->now) : NULL;
		if (!now) {
			char nm[32];

			snprintf(nm, sizeof(nm), "fd %d", fx->fd);
			now = fd_new(l, CT_FD_UNKNOWN, nm, strlen(nm));
			if (now)
				now->flags = FD_UNKNOWN;
		}
		f->fwd = now;
	}
	for (uint32_t i = 0; i < r->thread_list.n; i++) {
		struct thread *rt = r->thread_list.v[i];

		if (rt->pid != fx->pid)
			continue;
		for (uint32_t j = 0; j < rt->sc.n; j++) {
			struct screc *s = &rt->sc.v[j];

			/* Only uses of what the left had (still unresolved): a use after the
			 * right redefined or closed the fd has its own, resolved info. */
			/* Uses of what the left had (unresolved), or of what the right defined
			 * before the effect (the right could not know of it). */
			if (s->fdnum != fx->fd || s->entry_ts <= fx->after || !s->fd ||
			    (!(fd_resolve(s->fd)->flags & FD_PENDING) &&
			     fd_resolve(s->fd)->born > fx->after))
				continue;
			fd_unref(l, s->fd);
			if (fx->now) {
				s->fd = fd_ref(fx->now);
			} else {
				char nm[32];

				snprintf(nm, sizeof(nm), "fd %d", fx->fd);
				s->fd = fd_new(l, CT_FD_UNKNOWN, nm, strlen(nm));
				if (s->fd)
					s->fd->flags = FD_UNKNOWN;
			}
		}
	}
}

static void resolve_fds(struct ct_partial *l, struct ct_partial *r)
{
	for (struct fdinfo *f = r->fdinfos.next; f != &r->fdinfos; f = f->next) {
		if ((f->flags & FD_PENDING) && !f->fwd) {
			struct fdinfo *target = left_fd(l, left_table_pid(r, f->pid), f->fd);

			if (target)
				f->fwd = fd_ref(target); /* FD_PENDING stays: it marks a mere use */
		} else if (f->flags & FD_FROM_PREFIX) {
			struct screc *e = left_open_record(l, f->tid);
			struct thread *lt = th_find(l, f->tid);

			if (e)
				fd_resolve_prefix(l, f, e);
			else if (l->at_start || (lt && lt->cur_sc != lt->prefix_sc))
				fd_resolve_prefix(l, f, NULL); /* nothing to the left: unknown */
		}
	}
}

/* ---- processes ---- */

static char *take(char **dst, char **src)
{
	if (*src) {
		free(*dst);
		*dst = *src;
		*src = NULL;
	}
	return *dst;
}

static void merge_procs(struct ct_partial *l, struct ct_partial *r, const struct fx_vec *fx)
{
	/*
	 * A process forked on the right started with its parent's fds: those the right never
	 * touched are the left's, as they were at the boundary (before the parent's own
	 * changes on the right, merged below, some of which came after the fork).
	 */
	for (uint32_t i = 0; i < r->proc_list.n; i++) {
		struct proc *rp = r->proc_list.v[i], *lp, *from;
		int32_t anc;

		if (!rp->fork_parent || pr_find(l, rp->pid))
			continue;
		anc = left_table_pid(r, rp->pid);
		from = anc != rp->pid ? pr_find(l, anc) : NULL;
		lp = from ? pr_get(l, rp->pid) : NULL;
		if (lp)
			fdt_copy(l, lp, from);
	}
	for (uint32_t i = 0; i < r->proc_list.n; i++) {
		struct proc *rp = r->proc_list.v[i], *lp = pr_get(l, rp->pid);
		uint64_t k, v;

		if (!lp)
			continue;
		take(&lp->service, &rp->service);
		take(&lp->comm, &rp->comm);
		take(&lp->sdk, &rp->sdk);
		take(&lp->host, &rp->host);
		lp->svc_known |= rp->svc_known;
		lp->traced |= rp->traced;
		for (uint32_t j = 0; j < rp->rattrs.n; j++) {
			struct attr *a = CT_VEC_PUSH(lp->rattrs);

			if (!a) {
				l->oom++;
				attr_fini(&rp->rattrs.v[j]);
				continue;
			}
			*a = rp->rattrs.v[j];
		}
		rp->rattrs.n = 0;
		/* Effects of syscalls straddling the boundary come first: the right's own
		 * definitions are later still. */
		for (uint32_t j = 0; j < fx->n; j++) {
			const struct fd_effect *e = &fx->v[j];

			if (e->pid != rp->pid)
				continue;
			if (e->now)
				fdt_set(l, lp, e->fd, e->now);
			else
				fdt_close(l, lp, e->fd);
		}
		for (size_t it = 0; ct_hmap_next(&rp->fds, &it, &k, &v);) {
			struct fdinfo *f = (struct fdinfo *)(uintptr_t)v;
			int later_effect = 0;

			/* An effect of a straddling syscall later than the right's own definition
			 * of this fd wins. */
			for (uint32_t j = 0; j < fx->n && f; j++)
				later_effect |= fx->v[j].pid == rp->pid &&
						fx->v[j].fd == (int32_t)(k - 1) &&
						fx->v[j].after >= f->born;
			/* A pending entry was a mere use of what the left had: no news. */
			if (later_effect)
				continue;
			if (!f)
				fdt_close(l, lp, (int32_t)(k - 1));
			else if (!(f->flags & FD_PENDING))
				fdt_set(l, lp, (int32_t)(k - 1), f);
		}
		{
			struct frame *top = fr_ref(fr_resolve(rp->pstack));

			fr_unref(l, lp->pstack);
			lp->pstack = top;
		}
		for (uint32_t j = 0; j < rp->tids.n; j++) {
			int found = 0;

			for (uint32_t m = 0; m < lp->tids.n && !found; m++)
				found = lp->tids.v[m] == rp->tids.v[j];
			if (!found) {
				int32_t *slot = CT_VEC_PUSH(lp->tids);

				if (slot)
					*slot = rp->tids.v[j];
				else
					l->oom++;
			}
		}
		if (rp->fork_parent && !l->at_start && !lp->fork_parent)
			lp->fork_parent = rp->fork_parent;
		/* The right's process-wide scopes go on where the left's end (what was current at
		 * the right's begin, its floor, is the left's last). Every thread of the process,
		 * the left's included, reads its pieces from this one timeline. */
		if (CT_VEC_RESERVE(lp->tl, rp->tl.n)) {
			l->oom++;
		} else {
			for (uint32_t j = 0; j < rp->tl.n; j++)
				pr_scope_changed(l, lp, rp->tl.v[j].ts,
						 fr_resolve(rp->tl.v[j].top));
		}
	}
}

/* ---- threads ---- */

static int iv_same(const struct ival *a, const struct ival *b)
{
	return a->state == b->state && a->flags == b->flags && a->other == b->other &&
	       a->sc == b->sc && a->own == b->own && a->cpu == b->cpu;
}

/* The right's intervals before its first kernel event take the state the left ended in. */
static void take_left_state(struct ival *iv, const struct ival *li)
{
	uint8_t wake = iv->flags & (IV_WOKEN | IV_WAKE_IRQ);
	int32_t waker = iv->other;

	iv->state = li->state;
	iv->cpu = li->cpu;
	if (li->state == TS_BLOCKED || li->state == TS_UNKNOWN) {
		iv->flags = (uint8_t)((li->flags & ~(IV_PREFIX | IV_WOKEN | IV_WAKE_IRQ)) | wake);
		iv->other = wake ? waker : 0;
	} else {
		iv->flags = (uint8_t)(li->flags & ~IV_PREFIX);
		iv->other = li->other;
	}
}

static void coalesce(struct ct_partial *l, struct thread *t, uint32_t from);
static void split_at(struct ct_partial *l, struct thread *t, uint64_t ts);

/* CPU timelines: the right's goes on where the left's ends (its first slot's previous task
 * is the left's last one). */
static void merge_cpus(struct ct_partial *l, struct ct_partial *r)
{
	for (uint32_t i = 0; i < r->cpus.n; i++) {
		struct cputl *rc = &r->cpus.v[i], *lc;

		if (!rc->s.n && rc->first_prev < 0)
			continue;
		lc = cpu_get(l, i);
		if (!lc)
			continue;
		if (!lc->s.n && lc->first_prev < 0) {
			CT_VEC_FREE(lc->s);
			*lc = *rc;
			memset(&rc->s, 0, sizeof(rc->s));
			continue;
		}
		if (CT_VEC_RESERVE(lc->s, rc->s.n)) {
			l->oom++;
			continue;
		}
		for (uint32_t k = 0; k < rc->s.n; k++)
			cpu_append(l, lc, rc->s.v[k].ts, rc->s.v[k].tid);
	}
}

static void merge_thread(struct ct_partial *l, struct ct_partial *r, struct thread *rt,
			 uint64_t new_begin)
{
	struct thread *lt = th_get(l, rt->tid);
	uint32_t m0 = NOIDX, base, rprefix = rt->prefix_sc;
	struct screc *rpre = th_sc(rt, rprefix);
	int keep_prefix = 0;
	uint32_t rprefix_skip;

	if (!lt)
		return;
	if (rt->pid > 0)
		th_set_pid(l, lt, rt->pid);
	if (!rt->iv.n)
		return; /* only named on the right (state dump): the left's state goes on */
	if (rt->wcpu != NO_CPU)
		lt->wcpu = rt->wcpu;
	if (lt->iv.n)
		lt->lost_wakes += rt->lost_wakes; /* (else taken with the right's intervals) */
	/* Frames first: every interval and record points at resolved scopes. */
	for (uint32_t i = 0; i < rt->iv.n; i++)
		rewrite_frame(l, &rt->iv.v[i].own);
	for (uint32_t i = 0; i < rt->sc.n; i++) {
		rewrite_frame(l, &rt->sc.v[i].own);
		rewrite_frame(l, &rt->sc.v[i].proc);
	}

	if (!lt->iv.n) {
		/* The left knew nothing of its state: the right's inference stands, from the
		 * left's begin. */
		if ((rt->iv.v[0].flags & IV_PREFIX) && rt->iv.v[0].start == r->begin)
			/* As the whole trace would: from the begin, with the process-wide scope
			 * current at the thread's first event (first_ev, taken below). */
			rt->iv.v[0].start = new_begin;
		if (rpre)
			rpre->entry_ts = new_begin;
		for (uint32_t i = 0; i < lt->sc.n; i++)
			sc_release(l, &lt->sc.v[i]);
		for (uint32_t i = 0; i < lt->kev.n; i++)
			kev_release(&lt->kev.v[i]);
		CT_VEC_FREE(lt->iv);
		CT_VEC_FREE(lt->sc);
		CT_VEC_FREE(lt->kev);
		lt->iv = rt->iv;
		lt->sc = rt->sc;
		lt->kev = rt->kev;
		lt->sc_base = rt->sc_base;
		lt->kev_base = rt->kev_base;
		memset(&rt->iv, 0, sizeof(rt->iv));
		memset(&rt->sc, 0, sizeof(rt->sc));
		memset(&rt->kev, 0, sizeof(rt->kev));
		lt->cur_sc = rt->cur_sc;
		lt->prefix_sc = rt->prefix_sc;
		lt->first_ev = rt->first_ev;
		lt->first_check = l->at_start ? 0 : rt->first_check;
		lt->lost_wakes += rt->lost_wakes;
		fr_unref(l, lt->own);
		lt->own = fr_ref(fr_resolve(rt->own));
		lt->flags |= rt->flags;
		/* Scopes that differed only by being unknown on the right are now the same. */
		coalesce(l, lt, 1);
		return;
	}

	/* Where the right's prefix record goes: the left's syscall in progress. */
	if (rpre) {
		struct screc *le = th_sc(lt, lt->cur_sc);

		if (le && !(le->flags & SC_PREFIX)) {
			m0 = lt->cur_sc;
			if (rpre->flags & SC_PREFIX_EXIT) {
				if (le->nr != rpre->nr)
					p_anomaly(l);
				le->exit_ts = rpre->exit_ts;
				le->ret = rpre->ret;
			}
		} else if (le) {
			/* The left does not know either: its prefix record takes what we learnt. */
			m0 = lt->cur_sc;
			if ((rpre->flags & SC_PREFIX_EXIT) && !(le->flags & SC_PREFIX_EXIT)) {
				le->flags |= SC_PREFIX_EXIT;
				le->nr = rpre->nr;
				le->ret = rpre->ret;
				le->exit_ts = rpre->exit_ts;
			}
		} else if (rpre->flags & SC_PREFIX_EXIT) {
			/* The left saw no syscall in progress: an exit without its entry, as the
			 * whole trace would record it (but a new task's return from clone). */
			if (!(ct_syscall_is_clone(rpre->nr) && rpre->ret == 0))
				p_anomaly(l);
			rpre->flags = (uint16_t)((rpre->flags & ~(SC_PREFIX | SC_PREFIX_EXIT)) |
						 SC_NO_ENTRY);
			rpre->entry_ts = rpre->exit_ts;
			keep_prefix = 1;
		}
	}
	/* Append the right's records (but its prefix record) and renumber. */
	base = lt->sc_base + lt->sc.n;
	rprefix_skip = rprefix;
	if (CT_VEC_RESERVE(lt->sc, rt->sc.n)) {
		l->oom++;
		return;
	}
	for (uint32_t i = 0; i < rt->sc.n; i++) {
		if (rt->sc_base + i == rprefix && !keep_prefix) {
			sc_release(l, &rt->sc.v[i]);
			continue;
		}
		lt->sc.v[lt->sc.n++] = rt->sc.v[i];
	}
	rt->sc.n = 0;
	if (keep_prefix)
		rprefix_skip = NOIDX;
#define MAP_SC(x)                                      \
	((x) == NOIDX	  ? NOIDX                      \
	 : (x) == rprefix ? m0                         \
			  : base + ((x)-rt->sc_base) - \
				    ((rprefix_skip != NOIDX && (x) > rprefix_skip) ? 1 : 0))
	lt->cur_sc = MAP_SC(rt->cur_sc);

	/* Intervals: the prefix and NOINFO ones take the left's state. */
	{
		struct ival *li = &lt->iv.v[lt->iv.n - 1];
		struct ival lcopy = *li;

		/* What the whole trace would have found inconsistent at the right's first
		 * event, now that the state before it is known. */
		if (rt->first_check == FC_SWITCH_IN && lcopy.state == TS_BLOCKED)
			lt->lost_wakes++;
		if (rt->first_check == FC_OWN &&
		    (lcopy.state == TS_BLOCKED || lcopy.state == TS_RUNNABLE))
			p_anomaly(l);
		/* The right took the thread for running since its begin; the whole trace has it
		 * in the left's state until that first event of its own, running from there. */
		if (rt->first_check == FC_OWN && lcopy.state != TS_RUNNING &&
		    (rt->iv.v[0].flags & IV_PREFIX) && rt->first_own_ts > rt->iv.v[0].start &&
		    rt->first_own_ts < iv_end(rt, 0, NO_END))
			split_at(r, rt, rt->first_own_ts);

		/* The right met the thread at a wake-up and took it for blocked; when it was
		 * not (running, runnable), that wake-up changed nothing in the whole trace. */
		int wake_noop = rt->iv.n > 1 && (rt->iv.v[0].flags & IV_PREFIX) &&
				(rt->iv.v[0].flags & IV_WOKEN) && rt->iv.v[0].state == TS_BLOCKED &&
				lcopy.state != TS_BLOCKED &&
				!(lcopy.state == TS_UNKNOWN && (lcopy.flags & IV_NOINFO));

		/* ... nor did the inconsistency the right saw after it, unless it was
		 * runnable already. */
		if (wake_noop && rt->wake_anomaly && lcopy.state != TS_RUNNABLE && r->anomalies)
			r->anomalies--;
		for (uint32_t i = 0; i < rt->iv.n; i++) {
			struct ival *iv = &rt->iv.v[i];

			iv->sc = MAP_SC(iv->sc);
			if (iv->flags & (IV_PREFIX | IV_NOINFO)) {
				take_left_state(iv, &lcopy);
			} else if (i == 1 && wake_noop) {
				iv->state = lcopy.state;
				iv->flags = (uint8_t)(lcopy.flags & ~IV_PREFIX);
				iv->other = lcopy.other;
				iv->cpu = lcopy.cpu;
			}
		}
	}
#undef MAP_SC
	if (CT_VEC_RESERVE(lt->iv, rt->iv.n)) {
		l->oom++;
		return;
	}
	for (uint32_t i = 0; i < rt->iv.n; i++) {
		struct ival *iv = &rt->iv.v[i], *last = &lt->iv.v[lt->iv.n - 1];

		if (i == 0 && iv->start == r->begin && lt->iv.n &&
		    (iv->state == last->state && iv->sc == last->sc && iv->own == last->own)) {
			/* The same interval continues across the boundary; how it ended is the
			 * right's to say. */
			last->flags = (uint8_t)((last->flags & ~(IV_WOKEN | IV_WAKE_IRQ)) |
						(iv->flags & (IV_WOKEN | IV_WAKE_IRQ)));
			if (last->state == TS_BLOCKED || last->state == TS_UNKNOWN)
				last->other = iv->other;
			iv_release(l, iv);
			l->cur_iv--;
			continue;
		}
		if (iv_same(iv, last)) {
			iv_release(l, iv);
			l->cur_iv--;
			continue;
		}
		if (i == 0 && iv->state == TS_RUNNABLE && (iv->flags & IV_NEW) &&
		    last->state == TS_RUNNABLE && (last->flags & IV_NEW)) {
			/* Forked on the left, its wakeup_new on the right: the same wait for a
			 * first run, on the CPU the wake-up names. */
			if (iv->cpu != NO_CPU)
				last->cpu = iv->cpu;
			iv_release(l, iv);
			l->cur_iv--;
			continue;
		}
		if ((last->state == TS_BLOCKED || last->state == TS_UNKNOWN) &&
		    !(last->flags & (IV_WOKEN | IV_WAKE_IRQ)) &&
		    last->flags == (iv->flags & ~(IV_WOKEN | IV_WAKE_IRQ)) &&
		    iv->state == last->state && iv->sc == last->sc && iv->own == last->own &&
		    iv->cpu == last->cpu) {
			/* A wait the whole trace saw as one (a switch-out while already blocked
			 * changes nothing): how it ended is the later piece's. */
			last->flags = iv->flags;
			last->other = iv->other;
			iv_release(l, iv);
			l->cur_iv--;
			continue;
		}
		lt->iv.v[lt->iv.n++] = *iv;
	}
	rt->iv.n = 0;
	/* Kernel event records, renumbered for the block I/O table. */
	if (CT_VEC_RESERVE(lt->kev, rt->kev.n) == 0) {
		uint32_t kbase = lt->kev_base + lt->kev.n;

		for (uint32_t i = 0; i < rt->kev.n; i++)
			lt->kev.v[lt->kev.n++] = rt->kev.v[i];
		rt->kev.n = 0;
		for (uint32_t i = 0; i < r->blk.n; i++)
			if (r->blk.v[i].tid == rt->tid && r->blk.v[i].kev != NOIDX)
				r->blk.v[i].kev = kbase + (r->blk.v[i].kev - rt->kev_base);
	} else {
		l->oom++;
	}
	fr_unref(l, lt->own);
	lt->own = fr_ref(fr_resolve(rt->own));
	lt->flags = (uint8_t)((lt->flags & ~TH_EXITING) | (rt->flags & (TH_KERNEL | TH_EXITING)));
}

/* ---- cutting and joining intervals ---- */

/* Cuts the interval containing ts in two (the wait's end stays with the later piece). */
static void split_at(struct ct_partial *l, struct thread *t, uint64_t ts)
{
	uint32_t i = th_iv_at(t, ts);
	struct ival *a, *b;

	if (i == NOIDX || t->iv.v[i].start == ts)
		return;
	if (CT_VEC_RESERVE(t->iv, 1)) {
		l->oom++;
		return;
	}
	memmove(&t->iv.v[i + 2], &t->iv.v[i + 1], (t->iv.n - i - 1) * sizeof(t->iv.v[0]));
	t->iv.n++;
	l->cur_iv++;
	a = &t->iv.v[i];
	b = &t->iv.v[i + 1];
	*b = *a;
	b->start = ts;
	fr_ref(b->own);
	b->flags &= (uint8_t)~IV_PREFIX;
	if (a->state == TS_BLOCKED || a->state == TS_UNKNOWN) {
		a->flags &= (uint8_t) ~(IV_WOKEN | IV_WAKE_IRQ);
		a->other = 0;
		b->flags &= (uint8_t)~IV_PREFIX;
	}
}

static void coalesce(struct ct_partial *l, struct thread *t, uint32_t from)
{
	uint32_t w = from ? from : 1;

	if (t->iv.n < 2)
		return;
	for (uint32_t i = w; i < t->iv.n; i++) {
		if (iv_same(&t->iv.v[w - 1], &t->iv.v[i])) {
			iv_release(l, &t->iv.v[i]);
			l->cur_iv--;
			continue;
		}
		t->iv.v[w++] = t->iv.v[i];
	}
	t->iv.n = w;
}

/* ---- spans ---- */

static void merge_span_data(struct ct_partial *l, struct span *ls, struct span *rs)
{
	for (uint32_t i = 0; i < rs->attrs.n; i++) {
		struct attr *a = CT_VEC_PUSH(ls->attrs);

		if (a)
			*a = rs->attrs.v[i];
		else
			attr_fini(&rs->attrs.v[i]), l->oom++;
	}
	rs->attrs.n = 0;
	for (uint32_t i = 0; i < rs->events.n; i++) {
		struct sevent *e = CT_VEC_PUSH(ls->events);

		if (e)
			*e = rs->events.v[i];
		else
			free(rs->events.v[i].name), l->oom++;
	}
	rs->events.n = 0;
	for (uint32_t i = 0; i < rs->links.n; i++) {
		struct slink *k = CT_VEC_PUSH(ls->links);

		if (k)
			*k = rs->links.v[i];
		else
			l->oom++;
	}
	rs->links.n = 0;
	for (uint32_t i = 0; i < rs->threads.n; i++) {
		const struct spthread *rt = &rs->threads.v[i];
		struct spthread *st = NULL;

		for (uint32_t j = 0; j < ls->threads.n; j++)
			if (ls->threads.v[j].tid == rt->tid)
				st = &ls->threads.v[j];
		if (!st) {
			st = CT_VEC_PUSH(ls->threads);
			if (!st) {
				l->oom++;
				continue;
			}
			*st = *rt;
			if (st->first == l->begin && rt->first < l->begin)
				st->first = rt->first;
			continue;
		}
		st->last = rt->last;
	}
	ls->flags |= rs->flags & SP_PROCWIDE;
}

static void move_span(struct ct_partial *l, struct span *s)
{
	struct span **slot = CT_VEC_PUSH(l->span_order);

	if (!slot || ct_hmap_put(&l->spans, s->id, (uint64_t)(uintptr_t)s)) {
		if (slot)
			l->span_order.n--;
		l->oom++;
		sp_free(s);
		return;
	}
	*slot = s;
}

static int cmp_end(const void *a, const void *b)
{
	const struct endrec *x = a, *y = b;

	if (x->end_ev != y->end_ev)
		return x->end_ev < y->end_ev ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void merge_spans(struct ct_partial *l, struct ct_partial *r)
{
	struct endrec_vec ends = {0};

	/* Orphans first (time order): a parent ended on the right is not open for a child
	 * that started after that end. */
	for (uint32_t i = 0; i < r->orphans.n; i++) {
		struct orphan *o = &r->orphans.v[i];
		struct span *s = sp_find(l, o->span);

		if (s && (s->flags & SP_STARTED)) {
			if (o->kind == OR_END) {
				if (s->flags & SP_ENDED) {
					p_anomaly(l);
				} else {
					struct endrec *e = CT_VEC_PUSH(ends);

					s->end = o->end < s->start ? s->start : o->end;
					s->end_ev = o->ts;
					s->end_tid = o->tid;
					s->status = o->status;
					if (o->msg)
						take(&s->status_msg, &o->msg);
					s->flags |= SP_ENDED;
					if (e)
						*e = (struct endrec){.id = s->id,
								     .parent = s->parent,
								     .start = s->start,
								     .end = s->end,
								     .end_ev = s->end_ev,
								     .pid = s->pid,
								     .end_tid = s->end_tid,
								     .start_tid = s->tid};
					else
						l->oom++;
				}
			} else {
				s->status = o->status;
				free(s->status_msg);
				s->status_msg = o->msg;
				o->msg = NULL;
			}
			free(o->msg);
			continue;
		}
		if (l->at_start) {
			p_anomaly(l); /* its start is nowhere in the trace */
			free(o->msg);
			continue;
		}
		{
			struct orphan *d = CT_VEC_PUSH(l->orphans);

			if (d)
				*d = *o;
			else
				free(o->msg), l->oom++;
		}
	}
	r->orphans.n = 0;
	for (uint32_t i = 0; i < r->span_order.n; i++) {
		struct span *s = r->span_order.v[i], *ls;

		if (!s)
			continue;
		r->span_order.v[i] = NULL;
		ls = sp_find(l, s->id);
		if (s->flags & SP_STARTED) {
			if (ls) {
				p_anomaly(l);
				sp_free(s);
				continue;
			}
			if (s->flags & SP_ROOT_PENDING) {
				/* Not a request when its parent was open when it started. */
				struct span *ps = sp_find(l, s->parent);

				if (ps && (ps->flags & SP_STARTED) &&
				    (!(ps->flags & SP_ENDED) || ps->end_ev > s->start_ev))
					s->flags &= (uint16_t)~SP_ROOT_PENDING;
				else if ((ps && (ps->flags & SP_ENDED) &&
					  ps->end_ev <= s->start_ev) ||
					 l->at_start)
					s->flags =
						(uint16_t)((s->flags & ~SP_ROOT_PENDING) | SP_ROOT);
				/* else: only a stub on the left too: still pending */
			}
			move_span(l, s);
			continue;
		}
		/* A stub: what the right learnt about a span started before it. */
		if (ls) {
			if (!(ls->flags & SP_STARTED))
				ls->orphan_data += s->orphan_data;
			merge_span_data(l, ls, s);
			if ((s->flags & SP_ENDED) && !(ls->flags & SP_STARTED)) {
				ls->flags |= SP_ENDED;
				ls->end_ev = s->end_ev;
			}
			sp_free(s);
		} else if (!l->at_start) {
			move_span(l, s);
		} else {
			/* Data about a span whose start is nowhere: the whole trace would have
			 * counted each piece of it as it came. */
			l->anomalies += s->orphan_data;
			sp_free(s);
		}
	}
	r->span_order.n = 0;
	/* Ended-span records in end order. */
	for (uint32_t i = 0; i < r->ends.n; i++) {
		struct endrec *e = CT_VEC_PUSH(ends);

		if (e)
			*e = r->ends.v[i];
		else
			l->oom++;
	}
	if (ends.n > 1)
		qsort(ends.v, ends.n, sizeof(ends.v[0]), cmp_end);
	if (!ends.n) {
		/* nothing ended on the right */
	} else if (CT_VEC_RESERVE(l->ends, ends.n) == 0) {
		memcpy(l->ends.v + l->ends.n, ends.v, ends.n * sizeof(ends.v[0]));
		l->ends.n += ends.n;
	} else {
		l->oom++;
	}
	CT_VEC_FREE(ends);
}

/* ---- the rest ---- */

static void merge_losses(struct ct_partial *l, struct ct_partial *r, uint64_t new_begin)
{
	uint64_t k, v;

	for (uint32_t i = 0; i < r->losses.n; i++) {
		struct loss *x = &r->losses.v[i], *d;

		if (x->soft_begin) {
			uint64_t *last = ct_hmap_get(&l->klost_last, x->key);

			if (last) {
				x->begin = *last;
				x->soft_begin = 0;
			} else if (l->at_start) {
				x->begin = new_begin;
				x->soft_begin = 0;
			} else {
				x->begin = l->begin;
			}
		}
		d = CT_VEC_PUSH(l->losses);
		if (d)
			*d = *x;
		else
			l->oom++;
	}
	r->losses.n = 0;
	for (size_t it = 0; ct_hmap_next(&r->klost_last, &it, &k, &v);)
		if (ct_hmap_put(&l->klost_last, k, v))
			l->oom++;
}

/*
 * A partial that does not begin with the trace matches no completion itself (an older issue
 * of the same sector may be open further left), so its blk vector is its issues and
 * completions in time order. A left that begins with the trace knows every open issue: it
 * takes the right's entries in order, matching each completion to the oldest open issue, as
 * the whole trace would have. Any other left just appends them (both are in time order).
 */
static void merge_blk(struct ct_partial *l, struct ct_partial *r)
{
	for (uint32_t i = 0; i < r->blk.n; i++) {
		struct blkio *io = &r->blk.v[i], *d;

		if (io->completed && l->at_start) {
			if ((d = blk_oldest_open(l, io->dev_sector)))
				blk_complete(l, d, io->ts);
			continue;
		}
		d = CT_VEC_PUSH(l->blk);
		if (d)
			*d = *io;
		else
			l->oom++;
	}
	r->blk.n = 0;
}

static void merge_tasks(struct ct_partial *l, struct ct_partial *r)
{
	uint64_t k, v;

	for (size_t it = 0; ct_hmap_next(&r->tasks, &it, &k, &v);) {
		uint32_t ci = (uint32_t)v;
		int32_t pid = (int32_t)(v >> 32);

		if (ci != NOIDX && ci < r->comms.n)
			task_name(l, (int32_t)k, pid, r->comms.v[ci], strlen(r->comms.v[ci]));
		else
			task_name(l, (int32_t)k, pid, NULL, 0);
	}
}

static void reduce_gap(struct ct_partial *l, struct ct_partial *r)
{
	/* Nothing is known across a missing chunk: every thread's state becomes unknown and
	 * what it was doing (syscall) is forgotten. */
	for (uint32_t i = 0; i < l->thread_list.n; i++) {
		struct thread *t = l->thread_list.v[i];
		struct screc *rec;

		if (!t->iv.n || t->iv.v[t->iv.n - 1].state == TS_DEAD)
			continue;
		rec = th_sc(t, t->cur_sc);
		if (rec && rec->exit_ts == NO_END && !(rec->flags & SC_PREFIX)) {
			rec->exit_ts = r->begin;
			rec->flags |= SC_NO_EXIT;
		}
		rec = CT_VEC_PUSH(t->sc);
		if (rec) {
			memset(rec, 0, sizeof(*rec));
			rec->entry_ts = r->begin;
			rec->exit_ts = NO_END;
			rec->fdnum = -1;
			rec->flags = SC_PREFIX | SC_NO_ENTRY;
			t->cur_sc = t->prefix_sc = t->sc_base + t->sc.n - 1;
		} else {
			l->oom++;
			t->cur_sc = NOIDX;
		}
		ts_push(l, t, r->begin, TS_UNKNOWN, IV_GAP, 0);
	}
	for (uint32_t i = 0; i < r->losses.n; i++) {
		struct loss *d = CT_VEC_PUSH(l->losses);

		if (d)
			*d = r->losses.v[i];
		else
			l->oom++;
	}
	r->losses.n = 0;
	if (l->at_start && !l->events)
		l->begin = r->end;
	l->end = r->end;
}

int st_reduce(struct ct_partial *l, struct ct_partial *r)
{
	struct fx_vec fx = {0};
	uint64_t new_begin = l->begin;

	if (r->events && l->events && r->first_ts < l->last_ts) {
		ct_partial_free(r);
		return -EINVAL;
	}
	if (r->gap) {
		reduce_gap(l, r);
		ct_partial_free(r);
		return 0;
	}
	if (l->at_start && !l->events && r->events)
		new_begin = r->first_ts; /* the trace starts with the right's first event */

	resolve_floors(l, r);
	prefix_exit_effects(l, r, &fx);
	for (uint32_t i = 0; i < fx.n; i++)
		apply_effect_to_records(l, r, &fx.v[i]);
	resolve_fds(l, r);
	merge_procs(l, r, &fx);
	for (uint32_t i = 0; i < fx.n; i++)
		fd_unref(l, fx.v[i].now);
	CT_VEC_FREE(fx);
	for (uint32_t i = 0; i < r->thread_list.n; i++)
		merge_thread(l, r, r->thread_list.v[i], new_begin);
	merge_cpus(l, r);
	merge_spans(l, r);
	merge_losses(l, r, new_begin);
	merge_blk(l, r);
	merge_tasks(l, r);
	for (uint32_t i = 0; i < r->clocks.n; i++) {
		struct clockpt *c = CT_VEC_PUSH(l->clocks);

		if (c)
			*c = r->clocks.v[i];
	}

	/* Frames and fd infos now belong to the left (the right's floors table lets go). */
	{
		uint64_t k, v;

		for (size_t it = 0; ct_hmap_next(&r->floors, &it, &k, &v);)
			fr_unref(l, (struct frame *)(uintptr_t)v);
		ct_hmap_fini(&r->floors);
	}
	if (r->frames.next != &r->frames) {
		struct frame *first = r->frames.next, *last = r->frames.prev;

		last->next = l->frames.next;
		l->frames.next->prev = last;
		l->frames.next = first;
		first->prev = &l->frames;
		r->frames.next = r->frames.prev = &r->frames;
	}
	if (r->fdinfos.next != &r->fdinfos) {
		struct fdinfo *first = r->fdinfos.next, *last = r->fdinfos.prev;

		last->next = l->fdinfos.next;
		l->fdinfos.next->prev = last;
		l->fdinfos.next = first;
		first->prev = &l->fdinfos;
		r->fdinfos.next = r->fdinfos.prev = &r->fdinfos;
	}

	if (!l->events)
		l->first_ts = r->first_ts;
	l->begin = new_begin;
	l->events += r->events;
	l->unknown_events += r->unknown_events;
	l->anomalies += r->anomalies;
	l->oom += r->oom;
	l->sched_events += r->sched_events;
	l->kernel_events += r->kernel_events;
	if (r->last_ts > l->last_ts)
		l->last_ts = r->last_ts;
	l->end = r->end;
	if (l->cur_iv + r->peak_iv > l->peak_iv)
		l->peak_iv = l->cur_iv + r->peak_iv;
	l->cur_iv += r->cur_iv;
	l->since_settle += r->events;
	ct_partial_free(r);
	return 0;
}
