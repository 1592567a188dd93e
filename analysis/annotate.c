// SPDX-License-Identifier: MIT
/*
 * Span annotation from thread history: the time breakdown (which category each instant of
 * a span falls in), the causes behind it, the syscall time per phase, and the full detail
 * (syscalls as child spans, kernel events) of slow spans. A span current on several threads
 * at once is represented at each instant by the thread in the most productive state, so
 * that the categories sum to the span's duration (docs/internals/analysis.md).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "syscalls.h"

#define MAX_DETAIL_SYSCALLS 1000
#define MAX_DETAIL_KEVENTS 256

const struct frame *an_innermost(const struct piece *pc)
{
	const struct frame *own = fr_resolve(pc->iv.own);

	if (own)
		return (own->flags & FR_FLOOR) ? NULL : own;
	own = fr_resolve(pc->proc);
	return own && !(own->flags & FR_FLOOR) ? own : NULL;
}

enum rel { REL_NONE, REL_INNER, REL_CHILD };

/* A token no sweep has had (thread-safe: partials are mapped on several threads). */
static uint64_t sweep_token(void)
{
	static _Atomic uint64_t tokens;

	return atomic_fetch_add(&tokens, 1) + 1;
}

/*
 * Whether span id is current in the chain from f (resolved) outwards: 1 yes, 0 no, -1 an
 * unresolved floor comes first. With a sweep's token (not 0), remembered in the frames walked
 * (they all have the same answer; chains do not change during a sweep): a new scope's chain
 * is its parent's, so a sweep walks one frame per new scope instead of whole chains
 * (process-wide scopes of overlapping requests nest deeply). Thread scopes nest shallowly:
 * for them the memo costs more than the walk.
 */
static int chain_has(struct frame *f, uint64_t id, uint64_t tok)
{
	struct frame *path[32];
	unsigned n = 0;
	int in;

	for (;; f = fr_resolve(f->parent)) {
		if (!f) {
			in = 0;
			break;
		}
		if (f->flags & FR_FLOOR) {
			in = -1;
			break;
		}
		if (tok && f->q_tok == tok) {
			in = f->q_in;
			break;
		}
		if (tok && n < 32)
			path[n++] = f;
		if (f->span == id) {
			in = 1;
			break;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		path[i]->q_tok = tok;
		path[i]->q_in = (int8_t)in;
	}
	return in;
}

/* Of the scopes town (the thread's) and proc (the process-wide one then). tok: the sweep's
 * token to remember chains by, or 0. */
static enum rel relation(struct frame *town, struct frame *proc, uint64_t id, uint64_t tok)
{
	struct frame *own = fr_resolve(town), *f = own ? own : fr_resolve(proc);
	int in;

	if (!f || (f->flags & FR_FLOOR))
		return REL_NONE;
	if (f->span == id)
		return REL_INNER;
	in = chain_has(fr_resolve(f->parent), id, tok);
	if (in)
		return in > 0 ? REL_CHILD : REL_NONE;
	/* A process-wide span is the parent of what threads make current themselves. */
	if (own && chain_has(fr_resolve(proc), id, tok) > 0)
		return REL_CHILD;
	return REL_NONE;
}

/*
 * relation() remembered by the scopes it depends on. Every thread of a process carries the
 * same process-wide scope, so a process-wide span meets each scope chain on every thread of
 * its process: walked once per sweep, not once per thread.
 */
struct relmemo {
	struct {
		const struct frame *own, *proc;
		enum rel rel;
	} e[16];
};

static enum rel relation_memo(struct relmemo *m, struct frame *own, struct frame *proc, uint64_t id,
			      uint64_t tok)
{
	uintptr_t h = ((uintptr_t)own ^ (uintptr_t)proc * 31u) >> 4;
	unsigned k = (unsigned)(h ^ h >> 4) & 15u;

	if (m->e[k].own != own || m->e[k].proc != proc) {
		m->e[k].own = own;
		m->e[k].proc = proc;
		m->e[k].rel = relation(own, proc, id, tok);
	}
	return m->e[k].rel;
}

/*
 * The object a syscall worked on, for people ("/data/orders.db", "tcp 10.0.0.1:80"); for
 * causes (normalize), one name per accepted peer host rather than per connection.
 */
static void object_text(const struct screc *r, char *buf, size_t size, int normalize)
{
	buf[0] = 0;
	if (ct_syscall_is_futex(r->nr)) {
		snprintf(buf, size, "0x%llx", (unsigned long long)r->args[0]);
	} else if (r->fd) {
		char *peer;

		fd_text(r->fd, buf, size);
		/* An accepted connection's port is ephemeral: one cause per peer host. */
		peer = normalize ? strstr(buf, " peer ") : NULL;
		if (peer && strstr(peer, "(accepted)")) {
			char *colon = strrchr(peer, ':');

			if (colon)
				txt_put(buf, size, (size_t)(colon - buf), " (accepted)");
		}
	} else if (r->text) {
		txt_put(buf, size, 0, r->text);
	}
}

static void call_text(const struct screc *r, const char *prefix, char *buf, size_t size)
{
	const char *name = ct_syscall_name(r->nr);
	char obj[300];
	char nb[24];
	size_t at;

	if (!name) {
		snprintf(nb, sizeof(nb), "syscall_%u", r->nr);
		name = nb;
	}
	object_text(r, obj, sizeof(obj), 1);
	at = txt_put(buf, size, 0, prefix);
	at = txt_put(buf, size, at, name);
	at = txt_put(buf, size, at, "(");
	at = txt_put(buf, size, at, obj);
	txt_put(buf, size, at, ")");
}

/* Names are final only at the end: a marker around the tid, expanded on output (lbl). */
static void preempted_text(char *text, size_t size, int32_t tid)
{
	size_t at = txt_put(text, size, 0, "runnable: preempted by \x01");

	at = txt_put_int(text, size, at, tid);
	txt_put(text, size, at, "\x02");
}

unsigned an_classify(const struct ct_partial *p, const struct thread *t, const struct ival *iv,
		     char *text, size_t size, int32_t *by)
{
	const struct screc *r = th_sc(t, iv->sc);

	(void)p;
	/* text may be NULL: the category alone is wanted (the sweep's hot path). */
#define TXT(s)                                     \
	do {                                       \
		if (text)                          \
			txt_put(text, size, 0, s); \
	} while (0)
	*by = 0;
	if (r && (r->flags & SC_PREFIX))
		r = NULL; /* the syscall it was in when the data began is unknown */
	switch (iv->state) {
	case TS_RUNNING:
		if (!r) {
			TXT("running in user space");
			return CT_CAT_CPU_USER;
		}
		if (text)
			call_text(r, "running in the kernel: ", text, size);
		return CT_CAT_CPU_KERNEL;
	case TS_RUNNABLE:
		if (iv->flags & IV_PREEMPTED) {
			*by = iv->other;
			if (text)
				preempted_text(text, size, iv->other);
		} else if (iv->flags & IV_WOKEN) {
			TXT("runnable: waiting for a CPU after its wake-up");
		} else if (iv->flags & IV_NEW) {
			TXT("runnable: new thread waiting for its first run");
		} else {
			TXT("runnable");
		}
		return CT_CAT_RUNNABLE;
	case TS_BLOCKED: {
		unsigned cat = CT_CAT_BLOCKED_OTHER;

		if (iv->other > 0)
			*by = iv->other;
		if (!r) {
			if (iv->flags & IV_DSTATE) {
				TXT("blocked (uninterruptible) outside a known syscall");
				return CT_CAT_BLOCKED_IO;
			}
			TXT("blocked outside a known syscall");
			return CT_CAT_BLOCKED_OTHER;
		}
		if (text)
			call_text(r, "blocked in ", text, size);
		switch (ct_syscall_class(r->nr)) {
		case CT_SCC_LOCK:
			cat = CT_CAT_BLOCKED_LOCK;
			break;
		case CT_SCC_SLEEP:
			cat = CT_CAT_BLOCKED_SLEEP;
			break;
		case CT_SCC_DISK:
			cat = CT_CAT_BLOCKED_IO;
			break;
		case CT_SCC_NET:
		case CT_SCC_POLL:
			cat = CT_CAT_BLOCKED_NET;
			break;
		case CT_SCC_FDIO:
			switch (fd_type(r->fd)) {
			case CT_FD_FILE:
			case CT_FD_DIR:
			case CT_FD_DEVICE:
				cat = CT_CAT_BLOCKED_IO;
				break;
			case CT_FD_SOCKET_TCP:
			case CT_FD_SOCKET_UDP:
			case CT_FD_SOCKET_UNIX:
			case CT_FD_SOCKET_OTHER:
				cat = CT_CAT_BLOCKED_NET;
				break;
			default:
				cat = (iv->flags & IV_DSTATE) ? CT_CAT_BLOCKED_IO
							      : CT_CAT_BLOCKED_OTHER;
				break;
			}
			break;
		default:
			break;
		}
		return cat;
	}
	case TS_DEAD:
		TXT("thread exited");
		return CT_CAT_UNKNOWN;
	default:
		TXT((iv->flags & IV_GAP) ? "no data (missing chunk)"
					 : "no kernel data for this thread");
		return CT_CAT_UNKNOWN;
	}
}
#undef TXT

int32_t an_cpu_holder(const struct ct_partial *p, const struct thread *t, const struct ival *iv,
		      uint64_t ts, uint64_t *since, uint64_t *until)
{
	int32_t occ;

	*since = 0;
	*until = NO_END;
	if (iv->state != TS_RUNNABLE || iv->cpu == NO_CPU)
		return 0;
	occ = cpu_occupant(p, iv->cpu, ts, since, until);
	/* Itself: it moved to another CPU (migrations are not recorded). */
	return occ > 0 && occ != t->tid ? occ : 0;
}

unsigned an_classify_at(const struct ct_partial *p, const struct thread *t, const struct ival *iv,
			uint64_t ts, char *text, size_t size, int32_t *by)
{
	uint64_t since, until;
	int32_t h = an_cpu_holder(p, t, iv, ts, &since, &until);

	if (h <= 0)
		return an_classify(p, t, iv, text, size, by);
	/* Who ran while it waited, rather than who took the CPU at first: the preemptor
	 * often runs for microseconds before the real competitor. Preempted or woken to a
	 * busy CPU, the task that kept it off the CPU is the one named. */
	*by = h;
	if (text)
		preempted_text(text, size, h);
	return CT_CAT_RUNNABLE;
}

uint64_t an_cause_key(const struct thread *t, const struct ival *iv, unsigned cat, int32_t holder)
{
	const struct screc *r = th_sc(t, iv->sc);
	/* Only what is known when the interval starts: a wait learns its waker at its end. */
	uint8_t fl = iv->state == TS_RUNNABLE  ? iv->flags & (IV_PREEMPTED | IV_WOKEN | IV_NEW)
		     : iv->state == TS_BLOCKED ? iv->flags & IV_DSTATE
					       : iv->flags & IV_GAP;
	uint64_t k = (uint64_t)cat << 56 ^ (uint64_t)iv->state << 48 ^ (uint64_t)fl << 40;

	/* What makes the cause text: the syscall and its object, or the preemptor. Equal texts
	 * from different keys merge when the span is settled. */
	if (r && !(r->flags & SC_PREFIX)) {
		k ^= (uint64_t)r->nr * 0x9e3779b97f4a7c15ull;
		k ^= (uint64_t)(uintptr_t)fd_resolve(r->fd) * 0xbf58476d1ce4e5b9ull;
		k ^= (uint64_t)(uintptr_t)r->text * 0x94d049bb133111ebull;
		if (ct_syscall_is_futex(r->nr))
			k ^= r->args[0] * 0xd6e8feb86659fd93ull;
	}
	if (holder > 0)
		/* The text names the holder alone, whatever the way to the wait. */
		k = (uint64_t)cat << 56 ^ (uint64_t)(uint32_t)holder * 0xe7037ed1a0b428dbull;
	else if (iv->state == TS_RUNNABLE && (iv->flags & IV_PREEMPTED))
		k ^= (uint64_t)(uint32_t)iv->other * 0xa0761d6478bd642full;
	return k ? k : 1;
}

/* ---- the sweep ---- */

struct cursor {
	const struct thread *t;
	uint64_t lo, hi; /* where this thread may count for the span */
	uint32_t i; /* current interval */
	/* its process-wide scope through time: the sweep needs only the scope at each instant,
	 * so it reads the timeline beside the intervals rather than in pieces (a wait's end,
	 * which pieces place, does not change a category) */
	struct tlcur tl;
	/* cache for interval ci */
	uint32_t ci;
	unsigned cat;
	int32_t by;
	uint64_t key;
	/* the span's relation to interval ri under process-wide scope rproc: the scope chains
	 * of every interval are walked once, not once per step of the sweep (steps are the
	 * boundaries of all threads) */
	uint32_t ri;
	struct frame *rproc;
	enum rel rel;
};

static void add_cause(struct ct_partial *p, struct cause_vec *v, const struct cursor *cu,
		      const struct ival *iv, uint64_t at, uint64_t ns)
{
	struct cause *c = NULL;
	char text[480];
	int32_t by;

	for (uint32_t i = v->n; i-- > 0;)
		if (v->v[i].key == cu->key && v->v[i].cat == cu->cat) {
			c = &v->v[i];
			break;
		}
	if (!c) {
		/* A new cause for this span: now its words are needed. A span has a few. */
		if (!v->cap && CT_VEC_RESERVE(*v, 8)) {
			p->oom++;
			return;
		}
		c = CT_VEC_PUSH(*v);
		if (!c) {
			p->oom++;
			return;
		}
		an_classify_at(p, cu->t, iv, at, text, sizeof(text), &by);
		memset(c, 0, sizeof(*c));
		c->key = cu->key;
		c->cat = (uint8_t)cu->cat;
		c->text = ct_strndup0(text, strlen(text));
		if (!c->text) {
			v->n--;
			p->oom++;
			return;
		}
		c->thash = ct_hash_str(c->text, cu->cat);
	}
	c->ns += ns;
	/* A preemptor is known when the wait starts (and is in the text). Wakers are known
	 * only when waits end: an_wakers names them once the span is over. */
	if (cu->cat == CT_CAT_RUNNABLE && cu->by > 0)
		c->by = cu->by;
}

static void add_sc(struct ct_partial *p, struct span *s, const char *phase, uint16_t nr,
		   uint64_t ns, int count)
{
	struct scsum *e = NULL;

	for (uint32_t i = 0; i < s->scs.n; i++)
		if (s->scs.v[i].nr == nr &&
		    ((!phase && !s->scs.v[i].phase) ||
		     (phase && s->scs.v[i].phase && !strcmp(phase, s->scs.v[i].phase)))) {
			e = &s->scs.v[i];
			break;
		}
	if (!e) {
		e = CT_VEC_PUSH(s->scs);
		if (!e) {
			p->oom++;
			return;
		}
		memset(e, 0, sizeof(*e));
		e->nr = nr;
		e->phase = phase ? ct_strndup0(phase, strlen(phase)) : NULL;
	}
	e->ns += ns;
	e->count += (uint64_t)count;
}

static int add_cursor(const struct ct_partial *p, struct cursor_vec *cs, const struct thread *t,
		      uint64_t lo, uint64_t hi)
{
	struct cursor *c;

	if (!t || !t->iv.n || lo >= hi)
		return 0;
	for (uint32_t i = 0; i < cs->n; i++)
		if (cs->v[i].t == t) {
			if (lo < cs->v[i].lo)
				cs->v[i].lo = lo;
			if (hi > cs->v[i].hi)
				cs->v[i].hi = hi;
			return 0;
		}
	c = CT_VEC_PUSH(*cs);
	if (!c)
		return -1;
	c->t = t;
	c->lo = lo;
	c->hi = hi;
	c->i = NOIDX;
	c->ci = NOIDX;
	c->ri = NOIDX;
	tl_cursor_init(p, t, &c->tl);
	return 0;
}

/* Category priority when several threads carry the span: the most productive wins. */
static unsigned rank(unsigned cat)
{
	return cat; /* enum order: cpu-user, cpu-kernel, runnable, blocked-*, unknown */
}

static void collect_threads(struct ct_partial *p, const struct span *s, uint64_t from, uint64_t to,
			    struct cursor_vec *cs)
{
	for (uint32_t i = 0; i < s->threads.n; i++) {
		const struct spthread *st = &s->threads.v[i];
		uint64_t lo = st->first > from ? st->first : from;
		/* Not st->last: a nested re-entry may exit while an outer scope of the same span
		 * is still current; the scope chains say where it is current. */
		uint64_t hi = to;

		if (add_cursor(p, cs, th_find(p, st->tid), lo, hi))
			p->oom++;
	}
	if (s->flags & SP_PROCWIDE) {
		struct proc *pr = pr_find(p, s->pid);

		for (uint32_t i = 0; pr && i < pr->tids.n; i++)
			if (add_cursor(p, cs, pr_thread(p, pr, i), from, to))
				p->oom++;
	}
}

/* The interval of t at ts, from interval i at or before it: usually the same or the next;
 * after a process-wide shortcut maybe many later. */
static uint32_t iv_forward(const struct thread *t, uint32_t i, uint64_t ts)
{
	for (unsigned n = 0; i + 1 < t->iv.n && t->iv.v[i + 1].start <= ts; n++, i++)
		if (n == 8)
			return th_iv_at(t, ts);
	return i;
}

/*
 * Where a process-wide span's sweep may take a shortcut: from *after on, while every cursor's
 * thread exists (and is past its first_ev), is in the process and has no scope of its own, all
 * of them relate to the span alike, through the process' scope alone (returned; NULL: never).
 */
static const struct proc *shortcut_from(const struct ct_partial *p, const struct span *s,
					struct cursor_vec *cs, uint64_t *after, uint64_t *until)
{
	const struct proc *pr = pr_find(p, s->pid);

	*after = 0;
	*until = NO_END;
	if (!pr || !pr->tl.n || !cs->n)
		return NULL;
	for (uint32_t k = 0; k < cs->n; k++) {
		struct cursor *c = &cs->v[k];
		const struct thread *t = c->t;
		uint32_t i = th_iv_at(t, c->lo);

		c->i = i; /* where the sweep starts: no second search */
		if (c->tl.pr != pr)
			return NULL;
		for (i = i == NOIDX ? 0 : i; i < t->iv.n && t->iv.v[i].start < c->hi; i++)
			if (t->iv.v[i].own)
				return NULL;
		if (c->lo > *after)
			*after = c->lo;
		if (t->iv.v[0].start > *after)
			*after = t->iv.v[0].start;
		if (t->first_ev > *after)
			*after = t->first_ev;
		if (c->hi < *until)
			*until = c->hi;
	}
	return pr;
}

/*
 * A process-wide span's shortcut (see shortcut_from): from t, every thread carries the
 * process' scope alone, so unless the span is innermost there no thread's state matters until
 * that scope changes. Adds children or inactive time from one change of the process' scope to
 * the next (a few per microsecond under load) and returns where the span is innermost, or lim.
 * The relation to each scope is its chain's, remembered in the frames under the sweep's token
 * (chain_has also answers for the scope itself).
 */
static uint64_t skip_outer(struct span *s, struct tlcur *c, uint64_t t, uint64_t lim, uint64_t tok)
{
	struct frame *f = t < lim ? tl_cursor_at(c, t) : NULL;

	while (t < lim) {
		int in = f ? chain_has(f, s->id, tok) : 0;
		uint64_t next = c->next < lim ? c->next : lim;

		if (in > 0 && f->span == s->id)
			break;
		s->cat[in > 0 ? CT_CAT_CHILDREN : CT_CAT_INACTIVE] += next - t;
		t = next;
		if (t < lim)
			f = tl_cursor_next(c); /* t is c->next */
	}
	return t;
}

void an_sweep(struct ct_partial *p, struct span *s, uint64_t to)
{
	struct cursor_vec cs = {p->cursors.v, 0, p->cursors.cap}; /* the partial's, reused */
	uint64_t from = s->swept > s->start ? s->swept : s->start, t;
	uint32_t pi = 0; /* phase: events[pi - 1] is the current one */
	struct relmemo memo;
	/* Memos pay off only for process-wide spans (every thread, deep chains). */
	int pw = (s->flags & SP_PROCWIDE) != 0;
	uint64_t tok, sc_after = 0, sc_until = 0;
	struct tlcur ptl;

	if (to > s->end)
		to = s->end;
	if (to <= from)
		return;
	collect_threads(p, s, from, to, &cs);
	tok = pw ? sweep_token() : 0;
	if (pw) {
		const struct proc *pr = shortcut_from(p, s, &cs, &sc_after, &sc_until);

		if (pr) {
			/* The process' own view of its timeline (no thread's first_ev). */
			tl_cursor_init(p, cs.v[0].t, &ptl);
			ptl.from = 0;
		} else {
			sc_until = 0;
		}
	}
	/* (NULL, NULL) is a real key: empty entries hold one no interval has. */
	for (unsigned k = 0; pw && k < 16; k++) {
		memo.e[k].own = (const struct frame *)&memo;
		memo.e[k].proc = NULL;
		memo.e[k].rel = REL_NONE;
	}
	while (pi < s->events.n && s->events.v[pi].ev_ts <= from)
		pi++;
	for (t = from; t < to;) {
		uint64_t next = to;
		struct cursor *best = NULL;
		int child = 0;

		if (pi < s->events.n && s->events.v[pi].ev_ts < next)
			next = s->events.v[pi].ev_ts;
		if (t >= sc_after && t < sc_until) {
			t = skip_outer(s, &ptl, t, sc_until < to ? sc_until : to, tok);
			while (pi < s->events.n && s->events.v[pi].ev_ts <= t)
				pi++;
			if (t >= to || t >= sc_until)
				continue;
			/* The span is innermost on every thread from t on: the threads' scope
			 * cursors start where the process' is (not a search each). */
			for (uint32_t k = 0; k < cs.n; k++)
				if (t >= cs.v[k].tl.from) {
					uint64_t tfrom = cs.v[k].tl.from;

					cs.v[k].tl = ptl;
					cs.v[k].tl.from = tfrom;
				}
			next = to;
			if (pi < s->events.n && s->events.v[pi].ev_ts < next)
				next = s->events.v[pi].ev_ts;
		}
		for (uint32_t k = 0; k < cs.n; k++) {
			struct cursor *c = &cs.v[k];
			const struct ival *iv;
			struct frame *pf;
			uint64_t end;
			enum rel rel;

			if (t < c->lo) {
				if (c->lo < next)
					next = c->lo;
				continue;
			}
			if (t >= c->hi)
				continue;
			if (c->hi < next)
				next = c->hi;
			if (c->i == NOIDX || c->t->iv.v[c->i].start > t)
				c->i = th_iv_at(c->t, t);
			else
				c->i = iv_forward(c->t, c->i, t);
			if (c->i == NOIDX) {
				/* The thread did not exist yet. */
				if (c->t->iv.v[0].start < next)
					next = c->t->iv.v[0].start;
				continue;
			}
			iv = &c->t->iv.v[c->i];
			end = iv_end(c->t, c->i, NO_END);
			if (end < next)
				next = end;
			/* (a process without process-wide scopes has a constant one: no call) */
			pf = c->tl.pr && c->tl.pr->tl.n ? tl_cursor_at(&c->tl, t) : c->tl.val;
			if (c->tl.next < next)
				next = c->tl.next;
			if (c->ri != c->i || c->rproc != pf) {
				c->rel = pw ? relation_memo(&memo, iv->own, pf, s->id, tok)
					    : relation(iv->own, pf, s->id, 0);
				c->ri = c->i;
				c->rproc = pf;
			}
			rel = c->rel;
			if (rel == REL_CHILD)
				child = 1;
			if (rel != REL_INNER)
				continue;
			if (c->ci != c->i) {
				c->cat = an_classify(p, c->t, iv, NULL, 0, &c->by);
				c->key = an_cause_key(c->t, iv, c->cat, 0);
				c->ci = c->i;
			}
			if (!best || rank(c->cat) < rank(best->cat) ||
			    (rank(c->cat) == rank(best->cat) && c->t->tid < best->t->tid))
				best = c;
		}
		if (next <= t)
			next = t + 1; /* cannot happen with consistent intervals; never loop */
		if (best) {
			const struct ival *iv = &best->t->iv.v[best->i];
			const struct screc *r = th_sc(best->t, iv->sc);
			const char *phase = pi ? s->events.v[pi - 1].name : NULL;

			if (best->cat == CT_CAT_RUNNABLE && iv->cpu != NO_CPU) {
				/* Runnable time is named by who holds its CPU, instant by
				 * instant: a step ends where that changes. */
				uint64_t since, until;
				int32_t h = an_cpu_holder(p, best->t, iv, t, &since, &until);

				if (until > t && until < next)
					next = until;
				best->key = an_cause_key(best->t, iv, best->cat, h);
				best->by = h > 0 ? h : (iv->flags & IV_PREEMPTED) ? iv->other : 0;
			}
			s->cat[best->cat] += next - t;
			add_cause(p, &s->causes, best, iv, t, next - t);
			if (r && !(r->flags & SC_PREFIX))
				add_sc(p, s, phase, r->nr, next - t,
				       r->entry_ts >= t && r->entry_ts < next);
		} else {
			s->cat[child ? CT_CAT_CHILDREN : CT_CAT_INACTIVE] += next - t;
		}
		t = next;
		while (pi < s->events.n && s->events.v[pi].ev_ts <= t)
			pi++;
	}
	s->swept = to;
	p->cursors = cs;
}

/* Names the dominant waker of each blocked cause of s: over the waits that ended within
 * the span (so all of them are closed, whenever this runs), the waker that ended the most of
 * the span's blocked time in that cause. */
void an_wakers(struct ct_partial *p, struct span *s)
{
	struct cursor_vec cs = {p->cursors.v, 0, p->cursors.cap}; /* the partial's, reused */
	struct tally {
		uint64_t key;
		int32_t by;
		uint64_t ns;
	} *tl = NULL;
	uint32_t n_tl = 0, cap = 0, blocked = 0;

	/* Only blocked causes get a waker: without one, the history need not be walked. */
	for (uint32_t c = 0; c < s->causes.n && !blocked; c++)
		blocked = s->causes.v[c].cat >= CT_CAT_BLOCKED_IO &&
			  s->causes.v[c].cat <= CT_CAT_BLOCKED_OTHER;
	if (!blocked)
		return;
	collect_threads(p, s, s->start, s->end, &cs);
	for (uint32_t k = 0; k < cs.n; k++) {
		const struct thread *t = cs.v[k].t;
		uint32_t i0 = th_iv_at(t, cs.v[k].lo);

		for (uint32_t i = i0 == NOIDX ? 0 : i0; i < t->iv.n; i++) {
			const struct ival *riv = &t->iv.v[i], *iv;
			uint64_t rend = iv_end(t, i, NO_END), end, a, b;
			struct piece pc;
			int32_t by;
			unsigned cat;
			uint64_t key;
			uint32_t j;

			if (riv->start >= cs.v[k].hi)
				break;
			if (riv->state != TS_BLOCKED || !(riv->flags & IV_WOKEN) ||
			    riv->other <= 0 || rend > s->end)
				continue;
			/* Only a wait's last piece has its waker (and its scope decides). */
			th_piece_at(p, t, i, rend > riv->start ? rend - 1 : riv->start, NO_END,
				    &pc);
			iv = &pc.iv;
			end = pc.end;
			a = iv->start;
			b = end;
			if (!an_innermost(&pc) || an_innermost(&pc)->span != s->id ||
			    th_waker(p, t, i) <= 0)
				continue;
			if (a < cs.v[k].lo)
				a = cs.v[k].lo;
			if (b > cs.v[k].hi)
				b = cs.v[k].hi;
			if (b <= a)
				continue;
			cat = an_classify(p, t, iv, NULL, 0, &by);
			key = an_cause_key(t, iv, cat, 0);
			for (j = 0; j < n_tl && !(tl[j].key == key && tl[j].by == iv->other); j++)
				;
			if (j == n_tl) {
				if (n_tl == cap) {
					struct tally *n =
						realloc(tl, (cap = cap ? cap * 2 : 8) * sizeof(*n));

					if (!n) {
						p->oom++;
						break;
					}
					tl = n;
				}
				tl[n_tl++] = (struct tally){key, iv->other, 0};
			}
			tl[j].ns += b - a;
		}
	}
	for (uint32_t c = 0; c < s->causes.n; c++) {
		struct cause *ca = &s->causes.v[c];

		if (ca->cat < CT_CAT_BLOCKED_IO || ca->cat > CT_CAT_BLOCKED_OTHER)
			continue;
		for (uint32_t j = 0; j < n_tl; j++)
			if (tl[j].key == ca->key &&
			    (tl[j].ns > ca->by_ns ||
			     (tl[j].ns == ca->by_ns && tl[j].by < ca->by))) {
				ca->by = tl[j].by;
				ca->by_ns = tl[j].ns;
			}
	}
	free(tl);
	p->cursors = cs;
}

/* ---- detail ---- */

static int innermost_is(const struct piece *pc, uint64_t id)
{
	const struct frame *f = an_innermost(pc);

	return f && f->span == id;
}

static int record_is_of(const struct screc *r, uint64_t id)
{
	const struct frame *f = fr_resolve(r->own);

	if (!f)
		f = fr_resolve(r->proc);
	return f && !(f->flags & FR_FLOOR) && f->span == id;
}

static void add_dkev(struct ct_partial *p, struct fspan *f, uint64_t ts, uint8_t type,
		     const char *text, uint64_t a, uint64_t b)
{
	struct kev *k;

	if (f->dkev.n >= MAX_DETAIL_KEVENTS) {
		f->dkev_omitted++;
		return;
	}
	k = CT_VEC_PUSH(f->dkev);
	if (!k) {
		p->oom++;
		return;
	}
	memset(k, 0, sizeof(*k));
	k->ts = ts;
	k->type = type;
	k->a = a;
	k->b = b;
	k->text = ct_strndup0(text, strlen(text));
}

/* Kernel event types of detail beyond kev_type: scheduling. */
enum { KEV_PREEMPTED = 16, KEV_WOKEN };

static int cmp_dsc(const void *a, const void *b)
{
	const struct screc *x = a, *y = b;

	if (x->entry_ts != y->entry_ts)
		return x->entry_ts < y->entry_ts ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return (int)x->nr - (int)y->nr;
}

static int cmp_dkev(const void *a, const void *b)
{
	const struct kev *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->type != y->type)
		return (int)x->type - (int)y->type;
	return strcmp(x->text ? x->text : "", y->text ? y->text : "");
}

void an_detail(struct ct_partial *p, const struct span *s, struct fspan *f)
{
	struct cursor_vec cs = {p->cursors.v, 0, p->cursors.cap}; /* the partial's, reused */
	char text[512];

	f->detailed = 1;
	collect_threads(p, s, s->start, s->end, &cs);
	for (uint32_t k = 0; k < cs.n; k++) {
		const struct thread *t = cs.v[k].t;
		uint64_t lo = cs.v[k].lo, hi = cs.v[k].hi;
		uint32_t i0 = th_iv_at(t, lo);
		struct piece pc;

		/* Syscalls entered while the span was innermost on this thread. */
		for (uint32_t j = 0; j < t->sc.n; j++) {
			const struct screc *r = &t->sc.v[j];
			struct screc *d;
			char **tgt;

			if (r->entry_ts < lo || r->entry_ts >= hi || (r->flags & SC_PREFIX) ||
			    !record_is_of(r, s->id))
				continue;
			if (f->dsc.n >= MAX_DETAIL_SYSCALLS) {
				f->dsc_omitted++;
				continue;
			}
			d = CT_VEC_PUSH(f->dsc);
			tgt = d ? CT_VEC_PUSH(f->dsc_target) : NULL;
			if (!d || !tgt) {
				if (d)
					f->dsc.n--;
				p->oom++;
				continue;
			}
			*d = *r;
			d->fd = NULL;
			d->own = d->proc = NULL;
			d->tid = t->tid;
			d->text = r->text ? ct_strndup0(r->text, strlen(r->text)) : NULL;
			object_text(r, text, sizeof(text), 0);
			*tgt = ct_strndup0(text, strlen(text));
		}
		/* Scheduling and kernel events while the span was innermost here: a preemption
		 * per piece (as when every process-wide scope change cut the interval), a wake-up
		 * at the end of a wait's last piece. Other intervals need no pieces. */
		for (uint32_t i = i0 == NOIDX ? 0 : i0; i < t->iv.n; i++) {
			const struct ival *riv = &t->iv.v[i], *iv;
			uint64_t rend = iv_end(t, i, p->last_ts), end;

			if (riv->start >= hi)
				break;
			if (rend <= lo)
				continue;
			if (riv->state == TS_RUNNABLE && (riv->flags & IV_PREEMPTED)) {
				th_piece_at(p, t, i, lo, p->last_ts, &pc);
				for (;;) {
					iv = &pc.iv;
					end = pc.end;
					if (iv->start >= hi)
						break;
					if (iv->start >= lo && end > lo &&
					    innermost_is(&pc, s->id)) {
						snprintf(text, sizeof(text),
							 "preempted by \x01%d\x02", iv->other);
						add_dkev(p, f, iv->start, KEV_PREEMPTED, text,
							 (uint64_t)t->tid, end - iv->start);
					}
					if (pc.end >= pc.iv_end ||
					    !th_piece_next(p, t, p->last_ts, &pc))
						break;
				}
				continue;
			}
			if (riv->state != TS_BLOCKED || !(riv->flags & IV_WOKEN))
				continue;
			th_piece_at(p, t, i, rend > riv->start ? rend - 1 : riv->start, p->last_ts,
				    &pc);
			iv = &pc.iv;
			end = pc.end;
			if (iv->start >= hi || end <= lo || !innermost_is(&pc, s->id))
				continue;
			if (end < hi && end > lo) {
				int32_t by = th_waker(p, t, i);

				if (by > 0)
					snprintf(text, sizeof(text), "woken by \x01%d\x02", by);
				else
					snprintf(text, sizeof(text), "woken by %s",
						 by < 0 ? "an interrupt" : "an unknown task");
				add_dkev(p, f, end, KEV_WOKEN, text, (uint64_t)t->tid,
					 end - iv->start);
			}
		}
		for (uint32_t j = 0; j < t->kev.n; j++) {
			const struct kev *ke = &t->kev.v[j];
			uint32_t ii;

			if (ke->ts < lo || ke->ts >= hi)
				continue;
			ii = th_iv_at(t, ke->ts);
			if (ii == NOIDX)
				continue;
			th_piece_at(p, t, ii, ke->ts, p->last_ts, &pc);
			if (!innermost_is(&pc, s->id))
				continue;
			add_dkev(p, f, ke->ts, ke->type, ke->text ? ke->text : "", ke->a, ke->b);
		}
	}
	if (f->dsc.n > 1) {
		/* Sort records and their targets together. */
		for (uint32_t i = 1; i < f->dsc.n; i++) {
			struct screc r = f->dsc.v[i];
			char *tg = f->dsc_target.v[i];
			uint32_t j = i;

			while (j > 0 && cmp_dsc(&f->dsc.v[j - 1], &r) > 0) {
				f->dsc.v[j] = f->dsc.v[j - 1];
				f->dsc_target.v[j] = f->dsc_target.v[j - 1];
				j--;
			}
			f->dsc.v[j] = r;
			f->dsc_target.v[j] = tg;
		}
	}
	if (f->dkev.n > 1)
		qsort(f->dkev.v, f->dkev.n, sizeof(f->dkev.v[0]), cmp_dkev);
	p->cursors = cs;
}
