// SPDX-License-Identifier: MIT
/*
 * Three kernel-capture oracles on one recording of `capture_workload mix`, per backend:
 * - scheduler: per worker thread, the switch-outs we record equal voluntary +
 *   nonvoluntary context switches that the thread read from /proc/self/task/<tid>/status
 *   just before exiting;
 * - clock: a user-space clock_gettime(CLOCK_MONOTONIC) before and after getppid() brackets
 *   that syscall's entry and exit timestamps, 50 times per thread;
 * - filter: a process outside the traced tree, making syscalls all along, is absent (it may
 *   only appear as the other side of a switch or wake-up of a traced thread), while the
 *   forked child and both its threads are present;
 * - arguments: file names and socket addresses read from user memory, block requests.
 * usage: test_capture_sched CROSSTRACE WORKLOAD
 */
#include "test.h"

#include "capture_util.h"

struct ctxt {
	int tid, fd;
	long vol, nonvol;
};

struct probe {
	int tid;
	uint64_t before, after;
	long ret;
};

struct rep {
	int main_pid, child_pid;
	unsigned listen_port;
	char tmpdir[256];
	struct ctxt c[8];
	int nc;
	struct probe *p;
	int np;
};

static void read_rep(const char *path, struct rep *r)
{
	char *text = slurp_file(path), *line, *save = NULL;

	memset(r, 0, sizeof(*r));
	r->p = calloc(1024, sizeof(*r->p));
	if (!text || !r->p)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct ctxt c;
		struct probe p;
		unsigned long long b, a;

		if (sscanf(line, "main %d", &r->main_pid) == 1 ||
		    sscanf(line, "child %d", &r->child_pid) == 1 ||
		    sscanf(line, "listen %u", &r->listen_port) == 1 ||
		    sscanf(line, "tmpdir %255s", r->tmpdir) == 1)
			continue;
		if (sscanf(line, "ctxt %d %ld %ld %d", &c.tid, &c.vol, &c.nonvol, &c.fd) == 4 &&
		    r->nc < 8)
			r->c[r->nc++] = c;
		else if (sscanf(line, "clock %d %llu %llu %ld", &p.tid, &b, &a, &p.ret) == 4 &&
			 r->np < 1024) {
			p.before = b;
			p.after = a;
			r->p[r->np++] = p;
		}
	}
	free(text);
}

static void check_sched(const struct trace *t, const struct rep *r, const char *what)
{
	CHECK_INT(r->nc, 3);
	for (int i = 0; i < r->nc; i++) {
		const struct ctxt *c = &r->c[i];
		uint64_t entry = 0, exit_ts = 0;
		long before_entry = 0, before_exit = 0, expect = c->vol + c->nonvol;

		/* The read(2) of the status file: the last read of that fd on that thread. */
		for (size_t k = 0; k < t->n; k++) {
			const struct tev *e = &t->ev[k];

			if (e->tid != c->tid)
				continue;
			if (is_sys_entry(e->type) && e->nr == 0 && e->args[0] == (uint64_t)c->fd) {
				entry = e->ts;
				exit_ts = 0;
			} else if (is_sys_exit(e->type) && e->nr == 0 && entry && !exit_ts) {
				exit_ts = e->ts;
			}
		}
		if (!entry || !exit_ts) {
			T_FAIL("%s: read of the status file by thread %d not found", what, c->tid);
			continue;
		}
		for (size_t k = 0; k < t->n; k++) {
			const struct tev *e = &t->ev[k];

			if (e->type != CT_EV_SCHED_SWITCH || e->tid != c->tid)
				continue;
			before_entry += e->ts < entry;
			before_exit += e->ts < exit_ts;
		}
		/*
		 * The kernel takes the counters somewhere inside that read(2). A switch-out
		 * during the read itself (rare) may fall before or after that point: then the
		 * count lies between the two bounds; otherwise they are equal and the match is
		 * exact.
		 */
		printf("%s: thread %d: /proc says %ld switches (%ld voluntary), trace %ld before "
		       "the read, %ld by its end\n",
		       what, c->tid, expect, c->vol, before_entry, before_exit);
		if (expect < before_entry || expect > before_exit)
			T_FAIL("%s: thread %d: %ld context switches in /proc, trace has %ld..%ld",
			       what, c->tid, expect, before_entry, before_exit);
		CHECK(expect > 0);
	}
}

static void check_clock(const struct trace *t, const struct rep *r, const char *what)
{
	int checked = 0;

	CHECK_INT(r->np, 150);
	for (int i = 0; i < r->np; i++) {
		const struct probe *p = &r->p[i];
		int nth = 0;
		uint64_t entry = 0, exit_ts = 0;
		int64_t ret = 0;

		/* This probe is the nth of its thread: match it with that thread's nth getppid. */
		for (int k = 0; k < i; k++)
			nth += r->p[k].tid == p->tid;
		for (size_t k = 0, seen = 0; k < t->n; k++) {
			const struct tev *e = &t->ev[k];

			if (e->tid != p->tid || e->nr != 110)
				continue;
			if (is_sys_entry(e->type)) {
				if ((int)seen == nth)
					entry = e->ts;
			} else if (is_sys_exit(e->type)) {
				if ((int)seen == nth) {
					exit_ts = e->ts;
					ret = e->ret;
					break;
				}
				seen++;
			}
		}
		if (!entry || !exit_ts) {
			T_FAIL("%s: getppid #%d of thread %d not in the trace", what, nth, p->tid);
			continue;
		}
		if (!(p->before <= entry && entry <= exit_ts && exit_ts <= p->after))
			T_FAIL("%s: thread %d getppid #%d: user %llu <= entry %llu <= exit %llu <= "
			       "user %llu does not hold",
			       what, p->tid, nth, (unsigned long long)p->before,
			       (unsigned long long)entry, (unsigned long long)exit_ts,
			       (unsigned long long)p->after);
		CHECK_INT(ret, p->ret);
		checked++;
	}
	printf("%s: %d user-space clock brackets contain their syscall's kernel events\n", what,
	       checked);
}

static int in_tree(const struct rep *r, int pid)
{
	return pid == r->main_pid || pid == r->child_pid;
}

static void check_filter(const struct trace *t, const struct rep *r, int outsider, const char *what)
{
	long outsider_events = 0, bad = 0, child_sys = 0, forks = 0;
	int child_tids[16], nct = 0;

	for (size_t k = 0; k < t->n; k++) {
		const struct tev *e = &t->ev[k];

		if (e->pid == outsider) {
			outsider_events++;
			/* Allowed only as the other side of a traced thread's switch or wake-up. */
			if (e->type == CT_EV_SCHED_SWITCH && in_tree(r, e->b))
				continue;
			if ((e->type == CT_EV_SCHED_WAKING || e->type == CT_EV_SCHED_WAKEUP ||
			     e->type == CT_EV_SCHED_WAKEUP_NEW) &&
			    in_tree(r, e->b))
				continue;
			if (bad++ < 5)
				T_FAIL("%s: event type %u of outside process %d at %llu", what,
				       e->type, outsider, (unsigned long long)e->ts);
		}
		if (e->type == CT_EV_SCHED_SWITCH && e->b == outsider && !in_tree(r, e->pid) &&
		    e->pid != 0)
			T_FAIL("%s: switch from %d to the outsider kept", what, e->pid);
		if (e->pid == r->child_pid && is_sys_entry(e->type)) {
			int seen = 0;

			child_sys++;
			for (int i = 0; i < nct; i++)
				seen |= child_tids[i] == e->tid;
			if (!seen && nct < 16)
				child_tids[nct++] = e->tid;
		}
		if (e->type == CT_EV_PROCESS_FORK && e->pid == r->main_pid && e->a == r->child_pid)
			forks++;
	}
	CHECK_INT(bad, 0);
	CHECK_INT(forks, 1);
	CHECK(child_sys > 0);
	CHECK_INT(nct, 3); /* the child's main thread and its two threads */
	printf("%s: outsider %d: %ld events, all as the other side of a traced switch/wake-up; "
	       "child %d: %ld syscalls on %d threads\n",
	       what, outsider, outsider_events, r->child_pid, child_sys, nct);
}

/*
 * What the BPF backend reads from user memory and the block layer: the file names of the
 * workload's opens, the sockaddr of its connects (127.0.0.1 and the listener's port), and a
 * block request issued by the fsync of a worker, completed with the same sector.
 */
static void check_arguments(const struct trace *t, const struct rep *r, int bpf, int on_disk)
{
	int paths = 0, connects = 0, issues = 0, completed = 0;

	for (size_t k = 0; k < t->n; k++) {
		const struct tev *e = &t->ev[k];

		if (e->pid != r->main_pid)
			continue;
		if (e->type == CT_EV_SYSCALL_ENTRY_PATH && e->nr == 257 &&
		    !strncmp(e->str, r->tmpdir, strlen(r->tmpdir)) && strstr(e->str, "/file"))
			paths++;
		if (e->type == CT_EV_SYSCALL_ENTRY_ADDR && e->nr == 42)
			connects++;
		if (e->type == CT_EV_BLOCK_RQ_ISSUE)
			issues++;
	}
	for (size_t k = 0; k < t->n; k++) {
		if (t->ev[k].type == CT_EV_BLOCK_RQ_COMPLETE)
			completed++;
	}
	printf("%s: %d opens with their file name, %d connects with their address, %d block "
	       "requests issued, %d completed\n",
	       bpf ? "bpf" : "perf", paths, connects, issues, completed);
	if (bpf) {
		CHECK_INT(paths, 3);
		CHECK(connects >= 3); /* the workers', and libcrosstrace's to the recorder */
	} else {
		/* perf cannot read user memory: plain entries only. */
		CHECK_INT(paths, 0);
		CHECK_INT(connects, 0);
	}
	if (bpf) {
		/* The workers' nanosleeps end in the timer interrupt: those wake-ups must be
		 * marked as interrupt context, with no task named as the waker. */
		int irq_wakes = 0, named = 0;

		for (size_t k = 0; k < t->n; k++) {
			const struct tev *e = &t->ev[k];

			if (e->type != CT_EV_SCHED_WAKING || e->b != r->main_pid)
				continue;
			if (e->u & CT_WAKE_FLAG_IRQ) {
				irq_wakes++;
				named += e->pid != 0 || e->tid != 0;
			}
		}
		printf("bpf: %d wake-ups from interrupt context\n", irq_wakes);
		CHECK(irq_wakes >= 3);
		CHECK_INT(named, 0);
	}
	if (on_disk) {
		CHECK(issues >= 1);
		if (bpf)
			CHECK(completed >= 1);
	}
}

static void check_connect_address(const char *trace_dir, const struct rep *r)
{
	struct ct_trace *tr;
	char err[256];
	int found = 0;

	/* The raw sockaddr bytes are not kept by load_trace: read them here. */
	if (ct_trace_open(&tr, trace_dir, NULL, NULL, err, sizeof(err)))
		return;
	for (unsigned i = 0; i < ct_trace_chunk_count(tr); i++) {
		struct ct_chunk_reader *cr;
		struct ct_event e;

		if (ct_chunk_reader_open(&cr, ct_trace_chunk(tr, i)->dir, NULL, NULL, err,
					 sizeof(err)))
			continue;
		while (ct_chunk_reader_next(cr, &e) == 1) {
			const uint8_t *a = e.u.syscall_entry_addr.addr;

			if (e.type != CT_EV_SYSCALL_ENTRY_ADDR || e.pid != r->main_pid ||
			    e.u.syscall_entry_addr.nr != 42)
				continue;
			/* struct sockaddr_in: family (host order), port (network), address. */
			if (e.u.syscall_entry_addr.addr_len >= 8 && a[0] == 2 && a[1] == 0 &&
			    ((unsigned)a[2] << 8 | a[3]) == r->listen_port && a[4] == 127 &&
			    a[5] == 0 && a[6] == 0 && a[7] == 1)
				found++;
		}
		ct_chunk_reader_close(cr);
	}
	ct_trace_close(tr);
	CHECK_INT(found, 3);
}

static int tmp_on_disk(void)
{
	FILE *f = fopen("/proc/self/mounts", "r");
	char dev[256], mnt[256], fs[64];
	int disk = 1;

	while (f && fscanf(f, "%255s %255s %63s %*[^\n]", dev, mnt, fs) == 3) {
		if (!strcmp(mnt, "/tmp"))
			disk = strcmp(fs, "tmpfs") != 0;
	}
	if (f)
		fclose(f);
	return disk;
}

static void one(const char *backend)
{
	char dir[256], trace_dir[300], report[300], rerr[300];
	char *rec_argv[] = {(char *)ct_bin, "record",  "--backend", (char *)backend,
			    "-o",	    trace_dir, "--",	    (char *)wl_bin,
			    "mix",	    report,    NULL};
	char *spin_argv[] = {(char *)wl_bin, "spin", NULL};
	struct rep r;
	struct trace t;
	pid_t outsider;
	int st;

	make_tmp(dir, sizeof(dir), "sched");
	snprintf(trace_dir, sizeof(trace_dir), "%s/trace", dir);
	snprintf(report, sizeof(report), "%s/report", dir);
	snprintf(rerr, sizeof(rerr), "%s/record.err", dir);
	outsider = fork();
	if (outsider == 0) {
		execv(wl_bin, spin_argv);
		_exit(127);
	}
	st = run_argv(rec_argv, NULL, NULL, rerr);
	kill(outsider, SIGKILL);
	waitpid(outsider, NULL, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		char *e = slurp_file(rerr);

		T_FAIL("%s: record failed (status %d): %s", backend, st, e ? e : "");
		free(e);
		return;
	}
	read_rep(report, &r);
	CHECK(load_trace(trace_dir, &t) == 0);
	{
		char *sum = slurp_file(rerr);

		/* No loss anywhere, or the counts below would not be comparable. */
		CHECK(sum && strstr(sum, "drops: kernel 0, client 0, late 0, out-of-order 0"));
		free(sum);
	}
	check_sched(&t, &r, backend);
	check_clock(&t, &r, backend);
	check_filter(&t, &r, outsider, backend);
	check_arguments(&t, &r, !strcmp(backend, "bpf"), tmp_on_disk());
	if (!strcmp(backend, "bpf"))
		check_connect_address(trace_dir, &r);
	free_trace(&t);
	free(r.p);
	if (!t_failed_checks)
		rm_rf(dir);
	else
		fprintf(stderr, "kept %s for inspection\n", dir);
}

TEST(bpf_sched_clock_filter)
{
	one("bpf");
}

TEST(perf_sched_clock_filter)
{
	one("perf");
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
	RUN(bpf_sched_clock_filter);
	RUN(perf_sched_clock_filter);
	return test_main_end();
}
