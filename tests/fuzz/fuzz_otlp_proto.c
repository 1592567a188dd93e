// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the OTLP protobuf decoder, then everything a decoded batch goes through
 * (nbatch_fuzz.h).
 */
#include "net/otlp_proto.h"
#include "nbatch_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_nbatch *b = NULL;
	char err[256];

	if (ct_otlp_proto_decode(data, size, &b, err, sizeof(err)))
		return 0;
	nbatch_fuzz(b, 1000);
	return 0;
}
