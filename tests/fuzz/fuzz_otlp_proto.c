// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the OTLP protobuf decoder, then everything a decoded batch goes through
 * (nbatch_fuzz.h). The decoder's fast path must give what protobuf-c gives: the same answer
 * and the same model (abort() otherwise).
 */
#include <string.h>

#include "net/otlp_proto.h"
#include "nbatch_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_nbatch *b = NULL, *pbc = NULL;
	struct ct_buf t1, t2;
	char err[256], err2[256];
	int e = ct_otlp_proto_decode(data, size, &b, err, sizeof(err));

	if (e != ct__otlp_proto_decode_pbc(data, size, &pbc, err2, sizeof(err2)) ||
	    (e && strcmp(err, err2)))
		abort();
	if (e)
		return 0;
	ct_buf_init(&t1);
	ct_buf_init(&t2);
	nbatch_fuzz_text(&t1, b);
	nbatch_fuzz_text(&t2, pbc);
	if (t1.len != t2.len || memcmp(t1.data, t2.data, t1.len))
		abort();
	ct_buf_fini(&t1);
	ct_buf_fini(&t2);
	ct_nbatch_free(pbc);
	nbatch_fuzz(b, 1000);
	return 0;
}
