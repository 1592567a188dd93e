// SPDX-License-Identifier: MIT
/*
 * The analysis result as JSON: input facts, per-operation aggregates, slowest requests with
 * their critical paths, kept spans with breakdown and detail, thread states. Everything is
 * emitted in a total order (names, times, ids) so that equal analyses print equal bytes.
 */
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "syscalls.h"

static const char *const kinds[] = {"unspecified", "internal", "server",
				    "client",	   "producer", "consumer"};

const char *kind_name(unsigned kind)
{
	return kind < 6 ? kinds[kind] : "unspecified";
}

const char *status_name(unsigned status)
{
	return status == 1 ? "ok" : status == 2 ? "error" : "unset";
}

const char *sc_name(unsigned nr, char *buf, size_t size)
{
	const char *n = ct_syscall_name(nr);

	if (n)
		return n;
	snprintf(buf, size, "syscall_%u", nr);
	return buf;
}

void hex_id(uint64_t v, char out[17])
{
	snprintf(out, 17, "%016llx", (unsigned long long)v);
}

void hex_trace(uint64_t hi, uint64_t lo, char out[33])
{
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)hi, (unsigned long long)lo);
}

const char *service_of(const struct ct_partial *p, int32_t pid, char *buf, size_t size)
{
	const struct proc *pr = pid > 0 ? pr_find(p, pid) : NULL;

	const uint64_t *v = pid > 0 ? ct_hmap_get(&p->tasks, (uint64_t)(uint32_t)pid) : NULL;

	if (pr && pr->service && pr->service[0])
		return pr->service;
	/* The main thread's last name: a forked helper is known by the name it gave itself
	 * (prctl PR_SET_NAME), not its parent's command it started with. */
	if (v && (uint32_t)*v < p->comms.n)
		return p->comms.v[(uint32_t)*v];
	if (pr && pr->comm && pr->comm[0])
		return pr->comm;
	snprintf(buf, size, "pid %d", pid);
	return buf;
}

int64_t clock_offset_at(const struct ct_partial *p, uint64_t ts)
{
	int64_t off = 0;
	uint64_t best = 0;
	int found = 0;

	for (uint32_t i = 0; i < p->clocks.n; i++) {
		const struct clockpt *c = &p->clocks.v[i];

		if (c->begin <= ts && (!found || c->begin >= best)) {
			best = c->begin;
			off = c->offset;
			found = 1;
		}
	}
	if (!found && p->clocks.n)
		off = p->clocks.v[0].offset;
	return off;
}

const char *lbl(const struct ct_partial *p, const char *text, char *buf, size_t size)
{
	const char *s = text;
	size_t n = 0;

	if (!text || !strchr(text, '\x01'))
		return text ? text : "";
	while (*s && n + 1 < size) {
		if (*s == '\x01') {
			char who[96];
			int32_t tid = (int32_t)strtol(s + 1, NULL, 10);
			const char *end = strchr(s, '\x02');

			task_label(p, tid, who, sizeof(who));
			n = txt_put(buf, size, n, who);
			s = end ? end + 1 : s + strlen(s);
			continue;
		}
		buf[n++] = *s++;
	}
	buf[n] = 0;
	return buf;
}

int detail_shown(const struct ct_partial *p, const struct fspan *f)
{
	uint64_t d = f->end - f->start;

	if (!f->detailed)
		return 0;
	if (p->cfg.detail_all || (p->cfg.threshold_ns && d >= p->cfg.threshold_ns))
		return 1;
	if (p->cfg.trace_filter && f->trace_hi == p->cfg.trace_hi && f->trace_lo == p->cfg.trace_lo)
		return 1;
	for (uint32_t i = 0; i < p->op_list.n; i++) {
		const struct op *o = p->op_list.v[i];

		if (o->pid != f->pid)
			continue;
		for (uint32_t j = 0; j < o->top.n; j++)
			if (o->top.v[j] == f)
				return 1;
	}
	return 0;
}

/* ---- grouping operations by service ---- */

struct opkey {
	const struct op *o;
	const char *service;
};

static int cmp_opkey(const void *a, const void *b)
{
	const struct opkey *x = a, *y = b;
	int c = strcmp(x->service, y->service);

	if (c)
		return c;
	c = strcmp(x->o->name, y->o->name);
	if (c)
		return c;
	return x->o->pid < y->o->pid ? -1 : x->o->pid > y->o->pid;
}

static void merge_kv(struct kv_vec *dst, const struct kv_vec *src)
{
	for (uint32_t i = 0; i < src->n; i++) {
		uint32_t j;

		for (j = 0; j < dst->n; j++)
			if (!strcmp(dst->v[j].key, src->v[i].key))
				break;
		if (j < dst->n) {
			dst->v[j].ns += src->v[i].ns;
			dst->v[j].count += src->v[i].count;
			continue;
		}
		if (CT_VEC_PUSH(*dst)) {
			dst->v[dst->n - 1] = src->v[i];
			dst->v[dst->n - 1].key = ct_strndup0(src->v[i].key, strlen(src->v[i].key));
		}
	}
}

static void merge_into(struct op *m, const struct op *o, unsigned top_k)
{
	m->count += o->count;
	m->errors += o->errors;
	m->sum += o->sum;
	if (o->max > m->max)
		m->max = o->max;
	if (o->min < m->min)
		m->min = o->min;
	for (unsigned c = 0; c < CT_CAT_N; c++)
		m->cat[c] += o->cat[c];
	for (uint32_t i = 0; i < o->hist.n; i++) {
		uint32_t j;

		for (j = 0; j < m->hist.n && m->hist.v[j].idx < o->hist.v[i].idx; j++)
			;
		if (j < m->hist.n && m->hist.v[j].idx == o->hist.v[i].idx) {
			m->hist.v[j].count += o->hist.v[i].count;
			for (unsigned c = 0; c < CT_CAT_N; c++)
				m->hist.v[j].cat[c] += o->hist.v[i].cat[c];
			continue;
		}
		if (!CT_VEC_PUSH(m->hist))
			continue;
		memmove(&m->hist.v[j + 1], &m->hist.v[j],
			(m->hist.n - 1 - j) * sizeof(m->hist.v[0]));
		m->hist.v[j] = o->hist.v[i];
	}
	merge_kv(&m->causes, &o->causes);
	merge_kv(&m->scs, &o->scs);
	merge_kv(&m->cp_service, &o->cp_service);
	merge_kv(&m->cp_state, &o->cp_state);
	m->cp_requests += o->cp_requests;
	m->cp_ns += o->cp_ns;
	for (uint32_t i = 0; i < o->top.n; i++) {
		struct fspan *f = o->top.v[i];
		uint32_t pos = m->top.n;

		while (pos > 0 && ag_cmp_slow(f, m->top.v[pos - 1]) < 0)
			pos--;
		if (pos >= top_k)
			continue;
		if (m->top.n == top_k) {
			fs_unref(m->top.v[m->top.n - 1]);
			m->top.n--;
		}
		if (!CT_VEC_PUSH(m->top))
			continue;
		memmove(&m->top.v[pos + 1], &m->top.v[pos], (m->top.n - 1 - pos) * sizeof(f));
		m->top.v[pos] = f;
		f->refs++;
	}
}

struct op **ops_grouped(const struct ct_partial *p, uint32_t *n)
{
	struct opkey *keys = calloc(p->op_list.n + 1, sizeof(*keys));
	char(*bufs)[48] = calloc(p->op_list.n + 1, sizeof(*bufs));
	struct op **out = calloc(p->op_list.n + 1, sizeof(*out));
	uint32_t k = 0;

	*n = 0;
	if (!keys || !bufs || !out) {
		free(keys);
		free(bufs);
		free(out);
		return NULL;
	}
	for (uint32_t i = 0; i < p->op_list.n; i++) {
		keys[i].o = p->op_list.v[i];
		keys[i].service = service_of(p, keys[i].o->pid, bufs[i], sizeof(bufs[i]));
	}
	qsort(keys, p->op_list.n, sizeof(*keys), cmp_opkey);
	for (uint32_t i = 0; i < p->op_list.n; i++) {
		struct op *m;

		if (k && !strcmp(out[k - 1]->service, keys[i].service) &&
		    !strcmp(out[k - 1]->name, keys[i].o->name)) {
			merge_into(out[k - 1], keys[i].o, p->cfg.top_k);
			continue;
		}
		m = calloc(1, sizeof(*m));
		if (!m)
			break;
		m->service = ct_strndup0(keys[i].service, strlen(keys[i].service));
		m->name = ct_strndup0(keys[i].o->name, strlen(keys[i].o->name));
		m->pid = keys[i].o->pid;
		m->min = UINT64_MAX;
		merge_into(m, keys[i].o, p->cfg.top_k);
		out[k++] = m;
	}
	free(keys);
	free(bufs);
	*n = k;
	return out;
}

void ops_free(struct op **v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		ag_free_op(v[i]);
	free(v);
}

static int cmp_kept(const void *a, const void *b)
{
	const struct fspan *x = *(const struct fspan *const *)a,
			   *y = *(const struct fspan *const *)b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->trace_hi != y->trace_hi)
		return x->trace_hi < y->trace_hi ? -1 : 1;
	if (x->trace_lo != y->trace_lo)
		return x->trace_lo < y->trace_lo ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

const struct fspan **kept_sorted(const struct ct_partial *p, uint32_t *n)
{
	const struct fspan **v = calloc(p->kept.n + 1, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (uint32_t i = 0; i < p->kept.n; i++)
		v[i] = p->kept.v[i];
	qsort(v, p->kept.n, sizeof(*v), cmp_kept);
	*n = p->kept.n;
	return v;
}

/* ---- writers ---- */

static void w_breakdown(struct ct_jsonw *w, const char *key, const uint64_t *cat, uint64_t div)
{
	ct_jsonw_key(w, key);
	ct_jsonw_obj_begin(w);
	for (unsigned c = 0; c < CT_CAT_N; c++)
		ct_jsonw_kuint(w, ct_cat_name(c), div ? cat[c] / div : cat[c]);
	ct_jsonw_obj_end(w);
}

static void w_incomplete(struct ct_jsonw *w, uint32_t inc)
{
	static const char *const names[] = {"lost-events",    "missing-chunk", "unknown-events",
					    "no-kernel-data", "not-ended",     "no-start",
					    "process-wide",   "too-long",      "read-errors"};

	if (!inc)
		return;
	ct_jsonw_key(w, "incomplete");
	ct_jsonw_arr_begin(w);
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (inc & (1u << i))
			ct_jsonw_str(w, names[i]);
	ct_jsonw_arr_end(w);
}

/* A share with three decimals ("0.625"): enough for people, the same text everywhere. */
static void w_share(struct ct_jsonw *w, uint64_t part, uint64_t whole)
{
	unsigned long long m = whole ? (unsigned long long)((__uint128_t)part * 1000 / whole) : 0;
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu.%03llu", m / 1000, m % 1000);
	ct_jsonw_key(w, "share");
	ct_jsonw_raw(w, buf);
}

static void w_causes(struct ct_jsonw *w, const struct ct_partial *p, const struct fspan *f,
		     unsigned max)
{
	uint64_t d = f->end - f->start;
	char who[96], lb[600];

	ct_jsonw_key(w, "causes");
	ct_jsonw_arr_begin(w);
	for (uint32_t i = 0; i < f->causes.n && i < max; i++) {
		const struct cause *c = &f->causes.v[i];

		ct_jsonw_obj_begin(w);
		ct_jsonw_kstr(w, "category", ct_cat_name(c->cat));
		ct_jsonw_kstr(w, "text", lbl(p, c->text, lb, sizeof(lb)));
		ct_jsonw_kuint(w, "ns", c->ns);
		w_share(w, c->ns, d);
		if (c->by > 0) {
			task_label(p, c->by, who, sizeof(who));
			ct_jsonw_kstr(w, c->cat == CT_CAT_RUNNABLE ? "by" : "woken_by", who);
		}
		ct_jsonw_obj_end(w);
	}
	ct_jsonw_arr_end(w);
}

struct kvref {
	const char *key;
	uint64_t ns, count;
};

static int cmp_kvref(const void *a, const void *b)
{
	const struct kvref *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns > y->ns ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* A kv list sorted by ns desc then key (caller frees). */
static struct kvref *kv_sorted(const struct kv_vec *v, uint32_t *n)
{
	struct kvref *r = calloc(v->n + 1, sizeof(*r));

	*n = 0;
	if (!r)
		return NULL;
	for (uint32_t i = 0; i < v->n; i++)
		r[i] = (struct kvref){v->v[i].key, v->v[i].ns, v->v[i].count};
	qsort(r, v->n, sizeof(*r), cmp_kvref);
	*n = v->n;
	return r;
}

/* Critical-path shares by service: the kv keys are pids; map and merge by name. */
static void w_cp_services(struct ct_jsonw *w, const struct ct_partial *p, const struct kv_vec *v,
			  uint64_t total)
{
	struct kv_vec by = {0};
	struct kvref *r;
	uint32_t n;
	char buf[48];

	for (uint32_t i = 0; i < v->n; i++) {
		const char *svc = service_of(p, (int32_t)atoi(v->v[i].key), buf, sizeof(buf));
		uint32_t j;

		for (j = 0; j < by.n && strcmp(by.v[j].key, svc); j++)
			;
		if (j < by.n) {
			by.v[j].ns += v->v[i].ns;
		} else if (CT_VEC_PUSH(by)) {
			by.v[by.n - 1].key = ct_strndup0(svc, strlen(svc));
			by.v[by.n - 1].ns = v->v[i].ns;
			by.v[by.n - 1].count = 0;
		}
	}
	r = kv_sorted(&by, &n);
	ct_jsonw_key(w, "by_service");
	ct_jsonw_arr_begin(w);
	for (uint32_t i = 0; r && i < n; i++) {
		ct_jsonw_obj_begin(w);
		ct_jsonw_kstr(w, "service", r[i].key);
		ct_jsonw_kuint(w, "ns", r[i].ns);
		w_share(w, r[i].ns, total);
		ct_jsonw_obj_end(w);
	}
	ct_jsonw_arr_end(w);
	free(r);
	for (uint32_t i = 0; i < by.n; i++)
		free(by.v[i].key);
	CT_VEC_FREE(by);
}

static void w_critpath(struct ct_jsonw *w, const struct ct_partial *p, const struct fspan *f)
{
	const struct critpath *cp = f->cp;
	struct kv_vec svc = {0}, thr = {0}, st = {0};
	uint64_t total = f->end - f->start, sum = 0;
	char buf[96], id[17], lb[600];

	ct_jsonw_key(w, "critical_path");
	if (!cp) {
		ct_jsonw_null(w);
		return;
	}
	ct_jsonw_obj_begin(w);
	ct_jsonw_key(w, "segments");
	ct_jsonw_arr_begin(w);
	for (uint32_t i = 0; i < cp->seg.n; i++) {
		const struct critseg *s = &cp->seg.v[i];
		struct kvsum *e;

		sum += s->dur;
		ct_jsonw_obj_begin(w);
		ct_jsonw_kuint(w, "start_ns", s->start);
		ct_jsonw_kuint(w, "duration_ns", s->dur);
		ct_jsonw_kstr(w, "service", service_of(p, s->pid, buf, sizeof(buf)));
		ct_jsonw_kint(w, "pid", s->pid);
		ct_jsonw_kint(w, "tid", s->tid);
		task_label(p, s->tid, buf, sizeof(buf));
		ct_jsonw_kstr(w, "thread", buf);
		ct_jsonw_kstr(w, "state", ct_cat_name(s->cat));
		ct_jsonw_kstr(w, "detail", lbl(p, s->detail, lb, sizeof(lb)));
		if (s->span) {
			hex_id(s->span, id);
			ct_jsonw_kstr(w, "span_id", id);
			ct_jsonw_kbool(w, "same_trace", s->same_trace);
		} else {
			ct_jsonw_kstr(w, "span_id", NULL);
		}
		ct_jsonw_obj_end(w);
		snprintf(buf, sizeof(buf), "%d", s->pid);
		for (e = NULL; !e;) {
			uint32_t j;

			for (j = 0; j < svc.n && strcmp(svc.v[j].key, buf); j++)
				;
			if (j < svc.n) {
				e = &svc.v[j];
			} else if ((e = CT_VEC_PUSH(svc))) {
				memset(e, 0, sizeof(*e));
				e->key = ct_strndup0(buf, sizeof(buf));
			} else {
				break;
			}
		}
		if (e)
			e->ns += s->dur;
		task_label(p, s->tid, buf, sizeof(buf));
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " tid %d", s->tid);
		{
			uint32_t j;

			for (j = 0; j < thr.n && strcmp(thr.v[j].key, buf); j++)
				;
			if (j < thr.n) {
				thr.v[j].ns += s->dur;
			} else if (CT_VEC_PUSH(thr)) {
				thr.v[thr.n - 1].key = ct_strndup0(buf, sizeof(buf));
				thr.v[thr.n - 1].ns = s->dur;
				thr.v[thr.n - 1].count = 0;
			}
			for (j = 0; j < st.n && strcmp(st.v[j].key, ct_cat_name(s->cat)); j++)
				;
			if (j < st.n) {
				st.v[j].ns += s->dur;
			} else if (CT_VEC_PUSH(st)) {
				st.v[st.n - 1].key = ct_strndup0(ct_cat_name(s->cat), 32);
				st.v[st.n - 1].ns = s->dur;
				st.v[st.n - 1].count = 0;
			}
		}
	}
	ct_jsonw_arr_end(w);
	ct_jsonw_kuint(w, "total_ns", sum);
	ct_jsonw_kbool(w, "truncated", cp->truncated);
	w_cp_services(w, p, &svc, total);
	{
		uint32_t n;
		struct kvref *r = kv_sorted(&thr, &n);

		ct_jsonw_key(w, "by_thread");
		ct_jsonw_arr_begin(w);
		for (uint32_t i = 0; r && i < n; i++) {
			ct_jsonw_obj_begin(w);
			ct_jsonw_kstr(w, "thread", r[i].key);
			ct_jsonw_kuint(w, "ns", r[i].ns);
			w_share(w, r[i].ns, total);
			ct_jsonw_obj_end(w);
		}
		ct_jsonw_arr_end(w);
		free(r);
		r = kv_sorted(&st, &n);
		ct_jsonw_key(w, "by_state");
		ct_jsonw_arr_begin(w);
		for (uint32_t i = 0; r && i < n; i++) {
			ct_jsonw_obj_begin(w);
			ct_jsonw_kstr(w, "state", r[i].key);
			ct_jsonw_kuint(w, "ns", r[i].ns);
			w_share(w, r[i].ns, total);
			ct_jsonw_obj_end(w);
		}
		ct_jsonw_arr_end(w);
		free(r);
	}
	ct_jsonw_obj_end(w);
	for (uint32_t i = 0; i < svc.n; i++)
		free(svc.v[i].key);
	for (uint32_t i = 0; i < thr.n; i++)
		free(thr.v[i].key);
	for (uint32_t i = 0; i < st.n; i++)
		free(st.v[i].key);
	CT_VEC_FREE(svc);
	CT_VEC_FREE(thr);
	CT_VEC_FREE(st);
}

static void w_attr_value(struct ct_jsonw *w, const struct attr *a)
{
	switch (a->type) {
	case 1:
		ct_jsonw_str(w, a->s ? a->s : "");
		break;
	case 2:
		ct_jsonw_int(w, a->i);
		break;
	case 3:
		ct_jsonw_double(w, a->d);
		break;
	default:
		ct_jsonw_bool(w, (int)a->i);
		break;
	}
}

static void w_span(struct ct_jsonw *w, const struct ct_partial *p, const struct fspan *f)
{
	char id[33], buf[96], lb[600];
	uint64_t d = f->end - f->start;

	ct_jsonw_obj_begin(w);
	hex_trace(f->trace_hi, f->trace_lo, id);
	ct_jsonw_kstr(w, "trace_id", id);
	hex_id(f->id, id);
	ct_jsonw_kstr(w, "span_id", id);
	if (f->parent) {
		hex_id(f->parent, id);
		ct_jsonw_kstr(w, "parent_id", id);
	} else {
		ct_jsonw_kstr(w, "parent_id", NULL);
	}
	ct_jsonw_kstr(w, "service", service_of(p, f->pid, buf, sizeof(buf)));
	ct_jsonw_kstr(w, "name", f->name ? f->name : "");
	ct_jsonw_kstr(w, "kind", kind_name(f->kind));
	ct_jsonw_kbool(w, "request", f->root);
	ct_jsonw_kint(w, "pid", f->pid);
	ct_jsonw_kint(w, "tid", f->tid);
	ct_jsonw_kuint(w, "start_ns", f->start);
	ct_jsonw_kuint(w, "end_ns", f->end);
	ct_jsonw_kuint(w, "duration_ns", d);
	ct_jsonw_kstr(w, "status", status_name(f->status));
	if (f->status_msg)
		ct_jsonw_kstr(w, "status_message", f->status_msg);
	ct_jsonw_kstr(w, "scope",
		      (f->flags & SP_PROCWIDE) ? "process"
		      : f->tids.n	       ? "thread"
					       : "none");
	ct_jsonw_key(w, "threads");
	ct_jsonw_arr_begin(w);
	for (uint32_t i = 0; i < f->tids.n; i++)
		ct_jsonw_int(w, f->tids.v[i]);
	ct_jsonw_arr_end(w);
	w_incomplete(w, f->incomplete);
	w_breakdown(w, "breakdown", f->cat, 0);
	ct_jsonw_kuint(w, "own_ns", d - f->cat[CT_CAT_CHILDREN]);
	w_causes(w, p, f, 5);
	ct_jsonw_key(w, "syscall_summary");
	ct_jsonw_arr_begin(w);
	for (uint32_t i = 0; i < f->scs.n; i++) {
		ct_jsonw_obj_begin(w);
		ct_jsonw_kstr(w, "phase", f->scs.v[i].phase);
		ct_jsonw_kstr(w, "syscall", sc_name(f->scs.v[i].nr, buf, sizeof(buf)));
		ct_jsonw_kuint(w, "count", f->scs.v[i].count);
		ct_jsonw_kuint(w, "ns", f->scs.v[i].ns);
		ct_jsonw_obj_end(w);
	}
	ct_jsonw_arr_end(w);
	ct_jsonw_key(w, "attributes");
	ct_jsonw_obj_begin(w);
	for (uint32_t i = 0; i < f->attrs.n; i++) {
		const struct attr *a = &f->attrs.v[i];
		int later = 0;

		if (a->owner)
			continue;
		for (uint32_t j = i + 1; j < f->attrs.n && !later; j++)
			later = !f->attrs.v[j].owner && !strcmp(f->attrs.v[j].key, a->key);
		if (later)
			continue; /* a later value replaces it */
		ct_jsonw_key(w, a->key);
		w_attr_value(w, a);
	}
	ct_jsonw_obj_end(w);
	ct_jsonw_key(w, "events");
	ct_jsonw_arr_begin(w);
	for (uint32_t i = 0; i < f->events.n; i++) {
		ct_jsonw_obj_begin(w);
		ct_jsonw_kuint(w, "time_ns", f->events.v[i].time);
		ct_jsonw_kstr(w, "name", f->events.v[i].name ? f->events.v[i].name : "");
		ct_jsonw_obj_end(w);
	}
	ct_jsonw_arr_end(w);
	if (f->links.n) {
		ct_jsonw_key(w, "links");
		ct_jsonw_arr_begin(w);
		for (uint32_t i = 0; i < f->links.n; i++) {
			ct_jsonw_obj_begin(w);
			hex_trace(f->links.v[i].trace_hi, f->links.v[i].trace_lo, id);
			ct_jsonw_kstr(w, "trace_id", id);
			hex_id(f->links.v[i].span, id);
			ct_jsonw_kstr(w, "span_id", id);
			ct_jsonw_obj_end(w);
		}
		ct_jsonw_arr_end(w);
	}
	if (detail_shown(p, f)) {
		ct_jsonw_key(w, "syscalls");
		ct_jsonw_arr_begin(w);
		for (uint32_t i = 0; i < f->dsc.n; i++) {
			const struct screc *r = &f->dsc.v[i];

			ct_jsonw_obj_begin(w);
			ct_jsonw_kstr(w, "name", sc_name(r->nr, buf, sizeof(buf)));
			ct_jsonw_kint(w, "tid", r->tid);
			ct_jsonw_kuint(w, "start_ns", r->entry_ts);
			if (r->exit_ts != NO_END && !(r->flags & SC_NO_EXIT)) {
				ct_jsonw_kuint(w, "duration_ns", r->exit_ts - r->entry_ts);
				ct_jsonw_kint(w, "ret", r->ret);
				if (r->ret < 0 && r->ret > -4096)
					ct_jsonw_kint(w, "errno", -r->ret);
			} else {
				ct_jsonw_kstr(w, "duration_ns", NULL);
			}
			ct_jsonw_key(w, "args");
			ct_jsonw_arr_begin(w);
			for (int a = 0; a < 6; a++)
				ct_jsonw_uint(w, r->args[a]);
			ct_jsonw_arr_end(w);
			if (r->fdnum >= 0)
				ct_jsonw_kint(w, "fd", r->fdnum);
			if (f->dsc_target.v[i] && f->dsc_target.v[i][0])
				ct_jsonw_kstr(w, "target", f->dsc_target.v[i]);
			ct_jsonw_obj_end(w);
		}
		ct_jsonw_arr_end(w);
		if (f->dsc_omitted)
			ct_jsonw_kuint(w, "syscalls_omitted", f->dsc_omitted);
		ct_jsonw_key(w, "kernel_events");
		ct_jsonw_arr_begin(w);
		for (uint32_t i = 0; i < f->dkev.n; i++) {
			static const char *const kn[] = {"block_io", "fork",   "exec",
							 "exit",     "rename", "unknown_event"};
			const struct kev *k = &f->dkev.v[i];

			ct_jsonw_obj_begin(w);
			ct_jsonw_kuint(w, "time_ns", k->ts);
			ct_jsonw_kstr(w, "name",
				      k->type < 6     ? kn[k->type]
				      : k->type == 16 ? "sched_preempted"
						      : "sched_woken");
			ct_jsonw_kstr(w, "detail", lbl(p, k->text, lb, sizeof(lb)));
			if (k->type == KEV_BLOCK_IO) {
				ct_jsonw_kuint(w, "bytes", k->a);
				if (k->b)
					ct_jsonw_kuint(w, "latency_ns", k->b);
			} else if (k->type >= 16) {
				ct_jsonw_kint(w, "tid", (int64_t)k->a);
				ct_jsonw_kuint(w, "duration_ns", k->b);
			}
			ct_jsonw_obj_end(w);
		}
		ct_jsonw_arr_end(w);
		if (f->dkev_omitted)
			ct_jsonw_kuint(w, "kernel_events_omitted", f->dkev_omitted);
	}
	ct_jsonw_obj_end(w);
}

static void w_request(struct ct_jsonw *w, const struct ct_partial *p, const struct fspan *f)
{
	char id[33], buf[96];

	ct_jsonw_obj_begin(w);
	hex_trace(f->trace_hi, f->trace_lo, id);
	ct_jsonw_kstr(w, "trace_id", id);
	hex_id(f->id, id);
	ct_jsonw_kstr(w, "span_id", id);
	ct_jsonw_kstr(w, "service", service_of(p, f->pid, buf, sizeof(buf)));
	ct_jsonw_kstr(w, "name", f->name ? f->name : "");
	ct_jsonw_kuint(w, "start_ns", f->start);
	ct_jsonw_kuint(w, "duration_ns", f->end - f->start);
	ct_jsonw_kstr(w, "status", status_name(f->status));
	w_incomplete(w, f->incomplete);
	w_breakdown(w, "breakdown", f->cat, 0);
	w_causes(w, p, f, 3);
	w_critpath(w, p, f);
	ct_jsonw_obj_end(w);
}

static void w_ops(struct ct_jsonw *w, const struct ct_partial *p)
{
	static const double qs[] = {0.5, 0.9, 0.99};
	uint32_t n = 0;
	struct op **ops = ops_grouped(p, &n);

	ct_jsonw_key(w, "operations");
	ct_jsonw_arr_begin(w);
	for (uint32_t i = 0; ops && i < n; i++) {
		const struct op *o = ops[i];
		uint64_t q[3], tail[CT_CAT_N] = {0}, tail_n = 0;
		uint32_t k;
		struct kvref *r;
		char id[17], lb[700];

		ag_quantiles(o, qs, q, 3);
		for (uint32_t j = 0; j < o->hist.n; j++) {
			if (ag_bucket_low(o->hist.v[j].idx) < q[2])
				continue;
			tail_n += o->hist.v[j].count;
			for (unsigned c = 0; c < CT_CAT_N; c++)
				tail[c] += o->hist.v[j].cat[c];
		}
		ct_jsonw_obj_begin(w);
		ct_jsonw_kstr(w, "service", o->service);
		ct_jsonw_kstr(w, "name", o->name);
		ct_jsonw_kuint(w, "count", o->count);
		ct_jsonw_kuint(w, "errors", o->errors);
		ct_jsonw_kuint(w, "min_ns", o->count ? o->min : 0);
		ct_jsonw_kuint(w, "mean_ns", o->count ? o->sum / o->count : 0);
		ct_jsonw_kuint(w, "p50_ns", q[0]);
		ct_jsonw_kuint(w, "p90_ns", q[1]);
		ct_jsonw_kuint(w, "p99_ns", q[2]);
		ct_jsonw_kuint(w, "max_ns", o->max);
		w_breakdown(w, "breakdown_mean", o->cat, o->count);
		w_breakdown(w, "breakdown_p99", tail, tail_n);
		r = kv_sorted(&o->causes, &k);
		ct_jsonw_key(w, "top_causes");
		ct_jsonw_arr_begin(w);
		for (uint32_t j = 0; r && j < k && j < 10; j++) {
			const char *tab = strchr(r[j].key, '\t');

			ct_jsonw_obj_begin(w);
			ct_jsonw_key(w, "category");
			ct_jsonw_strn(w, r[j].key, tab ? (size_t)(tab - r[j].key) : 0);
			ct_jsonw_kstr(w, "text", lbl(p, tab ? tab + 1 : r[j].key, lb, sizeof(lb)));
			ct_jsonw_kuint(w, "ns", r[j].ns);
			w_share(w, r[j].ns, o->sum);
			ct_jsonw_obj_end(w);
		}
		ct_jsonw_arr_end(w);
		free(r);
		r = kv_sorted(&o->scs, &k);
		ct_jsonw_key(w, "syscalls");
		ct_jsonw_arr_begin(w);
		for (uint32_t j = 0; r && j < k; j++) {
			const char *tab = strchr(r[j].key, '\t');

			ct_jsonw_obj_begin(w);
			ct_jsonw_key(w, "phase");
			if (tab && tab != r[j].key)
				ct_jsonw_strn(w, r[j].key, (size_t)(tab - r[j].key));
			else
				ct_jsonw_null(w);
			ct_jsonw_kstr(w, "syscall", tab ? tab + 1 : r[j].key);
			ct_jsonw_kuint(w, "count", r[j].count);
			ct_jsonw_kuint(w, "ns", r[j].ns);
			ct_jsonw_obj_end(w);
		}
		ct_jsonw_arr_end(w);
		free(r);
		ct_jsonw_key(w, "critical_path");
		ct_jsonw_obj_begin(w);
		ct_jsonw_kuint(w, "requests", o->cp_requests);
		w_cp_services(w, p, &o->cp_service, o->cp_ns);
		r = kv_sorted(&o->cp_state, &k);
		ct_jsonw_key(w, "by_state");
		ct_jsonw_arr_begin(w);
		for (uint32_t j = 0; r && j < k; j++) {
			ct_jsonw_obj_begin(w);
			ct_jsonw_kstr(w, "state", r[j].key);
			ct_jsonw_kuint(w, "ns", r[j].ns);
			w_share(w, r[j].ns, o->cp_ns);
			ct_jsonw_obj_end(w);
		}
		ct_jsonw_arr_end(w);
		free(r);
		ct_jsonw_obj_end(w);
		ct_jsonw_key(w, "slowest");
		ct_jsonw_arr_begin(w);
		for (uint32_t j = 0; j < o->top.n; j++) {
			hex_id(o->top.v[j]->id, id);
			ct_jsonw_str(w, id);
		}
		ct_jsonw_arr_end(w);
		ct_jsonw_obj_end(w);
	}
	ct_jsonw_arr_end(w);
	ops_free(ops, n);
}

static const char *state_name(const struct ival *iv)
{
	static const char *const n[] = {"unknown", "running", "runnable", "blocked", "dead"};

	return iv->state < 5 ? n[iv->state] : "unknown";
}

static int cmp_thread(const void *a, const void *b)
{
	const struct thread *x = *(const struct thread *const *)a,
			    *y = *(const struct thread *const *)b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static void w_threads(struct ct_jsonw *w, const struct ct_partial *p)
{
	const struct thread **ts = calloc(p->thread_list.n + 1, sizeof(*ts));
	char buf[512], id[17], lb[600];

	ct_jsonw_key(w, "threads");
	ct_jsonw_arr_begin(w);
	if (!ts) {
		ct_jsonw_arr_end(w);
		return;
	}
	for (uint32_t i = 0; i < p->thread_list.n; i++)
		ts[i] = p->thread_list.v[i];
	qsort(ts, p->thread_list.n, sizeof(*ts), cmp_thread);
	for (uint32_t i = 0; i < p->thread_list.n; i++) {
		const struct thread *t = ts[i];

		if (!t->iv.n)
			continue;
		ct_jsonw_obj_begin(w);
		ct_jsonw_kint(w, "tid", t->tid);
		ct_jsonw_kint(w, "pid", t->pid);
		task_label(p, t->tid, buf, sizeof(buf));
		ct_jsonw_kstr(w, "name", buf);
		ct_jsonw_key(w, "states");
		ct_jsonw_arr_begin(w);
		struct piece pc;
		int more;

		/* Pieces: a change of the process-wide scope starts a new state entry. */
		th_piece_at(p, t, 0, 0, p->last_ts, &pc);
		for (more = 1; more; more = th_piece_next(p, t, p->last_ts, &pc)) {
			const struct ival *iv = &pc.iv;
			uint64_t end = pc.end;
			const struct frame *in = an_innermost(&pc);
			int last = pc.i + 1 == t->iv.n && pc.end >= pc.iv_end;
			int32_t by;
			unsigned cat;

			if (end <= iv->start && !last)
				continue; /* zero-length: only the order of events there */
			cat = an_classify(p, t, iv, buf, sizeof(buf), &by);
			ct_jsonw_obj_begin(w);
			ct_jsonw_kuint(w, "start_ns", iv->start);
			ct_jsonw_kuint(w, "end_ns", end);
			ct_jsonw_kstr(w, "state", state_name(iv));
			ct_jsonw_kstr(w, "category", ct_cat_name(cat));
			ct_jsonw_kstr(w, "detail", lbl(p, buf, lb, sizeof(lb)));
			if (iv->state == TS_BLOCKED && (iv->flags & IV_WOKEN))
				ct_jsonw_kint(w, "woken_by", th_waker(p, t, pc.i));
			if (in) {
				hex_id(in->span, id);
				ct_jsonw_kstr(w, "span_id", id);
			}
			ct_jsonw_obj_end(w);
		}
		ct_jsonw_arr_end(w);
		ct_jsonw_obj_end(w);
	}
	ct_jsonw_arr_end(w);
	free(ts);
}

static int cmp_loss(const void *a, const void *b)
{
	const struct loss *x = a, *y = b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	if (x->what != y->what)
		return x->what < y->what ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

void ct_result_json(const struct ct_partial *p, struct ct_jsonw *w, unsigned sections)
{
	ct_jsonw_obj_begin(w);
	ct_jsonw_kstr(w, "format", "crosstrace-analysis");
	ct_jsonw_kint(w, "version", 1);
	if (sections & CT_OUT_INPUT) {
		struct loss *ls = calloc(p->losses.n + 1, sizeof(*ls));

		ct_jsonw_key(w, "input");
		ct_jsonw_obj_begin(w);
		ct_jsonw_kuint(w, "events", p->events);
		ct_jsonw_kuint(w, "first_ns", p->first_ts);
		ct_jsonw_kuint(w, "last_ns", p->last_ts);
		ct_jsonw_kuint(w, "unknown_events", p->unknown_events);
		ct_jsonw_kuint(w, "anomalies", p->anomalies);
		ct_jsonw_kuint(w, "allocation_failures", p->oom);
		ct_jsonw_kuint(w, "spans", p->n_spans);
		ct_jsonw_kuint(w, "requests", p->n_requests);
		ct_jsonw_key(w, "losses");
		ct_jsonw_arr_begin(w);
		if (ls) {
			if (p->losses.n)
				memcpy(ls, p->losses.v, p->losses.n * sizeof(*ls));
			qsort(ls, p->losses.n, sizeof(*ls), cmp_loss);
			for (uint32_t i = 0; i < p->losses.n; i++) {
				if ((i && !cmp_loss(&ls[i], &ls[i - 1])) ||
				    ls[i].what == CT_INC_UNKNOWN_EVENTS)
					continue; /* counted in unknown_events */
				ct_jsonw_obj_begin(w);
				w_incomplete(w, ls[i].what);
				ct_jsonw_kuint(w, "begin_ns", ls[i].begin);
				ct_jsonw_kuint(w, "end_ns", ls[i].end);
				if (ls[i].pid)
					ct_jsonw_kint(w, "pid", ls[i].pid);
				ct_jsonw_obj_end(w);
			}
			free(ls);
		}
		ct_jsonw_arr_end(w);
		ct_jsonw_obj_end(w);
	}
	if (sections & CT_OUT_OPERATIONS)
		w_ops(w, p);
	if ((sections & CT_OUT_FILTERED) && !(sections & CT_OUT_REQUESTS)) {
		ct_jsonw_key(w, "trace");
		ct_jsonw_arr_begin(w);
		for (uint32_t i = 0; i < p->filt_req.n; i++)
			w_request(w, p, p->filt_req.v[i]);
		ct_jsonw_arr_end(w);
	}
	if (sections & CT_OUT_REQUESTS) {
		ct_jsonw_key(w, "requests");
		ct_jsonw_arr_begin(w);
		for (uint32_t i = 0; i < p->slow_req.n; i++)
			w_request(w, p, p->slow_req.v[i]);
		ct_jsonw_arr_end(w);
		if (p->cfg.trace_filter) {
			ct_jsonw_key(w, "trace");
			ct_jsonw_arr_begin(w);
			for (uint32_t i = 0; i < p->filt_req.n; i++)
				w_request(w, p, p->filt_req.v[i]);
			ct_jsonw_arr_end(w);
		}
	}
	if (sections & CT_OUT_SPANS) {
		uint32_t n = 0;
		const struct fspan **v = kept_sorted(p, &n);

		ct_jsonw_key(w, "spans");
		ct_jsonw_arr_begin(w);
		for (uint32_t i = 0; v && i < n; i++)
			w_span(w, p, v[i]);
		ct_jsonw_arr_end(w);
		free(v);
	}
	if (sections & CT_OUT_THREADS)
		w_threads(w, p);
	ct_jsonw_obj_end(w);
}

unsigned ct_result_trace_requests(const struct ct_partial *p, uint64_t hi, uint64_t lo)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < p->filt_req.n; i++)
		n += p->filt_req.v[i]->trace_hi == hi && p->filt_req.v[i]->trace_lo == lo;
	return n;
}
