// SPDX-License-Identifier: MIT
/*
 * No silent loss: a storm of N getpgid() calls recorded through a deliberately tiny kernel
 * buffer (one page) must overflow it, and then, per syscall, recorded + dropped = N for entries and
 * for exits; the KERNEL_LOST events in the trace, the manifest and the summary printed by
 * `record` must all give the same drop count. The perf backend (whose loss records are not
 * per type) must agree across trace, manifest and summary.
 * usage: test_capture_loss CROSSTRACE WORKLOAD
 */
#include <jansson.h>

#include "test.h"

#include "capture_util.h"

#define STORM 200000
#define NR_GETPGID 121

static json_t *manifest(const char *trace_dir)
{
	char path[512];
	json_error_t je;

	snprintf(path, sizeof(path), "%s/trace.json", trace_dir);
	return json_load_file(path, 0, &je);
}

static void storm(const char *backend)
{
	char dir[256], trace_dir[300], rerr[300], n[32];
	char *argv[] = {(char *)ct_bin,
			"record",
			"--backend",
			(char *)backend,
			"--ring-size",
			"4K",
			"-o",
			trace_dir,
			"--",
			(char *)wl_bin,
			"storm",
			n,
			NULL};
	uint64_t entries = 0, exits = 0, lost_events = 0, lost_ev_count = 0;
	long long printed, manifest_lost, kernel_lost;
	json_t *m, *rec;
	struct trace t;
	char *sum;
	int st;

	make_tmp(dir, sizeof(dir), "loss");
	snprintf(trace_dir, sizeof(trace_dir), "%s/trace", dir);
	snprintf(rerr, sizeof(rerr), "%s/record.err", dir);
	snprintf(n, sizeof(n), "%d", STORM);
	st = run_argv(argv, NULL, NULL, rerr);
	sum = slurp_file(rerr);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		T_FAIL("%s: record failed (%d): %s", backend, st, sum ? sum : "");
		free(sum);
		return;
	}
	CHECK(load_trace(trace_dir, &t) == 0);
	for (size_t i = 0; i < t.n; i++) {
		const struct tev *e = &t.ev[i];

		if (e->nr == NR_GETPGID && is_sys_entry(e->type))
			entries++;
		else if (e->nr == NR_GETPGID && is_sys_exit(e->type))
			exits++;
		else if (e->type == CT_EV_KERNEL_LOST) {
			lost_events++;
			lost_ev_count += e->count;
		}
	}
	printed = find_count(sum, "drops: kernel ");
	m = manifest(trace_dir);
	CHECK(m != NULL);
	manifest_lost = (long long)json_integer_value(json_object_get(
		json_object_get(json_object_get(m, "totals"), "lost"), "kernel_events"));
	rec = json_object_get(m, "recording");
	kernel_lost = (long long)json_integer_value(
		json_object_get(json_object_get(rec, "kernel"), "lost"));
	printf("%s: %d getpgid calls; recorded %llu entries, %llu exits; drops: summary %lld, "
	       "manifest %lld/%lld, %llu KERNEL_LOST events totalling %llu\n",
	       backend, STORM, (unsigned long long)entries, (unsigned long long)exits, printed,
	       manifest_lost, kernel_lost, (unsigned long long)lost_events,
	       (unsigned long long)lost_ev_count);
	/* The ring must really have overflowed, or this test proves nothing. */
	CHECK(printed > 0);
	CHECK_INT(printed, manifest_lost);
	CHECK_INT(printed, kernel_lost);
	CHECK_U64(lost_ev_count, (uint64_t)printed);
	/* Nothing dropped elsewhere on the way to the chunks. */
	CHECK(sum && strstr(sum, "late 0, out-of-order 0, write errors 0"));
	if (!strcmp(backend, "bpf")) {
		json_t *by = json_object_get(json_object_get(rec, "kernel"), "lost_by_syscall");
		json_t *g = json_object_get(by, "121");
		long long le = (long long)json_integer_value(json_array_get(g, 0));
		long long lx = (long long)json_integer_value(json_array_get(g, 1));

		printf("%s: getpgid drops: %lld entries, %lld exits\n", backend, le, lx);
		CHECK_INT((long long)entries + le, STORM);
		CHECK_INT((long long)exits + lx, STORM);
	} else {
		/* Without per-type counts, the storm's calls can only be bounded. */
		CHECK((long long)entries + printed >= STORM);
		CHECK((long long)exits + printed >= STORM);
	}
	json_decref(m);
	free_trace(&t);
	free(sum);
	if (!t_failed_checks)
		rm_rf(dir);
	else
		fprintf(stderr, "kept %s for inspection\n", dir);
}

TEST(bpf_storm_exact_drops)
{
	storm("bpf");
}

TEST(perf_storm_counted_drops)
{
	storm("perf");
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
	RUN(bpf_storm_exact_drops);
	RUN(perf_storm_counted_drops);
	return test_main_end();
}
