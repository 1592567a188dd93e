// SPDX-License-Identifier: MIT
/*
 * Export as OTLP JSON (ExportTraceServiceRequest, per the OTLP JSON mapping: lowerCamelCase
 * keys, hex trace/span ids, 64-bit integers and nanosecond times as decimal strings, enums as
 * integers). Spans carry their annotation as crosstrace.* attributes; spans with full detail
 * get their syscalls as child spans and their kernel events as span events. Times are wall
 * clock: CLOCK_MONOTONIC + the chunk's clock offset.
 */
#include <stdio.h>
#include <string.h>

#include "model.h"

static void kv_str(struct ct_jsonw *w, const char *key, const char *v)
{
	ct_jsonw_obj_begin(w);
	ct_jsonw_kstr(w, "key", key);
	ct_jsonw_key(w, "value");
	ct_jsonw_obj_begin(w);
	ct_jsonw_kstr(w, "stringValue", v);
	ct_jsonw_obj_end(w);
	ct_jsonw_obj_end(w);
}

static void kv_int(struct ct_jsonw *w, const char *key, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	ct_jsonw_obj_begin(w);
	ct_jsonw_kstr(w, "key", key);
	ct_jsonw_key(w, "value");
	ct_jsonw_obj_begin(w);
	ct_jsonw_kstr(w, "intValue", buf);
	ct_jsonw_obj_end(w);
	ct_jsonw_obj_end(w);
}

static void kv_attr(struct ct_jsonw *w, const struct attr *a)
{
	ct_jsonw_obj_begin(w);
	ct_jsonw_kstr(w, "key", a->key);
	ct_jsonw_key(w, "value");
	ct_jsonw_obj_begin(w);
	switch (a->type) {
	case 1:
		ct_jsonw_kstr(w, "stringValue", a->s ? a->s : "");
		break;
	case 2: {
		char buf[32];

		snprintf(buf, sizeof(buf), "%lld", (long long)a->i);
		ct_jsonw_kstr(w, "intValue", buf);
		break;
	}
	case 3:
		ct_jsonw_kdouble(w, "doubleValue", a->d);
		break;
	default:
		ct_jsonw_kbool(w, "boolValue", (int)a->i);
		break;
	}
	ct_jsonw_obj_end(w);
	ct_jsonw_obj_end(w);
}

/* One clock offset per span (the one at its start), so that durations stay exact. */
static _Thread_local int64_t span_off;

static void time_ns(struct ct_jsonw *w, const char *key, const struct ct_partial *p, uint64_t mono)
{
	char buf[32];

	(void)p;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)((int64_t)mono + span_off));
	ct_jsonw_kstr(w, key, buf);
}

/* A stable id for a syscall child span (never 0). */
static uint64_t child_id(uint64_t parent, const struct screc *r)
{
	uint64_t z = parent ^ (r->entry_ts * 0x9e3779b97f4a7c15ull) ^
		     ((uint64_t)(uint32_t)r->tid << 32) ^ r->nr;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return z ? z : 1;
}

static const char *inc_name(unsigned bit)
{
	static const char *const names[] = {"lost-events",    "missing-chunk", "unknown-events",
					    "no-kernel-data", "not-ended",     "no-start",
					    "process-wide",   "too-long",      "read-errors"};

	return bit < 9 ? names[bit] : "?";
}

static void annotation(struct ct_jsonw *w, const struct ct_partial *p, const struct fspan *f)
{
	uint64_t d = f->end - f->start;
	char key[96], buf[512], lb[600];

	for (unsigned c = 0; c < CT_CAT_N; c++) {
		char name[32];

		snprintf(name, sizeof(name), "%s", ct_cat_name(c));
		for (char *q = name; *q; q++)
			if (*q == '-')
				*q = '_';
		snprintf(key, sizeof(key), "crosstrace.time.%s_ns", name);
		kv_int(w, key, (int64_t)f->cat[c]);
	}
	kv_int(w, "crosstrace.own_ns", (int64_t)(d - f->cat[CT_CAT_CHILDREN]));
	for (uint32_t i = 0; i < f->causes.n && i < 3; i++) {
		snprintf(key, sizeof(key), "crosstrace.cause.%u", i + 1);
		snprintf(buf, sizeof(buf), "%u%% %s: %s",
			 d ? (unsigned)(f->causes.v[i].ns * 100 / d) : 0,
			 ct_cat_name(f->causes.v[i].cat),
			 lbl(p, f->causes.v[i].text, lb, sizeof(lb)));
		kv_str(w, key, buf);
	}
	if (f->incomplete) {
		buf[0] = 0;
		for (unsigned b = 0; b < 9; b++)
			if (f->incomplete & (1u << b))
				snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
					 buf[0] ? "," : "", inc_name(b));
		kv_str(w, "crosstrace.incomplete", buf);
	}
	if (f->tid > 0)
		kv_int(w, "thread.id", f->tid);
	if (f->root && f->cp) {
		uint64_t self = 0;

		for (uint32_t i = 0; i < f->cp->seg.n; i++)
			if (f->cp->seg.v[i].pid == f->pid)
				self += f->cp->seg.v[i].dur;
		kv_int(w, "crosstrace.critical_path.own_process_ns", (int64_t)self);
		kv_int(w, "crosstrace.critical_path.segments", f->cp->seg.n);
	}
	(void)p;
}

static void w_span(struct ct_jsonw *w, const struct ct_partial *p, const struct fspan *f)
{
	char id[33], lb[600];
	int detail = detail_shown(p, f);

	span_off = clock_offset_at(p, f->start);
	ct_jsonw_obj_begin(w);
	hex_trace(f->trace_hi, f->trace_lo, id);
	ct_jsonw_kstr(w, "traceId", id);
	hex_id(f->id, id);
	ct_jsonw_kstr(w, "spanId", id);
	if (f->parent) {
		hex_id(f->parent, id);
		ct_jsonw_kstr(w, "parentSpanId", id);
	}
	ct_jsonw_kstr(w, "name", f->name ? f->name : "");
	ct_jsonw_kint(w, "kind", f->kind <= 5 ? f->kind : 0);
	time_ns(w, "startTimeUnixNano", p, f->start);
	time_ns(w, "endTimeUnixNano", p, f->end);
	ct_jsonw_key(w, "attributes");
	ct_jsonw_arr_begin(w);
	for (uint32_t i = 0; i < f->attrs.n; i++) {
		int later = 0;

		if (f->attrs.v[i].owner)
			continue;
		for (uint32_t j = i + 1; j < f->attrs.n && !later; j++)
			later = !f->attrs.v[j].owner &&
				!strcmp(f->attrs.v[j].key, f->attrs.v[i].key);
		if (!later)
			kv_attr(w, &f->attrs.v[i]);
	}
	annotation(w, p, f);
	ct_jsonw_arr_end(w);
	ct_jsonw_key(w, "events");
	ct_jsonw_arr_begin(w);
	for (uint32_t i = 0; i < f->events.n; i++) {
		ct_jsonw_obj_begin(w);
		time_ns(w, "timeUnixNano", p, f->events.v[i].time);
		ct_jsonw_kstr(w, "name", f->events.v[i].name ? f->events.v[i].name : "");
		ct_jsonw_key(w, "attributes");
		ct_jsonw_arr_begin(w);
		for (uint32_t j = 0; j < f->attrs.n; j++)
			if (f->attrs.v[j].owner == f->events.v[i].index)
				kv_attr(w, &f->attrs.v[j]);
		ct_jsonw_arr_end(w);
		ct_jsonw_obj_end(w);
	}
	for (uint32_t i = 0; detail && i < f->dkev.n; i++) {
		const struct kev *k = &f->dkev.v[i];
		static const char *const kn[] = {"crosstrace.block_io", "crosstrace.fork",
						 "crosstrace.exec",	"crosstrace.exit",
						 "crosstrace.rename",	"crosstrace.unknown_event"};

		ct_jsonw_obj_begin(w);
		time_ns(w, "timeUnixNano", p, k->ts);
		ct_jsonw_kstr(w, "name",
			      k->type < 6     ? kn[k->type]
			      : k->type == 16 ? "crosstrace.sched.preempted"
					      : "crosstrace.sched.woken");
		ct_jsonw_key(w, "attributes");
		ct_jsonw_arr_begin(w);
		kv_str(w, "crosstrace.detail", lbl(p, k->text, lb, sizeof(lb)));
		if (k->type >= 16) {
			kv_int(w, "thread.id", (int64_t)k->a);
			kv_int(w, "crosstrace.duration_ns", (int64_t)k->b);
		} else if (k->type == KEV_BLOCK_IO) {
			kv_int(w, "crosstrace.bytes", (int64_t)k->a);
		}
		ct_jsonw_arr_end(w);
		ct_jsonw_obj_end(w);
	}
	ct_jsonw_arr_end(w);
	if (f->links.n) {
		ct_jsonw_key(w, "links");
		ct_jsonw_arr_begin(w);
		for (uint32_t i = 0; i < f->links.n; i++) {
			ct_jsonw_obj_begin(w);
			hex_trace(f->links.v[i].trace_hi, f->links.v[i].trace_lo, id);
			ct_jsonw_kstr(w, "traceId", id);
			hex_id(f->links.v[i].span, id);
			ct_jsonw_kstr(w, "spanId", id);
			ct_jsonw_obj_end(w);
		}
		ct_jsonw_arr_end(w);
	}
	ct_jsonw_key(w, "status");
	ct_jsonw_obj_begin(w);
	if (f->status == 2 && f->status_msg)
		ct_jsonw_kstr(w, "message", f->status_msg);
	ct_jsonw_kint(w, "code", f->status <= 2 ? f->status : 0);
	ct_jsonw_obj_end(w);
	ct_jsonw_obj_end(w);
	/* Syscalls as child spans. */
	for (uint32_t i = 0; detail && i < f->dsc.n; i++) {
		const struct screc *r = &f->dsc.v[i];
		uint64_t end = r->exit_ts == NO_END ? f->end : r->exit_ts;
		char nb[24], args[160];

		ct_jsonw_obj_begin(w);
		hex_trace(f->trace_hi, f->trace_lo, id);
		ct_jsonw_kstr(w, "traceId", id);
		hex_id(child_id(f->id, r), id);
		ct_jsonw_kstr(w, "spanId", id);
		hex_id(f->id, id);
		ct_jsonw_kstr(w, "parentSpanId", id);
		snprintf(args, sizeof(args), "syscall %s", sc_name(r->nr, nb, sizeof(nb)));
		ct_jsonw_kstr(w, "name", args);
		ct_jsonw_kint(w, "kind", 1);
		time_ns(w, "startTimeUnixNano", p, r->entry_ts);
		time_ns(w, "endTimeUnixNano", p, end < r->entry_ts ? r->entry_ts : end);
		ct_jsonw_key(w, "attributes");
		ct_jsonw_arr_begin(w);
		kv_str(w, "crosstrace.syscall.name", sc_name(r->nr, nb, sizeof(nb)));
		snprintf(args, sizeof(args), "0x%llx,0x%llx,0x%llx,0x%llx,0x%llx,0x%llx",
			 (unsigned long long)r->args[0], (unsigned long long)r->args[1],
			 (unsigned long long)r->args[2], (unsigned long long)r->args[3],
			 (unsigned long long)r->args[4], (unsigned long long)r->args[5]);
		kv_str(w, "crosstrace.syscall.args", args);
		if (r->fdnum >= 0)
			kv_int(w, "crosstrace.syscall.fd", r->fdnum);
		if (f->dsc_target.v[i] && f->dsc_target.v[i][0])
			kv_str(w, "crosstrace.syscall.target", f->dsc_target.v[i]);
		if (r->exit_ts != NO_END && !(r->flags & SC_NO_EXIT)) {
			kv_int(w, "crosstrace.syscall.ret", r->ret);
			if (r->ret < 0 && r->ret > -4096)
				kv_int(w, "crosstrace.syscall.errno", -r->ret);
		}
		kv_int(w, "thread.id", r->tid);
		ct_jsonw_arr_end(w);
		ct_jsonw_obj_end(w);
	}
}

void ct_export_otlp_json(const struct ct_partial *p, struct ct_buf *out)
{
	struct ct_jsonw w;
	uint32_t n = 0;
	const struct fspan **v = kept_sorted(p, &n);
	int32_t *pids = calloc(n + 1, sizeof(*pids));
	uint32_t n_pids = 0;
	char svc[64];

	ct_jsonw_init(&w, out, 0);
	ct_jsonw_obj_begin(&w);
	ct_jsonw_key(&w, "resourceSpans");
	ct_jsonw_arr_begin(&w);
	/* One resource per process, in pid order. */
	for (uint32_t i = 0; v && pids && i < n; i++) {
		uint32_t j;

		for (j = 0; j < n_pids && pids[j] != v[i]->pid; j++)
			;
		if (j == n_pids)
			pids[n_pids++] = v[i]->pid;
	}
	for (uint32_t a = 1; a < n_pids; a++)
		for (uint32_t b = a; b > 0 && pids[b - 1] > pids[b]; b--) {
			int32_t t = pids[b];

			pids[b] = pids[b - 1];
			pids[b - 1] = t;
		}
	for (uint32_t k = 0; k < n_pids; k++) {
		const struct proc *pr = pr_find(p, pids[k]);

		ct_jsonw_obj_begin(&w);
		ct_jsonw_key(&w, "resource");
		ct_jsonw_obj_begin(&w);
		ct_jsonw_key(&w, "attributes");
		ct_jsonw_arr_begin(&w);
		kv_str(&w, "service.name", service_of(p, pids[k], svc, sizeof(svc)));
		kv_int(&w, "process.pid", pids[k]);
		if (pr && pr->host)
			kv_str(&w, "host.name", pr->host);
		for (uint32_t i = 0; pr && i < pr->rattrs.n; i++) {
			const struct attr *a = &pr->rattrs.v[i];
			int later = !strcmp(a->key, "service.name") ||
				    !strcmp(a->key, "process.pid") ||
				    (pr->host && !strcmp(a->key, "host.name"));

			for (uint32_t j = i + 1; j < pr->rattrs.n && !later; j++)
				later = !strcmp(pr->rattrs.v[j].key, a->key);
			if (!later)
				kv_attr(&w, a);
		}
		ct_jsonw_arr_end(&w);
		ct_jsonw_obj_end(&w);
		ct_jsonw_key(&w, "scopeSpans");
		ct_jsonw_arr_begin(&w);
		ct_jsonw_obj_begin(&w);
		ct_jsonw_key(&w, "scope");
		ct_jsonw_obj_begin(&w);
		ct_jsonw_kstr(&w, "name", "crosstrace");
		ct_jsonw_kstr(&w, "version", "0.1.0");
		ct_jsonw_obj_end(&w);
		ct_jsonw_key(&w, "spans");
		ct_jsonw_arr_begin(&w);
		for (uint32_t i = 0; i < n; i++)
			if (v[i]->pid == pids[k])
				w_span(&w, p, v[i]);
		ct_jsonw_arr_end(&w);
		ct_jsonw_obj_end(&w);
		ct_jsonw_arr_end(&w);
		ct_jsonw_obj_end(&w);
	}
	ct_jsonw_arr_end(&w);
	ct_jsonw_obj_end(&w);
	ct_buf_putc(out, '\n');
	free(pids);
	free(v);
}
