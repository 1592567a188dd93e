// SPDX-License-Identifier: MIT
/*
 * The annotator thread (see annotator.h): sealed chunks in, annotated spans out. A chunk's
 * events (kernel, native clients; the "foreign" stream is skipped, the feed supplies received
 * spans) are merged in time order with the feed's span events of the same range, mapped into
 * a partial and reduced into the running result; then settled spans are matched with their
 * originals, annotated and submitted, one exporter call per received batch.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/analysis.h"
#include "annotator.h"
#include "anntext.h"
#include "crosstrace/crosstrace.h"
#include "format/trace_reader.h"
#include "log.h"
#include "util/clock.h"
#include "util/msort.h"

#define EXPIRE_MARGIN_NS 100000000ull /* past the analysis' loss grace (50 ms) */
#define MAX_CHILD_SPANS 1000
#define TEXT_MAX 640 /* bytes of an annotation text, its NUL included (longer ones are cut) */
#define INC_BITS 9 /* the reasons of incompleteness inc_name knows */

struct qchunk {
	unsigned index;
	uint64_t begin, end;
	char dir[PATH_MAX];
};

/* A crosstrace.incomplete text. */
struct inc_text {
	char *s;
	size_t len;
};

/* A span ready to export: a received one (sp) or a native one (b/idx of the native batch). */
struct out {
	struct ct_nbatch *b;
	uint32_t idx;
	struct ct_feed_span *sp; /* NULL for native spans */
};

struct ct_annotator {
	struct ct_annotator_opts o;
	struct ct_an_config cfg;
	pthread_t th;
	int started;
	int debug; /* CROSSTRACE_AGENT_DEBUG set: a log line per chunk */

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct qchunk *q; /* under mu */
	size_t q_head, q_n, q_cap;
	int finishing;
	struct ct_annotator_stats pub; /* under mu: published after each round */

	/* thread only */
	struct ct_annotator_stats st;
	struct ct_partial *run; /* the running result (at_start) */
	uint64_t analysed_until;
	int64_t offset_ns; /* clock offset of the chunk being analysed (native spans) */
	struct out *outs;
	size_t n_out, cap_out;
	struct ct_nbatch *native; /* native spans of this round */
	uint32_t *native_res; /* pid per resource of native */
	struct sblk *s_first, *s_cur; /* scratch blocks (see scratch_alloc), the one in use */
	size_t s_used; /* bytes used of s_cur */
	/* The last process-wide attribution text (in the scratch; NULL after a rewind): the
	 * spans of one process share it. */
	const char *attr_text;
	size_t attr_len;
	int32_t attr_pid;
	/* crosstrace.incomplete texts by bit mask, made at first use: spans mostly share one. */
	struct inc_text inc[1 << INC_BITS];
};

/* ---- output list ---- */

static void add_out(struct ct_annotator *a, struct ct_nbatch *b, uint32_t idx,
		    struct ct_feed_span *sp)
{
	if (a->n_out == a->cap_out) {
		size_t cap = a->cap_out ? a->cap_out * 2 : 1024;
		struct out *n = realloc(a->outs, cap * sizeof(*n));

		if (!n) {
			/* Cannot even list it: release a received span (counted as refused). */
			if (sp)
				ct_feed_release(a->o.feed, &sp, 1);
			a->st.export_refused++;
			return;
		}
		a->outs = n;
		a->cap_out = cap;
	}
	a->outs[a->n_out++] = (struct out){b, idx, sp};
}

static int cmp_out(const void *x, const void *y)
{
	const struct out *a = x, *b = y;

	if (a->b != b->b)
		return (uintptr_t)a->b < (uintptr_t)b->b ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static inline int out_less(const struct out *a, const struct out *b)
{
	if (a->b != b->b)
		return (uintptr_t)a->b < (uintptr_t)b->b;
	return a->idx < b->idx;
}

CT_MSORT_DEFINE(out_sort, struct out, out_less)

static void scratch_rewind(struct ct_annotator *a);

/* Submits everything listed, one exporter call per batch, then releases received spans. */
static void flush_out(struct ct_annotator *a)
{
	struct out *tmp;
	uint32_t *idx = NULL;
	size_t i = 0;

	if (!a->n_out)
		return; /* the scratch keeps its blocks for the next round with spans */
	tmp = malloc((a->n_out / 2 + 1) * sizeof(*tmp));
	if (tmp)
		out_sort(a->outs, tmp, a->n_out);
	else
		qsort(a->outs, a->n_out, sizeof(*a->outs), cmp_out);
	free(tmp);
	idx = malloc(a->n_out * sizeof(*idx));
	while (i < a->n_out) {
		struct ct_nbatch *b = a->outs[i].b;
		size_t j = i;
		uint32_t n = 0;

		while (j < a->n_out && a->outs[j].b == b) {
			if (idx)
				idx[n++] = a->outs[j].idx;
			j++;
		}
		if (idx && n) {
			int e = 0;

			if (a->o.exporter)
				e = ct_otlp_exporter_submit(a->o.exporter, b, idx, n);
			if (e == CT_EFULL)
				a->st.export_refused += n;
			else
				a->st.submitted += n;
			if (a->o.exported)
				a->o.exported(a->o.arg, b, idx, n);
		}
		/* Released together: one lock of the feed per batch (receivers take it too). */
		{
			struct ct_feed_span *rel[256];
			size_t nr = 0;

			for (size_t k = i; k < j; k++) {
				if (!a->outs[k].sp)
					continue;
				rel[nr++] = a->outs[k].sp;
				if (nr == sizeof(rel) / sizeof(rel[0])) {
					ct_feed_release(a->o.feed, rel, nr);
					nr = 0;
				}
			}
			if (nr)
				ct_feed_release(a->o.feed, rel, nr);
		}
		i = j;
	}
	free(idx);
	a->n_out = 0;
	if (a->native) {
		ct_nbatch_free(a->native);
		a->native = NULL;
		free(a->native_res);
		a->native_res = NULL;
	}
	scratch_rewind(a);
}

/* ---- annotation attributes ---- */

static const char *inc_name(unsigned bit)
{
	static const char *const names[] = {"lost-events",    "missing-chunk", "unknown-events",
					    "no-kernel-data", "not-ended",     "no-start",
					    "process-wide",   "too-long",      "read-errors"};

	return bit < INC_BITS ? names[bit] : "?";
}

/*
 * The crosstrace.incomplete text of a mask of reasons ("lost-events,process-wide"), made once
 * per mask and kept until a is freed; NULL: no memory.
 */
static const struct inc_text *incomplete_text(struct ct_annotator *a, uint32_t incomplete)
{
	struct inc_text *x = &a->inc[incomplete & ((1u << INC_BITS) - 1)];
	char buf[TEXT_MAX];
	struct ct_anntext w;

	if (x->s)
		return x;
	ct_anntext_init(&w, buf, sizeof(buf));
	for (unsigned bit = 0; bit < INC_BITS; bit++)
		if (incomplete & (1u << bit)) {
			if (w.p != buf)
				ct_anntext_put(&w, ",", 1);
			ct_anntext_str(&w, inc_name(bit));
		}
	x->len = ct_anntext_end(&w);
	x->s = malloc(x->len + 1);
	if (!x->s)
		return NULL;
	memcpy(x->s, buf, x->len + 1);
	return x;
}

static void id_bytes(uint8_t *out, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* A stable id for a syscall child span (never 0), as the file export makes it. */
static uint64_t child_id(uint64_t parent, uint64_t entry, int32_t tid, uint16_t nr)
{
	uint64_t z =
		parent ^ (entry * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)(uint32_t)tid << 32) ^ nr;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return z ? z : 1;
}

static uint64_t to_wall(uint64_t mono, int64_t offset)
{
	return (uint64_t)((int64_t)mono + offset);
}

/* Syscall time of the span by call name, most time first: "read 3x 45us, openat 1x 12us". */
static size_t syscall_summary(const struct ct_partial *p, const struct ct_an_span *v, char *out,
			      size_t size)
{
	struct {
		char name[24];
		uint8_t len;
		uint64_t count, ns;
	} agg[16];
	unsigned n = 0;
	struct ct_anntext w;

	for (uint32_t i = 0; i < v->n_sums; i++) {
		struct ct_an_sum s;
		char nb[24];
		unsigned k;

		if (ct_an_span_sum(p, v, i, &s, nb, sizeof(nb)))
			continue;
		for (k = 0; k < n && strcmp(agg[k].name, s.name); k++)
			;
		if (k == n) {
			size_t len = strnlen(s.name, sizeof(agg[n].name) - 1);

			if (n == 16)
				continue;
			memcpy(agg[n].name, s.name, len);
			agg[n].name[len] = 0;
			agg[n].len = (uint8_t)len;
			agg[n].count = agg[n].ns = 0;
			n++;
		}
		agg[k].count += s.count;
		agg[k].ns += s.ns;
	}
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && agg[j - 1].ns < agg[j].ns; j--) {
			__typeof__(agg[0]) t = agg[j];

			agg[j] = agg[j - 1];
			agg[j - 1] = t;
		}
	ct_anntext_init(&w, out, size);
	for (unsigned i = 0; i < n && i < 8; i++) {
		if (i)
			ct_anntext_put(&w, ", ", 2);
		ct_anntext_put(&w, agg[i].name, agg[i].len);
		ct_anntext_put(&w, " ", 1);
		ct_anntext_u64(&w, agg[i].count);
		ct_anntext_put(&w, "x ", 2);
		ct_anntext_u64(&w, agg[i].ns / 1000);
		ct_anntext_put(&w, "us", 2);
	}
	return ct_anntext_end(&w);
}

/* ---- the annotator's scratch memory ---- */

/*
 * Annotation attributes (the span's attribute array grown, and the texts) are needed only
 * until the span is exported: the exporter encodes at submit, and an exported span is never
 * read again (it is released at once). So they live in scratch blocks reused every round
 * instead of growing each batch's arena (a malloc and fresh pages per few spans, held as
 * long as the batch). flush_out rewinds the scratch after the spans went out.
 */
#define SCRATCH_BLOCK 65536

struct sblk {
	struct sblk *next;
	size_t cap;
	_Alignas(8) unsigned char data[];
};

/* n bytes (aligned to 8, not zeroed) valid until the next scratch_rewind; NULL: no memory. */
static void *scratch_alloc(struct ct_annotator *a, size_t n)
{
	void *p;

	n = (n + 7) & ~(size_t)7;
	while (!a->s_cur || a->s_cur->cap - a->s_used < n) {
		struct sblk *b = a->s_cur ? a->s_cur->next : a->s_first;

		if (!b || b->cap < n) {
			size_t cap = n > SCRATCH_BLOCK ? n : SCRATCH_BLOCK;

			b = malloc(sizeof(*b) + cap);
			if (!b)
				return NULL;
			b->cap = cap;
			if (a->s_cur) {
				b->next = a->s_cur->next;
				a->s_cur->next = b;
			} else {
				b->next = a->s_first;
				a->s_first = b;
			}
		}
		a->s_cur = b;
		a->s_used = 0;
	}
	p = a->s_cur->data + a->s_used;
	a->s_used += n;
	return p;
}

/*
 * Room for a text of at most size bytes (its NUL included) at the end of the scratch, to be
 * written there and kept by text_keep (texts were written on the stack and copied in); NULL:
 * no memory. Nothing else may take scratch memory in between.
 */
static char *text_room(struct ct_annotator *a, size_t size)
{
	char *p = scratch_alloc(a, size);

	if (p)
		a->s_used -= (size + 7) & ~(size_t)7; /* text_keep keeps what was written */
	return p;
}

/*
 * Everything allocated is given back. The blocks this round used are kept for the next (a
 * steady load needs as many each round: no malloc, no fresh pages); those it did not use are
 * freed, so the scratch shrinks with the load.
 */
static void scratch_rewind(struct ct_annotator *a)
{
	struct sblk **pp = a->s_cur ? &a->s_cur->next : &a->s_first;

	while (*pp) {
		struct sblk *b = *pp;

		*pp = b->next;
		free(b);
	}
	a->s_cur = NULL;
	a->s_used = 0;
	a->attr_text = NULL;
}

static void scratch_free(struct ct_annotator *a)
{
	while (a->s_first) {
		struct sblk *b = a->s_first;

		a->s_first = b->next;
		free(b);
	}
	a->s_cur = NULL;
}

/* Appends to an attribute list with room reserved (attrs_room): key literal, value set. */
static void attr_int(struct ct_nattrs *l, const char *key, int64_t v)
{
	struct ct_nattr *x = &l->v[l->n++];

	x->key = key;
	x->v.type = CT_NVAL_INT;
	x->v.len = 0;
	x->v.i = v;
}

/* s must live until the span is exported (a literal, or the scratch). */
static void attr_str(struct ct_nattrs *l, const char *key, const char *s, size_t len)
{
	struct ct_nattr *x = &l->v[l->n++];

	x->key = key;
	x->v.type = CT_NVAL_STR;
	x->v.len = (uint32_t)len;
	x->v.s = s;
}

#define ATTR_LIT(l, key, lit) attr_str(l, key, lit, sizeof(lit) - 1)

/* Keeps the text of len bytes written at t = text_room(a, ...) (returns t). */
static const char *text_keep(struct ct_annotator *a, const char *t, size_t len)
{
	a->s_used += (len + 1 + 7) & ~(size_t)7;
	return t;
}

/* Moves l's array into the scratch with room for n more. Returns 0 or -ENOMEM. */
static int attrs_room(struct ct_annotator *a, struct ct_nattrs *l, uint32_t n)
{
	struct ct_nattr *v = scratch_alloc(a, (size_t)(l->n + n) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	if (l->n)
		memcpy(v, l->v, l->n * sizeof(*v));
	l->v = v;
	l->cap = l->n + n;
	return 0;
}

/* Annotation attributes with literal keys (no copy) and a value. */
static void kint(struct ct_nbatch *b, struct ct_nspan *s, const char *key, int64_t v)
{
	struct ct_nval *x = ct_nattrs_add_static(b, &s->attrs, key);

	if (x) {
		x->type = CT_NVAL_INT;
		x->i = v;
	}
}

static void kstr(struct ct_nbatch *b, struct ct_nspan *s, const char *key, const char *v)
{
	struct ct_nval *x = ct_nattrs_add_static(b, &s->attrs, key);

	if (x)
		ct_nval_set_bytes(b, x, CT_NVAL_STR, v, strlen(v));
}

/* crosstrace.time.<category>_ns, per ct_cat. */
static const char *const time_keys[CT_CAT_N] = {
	"crosstrace.time.cpu_user_ns",	    "crosstrace.time.cpu_kernel_ns",
	"crosstrace.time.runnable_ns",	    "crosstrace.time.blocked_io_ns",
	"crosstrace.time.blocked_lock_ns",  "crosstrace.time.blocked_network_ns",
	"crosstrace.time.blocked_sleep_ns", "crosstrace.time.blocked_other_ns",
	"crosstrace.time.unknown_ns",	    "crosstrace.time.inactive_ns",
	"crosstrace.time.children_ns",
};

static const char *const cause_keys[3] = {"crosstrace.cause.1", "crosstrace.cause.2",
					  "crosstrace.cause.3"};

/*
 * Adds the annotation of settled span v to span si of b; with detail, its syscalls as child
 * spans (wall-clock times through offset, the one its own times were converted with). The
 * breakdown lists the categories that are not zero (they sum to the duration).
 */
static void annotate(struct ct_annotator *a, const struct ct_partial *p, const struct ct_an_span *v,
		     struct ct_nbatch *b, uint32_t si, uint64_t uncertainty, int64_t offset)
{
	uint64_t d = v->end_ns - v->start_ns;
	struct ct_nspan *s = &b->spans[si];
	struct ct_nattrs *l = &s->attrs;
	char text[600], *t;
	size_t len;
	uint32_t room = 9; /* annotation, attribution, uncertainty, own, syscalls, note,
			      incomplete, critical path (2) */
	int detail;

	for (unsigned c = 0; c < CT_CAT_N; c++)
		room += v->cat[c] != 0;
	room += v->n_causes < 3 ? v->n_causes : 3;
	room += 1; /* syscalls_omitted */
	if (attrs_room(a, l, room))
		return;
	ATTR_LIT(l, "crosstrace.annotation", "kernel");
	if (v->tid > 0) {
		ATTR_LIT(l, "crosstrace.attribution", "thread");
	} else {
		if (!a->attr_text || a->attr_pid != v->pid) {
			a->attr_text = t = text_room(a, TEXT_MAX);
			if (t) {
				a->attr_len = ct_anntext_attribution(t, TEXT_MAX, (int)v->pid);
				text_keep(a, t, a->attr_len);
			}
			a->attr_pid = v->pid;
		}
		if (a->attr_text)
			attr_str(l, "crosstrace.attribution", a->attr_text, a->attr_len);
	}
	attr_int(l, "crosstrace.time_uncertainty_ns", (int64_t)uncertainty);
	for (unsigned c = 0; c < CT_CAT_N; c++)
		if (v->cat[c])
			attr_int(l, time_keys[c], (int64_t)v->cat[c]);
	attr_int(l, "crosstrace.own_ns", (int64_t)(d - v->cat[CT_CAT_CHILDREN]));
	for (uint32_t i = 0; i < v->n_causes && i < 3; i++) {
		struct ct_an_cause c;

		if (ct_an_span_cause(p, v, i, &c, text, sizeof(text)))
			break;
		if (!(t = text_room(a, TEXT_MAX)))
			continue; /* dropped without memory: the rest still goes */
		len = ct_anntext_cause(t, TEXT_MAX, d ? (unsigned)(c.ns * 100 / d) : 0,
				       ct_cat_name(c.cat), c.text);
		attr_str(l, cause_keys[i], text_keep(a, t, len), len);
	}
	if ((t = text_room(a, TEXT_MAX)) && (len = syscall_summary(p, v, t, TEXT_MAX)))
		attr_str(l, "crosstrace.syscalls", text_keep(a, t, len), len);
	if (v->cat[CT_CAT_INACTIVE] == d && d && v->tid <= 0 && !v->n_sums &&
	    (t = text_room(a, TEXT_MAX))) {
		len = ct_anntext_note(t, TEXT_MAX, (int)v->pid);
		attr_str(l, "crosstrace.note", text_keep(a, t, len), len);
	}
	if (v->incomplete) {
		const struct inc_text *x = incomplete_text(a, v->incomplete);

		if (x)
			attr_str(l, "crosstrace.incomplete", x->s, x->len);
	}
	if (v->root && v->cp_segments) {
		attr_int(l, "crosstrace.critical_path.own_process_ns",
			 (int64_t)v->cp_own_process_ns);
		attr_int(l, "crosstrace.critical_path.segments", v->cp_segments);
	}
	detail = v->detailed && (a->o.detail_all || (a->o.threshold_ns && d >= a->o.threshold_ns));
	if (!detail)
		return;
	if (v->syscalls_omitted)
		attr_int(l, "crosstrace.syscalls_omitted", v->syscalls_omitted);
	for (uint32_t i = 0; i < v->n_syscalls && i < MAX_CHILD_SPANS; i++) {
		struct ct_an_syscall sc;
		struct ct_nspan *c;
		char nb[24], args[160];
		uint64_t end;

		if (ct_an_span_syscall(p, v, i, &sc, nb, sizeof(nb)))
			break;
		/* Adding a span may move the array: take the parent again afterwards. */
		c = ct_nbatch_add_span(b, b->spans[si].resource, b->spans[si].scope);
		if (!c)
			break;
		s = &b->spans[si];
		memcpy(c->trace_id, s->trace_id, 16);
		memcpy(c->parent_id, s->span_id, 8);
		id_bytes(c->span_id, child_id(v->id, sc.entry_ns, sc.tid, sc.nr));
		c->flags = s->flags & 0xff;
		snprintf(args, sizeof(args), "syscall %s", sc.name);
		c->name = ct_arena_strndup(&b->arena, args, strlen(args));
		if (!c->name)
			c->name = "syscall";
		c->kind = CT_NKIND_INTERNAL;
		end = sc.exit_ns == UINT64_MAX ? v->end_ns : sc.exit_ns;
		c->start_ns = to_wall(sc.entry_ns, offset);
		c->end_ns = to_wall(end < sc.entry_ns ? sc.entry_ns : end, offset);
		c->time_resolution_ns = s->time_resolution_ns;
		kstr(b, c, "crosstrace.syscall.name", sc.name);
		snprintf(args, sizeof(args), "0x%llx,0x%llx,0x%llx,0x%llx,0x%llx,0x%llx",
			 (unsigned long long)sc.args[0], (unsigned long long)sc.args[1],
			 (unsigned long long)sc.args[2], (unsigned long long)sc.args[3],
			 (unsigned long long)sc.args[4], (unsigned long long)sc.args[5]);
		kstr(b, c, "crosstrace.syscall.args", args);
		if (sc.fd >= 0)
			kint(b, c, "crosstrace.syscall.fd", sc.fd);
		if (sc.target[0])
			kstr(b, c, "crosstrace.syscall.target", sc.target);
		if (sc.exit_ns != UINT64_MAX) {
			kint(b, c, "crosstrace.syscall.ret", sc.ret);
			if (sc.ret < 0 && sc.ret > -4096)
				kint(b, c, "crosstrace.syscall.errno", -sc.ret);
		}
		kint(b, c, "thread.id", sc.tid);
		kstr(b, c, "crosstrace.annotation", "syscall");
		a->st.syscall_spans++;
		add_out(a, b, b->n_spans - 1, NULL);
	}
}

static const char *reason_text(unsigned r)
{
	switch (r) {
	case CT_FEED_LATE:
		return "none: the span arrived after the kernel data of its time was analysed "
		       "(raise span-delay)";
	case CT_FEED_NO_PID:
		return "none: no process id (no process.pid resource attribute, and the sender "
		       "is not a local TCP peer)";
	case CT_FEED_UNSETTLED:
		return "none: the analysis gave no result for this span";
	case CT_FEED_FUTURE:
		return "none: the span's times lie ahead of this host's clock";
	case CT_FEED_SHUTDOWN:
		return "none: the agent stopped before the span's kernel data was complete";
	case CT_FEED_DUPLICATE:
		return "none: a span with the same id was already waiting (a retried request?)";
	default:
		return NULL;
	}
}

/* ---- native client spans ---- */

static uint32_t native_resource(struct ct_annotator *a, const struct ct_partial *p, int32_t pid)
{
	struct ct_nbatch *b = a->native;
	const char *service, *sdk, *host;
	struct ct_nresource *r;
	char buf[64];
	uint32_t *res;

	for (uint32_t i = 0; i < b->n_resources; i++)
		if (a->native_res[i] == (uint32_t)pid)
			return i;
	res = realloc(a->native_res, (b->n_resources + 1) * sizeof(*res));
	if (!res)
		return UINT32_MAX;
	a->native_res = res;
	r = ct_nbatch_add_resource(b);
	if (!r)
		return UINT32_MAX;
	res[b->n_resources - 1] = (uint32_t)pid;
	ct_an_process(p, pid, &service, &sdk, &host, buf, sizeof(buf));
	ct_nattrs_add_str(b, &r->attrs, "service.name", service);
	ct_nattrs_add_int(b, &r->attrs, "process.pid", pid);
	if (host[0])
		ct_nattrs_add_str(b, &r->attrs, "host.name", host);
	if (sdk[0])
		ct_nattrs_add_str(b, &r->attrs, "telemetry.sdk.name", sdk);
	ct_nresource_derive(r);
	return b->n_resources - 1;
}

static void add_attr(struct ct_nbatch *b, struct ct_nattrs *to, const struct ct_an_attr *at)
{
	switch (at->type) {
	case 1:
		ct_nattrs_add_str(b, to, at->key, at->s);
		break;
	case 2:
		ct_nattrs_add_int(b, to, at->key, at->i);
		break;
	case 3:
		ct_nattrs_add_double(b, to, at->key, at->d);
		break;
	default:
		ct_nattrs_add_bool(b, to, at->key, (int)at->i);
		break;
	}
}

static void native_span(struct ct_annotator *a, const struct ct_partial *p,
			const struct ct_an_span *v)
{
	struct ct_nspan *s;
	uint32_t res, si;

	if (!a->native && ct_nbatch_new(&a->native, "crosstrace"))
		return;
	if (!a->native->n_scopes) {
		struct ct_nscope *sc = ct_nbatch_add_scope(a->native);

		if (!sc)
			return;
		sc->name = "crosstrace";
	}
	res = native_resource(a, p, v->pid);
	if (res == UINT32_MAX)
		return;
	s = ct_nbatch_add_span(a->native, res, 0);
	if (!s)
		return;
	si = a->native->n_spans - 1;
	id_bytes(s->trace_id, v->trace_hi);
	id_bytes(s->trace_id + 8, v->trace_lo);
	id_bytes(s->span_id, v->id);
	id_bytes(s->parent_id, v->parent);
	s->flags = 1; /* sampled */
	s->name = ct_arena_strndup(&a->native->arena, v->name, strlen(v->name));
	if (!s->name)
		s->name = "";
	s->kind = v->kind <= 5 ? v->kind : 0;
	s->status = v->status <= 2 ? v->status : 0;
	s->status_message =
		ct_arena_strndup(&a->native->arena, v->status_message, strlen(v->status_message));
	if (!s->status_message)
		s->status_message = "";
	s->start_ns = to_wall(v->start_ns, a->offset_ns);
	s->end_ns = to_wall(v->end_ns, a->offset_ns);
	for (uint32_t i = 0; i < v->n_events; i++) {
		struct ct_an_event e;
		struct ct_nevent *ne = ct_nspan_add_event(a->native, &a->native->spans[si]);

		if (ct_an_span_event(v, i, &e) || !ne)
			break;
		ne->time_ns = to_wall(e.time_ns, a->offset_ns);
		ne->name = ct_arena_strndup(&a->native->arena, e.name, strlen(e.name));
		for (uint32_t k = 0; k < v->n_attrs; k++) {
			struct ct_an_attr at;

			if (!ct_an_span_attr(v, k, &at) && at.owner == e.index)
				add_attr(a->native, &ne->attrs, &at);
		}
	}
	for (uint32_t i = 0; i < v->n_links; i++) {
		struct ct_an_link l;
		struct ct_nlink *nl = ct_nspan_add_link(a->native, &a->native->spans[si]);

		if (ct_an_span_link(v, i, &l) || !nl)
			break;
		id_bytes(nl->trace_id, l.trace_hi);
		id_bytes(nl->trace_id + 8, l.trace_lo);
		id_bytes(nl->span_id, l.span);
		nl->trace_state = "";
		nl->flags = l.flags;
		for (uint32_t k = 0; k < v->n_attrs; k++) {
			struct ct_an_attr at;

			if (!ct_an_span_attr(v, k, &at) && at.owner == (0x8000 | l.index))
				add_attr(a->native, &nl->attrs, &at);
		}
	}
	for (uint32_t k = 0; k < v->n_attrs; k++) {
		struct ct_an_attr at;

		if (!ct_an_span_attr(v, k, &at) && at.owner == 0)
			add_attr(a->native, &a->native->spans[si].attrs, &at);
	}
	if (v->tid > 0)
		ct_nattrs_add_int(a->native, &a->native->spans[si].attrs, "thread.id", v->tid);
	annotate(a, p, v, a->native, si, 0, a->offset_ns);
	a->st.native++;
	add_out(a, a->native, si, NULL);
}

/* ---- settled spans ---- */

static void on_settled(void *arg, const struct ct_partial *p, const struct ct_an_span *v)
{
	struct ct_annotator *a = arg;
	struct ct_feed_span *sp = ct_feed_claim(a->o.feed, v->trace_lo, v->id, v->pid);
	const char *service, *sdk, *host;
	char buf[64];

	if (sp) {
		annotate(a, p, v, sp->b, sp->idx, sp->uncertainty_ns, sp->offset_ns);
		a->st.annotated++;
		add_out(a, sp->b, sp->idx, sp);
		return;
	}
	/* Not a received span: a native client's (its process said who it is). */
	ct_an_process(p, v->pid, &service, &sdk, &host, buf, sizeof(buf));
	if (strncmp(sdk, "crosstrace", 10))
		return;
	if (a->o.slow_native && a->o.threshold_ns && v->end_ns - v->start_ns >= a->o.threshold_ns)
		a->o.slow_native(a->o.arg, v->start_ns, v->end_ns, v->trace_hi, v->trace_lo, v->id,
				 v->pid, v->name);
	native_span(a, p, v);
}

/* Spans the feed hands back without annotation. */
static void take_ready(struct ct_annotator *a, uint64_t expire_before)
{
	struct ct_feed_span *v[512];
	size_t n;

	while ((n = ct_feed_take_ready(a->o.feed, expire_before, v, 512)) > 0) {
		for (size_t i = 0; i < n; i++) {
			const char *why = reason_text(v[i]->reason);
			struct ct_nattrs *l = &v[i]->b->spans[v[i]->idx].attrs;

			if (why && !attrs_room(a, l, 1))
				attr_str(l, "crosstrace.annotation", why, strlen(why));
			a->st.unannotated++;
			add_out(a, v[i]->b, v[i]->idx, v[i]);
		}
		if (n < 512)
			break;
	}
}

/* ---- chunks ---- */

/* CROSSTRACE_AGENT_DEBUG: a received span's event as fed to the analysis. */
static void log_feed_event(const struct ct_event *e)
{
	ct_agent_log("annotator:   %s pid %d tid %d at %" PRIu64 " span %016" PRIx64,
		     ct_ev_name(e->type), (int)e->pid, (int)e->tid, e->ts,
		     e->type == CT_EV_SPAN_START    ? e->u.span_start.span_id
		     : e->type == CT_EV_SPAN_END    ? e->u.span_end.span_id
		     : e->type == CT_EV_SCOPE_ENTER ? e->u.scope_enter.span_id
						    : e->u.scope_exit.span_id);
}

static void read_error(void *arg, int code, const char *msg)
{
	(void)arg;
	(void)code;
	ct_agent_log("annotator: %s", msg);
}

/* A pinned chunk holds only files (metadata and streams): links to drop. */
static void remove_dir(const char *dir)
{
	DIR *d;
	struct dirent *e;
	char p[PATH_MAX + 256];

	if (!dir[0] || !(d = opendir(dir)))
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
}

static uint64_t analyse(struct ct_annotator *a, const struct qchunk *c)
{
	struct ct_partial *p = NULL;
	struct ct_chunk_reader *r = NULL;
	struct ct_event ev;
	char err[600];
	uint64_t n = 0, nf = 0, dropped;
	unsigned foreign = UINT_MAX;
	int first = !a->run;

	/* The feed's events of the chunk's time are taken one by one during the merge below
	 * (no copy of them all: that array was written and read back once per event). */
	ct_feed_take_begin(a->o.feed, c->end);
	if (c->dir[0] && ct_chunk_reader_open(&r, c->dir, read_error, a, err, sizeof(err))) {
		ct_agent_log("annotator: chunk %u cannot be read (%s): its time counts as missing",
			     c->index, err);
		r = NULL;
	}
	if (!r && !first) {
		/* A gap: thread states unknown across it; the feed's spans still count. */
		if (!ct_partial_new_gap(&p, &a->cfg, c->begin, c->end, 0))
			ct_partial_reduce(a->run, p);
		p = NULL;
		a->st.chunks_missing++;
	}
	if (r) {
		for (unsigned i = 0; i < ct_chunk_reader_stream_count(r); i++)
			if (!strcmp(ct_chunk_reader_stream_name(r, i), "foreign"))
				foreign = i;
		a->offset_ns = ct_chunk_reader_clock_offset(r);
	}
	/*
	 * Chunks come in order, so each is fed straight into the running result: that is the
	 * map of a chunk and its reduce in one (the engine gives the same result either way,
	 * docs/internals/analysis.md), without stitching soft bounds that cannot exist here --
	 * replaying process-wide scope changes across a stitch is what such a reduce would cost.
	 */
	if (first && ct_partial_new(&a->run, &a->cfg, c->begin, 1)) {
		ct_agent_log("annotator: out of memory: chunk %u not analysed", c->index);
		ct_feed_take_end(a->o.feed);
		ct_chunk_reader_close(r);
		return 0;
	}
	p = a->run;
	{
		int more = r ? ct_chunk_reader_next(r, &ev) > 0 : 0;
		const struct ct_event *fev = ct_feed_take_next(a->o.feed);

		/* Merge: chunk events and the feed's, by time (the feed's after at equal times:
		 * a span's scope follows kernel events of the same instant). */
		while (more || fev) {
			if (more && (!fev || ev.ts <= fev->ts)) {
				if (ev.stream != foreign) {
					ct_partial_feed(p, &ev);
					n++;
				}
				more = ct_chunk_reader_next(r, &ev) > 0;
			} else {
				if (a->debug)
					log_feed_event(fev);
				ct_partial_feed(p, fev);
				n++;
				nf++;
				fev = ct_feed_take_next(a->o.feed);
			}
		}
		if (r && ct_chunk_reader_errors(r))
			ct_partial_loss(p, c->begin, c->end, "read-errors");
		if (r && ct_chunk_reader_discarded(r))
			ct_partial_loss(p, c->begin, c->end, "lost-events");
	}
	if (r) {
		ct_chunk_reader_close(r);
		a->st.chunks_analysed++;
	}
	/* Before settled spans are claimed: the feed's ended spans become claimable. */
	dropped = ct_feed_take_end(a->o.feed);
	ct_partial_advance(a->run, c->end);
	{
		unsigned taken = ct_partial_take_spans(a->run, on_settled, a);

		if (a->debug) {
			struct ct_result_stats rs;

			ct_result_stats(a->run, &rs);
			ct_agent_log("annotator: chunk %u [%" PRIu64 ", %" PRIu64 "): %" PRIu64
				     " events (%" PRIu64 " from received spans), %u spans settled, "
				     "anomalies so far %" PRIu64,
				     c->index, c->begin, c->end, n, nf, taken, rs.anomalies);
		}
	}
	a->analysed_until = c->end;
	if (dropped)
		ct_agent_log("annotator: out of memory for %" PRIu64
			     " events of received spans in chunk %u",
			     dropped, c->index);
	return n;
}

/* Called with mu held. */
static void publish(struct ct_annotator *a)
{
	if (a->run) {
		struct ct_result_stats rs;

		ct_result_stats(a->run, &rs);
		a->st.anomalies = rs.anomalies;
		a->st.oom = rs.oom;
	}
	a->st.analysed_until = a->analysed_until;
	a->pub = a->st;
}

static void *thread_main(void *arg)
{
	struct ct_annotator *a = arg;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		struct qchunk c;
		int have = 0, finishing = a->finishing;
		uint64_t now = ct_mono_ns();

		if (a->q_n) {
			const struct qchunk *h = &a->q[a->q_head];

			if (finishing || now >= h->end + a->o.span_delay_ns) {
				c = *h;
				a->q_head++;
				a->q_n--;
				have = 1;
			}
		}
		if (!have && finishing)
			break;
		pthread_mutex_unlock(&a->mu);
		if (have) {
			a->st.events += analyse(a, &c);
			remove_dir(c.dir);
		}
		/* Unannotated spans go out at once; waiting ones once their time is analysed
		 * (or, without kernel capture, never: they are all handed back at arrival). */
		take_ready(a, a->analysed_until > EXPIRE_MARGIN_NS
				      ? a->analysed_until - EXPIRE_MARGIN_NS
				      : 0);
		flush_out(a);
		pthread_mutex_lock(&a->mu);
		publish(a);
		if (!have && !a->finishing) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 50 * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&a->cv, &a->mu, &ts);
		}
	}
	pthread_mutex_unlock(&a->mu);
	/* Finishing: what is still open is closed at the last event, then everything left goes
	 * out without annotation. */
	if (a->run) {
		ct_partial_finish(a->run);
		ct_partial_take_spans(a->run, on_settled, a);
	}
	take_ready(a, UINT64_MAX);
	flush_out(a);
	pthread_mutex_lock(&a->mu);
	publish(a);
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

int ct_annotator_new(struct ct_annotator **out, const struct ct_annotator_opts *o)
{
	struct ct_annotator *a = calloc(1, sizeof(*a));
	int e;

	if (!a)
		return -ENOMEM;
	a->o = *o;
	a->debug = getenv("CROSSTRACE_AGENT_DEBUG") != NULL;
	a->cfg.keep_spans = 1;
	a->cfg.threshold_ns = o->threshold_ns;
	a->cfg.detail_all = o->detail_all;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	e = pthread_create(&a->th, NULL, thread_main, a);
	if (e) {
		pthread_mutex_destroy(&a->mu);
		pthread_cond_destroy(&a->cv);
		free(a);
		return -e;
	}
	a->started = 1;
	*out = a;
	return 0;
}

void ct_annotator_chunk(struct ct_annotator *a, unsigned index, uint64_t begin_ns, uint64_t end_ns,
			const char *dir)
{
	pthread_mutex_lock(&a->mu);
	if (a->q_head && a->q_head == a->q_cap - a->q_n) {
		memmove(a->q, a->q + a->q_head, a->q_n * sizeof(*a->q));
		a->q_head = 0;
	}
	if (a->q_head + a->q_n == a->q_cap) {
		size_t cap = a->q_cap ? a->q_cap * 2 : 16;
		struct qchunk *n = realloc(a->q, cap * sizeof(*n));

		if (!n) {
			pthread_mutex_unlock(&a->mu);
			ct_agent_log("annotator: out of memory: chunk %u not analysed", index);
			return;
		}
		a->q = n;
		a->q_cap = cap;
	}
	a->q[a->q_head + a->q_n] =
		(struct qchunk){.index = index, .begin = begin_ns, .end = end_ns};
	snprintf(a->q[a->q_head + a->q_n].dir, PATH_MAX, "%s", dir ? dir : "");
	a->q_n++;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

void ct_annotator_stats(struct ct_annotator *a, struct ct_annotator_stats *st)
{
	pthread_mutex_lock(&a->mu);
	*st = a->pub;
	pthread_mutex_unlock(&a->mu);
	{
		uint64_t now = ct_mono_ns();

		st->lag_ns = st->analysed_until && now > st->analysed_until
				     ? now - st->analysed_until
				     : 0;
	}
}

void ct_annotator_finish(struct ct_annotator *a)
{
	if (!a->started)
		return;
	pthread_mutex_lock(&a->mu);
	a->finishing = 1;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->th, NULL);
	a->started = 0;
}

void ct_annotator_free(struct ct_annotator *a)
{
	if (!a)
		return;
	ct_annotator_finish(a);
	ct_partial_free(a->run);
	free(a->outs);
	scratch_free(a);
	for (unsigned i = 0; i < 1u << INC_BITS; i++)
		free(a->inc[i].s);
	ct_nbatch_free(a->native);
	free(a->native_res);
	free(a->q);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a);
}
