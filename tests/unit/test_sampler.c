// SPDX-License-Identifier: MIT
/*
 * Samplers: OTEL_TRACES_SAMPLER names, argument checks, the trace-id ratio sampler's
 * statistics over 1e6 random ids and its consistency across instances, parent-based rules for
 * remote and local parents, and the rate limiter on a simulated clock, alone and from 4
 * threads at once (also run under ThreadSanitizer).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/random.h>

#include "crosstrace/crosstrace.h"
#include "test.h"

static uint64_t rng_s[2];

/* xorshift128+, seeded from getrandom (seed printed so a failure can be replayed). */
static uint64_t rng(void)
{
	uint64_t a = rng_s[0], b = rng_s[1];

	rng_s[0] = b;
	a ^= a << 23;
	rng_s[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
	return rng_s[1] + b;
}

static void random_id(uint8_t id[16])
{
	uint64_t a = rng(), b = rng();

	memcpy(id, &a, 8);
	memcpy(id + 8, &b, 8);
}

/* An id whose bytes 9..15 hold r (big-endian) and whose other bytes are random. */
static void id_with_low56(uint8_t id[16], uint64_t r)
{
	random_id(id);
	for (int i = 15; i >= 9; i--, r >>= 8)
		id[i] = (uint8_t)r;
}

TEST(kind_names)
{
	static const struct {
		const char *name;
		enum ct_sampler_kind kind;
	} names[] = {
		{"always_on", CT_SAMPLER_ALWAYS_ON},
		{"always_off", CT_SAMPLER_ALWAYS_OFF},
		{"traceidratio", CT_SAMPLER_TRACEID_RATIO},
		{"parentbased_always_on", CT_SAMPLER_PARENTBASED_ALWAYS_ON},
		{"parentbased_always_off", CT_SAMPLER_PARENTBASED_ALWAYS_OFF},
		{"parentbased_traceidratio", CT_SAMPLER_PARENTBASED_TRACEID_RATIO},
		{"ratelimited", CT_SAMPLER_RATE_LIMITED},
		{"parentbased_ratelimited", CT_SAMPLER_PARENTBASED_RATE_LIMITED},
		{"ParentBased_TraceIdRatio", CT_SAMPLER_PARENTBASED_TRACEID_RATIO},
		{"ALWAYS_OFF", CT_SAMPLER_ALWAYS_OFF},
	};
	enum ct_sampler_kind k;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		k = (enum ct_sampler_kind)99;
		CHECK_INT(ct_sampler_kind_parse(names[i].name, &k), 0);
		CHECK_INT(k, names[i].kind);
	}
	k = CT_SAMPLER_ALWAYS_OFF;
	CHECK_INT(ct_sampler_kind_parse("jaeger_remote", &k), -EINVAL);
	CHECK_INT(ct_sampler_kind_parse("always_on ", &k), -EINVAL);
	CHECK_INT(ct_sampler_kind_parse("", &k), -EINVAL);
	CHECK_INT(ct_sampler_kind_parse(NULL, &k), -EINVAL);
	CHECK_INT(k, CT_SAMPLER_ALWAYS_OFF);
}

TEST(init_arguments)
{
	struct ct_sampler s;

	CHECK_INT(ct_sampler_init(&s, CT_SAMPLER_TRACEID_RATIO, -0.01), -EINVAL);
	CHECK_INT(ct_sampler_init(&s, CT_SAMPLER_TRACEID_RATIO, 1.01), -EINVAL);
	CHECK_INT(ct_sampler_init(&s, CT_SAMPLER_PARENTBASED_TRACEID_RATIO, NAN), -EINVAL);
	CHECK_INT(ct_sampler_init(&s, CT_SAMPLER_RATE_LIMITED, -1), -EINVAL);
	CHECK_INT(ct_sampler_init(&s, CT_SAMPLER_PARENTBASED_RATE_LIMITED, NAN), -EINVAL);
	CHECK_INT(ct_sampler_init(&s, (enum ct_sampler_kind)42, 0), -EINVAL);
	CHECK_INT(ct_sampler_init(NULL, CT_SAMPLER_ALWAYS_ON, 0), -EINVAL);
	CHECK_INT(ct_sampler_init(&s, CT_SAMPLER_TRACEID_RATIO, 0), 0);
	CHECK_INT(ct_sampler_init(&s, CT_SAMPLER_TRACEID_RATIO, 1), 0);
	CHECK_INT(ct_sampler_init(&s, CT_SAMPLER_RATE_LIMITED, 0), 0);
	CHECK_INT(ct_sampler_init(&s, CT_SAMPLER_RATE_LIMITED, 1e12), 0);
}

TEST(always)
{
	struct ct_sampler on, off;
	uint8_t id[16];
	int n_on = 0, n_off = 0;

	CHECK_INT(ct_sampler_init(&on, CT_SAMPLER_ALWAYS_ON, 0), 0);
	CHECK_INT(ct_sampler_init(&off, CT_SAMPLER_ALWAYS_OFF, 0), 0);
	for (int i = 0; i < 1000; i++) {
		random_id(id);
		n_on += ct_sampler_should_sample(&on, id, NULL, 0);
		n_off += ct_sampler_should_sample(&off, id, NULL, 0);
	}
	CHECK_INT(n_on, 1000);
	CHECK_INT(n_off, 0);
}

/*
 * Over n random ids the number sampled is Binomial(n, p): within 5 standard deviations
 * (a false alarm has probability below 1e-6 per ratio).
 */
TEST(ratio_statistics)
{
	static const double ps[] = {0.0001, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999};
	const int n = 1000000;
	uint8_t id[16];

	for (size_t j = 0; j < sizeof(ps) / sizeof(ps[0]); j++) {
		struct ct_sampler s;
		double p = ps[j], sigma = sqrt(n * p * (1 - p)), got = 0;

		CHECK_INT(ct_sampler_init(&s, CT_SAMPLER_TRACEID_RATIO, p), 0);
		for (int i = 0; i < n; i++) {
			random_id(id);
			got += ct_sampler_should_sample(&s, id, NULL, 0);
		}
		printf("ratio %-7g sampled %8.0f of %d (expected %.0f, sigma %.1f)\n", p, got, n,
		       n * p, sigma);
		CHECK_NEAR(got, n * p, 5 * sigma);
	}
	/* 0 and 1 are exact. */
	{
		struct ct_sampler z, o;
		int nz = 0, no = 0;

		ct_sampler_init(&z, CT_SAMPLER_TRACEID_RATIO, 0);
		ct_sampler_init(&o, CT_SAMPLER_TRACEID_RATIO, 1);
		for (int i = 0; i < 100000; i++) {
			random_id(id);
			nz += ct_sampler_should_sample(&z, id, NULL, 0);
			no += ct_sampler_should_sample(&o, id, NULL, 0);
		}
		id_with_low56(id, 0);
		nz += ct_sampler_should_sample(&z, id, NULL, 0);
		id_with_low56(id, (1ull << 56) - 1);
		no += ct_sampler_should_sample(&o, id, NULL, 0);
		CHECK_INT(nz, 0);
		CHECK_INT(no, 100001);
	}
}

/*
 * The decision is "lower 56 bits of the trace id (bytes 9..15, big-endian) < p * 2^56":
 * check the boundary exactly, and that bytes 0..8 never matter.
 */
TEST(ratio_uses_low_56_bits)
{
	static const double ps[] = {0.5, 0.25, 0.1, 1.0 / 3, 0.999};
	uint8_t id[16];

	for (size_t j = 0; j < sizeof(ps) / sizeof(ps[0]); j++) {
		struct ct_sampler s;
		uint64_t t = (uint64_t)ldexp(ps[j], 56);

		ct_sampler_init(&s, CT_SAMPLER_TRACEID_RATIO, ps[j]);
		for (int i = 0; i < 100; i++) {
			id_with_low56(id, t - 1);
			CHECK_INT(ct_sampler_should_sample(&s, id, NULL, 0), 1);
			id_with_low56(id, t);
			CHECK_INT(ct_sampler_should_sample(&s, id, NULL, 0), 0);
			id_with_low56(id, rng() >> 8);
			{
				int d = ct_sampler_should_sample(&s, id, NULL, 0);

				for (int b = 0; b <= 8; b++) {
					id[b] ^= (uint8_t)(1 + rng() % 255);
					CHECK_INT(ct_sampler_should_sample(&s, id, NULL, 0), d);
				}
			}
		}
	}
}

/*
 * Consistency across services: independent instances with the same ratio decide alike, and
 * a trace sampled at a lower ratio is sampled at every higher one (the OpenTelemetry
 * TraceIdRatioBased requirement).
 */
TEST(ratio_consistency)
{
	struct ct_sampler a, b, pb, lo, hi;
	uint8_t id[16];
	int mismatches = 0, not_nested = 0;

	ct_sampler_init(&a, CT_SAMPLER_TRACEID_RATIO, 0.3);
	ct_sampler_init(&b, CT_SAMPLER_TRACEID_RATIO, 0.3);
	ct_sampler_init(&pb, CT_SAMPLER_PARENTBASED_TRACEID_RATIO, 0.3);
	ct_sampler_init(&lo, CT_SAMPLER_TRACEID_RATIO, 0.1);
	ct_sampler_init(&hi, CT_SAMPLER_TRACEID_RATIO, 0.6);
	for (int i = 0; i < 200000; i++) {
		int da, dlo;

		random_id(id);
		da = ct_sampler_should_sample(&a, id, NULL, 0);
		mismatches += da != ct_sampler_should_sample(&b, id, NULL, 0);
		mismatches += da != ct_sampler_should_sample(&pb, id, NULL, 0);
		dlo = ct_sampler_should_sample(&lo, id, NULL, 0);
		not_nested += dlo && !da;
		not_nested += da && !ct_sampler_should_sample(&hi, id, NULL, 0);
	}
	CHECK_INT(mismatches, 0);
	CHECK_INT(not_nested, 0);
}

static struct ct_span_context parent_ctx(int sampled, int remote)
{
	struct ct_span_context c;

	random_id(c.trace_id);
	c.trace_id[0] |= 1;
	memset(c.span_id, 0x5a, sizeof(c.span_id));
	c.trace_flags = sampled ? CT_TRACE_FLAG_SAMPLED | 0x02 : 0x02;
	c.is_remote = (uint8_t)remote;
	return c;
}

/* ParentBased: remote and local parents' sampled flags decide; roots use the inner sampler. */
TEST(parent_based)
{
	static const struct {
		enum ct_sampler_kind kind;
		double arg;
		int root; /* expected decision for a root */
	} cases[] = {
		{CT_SAMPLER_PARENTBASED_ALWAYS_ON, 0, 1},
		{CT_SAMPLER_PARENTBASED_ALWAYS_OFF, 0, 0},
		{CT_SAMPLER_PARENTBASED_TRACEID_RATIO, 0, 0},
		{CT_SAMPLER_PARENTBASED_TRACEID_RATIO, 1, 1},
		{CT_SAMPLER_PARENTBASED_RATE_LIMITED, 0, 0},
		{CT_SAMPLER_PARENTBASED_RATE_LIMITED, 1e9, 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ct_sampler s;
		struct ct_span_context invalid = {0};

		CHECK_INT(ct_sampler_init(&s, cases[i].kind, cases[i].arg), 0);
		for (int remote = 0; remote <= 1; remote++) {
			for (int sampled = 0; sampled <= 1; sampled++) {
				struct ct_span_context p = parent_ctx(sampled, remote);

				for (int r = 0; r < 50; r++) {
					uint8_t id[16];

					random_id(id);
					if (ct_sampler_should_sample(&s, id, &p, 1000) != sampled)
						T_FAIL("kind %d arg %g remote %d sampled %d: "
						       "parent not followed",
						       cases[i].kind, cases[i].arg, remote,
						       sampled);
				}
			}
		}
		/* A NULL or invalid parent is a root. */
		{
			uint8_t id[16];

			random_id(id);
			CHECK_INT(ct_sampler_should_sample(&s, id, NULL, 1000), cases[i].root);
			invalid.trace_flags = CT_TRACE_FLAG_SAMPLED;
			invalid.is_remote = 1;
			CHECK_INT(ct_sampler_should_sample(&s, id, &invalid, 2000), cases[i].root);
		}
	}
}

/* The non-parent-based samplers ignore the parent (OpenTelemetry semantics). */
TEST(non_parent_based_ignore_parent)
{
	struct ct_sampler off, r0;
	struct ct_span_context p = parent_ctx(1, 1);
	uint8_t id[16];

	ct_sampler_init(&off, CT_SAMPLER_ALWAYS_OFF, 0);
	ct_sampler_init(&r0, CT_SAMPLER_TRACEID_RATIO, 0);
	random_id(id);
	CHECK_INT(ct_sampler_should_sample(&off, id, &p, 0), 0);
	CHECK_INT(ct_sampler_should_sample(&r0, id, &p, 0), 0);
	p.is_remote = 0;
	CHECK_INT(ct_sampler_should_sample(&r0, id, &p, 0), 0);
}

/* Heavy demand: one request every step_ns for seconds simulated seconds from t0. */
static long simulate(struct ct_sampler *s, uint64_t t0, double seconds, uint64_t step_ns)
{
	uint8_t id[16] = {1};
	long admitted = 0;
	uint64_t end = t0 + (uint64_t)(seconds * 1e9);

	for (uint64_t t = t0; t < end; t += step_ns)
		admitted += ct_sampler_should_sample(s, id, NULL, t);
	return admitted;
}

/* Token bucket on a simulated clock: rate * 10 s +- burst, never more. */
TEST(rate_limiter_simulated)
{
	static const double rates[] = {0.5, 1, 7, 100, 2500.5};

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		struct ct_sampler s;
		double rate = rates[i], burst = rate > 1 ? rate : 1;
		long got;

		CHECK_INT(ct_sampler_init(&s, CT_SAMPLER_RATE_LIMITED, rate), 0);
		/* 10 s with 20 requests per admission interval. */
		got = simulate(&s, 5000000000ull, 10, (uint64_t)(1e9 / rate / 20));
		printf("rate %-7g admitted %ld in 10 s (expected %.0f +- %.0f)\n", rate, got,
		       10 * rate, burst);
		CHECK_NEAR((double)got, 10 * rate, burst);
		/* After a long idle time the bucket holds at most one burst. */
		{
			long again = simulate(&s, 1000000000000ull, 1e-5, 1);

			CHECK_NEAR((double)again, burst, 1);
		}
	}
	/* Demand below the rate is never limited. */
	{
		struct ct_sampler s;

		ct_sampler_init(&s, CT_SAMPLER_RATE_LIMITED, 100);
		CHECK_INT(simulate(&s, 0, 10, 20000000), 500);
	}
	/* Rate 0 admits nothing. */
	{
		struct ct_sampler s;

		ct_sampler_init(&s, CT_SAMPLER_PARENTBASED_RATE_LIMITED, 0);
		CHECK_INT(simulate(&s, 0, 1, 1000000), 0);
	}
}

/*
 * ratelimited limits traces entering the process: roots and remote parents take tokens,
 * local parents are followed without taking one. parentbased_ratelimited follows any parent.
 */
TEST(rate_limiter_parents)
{
	struct ct_sampler s, pb;
	struct ct_span_context remote = parent_ctx(1, 1), local = parent_ctx(1, 0);
	struct ct_span_context local_off = parent_ctx(0, 0), remote_off = parent_ctx(0, 1);
	uint8_t id[16] = {1};
	int admitted = 0;

	ct_sampler_init(&s, CT_SAMPLER_RATE_LIMITED, 1); /* burst 1 */
	ct_sampler_init(&pb, CT_SAMPLER_PARENTBASED_RATE_LIMITED, 1);
	/* Local parents never consume: the root token is still there afterwards. */
	for (int i = 0; i < 100; i++) {
		CHECK_INT(ct_sampler_should_sample(&s, id, &local, 1000), 1);
		CHECK_INT(ct_sampler_should_sample(&s, id, &local_off, 1000), 0);
	}
	CHECK_INT(ct_sampler_should_sample(&s, id, &remote_off, 1000), 1);
	/* The token is gone: remote parents and roots are refused until a second passes. */
	admitted += ct_sampler_should_sample(&s, id, &remote, 1001);
	admitted += ct_sampler_should_sample(&s, id, NULL, 1002);
	CHECK_INT(admitted, 0);
	CHECK_INT(ct_sampler_should_sample(&s, id, NULL, 1000001000), 1);
	/* Parent-based: remote decisions are honoured and cost nothing. */
	for (int i = 0; i < 100; i++) {
		CHECK_INT(ct_sampler_should_sample(&pb, id, &remote, 1000), 1);
		CHECK_INT(ct_sampler_should_sample(&pb, id, &remote_off, 1000), 0);
	}
	CHECK_INT(ct_sampler_should_sample(&pb, id, NULL, 1000), 1);
	CHECK_INT(ct_sampler_should_sample(&pb, id, NULL, 1000), 0);
}

/* ---- concurrency ---- */

#define THREADS 4
#define CALLS_PER_THREAD 250000
#define STEP_NS 10000 /* each call advances the shared simulated clock by 10 us */
#define RATE 1000.0

static struct ct_sampler shared;
static _Atomic uint64_t sim_clock;
static atomic_long admitted_total;
static pthread_barrier_t start_line;

static void *hammer(void *arg)
{
	uint8_t id[16] = {1};
	long mine = 0;

	(void)arg;
	pthread_barrier_wait(&start_line);
	for (int i = 0; i < CALLS_PER_THREAD; i++) {
		uint64_t now = atomic_fetch_add_explicit(&sim_clock, STEP_NS, memory_order_relaxed);

		mine += ct_sampler_should_sample(&shared, id, NULL, now);
	}
	atomic_fetch_add(&admitted_total, mine);
	return NULL;
}

/*
 * 4 threads share one limiter and one simulated clock (1e6 calls over 10 simulated seconds):
 * the total admitted never exceeds burst + rate * elapsed, and heavy demand gets the rate.
 */
TEST(rate_limiter_threads)
{
	pthread_t th[THREADS];
	const uint64_t t0 = 77000000000ull;
	double elapsed, upper, lower;
	long total;

	CHECK_INT(ct_sampler_init(&shared, CT_SAMPLER_RATE_LIMITED, RATE), 0);
	atomic_store(&sim_clock, t0);
	atomic_store(&admitted_total, 0);
	pthread_barrier_init(&start_line, NULL, THREADS);
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&th[i], NULL, hammer, NULL)) {
			T_FAIL("pthread_create failed");
			return;
		}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start_line);
	total = atomic_load(&admitted_total);
	elapsed = (double)(atomic_load(&sim_clock) - t0) / 1e9;
	upper = RATE /* burst */ + RATE * elapsed + 1;
	lower = RATE * elapsed - RATE;
	printf("4 threads: %ld admitted over %.2f simulated s (bound %.0f)\n", total, elapsed,
	       upper);
	CHECK((double)total <= upper);
	CHECK((double)total >= lower);
}

int main(void)
{
	if (getrandom(rng_s, sizeof(rng_s), 0) != sizeof(rng_s)) {
		rng_s[0] = 0x853c49e6748fea9bull;
		rng_s[1] = 0xda3e39cb94b95bdbull;
	}
	rng_s[0] |= 1;
	printf("seed %016" PRIx64 " %016" PRIx64 "\n", rng_s[0], rng_s[1]);
	RUN(kind_names);
	RUN(init_arguments);
	RUN(always);
	RUN(ratio_statistics);
	RUN(ratio_uses_low_56_bits);
	RUN(ratio_consistency);
	RUN(parent_based);
	RUN(non_parent_based_ignore_parent);
	RUN(rate_limiter_simulated);
	RUN(rate_limiter_parents);
	RUN(rate_limiter_threads);
	return test_main_end();
}
