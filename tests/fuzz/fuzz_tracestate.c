// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the tracestate parser and mutators. Invariants: a failed parse leaves the
 * list empty; a parsed list has at most 32 members with unique keys, formats into 1024 bytes,
 * and re-parses to the same list and the same text; set puts its key in front and keeps every
 * invariant; delete removes exactly one member.
 */
#include <stdlib.h>
#include <string.h>

#include "crosstrace/crosstrace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_list(const struct ct_tracestate *ts)
{
	static struct ct_tracestate again;
	static char text[1024], text2[1024];
	size_t n = ct_tracestate_count(ts);
	int len;

	if (n > CT_TRACESTATE_MAX_MEMBERS)
		abort();
	for (size_t i = 0; i < n; i++) {
		const char *k, *v, *k2;

		if (ct_tracestate_member(ts, i, &k, &v) || ct_tracestate_get(ts, k) != v)
			abort();
		for (size_t j = i + 1; j < n; j++)
			if (!ct_tracestate_member(ts, j, &k2, NULL) && !strcmp(k, k2))
				abort();
	}
	len = ct_tracestate_format(ts, text, sizeof(text));
	if (len < 0 || (size_t)len != strlen(text))
		abort();
	if (ct_tracestate_parse(text, (size_t)len, &again) || ct_tracestate_count(&again) != n)
		abort();
	for (size_t i = 0; i < n; i++) {
		const char *k, *v, *k2, *v2;

		ct_tracestate_member(ts, i, &k, &v);
		ct_tracestate_member(&again, i, &k2, &v2);
		if (strcmp(k, k2) || strcmp(v, v2))
			abort();
	}
	if (ct_tracestate_format(&again, text2, sizeof(text2)) != len || strcmp(text, text2))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ct_tracestate ts;
	const char *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - (const char *)data) : size;
	char key[300], val[300];
	int err;

	err = ct_tracestate_parse((const char *)data, hlen, &ts);
	if (err && (err != CT_EFORMAT || ct_tracestate_count(&ts)))
		abort();
	check_list(&ts);
	/* After the first line: "key value" pairs to set, or "-key" to delete. */
	while (nl) {
		const char *line = nl + 1, *end = (const char *)data + size;
		const char *sp;
		size_t llen, n0 = ct_tracestate_count(&ts);

		nl = memchr(line, '\n', (size_t)(end - line));
		llen = (size_t)((nl ? nl : end) - line);
		if (llen && line[0] == '-') {
			if (llen - 1 >= sizeof(key))
				continue;
			memcpy(key, line + 1, llen - 1);
			key[llen - 1] = '\0';
			if (ct_tracestate_delete(&ts, key) == 0 &&
			    ct_tracestate_count(&ts) != n0 - 1)
				abort();
			if (ct_tracestate_get(&ts, key))
				abort();
		} else if ((sp = memchr(line, ' ', llen)) != NULL) {
			size_t kl = (size_t)(sp - line), vl = llen - kl - 1;
			const char *k0;

			if (kl >= sizeof(key) || vl >= sizeof(val))
				continue;
			memcpy(key, line, kl);
			key[kl] = '\0';
			memcpy(val, sp + 1, vl);
			val[vl] = '\0';
			if (ct_tracestate_set(&ts, key, val) == 0) {
				if (ct_tracestate_member(&ts, 0, &k0, NULL) || strcmp(k0, key) ||
				    strcmp(ct_tracestate_get(&ts, key), val))
					abort();
			} else if (ct_tracestate_count(&ts) != n0) {
				abort();
			}
		}
		check_list(&ts);
	}
	return 0;
}
