// SPDX-License-Identifier: MIT
/*
 * The program the kernel-capture tests record: known mixes of system calls in threads and a
 * child process, inside libcrosstrace spans, with what only the program itself can know
 * (user-space clock readings around a syscall, its context-switch counters read just before
 * each thread exits, the names of its fds) written to a report file for the test to compare.
 *
 *   capture_workload mix REPORT      3 named threads + a forked child with 2 threads
 *   capture_workload storm N         N getpgid(0) calls in a tight loop (a syscall that no
 *                                    runtime makes on its own, so the count is exact)
 *   capture_workload sleep SECONDS [READY]
 *                                    a write to /dev/null every 100 ms for SECONDS; creates
 *                                    the file READY after the third write
 *   capture_workload hold REPORT     opens files, sockets and a pipe, then waits on stdin
 *   capture_workload spin            getpid() until killed (a process outside the trace)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crosstrace/crosstrace.h"

#define THREADS 3
#define CLOCK_PROBES 50

static FILE *report;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t contended = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start_line;
static struct sockaddr_in listen_addr;
static char tmpdir[256];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&report_lock);
	va_start(ap, fmt);
	vfprintf(report, fmt, ap);
	va_end(ap);
	fflush(report);
	pthread_mutex_unlock(&report_lock);
}

static uint64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/*
 * Reads this thread's context-switch counters. The read(2) that returns them is the
 * thread's last syscall before it exits, and its fd goes to the report so that the test
 * can find that read in the trace.
 */
static void report_ctxt(void)
{
	char path[64], buf[4096];
	long vol = -1, nonvol = -1;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)gettid_());
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		char *v, *nv;

		buf[n] = 0;
		v = strstr(buf, "\nvoluntary_ctxt_switches:");
		nv = strstr(buf, "\nnonvoluntary_ctxt_switches:");
		if (v)
			vol = atol(v + 25);
		if (nv)
			nonvol = atol(nv + 28);
	}
	/* No syscall between the read and the thread's exit but these two (and the report
	 * write, which happens after the counters were taken). */
	close(fd);
	say("ctxt %d %ld %ld %d\n", (int)gettid_(), vol, nonvol, fd);
}

/* clock_gettime just before and after getppid(), many times: the test checks that the
 * kernel's entry/exit timestamps fall inside each bracket. */
static void clock_probes(void)
{
	for (int i = 0; i < CLOCK_PROBES; i++) {
		uint64_t before = mono();
		long r = syscall(SYS_getppid);
		uint64_t after = mono();

		say("clock %d %llu %llu %ld\n", (int)gettid_(), (unsigned long long)before,
		    (unsigned long long)after, r);
	}
}

static void file_io(int idx)
{
	char path[512], buf[256];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/file%d", tmpdir, idx);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (fd < 0)
		return;
	memset(buf, 'a' + idx, sizeof(buf));
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		say("error write\n");
	/* Reaches the disk: block request issue and completion (unless /tmp is in memory). */
	if (idx == 1)
		fsync(fd);
	fstat(fd, &st);
	lseek(fd, 0, SEEK_SET);
	if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		say("error read\n");
	close(fd);
	/* A failing call: its -ENOENT must be recorded as such. */
	snprintf(path, sizeof(path), "%s/missing%d", tmpdir, idx);
	if (open(path, O_RDONLY) >= 0)
		say("error open missing\n");
	unlink(path);
}

static void net_io(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0)
		return;
	if (connect(s, (struct sockaddr *)&listen_addr, sizeof(listen_addr)))
		say("error connect %d\n", errno);
	if (write(s, "ping", 4) != 4)
		say("error send\n");
	close(s);
}

static void *worker(void *arg)
{
	int idx = (int)(intptr_t)arg;
	struct timespec nap = {0, 2 * 1000 * 1000};
	char name[16];
	struct ct_span span;

	snprintf(name, sizeof(name), "wk%d", idx);
	prctl(PR_SET_NAME, name);
	say("thread %d %s\n", (int)gettid_(), name);
	pthread_barrier_wait(&start_line);

	ct_span_start(&span, name, NULL);
	ct_scope_enter(&span);
	file_io(idx);
	for (int i = 0; i < 20; i++) {
		pthread_mutex_lock(&contended); /* futex when another worker holds it */
		nanosleep(&(struct timespec){0, 100 * 1000}, NULL);
		pthread_mutex_unlock(&contended);
	}
	nanosleep(&nap, NULL);
	net_io();
	syscall(SYS_getpid);
	clock_probes();
	sched_yield();
	ct_scope_exit();
	ct_span_end(&span);
	report_ctxt();
	return NULL;
}

/* A child process with two threads: the filter must follow fork and its threads. */
static void *child_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5; i++)
		syscall(SYS_getpid);
	return NULL;
}

static void child_process(void)
{
	pthread_t t[2];
	char msg[64];
	int n;

	n = snprintf(msg, sizeof(msg), "child %d\n", (int)getpid());
	if (write(fileno(report), msg, (size_t)n) != n)
		_exit(2);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, child_thread, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	_exit(0);
}

static int mix(void)
{
	pthread_t t[THREADS];
	socklen_t alen = sizeof(listen_addr);
	int ls, n_accepted = 0;
	pid_t child;
	int st;

	ct_init(NULL); /* records spans when CROSSTRACE_OUTPUT is set (by crosstrace record) */
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ct-workload-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	ls = socket(AF_INET, SOCK_STREAM, 0);
	listen_addr.sin_family = AF_INET;
	listen_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls < 0 || bind(ls, (struct sockaddr *)&listen_addr, sizeof(listen_addr)) ||
	    listen(ls, 16) || getsockname(ls, (struct sockaddr *)&listen_addr, &alen))
		return 1;
	say("main %d\n", (int)getpid());
	say("listen %u\n", ntohs(listen_addr.sin_port));
	say("tmpdir %s\n", tmpdir);
	pthread_barrier_init(&start_line, NULL, THREADS);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(intptr_t)(i + 1));
	while (n_accepted < THREADS) {
		char buf[8];
		int c = accept(ls, NULL, NULL);

		if (c < 0)
			break;
		if (read(c, buf, sizeof(buf)) < 0)
			say("error server read\n");
		close(c);
		n_accepted++;
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	child = fork();
	if (child == 0)
		child_process();
	waitpid(child, &st, 0);
	close(ls);
	for (int i = 1; i <= THREADS; i++) {
		char p[512];

		snprintf(p, sizeof(p), "%s/file%d", tmpdir, i);
		unlink(p);
	}
	rmdir(tmpdir);
	ct_shutdown();
	say("done\n");
	return 0;
}

static int storm(long n)
{
	for (long i = 0; i < n; i++)
		syscall(SYS_getpgid, 0);
	return 0;
}

static int sleeper(double seconds, const char *ready)
{
	uint64_t end = mono() + (uint64_t)(seconds * 1e9);
	int fd = open("/dev/null", O_WRONLY), n = 0;

	while (mono() < end) {
		if (write(fd, "x", 1) != 1)
			return 1;
		if (++n == 3 && ready) {
			int r = open(ready, O_WRONLY | O_CREAT, 0644);

			if (r >= 0)
				close(r);
		}
		nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
	}
	close(fd);
	return 0;
}

/* Opens one of each kind of fd and reports what each should be named in a statedump. */
static int hold(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET}, b;
	struct sockaddr_un u = {.sun_family = AF_UNIX};
	socklen_t len = sizeof(a);
	int f, ls, c, acc, p[2], us;
	char buf[1];

	prctl(PR_SET_NAME, "holder");
	f = open("/etc/hostname", O_RDONLY);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (f < 0 || ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 4) ||
	    getsockname(ls, (struct sockaddr *)&a, &len))
		return 1;
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)))
		return 1;
	len = sizeof(b);
	getsockname(c, (struct sockaddr *)&b, &len);
	acc = accept(ls, NULL, NULL);
	if (acc < 0 || pipe(p))
		return 1;
	snprintf(u.sun_path, sizeof(u.sun_path), "/tmp/ct-hold-%d.sock", (int)getpid());
	unlink(u.sun_path);
	us = socket(AF_UNIX, SOCK_STREAM, 0);
	if (us < 0 || bind(us, (struct sockaddr *)&u, sizeof(u)) || listen(us, 1))
		return 1;
	say("pid %d\n", (int)getpid());
	say("fd %d /etc/hostname\n", f);
	say("fd %d tcp 127.0.0.1:%u (listening)\n", ls, ntohs(a.sin_port));
	say("fd %d tcp 127.0.0.1:%u->127.0.0.1:%u\n", c, ntohs(b.sin_port), ntohs(a.sin_port));
	say("fd %d tcp 127.0.0.1:%u->127.0.0.1:%u\n", acc, ntohs(a.sin_port), ntohs(b.sin_port));
	say("fd %d unix %s\n", us, u.sun_path);
	say("pipe %d %d\n", p[0], p[1]);
	say("ready\n");
	/* Wait until the test closes our stdin, doing a little work meanwhile. */
	while (read(0, buf, 1) > 0)
		;
	unlink(u.sun_path);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: capture_workload mix|storm|sleep|hold|spin [ARG]\n");
		return 2;
	}
	if (!strcmp(argv[1], "mix") || !strcmp(argv[1], "hold")) {
		if (argc < 3)
			return 2;
		report = fopen(argv[2], "w");
		if (!report)
			return 1;
		return !strcmp(argv[1], "mix") ? mix() : hold();
	}
	if (!strcmp(argv[1], "storm") && argc > 2)
		return storm(atol(argv[2]));
	if (!strcmp(argv[1], "sleep") && argc > 2)
		return sleeper(atof(argv[2]), argc > 3 ? argv[3] : NULL);
	if (!strcmp(argv[1], "spin")) {
		for (;;)
			syscall(SYS_getpid);
	}
	return 2;
}
