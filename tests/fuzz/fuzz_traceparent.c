// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the traceparent parser. Besides not crashing, a parsed context must be valid,
 * format as a 55-character version-00 header, and re-parse to the identical context.
 */
#include <stdlib.h>
#include <string.h>

#include "crosstrace/crosstrace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_span_context a, b;
	char buf[CT_TRACEPARENT_LEN + 1];

	memset(&a, 0x5a, sizeof(a));
	b = a;
	if (ct_traceparent_parse((const char *)data, size, &a)) {
		/* A failed parse leaves the output untouched. */
		if (memcmp(&a, &b, sizeof(a)))
			abort();
		return 0;
	}
	if (!ct_span_context_is_valid(&a) || !a.is_remote || (a.trace_flags & ~1u))
		abort();
	if (ct_traceparent_format(&a, buf, sizeof(buf)) != CT_TRACEPARENT_LEN ||
	    strlen(buf) != CT_TRACEPARENT_LEN || memcmp(buf, "00-", 3))
		abort();
	if (ct_traceparent_parse(buf, CT_TRACEPARENT_LEN, &b) || memcmp(&a, &b, sizeof(a)))
		abort();
	/* A version-00 input that parsed is already canonical: it formats to itself. */
	if (size == CT_TRACEPARENT_LEN && !memcmp(data, "00-", 3) &&
	    (data[54] == '0' || data[54] == '1') && data[53] == '0' && memcmp(buf, data, size))
		abort();
	return 0;
}
