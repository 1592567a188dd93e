// SPDX-License-Identifier: MIT
/* Streaming JSON writer (see jsonw.h). */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

void ct_jsonw_init(struct ct_jsonw *w, struct ct_buf *out, int pretty)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->pretty = pretty;
}

static void newline(struct ct_jsonw *w)
{
	if (!w->pretty)
		return;
	ct_buf_putc(w->out, '\n');
	for (int i = 0; i < w->depth; i++)
		ct_buf_append(w->out, "  ", 2);
}

/* Called before every value and key: commas and indentation. */
static void before_item(struct ct_jsonw *w, int is_key)
{
	(void)is_key; /* only checked by assert */
	if (w->after_key) {
		assert(!is_key);
		w->after_key = 0;
		return;
	}
	if (w->depth > 0) {
		assert(w->is_obj[w->depth - 1] == is_key);
		if (w->count[w->depth - 1])
			ct_buf_putc(w->out, ',');
		w->count[w->depth - 1] = 1;
		newline(w);
	}
}

static void open_container(struct ct_jsonw *w, char c, int is_obj)
{
	before_item(w, 0);
	ct_buf_putc(w->out, c);
	assert(w->depth < CT_JSONW_MAX_DEPTH);
	w->is_obj[w->depth] = (uint8_t)is_obj;
	w->count[w->depth] = 0;
	w->depth++;
}

static void close_container(struct ct_jsonw *w, char c)
{
	int had = w->count[w->depth - 1];

	assert(w->depth > 0 && !w->after_key);
	w->depth--;
	if (had)
		newline(w);
	ct_buf_putc(w->out, c);
}

void ct_jsonw_obj_begin(struct ct_jsonw *w)
{
	open_container(w, '{', 1);
}

void ct_jsonw_obj_end(struct ct_jsonw *w)
{
	close_container(w, '}');
}

void ct_jsonw_arr_begin(struct ct_jsonw *w)
{
	open_container(w, '[', 0);
}

void ct_jsonw_arr_end(struct ct_jsonw *w)
{
	close_container(w, ']');
}

/* Length of the valid UTF-8 sequence at s (max n bytes), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void ct_json_escape(struct ct_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	while (i < n) {
		unsigned c = p[i];
		size_t l;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			run++;
			i++;
			continue;
		}
		ct_buf_append(b, (const char *)p + i - run, run);
		run = 0;
		if (c >= 0x80) {
			l = utf8_len(p + i, n - i);
			if (l) {
				ct_buf_append(b, (const char *)p + i, l);
				i += l;
			} else {
				ct_buf_puts(b, "\\ufffd");
				i++;
			}
			continue;
		}
		switch (c) {
		case '"':
			ct_buf_puts(b, "\\\"");
			break;
		case '\\':
			ct_buf_puts(b, "\\\\");
			break;
		case '\n':
			ct_buf_puts(b, "\\n");
			break;
		case '\r':
			ct_buf_puts(b, "\\r");
			break;
		case '\t':
			ct_buf_puts(b, "\\t");
			break;
		default:
			ct_buf_printf(b, "\\u%04x", c);
		}
		i++;
	}
	ct_buf_append(b, (const char *)p + i - run, run);
}

void ct_jsonw_key(struct ct_jsonw *w, const char *key)
{
	before_item(w, 1);
	ct_buf_putc(w->out, '"');
	ct_json_escape(w->out, key, strlen(key));
	ct_buf_puts(w->out, w->pretty ? "\": " : "\":");
	w->after_key = 1;
}

void ct_jsonw_strn(struct ct_jsonw *w, const char *s, size_t n)
{
	before_item(w, 0);
	ct_buf_putc(w->out, '"');
	ct_json_escape(w->out, s, n);
	ct_buf_putc(w->out, '"');
}

void ct_jsonw_str(struct ct_jsonw *w, const char *s)
{
	if (!s) {
		ct_jsonw_null(w);
		return;
	}
	ct_jsonw_strn(w, s, strlen(s));
}

void ct_jsonw_int(struct ct_jsonw *w, int64_t v)
{
	before_item(w, 0);
	ct_buf_printf(w->out, "%" PRId64, v);
}

void ct_jsonw_uint(struct ct_jsonw *w, uint64_t v)
{
	before_item(w, 0);
	ct_buf_printf(w->out, "%" PRIu64, v);
}

void ct_jsonw_double(struct ct_jsonw *w, double v)
{
	char tmp[32];

	if (!isfinite(v)) {
		ct_jsonw_null(w);
		return;
	}
	before_item(w, 0);
	/* Shortest of %.15g / %.17g that reads back exactly. */
	snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		snprintf(tmp, sizeof(tmp), "%.17g", v);
	ct_buf_puts(w->out, tmp);
}

void ct_jsonw_bool(struct ct_jsonw *w, int v)
{
	before_item(w, 0);
	ct_buf_puts(w->out, v ? "true" : "false");
}

void ct_jsonw_null(struct ct_jsonw *w)
{
	before_item(w, 0);
	ct_buf_puts(w->out, "null");
}

void ct_jsonw_raw(struct ct_jsonw *w, const char *json)
{
	before_item(w, 0);
	ct_buf_puts(w->out, json);
}

void ct_jsonw_kstr(struct ct_jsonw *w, const char *key, const char *s)
{
	ct_jsonw_key(w, key);
	ct_jsonw_str(w, s);
}

void ct_jsonw_kint(struct ct_jsonw *w, const char *key, int64_t v)
{
	ct_jsonw_key(w, key);
	ct_jsonw_int(w, v);
}

void ct_jsonw_kuint(struct ct_jsonw *w, const char *key, uint64_t v)
{
	ct_jsonw_key(w, key);
	ct_jsonw_uint(w, v);
}

void ct_jsonw_kdouble(struct ct_jsonw *w, const char *key, double v)
{
	ct_jsonw_key(w, key);
	ct_jsonw_double(w, v);
}

void ct_jsonw_kbool(struct ct_jsonw *w, const char *key, int v)
{
	ct_jsonw_key(w, key);
	ct_jsonw_bool(w, v);
}
