// SPDX-License-Identifier: MIT
/*
 * bench/capture: what recording costs a program that makes system calls. A tight loop of
 * getpgid(0) runs untraced, under the bare floor program (capture_floor.bpf.c, loaded here),
 * under `crosstrace record` with each backend, under `perf record` / `perf trace` and under
 * `strace -f`, all in the same run; each figure is the median of a few runs, and the
 * overhead per syscall (enter + exit) is the difference with the untraced loop. Then the
 * event rate crosstrace sustains with zero drops: in steady state (limited here by how fast
 * the loop can make syscalls), and the rate at which the recorder drains a full ring. Prints
 * figures and ratios against the targets; a benchmark, not a test (no pass/fail).
 *   usage: capture_bench [-n CALLS] [-r REPEATS] CROSSTRACE
 *          (as its own workload: capture_bench loop N [GATE_FIFO] | threads T SECONDS)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "capture_floor.skel.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the workload (this binary re-executed) ---- */

static int loop_main(long n, const char *gate)
{
	uint64_t t0, t1;

	if (gate) {
		char c;
		int fd = open(gate, O_RDONLY);

		if (fd < 0 || read(fd, &c, 1) != 1)
			return 1;
		close(fd);
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		syscall(SYS_getpgid, 0);
	t1 = now_ns();
	printf("ns_per_call %.2f calls %ld\n", (double)(t1 - t0) / (double)n, n);
	return 0;
}

struct spin_arg {
	uint64_t end;
	long calls;
};

static void *spin_thread(void *p)
{
	struct spin_arg *a = p;

	while (now_ns() < a->end) {
		for (int i = 0; i < 1000; i++)
			syscall(SYS_getpgid, 0);
		a->calls += 1000;
	}
	return NULL;
}

static int threads_main(int t, double seconds)
{
	pthread_t th[16];
	struct spin_arg a[16];
	uint64_t t0 = now_ns();
	long total = 0;

	if (t > 16)
		t = 16;
	for (int i = 0; i < t; i++) {
		a[i].end = t0 + (uint64_t)(seconds * 1e9);
		a[i].calls = 0;
		pthread_create(&th[i], NULL, spin_thread, &a[i]);
	}
	for (int i = 0; i < t; i++) {
		pthread_join(th[i], NULL);
		total += a[i].calls;
	}
	printf("calls %ld seconds %.3f\n", total, (double)(now_ns() - t0) / 1e9);
	return 0;
}

/* ---- running things ---- */

static char self[4096];
static const char *ct_bin;

/* Runs argv with stdout into buf (stderr into errbuf if given). Returns the wait status. */
static int run_capture(char *const argv[], char *buf, size_t len, char *errbuf, size_t errlen)
{
	int out[2], err[2], st = -1;
	pid_t pid;

	if (pipe(out) || pipe(err))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	{
		size_t n = 0, m = 0;
		ssize_t r;
		int open_out = 1, open_err = 1;

		/* Small outputs: read both pipes to the end in turn. */
		while (open_out || open_err) {
			if (open_out) {
				r = read(out[0], buf + n, len - 1 - n);
				if (r <= 0)
					open_out = 0;
				else
					n += (size_t)r;
				if (n >= len - 1)
					open_out = 0;
			}
			if (open_err) {
				char sink[4096];

				r = read(err[0], errbuf && m < errlen - 1 ? errbuf + m : sink,
					 errbuf && m < errlen - 1 ? errlen - 1 - m : sizeof(sink));
				if (r <= 0)
					open_err = 0;
				else if (errbuf && m < errlen - 1)
					m += (size_t)r;
			}
		}
		buf[n] = 0;
		if (errbuf)
			errbuf[m] = 0;
	}
	close(out[0]);
	close(err[0]);
	waitpid(pid, &st, 0);
	return st;
}

static double parse_ns(const char *out)
{
	const char *p = strstr(out, "ns_per_call ");

	return p ? atof(p + 12) : -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n ? v[n / 2] : -1;
}

static int have(const char *prog)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

/* ns per call of the loop under a wrapper command (argv prefix, NULL-terminated). */
static double measure(const char *const *prefix, long n, int reps, char *note, size_t notelen)
{
	double v[16];
	int got = 0;

	if (reps > 16)
		reps = 16;
	for (int r = 0; r < reps; r++) {
		char *argv[32], nbuf[32], out[4096], err[8192];
		int k = 0, st;
		double x;

		for (const char *const *p = prefix; p && *p && k < 24; p++)
			argv[k++] = (char *)*p;
		snprintf(nbuf, sizeof(nbuf), "%ld", n);
		argv[k++] = self;
		argv[k++] = "loop";
		argv[k++] = nbuf;
		argv[k] = NULL;
		st = run_capture(argv, out, sizeof(out), err, sizeof(err));
		x = parse_ns(out);
		if (!WIFEXITED(st) || WEXITSTATUS(st) || x < 0) {
			if (note)
				snprintf(note, notelen, "failed: %.200s", err);
			return -1;
		}
		if (note && strstr(err, "drops: kernel ")) {
			const char *d = strstr(err, "drops: kernel ");

			snprintf(note, notelen, "%.*s", (int)strcspn(d, "\n"), d);
		}
		v[got++] = x;
	}
	return median(v, got);
}

/* ---- the floor: load capture_floor.bpf.c for one child, consume in a thread ---- */

static volatile int floor_stop;
static long floor_records;

static int floor_cb(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	floor_records++;
	return 0;
}

static void *floor_consumer(void *p)
{
	struct ring_buffer *rb = p;

	while (!floor_stop)
		ring_buffer__poll(rb, 10);
	ring_buffer__consume(rb);
	return NULL;
}

static int silent(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l;
	(void)f;
	(void)ap;
	return 0;
}

static double measure_floor(long n, int reps, long *records)
{
	double v[16];
	int got = 0;

	libbpf_set_print(silent);
	for (int r = 0; r < reps && r < 16; r++) {
		int gate[2], out[2], st;
		struct capture_floor *s;
		struct ring_buffer *rb;
		pthread_t th;
		char buf[256] = "", nbuf[32];
		pid_t pid;
		ssize_t k;

		if (pipe(gate) || pipe(out))
			return -1;
		snprintf(nbuf, sizeof(nbuf), "%ld", n);
		pid = fork();
		if (pid == 0) {
			char c;

			close(gate[1]);
			dup2(out[1], 1);
			if (read(gate[0], &c, 1) != 1)
				_exit(1);
			execl(self, self, "loop", nbuf, (char *)NULL);
			_exit(127);
		}
		close(gate[0]);
		close(out[1]);
		s = capture_floor__open();
		if (!s)
			return -1;
		s->rodata->target_tgid = (uint32_t)pid;
		s->rodata->wakeup_bytes = (16 << 20) / 4;
		if (capture_floor__load(s) || capture_floor__attach(s)) {
			capture_floor__destroy(s);
			kill(pid, SIGKILL);
			return -1;
		}
		rb = ring_buffer__new(bpf_map__fd(s->maps.rb), floor_cb, NULL, NULL);
		floor_stop = 0;
		floor_records = 0;
		pthread_create(&th, NULL, floor_consumer, rb);
		if (write(gate[1], "g", 1) != 1)
			return -1;
		close(gate[1]);
		k = read(out[0], buf, sizeof(buf) - 1);
		buf[k > 0 ? k : 0] = 0;
		close(out[0]);
		waitpid(pid, &st, 0);
		floor_stop = 1;
		pthread_join(th, NULL);
		ring_buffer__free(rb);
		capture_floor__destroy(s);
		if (parse_ns(buf) < 0)
			return -1;
		v[got++] = parse_ns(buf);
		*records = floor_records;
	}
	return median(v, got);
}

/* ---- event rates ---- */

static long long field(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? atoll(p + strlen(key)) : -1;
}

static void steady_rate(int threads, double seconds)
{
	char tb[16], sb[16], out[4096], err[16384];
	char *argv[] = {
		(char *)ct_bin, "record", "--ring-size", "64M", "-o", "/dev/shm/ct-bench-steady",
		"--",		self,	  "threads",	 tb,	sb,   NULL};
	long long events, drops, calls;
	double secs;
	int st;

	snprintf(tb, sizeof(tb), "%d", threads);
	snprintf(sb, sizeof(sb), "%.1f", seconds);
	if (system("rm -rf /dev/shm/ct-bench-steady"))
		return;
	st = run_capture(argv, out, sizeof(out), err, sizeof(err));
	calls = field(out, "calls ");
	secs = strstr(out, "seconds ") ? atof(strstr(out, "seconds ") + 8) : 0;
	events = field(err, "events: ");
	drops = field(err, "drops: kernel ");
	if (!WIFEXITED(st) || calls <= 0 || secs <= 0) {
		printf("  steady, %d thread(s): failed\n%s\n", threads, err);
		return;
	}
	printf("  steady state, %d generating thread(s): %.2f M events/s (2 per syscall), %lld "
	       "events recorded, %lld dropped\n",
	       threads, 2.0 * (double)calls / secs / 1e6, events, drops);
	if (system("rm -rf /dev/shm/ct-bench-steady"))
		return;
}

/*
 * The recorder's own capacity: the loop fills a large ring while the recorder is stopped
 * (SIGSTOP), then the time from SIGCONT to the recorder's exit is how long it takes to turn
 * that backlog into chunks.
 */
/* CPU time (user + system, s) of pid itself, and its state letter, from /proc/<pid>/stat. */
static double proc_cpu(pid_t pid, char *state)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", state, &ut,
			 &st) != 3)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double drain_rate(long n, long long *events_out, long long *drops_out, double *cpu_rate)
{
	char fifo[] = "/dev/shm/ct-bench-gate", nbuf[32], line[256], err[16384];
	char *argv[] = {
		(char *)ct_bin, "record", "--ring-size", "1G", "-o", "/dev/shm/ct-bench-drain",
		"--",		self,	  "loop",	 nbuf, fifo, NULL};
	int out[2], errp[2], st, gfd;
	uint64_t t0, t1;
	double cpu0, cpu1 = 0;
	char state = 0;
	ssize_t k;
	pid_t rec;

	snprintf(nbuf, sizeof(nbuf), "%ld", n);
	unlink(fifo);
	if (mkfifo(fifo, 0600) || system("rm -rf /dev/shm/ct-bench-drain") || pipe(out) ||
	    pipe(errp))
		return -1;
	rec = fork();
	if (rec == 0) {
		dup2(out[1], 1);
		dup2(errp[1], 2);
		close(out[0]);
		close(errp[0]);
		execv(ct_bin, argv);
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);
	gfd = open(fifo, O_WRONLY); /* returns once the loop has opened its end */
	usleep(200 * 1000);
	kill(rec, SIGSTOP);
	if (gfd < 0 || write(gfd, "g", 1) != 1)
		return -1;
	close(gfd);
	k = read(out[0], line, sizeof(line) - 1); /* the loop's report: it is done */
	line[k > 0 ? k : 0] = 0;
	cpu0 = proc_cpu(rec, &state);
	t0 = now_ns();
	kill(rec, SIGCONT);
	/*
	 * Wall time depends on what else the machine runs; the recorder's own CPU time (read
	 * once it is a zombie, before it is reaped) gives its capacity per CPU.
	 */
	for (;;) {
		double c = proc_cpu(rec, &state);

		if (c < 0 || state == 'Z') {
			if (c >= 0)
				cpu1 = c;
			break;
		}
		cpu1 = c;
		usleep(5000);
	}
	t1 = now_ns();
	{
		size_t m = 0;

		while ((k = read(errp[0], err + m, sizeof(err) - 1 - m)) > 0)
			m += (size_t)k;
		err[m] = 0;
	}
	waitpid(rec, &st, 0);
	close(out[0]);
	close(errp[0]);
	unlink(fifo);
	*events_out = field(err, "events: ");
	*drops_out = field(err, "drops: kernel ");
	if (system("rm -rf /dev/shm/ct-bench-drain"))
		return -1;
	if (!WIFEXITED(st) || *events_out <= 0)
		return -1;
	*cpu_rate = cpu1 > cpu0 ? (double)*events_out / (cpu1 - cpu0) : -1;
	return (double)*events_out / ((double)(t1 - t0) / 1e9);
}

int main(int argc, char **argv)
{
	long n = 1000000, slow_n;
	int reps = 3, c;
	double base, floor_ns, bpf, perf, pr = -1, pt = -1, st = -1, rate, cpu_rate = -1;
	long floor_recs = 0;
	long long ev = 0, dr = 0;
	char note_bpf[256] = "", note_perf[256] = "", note[256];

	if (argc >= 3 && !strcmp(argv[1], "loop"))
		return loop_main(atol(argv[2]), argc > 3 ? argv[3] : NULL);
	if (argc >= 4 && !strcmp(argv[1], "threads"))
		return threads_main(atoi(argv[2]), atof(argv[3]));
	while ((c = getopt(argc, argv, "n:r:")) != -1) {
		if (c == 'n')
			n = atol(optarg);
		else if (c == 'r')
			reps = atoi(optarg);
		else
			return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: %s [-n CALLS] [-r REPEATS] CROSSTRACE\n", argv[0]);
		return 2;
	}
	ct_bin = argv[optind];
	if (geteuid() != 0) {
		fprintf(stderr, "capture_bench needs root (BPF, perf)\n");
		return 1;
	}
	{
		ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);

		self[k > 0 ? k : 0] = 0;
	}
	slow_n = n / 20 > 1000 ? n / 20 : 1000;
	printf("capture bench: getpgid(0) loop, %ld calls, median of %d runs (strace and perf "
	       "trace: %ld calls)\n",
	       n, reps, slow_n);
	{
		const char *none[] = {NULL};
		const char *ct_bpf[] = {ct_bin,	     "record", "-o", "/dev/shm/ct-bench-bpf",
					"--backend", "bpf",    "--", NULL};
		const char *ct_perf[] = {ct_bin,      "record", "-o", "/dev/shm/ct-bench-perf",
					 "--backend", "perf",	"--", NULL};
		const char *perf_rec[] = {"perf",
					  "record",
					  "-q",
					  "-e",
					  "raw_syscalls:sys_enter",
					  "-e",
					  "raw_syscalls:sys_exit",
					  "-o",
					  "/dev/shm/ct-bench-perf.data",
					  "--",
					  NULL};
		const char *perf_trace[] = {"perf", "trace", "-o", "/dev/null", "--", NULL};
		const char *strace_f[] = {"strace", "-f", "-o", "/dev/null", "--", NULL};

		/*
		 * Round-robin over the configurations, so that a change in machine load during
		 * the run (shared machines) affects them alike; medians per configuration.
		 * record refuses an existing directory: each run's is removed after it.
		 */
		if (system("rm -rf /dev/shm/ct-bench-bpf /dev/shm/ct-bench-perf"))
			return 1;
		{
			double vb[16], vf[16], v[16], w[16];
			int nb = 0, nf = 0, nv = 0, nw = 0;

			for (int r = 0; r < reps && r < 16; r++) {
				double a = measure(none, n, 1, NULL, 0);
				double f = measure_floor(n, 1, &floor_recs);
				double x = measure(ct_bpf, n, 1, note_bpf, sizeof(note_bpf));
				double y = measure(ct_perf, n, 1, note_perf, sizeof(note_perf));

				if (a > 0)
					vb[nb++] = a;
				if (f > 0)
					vf[nf++] = f;
				if (x > 0)
					v[nv++] = x;
				if (y > 0)
					w[nw++] = y;
				if (system("rm -rf /dev/shm/ct-bench-bpf /dev/shm/ct-bench-perf"))
					return 1;
			}
			base = nb ? median(vb, nb) : -1;
			floor_ns = nf ? median(vf, nf) : -1;
			bpf = nv ? median(v, nv) : -1;
			perf = nw ? median(w, nw) : -1;
		}
		if (have("perf")) {
			pr = measure(perf_rec, n, reps, note, sizeof(note));
			pt = measure(perf_trace, slow_n, 1, note, sizeof(note));
			unlink("/dev/shm/ct-bench-perf.data");
			unlink("/dev/shm/ct-bench-perf.data.old");
		}
		if (have("strace"))
			st = measure(strace_f, slow_n, 1, note, sizeof(note));
	}
	printf("\n%-34s %10s %14s\n", "configuration", "ns/call", "overhead ns");
	printf("%-34s %10.1f %14s\n", "no tracing", base, "-");
#define ROW(name, v)                                                                     \
	do {                                                                             \
		if ((v) > 0)                                                             \
			printf("%-34s %10.1f %14.1f\n", name, (v), (v)-base);            \
		else                                                                     \
			printf("%-34s %10s %14s\n", name, "n/a", "(failed or missing)"); \
	} while (0)
	ROW("floor: raw_tp + ringbuf (bare)", floor_ns);
	ROW("crosstrace record --backend bpf", bpf);
	ROW("crosstrace record --backend perf", perf);
	ROW("perf record (sys_enter/sys_exit)", pr);
	ROW("perf trace", pt);
	ROW("strace -f", st);
	printf("\nfloor records: %ld for %ld calls; crosstrace bpf: %s; perf: %s\n", floor_recs, n,
	       note_bpf, note_perf);
	if (floor_ns > base && bpf > 0)
		printf("crosstrace bpf overhead / floor overhead: %.2fx (target <= 1.30x)\n",
		       (bpf - base) / (floor_ns - base));

	printf("\nevent rate with zero drops:\n");
	steady_rate(1, 3.0);
	steady_rate(2, 3.0);
	rate = drain_rate(2 * n, &ev, &dr, &cpu_rate);
	if (rate > 0)
		printf("  recorder draining a full ring: %.2f M events/s wall clock, %.2f M events "
		       "per CPU-second of the recorder (%lld events, %lld dropped) (target >= 4 M "
		       "events/s)\n",
		       rate / 1e6, cpu_rate / 1e6, ev, dr);
	else
		printf("  recorder drain capacity: failed\n");
	return 0;
}
