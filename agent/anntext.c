// SPDX-License-Identifier: MIT
/*
 * Annotation texts without printf (see anntext.h): fixed texts are copied with known
 * lengths, integers converted by hand.
 */
#include <string.h>

#include "anntext.h"

void ct_anntext_init(struct ct_anntext *w, char *out, size_t size)
{
	w->start = w->p = out;
	w->end = out + size - 1;
}

void ct_anntext_put(struct ct_anntext *w, const char *s, size_t n)
{
	size_t room = (size_t)(w->end - w->p);

	if (n > room)
		n = room;
	memcpy(w->p, s, n);
	w->p += n;
}

void ct_anntext_str(struct ct_anntext *w, const char *s)
{
	ct_anntext_put(w, s, strlen(s));
}

void ct_anntext_u64(struct ct_anntext *w, uint64_t v)
{
	char d[20];
	unsigned n = 0;

	do {
		d[sizeof(d) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	ct_anntext_put(w, d + sizeof(d) - n, n);
}

void ct_anntext_i64(struct ct_anntext *w, int64_t v)
{
	if (v < 0) {
		ct_anntext_put(w, "-", 1);
		/* The magnitude in unsigned arithmetic: INT64_MIN has no positive twin. */
		ct_anntext_u64(w, 0 - (uint64_t)v);
		return;
	}
	ct_anntext_u64(w, (uint64_t)v);
}

size_t ct_anntext_end(struct ct_anntext *w)
{
	*w->p = 0;
	return (size_t)(w->p - w->start);
}

#define PUT_LIT(w, lit) ct_anntext_put(w, lit, sizeof(lit) - 1)

size_t ct_anntext_attribution(char *out, size_t size, int pid)
{
	struct ct_anntext w;

	ct_anntext_init(&w, out, size);
	PUT_LIT(&w, "process: the span carries no thread.id, so the kernel activity of every "
		    "thread of pid ");
	ct_anntext_i64(&w, pid);
	PUT_LIT(&w, " counts");
	return ct_anntext_end(&w);
}

size_t ct_anntext_note(char *out, size_t size, int pid)
{
	struct ct_anntext w;

	ct_anntext_init(&w, out, size);
	PUT_LIT(&w, "no kernel activity of pid ");
	ct_anntext_i64(&w, pid);
	PUT_LIT(&w, " was recorded during the span (is the process watched?)");
	return ct_anntext_end(&w);
}

size_t ct_anntext_cause(char *out, size_t size, unsigned pct, const char *cat, const char *text)
{
	struct ct_anntext w;

	ct_anntext_init(&w, out, size);
	ct_anntext_u64(&w, pct);
	PUT_LIT(&w, "% ");
	ct_anntext_str(&w, cat);
	PUT_LIT(&w, ": ");
	ct_anntext_str(&w, text);
	return ct_anntext_end(&w);
}
