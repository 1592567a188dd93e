// SPDX-License-Identifier: MIT
/*
 * Export as Jaeger JSON, the form Jaeger UI's "JSON file" upload reads (its query API's
 * /api/traces response): {"data": [trace {traceID, spans, processes}]}, times in
 * microseconds since the epoch, annotations as tags, kernel events as logs, syscalls as
 * child spans of the spans with full detail.
 */
#include <stdio.h>
#include <string.h>

#include "model.h"

static void tag_str(struct ct_jsonw *w, const char *key, const char *v)
{
	ct_jsonw_obj_begin(w);
	ct_jsonw_kstr(w, "key", key);
	ct_jsonw_kstr(w, "type", "string");
	ct_jsonw_kstr(w, "value", v);
	ct_jsonw_obj_end(w);
}

static void tag_int(struct ct_jsonw *w, const char *key, int64_t v)
{
	ct_jsonw_obj_begin(w);
	ct_jsonw_kstr(w, "key", key);
	ct_jsonw_kstr(w, "type", "int64");
	ct_jsonw_kint(w, "value", v);
	ct_jsonw_obj_end(w);
}

static void tag_attr(struct ct_jsonw *w, const struct attr *a)
{
	ct_jsonw_obj_begin(w);
	ct_jsonw_kstr(w, "key", a->key);
	switch (a->type) {
	case 1:
		ct_jsonw_kstr(w, "type", "string");
		ct_jsonw_kstr(w, "value", a->s ? a->s : "");
		break;
	case 2:
		ct_jsonw_kstr(w, "type", "int64");
		ct_jsonw_kint(w, "value", a->i);
		break;
	case 3:
		ct_jsonw_kstr(w, "type", "float64");
		ct_jsonw_kdouble(w, "value", a->d);
		break;
	default:
		ct_jsonw_kstr(w, "type", "bool");
		ct_jsonw_kbool(w, "value", (int)a->i);
		break;
	}
	ct_jsonw_obj_end(w);
}

/* One clock offset per span (the one at its start), so that durations stay exact. */
static _Thread_local int64_t span_off;

static uint64_t us(const struct ct_partial *p, uint64_t mono)
{
	(void)p;
	return (uint64_t)((int64_t)mono + span_off) / 1000;
}

static uint64_t child_id(uint64_t parent, const struct screc *r)
{
	uint64_t z = parent ^ (r->entry_ts * 0x9e3779b97f4a7c15ull) ^
		     ((uint64_t)(uint32_t)r->tid << 32) ^ r->nr;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return z ? z : 1;
}

static int cmp_trace(const struct fspan *a, const struct fspan *b)
{
	if (a->trace_hi != b->trace_hi)
		return a->trace_hi < b->trace_hi ? -1 : 1;
	return a->trace_lo < b->trace_lo ? -1 : a->trace_lo > b->trace_lo;
}

static void w_span(struct ct_jsonw *w, const struct ct_partial *p, const struct fspan *f,
		   const char *proc_id)
{
	char id[33], key[96], buf[512], lb[600];
	uint64_t d = f->end - f->start;
	int detail = detail_shown(p, f);

	span_off = clock_offset_at(p, f->start);
	ct_jsonw_obj_begin(w);
	hex_trace(f->trace_hi, f->trace_lo, id);
	ct_jsonw_kstr(w, "traceID", id);
	hex_id(f->id, id);
	ct_jsonw_kstr(w, "spanID", id);
	ct_jsonw_kint(w, "flags", 1);
	ct_jsonw_kstr(w, "operationName", f->name ? f->name : "");
	ct_jsonw_key(w, "references");
	ct_jsonw_arr_begin(w);
	if (f->parent) {
		ct_jsonw_obj_begin(w);
		ct_jsonw_kstr(w, "refType", "CHILD_OF");
		hex_trace(f->trace_hi, f->trace_lo, id);
		ct_jsonw_kstr(w, "traceID", id);
		hex_id(f->parent, id);
		ct_jsonw_kstr(w, "spanID", id);
		ct_jsonw_obj_end(w);
	}
	for (uint32_t i = 0; i < f->links.n; i++) {
		ct_jsonw_obj_begin(w);
		ct_jsonw_kstr(w, "refType", "FOLLOWS_FROM");
		hex_trace(f->links.v[i].trace_hi, f->links.v[i].trace_lo, id);
		ct_jsonw_kstr(w, "traceID", id);
		hex_id(f->links.v[i].span, id);
		ct_jsonw_kstr(w, "spanID", id);
		ct_jsonw_obj_end(w);
	}
	ct_jsonw_arr_end(w);
	ct_jsonw_kuint(w, "startTime", us(p, f->start));
	ct_jsonw_kuint(w, "duration", d / 1000);
	ct_jsonw_key(w, "tags");
	ct_jsonw_arr_begin(w);
	tag_str(w, "span.kind", kind_name(f->kind));
	if (f->status == 2)
		ct_jsonw_raw(w, "{\"key\":\"error\",\"type\":\"bool\",\"value\":true}");
	for (uint32_t i = 0; i < f->attrs.n; i++) {
		int later = 0;

		if (f->attrs.v[i].owner)
			continue;
		for (uint32_t j = i + 1; j < f->attrs.n && !later; j++)
			later = !f->attrs.v[j].owner &&
				!strcmp(f->attrs.v[j].key, f->attrs.v[i].key);
		if (!later)
			tag_attr(w, &f->attrs.v[i]);
	}
	for (unsigned c = 0; c < CT_CAT_N; c++) {
		snprintf(key, sizeof(key), "crosstrace.time.%s_ns", ct_cat_name(c));
		tag_int(w, key, (int64_t)f->cat[c]);
	}
	for (uint32_t i = 0; i < f->causes.n && i < 3; i++) {
		snprintf(key, sizeof(key), "crosstrace.cause.%u", i + 1);
		snprintf(buf, sizeof(buf), "%u%% %s: %s",
			 d ? (unsigned)(f->causes.v[i].ns * 100 / d) : 0,
			 ct_cat_name(f->causes.v[i].cat),
			 lbl(p, f->causes.v[i].text, lb, sizeof(lb)));
		tag_str(w, key, buf);
	}
	if (f->incomplete)
		ct_jsonw_raw(
			w, "{\"key\":\"crosstrace.incomplete\",\"type\":\"bool\",\"value\":true}");
	if (f->tid > 0)
		tag_int(w, "thread.id", f->tid);
	ct_jsonw_arr_end(w);
	ct_jsonw_key(w, "logs");
	ct_jsonw_arr_begin(w);
	for (uint32_t i = 0; i < f->events.n; i++) {
		ct_jsonw_obj_begin(w);
		ct_jsonw_kuint(w, "timestamp", us(p, f->events.v[i].time));
		ct_jsonw_key(w, "fields");
		ct_jsonw_arr_begin(w);
		tag_str(w, "event", f->events.v[i].name ? f->events.v[i].name : "");
		ct_jsonw_arr_end(w);
		ct_jsonw_obj_end(w);
	}
	for (uint32_t i = 0; detail && i < f->dkev.n; i++) {
		ct_jsonw_obj_begin(w);
		ct_jsonw_kuint(w, "timestamp", us(p, f->dkev.v[i].ts));
		ct_jsonw_key(w, "fields");
		ct_jsonw_arr_begin(w);
		tag_str(w, "event",
			f->dkev.v[i].type >= 16 ? "crosstrace.sched" : "crosstrace.kernel");
		tag_str(w, "message", lbl(p, f->dkev.v[i].text, lb, sizeof(lb)));
		ct_jsonw_arr_end(w);
		ct_jsonw_obj_end(w);
	}
	ct_jsonw_arr_end(w);
	ct_jsonw_kstr(w, "processID", proc_id);
	ct_jsonw_key(w, "warnings");
	if (f->incomplete) {
		ct_jsonw_arr_begin(w);
		ct_jsonw_str(w, "crosstrace: the kernel annotation of this span is incomplete");
		ct_jsonw_arr_end(w);
	} else {
		ct_jsonw_null(w);
	}
	ct_jsonw_obj_end(w);
	for (uint32_t i = 0; detail && i < f->dsc.n; i++) {
		const struct screc *r = &f->dsc.v[i];
		uint64_t end = r->exit_ts == NO_END ? f->end : r->exit_ts;
		char nb[24];

		ct_jsonw_obj_begin(w);
		hex_trace(f->trace_hi, f->trace_lo, id);
		ct_jsonw_kstr(w, "traceID", id);
		hex_id(child_id(f->id, r), id);
		ct_jsonw_kstr(w, "spanID", id);
		ct_jsonw_kint(w, "flags", 1);
		snprintf(buf, sizeof(buf), "syscall %s", sc_name(r->nr, nb, sizeof(nb)));
		ct_jsonw_kstr(w, "operationName", buf);
		ct_jsonw_key(w, "references");
		ct_jsonw_arr_begin(w);
		ct_jsonw_obj_begin(w);
		ct_jsonw_kstr(w, "refType", "CHILD_OF");
		hex_trace(f->trace_hi, f->trace_lo, id);
		ct_jsonw_kstr(w, "traceID", id);
		hex_id(f->id, id);
		ct_jsonw_kstr(w, "spanID", id);
		ct_jsonw_obj_end(w);
		ct_jsonw_arr_end(w);
		ct_jsonw_kuint(w, "startTime", us(p, r->entry_ts));
		ct_jsonw_kuint(w, "duration", end > r->entry_ts ? (end - r->entry_ts) / 1000 : 0);
		ct_jsonw_key(w, "tags");
		ct_jsonw_arr_begin(w);
		if (r->fdnum >= 0)
			tag_int(w, "crosstrace.syscall.fd", r->fdnum);
		if (f->dsc_target.v[i] && f->dsc_target.v[i][0])
			tag_str(w, "crosstrace.syscall.target", f->dsc_target.v[i]);
		if (r->exit_ts != NO_END && !(r->flags & SC_NO_EXIT))
			tag_int(w, "crosstrace.syscall.ret", r->ret);
		tag_int(w, "thread.id", r->tid);
		ct_jsonw_arr_end(w);
		ct_jsonw_key(w, "logs");
		ct_jsonw_arr_begin(w);
		ct_jsonw_arr_end(w);
		ct_jsonw_kstr(w, "processID", proc_id);
		ct_jsonw_kstr(w, "warnings", NULL);
		ct_jsonw_obj_end(w);
	}
}

void ct_export_jaeger_json(const struct ct_partial *p, struct ct_buf *out)
{
	struct ct_jsonw w;
	uint32_t n = 0;
	const struct fspan **v = kept_sorted(p, &n);
	char *done = calloc(n + 1, 1), id[33], pid_key[32], svc[64];

	ct_jsonw_init(&w, out, 0);
	ct_jsonw_obj_begin(&w);
	ct_jsonw_key(&w, "data");
	ct_jsonw_arr_begin(&w);
	for (uint32_t i = 0; v && done && i < n; i++) {
		int32_t pids[64];
		uint32_t n_pids = 0;

		if (done[i])
			continue;
		ct_jsonw_obj_begin(&w);
		hex_trace(v[i]->trace_hi, v[i]->trace_lo, id);
		ct_jsonw_kstr(&w, "traceID", id);
		ct_jsonw_key(&w, "spans");
		ct_jsonw_arr_begin(&w);
		for (uint32_t j = i; j < n; j++) {
			uint32_t k;

			if (done[j] || cmp_trace(v[i], v[j]))
				continue;
			done[j] = 1;
			for (k = 0; k < n_pids && pids[k] != v[j]->pid; k++)
				;
			if (k == n_pids && n_pids < 64)
				pids[n_pids++] = v[j]->pid;
			snprintf(pid_key, sizeof(pid_key), "p%d", v[j]->pid);
			w_span(&w, p, v[j], pid_key);
		}
		ct_jsonw_arr_end(&w);
		ct_jsonw_key(&w, "processes");
		ct_jsonw_obj_begin(&w);
		for (uint32_t k = 0; k < n_pids; k++) {
			snprintf(pid_key, sizeof(pid_key), "p%d", pids[k]);
			ct_jsonw_key(&w, pid_key);
			ct_jsonw_obj_begin(&w);
			ct_jsonw_kstr(&w, "serviceName", service_of(p, pids[k], svc, sizeof(svc)));
			ct_jsonw_key(&w, "tags");
			ct_jsonw_arr_begin(&w);
			tag_int(&w, "process.pid", pids[k]);
			ct_jsonw_arr_end(&w);
			ct_jsonw_obj_end(&w);
		}
		ct_jsonw_obj_end(&w);
		ct_jsonw_key(&w, "warnings");
		ct_jsonw_null(&w);
		ct_jsonw_obj_end(&w);
	}
	ct_jsonw_arr_end(&w);
	ct_jsonw_kint(&w, "total", 0);
	ct_jsonw_kint(&w, "limit", 0);
	ct_jsonw_kint(&w, "offset", 0);
	ct_jsonw_key(&w, "errors");
	ct_jsonw_null(&w);
	ct_jsonw_obj_end(&w);
	ct_buf_putc(out, '\n');
	free(done);
	free(v);
}
