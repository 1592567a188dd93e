// SPDX-License-Identifier: MIT
/*
 * ct-mktrace: turns a hand-written events.txt (tests/data/analysis-<case>/) into a real
 * trace directory, so that analysis cases also run through the CTF writer and reader.
 *   ct-mktrace EVENTS.TXT OUTDIR [--cut TIME]...
 * "!cut TIME" lines in the file add chunk boundaries too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evtext.h"
#include "mktrace.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct ct_evtext t;
	char err[512], *text;
	uint64_t *cuts;
	size_t n_cuts = 0, len;
	FILE *f;
	long sz;
	int rc;

	if (argc < 3 || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: ct-mktrace EVENTS.TXT OUTDIR [--cut TIME]...\n");
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = malloc((size_t)sz + 1);
	len = text ? fread(text, 1, (size_t)sz, f) : 0;
	fclose(f);
	if (!text || ct_evtext_parse(&t, text, len, err, sizeof(err))) {
		fprintf(stderr, "ct-mktrace: %s: %s\n", argv[1], text ? err : "out of memory");
		free(text);
		return 1;
	}
	free(text);
	ct_evtext_sort(&t);
	cuts = calloc((size_t)argc + t.n_cuts, sizeof(*cuts));
	if (!cuts)
		return 1;
	for (size_t i = 0; i < t.n_cuts; i++)
		cuts[n_cuts++] = t.cuts[i];
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--cut") && i + 1 < argc &&
		    ct_evtext_time(argv[i + 1], &cuts[n_cuts]) == 0) {
			n_cuts++;
			i++;
		} else {
			fprintf(stderr, "ct-mktrace: bad argument '%s'\n", argv[i]);
			return 2;
		}
	}
	qsort(cuts, n_cuts, sizeof(*cuts), cmp_u64);
	rc = ct_mktrace_write(&t, argv[2], cuts, n_cuts, err, sizeof(err));
	if (rc)
		fprintf(stderr, "ct-mktrace: %s\n", err);
	free(cuts);
	ct_evtext_fini(&t);
	return rc ? 1 : 0;
}
