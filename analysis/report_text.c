// SPDX-License-Identifier: MIT
/*
 * Terminal renderings of a result: the report (slowest requests with their causes and the
 * per-operation table), a trace's waterfall (spans, their syscalls, the critical path
 * marked) and a critical path listing. Pure: writes into a buffer.
 */
#include <stdio.h>
#include <string.h>

#include "model.h"

static void dur(uint64_t ns, char *buf, size_t size)
{
	if (ns < 1000)
		snprintf(buf, size, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, size, "%.1fus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, size, "%.1fms", (double)ns / 1e6);
	else
		snprintf(buf, size, "%.2fs", (double)ns / 1e9);
}

static unsigned pct(uint64_t part, uint64_t whole)
{
	return whole ? (unsigned)((part * 100 + whole / 2) / whole) : 0;
}

/* "62% blocked in fsync(/data/orders.db)" for a span's first cause. */
static void top_cause(const struct ct_partial *p, const struct fspan *f, char *buf, size_t size)
{
	uint64_t d = f->end - f->start;
	char who[96], lb[600];

	if (!f->causes.n || f->cat[CT_CAT_CHILDREN] > f->causes.v[0].ns) {
		/* Its own time is small: what it waited for is in its children. */
		if (f->cat[CT_CAT_CHILDREN] * 2 > d)
			snprintf(buf, size, "%u%% in child spans", pct(f->cat[CT_CAT_CHILDREN], d));
		else
			snprintf(buf, size, "-");
		return;
	}
	snprintf(buf, size, "%u%% %s", pct(f->causes.v[0].ns, d),
		 lbl(p, f->causes.v[0].text, lb, sizeof(lb)));
	if (f->causes.v[0].by > 0 && f->causes.v[0].cat != CT_CAT_RUNNABLE) {
		task_label(p, f->causes.v[0].by, who, sizeof(who));
		snprintf(buf + strlen(buf), size - strlen(buf), " (woken by %s)", who);
	}
}

static void cp_summary(const struct ct_partial *p, const struct fspan *f, struct ct_buf *out)
{
	struct {
		char name[64];
		uint64_t ns;
	} svc[8], st[CT_CAT_N];
	unsigned n_svc = 0;
	uint64_t total = f->end - f->start;
	char buf[64];

	if (!f->cp) {
		ct_buf_puts(out, "no critical path");
		return;
	}
	memset(st, 0, sizeof(st));
	for (uint32_t i = 0; i < f->cp->seg.n; i++) {
		const struct critseg *s = &f->cp->seg.v[i];
		const char *name = service_of(p, s->pid, buf, sizeof(buf));
		unsigned k;

		for (k = 0; k < n_svc && strcmp(svc[k].name, name); k++)
			;
		if (k == n_svc && n_svc < 8) {
			snprintf(svc[k].name, sizeof(svc[k].name), "%s", name);
			svc[k].ns = 0;
			n_svc++;
		}
		if (k < n_svc)
			svc[k].ns += s->dur;
		st[s->cat].ns += s->dur;
	}
	/* Largest first (selection: tiny lists). */
	ct_buf_puts(out, "critical path:");
	for (unsigned shown = 0; shown < n_svc && shown < 4; shown++) {
		unsigned best = 0;

		for (unsigned k = 1; k < n_svc; k++)
			if (svc[k].ns > svc[best].ns)
				best = k;
		ct_buf_printf(out, " %s %u%%", svc[best].name, pct(svc[best].ns, total));
		svc[best].ns = 0;
	}
	ct_buf_puts(out, "  |");
	for (unsigned shown = 0; shown < 3; shown++) {
		unsigned best = 0;

		for (unsigned k = 1; k < CT_CAT_N; k++)
			if (st[k].ns > st[best].ns)
				best = k;
		if (!st[best].ns)
			break;
		ct_buf_printf(out, " %s %u%%", ct_cat_name(best), pct(st[best].ns, total));
		st[best].ns = 0;
	}
}

/* What the critical path's time went to, by service and cause (for one line). */
struct cpcause {
	char svc[48];
	char text[400];
	unsigned cat;
	uint64_t ns;
};

static int cmp_cpcause(const void *a, const void *b)
{
	const struct cpcause *x = a, *y = b;
	int c;

	if (x->ns != y->ns)
		return x->ns > y->ns ? -1 : 1;
	c = strcmp(x->svc, y->svc);
	return c ? c : strcmp(x->text, y->text);
}

/* The largest causes on f's critical path; returns how many (at most max), sorted. */
static unsigned cp_causes(const struct ct_partial *p, const struct fspan *f, struct cpcause *out,
			  unsigned max)
{
	struct cpcause *all;
	unsigned n = 0, cap = 64;
	char lb[600];

	if (!f->cp || !f->cp->seg.n)
		return 0;
	all = calloc(cap, sizeof(*all));
	if (!all)
		return 0;
	for (uint32_t i = 0; i < f->cp->seg.n; i++) {
		const struct critseg *s = &f->cp->seg.v[i];
		char svc[48], where[48];
		const char *text = lbl(p, s->detail, lb, sizeof(lb)), *name;
		unsigned k;

		/* Time spent on another request's work (a lock holder, a shared worker) is
		 * said so: it is why this one waited. */
		snprintf(where, sizeof(where), "%s%s", service_of(p, s->pid, svc, sizeof(svc)),
			 s->span && !s->same_trace ? ", another request" : "");
		name = where;
		for (k = 0; k < n; k++)
			if (all[k].cat == s->cat && !strcmp(all[k].svc, name) &&
			    !strcmp(all[k].text, text))
				break;
		if (k == n) {
			if (n == cap) {
				struct cpcause *m = realloc(all, 2 * cap * sizeof(*all));

				if (!m)
					continue;
				all = m;
				cap *= 2;
			}
			memset(&all[n], 0, sizeof(all[n]));
			snprintf(all[n].svc, sizeof(all[n].svc), "%s", name);
			snprintf(all[n].text, sizeof(all[n].text), "%s", text);
			all[n].cat = s->cat;
			n++;
		}
		all[k].ns += s->dur;
	}
	qsort(all, n, sizeof(*all), cmp_cpcause);
	if (n > max)
		n = max;
	memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}

static void cp_cause_line(const struct ct_partial *p, const struct fspan *f, struct ct_buf *out)
{
	struct cpcause top[3];
	unsigned n = cp_causes(p, f, top, 3);
	uint64_t total = f->end - f->start;

	if (!n)
		return;
	ct_buf_puts(out, "    on it:");
	for (unsigned i = 0; i < n; i++) {
		if (i && pct(top[i].ns, total) < 5)
			break;
		ct_buf_printf(out, "%s %u%% %s (%s)", i ? ";" : "", pct(top[i].ns, total),
			      top[i].text, top[i].svc);
	}
	ct_buf_putc(out, '\n');
}

static void line(struct ct_buf *out, unsigned width)
{
	for (unsigned i = 0; i < width; i++)
		ct_buf_putc(out, '-');
	ct_buf_putc(out, '\n');
}

static void header(const struct ct_partial *p, struct ct_buf *out)
{
	uint64_t lost = 0, missing = 0, damaged = 0;
	char d[32];

	for (uint32_t i = 0; i < p->losses.n; i++) {
		lost += p->losses.v[i].what == CT_INC_LOST_EVENTS;
		missing += p->losses.v[i].what == CT_INC_MISSING_CHUNK;
		damaged += p->losses.v[i].what == CT_INC_READ_ERRORS;
	}
	dur(p->last_ts - p->first_ts, d, sizeof(d));
	ct_buf_printf(out, "%llu events over %s: %llu spans, %llu requests\n",
		      (unsigned long long)p->events, d, (unsigned long long)p->n_spans,
		      (unsigned long long)p->n_requests);
	if (lost || missing || damaged || p->unknown_events || p->anomalies || p->oom)
		ct_buf_printf(out,
			      "warning: incomplete data (%llu loss reports, %llu missing chunks, "
			      "%llu damaged, %llu unknown events, %llu inconsistencies%s): "
			      "affected spans are marked '!'\n",
			      (unsigned long long)lost, (unsigned long long)missing,
			      (unsigned long long)damaged, (unsigned long long)p->unknown_events,
			      (unsigned long long)p->anomalies, p->oom ? ", OUT OF MEMORY" : "");
}

void ct_result_text_report(const struct ct_partial *p, struct ct_buf *out, unsigned width)
{
	static const double qs[] = {0.5, 0.9, 0.99};
	uint32_t n_ops = 0;
	struct op **ops;
	char a[32], b[32], c[32], e[32], cause[512], id[33], svc[64], lb[600];

	if (!width)
		width = 100;
	header(p, out);
	ct_buf_puts(out, "\nSlowest requests\n");
	line(out, width);
	if (!p->slow_req.n)
		ct_buf_puts(out, "  (no request: no root span ended in this trace)\n");
	for (uint32_t i = 0; i < p->slow_req.n; i++) {
		const struct fspan *f = p->slow_req.v[i];

		dur(f->end - f->start, a, sizeof(a));
		hex_trace(f->trace_hi, f->trace_lo, id);
		top_cause(p, f, cause, sizeof(cause));
		ct_buf_printf(out, "%2u. %-9s %s %s  trace %s%s\n", i + 1, a,
			      service_of(p, f->pid, svc, sizeof(svc)), f->name ? f->name : "", id,
			      f->incomplete ? " !" : "");
		/* A request that only waited for its children: the critical path says more. */
		if (!strstr(cause, "in child spans"))
			ct_buf_printf(out, "    %s\n", cause);
		ct_buf_puts(out, "    ");
		cp_summary(p, f, out);
		ct_buf_putc(out, '\n');
		cp_cause_line(p, f, out);
	}
	ct_buf_puts(out, "\nOperations\n");
	line(out, width);
	ct_buf_printf(out, "%-14s %-22s %7s %5s %9s %9s %9s %9s  %s\n", "SERVICE", "OPERATION",
		      "COUNT", "ERR", "P50", "P90", "P99", "MAX", "TOP CAUSE");
	ops = ops_grouped(p, &n_ops);
	for (uint32_t i = 0; ops && i < n_ops; i++) {
		const struct op *o = ops[i];
		uint64_t q[3], best = 0;
		const char *bk = NULL;

		ag_quantiles(o, qs, q, 3);
		dur(q[0], a, sizeof(a));
		dur(q[1], b, sizeof(b));
		dur(q[2], c, sizeof(c));
		dur(o->max, e, sizeof(e));
		for (uint32_t j = 0; j < o->causes.n; j++)
			if (o->causes.v[j].ns > best || (o->causes.v[j].ns == best && bk &&
							 strcmp(o->causes.v[j].key, bk) < 0)) {
				best = o->causes.v[j].ns;
				bk = o->causes.v[j].key;
			}
		if (o->cat[CT_CAT_CHILDREN] > best) {
			/* Its own time is small: what it waited for is in the child rows. */
			snprintf(cause, sizeof(cause), "%u%% in child spans",
				 pct(o->cat[CT_CAT_CHILDREN], o->sum));
		} else if (bk) {
			const char *tab = strchr(bk, '\t');

			snprintf(cause, sizeof(cause), "%u%% %s", pct(best, o->sum),
				 lbl(p, tab ? tab + 1 : bk, lb, sizeof(lb)));
		} else {
			snprintf(cause, sizeof(cause), "-");
		}
		ct_buf_printf(out, "%-14.14s %-22.22s %7llu %5llu %9s %9s %9s %9s  %s\n",
			      o->service, o->name, (unsigned long long)o->count,
			      (unsigned long long)o->errors, a, b, c, e, cause);
	}
	ops_free(ops, n_ops);
}

/* The kept spans of trace (hi, lo) in tree order (parent before children, by start). */
static uint32_t trace_spans(const struct ct_partial *p, uint64_t hi, uint64_t lo,
			    const struct fspan **out, unsigned *depth, uint32_t max)
{
	uint32_t n_all = 0, n = 0;
	const struct fspan **all = kept_sorted(p, &n_all);

	/* Depth-first from the spans whose parent is not in the trace. */
	for (int pass = 0; all && pass < 2; pass++) {
		for (uint32_t i = 0; i < n_all && n < max; i++) {
			const struct fspan *f = all[i];
			int has_parent = 0;

			if (f->trace_hi != hi || f->trace_lo != lo)
				continue;
			for (uint32_t j = 0; j < n_all && !has_parent; j++)
				has_parent = all[j]->id == f->parent && all[j]->trace_lo == lo &&
					     all[j]->trace_hi == hi;
			if (has_parent || pass)
				continue;
			/* Iterative DFS with an explicit stack of (span, depth). */
			{
				const struct fspan *stack[256];
				unsigned sd[256], sp = 0;

				stack[sp] = f;
				sd[sp++] = 0;
				while (sp && n < max) {
					const struct fspan *g = stack[--sp];
					unsigned d = sd[sp];

					out[n] = g;
					depth[n++] = d;
					for (uint32_t j = n_all; j-- > 0;)
						if (all[j]->parent == g->id &&
						    all[j]->trace_lo == lo &&
						    all[j]->trace_hi == hi && sp < 256) {
							stack[sp] = all[j];
							sd[sp++] = d + 1;
						}
				}
			}
		}
	}
	free(all);
	return n;
}

static int on_cp(const struct fspan *root, uint64_t span)
{
	for (uint32_t i = 0; root->cp && i < root->cp->seg.n; i++)
		if (root->cp->seg.v[i].span == span)
			return 1;
	return 0;
}

static void bar(struct ct_buf *out, uint64_t t0, uint64_t t1, uint64_t a, uint64_t b, unsigned cols,
		char ch)
{
	uint64_t span = t1 > t0 ? t1 - t0 : 1;
	unsigned from = (unsigned)((a - t0) * cols / span), to = (unsigned)((b - t0) * cols / span);

	if (to <= from)
		to = from + 1;
	if (to > cols)
		to = cols;
	ct_buf_putc(out, '|');
	for (unsigned i = 0; i < cols; i++)
		ct_buf_putc(out, i >= from && i < to ? ch : ' ');
	ct_buf_putc(out, '|');
}

static void critpath_lines(const struct ct_partial *p, const struct fspan *r, struct ct_buf *out)
{
	char a[32], b[32], svc[64], who[96], lb[600];

	if (!r->cp) {
		ct_buf_puts(out, "  (no critical path: the request is longer than the window)\n");
		return;
	}
	ct_buf_printf(out, "  %-10s %-10s %-12s %-22s %-15s %s\n", "AT", "DURATION", "SERVICE",
		      "THREAD", "STATE", "DETAIL");
	for (uint32_t i = 0; i < r->cp->seg.n; i++) {
		const struct critseg *s = &r->cp->seg.v[i];

		dur(s->start - r->start, a, sizeof(a));
		dur(s->dur, b, sizeof(b));
		task_label(p, s->tid, who, sizeof(who));
		snprintf(who + strlen(who), sizeof(who) - strlen(who), " %d", s->tid);
		ct_buf_printf(out, "  +%-9s %-10s %-12.12s %-22.22s %-15s %s\n", a, b,
			      service_of(p, s->pid, svc, sizeof(svc)), who, ct_cat_name(s->cat),
			      lbl(p, s->detail, lb, sizeof(lb)));
	}
}

void ct_result_text_trace(const struct ct_partial *p, struct ct_buf *out, unsigned width)
{
	char id[33], a[32], svc[64], cause[512];
	const struct fspan *spans[512];
	unsigned depth[512];
	unsigned cols;

	if (!width)
		width = 100;
	cols = width > 70 ? width - 60 : 10;
	hex_trace(p->cfg.trace_hi, p->cfg.trace_lo, id);
	if (!p->filt_req.n) {
		ct_buf_printf(out, "trace %s: no request of this trace ended in the recording\n",
			      id);
		return;
	}
	for (uint32_t r = 0; r < p->filt_req.n; r++) {
		const struct fspan *root = p->filt_req.v[r];
		uint32_t n = trace_spans(p, root->trace_hi, root->trace_lo, spans, depth, 512);

		dur(root->end - root->start, a, sizeof(a));
		ct_buf_printf(out, "trace %s  %s %s  %s%s\n", id,
			      service_of(p, root->pid, svc, sizeof(svc)), root->name, a,
			      root->incomplete ? "  (incomplete data: see --format json)" : "");
		ct_buf_puts(out, "  ");
		cp_summary(p, root, out);
		ct_buf_puts(out, "\n  '#': on the critical path  '=': span  '-': syscall\n");
		line(out, width);
		for (uint32_t i = 0; i < n; i++) {
			const struct fspan *f = spans[i];
			char label[64];

			if (f->start < root->start || f->start > root->end)
				continue;
			snprintf(label, sizeof(label), "%*s%s %s", (int)(depth[i] * 2), "",
				 service_of(p, f->pid, svc, sizeof(svc)), f->name ? f->name : "");
			dur(f->end - f->start, a, sizeof(a));
			ct_buf_printf(out, "%-36.36s %9s ", label, a);
			bar(out, root->start, root->end, f->start,
			    f->end > root->end ? root->end : f->end, cols,
			    on_cp(root, f->id) ? '#' : '=');
			top_cause(p, f, cause, sizeof(cause));
			ct_buf_printf(out, " %.*s\n", (int)(width > cols + 50 ? 60 : 30), cause);
			for (uint32_t k = 0; f->detailed && k < f->dsc.n && k < 12; k++) {
				const struct screc *s = &f->dsc.v[k];
				uint64_t end = s->exit_ts == NO_END ? f->end : s->exit_ts;
				char nm[64], sb[24];

				snprintf(label, sizeof(label), "%*s- %s", (int)(depth[i] * 2 + 2),
					 "", sc_name(s->nr, sb, sizeof(sb)));
				dur(end - s->entry_ts, a, sizeof(a));
				ct_buf_printf(out, "%-36.36s %9s ", label, a);
				bar(out, root->start, root->end,
				    s->entry_ts < root->start ? root->start : s->entry_ts,
				    end > root->end ? root->end : end, cols, '-');
				snprintf(nm, sizeof(nm), "%s",
					 f->dsc_target.v[k] ? f->dsc_target.v[k] : "");
				ct_buf_printf(out, " %s\n", nm);
			}
			if (f->detailed && f->dsc.n > 12)
				ct_buf_printf(out, "%*s  ... %u more syscalls\n",
					      (int)(depth[i] * 2), "",
					      f->dsc.n - 12 + f->dsc_omitted);
		}
		ct_buf_puts(out, "\nCritical path\n");
		critpath_lines(p, root, out);
		ct_buf_putc(out, '\n');
	}
}

void ct_result_text_critpath(const struct ct_partial *p, struct ct_buf *out, unsigned width)
{
	char id[33], a[32], svc[64];

	(void)width;
	hex_trace(p->cfg.trace_hi, p->cfg.trace_lo, id);
	if (!p->filt_req.n) {
		ct_buf_printf(out, "trace %s: no request of this trace ended in the recording\n",
			      id);
		return;
	}
	for (uint32_t r = 0; r < p->filt_req.n; r++) {
		const struct fspan *root = p->filt_req.v[r];

		dur(root->end - root->start, a, sizeof(a));
		ct_buf_printf(out, "trace %s  %s %s  %s\n  ", id,
			      service_of(p, root->pid, svc, sizeof(svc)), root->name, a);
		cp_summary(p, root, out);
		ct_buf_putc(out, '\n');
		critpath_lines(p, root, out);
		ct_buf_putc(out, '\n');
	}
}

/* A kept span's name by id (linear: kept lists are small where this is used). */
static const char *span_name(const struct ct_partial *p, uint64_t id)
{
	for (uint32_t i = 0; id && i < p->kept.n; i++)
		if (p->kept.v[i]->id == id)
			return p->kept.v[i]->name ? p->kept.v[i]->name : "";
	for (uint32_t i = 0; id && i < p->slow_req.n; i++)
		if (p->slow_req.v[i]->id == id)
			return p->slow_req.v[i]->name ? p->slow_req.v[i]->name : "";
	return NULL;
}

/* One step of a condensed path: consecutive segments on one thread in one span. */
struct step {
	uint32_t first, last; /* segment indices */
	uint64_t dur;
};

/* The detail that took most of step st, and its share of the step. */
static const struct critseg *step_main(const struct critpath *cp, const struct step *st,
				       uint64_t *ns)
{
	const struct critseg *best = NULL;

	*ns = 0;
	for (uint32_t i = st->first; i <= st->last; i++) {
		const struct critseg *s = &cp->seg.v[i];
		uint64_t sum = 0;

		for (uint32_t j = st->first; j <= st->last; j++)
			if (cp->seg.v[j].cat == s->cat &&
			    !strcmp(cp->seg.v[j].detail ? cp->seg.v[j].detail : "",
				    s->detail ? s->detail : ""))
				sum += cp->seg.v[j].dur;
		if (sum > *ns) {
			*ns = sum;
			best = s;
		}
	}
	return best;
}

void ct_result_text_slowest_path(const struct ct_partial *p, struct ct_buf *out, unsigned width)
{
	const struct fspan *r = p->slow_req.n ? p->slow_req.v[0] : NULL;
	struct step *steps;
	uint32_t n = 0, hidden = 0;
	uint64_t total, hidden_ns = 0;
	char a[32], b[32], id[33], svc[64], who[96], lb[600], sp[80];

	if (!width)
		width = 100;
	if (!r || !r->cp || !r->cp->seg.n)
		return;
	total = r->end - r->start;
	steps = calloc(r->cp->seg.n, sizeof(*steps));
	if (!steps)
		return;
	for (uint32_t i = 0; i < r->cp->seg.n; i++) {
		const struct critseg *s = &r->cp->seg.v[i];

		if (n && r->cp->seg.v[steps[n - 1].last].tid == s->tid &&
		    r->cp->seg.v[steps[n - 1].last].span == s->span) {
			steps[n - 1].last = i;
			steps[n - 1].dur += s->dur;
			continue;
		}
		steps[n++] = (struct step){i, i, s->dur};
	}
	dur(total, a, sizeof(a));
	hex_trace(r->trace_hi, r->trace_lo, id);
	ct_buf_printf(out, "\nCritical path of the slowest request (%s %s, %s, trace %s)\n",
		      service_of(p, r->pid, svc, sizeof(svc)), r->name ? r->name : "", a, id);
	line(out, width);
	ct_buf_printf(out, "  %-9s %-9s %-10s %-14s %-32s %s\n", "AT", "TIME", "SERVICE", "THREAD",
		      "SPAN", "WHAT");
	for (uint32_t k = 0; k < n; k++) {
		const struct critseg *s = &r->cp->seg.v[steps[k].first], *m;
		const char *name;
		uint64_t mns;

		/* Steps under 1% of the request are counted, not listed. */
		if (steps[k].dur * 100 < total) {
			hidden++;
			hidden_ns += steps[k].dur;
			continue;
		}
		m = step_main(r->cp, &steps[k], &mns);
		dur(s->start - r->start, a, sizeof(a));
		dur(steps[k].dur, b, sizeof(b));
		task_label(p, s->tid, who, sizeof(who));
		/* "comm[pid]": the comm says the thread; the service column says the process. */
		if (strchr(who, '['))
			*strchr(who, '[') = 0;
		name = span_name(p, s->span);
		snprintf(sp, sizeof(sp), "%s%s",
			 !s->span ? "-"
			 : name	  ? name
				  : "?",
			 s->span && !s->same_trace ? " (other request)" : "");
		ct_buf_printf(out, "  +%-8s %-9s %-10.10s %-14.14s %-32.32s ", a, b,
			      service_of(p, s->pid, svc, sizeof(svc)), who, sp);
		if (m && mns * 2 < steps[k].dur) {
			/* No one thing dominates: say the state, then its largest part. */
			uint64_t cat = 0;

			for (uint32_t i = steps[k].first; i <= steps[k].last; i++)
				if (r->cp->seg.v[i].cat == m->cat)
					cat += r->cp->seg.v[i].dur;
			ct_buf_printf(out, "%s %u%%, most: %s (%u%%)\n", ct_cat_name(m->cat),
				      pct(cat, steps[k].dur), lbl(p, m->detail, lb, sizeof(lb)),
				      pct(mns, steps[k].dur));
		} else if (m) {
			ct_buf_printf(out, "%s", lbl(p, m->detail, lb, sizeof(lb)));
			if (mns < steps[k].dur)
				ct_buf_printf(out, " (%u%%)", pct(mns, steps[k].dur));
			ct_buf_putc(out, '\n');
		} else {
			ct_buf_putc(out, '\n');
		}
	}
	if (hidden) {
		dur(hidden_ns, a, sizeof(a));
		ct_buf_printf(out, "  (%u shorter steps, %s in all, not shown)\n", hidden, a);
	}
	free(steps);
}
