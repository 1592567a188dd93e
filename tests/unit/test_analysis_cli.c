// SPDX-License-Identifier: MIT
/*
 * The analysis commands as a user runs them: `crosstrace report`, `report --trace`,
 * `critical-path` and `export` on golden cases written as trace directories, checking the
 * words people read (the causes, the critical path's services), the JSON they parse, and
 * the exit codes and messages of bad invocations.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/evtext.h"
#include "analysis/mktrace.h"
#include "test.h"

static char tmpdir[256], cli[4096];

/* Runs a shell command; returns its exit status and its stdout (caller frees). */
static int run(const char *cmd, char **out)
{
	FILE *f = popen(cmd, "r");
	size_t n = 0, cap = 0;
	char *buf = NULL;
	int st, c;

	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF) {
		if (n + 2 > cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap);
		}
		buf[n++] = (char)c;
	}
	if (buf)
		buf[n] = 0;
	st = pclose(f);
	*out = buf ? buf : strdup("");
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int write_case(const char *name, char *dir, size_t size)
{
	const char *src = getenv("CT_SOURCE_DIR");
	char path[4096], err[512];
	struct ct_evtext t;
	char *text;
	size_t n;
	int rc;

	snprintf(path, sizeof(path), "%s/tests/data/%s/events.txt", src ? src : ".", name);
	text = t_read_file(path, &n);
	if (!text)
		return -1;
	rc = ct_evtext_parse(&t, text, n, err, sizeof(err));
	free(text);
	if (rc)
		return rc;
	ct_evtext_sort(&t);
	snprintf(dir, size, "%s/%s", tmpdir, name);
	rc = ct_mktrace_write(&t, dir, t.cuts, t.n_cuts, err, sizeof(err));
	ct_evtext_fini(&t);
	return rc;
}

TEST(report_names_the_causes)
{
	char dir[600], cmd[8192], *out;

	CHECK_INT(write_case("analysis-lock", dir, sizeof(dir)), 0);
	snprintf(cmd, sizeof(cmd), "%s report %s 2>&1", cli, dir);
	CHECK_INT(run(cmd, &out), 0);
	CHECK(strstr(out, "Slowest requests") != NULL);
	/* The waiter's request: the lock, and who released it. */
	CHECK(strstr(out, "72% blocked in futex(0x5555a000) (woken by worker-1[100])") != NULL);
	/* The holder's: its fsync. */
	CHECK(strstr(out, "77% blocked in fsync(/data/cart.log)") != NULL);
	CHECK(strstr(out, "cart           GET /cart") != NULL);
	free(out);
}

TEST(report_trace_and_critical_path)
{
	char dir[600], cmd[8192], *out;
	json_error_t jerr;
	json_t *doc, *segs, *s;
	size_t i;
	long long sum = 0;

	CHECK_INT(write_case("analysis-downstream", dir, sizeof(dir)), 0);
	snprintf(cmd, sizeof(cmd), "%s report %s --trace 0000000000000000000000000000000c 2>&1",
		 cli, dir);
	CHECK_INT(run(cmd, &out), 0);
	CHECK(strstr(out, "critical path: payment 69% frontend 31%") != NULL);
	CHECK(strstr(out, "payment POST /pay") != NULL);
	CHECK(strstr(out, "blocked in nanosleep()") != NULL);
	free(out);
	snprintf(cmd, sizeof(cmd),
		 "%s critical-path %s --trace 0000000000000000000000000000000c --format json", cli,
		 dir);
	CHECK_INT(run(cmd, &out), 0);
	doc = json_loads(out, 0, &jerr);
	CHECK(doc != NULL);
	segs = json_object_get(
		json_object_get(json_array_get(json_object_get(doc, "trace"), 0), "critical_path"),
		"segments");
	json_array_foreach(segs, i, s) sum += json_integer_value(json_object_get(s, "duration_ns"));
	CHECK_INT(sum, 170000);
	json_decref(doc);
	free(out);
	/* A trace that is not there: a message, and a non-zero status. */
	snprintf(cmd, sizeof(cmd),
		 "%s critical-path %s --trace 0000000000000000000000000000abcd 2>&1", cli, dir);
	CHECK_INT(run(cmd, &out), 1);
	CHECK(strstr(out, "no request of this trace") != NULL);
	free(out);
}

TEST(export_writes_files)
{
	char dir[600], cmd[8192], file[700], *out;
	json_error_t jerr;
	json_t *doc;

	CHECK_INT(write_case("analysis-fanout", dir, sizeof(dir)), 0);
	snprintf(file, sizeof(file), "%s/chrome.json", tmpdir);
	snprintf(cmd, sizeof(cmd), "%s export %s --format chrome -o %s 2>&1", cli, dir, file);
	CHECK_INT(run(cmd, &out), 0);
	free(out);
	doc = json_load_file(file, 0, &jerr);
	CHECK(doc && json_array_size(json_object_get(doc, "traceEvents")) > 50);
	json_decref(doc);
	snprintf(cmd, sizeof(cmd), "%s export %s --format jaeger --detail all", cli, dir);
	CHECK_INT(run(cmd, &out), 0);
	doc = json_loads(out, 0, &jerr);
	CHECK(doc && json_array_size(json_object_get(doc, "data")) == 2);
	json_decref(doc);
	free(out);
}

TEST(bad_invocations_say_what_to_do)
{
	char cmd[8192], *out;

	snprintf(cmd, sizeof(cmd), "%s report %s/nowhere 2>&1", cli, tmpdir);
	CHECK_INT(run(cmd, &out), 1);
	CHECK(strstr(out, "nowhere") != NULL);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s report %s --trace xyz 2>&1", cli, tmpdir);
	CHECK_INT(run(cmd, &out), 2);
	CHECK(strstr(out, "32 hex digits") != NULL);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s export %s --format yaml 2>&1", cli, tmpdir);
	CHECK_INT(run(cmd, &out), 2);
	CHECK(strstr(out, "otlp-json|jaeger|chrome") != NULL);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s critical-path %s 2>&1", cli, tmpdir);
	CHECK_INT(run(cmd, &out), 2);
	CHECK(strstr(out, "--trace") != NULL);
	free(out);
}

int main(void)
{
	const char *build = getenv("CT_BUILD_DIR");
	char cmd[400];

	snprintf(cli, sizeof(cli), "%s/crosstrace", build ? build : ".");
	if (access(cli, X_OK)) {
		fprintf(stderr, "%s: not built\n", cli);
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ct-analysis-cli-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	RUN(report_names_the_causes);
	RUN(report_trace_and_critical_path);
	RUN(export_writes_files);
	RUN(bad_invocations_say_what_to_do);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return test_main_end();
}
