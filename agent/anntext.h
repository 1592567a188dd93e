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

/*
 * A bounded writer over out[0..size): what does not fit is cut (size >= 1: the text is
 * always NUL-terminated). Caller owns the buffer; no allocation; thread-safe per writer.
 */
struct ct_anntext {
	char *p, *end; /* end: the byte kept for the NUL */
	char *start;
};

void ct_anntext_init(struct ct_anntext *w, char *out, size_t size);
void ct_anntext_put(struct ct_anntext *w, const char *s, size_t n);
void ct_anntext_str(struct ct_anntext *w, const char *s); /* "%s" */
void ct_anntext_u64(struct ct_anntext *w, uint64_t v); /* "%" PRIu64, "%u" */
void ct_anntext_i64(struct ct_anntext *w, int64_t v); /* "%" PRId64, "%d" */
/* NUL-terminates and returns the length written (without the NUL). */
size_t ct_anntext_end(struct ct_anntext *w);

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
