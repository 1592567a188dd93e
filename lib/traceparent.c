// SPDX-License-Identifier: MIT
/*
 * W3C Trace Context Level 1 traceparent: "version-traceid-parentid-flags" in lower-case hex.
 * Parsing follows section 3.2 of the Recommendation, including the forward-compatibility
 * rules for higher versions (3.2.4); formatting always writes version 00 with only the flags
 * this version defines. Also holds ct_span_context_is_valid, the validity rule both share.
 */
#include <errno.h>
#include <string.h>

#include "crosstrace/crosstrace.h"

/* Flags defined by version 00 (3.2.2.5): only "sampled"; the rest MUST be sent as zero. */
#define KNOWN_FLAGS CT_TRACE_FLAG_SAMPLED

static const char hexdig[] = "0123456789abcdef";

/* Value of a lower-case hex digit, or -1: upper case is not HEXDIGLC (3.2.2). */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes 2*n lower-case hex digits into n bytes; 0 or -1 on a non-hex character. */
static int unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static char *put_hex(char *p, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		*p++ = hexdig[b[i] >> 4];
		*p++ = hexdig[b[i] & 15];
	}
	return p;
}

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

int ct_span_context_is_valid(const struct ct_span_context *ctx)
{
	if (!ctx)
		return 0;
	return !all_zero(ctx->trace_id, sizeof(ctx->trace_id)) &&
	       !all_zero(ctx->span_id, sizeof(ctx->span_id));
}

int ct_traceparent_format(const struct ct_span_context *ctx, char *buf, size_t size)
{
	char *p = buf;
	uint8_t flags;

	if (!ct_span_context_is_valid(ctx) || !buf)
		return -EINVAL;
	if (size < CT_TRACEPARENT_LEN + 1)
		return CT_ETOOBIG;
	flags = ctx->trace_flags & KNOWN_FLAGS;
	*p++ = '0';
	*p++ = '0';
	*p++ = '-';
	p = put_hex(p, ctx->trace_id, sizeof(ctx->trace_id));
	*p++ = '-';
	p = put_hex(p, ctx->span_id, sizeof(ctx->span_id));
	*p++ = '-';
	p = put_hex(p, &flags, 1);
	*p = '\0';
	return CT_TRACEPARENT_LEN;
}

int ct_traceparent_parse(const char *value, size_t len, struct ct_span_context *out)
{
	struct ct_span_context c;
	uint8_t version, flags;

	if (!value || !out)
		return CT_EFORMAT;
	/*
	 * HTTP strips OWS around field values (RFC 7230 3.2.4) and the W3C test suite sends
	 * " \t00-...-01 \t" expecting it to be accepted; carriers that hand over the raw bytes
	 * get the same treatment here.
	 */
	while (len && is_ows(value[0])) {
		value++;
		len--;
	}
	while (len && is_ows(value[len - 1]))
		len--;

	/* 3.2.4: shorter than 55 characters, or a version that is not 2 hex + '-': restart. */
	if (len < CT_TRACEPARENT_LEN || value[2] != '-' || unhex(value, &version, 1))
		return CT_EFORMAT;
	if (version == 0xff) /* 3.2.2.1: version ff is forbidden */
		return CT_EFORMAT;
	/* 3.2.2.2: version 00 is exactly 55 characters; no extra fields. */
	if (version == 0x00 && len != CT_TRACEPARENT_LEN)
		return CT_EFORMAT;
	/*
	 * 3.2.4: a higher version is parsed with the version-00 layout when the flags are
	 * either the end of the string or followed by a dash; what follows is not parsed.
	 */
	if (len > CT_TRACEPARENT_LEN && value[CT_TRACEPARENT_LEN] != '-')
		return CT_EFORMAT;
	if (value[35] != '-' || value[52] != '-')
		return CT_EFORMAT;
	if (unhex(value + 3, c.trace_id, 16) || unhex(value + 36, c.span_id, 8) ||
	    unhex(value + 53, &flags, 1))
		return CT_EFORMAT;
	/* 3.2.2.3 and 3.2.2.4: all-zero ids are invalid. */
	if (all_zero(c.trace_id, 16) || all_zero(c.span_id, 8))
		return CT_EFORMAT;
	/* 3.2.2.5.2 and 4.3: unknown flags are not interpreted and are sent as zero. */
	c.trace_flags = flags & KNOWN_FLAGS;
	c.is_remote = 1;
	*out = c;
	return 0;
}
