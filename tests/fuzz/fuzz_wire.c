// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the wire protocol receiver (format/wire.c) appending into a real trace
 * directory. The input is fed in pieces whose sizes come from its first byte, so frame
 * reassembly across splits is fuzzed too.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "format/tracedir.h"
#include "format/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int rm_one(const char *p, const struct stat *sb, int type, struct FTW *f)
{
	(void)sb;
	(void)type;
	(void)f;
	return remove(p);
}

static char base[64];

static void rm_base(void)
{
	rmdir(base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned long n;
	struct ct_tracedir_opts o = {.tool = "fuzz_wire", .packet_bytes = 4096};
	struct ct_tracedir *td;
	struct ct_wire_conn *c;
	char path[128], err[256];
	size_t step;

	if (!base[0]) {
		snprintf(base, sizeof(base), "/tmp/ct-fuzz-wire-%d", (int)getpid());
		atexit(rm_base);
	}
	snprintf(path, sizeof(path), "%s/%lu", base, n++);
	o.path = path;
	if (ct_tracedir_create(&td, &o, err, sizeof(err)))
		return 0;
	if (ct_wire_conn_new(&c, td) == 0) {
		step = size ? (size_t)data[0] % 64 + 1 : 1;
		for (size_t off = 0; off < size; off += step) {
			size_t k = size - off < step ? size - off : step;

			if (ct_wire_conn_feed(c, data + off, k))
				break;
		}
		ct_wire_conn_end(c);
		ct_wire_conn_free(c);
	}
	ct_tracedir_close(td, "complete");
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
