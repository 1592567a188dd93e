// SPDX-License-Identifier: MIT
/*
 * The program test_only_in_spans records twice at once (once with --only-in-spans, once in
 * full): system calls inside and outside sampled spans, nested spans, an unsampled trace, a
 * span entered on another thread (a hop), a thread outside spans waking one inside, and a
 * forked child that first runs inside its parent's inherited scope, then in its own span.
 * It waits for a byte on GO_FIFO before the scripted part, so that both recorders are ready.
 *   test_only_in_spans_target GO_FIFO
 * Linked against the shared libcrosstrace, like an application.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crosstrace/crosstrace.h"

static __attribute__((noreturn)) void die(const char *what)
{
	fprintf(stderr, "only_in_spans target %d: %s\n", (int)getpid(), what);
	exit(3);
}

/* A few syscalls whose arguments name the step (and a path-taking one). */
static void noise(int tag)
{
	char path[64];
	int fd;

	syscall(SYS_getppid);
	close(-1000 - tag); /* EBADF: the argument identifies the step in both recordings */
	snprintf(path, sizeof(path), "/nonexistent/ct-only-in-spans-%d", tag);
	fd = open(path, O_RDONLY);
	if (fd >= 0)
		close(fd);
	fd = open("/dev/null", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, path, (size_t)tag) < 0)
			die("write /dev/null");
		close(fd);
	}
}

/* A voluntary context switch (and a timer wake-up). */
static void nap(void)
{
	struct timespec ts = {0, 1000000};

	nanosleep(&ts, NULL);
}

static struct ct_span hop_span;

/* Enters a span started on the main thread, then works outside any span. */
static void *hop_thread(void *arg)
{
	(void)arg;
	ct_scope_enter(&hop_span);
	noise(5);
	nap();
	ct_scope_exit();
	noise(6);
	return NULL;
}

static int pipe_fds[2], ack_fds[2];

/*
 * Sleeps in read() inside its own sampled span until the waker writes (a wake-up of a span
 * thread), then wakes the waker in turn (a wake-up by one).
 */
static void *sleeper_thread(void *arg)
{
	struct ct_span s;
	char c;

	(void)arg;
	ct_span_start(&s, "sleeper", &(struct ct_span_opts){.root = 1});
	ct_scope_enter(&s);
	noise(11);
	if (read(pipe_fds[0], &c, 1) != 1)
		die("read pipe");
	noise(12);
	nap();
	if (write(ack_fds[1], "a", 1) != 1)
		die("write ack");
	ct_scope_exit();
	ct_span_end(&s);
	return NULL;
}

/* Outside any span: wakes the sleeper, then sleeps until it answers. */
static void *waker_thread(void *arg)
{
	char c;

	(void)arg;
	nap();
	nap();
	noise(13);
	if (write(pipe_fds[1], "w", 1) != 1)
		die("write pipe");
	if (read(ack_fds[0], &c, 1) != 1)
		die("read ack");
	return NULL;
}

static void forked_child(void)
{
	struct ct_span d;

	/* Still inside the parent's scopes as far as the API goes, but they are not ours. */
	noise(7);
	ct_span_start(&d, "child-root", &(struct ct_span_opts){.root = 1});
	ct_scope_enter(&d);
	noise(8);
	nap();
	ct_scope_exit();
	ct_span_end(&d);
	noise(14);
	exit(0); /* the atexit flush sends the child's spans */
}

int main(int argc, char **argv)
{
	struct ct_span warm, a, b, u;
	struct ct_span_context remote;
	pthread_t t1, t2;
	char go;
	int fd, st;
	pid_t child;

	if (argc != 2)
		die("usage: test_only_in_spans_target GO_FIFO");
	if (ct_init(NULL))
		die("ct_init (is CROSSTRACE_OUTPUT set?)");
	/* A span without a scope: the connection, its THREAD_CTX frame, and no span current. */
	ct_span_start(&warm, "warm-up", NULL);
	ct_span_end(&warm);
	ct_flush();
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || read(fd, &go, 1) != 1)
		die("waiting on the go fifo");
	close(fd);

	noise(1);
	ct_span_start(&a, "a", &(struct ct_span_opts){.root = 1});
	ct_scope_enter(&a);
	noise(2);
	nap();
	ct_span_start(&b, "b", NULL);
	ct_scope_enter(&b);
	noise(3);
	ct_scope_exit();
	ct_span_end(&b);
	noise(4);

	/* A hop: started here, current on another thread. */
	ct_span_start(&hop_span, "hop", NULL);
	if (pthread_create(&t1, NULL, hop_thread, NULL))
		die("pthread_create");
	pthread_join(t1, NULL);
	ct_span_end(&hop_span);

	/* A thread outside spans wakes one inside its span. */
	if (pipe(pipe_fds) || pipe(ack_fds))
		die("pipe");
	if (pthread_create(&t1, NULL, sleeper_thread, NULL) ||
	    pthread_create(&t2, NULL, waker_thread, NULL))
		die("pthread_create");
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);

	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0)
		forked_child();
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		die("child failed");
	noise(9);
	ct_scope_exit();
	ct_span_end(&a);

	/* An unsampled trace (remote parent without the sampled flag): its scope is left out. */
	memset(&remote, 0, sizeof(remote));
	memset(remote.trace_id, 0x42, sizeof(remote.trace_id));
	memset(remote.span_id, 0x17, sizeof(remote.span_id));
	remote.trace_flags = 0;
	remote.is_remote = 1;
	ct_span_start(&u, "unsampled", &(struct ct_span_opts){.parent = &remote});
	ct_scope_enter(&u);
	noise(10);
	nap();
	ct_scope_exit();
	ct_span_end(&u);
	noise(15);
	return ct_shutdown() ? 4 : 0;
}
