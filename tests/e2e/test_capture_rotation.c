// SPDX-License-Identifier: MIT
/*
 * Rotation: a 10 s recording with --rotate-time 2s gives at least 5 chunks; babeltrace2
 * (an independent CTF reader) reads each chunk directory alone, without complaint, and the
 * events it lists across all chunks add up to the total `record` reported. The manifest
 * marks every chunk complete and carries its loss counters.
 * usage: test_capture_rotation CROSSTRACE WORKLOAD
 */
#include <jansson.h>

#include "test.h"

#include "capture_util.h"

static long count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	long n = 0;
	int c;

	if (!f)
		return -1;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

TEST(rotate_every_2s_for_10s)
{
	char dir[256], trace_dir[300], rerr[300];
	char *argv[] = {(char *)ct_bin, "record",	"--rotate-time", "2s", "-o", trace_dir,
			"--",		(char *)wl_bin, "sleep",	 "10", NULL};
	long long reported;
	long total = 0;
	json_t *m, *chunks;
	json_error_t je;
	char path[512];
	char *sum;
	int st;

	make_tmp(dir, sizeof(dir), "rotation");
	snprintf(trace_dir, sizeof(trace_dir), "%s/trace", dir);
	snprintf(rerr, sizeof(rerr), "%s/record.err", dir);
	st = run_argv(argv, NULL, NULL, rerr);
	sum = slurp_file(rerr);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	reported = find_count(sum, "events: ");
	CHECK(reported > 0);
	snprintf(path, sizeof(path), "%s/trace.json", trace_dir);
	m = json_load_file(path, 0, &je);
	CHECK(m != NULL);
	chunks = json_object_get(m, "chunks");
	CHECK(json_array_size(chunks) >= 5);
	CHECK_INT(json_array_size(chunks), find_count(sum, "chunks: "));
	for (size_t i = 0; i < json_array_size(chunks); i++) {
		json_t *c = json_array_get(chunks, i);
		char cdir[600], out[600], errf[600];
		char *bt[] = {"babeltrace2", cdir, NULL};
		char *errtext;
		long lines;

		snprintf(cdir, sizeof(cdir), "%s/%s", trace_dir,
			 json_string_value(json_object_get(c, "dir")));
		snprintf(out, sizeof(out), "%s/bt%zu.txt", dir, i);
		snprintf(errf, sizeof(errf), "%s/bt%zu.err", dir, i);
		CHECK(json_is_true(json_object_get(c, "complete")));
		CHECK(json_is_object(json_object_get(c, "lost")));
		st = run_argv(bt, NULL, out, errf);
		errtext = slurp_file(errf);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || (errtext && errtext[0]))
			T_FAIL("babeltrace2 %s: status %d: %s", cdir, st, errtext ? errtext : "");
		lines = count_lines(out);
		CHECK_INT(lines, (long long)json_integer_value(json_object_get(c, "events")));
		printf("chunk %zu: babeltrace2 lists %ld events\n", i, lines);
		total += lines;
		free(errtext);
	}
	printf("%zu chunks, %ld events by babeltrace2, %lld reported by record\n",
	       json_array_size(chunks), total, reported);
	CHECK_INT(total, reported);
	json_decref(m);
	free(sum);
	if (!t_failed_checks)
		rm_rf(dir);
	else
		fprintf(stderr, "kept %s for inspection\n", dir);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s CROSSTRACE WORKLOAD\n", argv[0]);
		return 2;
	}
	ct_bin = argv[1];
	wl_bin = argv[2];
	if (!kernel_tests_possible())
		return 0;
	RUN(rotate_every_2s_for_10s);
	return test_main_end();
}
