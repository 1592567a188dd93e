// SPDX-License-Identifier: MIT
/* Fuzz target: the CTF stream reader (packet framing and every event decoder). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "format/ctf_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct ct_stream_reader *r;
	struct ct_event ev;
	char err[256];
	FILE *f;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/ct-fuzz-ctf-%d", (int)getpid());
	f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if (ct_stream_reader_open(&r, path, NULL, err, sizeof(err)))
		return 0;
	/* Bounded: each call either returns an event, ends, or skips at least a packet. */
	for (int i = 0; i < 100000; i++) {
		int n = ct_stream_reader_next(r, &ev);

		if (n == 0)
			break;
	}
	ct_stream_reader_close(r);
	return 0;
}
