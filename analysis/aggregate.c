// SPDX-License-Identifier: MIT
/*
 * Per-operation aggregates, built as spans settle: counts, a log-linear latency histogram
 * (64 sub-buckets per power of two: quantiles within 1.6%) whose buckets also sum the
 * breakdown (for the tail's breakdown), causes, syscall time per phase, the critical-path
 * share per process and state, and the slowest spans kept in full. Every piece merges by
 * addition or by a total order, so the result does not depend on the order spans settle in.
 */
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "syscalls.h"

uint32_t ag_bucket(uint64_t v)
{
	unsigned msb;

	if (v < 64)
		return (uint32_t)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	return 64u + (msb - 6u) * 64u + (uint32_t)((v >> (msb - 6u)) & 63u);
}

uint64_t ag_bucket_low(uint32_t idx)
{
	uint32_t e, sub;

	if (idx < 64)
		return idx;
	e = (idx - 64) / 64;
	sub = (idx - 64) % 64;
	return (uint64_t)(64 + sub) << e;
}

int ag_cmp_slow(const struct fspan *a, const struct fspan *b)
{
	uint64_t da = a->end - a->start, db = b->end - b->start;

	if (da != db)
		return da > db ? -1 : 1;
	if (a->trace_hi != b->trace_hi)
		return a->trace_hi < b->trace_hi ? -1 : 1;
	if (a->trace_lo != b->trace_lo)
		return a->trace_lo < b->trace_lo ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

void fs_unref(struct fspan *f)
{
	if (!f || --f->refs)
		return;
	for (uint32_t i = 0; i < f->causes.n; i++)
		free(f->causes.v[i].text);
	for (uint32_t i = 0; i < f->scs.n; i++)
		free(f->scs.v[i].phase);
	for (uint32_t i = 0; i < f->attrs.n; i++)
		attr_fini(&f->attrs.v[i]);
	for (uint32_t i = 0; i < f->events.n; i++)
		free(f->events.v[i].name);
	for (uint32_t i = 0; i < f->dsc.n; i++)
		free(f->dsc.v[i].text);
	for (uint32_t i = 0; i < f->dsc_target.n; i++)
		free(f->dsc_target.v[i]);
	for (uint32_t i = 0; i < f->dkev.n; i++)
		free(f->dkev.v[i].text);
	CT_VEC_FREE(f->causes);
	CT_VEC_FREE(f->scs);
	CT_VEC_FREE(f->attrs);
	CT_VEC_FREE(f->events);
	CT_VEC_FREE(f->links);
	CT_VEC_FREE(f->tids);
	CT_VEC_FREE(f->dsc);
	CT_VEC_FREE(f->dsc_target);
	CT_VEC_FREE(f->dkev);
	cp_free(f->cp);
	free(f->name);
	free(f->status_msg);
	free(f);
}

static void free_kv(struct kv_vec *v)
{
	for (uint32_t i = 0; i < v->n; i++)
		free(v->v[i].key);
	CT_VEC_FREE(*v);
	ct_hmap_fini(&v->ix);
}

void ag_free_op(struct op *o)
{
	free_kv(&o->causes);
	free_kv(&o->scs);
	free_kv(&o->cp_service);
	free_kv(&o->cp_state);
	for (uint32_t i = 0; i < o->top.n; i++)
		fs_unref(o->top.v[i]);
	CT_VEC_FREE(o->top);
	CT_VEC_FREE(o->hist);
	free(o->service);
	free(o->name);
	free(o);
}

/* Operations are keyed by (pid, name) while settling; output groups them by service. */
static struct op *op_get(struct ct_partial *p, int32_t pid, const char *name)
{
	uint64_t key = ct_hash_str(name, (uint64_t)(uint32_t)pid * 0x9e3779b97f4a7c15ull + 1);
	uint64_t *v;
	struct op *o, **slot;

	for (;; key++) {
		v = ct_hmap_get(&p->ops, key);
		if (!v)
			break;
		o = (struct op *)(uintptr_t)*v;
		if (o->pid == pid && !strcmp(o->name, name))
			return o;
	}
	o = calloc(1, sizeof(*o));
	slot = o ? CT_VEC_PUSH(p->op_list) : NULL;
	if (!slot || !(o->name = ct_strndup0(name, strlen(name))) ||
	    ct_hmap_put(&p->ops, key, (uint64_t)(uintptr_t)o)) {
		if (slot)
			p->op_list.n--;
		if (o)
			free(o->name);
		free(o);
		p->oom++;
		return NULL;
	}
	*slot = o;
	o->pid = pid;
	o->min = UINT64_MAX;
	return o;
}

/* Adds to key's sums; h is its hash (0: computed here; equal keys must come with equal h). */
static void kv_add(struct ct_partial *p, struct kv_vec *v, const char *key, uint64_t h, uint64_t ns,
		   uint64_t count)
{
	uint64_t *ix;

	if (!h)
		h = ct_hash_str(key, 3);
	struct kvsum *e;

	/* Probe the index: hash → position + 1 (collisions walk on to h + 1, ...). */
	for (;; h++) {
		ix = ct_hmap_get(&v->ix, h ? h : 1);
		if (!ix)
			break;
		e = &v->v[*ix - 1];
		if (!strcmp(e->key, key)) {
			e->ns += ns;
			e->count += count;
			return;
		}
	}
	e = CT_VEC_PUSH(*v);
	if (!e || !(e->key = ct_strndup0(key, strlen(key))) ||
	    ct_hmap_put(&v->ix, h ? h : 1, v->n)) {
		if (e) {
			free(e->key);
			v->n--;
		}
		p->oom++;
		return;
	}
	e->ns = ns;
	e->count = count;
}

static struct hbucket *bucket(struct ct_partial *p, struct op *o, uint32_t idx)
{
	uint32_t lo = 0, hi = o->hist.n;
	struct hbucket *b;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (o->hist.v[mid].idx < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < o->hist.n && o->hist.v[lo].idx == idx)
		return &o->hist.v[lo];
	if (!CT_VEC_PUSH(o->hist)) {
		p->oom++;
		return NULL;
	}
	memmove(&o->hist.v[lo + 1], &o->hist.v[lo], (o->hist.n - 1 - lo) * sizeof(o->hist.v[0]));
	b = &o->hist.v[lo];
	memset(b, 0, sizeof(*b));
	b->idx = idx;
	return b;
}

/* Would f be among the op's slowest (so it deserves full detail)? */
int ag_wants_detail(struct ct_partial *p, int32_t pid, const char *name, const struct fspan *f)
{
	struct op *o = op_get(p, pid, name);

	return o && (o->top.n < p->cfg.top_k || ag_cmp_slow(f, o->top.v[o->top.n - 1]) < 0);
}

void ag_insert_sorted(struct ct_partial *p, struct fspan_vec *v, struct fspan *f, unsigned max)
{
	uint32_t pos = v->n;

	while (pos > 0 && ag_cmp_slow(f, v->v[pos - 1]) < 0)
		pos--;
	if (pos >= max)
		return;
	if (v->n == max) {
		fs_unref(v->v[v->n - 1]);
		v->n--;
	}
	if (!CT_VEC_PUSH(*v)) {
		p->oom++;
		return;
	}
	memmove(&v->v[pos + 1], &v->v[pos], (v->n - 1 - pos) * sizeof(v->v[0]));
	v->v[pos] = f;
	f->refs++;
}

void ag_add_span(struct ct_partial *p, struct fspan *f)
{
	struct op *o = op_get(p, f->pid, f->name ? f->name : "");
	uint64_t d = f->end - f->start;
	struct hbucket *b;
	char key[600];

	if (!o)
		return;
	o->count++;
	o->errors += f->status == 2;
	o->sum += d;
	if (d > o->max)
		o->max = d;
	if (d < o->min)
		o->min = d;
	for (unsigned c = 0; c < CT_CAT_N; c++)
		o->cat[c] += f->cat[c];
	b = bucket(p, o, ag_bucket(d));
	if (b) {
		b->count++;
		for (unsigned c = 0; c < CT_CAT_N; c++)
			b->cat[c] += f->cat[c];
	}
	for (uint32_t i = 0; i < f->causes.n; i++) {
		const char *cn = ct_cat_name(f->causes.v[i].cat);
		size_t l = strlen(cn), tl = strlen(f->causes.v[i].text);

		if (l + 1 + tl >= sizeof(key))
			tl = sizeof(key) - l - 2;
		memcpy(key, cn, l);
		key[l] = '\t';
		memcpy(key + l + 1, f->causes.v[i].text, tl);
		key[l + 1 + tl] = 0;
		/* thash is the hash of (text, category): what makes this key. */
		kv_add(p, &o->causes, key, f->causes.v[i].thash, f->causes.v[i].ns, 1);
	}
	for (uint32_t i = 0; i < f->scs.n; i++) {
		const char *nm = ct_syscall_name(f->scs.v[i].nr);

		size_t at =
			txt_put(key, sizeof(key), 0, f->scs.v[i].phase ? f->scs.v[i].phase : "");

		at = txt_put(key, sizeof(key), at, "\t");
		txt_put(key, sizeof(key), at, nm ? nm : "?");
		kv_add(p, &o->scs, key, 0, f->scs.v[i].ns, f->scs.v[i].count);
	}
	ag_insert_sorted(p, &o->top, f, p->cfg.top_k);
}

void ag_add_critpath(struct ct_partial *p, const struct fspan *root, const struct critpath *cp)
{
	struct op *o = op_get(p, root->pid, root->name ? root->name : "");
	struct {
		int32_t pid;
		uint64_t ns;
	} by_pid[16];
	uint64_t by_cat[CT_CAT_N] = {0};
	unsigned n_pid = 0;
	char key[32];

	if (!o || !cp)
		return;
	o->cp_requests++;
	o->cp_ns += root->end - root->start;
	/* Sum locally first: a path has many segments but few processes and states. */
	for (uint32_t i = 0; i < cp->seg.n; i++) {
		const struct critseg *s = &cp->seg.v[i];
		unsigned k;

		by_cat[s->cat] += s->dur;
		for (k = 0; k < n_pid && by_pid[k].pid != s->pid; k++)
			;
		if (k == n_pid) {
			if (n_pid == 16) {
				snprintf(key, sizeof(key), "%d", s->pid);
				kv_add(p, &o->cp_service, key, 0, s->dur, 0);
				continue;
			}
			by_pid[n_pid].pid = s->pid;
			by_pid[n_pid++].ns = 0;
		}
		by_pid[k].ns += s->dur;
	}
	for (unsigned k = 0; k < n_pid; k++) {
		snprintf(key, sizeof(key), "%d", by_pid[k].pid);
		kv_add(p, &o->cp_service, key, 0, by_pid[k].ns, 0);
	}
	for (unsigned c = 0; c < CT_CAT_N; c++)
		if (by_cat[c])
			kv_add(p, &o->cp_state, ct_cat_name(c), 0, by_cat[c], 0);
}

void ag_quantiles(const struct op *o, const double *q, uint64_t *out, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		uint64_t rankv = (uint64_t)(q[k] * (double)o->count + 0.999999999), seen = 0;

		if (rankv < 1)
			rankv = 1;
		out[k] = 0;
		for (uint32_t i = 0; i < o->hist.n; i++) {
			seen += o->hist.v[i].count;
			if (seen >= rankv) {
				/* The bucket's low end, within the exact extremes. */
				out[k] = ag_bucket_low(o->hist.v[i].idx);
				if (out[k] < o->min)
					out[k] = o->min;
				if (out[k] > o->max)
					out[k] = o->max;
				break;
			}
		}
	}
}
