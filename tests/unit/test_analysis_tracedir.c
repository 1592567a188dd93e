// SPDX-License-Identifier: MIT
/*
 * The golden cases through the real trace format: written with the trace directory writer
 * (ct_mktrace_write: CTF streams per CPU and per thread, chunk rotation), read back with the
 * chunk reader and analysed by the driver with one and with several map threads. Results
 * must equal the in-memory whole-trace analysis byte for byte. Then damage: a missing chunk
 * and a truncated stream still analyse, with the affected spans flagged.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/analysis.h"
#include "analysis/cutrun.h"
#include "analysis/driver.h"
#include "analysis/evtext.h"
#include "analysis/mktrace.h"
#include "golden_config.h"
#include "test.h"

static char tmpdir[256];

static char *to_json(struct ct_partial *p)
{
	struct ct_buf b;
	struct ct_jsonw w;
	char *out;

	ct_buf_init(&b);
	ct_jsonw_init(&w, &b, 0);
	ct_result_json(p, &w, CT_OUT_ALL);
	out = ct_buf_steal(&b);
	ct_buf_fini(&b);
	return out;
}

static int errors_seen;

static void on_error(void *arg, int code, const char *msg)
{
	(void)arg;
	(void)code;
	errors_seen++;
	if (getenv("CT_VERBOSE"))
		fprintf(stderr, "reader: %s\n", msg);
}

static char *analyse_dir(const char *dir, unsigned jobs, unsigned slice)
{
	struct ct_an_driver_opts o = {
		.dir = dir, .jobs = jobs, .slice_events = slice, .on_error = on_error};
	struct ct_partial *p;
	char err[512], *json;

	golden_config(&o.cfg);
	if (ct_an_analyse_dir(&o, &p, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", dir, err);
		return NULL;
	}
	json = to_json(p);
	ct_partial_free(p);
	return json;
}

static int load_case(const char *dir, struct ct_evtext *t)
{
	char path[4200], err[256];
	size_t len;
	char *text;
	int rc;

	snprintf(path, sizeof(path), "%s/events.txt", dir);
	text = t_read_file(path, &len);
	if (!text)
		return -1;
	rc = ct_evtext_parse(t, text, len, err, sizeof(err));
	free(text);
	if (rc)
		return rc;
	ct_evtext_sort(t);
	return 0;
}

static void rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char p[4200];

	if (!d) {
		unlink(path);
		return;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		rm_rf(p);
	}
	closedir(d);
	rmdir(path);
}

static void check_case(const char *dir, const char *name)
{
	struct ct_evtext t;
	struct ct_an_config cfg;
	struct ct_partial *p;
	char *whole;
	uint64_t cuts[8];
	size_t n_cuts;

	if (load_case(dir, &t)) {
		T_FAIL("%s: cannot load", name);
		return;
	}
	golden_config(&cfg);
	CHECK_INT(ct_an_run(&cfg, t.ev, t.n, NULL, 0, CT_GROUP_FOLD, &p), 0);
	whole = to_json(p);
	ct_partial_free(p);
	/* No cut, then 1 and 6 cuts at event boundaries. */
	for (int variant = 0; variant < 3; variant++) {
		char tdir[512];
		size_t want = variant == 0 ? 0 : variant == 1 ? 1 : 6;

		n_cuts = 0;
		for (size_t k = 1; k <= want; k++) {
			size_t i = k * t.n / (want + 1);

			while (i < t.n && i > 0 && t.ev[i].ts == t.ev[i - 1].ts)
				i++;
			if (i > 0 && i < t.n && (!n_cuts || cuts[n_cuts - 1] < t.ev[i].ts))
				cuts[n_cuts++] = t.ev[i].ts;
		}
		snprintf(tdir, sizeof(tdir), "%s/%s-%d", tmpdir, name, variant);
		{
			char err[512];
			int rc = ct_mktrace_write(&t, tdir, cuts, n_cuts, err, sizeof(err));

			if (rc) {
				T_FAIL("%s: mktrace: %s", name, err);
				continue;
			}
		}
		/* One map thread; three, mapping whole chunks; three, cutting chunks into
		 * slices of a few events. */
		for (unsigned v = 0; v < 3; v++) {
			unsigned jobs = v ? 3 : 1, slice = v == 2 ? 3 : 0;
			char *got = analyse_dir(tdir, jobs, slice);

			if (!got || strcmp(got, whole))
				T_FAIL("%s: trace dir with %zu cuts, %u jobs, slices of %u: result "
				       "differs from the in-memory analysis",
				       name, n_cuts, jobs, slice);
			free(got);
		}
		rm_rf(tdir);
	}
	free(whole);
	ct_evtext_fini(&t);
}

TEST(golden_cases_through_trace_dirs)
{
	const char *src = getenv("CT_SOURCE_DIR");
	char dir[4096];
	struct dirent **names = NULL;
	int n, cases = 0;

	snprintf(dir, sizeof(dir), "%s/tests/data", src ? src : ".");
	n = scandir(dir, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char sub[4400];

		if (!strncmp(names[i]->d_name, "analysis-", 9)) {
			snprintf(sub, sizeof(sub), "%s/%s", dir, names[i]->d_name);
			check_case(sub, names[i]->d_name);
			cases++;
		}
		free(names[i]);
	}
	free(names);
	CHECK(cases >= 5);
}

static json_t *span_by_id(json_t *doc, const char *id)
{
	size_t i;
	json_t *s;

	json_array_foreach(
		json_object_get(doc, "spans"), i,
		s) if (!strcmp(json_string_value(json_object_get(s, "span_id")), id)) return s;
	return NULL;
}

static int has_flag(json_t *span, const char *flag)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(span, "incomplete"), i,
			   v) if (!strcmp(json_string_value(v), flag)) return 1;
	return 0;
}

/* The downstream case with its middle chunk (payment's processing) deleted. */
TEST(missing_chunk_flags_spans)
{
	const char *src = getenv("CT_SOURCE_DIR");
	char dir[4096], tdir[512], chunk[600], err[512];
	uint64_t cuts[2] = {30000, 150000};
	struct ct_evtext t;
	json_error_t jerr;
	json_t *doc, *s;
	char *got;

	snprintf(dir, sizeof(dir), "%s/tests/data/analysis-downstream", src ? src : ".");
	CHECK_INT(load_case(dir, &t), 0);
	snprintf(tdir, sizeof(tdir), "%s/missing", tmpdir);
	CHECK_INT(ct_mktrace_write(&t, tdir, cuts, 2, err, sizeof(err)), 0);
	snprintf(chunk, sizeof(chunk), "%s/chunks/000001", tdir);
	rm_rf(chunk);
	errors_seen = 0;
	got = analyse_dir(tdir, 2, 2);
	CHECK(got != NULL);
	CHECK(errors_seen > 0); /* the reader says the chunk is missing */
	doc = got ? json_loads(got, 0, &jerr) : NULL;
	CHECK(doc != NULL);
	/* The client span and its root overlap the gap; so is nothing known in it. */
	s = span_by_id(doc, "00000000000000f1");
	CHECK(s && has_flag(s, "missing-chunk"));
	s = span_by_id(doc, "00000000000000c1");
	CHECK(s && has_flag(s, "missing-chunk"));
	CHECK(s &&
	      json_integer_value(json_object_get(json_object_get(s, "breakdown"), "unknown")) > 0);
	/* The server span's start was in the missing chunk: its end alone is an anomaly. */
	CHECK(span_by_id(doc, "0000000000000051") == NULL);
	CHECK(json_integer_value(json_object_get(json_object_get(doc, "input"), "anomalies")) > 0);
	json_decref(doc);
	free(got);
	rm_rf(tdir);
	ct_evtext_fini(&t);
}

/* A stream cut in the middle of a packet: the reader reports it, the rest analyses. */
TEST(truncated_stream_flags_spans)
{
	const char *src = getenv("CT_SOURCE_DIR");
	char dir[4096], tdir[512], file[600], err[512];
	struct ct_evtext t;
	json_error_t jerr;
	json_t *doc, *losses;
	struct stat sb;
	char *got;

	snprintf(dir, sizeof(dir), "%s/tests/data/analysis-lock", src ? src : ".");
	CHECK_INT(load_case(dir, &t), 0);
	snprintf(tdir, sizeof(tdir), "%s/truncated", tmpdir);
	CHECK_INT(ct_mktrace_write(&t, tdir, NULL, 0, err, sizeof(err)), 0);
	snprintf(file, sizeof(file), "%s/chunks/000000/kernel_cpu1", tdir);
	CHECK_INT(stat(file, &sb), 0);
	CHECK_INT(truncate(file, sb.st_size - 20), 0);
	errors_seen = 0;
	got = analyse_dir(tdir, 1, 0);
	CHECK(got != NULL);
	CHECK(errors_seen > 0);
	doc = got ? json_loads(got, 0, &jerr) : NULL;
	losses = json_object_get(json_object_get(doc, "input"), "losses");
	CHECK(json_array_size(losses) == 1);
	CHECK(has_flag(span_by_id(doc, "00000000000000b1"), "read-errors"));
	json_decref(doc);
	free(got);
	rm_rf(tdir);
	ct_evtext_fini(&t);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ct-analysis-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(golden_cases_through_trace_dirs);
	RUN(missing_chunk_flags_spans);
	RUN(truncated_stream_flags_spans);
	rm_rf(tmpdir);
	return test_main_end();
}
