// SPDX-License-Identifier: MIT
/* Fuzz target for the tracepoint format-file parser of the perf backend (capture/tracefs.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/tracefs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_tp_format f;
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (ct_tp_format_parse(text, &f) == 0) {
		/* Every field the parser accepts has a sane layout. */
		for (int i = 0; i < f.n; i++) {
			if (f.fields[i].offset < 0 || f.fields[i].size <= 0 || !f.names[i][0])
				abort();
		}
		ct_tp_format_field(&f, "pid");
	}
	free(text);
	return 0;
}
