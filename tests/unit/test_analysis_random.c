// SPDX-License-Identifier: MIT
/*
 * Random but consistent workloads: a small simulated system (threads of a few processes on
 * two CPUs: syscalls with fds, blocking, wake-ups by threads and interrupts, preemption,
 * spans with scopes, nested and cross-process children, async hops) emits the events a
 * capture would. Each workload is analysed whole and cut at random into pieces reduced in
 * every grouping: the JSON results must be byte-identical, breakdowns and critical paths
 * must sum exactly. Then the same streams with events dropped at random (inconsistent data)
 * must still analyse without failing the invariants.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "analysis/cutrun.h"
#include "test.h"

static uint64_t rs = 88172645463325252ull;

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static unsigned rn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

#define NT 6
#define NCPU 2
#define MAXD 8

struct sthread {
	int32_t tid, pid;
	int state; /* 0 running, 1 runnable, 2 blocked */
	int cpu;
	int in_sc;
	uint32_t nr;
	uint64_t stack[MAXD];
	int depth;
};

struct sim {
	struct sthread t[NT];
	int cur[NCPU]; /* thread index or -1 */
	uint64_t ts, next_span;
	uint64_t open[64];
	int32_t open_pid[64];
	int n_open;
	struct ct_event *ev;
	size_t n, cap;
};

static struct ct_event *push(struct sim *s, int type, int32_t pid, int32_t tid, int cpu)
{
	struct ct_event *e;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->ev = realloc(s->ev, s->cap * sizeof(*s->ev));
	}
	e = &s->ev[s->n++];
	memset(e, 0, sizeof(*e));
	s->ts += 1000 + rn(40) * 1000;
	e->ts = s->ts;
	e->type = (uint16_t)type;
	e->pid = pid;
	e->tid = tid;
	e->cpu = (uint16_t)(cpu < 0 ? 0xffff : cpu);
	return e;
}

static int pick_runnable(struct sim *s)
{
	int c[NT], n = 0;

	for (int i = 0; i < NT; i++)
		if (s->t[i].state == 1)
			c[n++] = i;
	return n ? c[rn((unsigned)n)] : -1;
}

static void switch_to(struct sim *s, int cpu, int prev_state, int next)
{
	int prev = s->cur[cpu];
	struct ct_event *e = push(s, CT_EV_SCHED_SWITCH, prev >= 0 ? s->t[prev].pid : 0,
				  prev >= 0 ? s->t[prev].tid : 0, cpu);

	e->u.sched_switch.prev_state = (uint32_t)prev_state;
	e->u.sched_switch.next_tid = next >= 0 ? s->t[next].tid : 0;
	e->u.sched_switch.next_pid = next >= 0 ? s->t[next].pid : 0;
	e->u.sched_switch.next_comm = next >= 0 ? (next & 1 ? "odd" : "even") : "swapper";
	e->u.sched_switch.next_comm_len = (uint32_t)strlen(e->u.sched_switch.next_comm);
	if (prev >= 0) {
		s->t[prev].state = prev_state ? 2 : 1;
		s->t[prev].cpu = -1;
	}
	if (next >= 0) {
		s->t[next].state = 0;
		s->t[next].cpu = cpu;
	}
	s->cur[cpu] = next;
}

static void client(struct sim *s, int i)
{
	struct sthread *t = &s->t[i];
	struct ct_event *e;
	unsigned what = rn(5);

	if (what == 0 && s->n_open < 60) {
		/* A span: child of the current one, or of any open span (a server span). */
		uint64_t parent = t->depth	       ? t->stack[t->depth - 1]
				  : s->n_open && rn(2) ? s->open[rn((unsigned)s->n_open)]
						       : 0;

		e = push(s, CT_EV_SPAN_START, t->pid, t->tid, -1);
		e->u.span_start.trace_lo = 1 + (parent ? parent % 5 : s->next_span % 5);
		e->u.span_start.span_id = ++s->next_span;
		e->u.span_start.parent_id = parent;
		e->u.span_start.start_ns = e->ts;
		e->u.span_start.kind = (uint8_t)rn(4);
		e->u.span_start.name = rn(2) ? "op-a" : "op-b";
		e->u.span_start.name_len = 4;
		s->open_pid[s->n_open] = t->pid;
		s->open[s->n_open++] = s->next_span;
		if (t->depth < MAXD) {
			e = push(s, CT_EV_SCOPE_ENTER, t->pid, t->tid, -1);
			e->u.scope_enter.span_id = s->next_span;
			e->u.scope_enter.trace_lo = 1;
			t->stack[t->depth++] = s->next_span;
		}
	} else if (what == 1 && t->depth) {
		e = push(s, CT_EV_SCOPE_EXIT, t->pid, t->tid, -1);
		e->u.scope_exit.span_id = t->stack[--t->depth];
	} else if (what == 2 && s->n_open && t->depth < MAXD) {
		/* An async hop: make a span of this process current here. */
		unsigned k = rn((unsigned)s->n_open);

		if (s->open_pid[k] == t->pid) {
			e = push(s, CT_EV_SCOPE_ENTER, t->pid, t->tid, -1);
			e->u.scope_enter.span_id = s->open[k];
			e->u.scope_enter.trace_lo = 1;
			t->stack[t->depth++] = s->open[k];
		}
	} else if (what == 3 && s->n_open) {
		unsigned k = rn((unsigned)s->n_open);

		e = push(s, CT_EV_SPAN_END, t->pid, t->tid, -1);
		e->u.span_end.span_id = s->open[k];
		e->u.span_end.end_ns = e->ts;
		e->u.span_end.status = (uint8_t)rn(3);
		e->u.span_end.message = "";
		s->open[k] = s->open[--s->n_open];
		s->open_pid[k] = s->open_pid[s->n_open];
	}
}

static unsigned fd_of(int thread, unsigned k)
{
	return 10 + (unsigned)thread * 4 + k;
}

static void step(struct sim *s)
{
	int cpu = (int)rn(NCPU), i = s->cur[cpu];
	struct ct_event *e;

	if (i < 0) {
		int r = pick_runnable(s);

		if (r >= 0)
			switch_to(s, cpu, 0, r);
		else {
			/* Idle CPU: an interrupt wakes someone. */
			for (int k = 0; k < NT; k++)
				if (s->t[k].state == 2 && rn(2)) {
					e = push(s, CT_EV_SCHED_WAKING, 0, 0, cpu);
					e->u.sched_waking.tid = s->t[k].tid;
					e->u.sched_waking.pid = s->t[k].pid;
					e->u.sched_waking.flags = CT_WAKE_FLAG_IRQ;
					e->u.sched_waking.comm = "x";
					e->u.sched_waking.comm_len = 1;
					s->t[k].state = 1;
					break;
				}
		}
		return;
	}
	switch (rn(8)) {
	case 0:
	case 1:
	case 2: {
		struct sthread *t = &s->t[i];
		static const uint32_t nrs[] = {0, 1, 202, 74, 257, 42, 35, 3, 44, 45};

		if (!t->in_sc) {
			uint32_t nr = nrs[rn(10)];

			e = push(s,
				 nr == 257  ? CT_EV_SYSCALL_ENTRY_PATH
				 : nr == 42 ? CT_EV_SYSCALL_ENTRY_ADDR
					    : CT_EV_SYSCALL_ENTRY,
				 t->pid, t->tid, cpu);
			e->u.syscall_entry.nr = nr;
			/* Each thread works on its own fds (threads racing on one fd number across
			 * a chunk boundary are a documented limit of fd naming). */
			e->u.syscall_entry.args[0] =
				nr == 202 ? 0x1000 + rn(3) * 8 : fd_of(i, rn(3));
			if (nr == 257) {
				e->u.syscall_entry_path.path = rn(2) ? "/data/a.db" : "/data/b.log";
				e->u.syscall_entry_path.path_len = 10;
			} else if (nr == 42) {
				static const uint8_t addr[16] = {2, 0, 0x1f, 0x90, 127, 0, 0, 1};

				e->u.syscall_entry_addr.addr = addr;
				e->u.syscall_entry_addr.addr_len = 16;
			}
			t->in_sc = 1;
			t->nr = nr;
		} else {
			e = push(s, CT_EV_SYSCALL_EXIT, t->pid, t->tid, cpu);
			e->u.syscall_exit.nr = t->nr;
			e->u.syscall_exit.ret = t->nr == 257 ? (int64_t)fd_of(i, rn(3))
						: rn(3)	     ? 0
							     : -11;
			t->in_sc = 0;
		}
		break;
	}
	case 3: /* block in the syscall (or a page fault) */
		switch_to(s, cpu, rn(2) ? 1 : 2, pick_runnable(s));
		break;
	case 4: /* preempted */
		if (pick_runnable(s) >= 0)
			switch_to(s, cpu, 0, pick_runnable(s));
		break;
	case 5: /* wake a blocked thread */
		for (int k = 0; k < NT; k++)
			if (s->t[k].state == 2 && rn(2)) {
				e = push(s, CT_EV_SCHED_WAKING, s->t[i].pid, s->t[i].tid, cpu);
				e->u.sched_waking.tid = s->t[k].tid;
				e->u.sched_waking.pid = s->t[k].pid;
				e->u.sched_waking.comm = "x";
				e->u.sched_waking.comm_len = 1;
				s->t[k].state = 1;
				break;
			}
		break;
	default:
		if (!s->t[i].in_sc)
			client(s, i);
		break;
	}
}

static void simulate(struct sim *s, size_t steps)
{
	memset(s, 0, sizeof(*s));
	s->ts = 1000000;
	for (int i = 0; i < NT; i++) {
		s->t[i].tid = 100 + i;
		s->t[i].pid = 100 + (i / 2) * 2; /* pairs of threads per process */
		s->t[i].state = 1;
		s->t[i].cpu = -1;
	}
	s->cur[0] = s->cur[1] = -1;
	for (int i = 0; i < 3; i++) {
		struct ct_event *e = push(s, CT_EV_PROCESS_INFO, 100 + i * 2, 100 + i * 2, -1);

		e->u.process_info.service = i ? "svc-b" : "svc-a";
		e->u.process_info.service_len = 5;
		e->u.process_info.sdk = "sim";
		e->u.process_info.sdk_len = 3;
	}
	for (size_t k = 0; k < steps; k++)
		step(s);
}

/* The workload as events.txt (CT_VERBOSE), to replay a failure with ct-mktrace/tools. */
static void dump_events(const struct sim *s, const uint64_t *cuts, size_t n_cuts)
{
	FILE *f = fopen("/tmp/ct-random-workload.txt", "w");

	if (!f)
		return;
	for (size_t i = 0; i < n_cuts; i++)
		fprintf(f, "!cut %llu\n", (unsigned long long)cuts[i]);
	for (size_t i = 0; i < s->n; i++) {
		const struct ct_event *e = &s->ev[i];

		fprintf(f, "%llu %d %d ", (unsigned long long)e->ts, e->pid, e->tid);
		switch (e->type) {
		case CT_EV_PROCESS_INFO:
			fprintf(f, "process_info service=%s\n", e->u.process_info.service);
			break;
		case CT_EV_SPAN_START:
			fprintf(f, "span_start trace_lo=%llu span_id=%llu parent_id=%llu name=%s\n",
				(unsigned long long)e->u.span_start.trace_lo,
				(unsigned long long)e->u.span_start.span_id,
				(unsigned long long)e->u.span_start.parent_id,
				e->u.span_start.name);
			break;
		case CT_EV_SPAN_END:
			fprintf(f, "span_end span_id=%llu\n",
				(unsigned long long)e->u.span_end.span_id);
			break;
		case CT_EV_SCOPE_ENTER:
			fprintf(f, "scope_enter span_id=%llu trace_lo=1\n",
				(unsigned long long)e->u.scope_enter.span_id);
			break;
		case CT_EV_SCOPE_EXIT:
			fprintf(f, "scope_exit span_id=%llu\n",
				(unsigned long long)e->u.scope_exit.span_id);
			break;
		case CT_EV_SYSCALL_ENTRY:
		case CT_EV_SYSCALL_ENTRY_PATH:
		case CT_EV_SYSCALL_ENTRY_ADDR:
			fprintf(f, "%s nr=%u args=%llu @cpu=%u%s\n",
				e->type == CT_EV_SYSCALL_ENTRY	      ? "syscall_entry"
				: e->type == CT_EV_SYSCALL_ENTRY_PATH ? "syscall_entry_path"
								      : "syscall_entry_addr",
				e->u.syscall_entry.nr,
				(unsigned long long)e->u.syscall_entry.args[0], e->cpu,
				e->type == CT_EV_SYSCALL_ENTRY_PATH   ? " path=/data/a.db"
				: e->type == CT_EV_SYSCALL_ENTRY_ADDR ? " addr=inet:127.0.0.1:8080"
								      : "");
			break;
		case CT_EV_SYSCALL_EXIT:
			fprintf(f, "syscall_exit nr=%u ret=%lld @cpu=%u\n", e->u.syscall_exit.nr,
				(long long)e->u.syscall_exit.ret, e->cpu);
			break;
		case CT_EV_SCHED_SWITCH:
			fprintf(f,
				"sched_switch prev_state=%u next_tid=%d next_pid=%d next_comm=%s "
				"@cpu=%u\n",
				e->u.sched_switch.prev_state, e->u.sched_switch.next_tid,
				e->u.sched_switch.next_pid, e->u.sched_switch.next_comm, e->cpu);
			break;
		case CT_EV_SCHED_WAKING:
			fprintf(f, "sched_waking tid=%d pid=%d comm=x%s @cpu=%u\n",
				e->u.sched_waking.tid, e->u.sched_waking.pid,
				e->u.sched_waking.flags ? " irq=1" : "", e->cpu);
			break;
		default:
			fprintf(f, "unknown\n");
			break;
		}
	}
	fclose(f);
}

static char *json_of(struct ct_partial *p)
{
	struct ct_buf b;
	struct ct_jsonw w;
	char *out;

	ct_buf_init(&b);
	ct_jsonw_init(&w, &b, 0);
	ct_result_json(p, &w, CT_OUT_ALL);
	out = ct_buf_steal(&b);
	ct_buf_fini(&b);
	return out;
}

static char *run(const struct ct_event *ev, size_t n, const uint64_t *cuts, size_t n_cuts, int g)
{
	struct ct_an_config cfg = {.keep_spans = 1,
				   .keep_history = 1,
				   .detail_all = 1,
				   .top_requests = 1000,
				   .settle_every = 7,
				   .loss_grace_ns = 20000000};
	struct ct_partial *p;
	char *out;

	if (ct_an_run(&cfg, ev, n, cuts, n_cuts, (enum ct_grouping)g, &p))
		return NULL;
	out = json_of(p);
	ct_partial_free(p);
	return out;
}

static void invariants(const char *json, const char *what)
{
	json_error_t jerr;
	json_t *doc = json_loads(json, 0, &jerr), *s;
	size_t i;

	CHECK(doc != NULL);
	json_array_foreach(json_object_get(doc, "spans"), i, s)
	{
		json_t *v;
		const char *k;
		long long sum = 0;

		json_object_foreach(json_object_get(s, "breakdown"), k, v) sum +=
			json_integer_value(v);
		if (sum != json_integer_value(json_object_get(s, "duration_ns")))
			T_FAIL("%s: a breakdown does not sum to its span's duration", what);
	}
	json_array_foreach(json_object_get(doc, "requests"), i, s)
	{
		json_t *seg;
		size_t j;
		long long sum = 0;

		json_array_foreach(json_object_get(json_object_get(s, "critical_path"), "segments"),
				   j, seg) sum +=
			json_integer_value(json_object_get(seg, "duration_ns"));
		if (json_is_object(json_object_get(s, "critical_path")) &&
		    sum != json_integer_value(json_object_get(s, "duration_ns")))
			T_FAIL("%s: a critical path does not sum to its request's latency", what);
	}
	json_decref(doc);
}

TEST(random_consistent_workloads_stitch_exactly)
{
	int workloads = getenv("CT_RANDOM_WORKLOADS") ? atoi(getenv("CT_RANDOM_WORKLOADS")) : 60;

	for (int w = 0; w < workloads; w++) {
		struct sim s;
		char *whole;

		simulate(&s, 150 + rn(300));
		whole = run(s.ev, s.n, NULL, 0, 0);
		CHECK(whole != NULL);
		if (!whole)
			break;
		invariants(whole, "whole");
		for (int v = 0; v < 6; v++) {
			uint64_t cuts[16];
			size_t n_cuts = 0;
			unsigned want = 1 + rn(10);

			for (unsigned k = 0; k < want; k++) {
				size_t i = 1 + rn((unsigned)(s.n - 1));
				uint64_t c =
					s.ev[i - 1].ts + 1 + rnd() % (s.ev[i].ts - s.ev[i - 1].ts);
				int dup = 0;

				for (size_t j = 0; j < n_cuts; j++)
					dup |= cuts[j] == c;
				if (!dup)
					cuts[n_cuts++] = c;
			}
			for (size_t a = 1; a < n_cuts; a++)
				for (size_t b = a; b > 0 && cuts[b - 1] > cuts[b]; b--) {
					uint64_t x = cuts[b];

					cuts[b] = cuts[b - 1];
					cuts[b - 1] = x;
				}
			for (int g = 0; g < 3; g++) {
				char *got = run(s.ev, s.n, cuts, n_cuts, g);

				if (!got || strcmp(got, whole)) {
					T_FAIL("workload %d (%zu events): %zu cuts, grouping %d: "
					       "result "
					       "differs from the whole trace's",
					       w, s.n, n_cuts, g);
					if (getenv("CT_VERBOSE") && got) {
						printf("--- cut\n%s\n--- whole\n%s\n", got, whole);
						dump_events(&s, cuts, n_cuts);
					}
					free(got);
					free(whole);
					free(s.ev);
					return;
				}
				free(got);
			}
		}
		free(whole);
		free(s.ev);
	}
}

TEST(random_inconsistent_workloads_still_analyse)
{
	for (int w = 0; w < 40; w++) {
		struct sim s;
		size_t k = 0;
		char *out;

		simulate(&s, 300);
		/* Lose events at random: the data no longer adds up. */
		for (size_t i = 0; i < s.n; i++)
			if (rn(8))
				s.ev[k++] = s.ev[i];
		out = run(s.ev, k, NULL, 0, 0);
		CHECK(out != NULL);
		if (out)
			invariants(out, "lossy");
		free(out);
		{
			uint64_t cut = s.ev[k / 2].ts;

			out = run(s.ev, k, &cut, 1, 1);
			CHECK(out != NULL);
			if (out)
				invariants(out, "lossy, cut");
			free(out);
		}
		free(s.ev);
	}
}

int main(void)
{
	if (getenv("CT_RANDOM_SEED"))
		rs = strtoull(getenv("CT_RANDOM_SEED"), NULL, 0) | 1;
	RUN(random_consistent_workloads_stitch_exactly);
	RUN(random_inconsistent_workloads_still_analyse);
	return test_main_end();
}
