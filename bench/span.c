// SPDX-License-Identifier: MIT
/*
 * Benchmark (not a test): ns per span start + end with 4 attributes through libcrosstrace,
 * sampled and unsampled, on 1 and 2 threads, side by side in one run with an LTTng-UST
 * tracepoint carrying the same payload and with two clock_gettime calls (the floor, since
 * a span reads the clock at start and end). Prints ratios against the targets: a sampled
 * span <= 0.5x one LTTng-UST event, an unsampled span <= 2 ns. Run it with bench/run-span.sh,
 * which sets up an LTTng session so the tracepoint really records.
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

static long iters = 500000;

enum kind { FLOOR, CT_SPAN, LTTNG };

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
	uint64_t t0, t1, acc = 0;

	/* Warm up: the thread's ring and TLS exist before timing starts. */
	for (int i = 0; i < 1000; i++) {
		struct ct_span s;

		ct_span_start(&s, "GET /items", &o);
		ct_span_end(&s);
	}
	pthread_barrier_wait(r->go);
	t0 = now_ns();
	switch (r->kind) {
	case FLOOR:
		for (long i = 0; i < iters; i++)
			acc += ct_now_ns() + ct_now_ns();
		break;
	case CT_SPAN:
		for (long i = 0; i < iters; i++) {
			struct ct_span s;

			ct_span_start(&s, "GET /items", &o);
			ct_span_end(&s);
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
	}
	t1 = now_ns();
	sink = acc;
	r->ns = (double)(t1 - t0) / (double)iters;
	return NULL;
}

/* ns per operation per thread, averaged over the threads. */
static double measure(enum kind kind, int threads)
{
	pthread_t th[8];
	struct run r[8];
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
		fprintf(stderr, "span: ct_init(%s): %s\n", dir, ct_strerror(err));
	return err;
}

int main(int argc, char **argv)
{
	char dir[256];
	double floor1, floor2, s1, s2, u1, u2, l1, l2;
	struct ct_stats st;
	int lttng_on;

	if (argc > 1)
		iters = atol(argv[1]);
	snprintf(dir, sizeof(dir), "/tmp/ct-bench-span-%d", (int)getpid());

	floor1 = measure(FLOOR, 1);
	floor2 = measure(FLOOR, 2);

	if (start_tracer(CT_SAMPLER_ALWAYS_ON, dir))
		return 1;
	s1 = measure(CT_SPAN, 1);
	s2 = measure(CT_SPAN, 2);
	ct_flush();
	ct_stats_get(&st);
	ct_shutdown();

	if (start_tracer(CT_SAMPLER_ALWAYS_OFF, NULL))
		return 1;
	u1 = measure(CT_SPAN, 1);
	u2 = measure(CT_SPAN, 2);
	ct_shutdown();

	lttng_on = lttng_ust_tracepoint_enabled(ct_bench, span);
	l1 = measure(LTTNG, 1);
	l2 = measure(LTTNG, 2);

	printf("bench/span: %ld iterations per thread, ns per span (start + 4 attributes + end)\n",
	       iters);
	printf("%-44s %10s %10s\n", "", "1 thread", "2 threads");
	printf("%-44s %10.1f %10.1f\n", "floor: two clock_gettime (vDSO)", floor1, floor2);
	printf("%-44s %10.1f %10.1f\n", "crosstrace, sampled (recorded)", s1, s2);
	printf("%-44s %10.1f %10.1f\n", "crosstrace, unsampled", u1, u2);
	printf("%-44s %10.1f %10.1f\n",
	       lttng_on ? "LTTng-UST event, same payload (recording)"
			: "LTTng-UST event, same payload (NO SESSION)",
	       l1, l2);
	printf("\nsampled / LTTng-UST event: %.2fx (1 thread), %.2fx (2 threads); target <= 0.5x\n",
	       s1 / l1, s2 / l2);
	printf("unsampled: %.1f ns (1 thread), %.1f ns (2 threads); target <= 2 ns\n", u1, u2);
	printf("sampled run: %llu records, %llu dropped (ring %ld MiB per thread, drain every "
	       "20 ms)\n",
	       (unsigned long long)st.records, (unsigned long long)st.dropped, iters * 512 >> 20);
	if (!lttng_on)
		printf("note: no LTTng session had ct_bench:span enabled, so the LTTng column is "
		       "the "
		       "cost of a disabled tracepoint; run bench/run-span.sh\n");
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			fprintf(stderr, "span: could not remove %s\n", dir);
	}
	return 0;
}
