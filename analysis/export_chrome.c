// SPDX-License-Identifier: MIT
/*
 * Export as Chrome trace-event JSON (the "JSON Array/Object Format" Perfetto UI and
 * chrome://tracing load): one track per thread with its states as complete ("X") slices,
 * spans as async slices of their process, and wake-ups as flow arrows from the waker's slice
 * to the woken thread's. Times in microseconds (CLOCK_MONOTONIC).
 */
#include <stdio.h>
#include <string.h>

#include "model.h"

static void ts_us(struct ct_jsonw *w, const char *key, uint64_t ns)
{
	char buf[40];

	snprintf(buf, sizeof(buf), "%llu.%03llu", (unsigned long long)(ns / 1000),
		 (unsigned long long)(ns % 1000));
	ct_jsonw_key(w, key);
	ct_jsonw_raw(w, buf);
}

static int cmp_tid(const void *a, const void *b)
{
	const struct thread *x = *(const struct thread *const *)a,
			    *y = *(const struct thread *const *)b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static void meta(struct ct_jsonw *w, const char *what, int32_t pid, int32_t tid, const char *name)
{
	ct_jsonw_obj_begin(w);
	ct_jsonw_kstr(w, "ph", "M");
	ct_jsonw_kstr(w, "name", what);
	ct_jsonw_kint(w, "pid", pid);
	if (tid >= 0)
		ct_jsonw_kint(w, "tid", tid);
	ct_jsonw_key(w, "args");
	ct_jsonw_obj_begin(w);
	ct_jsonw_kstr(w, "name", name);
	ct_jsonw_obj_end(w);
	ct_jsonw_obj_end(w);
}

void ct_export_chrome_json(const struct ct_partial *p, struct ct_buf *out)
{
	const struct thread **ts = calloc(p->thread_list.n + 1, sizeof(*ts));
	uint32_t n = 0;
	const struct fspan **v = kept_sorted(p, &n);
	struct ct_jsonw w;
	uint64_t flow = 0;
	char buf[512], name[160], svc[64], id[17], lb[600];

	ct_jsonw_init(&w, out, 0);
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kstr(&w, "displayTimeUnit", "ns");
	ct_jsonw_key(&w, "traceEvents");
	ct_jsonw_arr_begin(&w);
	for (uint32_t i = 0; i < p->proc_list.n; i++) {
		const struct proc *pr = p->proc_list.v[i];

		snprintf(name, sizeof(name), "%s (pid %d)",
			 service_of(p, pr->pid, svc, sizeof(svc)), pr->pid);
		meta(&w, "process_name", pr->pid, -1, name);
	}
	for (uint32_t i = 0; ts && i < p->thread_list.n; i++)
		ts[i] = p->thread_list.v[i];
	if (ts)
		qsort(ts, p->thread_list.n, sizeof(*ts), cmp_tid);
	for (uint32_t i = 0; ts && i < p->thread_list.n; i++) {
		const struct thread *t = ts[i];
		int32_t pid = t->pid > 0 ? t->pid : t->tid;

		if (!t->iv.n)
			continue;
		task_label(p, t->tid, name, sizeof(name));
		snprintf(name + strlen(name), sizeof(name) - strlen(name), " tid %d", t->tid);
		meta(&w, "thread_name", pid, t->tid, name);
		struct piece pc;
		int more;

		/* Pieces: a change of the process-wide scope starts a new slice. */
		th_piece_at(p, t, 0, 0, p->last_ts, &pc);
		for (more = 1; more; more = th_piece_next(p, t, p->last_ts, &pc)) {
			const struct ival *iv = &pc.iv;
			uint64_t end = pc.end;
			const struct frame *in = an_innermost(&pc);
			int last = pc.i + 1 == t->iv.n && pc.end >= pc.iv_end;
			int32_t by;
			unsigned cat;

			if (end <= iv->start)
				continue;
			cat = an_classify(p, t, iv, buf, sizeof(buf), &by);
			ct_jsonw_obj_begin(&w);
			ct_jsonw_kstr(&w, "ph", "X");
			ct_jsonw_kstr(&w, "cat", "thread_state");
			ct_jsonw_kstr(&w, "name", ct_cat_name(cat));
			ts_us(&w, "ts", iv->start);
			ts_us(&w, "dur", end - iv->start);
			ct_jsonw_kint(&w, "pid", pid);
			ct_jsonw_kint(&w, "tid", t->tid);
			ct_jsonw_key(&w, "args");
			ct_jsonw_obj_begin(&w);
			ct_jsonw_kstr(&w, "detail", lbl(p, buf, lb, sizeof(lb)));
			if (in) {
				hex_id(in->span, id);
				ct_jsonw_kstr(&w, "span_id", id);
			}
			ct_jsonw_obj_end(&w);
			ct_jsonw_obj_end(&w);
			/* A wake-up by a thread: an arrow from the waker to this thread. */
			if (iv->state == TS_BLOCKED && (iv->flags & IV_WOKEN) && iv->other > 0 &&
			    !last && th_waker(p, t, pc.i) > 0) {
				const struct thread *wk = th_find(p, iv->other);

				if (!wk || !wk->iv.n)
					continue;
				flow++;
				ct_jsonw_obj_begin(&w);
				ct_jsonw_kstr(&w, "ph", "s");
				ct_jsonw_kstr(&w, "cat", "wakeup");
				ct_jsonw_kstr(&w, "name", "wake-up");
				ct_jsonw_kuint(&w, "id", flow);
				ts_us(&w, "ts", end);
				ct_jsonw_kint(&w, "pid", wk->pid > 0 ? wk->pid : wk->tid);
				ct_jsonw_kint(&w, "tid", wk->tid);
				ct_jsonw_obj_end(&w);
				ct_jsonw_obj_begin(&w);
				ct_jsonw_kstr(&w, "ph", "f");
				ct_jsonw_kstr(&w, "bp", "e");
				ct_jsonw_kstr(&w, "cat", "wakeup");
				ct_jsonw_kstr(&w, "name", "wake-up");
				ct_jsonw_kuint(&w, "id", flow);
				ts_us(&w, "ts", end);
				ct_jsonw_kint(&w, "pid", pid);
				ct_jsonw_kint(&w, "tid", t->tid);
				ct_jsonw_obj_end(&w);
			}
		}
	}
	/* Spans: async slices of their process (they may move between threads). */
	for (uint32_t i = 0; v && i < n; i++) {
		const struct fspan *f = v[i];

		for (int end = 0; end < 2; end++) {
			ct_jsonw_obj_begin(&w);
			ct_jsonw_kstr(&w, "ph", end ? "e" : "b");
			ct_jsonw_kstr(&w, "cat", "span");
			ct_jsonw_kstr(&w, "name", f->name ? f->name : "");
			hex_id(f->id, id);
			ct_jsonw_key(&w, "id2");
			ct_jsonw_obj_begin(&w);
			ct_jsonw_kstr(&w, "local", id);
			ct_jsonw_obj_end(&w);
			ts_us(&w, "ts", end ? f->end : f->start);
			ct_jsonw_kint(&w, "pid", f->pid);
			ct_jsonw_kint(&w, "tid", f->tid > 0 ? f->tid : f->pid);
			if (!end) {
				uint64_t d = f->end - f->start;

				ct_jsonw_key(&w, "args");
				ct_jsonw_obj_begin(&w);
				hex_trace(f->trace_hi, f->trace_lo, buf);
				ct_jsonw_kstr(&w, "trace_id", buf);
				ct_jsonw_kstr(&w, "span_id", id);
				for (unsigned c = 0; c < CT_CAT_N; c++)
					if (f->cat[c])
						ct_jsonw_kuint(&w, ct_cat_name(c), f->cat[c]);
				if (f->causes.n) {
					snprintf(buf, sizeof(buf), "%u%% %s",
						 d ? (unsigned)(f->causes.v[0].ns * 100 / d) : 0,
						 lbl(p, f->causes.v[0].text, lb, sizeof(lb)));
					ct_jsonw_kstr(&w, "top_cause", buf);
				}
				ct_jsonw_obj_end(&w);
			}
			ct_jsonw_obj_end(&w);
		}
	}
	ct_jsonw_arr_end(&w);
	ct_jsonw_obj_end(&w);
	ct_buf_putc(out, '\n');
	free(ts);
	free(v);
}
