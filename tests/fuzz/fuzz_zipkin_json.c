// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the Zipkin v2 JSON decoder, then everything a decoded batch goes through
 * (nbatch_fuzz.h).
 */
#include "net/zipkin_json.h"
#include "nbatch_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_nbatch *b = NULL;
	char err[256];

	if (ct_zipkin_json_decode((const char *)data, size, &b, err, sizeof(err)))
		return 0;
	nbatch_fuzz(b, -5);
	return 0;
}
