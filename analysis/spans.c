// SPDX-License-Identifier: MIT
/*
 * Client events: spans (start, end, status, attributes, events, links), scopes (which span is
 * current on which thread, or process-wide for tid 0), process info and client losses. A
 * soft partial keeps what it learns about spans started before it (a stub span, orphan ends,
 * popped floors) for stitching.
 */
#include <string.h>

#include "model.h"

void ts_client_lost(struct ct_partial *p, const struct ct_event *ev);

struct span *sp_find(const struct ct_partial *p, uint64_t id)
{
	uint64_t *v = id ? ct_hmap_get(&p->spans, id) : NULL;

	return v ? (struct span *)(uintptr_t)*v : NULL;
}

static struct span *sp_new(struct ct_partial *p, uint64_t id)
{
	struct span *s, **slot;

	if (p->span_pool.n) {
		s = p->span_pool.v[--p->span_pool.n];
		memset(s, 0, sizeof(*s));
	} else {
		s = calloc(1, sizeof(*s));
	}
	slot = s ? CT_VEC_PUSH(p->span_order) : NULL;
	if (!slot || ct_hmap_put(&p->spans, id, (uint64_t)(uintptr_t)s)) {
		if (slot)
			p->span_order.n--;
		free(s);
		p->oom++;
		return NULL;
	}
	*slot = s;
	s->id = id;
	s->procwide_floor_exit = NO_END;
	return s;
}

struct span *sp_stub(struct ct_partial *p, uint64_t id)
{
	struct span *s = sp_find(p, id);

	if (s || !id)
		return s;
	if (p->at_start)
		return NULL; /* nothing lies before: data about an unknown span is an anomaly */
	return sp_new(p, id);
}

void attr_fini(struct attr *a)
{
	free(a->key);
	free(a->s);
	a->key = a->s = NULL;
}

static void sp_fini(struct span *s)
{
	for (uint32_t i = 0; i < s->attrs.n; i++)
		attr_fini(&s->attrs.v[i]);
	for (uint32_t i = 0; i < s->events.n; i++)
		free(s->events.v[i].name);
	for (uint32_t i = 0; i < s->causes.n; i++)
		free(s->causes.v[i].text);
	for (uint32_t i = 0; i < s->scs.n; i++)
		free(s->scs.v[i].phase);
	CT_VEC_FREE(s->attrs);
	CT_VEC_FREE(s->events);
	CT_VEC_FREE(s->links);
	CT_VEC_FREE(s->threads);
	CT_VEC_FREE(s->causes);
	CT_VEC_FREE(s->scs);
	free(s->name);
	free(s->status_msg);
}

void sp_free(struct span *s)
{
	sp_fini(s);
	free(s);
}

void sp_release(struct ct_partial *p, struct span *s)
{
	struct span **slot = CT_VEC_PUSH(p->span_pool);

	sp_fini(s);
	if (slot)
		*slot = s;
	else
		free(s);
}

void sp_note_thread(struct ct_partial *p, struct span *s, int32_t tid, uint64_t ts, int enter)
{
	struct spthread *st = NULL;

	for (uint32_t i = 0; i < s->threads.n; i++)
		if (s->threads.v[i].tid == tid)
			st = &s->threads.v[i];
	if (!st) {
		st = CT_VEC_PUSH(s->threads);
		if (!st) {
			p->oom++;
			return;
		}
		st->tid = tid;
		st->first = enter ? ts : p->begin;
		st->last = NO_END;
		st->last_sc = NOIDX;
	}
	if (enter) {
		if (ts < st->first)
			st->first = ts;
		st->last = NO_END;
	} else {
		st->last = ts;
	}
}

static void add_attr(struct ct_partial *p, struct attr_vec *v, const struct ct_event *ev)
{
	struct attr *a = CT_VEC_PUSH(*v);
	const char *key = NULL;
	size_t klen = 0;

	if (!a) {
		p->oom++;
		return;
	}
	memset(a, 0, sizeof(*a));
	switch (ev->type) {
	case CT_EV_ATTR_STR:
		key = ev->u.attr_str.key;
		klen = ev->u.attr_str.key_len;
		a->owner = ev->u.attr_str.owner;
		a->type = 1;
		a->s = ct_strndup0(ev->u.attr_str.value, ev->u.attr_str.value_len);
		break;
	case CT_EV_ATTR_INT:
		key = ev->u.attr_int.key;
		klen = ev->u.attr_int.key_len;
		a->owner = ev->u.attr_int.owner;
		a->type = 2;
		a->i = ev->u.attr_int.value;
		break;
	case CT_EV_ATTR_DOUBLE:
		key = ev->u.attr_double.key;
		klen = ev->u.attr_double.key_len;
		a->owner = ev->u.attr_double.owner;
		a->type = 3;
		a->d = ev->u.attr_double.value;
		break;
	default:
		key = ev->u.attr_bool.key;
		klen = ev->u.attr_bool.key_len;
		a->owner = ev->u.attr_bool.owner;
		a->type = 4;
		a->i = ev->u.attr_bool.value != 0;
		break;
	}
	a->key = ct_strndup0(key, klen);
	if (!a->key) {
		v->n--;
		free(a->s);
		p->oom++;
	}
}

static uint64_t attr_span(const struct ct_event *ev)
{
	switch (ev->type) {
	case CT_EV_ATTR_STR:
		return ev->u.attr_str.span_id;
	case CT_EV_ATTR_INT:
		return ev->u.attr_int.span_id;
	case CT_EV_ATTR_DOUBLE:
		return ev->u.attr_double.span_id;
	default:
		return ev->u.attr_bool.span_id;
	}
}

static void span_start(struct ct_partial *p, const struct ct_event *ev)
{
	const struct ct_ev_span_start *e = &ev->u.span_start;
	struct span *s = sp_find(p, e->span_id), *ps;

	if (!e->span_id || s) {
		p_anomaly(p); /* id 0, or started twice */
		return;
	}
	s = sp_new(p, e->span_id);
	if (!s)
		return;
	s->parent = e->parent_id;
	s->trace_hi = e->trace_hi;
	s->trace_lo = e->trace_lo;
	s->start = e->start_ns ? e->start_ns : ev->ts;
	s->start_ev = ev->ts;
	s->end = s->end_ev = NO_END;
	s->pid = ev->pid;
	s->tid = ev->tid;
	s->kind = e->kind;
	s->name = ct_strndup0(e->name, e->name_len);
	s->flags = SP_STARTED;
	if (!s->name)
		p->oom++;
	/* A request is a span whose parent is not open in the recording when it starts. */
	ps = e->parent_id ? sp_find(p, e->parent_id) : NULL;
	if (!e->parent_id || (ps && (ps->flags & SP_ENDED)))
		s->flags |= SP_ROOT;
	else if (!ps || !(ps->flags & SP_STARTED))
		/* Unknown here, or only a stub (data about it, not its start): whether it is
		 * open is for the left partial to say. */
		s->flags |= p->at_start ? SP_ROOT : SP_ROOT_PENDING;
	if (pr_get(p, ev->pid) == NULL && ev->pid > 0)
		p->oom++;
}

static void add_end(struct ct_partial *p, const struct span *s)
{
	struct endrec *e = CT_VEC_PUSH(p->ends);

	if (!e) {
		p->oom++;
		return;
	}
	e->id = s->id;
	e->parent = s->parent;
	e->start = s->start;
	e->end = s->end;
	e->end_ev = s->end_ev;
	e->pid = s->pid;
	e->end_tid = s->end_tid;
	e->start_tid = s->tid;
}

static struct orphan *add_orphan(struct ct_partial *p, const struct ct_event *ev, uint8_t kind,
				 uint64_t span)
{
	struct orphan *o = CT_VEC_PUSH(p->orphans);

	if (!o) {
		p->oom++;
		return NULL;
	}
	memset(o, 0, sizeof(*o));
	o->ts = ev->ts;
	o->span = span;
	o->tid = ev->tid;
	o->kind = kind;
	return o;
}

static void span_end(struct ct_partial *p, const struct ct_event *ev)
{
	const struct ct_ev_span_end *e = &ev->u.span_end;
	struct span *s = sp_find(p, e->span_id);
	struct orphan *o;

	if (s && (s->flags & SP_STARTED)) {
		if (s->flags & SP_ENDED) {
			p_anomaly(p);
			return;
		}
		s->end = e->end_ns ? e->end_ns : ev->ts;
		if (s->end < s->start)
			s->end = s->start;
		s->end_ev = ev->ts;
		s->end_tid = ev->tid;
		s->status = e->status;
		if (!s->status_msg && e->message_len)
			s->status_msg = ct_strndup0(e->message, e->message_len);
		s->flags |= SP_ENDED;
		add_end(p, s);
		return;
	}
	if (p->at_start) {
		p_anomaly(p); /* its start is not in the trace */
		return;
	}
	o = add_orphan(p, ev, OR_END, e->span_id);
	if (o) {
		o->end = e->end_ns ? e->end_ns : ev->ts;
		o->status = e->status;
		if (e->message_len)
			o->msg = ct_strndup0(e->message, e->message_len);
	}
	s = sp_stub(p, e->span_id);
	if (s) {
		s->flags |= SP_ENDED;
		s->end_ev = ev->ts; /* for "was the parent still open" questions */
	}
}

static void span_status(struct ct_partial *p, const struct ct_event *ev)
{
	const struct ct_ev_span_status *e = &ev->u.span_status;
	struct span *s = sp_find(p, e->span_id);
	struct orphan *o;

	if (s && (s->flags & SP_STARTED)) {
		s->status = e->status;
		free(s->status_msg);
		s->status_msg = e->message_len ? ct_strndup0(e->message, e->message_len) : NULL;
		return;
	}
	if (p->at_start) {
		p_anomaly(p);
		return;
	}
	o = add_orphan(p, ev, OR_STATUS, e->span_id);
	if (o) {
		o->status = e->status;
		if (e->message_len)
			o->msg = ct_strndup0(e->message, e->message_len);
	}
}

/* The span data about id goes to: the span, a stub (soft), or nowhere (anomaly). */
static struct span *data_target(struct ct_partial *p, uint64_t id)
{
	struct span *s = sp_find(p, id);

	if (s && (s->flags & SP_STARTED) && (s->flags & SP_ENDED)) {
		p_anomaly(p); /* OpenTelemetry ignores updates after the end */
		return NULL;
	}
	if (!s)
		s = sp_stub(p, id);
	if (!s)
		p_anomaly(p);
	else if (!(s->flags & SP_STARTED))
		s->orphan_data++;
	return s;
}

static void resource_attr(struct ct_partial *p, const struct ct_event *ev)
{
	struct proc *pr = pr_get(p, ev->pid);

	if (!pr)
		return;
	add_attr(p, &pr->rattrs, ev);
	if (ev->type == CT_EV_ATTR_STR &&
	    !strcmp(pr->rattrs.v[pr->rattrs.n - 1].key, "service.name") &&
	    ev->u.attr_str.value_len) {
		free(pr->service);
		pr->service = ct_strndup0(ev->u.attr_str.value, ev->u.attr_str.value_len);
		pr->svc_known = 1;
	}
}

/* Pops span id from a scope stack (thread: tid > 0; process-wide: tid 0). */
static void scope_exit(struct ct_partial *p, struct frame **top, int32_t tid, int32_t pid,
		       uint32_t *floor_pops, uint64_t id, uint64_t ts)
{
	struct frame *f = *top, *found = NULL;
	struct span *s;

	for (struct frame *g = f; g; g = g->parent) {
		if ((g->flags & FR_FLOOR) || g->span == id) {
			found = g;
			break;
		}
	}
	if (!found) {
		p_anomaly(p); /* exit of a scope never entered */
		return;
	}
	if (found != f || (found->flags & FR_FLOOR && found->span && found->span != id))
		p_anomaly(p); /* inner scopes left without their exit */
	while (f) {
		struct frame *next;

		f->exit_ts = ts;
		f->flags |= FR_EXITED;
		if (f->flags & FR_FLOOR) {
			if (!f->span)
				f->span = id;
			/* Below the floor lies the next unknown level. */
			next = fr_floor(p, tid, pid, (uint16_t)(f->level + 1));
			fr_ref(next);
			(*floor_pops)++;
		} else {
			next = fr_ref(f->parent);
		}
		if (f->span) {
			s = tid ? sp_find(p, f->span) : NULL;
			if (!s && !p->at_start && tid)
				s = sp_stub(p, f->span);
			if (s)
				sp_note_thread(p, s, tid, ts, 0);
			if (!tid && (f->flags & FR_FLOOR) && (s = sp_stub(p, f->span)))
				s->procwide_floor_exit = ts;
		}
		fr_unref(p, f);
		*top = next;
		if (f == found)
			break;
		f = next;
	}
}

static void scope_event(struct ct_partial *p, const struct ct_event *ev, struct thread *t)
{
	struct proc *pr;
	struct span *s;

	if (ev->tid > 0) {
		if (!t)
			return;
		if (ev->type == CT_EV_SCOPE_ENTER) {
			uint64_t id = ev->u.scope_enter.span_id;
			struct frame *f = fr_new(p, id, t->own, t->tid, t->pid, 0);

			if (!f)
				return;
			f->refs = 1;
			f->trace_hi = ev->u.scope_enter.trace_hi;
			f->trace_lo = ev->u.scope_enter.trace_lo;
			fr_unref(p, t->own);
			t->own = f;
			s = sp_find(p, id);
			if (!s && !p->at_start)
				s = sp_stub(p, id);
			if (s)
				sp_note_thread(p, s, t->tid, ev->ts, 1);
		} else {
			scope_exit(p, &t->own, t->tid, t->pid, &t->floor_pops,
				   ev->u.scope_exit.span_id, ev->ts);
		}
		ts_scope_changed(p, t, ev->ts);
		return;
	}
	/* tid 0: the whole process (spans received without a thread id). */
	pr = pr_get(p, ev->pid);
	if (!pr)
		return;
	if (ev->type == CT_EV_SCOPE_ENTER) {
		uint64_t id = ev->u.scope_enter.span_id;
		struct frame *f = fr_new(p, id, pr->pstack, 0, pr->pid, FR_PROC);

		if (!f)
			return;
		f->refs = 1;
		f->trace_hi = ev->u.scope_enter.trace_hi;
		f->trace_lo = ev->u.scope_enter.trace_lo;
		fr_unref(p, pr->pstack);
		pr->pstack = f;
		s = sp_find(p, id);
		if (!s && !p->at_start)
			s = sp_stub(p, id);
		if (s)
			s->flags |= SP_PROCWIDE;
	} else {
		scope_exit(p, &pr->pstack, 0, pr->pid, &pr->pfloor_pops, ev->u.scope_exit.span_id,
			   ev->ts);
	}
	/* Once for the process: its threads' intervals are read in pieces of this timeline. */
	pr_scope_changed(p, pr, ev->ts, pr->pstack);
}

void sp_feed_client(struct ct_partial *p, const struct ct_event *ev)
{
	struct thread *t = NULL;
	struct span *s;
	struct proc *pr;

	if (ev->tid > 0 && ev->type != CT_EV_PROCESS_INFO) {
		t = th_get(p, ev->tid);
		if (t) {
			th_set_pid(p, t, ev->pid);
			ts_client_event(p, t, ev->ts);
		}
	}
	switch (ev->type) {
	case CT_EV_SPAN_START:
		span_start(p, ev);
		break;
	case CT_EV_SPAN_END:
		span_end(p, ev);
		break;
	case CT_EV_SPAN_STATUS:
		span_status(p, ev);
		break;
	case CT_EV_ATTR_STR:
	case CT_EV_ATTR_INT:
	case CT_EV_ATTR_DOUBLE:
	case CT_EV_ATTR_BOOL:
		if (!attr_span(ev)) {
			resource_attr(p, ev);
			break;
		}
		s = data_target(p, attr_span(ev));
		if (s)
			add_attr(p, &s->attrs, ev);
		break;
	case CT_EV_SPAN_EVENT:
		s = data_target(p, ev->u.span_event.span_id);
		if (s) {
			struct sevent *e = CT_VEC_PUSH(s->events);

			if (!e) {
				p->oom++;
				break;
			}
			e->time = ev->u.span_event.time_ns ? ev->u.span_event.time_ns : ev->ts;
			e->ev_ts = ev->ts;
			e->index = ev->u.span_event.index;
			e->name = ct_strndup0(ev->u.span_event.name, ev->u.span_event.name_len);
		}
		break;
	case CT_EV_SPAN_LINK:
		s = data_target(p, ev->u.span_link.span_id);
		if (s) {
			struct slink *l = CT_VEC_PUSH(s->links);

			if (!l) {
				p->oom++;
				break;
			}
			l->trace_hi = ev->u.span_link.trace_hi;
			l->trace_lo = ev->u.span_link.trace_lo;
			l->span = ev->u.span_link.linked_span_id;
			l->index = ev->u.span_link.index;
			l->flags = ev->u.span_link.flags;
		}
		break;
	case CT_EV_SCOPE_ENTER:
	case CT_EV_SCOPE_EXIT:
		scope_event(p, ev, t);
		break;
	case CT_EV_PROCESS_INFO:
		pr = pr_get(p, ev->pid);
		if (!pr)
			break;
		if (ev->u.process_info.service_len) {
			free(pr->service);
			pr->service = ct_strndup0(ev->u.process_info.service,
						  ev->u.process_info.service_len);
			pr->svc_known = 1;
		}
		if (ev->u.process_info.sdk_len) {
			free(pr->sdk);
			pr->sdk = ct_strndup0(ev->u.process_info.sdk, ev->u.process_info.sdk_len);
		}
		if (ev->u.process_info.host_len) {
			free(pr->host);
			pr->host =
				ct_strndup0(ev->u.process_info.host, ev->u.process_info.host_len);
		}
		break;
	case CT_EV_CLIENT_LOST:
		ts_client_lost(p, ev);
		break;
	default:
		/* Known to the format (the reader decoded it) but of no use here, e.g. where
		 * threads publish their current span for in-kernel filtering. */
		break;
	}
}
