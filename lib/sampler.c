// SPDX-License-Identifier: MIT
/*
 * Head samplers: always on/off, trace-id ratio (deterministic from the trace id, so every
 * service of a trace decides alike), parent-based wrappers, and a rate limiter admitting N
 * new traces per second. The limiter is a GCRA token bucket kept in one 64-bit word updated
 * by compare-and-swap: lock-free, thread-safe, and clock-free (the caller passes now_ns).
 */
#include <errno.h>
#include <math.h>
#include <strings.h>

#include "crosstrace/crosstrace.h"

#define TWO_POW_56 72057594037927936.0 /* 2^56 */
#define NS_PER_S 1e9
/* Longest gap between admissions (~31 years): keeps tat arithmetic far from overflow. */
#define MAX_INTERVAL_NS 1e18

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
};

int ct_sampler_kind_parse(const char *name, enum ct_sampler_kind *kind)
{
	if (!name || !kind)
		return -EINVAL;
	/* The OpenTelemetry environment spec reads enum values case-insensitively. */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(name, names[i].name)) {
			*kind = names[i].kind;
			return 0;
		}
	}
	return -EINVAL;
}

int ct_sampler_init(struct ct_sampler *s, enum ct_sampler_kind kind, double arg)
{
	struct ct_sampler n = {.kind = (int)kind, .arg = arg};

	if (!s)
		return -EINVAL;
	switch (kind) {
	case CT_SAMPLER_ALWAYS_ON:
	case CT_SAMPLER_ALWAYS_OFF:
	case CT_SAMPLER_PARENTBASED_ALWAYS_ON:
	case CT_SAMPLER_PARENTBASED_ALWAYS_OFF:
		break;
	case CT_SAMPLER_TRACEID_RATIO:
	case CT_SAMPLER_PARENTBASED_TRACEID_RATIO:
		if (!(arg >= 0.0 && arg <= 1.0)) /* also rejects NaN */
			return -EINVAL;
		/* Exact: scaling by a power of two loses nothing; 1.0 gives 2^56, above any id. */
		n.threshold = (uint64_t)(arg * TWO_POW_56);
		break;
	case CT_SAMPLER_RATE_LIMITED:
	case CT_SAMPLER_PARENTBASED_RATE_LIMITED: {
		double interval, burst;

		if (!(arg >= 0.0))
			return -EINVAL;
		if (arg == 0.0)
			break; /* admits nothing: interval_ns stays 0 and arg == 0 is checked */
		interval = NS_PER_S / arg;
		if (interval > MAX_INTERVAL_NS)
			interval = MAX_INTERVAL_NS;
		/* One second of traffic may come at once (at least one trace), as in Jaeger. */
		burst = arg > 1.0 ? arg : 1.0;
		n.interval_ns = (uint64_t)llround(interval);
		/* From the rounded interval, so that a full bucket holds exactly floor(burst). */
		n.tolerance_ns = (uint64_t)llround((burst - 1.0) * (double)n.interval_ns);
		n.tat = 0;
		break;
	}
	default:
		return -EINVAL;
	}
	*s = n;
	return 0;
}

/* Bytes 9..15 of the trace id, big-endian: the 56 bits W3C Level 2 makes random. */
static uint64_t trace_randomness(const uint8_t id[16])
{
	uint64_t r = 0;

	for (int i = 9; i < 16; i++)
		r = r << 8 | id[i];
	return r;
}

/*
 * Generic cell rate algorithm: tat is the time at which the bucket would be full again.
 * A request at now fits when tat - now <= tolerance; admitting it pushes tat one interval on.
 * Relaxed ordering is enough: tat is the whole state and publishes no other memory; the CAS
 * makes each admission consume exactly one interval even under contention.
 */
static int rate_admit(struct ct_sampler *s, uint64_t now_ns)
{
	uint64_t tat, base;

	if (s->arg == 0.0)
		return 0;
	tat = __atomic_load_n(&s->tat, __ATOMIC_RELAXED);
	do {
		base = tat > now_ns ? tat : now_ns;
		if (base - now_ns > s->tolerance_ns)
			return 0;
	} while (!__atomic_compare_exchange_n(&s->tat, &tat, base + s->interval_ns, 1,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return 1;
}

int ct_sampler_should_sample(struct ct_sampler *s, const uint8_t trace_id[16],
			     const struct ct_span_context *parent, uint64_t now_ns)
{
	int has_parent = ct_span_context_is_valid(parent);
	int parent_sampled = has_parent && (parent->trace_flags & CT_TRACE_FLAG_SAMPLED);

	if (!s)
		return 0;
	switch (s->kind) {
	case CT_SAMPLER_ALWAYS_ON:
		return 1;
	case CT_SAMPLER_ALWAYS_OFF:
		return 0;
	case CT_SAMPLER_TRACEID_RATIO:
		return trace_id && trace_randomness(trace_id) < s->threshold;
	case CT_SAMPLER_PARENTBASED_ALWAYS_ON:
		return has_parent ? parent_sampled : 1;
	case CT_SAMPLER_PARENTBASED_ALWAYS_OFF:
		return has_parent ? parent_sampled : 0;
	case CT_SAMPLER_PARENTBASED_TRACEID_RATIO:
		if (has_parent)
			return parent_sampled;
		return trace_id && trace_randomness(trace_id) < s->threshold;
	case CT_SAMPLER_RATE_LIMITED:
		/*
		 * Each trace entering this process (root or remote parent) takes a token; spans
		 * under a local parent follow it, or traces would break apart inside a process.
		 */
		if (has_parent && !parent->is_remote)
			return parent_sampled;
		return rate_admit(s, now_ns);
	case CT_SAMPLER_PARENTBASED_RATE_LIMITED:
		if (has_parent)
			return parent_sampled;
		return rate_admit(s, now_ns);
	default:
		return 0;
	}
}
