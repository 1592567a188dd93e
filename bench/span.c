// SPDX-License-Identifier: MIT
/*
 * Benchmark (not a test): ns per span start + end with 4 attributes through libcrosstrace,
 * sampled and unsampled, and per scope enter + exit (which publishes the thread's context in
 * TLS), on 1 and 2 threads, side by side with an LTTng-UST tracepoint carrying the same
 * payload and with two clock_gettime calls (the floor: a span reads the clock at start and
 * end). Every case runs once per round, rounds interleaved; the table gives the median and
 * the range. Run it with bench/run-span.sh, which sets up an LTTng session so the tracepoint
 * really records.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crosstrace/crosstrace.h"
#include "span_tp.h"

#define MAX_ROUNDS 31

static long iters = 500000;
static int rounds = 5;

enum kind { FLOOR, SAMPLED, UNSAMPLED_ROOT, UNSAMPLED_CHILD, SCOPE, LTTNG, N_KINDS };

static const char *const kind_names[N_KINDS] = {
	[FLOOR] = "floor: two clock_gettime (vDSO)",
	[SAMPLED] = "span, sampled (recorded)",
	[UNSAMPLED_ROOT] = "span, unsampled root (always_off)",
	[UNSAMPLED_CHILD] = "span, unsampled child of unsampled parent",
	[SCOPE] = "scope enter + exit (TLS context published)",
	[LTTNG] = "LTTng-UST event, same payload",
};

struct run {
	enum kind kind;
	pthread_barrier_t *go;
	double ns; /* per operation, this thread */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile uint64_t sink;
/* An unsampled remote parent, as extracted from "traceparent: 00-...-00". */
static struct ct_span_context remote_unsampled;

static void *run_thread(void *arg)
{
	struct run *r = arg;
	struct ct_attr attrs[] = {
		CT_ATTR_STR("http.method", "GET"),
		CT_ATTR_I64("http.status_code", 200),
		CT_ATTR_F64("ratio", 0.25),
		CT_ATTR_BOOL("cached", 1),
	};
	struct ct_span_opts o = {.kind = CT_SPAN_KIND_SERVER, .attrs = attrs, .n_attrs = 4};
	struct ct_span scoped;
	uint64_t t0, t1, acc = 0;

	if (r->kind == UNSAMPLED_CHILD)
		o.parent = &remote_unsampled;
	/* Warm up: the thread's ring and TLS exist before timing starts. */
	for (int i = 0; i < 1000; i++) {
		struct ct_span s;

		ct_span_start(&s, "GET /items", &o);
		ct_span_end(&s);
	}
	ct_span_start(&scoped, "GET /items", &o);
	pthread_barrier_wait(r->go);
	t0 = now_ns();
	switch (r->kind) {
	case FLOOR:
		for (long i = 0; i < iters; i++)
			acc += ct_now_ns() + ct_now_ns();
		break;
	case SAMPLED:
	case UNSAMPLED_ROOT:
	case UNSAMPLED_CHILD:
		for (long i = 0; i < iters; i++) {
			struct ct_span s;

			ct_span_start(&s, "GET /items", &o);
			ct_span_end(&s);
		}
		break;
	case SCOPE:
		for (long i = 0; i < iters; i++) {
			ct_scope_enter(&scoped);
			ct_scope_exit();
		}
		break;
	case LTTNG:
		for (long i = 0; i < iters; i++) {
			struct ct_bench_span s = {
				0x1234, (uint64_t)i,  (uint64_t)i + 1, 0,   ct_now_ns(),
				0,	"GET /items", "GET",	       200, 0.25,
				1};

			s.end_ns = ct_now_ns();
			lttng_ust_tracepoint(ct_bench, span, &s);
		}
		break;
	case N_KINDS:
		break;
	}
	t1 = now_ns();
	ct_span_end(&scoped);
	sink = acc;
	r->ns = (double)(t1 - t0) / (double)iters;
	return NULL;
}

/* ns per operation per thread, averaged over the threads. */
static double measure(enum kind kind, int threads)
{
	pthread_t th[2];
	struct run r[2];
	pthread_barrier_t go;
	double sum = 0;

	pthread_barrier_init(&go, NULL, (unsigned)threads);
	for (int i = 0; i < threads; i++) {
		r[i] = (struct run){.kind = kind, .go = &go};
		pthread_create(&th[i], NULL, run_thread, &r[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		sum += r[i].ns;
	}
	pthread_barrier_destroy(&go);
	return sum / threads;
}

static int start_tracer(enum ct_sampler_kind sampler, const char *dir)
{
	struct ct_config cfg = {0};
	int err;

	cfg.service_name = "bench";
	cfg.sampler = sampler;
	cfg.output = dir;
	/* Room for every span of the run: measure recording, not dropping. */
	cfg.ring_bytes = (size_t)iters * 512;
	cfg.flush_ms = 20;
	err = ct_init(&cfg);
	if (err)
		fprintf(stderr, "span: ct_init(%s): %s\n", dir ? dir : "no output",
			ct_strerror(err));
	return err;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct cell {
	double v[MAX_ROUNDS];
	double med, min, max;
};

static void summarise(struct cell *c)
{
	double s[MAX_ROUNDS];

	memcpy(s, c->v, sizeof(double) * (size_t)rounds);
	qsort(s, (size_t)rounds, sizeof(double), cmp_double);
	c->min = s[0];
	c->max = s[rounds - 1];
	c->med = rounds % 2 ? s[rounds / 2] : (s[rounds / 2 - 1] + s[rounds / 2]) / 2;
}

int main(int argc, char **argv)
{
	static struct cell cells[N_KINDS][2];
	const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
	char dir[256];
	struct ct_stats st = {0}, one;
	int lttng_on;

	if (argc > 1)
		iters = atol(argv[1]);
	if (argc > 2)
		rounds = atoi(argv[2]);
	if (iters < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: %s [iterations >= 1] [rounds 1..%d]\n", argv[0],
			MAX_ROUNDS);
		return 2;
	}
	if (ct_traceparent_parse(tp, strlen(tp), &remote_unsampled))
		return 1;
	lttng_on = lttng_ust_tracepoint_enabled(ct_bench, span);
	for (int r = 0; r < rounds; r++) {
		for (int th = 0; th < 2; th++)
			cells[FLOOR][th].v[r] = measure(FLOOR, th + 1);

		snprintf(dir, sizeof(dir), "/tmp/ct-bench-span-%d-%d", (int)getpid(), r);
		if (start_tracer(CT_SAMPLER_ALWAYS_ON, dir))
			return 1;
		for (int th = 0; th < 2; th++)
			cells[SAMPLED][th].v[r] = measure(SAMPLED, th + 1);
		ct_flush();
		ct_stats_get(&one);
		ct_shutdown();
		st.records += one.records;
		st.dropped += one.dropped;
		{
			char cmd[300];

			snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
			if (system(cmd))
				fprintf(stderr, "span: could not remove %s\n", dir);
		}

		if (start_tracer(CT_SAMPLER_ALWAYS_OFF, NULL))
			return 1;
		for (int th = 0; th < 2; th++)
			cells[UNSAMPLED_ROOT][th].v[r] = measure(UNSAMPLED_ROOT, th + 1);
		ct_shutdown();

		/* The OpenTelemetry default sampler, under an unsampled caller. */
		if (start_tracer(CT_SAMPLER_PARENTBASED_ALWAYS_ON, NULL))
			return 1;
		for (int th = 0; th < 2; th++)
			cells[UNSAMPLED_CHILD][th].v[r] = measure(UNSAMPLED_CHILD, th + 1);
		for (int th = 0; th < 2; th++)
			cells[SCOPE][th].v[r] = measure(SCOPE, th + 1);
		ct_shutdown();

		for (int th = 0; th < 2; th++)
			cells[LTTNG][th].v[r] = measure(LTTNG, th + 1);
	}
	for (int k = 0; k < N_KINDS; k++)
		for (int th = 0; th < 2; th++)
			summarise(&cells[k][th]);

	printf("bench/span: %ld iterations per thread and case, %d interleaved rounds; ns per "
	       "operation,\nmedian [min-max] over the rounds; a span is start + 4 attributes + "
	       "end\n",
	       iters, rounds);
	printf("%-44s %22s %22s\n", "", "1 thread", "2 threads");
	for (int k = 0; k < N_KINDS; k++) {
		char a[2][64];

		for (int th = 0; th < 2; th++)
			snprintf(a[th], sizeof(a[th]), "%.1f [%.1f-%.1f]", cells[k][th].med,
				 cells[k][th].min, cells[k][th].max);
		printf("%-44s %22s %22s%s\n", kind_names[k], a[0], a[1],
		       k == LTTNG && !lttng_on ? "  (NO SESSION: disabled tracepoint)" : "");
	}
	printf("\nsampled / LTTng-UST event (medians): %.2fx (1 thread), %.2fx (2 threads); "
	       "target <= 0.5x\n",
	       cells[SAMPLED][0].med / cells[LTTNG][0].med,
	       cells[SAMPLED][1].med / cells[LTTNG][1].med);
	/* On a shared machine the minimum is each case's cost with the least interference. */
	printf("sampled / LTTng-UST event (minimums): %.2fx (1 thread), %.2fx (2 threads)\n",
	       cells[SAMPLED][0].min / cells[LTTNG][0].min,
	       cells[SAMPLED][1].min / cells[LTTNG][1].min);
	printf("sampled - floor (medians): %.1f ns (1 thread), %.1f ns (2 threads)\n",
	       cells[SAMPLED][0].med - cells[FLOOR][0].med,
	       cells[SAMPLED][1].med - cells[FLOOR][1].med);
	printf("unsampled root / child (medians): %.1f / %.1f ns (1 thread), %.1f / %.1f ns "
	       "(2 threads); target <= 2 ns\n",
	       cells[UNSAMPLED_ROOT][0].med, cells[UNSAMPLED_CHILD][0].med,
	       cells[UNSAMPLED_ROOT][1].med, cells[UNSAMPLED_CHILD][1].med);
	printf("sampled runs: %llu records, %llu dropped (ring %ld MiB per thread, drain every "
	       "20 ms)\n",
	       (unsigned long long)st.records, (unsigned long long)st.dropped, iters * 512 >> 20);
	if (!lttng_on)
		printf("note: no LTTng session had ct_bench:span enabled, so the LTTng row is the "
		       "cost of a disabled tracepoint; run bench/run-span.sh\n");
	return 0;
}
