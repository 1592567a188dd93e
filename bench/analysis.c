// SPDX-License-Identifier: MIT
/*
 * bench/analysis: events per second of the analysis `crosstrace report` runs (driver +
 * engine, with 1 and with N map threads) on a large synthetic recording, next to
 * `babeltrace2 -o dummy` only decoding the same chunks; and the peak memory of the analysis
 * at two trace sizes, to show it is bounded by the open state, not the trace size. Prints
 * figures; not a test.
 *   ct_bench_analysis [--events N] [--chunk-events K] [--jobs J] [--dir DIR] [--keep 1]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analysis/driver.h"
#include "format/ctf.h"
#include "format/tracedir.h"

static uint64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct gen {
	struct ct_tracedir *td;
	uint64_t ts, n, target, per_chunk, next_rotate;
};

static int emit(struct gen *g, struct ct_event *ev, struct ct_tdstream *s)
{
	uint8_t buf[512];
	int len;

	ev->ts = g->ts;
	g->ts += 300 + (g->n % 7) * 60; /* ~500 ns apart: 2 M events/s, a busy system */
	len = ct_ev_encode(ev, buf, sizeof(buf));
	if (len < 0)
		return len;
	if (g->n >= g->next_rotate) {
		ct_tracedir_rotate(g->td, ev->ts);
		g->next_rotate += g->per_chunk;
	}
	g->n++;
	return ct_tdstream_append(s, ev->type, ev->ts, ev->pid, ev->tid, buf, (size_t)len) < 0;
}

/*
 * Requests on 4 services x 8 worker threads: span + scope, a blocking socket read (switch
 * out, wake-up, switch in), writes, an uncontended lock, a file write, sometimes a
 * preemption; 40-odd events each.
 */
static int generate(const char *dir, uint64_t events, unsigned chunks)
{
	struct ct_tracedir_opts o = {.path = dir, .tool = "ct_bench_analysis"};
	struct ct_tdstream *cpu[2], *ust[32];
	struct gen g = {.ts = 1000000, .target = events};
	char err[512], name[64];
	uint64_t req = 0;

	if (ct_tracedir_create(&g.td, &o, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	g.per_chunk = events / (chunks ? chunks : 1) + 1;
	g.next_rotate = g.per_chunk;
	for (int c = 0; c < 2; c++) {
		snprintf(name, sizeof(name), "kernel_cpu%d", c);
		ct_tracedir_stream(g.td, name, (uint32_t)c, &cpu[c]);
	}
	for (int w = 0; w < 32; w++) {
		snprintf(name, sizeof(name), "ust_%d_%d", 1000 + w / 8, 1000 + w / 8 * 100 + w);
		ct_tracedir_stream(g.td, name, CT_CTF_NO_CPU, &ust[w]);
	}
	while (g.n < g.target) {
		int w = (int)(req % 32), c = w & 1;
		int32_t pid = 1000 + w / 8, tid = pid * 100 / 1000 * 1000 / 1000 + 0;
		struct ct_event ev;
		uint64_t span = req * 2 + 1, trace = req + 1;
		int fail = 0;

		tid = 1000 + w / 8 * 100 + w;
		memset(&ev, 0, sizeof(ev));
		ev.pid = pid;
		ev.tid = tid;
		ev.type = CT_EV_SPAN_START;
		ev.u.span_start.trace_lo = trace;
		ev.u.span_start.span_id = span;
		ev.u.span_start.start_ns = g.ts;
		ev.u.span_start.kind = 2;
		ev.u.span_start.name = (req % 3) ? "GET /cart" : "POST /order";
		fail |= emit(&g, &ev, ust[w]);
		ev.type = CT_EV_SCOPE_ENTER;
		ev.u.scope_enter.span_id = span;
		ev.u.scope_enter.trace_lo = trace;
		fail |= emit(&g, &ev, ust[w]);
		for (int k = 0; k < 6; k++) {
			static const uint32_t nrs[] = {0, 1, 202, 1, 74, 1};
			uint32_t nr = nrs[k];

			memset(&ev.u, 0, sizeof(ev.u));
			ev.pid = pid;
			ev.tid = tid;
			ev.type = CT_EV_SYSCALL_ENTRY;
			ev.u.syscall_entry.nr = nr;
			ev.u.syscall_entry.args[0] =
				nr == 202 ? 0x7000 + (uint64_t)w : 5 + (uint64_t)k;
			fail |= emit(&g, &ev, cpu[c]);
			if (k == 0 || k == 4 || (k == 2 && req % 5 == 0)) {
				/* Blocks: switched out, woken (from an interrupt), switched in. */
				ev.type = CT_EV_SCHED_SWITCH;
				memset(&ev.u, 0, sizeof(ev.u));
				ev.u.sched_switch.prev_state = k == 4 ? 2 : 1;
				ev.u.sched_switch.next_comm = "swapper";
				fail |= emit(&g, &ev, cpu[c]);
				ev.pid = ev.tid = 0;
				ev.type = CT_EV_SCHED_WAKING;
				memset(&ev.u, 0, sizeof(ev.u));
				ev.u.sched_waking.tid = tid;
				ev.u.sched_waking.pid = pid;
				ev.u.sched_waking.flags = 1;
				ev.u.sched_waking.comm = "worker";
				fail |= emit(&g, &ev, cpu[c]);
				ev.type = CT_EV_SCHED_SWITCH;
				memset(&ev.u, 0, sizeof(ev.u));
				ev.u.sched_switch.next_tid = tid;
				ev.u.sched_switch.next_pid = pid;
				ev.u.sched_switch.next_comm = "worker";
				fail |= emit(&g, &ev, cpu[c]);
				ev.pid = pid;
				ev.tid = tid;
			}
			ev.type = CT_EV_SYSCALL_EXIT;
			memset(&ev.u, 0, sizeof(ev.u));
			ev.u.syscall_exit.nr = nr;
			ev.u.syscall_exit.ret = 64;
			fail |= emit(&g, &ev, cpu[c]);
		}
		if (req % 7 == 0) {
			/* Preempted by a CPU hog, then back. */
			ev.type = CT_EV_SCHED_SWITCH;
			memset(&ev.u, 0, sizeof(ev.u));
			ev.u.sched_switch.next_tid = 99;
			ev.u.sched_switch.next_pid = 99;
			ev.u.sched_switch.next_comm = "hog";
			fail |= emit(&g, &ev, cpu[c]);
			ev.pid = ev.tid = 99;
			memset(&ev.u, 0, sizeof(ev.u));
			ev.u.sched_switch.next_tid = tid;
			ev.u.sched_switch.next_pid = pid;
			ev.u.sched_switch.next_comm = "worker";
			fail |= emit(&g, &ev, cpu[c]);
			ev.pid = pid;
			ev.tid = tid;
		}
		ev.type = CT_EV_SCOPE_EXIT;
		memset(&ev.u, 0, sizeof(ev.u));
		ev.u.scope_exit.span_id = span;
		fail |= emit(&g, &ev, ust[w]);
		ev.type = CT_EV_SPAN_END;
		memset(&ev.u, 0, sizeof(ev.u));
		ev.u.span_end.span_id = span;
		ev.u.span_end.end_ns = g.ts;
		ev.u.span_end.status = 1;
		ev.u.span_end.message = "";
		fail |= emit(&g, &ev, ust[w]);
		if (fail) {
			fprintf(stderr, "bench: writing the trace failed\n");
			ct_tracedir_close(g.td, "failed");
			return -1;
		}
		req++;
	}
	return ct_tracedir_close(g.td, "complete");
}

static double cpu_of(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
	       (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

/*
 * Runs the analysis in a child (so its peak RSS is its own). CPU time is given as well: on a
 * machine others use, wall time says more about them than about us.
 */
static int analyse(const char *dir, unsigned jobs, double *secs, double *cpu, long *maxrss_kb,
		   uint64_t *events)
{
	int fds[2];
	pid_t pid;
	uint64_t t0 = mono();
	int status;
	struct rusage ru;

	if (pipe(fds))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct ct_an_driver_opts o = {.dir = dir, .jobs = jobs};
		struct ct_result_stats st;
		struct ct_partial *p;
		char err[512];

		close(fds[0]);
		o.cfg.threshold_ns = 5000000;
		if (ct_an_analyse_dir(&o, &p, err, sizeof(err))) {
			fprintf(stderr, "bench: %s\n", err);
			_exit(1);
		}
		ct_result_stats(p, &st);
		if (write(fds[1], &st.events, sizeof(st.events)) != sizeof(st.events))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], events, sizeof(*events)) != sizeof(*events)) {
		close(fds[0]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -1;
	}
	close(fds[0]);
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	*secs = (double)(mono() - t0) / 1e9;
	*cpu = cpu_of(&ru);
	*maxrss_kb = ru.ru_maxrss;
	return 0;
}

/*
 * babeltrace2 -o dummy on every chunk, one chunk per run: wall seconds (return) and CPU
 * seconds (*cpu), summed. One run per chunk, as our reader reads them: given all chunks at
 * once, babeltrace2's muxer sorts the events of every stream of every chunk together, and its
 * cost per event grows with the number of streams (bench/analysis_bt2).
 */
static double babeltrace(const char *dir, unsigned chunks, double *cpu)
{
	double wall = 0;

	*cpu = 0;
	if (system("babeltrace2 --version >/dev/null 2>&1"))
		return -1;
	for (unsigned i = 0; i < chunks + 1; i++) {
		char path[4096];
		struct stat sb;
		struct rusage ru;
		uint64_t t0;
		pid_t pid;
		int st;

		snprintf(path, sizeof(path), "%s/chunks/%06u", dir, i);
		if (stat(path, &sb))
			break;
		t0 = mono();
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			if (!freopen("/dev/null", "w", stdout) ||
			    !freopen("/dev/null", "w", stderr))
				_exit(127);
			execlp("babeltrace2", "babeltrace2", "-o", "dummy", path, (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
			return -1;
		wall += (double)(mono() - t0) / 1e9;
		*cpu += cpu_of(&ru);
	}
	return wall;
}

static void rm_rf(const char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "bench: could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
	uint64_t events = 20000000, got;
	unsigned chunks = 0, jobs = 0, per_chunk = 2000000, keep = 0;
	char base[256] = "/tmp/ct-bench-analysis-XXXXXX", big[512], small[512];
	double t1, tn, tb, ts_small, c1, cn, cb = 0, cs;
	double load[3] = {0, 0, 0};
	long rss1, rssn, rss_small;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--events"))
			events = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--chunk-events"))
			per_chunk = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--keep"))
			keep = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--jobs"))
			jobs = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--dir"))
			snprintf(base, sizeof(base), "%s", argv[i + 1]);
	}
	if (!strstr(base, "XXXXXX") ? mkdir(base, 0755) && errno != EEXIST : !mkdtemp(base)) {
		perror(base);
		return 1;
	}
	snprintf(big, sizeof(big), "%s/big", base);
	snprintf(small, sizeof(small), "%s/small", base);
	/* Same chunk size for both traces: chunks are mapped whole, so their size shows in RSS. */
	chunks = (unsigned)((events + per_chunk - 1) / per_chunk);
	printf("generating %llu + %llu events (chunks of %u events)...\n",
	       (unsigned long long)events, (unsigned long long)(events / 4), per_chunk);
	if (generate(big, events, chunks) ||
	    generate(small, events / 4, (unsigned)((events / 4 + per_chunk - 1) / per_chunk))) {
		rm_rf(base);
		return 1;
	}
	if (getloadavg(load, 3) < 0)
		load[0] = -1;
	if (analyse(small, 1, &ts_small, &cs, &rss_small, &got) ||
	    analyse(big, 1, &t1, &c1, &rss1, &got) || analyse(big, jobs, &tn, &cn, &rssn, &got)) {
		fprintf(stderr, "bench: analysis failed\n");
		rm_rf(base);
		return 1;
	}
	tb = babeltrace(big, chunks, &cb);
	printf("\nload average before: %.2f (%ld CPUs)\n", load[0], sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-40s %9s %12s %9s %12s %12s\n", "", "wall s", "events/s", "cpu s", "ev/cpu-s",
	       "peak RSS");
	printf("%-40s %9.2f %12.0f %9.2f %12.0f %9.1f MB\n", "crosstrace report, 1 thread", t1,
	       got / t1, c1, got / c1, rss1 / 1024.0);
	printf("%-40s %9.2f %12.0f %9.2f %12.0f %9.1f MB\n", "crosstrace report, map threads", tn,
	       got / tn, cn, got / cn, rssn / 1024.0);
	printf("%-40s %9.2f %12.0f %9.2f %12.0f %9.1f MB\n", "crosstrace report, 1/4 of the trace",
	       ts_small, (got / 4) / ts_small, cs, (got / 4) / cs, rss_small / 1024.0);
	if (tb > 0) {
		printf("%-40s %9.2f %12.0f %9.2f %12.0f\n", "babeltrace2 -o dummy, chunk by chunk",
		       tb, got / tb, cb, got / cb);
		printf("\nreport is %.1fx (1 thread) / %.1fx (threads) babeltrace2's bare decode "
		       "in "
		       "wall time, %.1fx / %.1fx in CPU time\n",
		       tb / t1, tb / tn, cb / c1, cb / cn);
	} else {
		printf("babeltrace2 not available: no comparison\n");
	}
	printf("memory (1 thread): %.1f MB for %llu events, %.1f MB for %llu events\n",
	       rss_small / 1024.0, (unsigned long long)(events / 4), rss1 / 1024.0,
	       (unsigned long long)got);
	if (keep)
		printf("traces kept in %s\n", base);
	else
		rm_rf(base);
	return 0;
}
