// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the baggage parser (percent-decoding, properties, limits) and set. Invariants:
 * at most 64 members; the formatted text fits 8192 bytes, re-parses to the same members and
 * formats to the same text; set of a decoded value gives it back from get.
 */
#include <stdlib.h>
#include <string.h>

#include "crosstrace/crosstrace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ct_baggage bg, again;
	static char text[CT_BAGGAGE_MAX_BYTES + 1], text2[CT_BAGGAGE_MAX_BYTES + 1];
	static char key[CT_BAGGAGE_MAX_BYTES + 1], val[CT_BAGGAGE_MAX_BYTES + 1];
	size_t n;
	int r, len;

	r = ct_baggage_parse((const char *)data, size, &bg);
	n = ct_baggage_count(&bg);
	if (r < 0 && r != CT_EFORMAT && r != CT_ETOOBIG)
		abort();
	if ((r >= 0 && (size_t)r != n) || (r == CT_EFORMAT && n) || n > CT_BAGGAGE_MAX_MEMBERS)
		abort();
	len = ct_baggage_format(&bg, text, sizeof(text));
	if (len < 0 || (size_t)len != strlen(text))
		abort();
	if (ct_baggage_parse(text, (size_t)len, &again) != (int)n)
		abort();
	for (size_t i = 0; i < n; i++) {
		const char *k, *v, *k2, *v2;

		if (ct_baggage_member(&bg, i, &k, &v) || ct_baggage_member(&again, i, &k2, &v2))
			abort();
		if (strcmp(k, k2) || strcmp(v, v2))
			abort();
	}
	if (ct_baggage_format(&again, text2, sizeof(text2)) != len || strcmp(text, text2))
		abort();
	/* Re-set the first member's value under the key: get must return it unchanged. */
	if (n) {
		const char *k, *v;
		size_t n0 = n;

		ct_baggage_member(&bg, 0, &k, &v);
		strcpy(key, k);
		strcpy(val, v);
		if (ct_baggage_set(&bg, key, val) || strcmp(ct_baggage_get(&bg, key), val))
			abort();
		if (ct_baggage_count(&bg) > n0)
			abort();
		len = ct_baggage_format(&bg, text, sizeof(text));
		if (len < 0 ||
		    ct_baggage_parse(text, (size_t)len, &again) != (int)ct_baggage_count(&bg))
			abort();
		if (ct_baggage_delete(&bg, key) || ct_baggage_get(&bg, key))
			abort();
	}
	return 0;
}
