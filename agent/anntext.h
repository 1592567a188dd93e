/* SPDX-License-Identifier: MIT */
/*
 * Text of annotation attributes, written without printf: the annotator formats a few texts
 * for every span it annotates, and vfprintf's format parsing was a measurable share of the
 * agent's cost per span. Each writer gives exactly the bytes its printf format would (the
 * unit test compares them with snprintf), truncated the way snprintf truncates.
 */
#ifndef CT_AGENT_ANNTEXT_H
#define CT_AGENT_ANNTEXT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/decimal.h"

/*
 * A bounded writer over out[0..size): what does not fit is cut (size >= 1: the text is
 * always NUL-terminated). Caller owns the buffer; no allocation; thread-safe per writer.
 * Inline: a span's texts take a dozen pieces, and the calls were a good part of their cost.
 */
struct ct_anntext {
	char *p, *end; /* end: the byte kept for the NUL */
	char *start;
};

static inline void ct_anntext_init(struct ct_anntext *w, char *out, size_t size)
{
	w->start = w->p = out;
	w->end = out + size - 1;
}

static inline void ct_anntext_put(struct ct_anntext *w, const char *s, size_t n)
{
	size_t room = (size_t)(w->end - w->p);

	if (n > room)
		n = room;
	memcpy(w->p, s, n);
	w->p += n;
}

/* "%s" */
static inline void ct_anntext_str(struct ct_anntext *w, const char *s)
{
	ct_anntext_put(w, s, strlen(s));
}

/* "%" PRIu64, "%u" */
static inline void ct_anntext_u64(struct ct_anntext *w, uint64_t v)
{
	char d[CT_DECIMAL_MAX], *b = ct_decimal(d + sizeof(d), v, 0);

	ct_anntext_put(w, b, (size_t)(d + sizeof(d) - b));
}

/* "%" PRId64, "%d" */
static inline void ct_anntext_i64(struct ct_anntext *w, int64_t v)
{
	char d[CT_DECIMAL_MAX], *b = ct_decimal(d + sizeof(d), ct_decimal_abs(v), v < 0);

	ct_anntext_put(w, b, (size_t)(d + sizeof(d) - b));
}

/* NUL-terminates and returns the length written (without the NUL). */
static inline size_t ct_anntext_end(struct ct_anntext *w)
{
	*w->p = 0;
	return (size_t)(w->p - w->start);
}

/*
 * The annotation's texts (snprintf(out, size, <format>, ...) equivalents; they return the
 * length written, not the length wanted):
 * attribution: "process: the span carries no thread.id, so the kernel activity of every
 * thread of pid %d counts"; note: "no kernel activity of pid %d was recorded during the
 * span (is the process watched?)"; cause: "%u%% %s: %s" (percent, category, text).
 */
size_t ct_anntext_attribution(char *out, size_t size, int pid);
size_t ct_anntext_note(char *out, size_t size, int pid);
size_t ct_anntext_cause(char *out, size_t size, unsigned pct, const char *cat, const char *text);

#endif
