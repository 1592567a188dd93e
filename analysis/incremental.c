// SPDX-License-Identifier: MIT
/*
 * The engine driven incrementally by a long-running process (crosstrace agent): time advances
 * without events (so that spans settle on an idle system), and settled spans are handed out
 * and released as they come instead of being kept for one final result. Read-only views of
 * a settled span (causes, syscalls, attributes) for such a driver.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model.h"

void ct_partial_advance(struct ct_partial *p, uint64_t now_ns)
{
	if (!p->at_start || p->finished || now_ns <= p->last_ts)
		return;
	/* The open intervals extend to now: nothing happened on those threads since. */
	p->last_ts = now_ns;
	se_settle(p, 0);
	p->since_settle = 0;
}

unsigned ct_partial_take_spans(struct ct_partial *p, ct_an_span_fn fn, void *arg)
{
	unsigned n = 0;

	for (uint32_t k = 0; k < p->kept.n; k++) {
		const struct fspan *f = p->kept.v[k];
		struct ct_an_span s = {0};

		s.trace_hi = f->trace_hi;
		s.trace_lo = f->trace_lo;
		s.id = f->id;
		s.parent = f->parent;
		s.start_ns = f->start;
		s.end_ns = f->end;
		s.pid = f->pid;
		s.tid = (f->flags & SP_PROCWIDE) ? 0 : f->tid;
		s.kind = f->kind;
		s.status = f->status;
		s.root = f->root;
		s.detailed = f->detailed;
		s.incomplete = f->incomplete;
		s.name = f->name ? f->name : "";
		s.status_message = f->status_msg ? f->status_msg : "";
		memcpy(s.cat, f->cat, sizeof(s.cat));
		s.n_causes = f->causes.n;
		s.n_syscalls = f->detailed ? f->dsc.n : 0;
		s.syscalls_omitted = f->detailed ? f->dsc_omitted : 0;
		s.n_sums = f->scs.n;
		s.n_attrs = f->attrs.n;
		s.n_events = f->events.n;
		s.n_links = f->links.n;
		if (f->root && f->cp) {
			for (uint32_t i = 0; i < f->cp->seg.n; i++)
				if (f->cp->seg.v[i].pid == f->pid)
					s.cp_own_process_ns += f->cp->seg.v[i].dur;
			s.cp_segments = f->cp->seg.n;
		}
		s.impl = f;
		fn(arg, p, &s);
		n++;
	}
	for (uint32_t k = 0; k < p->kept.n; k++)
		fs_unref(p->kept.v[k]);
	p->kept.n = 0;
	return n;
}

int ct_an_span_cause(const struct ct_partial *p, const struct ct_an_span *s, uint32_t i,
		     struct ct_an_cause *out, char *buf, size_t size)
{
	const struct fspan *f = s->impl;
	const struct cause *c;

	if (i >= f->causes.n)
		return -EINVAL;
	c = &f->causes.v[i];
	out->cat = c->cat;
	out->ns = c->ns;
	out->by = c->by;
	/* Task names are markers until output: expand them now. */
	out->text = lbl(p, c->text, buf, size);
	return 0;
}

int ct_an_span_syscall(const struct ct_partial *p, const struct ct_an_span *s, uint32_t i,
		       struct ct_an_syscall *out, char *buf, size_t size)
{
	const struct fspan *f = s->impl;
	const struct screc *r;

	(void)p;
	if (!f->detailed || i >= f->dsc.n)
		return -EINVAL;
	r = &f->dsc.v[i];
	memset(out, 0, sizeof(*out));
	out->entry_ns = r->entry_ts;
	out->exit_ns = (r->exit_ts == NO_END || (r->flags & SC_NO_EXIT)) ? UINT64_MAX : r->exit_ts;
	memcpy(out->args, r->args, sizeof(out->args));
	out->ret = r->ret;
	out->tid = r->tid;
	out->fd = r->fdnum;
	out->nr = r->nr;
	out->name = sc_name(r->nr, buf, size);
	out->target = i < f->dsc_target.n && f->dsc_target.v[i] ? f->dsc_target.v[i] : "";
	return 0;
}

int ct_an_span_sum(const struct ct_partial *p, const struct ct_an_span *s, uint32_t i,
		   struct ct_an_sum *out, char *buf, size_t size)
{
	const struct fspan *f = s->impl;
	const struct scsum *e;

	(void)p;
	if (i >= f->scs.n)
		return -EINVAL;
	e = &f->scs.v[i];
	out->phase = e->phase ? e->phase : "";
	out->name = sc_name(e->nr, buf, size);
	out->count = e->count;
	out->ns = e->ns;
	return 0;
}

int ct_an_span_attr(const struct ct_an_span *s, uint32_t i, struct ct_an_attr *out)
{
	const struct fspan *f = s->impl;
	const struct attr *a;

	if (i >= f->attrs.n)
		return -EINVAL;
	a = &f->attrs.v[i];
	out->key = a->key ? a->key : "";
	out->owner = a->owner;
	out->type = a->type;
	out->s = a->s ? a->s : "";
	out->i = a->i;
	out->d = a->d;
	return 0;
}

int ct_an_span_event(const struct ct_an_span *s, uint32_t i, struct ct_an_event *out)
{
	const struct fspan *f = s->impl;

	if (i >= f->events.n)
		return -EINVAL;
	out->time_ns = f->events.v[i].time;
	out->index = f->events.v[i].index;
	out->name = f->events.v[i].name ? f->events.v[i].name : "";
	return 0;
}

int ct_an_span_link(const struct ct_an_span *s, uint32_t i, struct ct_an_link *out)
{
	const struct fspan *f = s->impl;

	if (i >= f->links.n)
		return -EINVAL;
	out->trace_hi = f->links.v[i].trace_hi;
	out->trace_lo = f->links.v[i].trace_lo;
	out->span = f->links.v[i].span;
	out->index = f->links.v[i].index;
	out->flags = f->links.v[i].flags;
	return 0;
}

void ct_an_process(const struct ct_partial *p, int32_t pid, const char **service, const char **sdk,
		   const char **host, char *buf, size_t size)
{
	const struct proc *pr = pid > 0 ? pr_find(p, pid) : NULL;

	*service = service_of(p, pid, buf, size);
	*sdk = pr && pr->sdk ? pr->sdk : "";
	*host = pr && pr->host ? pr->host : "";
}
