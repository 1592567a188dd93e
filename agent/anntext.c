// SPDX-License-Identifier: MIT
/*
 * Annotation texts without printf (see anntext.h): fixed texts are copied with known
 * lengths, integers converted by hand.
 */
#include "anntext.h"

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
