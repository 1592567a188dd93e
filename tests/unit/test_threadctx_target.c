// SPDX-License-Identifier: MIT
/*
 * A traced program for test_threadctx, linked against the shared libcrosstrace like any
 * application: it enters and leaves spans on two threads (and in a forked child) step by step
 * when told to, and after each step reports what each thread's context record should hold,
 * so that the test can read the records from outside, as the kernel side will.
 *   script CMD_FD REPORT_FD: the scripted steps (output from CROSSTRACE_OUTPUT);
 *   flip REPORT_FD: one thread switches between two spans as fast as it can until killed.
 */
#include <asm/prctl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crosstrace/crosstrace.h"
#include "test_threadctx.h"

/* OTEP 4947's discovery symbol, resolved from libcrosstrace.so's dynamic symbol table. */
extern __thread void *otel_thread_ctx_v1;

static int cmd_fd, rep_fd;

static uint64_t fs_base(void)
{
	unsigned long fs = 0;

	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
	return fs;
}

static void die(const char *what)
{
	fprintf(stderr, "threadctx target %d: %s\n", (int)getpid(), what);
	exit(3);
}

/* What a thread is: its ids, and where its record is as it sees it. */
static void seen_self(struct tc_seen *s, const struct ct_span *expect)
{
	memset(s, 0, sizeof(*s));
	s->pid = getpid();
	s->tid = gettid();
	s->fs_base = fs_base();
	s->rec_addr = (uint64_t)(uintptr_t)otel_thread_ctx_v1;
	if (expect) {
		s->valid = 1;
		s->ctx = *ct_span_context_of(expect);
	}
}

static void report(const struct tc_report *r)
{
	if (write(rep_fd, r, sizeof(*r)) != (ssize_t)sizeof(*r))
		die("cannot write a report");
}

static void wait_go(void)
{
	char c;

	if (read(cmd_fd, &c, 1) != 1)
		exit(0); /* the test went away */
}

/* Waits until the test is done reading (it closes the command pipe). */
static void wait_end(void)
{
	char c;

	while (read(cmd_fd, &c, 1) == 1)
		;
}

/* ---- the worker thread: enters and leaves spans when the main thread says so ---- */

struct worker {
	int cmd[2], ack[2];
	struct tc_seen self;
	const struct ct_span *arg;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char op;

	seen_self(&w->self, NULL); /* its first call into the library comes later */
	if (write(w->ack[1], "r", 1) != 1)
		return NULL;
	while (read(w->cmd[0], &op, 1) == 1) {
		if (op == 'e')
			ct_scope_enter(w->arg);
		else if (op == 'x')
			ct_scope_exit();
		else if (op == 's')
			seen_self(&w->self, NULL);
		if (write(w->ack[1], "k", 1) != 1)
			break;
	}
	return NULL;
}

static void worker_do(struct worker *w, char op, const struct ct_span *span)
{
	char c;

	w->arg = span;
	if (write(w->cmd[1], &op, 1) != 1 || read(w->ack[0], &c, 1) != 1)
		die("worker does not answer");
}

/* Reports both threads, with the span each one's record should show (NULL: none). */
static void report2(const struct worker *w, const struct ct_span *on_main,
		    const struct ct_span *on_worker)
{
	struct tc_report r;

	memset(&r, 0, sizeof(r));
	r.n = 2;
	seen_self(&r.th[0], on_main);
	r.th[1] = w->self;
	if (on_worker) {
		r.th[1].valid = 1;
		r.th[1].ctx = *ct_span_context_of(on_worker);
	}
	report(&r);
}

/* The scripted steps; the comments give what each thread's record holds afterwards. */
static int script(void)
{
	struct ct_span a, b, c, u;
	struct ct_span_context remote;
	struct ct_span_opts ou = {.parent = &remote};
	const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
	struct worker w;
	struct tc_report r;
	pthread_t th;
	pid_t g;
	char ch;
	int st;

	if (ct_init(NULL))
		die("ct_init failed (CROSSTRACE_OUTPUT?)");
	if (ct_traceparent_parse(tp, strlen(tp), &remote))
		die("traceparent");
	if (pipe(w.cmd) || pipe(w.ack) || pthread_create(&th, NULL, worker_main, &w) ||
	    read(w.ack[0], &ch, 1) != 1)
		die("cannot start the worker thread");
	ct_span_start(&a, "a", NULL); /* root, sampled (parentbased_always_on) */
	ct_span_start(&u, "u", &ou); /* unsampled; its ids appear when it is first entered */
	worker_do(&w, 's', NULL); /* the worker's state as it is before its first call */

	wait_go(); /* 0: nothing current anywhere */
	report2(&w, NULL, NULL);
	wait_go(); /* 1: main enters a */
	ct_scope_enter(&a);
	report2(&w, &a, NULL);
	wait_go(); /* 2: the worker enters a too (a thread hop) */
	worker_do(&w, 'e', &a);
	worker_do(&w, 's', NULL);
	report2(&w, &a, &a);
	wait_go(); /* 3: main enters b, a child of a */
	ct_span_start(&b, "b", NULL);
	ct_scope_enter(&b);
	report2(&w, &b, &a);
	wait_go(); /* 4: the worker enters u, whose ids are generated right then */
	worker_do(&w, 'e', &u);
	report2(&w, &b, &u);
	wait_go(); /* 5: main leaves b: a again */
	ct_scope_exit();
	ct_span_end(&b);
	report2(&w, &a, &u);
	wait_go(); /* 6: the worker leaves u: a again */
	worker_do(&w, 'x', NULL);
	report2(&w, &a, &a);
	wait_go(); /* 7: main leaves a */
	ct_scope_exit();
	report2(&w, NULL, &a);
	wait_go(); /* 8: the worker leaves a */
	worker_do(&w, 'x', NULL);
	report2(&w, NULL, NULL);
	wait_go(); /* 9: main enters a again */
	ct_scope_enter(&a);
	report2(&w, &a, NULL);

	/* 10-13: a forked child, inside a's scope, starts with no current span. */
	g = fork();
	if (g < 0)
		die("fork");
	if (g == 0) {
		memset(&r, 0, sizeof(r));
		r.n = 1;
		ct_span_start(&c, "c", NULL); /* child of the inherited a: it records */
		wait_go(); /* 10 */
		seen_self(&r.th[0], NULL);
		report(&r);
		wait_go(); /* 11: the child enters c */
		ct_scope_enter(&c);
		seen_self(&r.th[0], &c);
		report(&r);
		wait_go(); /* 12: leaves c: back in a's scope, but a is the parent's */
		ct_scope_exit();
		seen_self(&r.th[0], NULL);
		report(&r);
		wait_go(); /* 13: leaves the inherited a */
		ct_scope_exit();
		seen_self(&r.th[0], NULL);
		report(&r);
		wait_go(); /* 14 releases the child; its parent reports */
		ct_span_end(&c);
		exit(0);
	}
	if (waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st))
		die("the forked child failed");
	report2(&w, &a, NULL); /* 14: the parent is still in a */
	wait_end();
	ct_scope_exit();
	ct_span_end(&a);
	ct_span_end(&u);
	close(w.cmd[1]);
	pthread_join(th, NULL);
	return ct_shutdown() ? 4 : 0;
}

/* ---- flip: one thread switches spans as fast as it can ---- */

static __attribute__((noreturn)) void flip(void)
{
	struct ct_span x, y;
	struct tc_report r;
	struct ct_config cfg = {.sampler = CT_SAMPLER_PARENTBASED_ALWAYS_ON};

	if (ct_init(&cfg))
		die("ct_init");
	ct_span_start(&x, "x", NULL);
	ct_span_start(&y, "y", NULL);
	memset(&r, 0, sizeof(r));
	r.n = 2;
	seen_self(&r.th[0], &x);
	seen_self(&r.th[1], &y);
	report(&r);
	for (;;) {
		ct_scope_enter(&x);
		ct_scope_exit();
		ct_scope_enter(&y);
		ct_scope_exit();
	}
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "script")) {
		cmd_fd = atoi(argv[2]);
		rep_fd = atoi(argv[3]);
		return script();
	}
	if (argc == 3 && !strcmp(argv[1], "flip")) {
		rep_fd = atoi(argv[2]);
		flip();
	}
	fprintf(stderr, "usage: %s script CMD_FD REPORT_FD | flip REPORT_FD\n", argv[0]);
	return 2;
}
