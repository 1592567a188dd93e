// SPDX-License-Identifier: MIT
/*
 * ct_config_from_env: the tracer's configuration from the standard OpenTelemetry variables
 * (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER[_ARG]) and crosstrace's
 * own (CROSSTRACE_OUTPUT, _RING_BYTES, _FLUSH_MS, _ROTATE_BYTES, _ROTATE_MS).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crosstrace/crosstrace.h"

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

/* An unsigned number with an optional K/M/G (binary) suffix. Returns 0 or -EINVAL. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s)
		return 0;
	errno = 0;
	if (s[0] == '-')
		return -EINVAL;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		end++;
		break;
	default:
		break;
	}
	if (*end == 'i' || *end == 'B' || *end == 'b') /* "KiB", "MB" */
		end += (end[0] == 'i' && (end[1] == 'B' || end[1] == 'b')) ? 2 : 1;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

int ct_config_from_env(struct ct_config *cfg)
{
	const char *v;
	uint64_t n;
	int err = 0;
	enum ct_sampler_kind kind;

	memset(cfg, 0, sizeof(*cfg));
	cfg->service_name = env("OTEL_SERVICE_NAME");
	cfg->resource_attrs = env("OTEL_RESOURCE_ATTRIBUTES");
	cfg->output = env("CROSSTRACE_OUTPUT");
	cfg->sampler = CT_SAMPLER_PARENTBASED_ALWAYS_ON;
	cfg->ring_bytes = 1u << 20;
	cfg->flush_ms = 20; /* a busy thread fills 1 MiB in ~20 ms before the period adapts */

	v = env("OTEL_TRACES_SAMPLER");
	if (v) {
		if (ct_sampler_kind_parse(v, &kind) == 0)
			cfg->sampler = kind;
		else
			err = -EINVAL;
	}
	/* OpenTelemetry's default ratio is 1.0; a rate limiter defaults to 100 traces/s. */
	cfg->sampler_arg = (cfg->sampler == CT_SAMPLER_RATE_LIMITED ||
			    cfg->sampler == CT_SAMPLER_PARENTBASED_RATE_LIMITED)
				   ? 100.0
				   : 1.0;
	v = env("OTEL_TRACES_SAMPLER_ARG");
	if (v) {
		char *end;
		double d;

		errno = 0;
		d = strtod(v, &end);
		if (errno || end == v || *end || d < 0)
			err = -EINVAL;
		else
			cfg->sampler_arg = d;
	}
	n = cfg->ring_bytes;
	if (parse_size(env("CROSSTRACE_RING_BYTES"), &n) || n == 0)
		err = -EINVAL;
	else
		cfg->ring_bytes = (size_t)n;
	n = cfg->flush_ms;
	if (parse_size(env("CROSSTRACE_FLUSH_MS"), &n) || n == 0 || n > 3600000)
		err = -EINVAL;
	else
		cfg->flush_ms = (uint32_t)n;
	if (parse_size(env("CROSSTRACE_ROTATE_BYTES"), &cfg->rotate_bytes))
		err = -EINVAL;
	if (parse_size(env("CROSSTRACE_ROTATE_MS"), &cfg->rotate_ms))
		err = -EINVAL;
	return err;
}
