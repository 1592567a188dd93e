/* SPDX-License-Identifier: MIT */
/*
 * A growable byte buffer. The caller owns the struct (init/fini); the buffer owns its data.
 * Appends report allocation failure once through ->oom and otherwise do nothing, so that a
 * long sequence of appends is checked once at the end. Not thread-safe.
 */
#ifndef CT_UTIL_BUF_H
#define CT_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct ct_buf {
	char *data; /* NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
	int oom; /* set when an allocation failed; further appends are ignored */
};

void ct_buf_init(struct ct_buf *b);
void ct_buf_fini(struct ct_buf *b);
void ct_buf_reset(struct ct_buf *b);
/* Makes room for n more bytes. Returns 0 or -ENOMEM. */
int ct_buf_reserve(struct ct_buf *b, size_t n);
void ct_buf_append(struct ct_buf *b, const void *p, size_t n);
void ct_buf_puts(struct ct_buf *b, const char *s);
void ct_buf_putc(struct ct_buf *b, char c);
void ct_buf_printf(struct ct_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ct_buf_vprintf(struct ct_buf *b, const char *fmt, va_list ap);
/* Takes the data out (caller frees it); b is left empty. NULL when empty or oom. */
char *ct_buf_steal(struct ct_buf *b);

#endif
