// SPDX-License-Identifier: MIT
/* Growable byte buffer (see buf.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void ct_buf_init(struct ct_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void ct_buf_fini(struct ct_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void ct_buf_reset(struct ct_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

int ct_buf_reserve(struct ct_buf *b, size_t n)
{
	size_t want, cap;
	char *p;

	if (b->oom)
		return -ENOMEM;
	want = b->len + n + 1; /* + NUL */
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->oom = 1;
		return -ENOMEM;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

void ct_buf_append(struct ct_buf *b, const void *p, size_t n)
{
	if (ct_buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
}

void ct_buf_puts(struct ct_buf *b, const char *s)
{
	ct_buf_append(b, s, strlen(s));
}

void ct_buf_putc(struct ct_buf *b, char c)
{
	ct_buf_append(b, &c, 1);
}

void ct_buf_vprintf(struct ct_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || ct_buf_reserve(b, (size_t)n))
		return;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void ct_buf_printf(struct ct_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ct_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *ct_buf_steal(struct ct_buf *b)
{
	char *p = b->oom ? NULL : b->data;

	if (b->oom)
		free(b->data);
	memset(b, 0, sizeof(*b));
	return p;
}
