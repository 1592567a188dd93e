/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the kernel-capture tests: the root/CI skip rule, running commands with
 * captured output, and loading a whole trace directory into memory with the C reader.
 * Header-only (static functions), included once per test executable after test.h.
 */
#ifndef CT_TEST_CAPTURE_UTIL_H
#define CT_TEST_CAPTURE_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "format/event.h"
#include "format/trace_reader.h"

static const char *ct_bin; /* crosstrace */
static const char *wl_bin; /* capture_workload */

/*
 * Kernel tests need root. Without it they skip with the reason, except under CI=true where
 * a skip is a failure. Returns 1 when the test may run.
 */
static inline int kernel_tests_possible(void)
{
	const char *ci = getenv("CI");

	if (geteuid() == 0)
		return 1;
	if (ci && !strcmp(ci, "true")) {
		fprintf(stderr, "FAIL: kernel tests need root, and CI=true forbids skipping\n");
		exit(1);
	}
	fprintf(stderr, "SKIP: kernel tests need root (CAP_BPF + CAP_PERFMON)\n");
	return 0;
}

/*
 * Runs argv (with env_add "K=V" strings, NULL-terminated, may be NULL) with stdout and
 * stderr going to the given files (NULL: inherited). Returns the wait status.
 */
static inline int run_argv(char *const argv[], char *const env_add[], const char *out,
			   const char *err)
{
	pid_t pid = fork();
	int st = -1;

	if (pid == 0) {
		if (out) {
			int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

			dup2(fd, 1);
			close(fd);
		}
		if (err) {
			int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

			dup2(fd, 2);
			close(fd);
		}
		for (char *const *e = env_add; e && *e; e++)
			putenv(*e);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

static inline char *slurp_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = 0;
	fclose(f);
	return buf;
}

/* A temporary directory for one test (removed by rm_rf). */
static inline void make_tmp(char *out, size_t len, const char *tag)
{
	snprintf(out, len, "/tmp/ct-%s-XXXXXX", tag);
	if (!mkdtemp(out)) {
		perror("mkdtemp");
		exit(1);
	}
}

static inline void rm_rf(const char *path)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", path);
}

/* One event of a loaded trace, with the fields the tests look at. */
struct tev {
	uint64_t ts;
	int32_t pid, tid;
	uint16_t type;
	uint32_t cpu; /* stream cpu_id */
	unsigned chunk;
	uint32_t nr; /* syscalls */
	int64_t ret;
	uint64_t args[6];
	int32_t a, b; /* sched: next_tid/next_pid, wake tid/pid, fork child pid/tid, fd */
	uint32_t u; /* prev_state, flags, fd type, lost cpu */
	uint64_t count; /* kernel_lost */
	char str[128]; /* path, comm, fd name, span name */
};

struct trace {
	struct tev *ev;
	size_t n, cap;
	unsigned chunks;
	uint64_t errors;
};

static void tev_copy_str(struct tev *t, const char *s, size_t n)
{
	if (!s)
		return;
	if (n >= sizeof(t->str))
		n = sizeof(t->str) - 1;
	memcpy(t->str, s, n);
	t->str[n] = 0;
}

static void tev_fill(struct tev *t, const struct ct_event *e)
{
	memset(t, 0, sizeof(*t));
	t->ts = e->ts;
	t->pid = e->pid;
	t->tid = e->tid;
	t->type = e->type;
	t->cpu = e->cpu;
	switch (e->type) {
	case CT_EV_SYSCALL_ENTRY:
		t->nr = e->u.syscall_entry.nr;
		memcpy(t->args, e->u.syscall_entry.args, sizeof(t->args));
		break;
	case CT_EV_SYSCALL_ENTRY_PATH:
		t->nr = e->u.syscall_entry_path.nr;
		memcpy(t->args, e->u.syscall_entry_path.args, sizeof(t->args));
		tev_copy_str(t, e->u.syscall_entry_path.path, e->u.syscall_entry_path.path_len);
		break;
	case CT_EV_SYSCALL_ENTRY_ADDR:
		t->nr = e->u.syscall_entry_addr.nr;
		memcpy(t->args, e->u.syscall_entry_addr.args, sizeof(t->args));
		t->u = e->u.syscall_entry_addr.addr_len;
		break;
	case CT_EV_SYSCALL_EXIT:
		t->nr = e->u.syscall_exit.nr;
		t->ret = e->u.syscall_exit.ret;
		break;
	case CT_EV_SYSCALL_EXIT_ADDR:
		t->nr = e->u.syscall_exit_addr.nr;
		t->ret = e->u.syscall_exit_addr.ret;
		t->u = e->u.syscall_exit_addr.addr_len;
		break;
	case CT_EV_SCHED_SWITCH:
		t->u = e->u.sched_switch.prev_state;
		t->a = e->u.sched_switch.next_tid;
		t->b = e->u.sched_switch.next_pid;
		tev_copy_str(t, e->u.sched_switch.next_comm, e->u.sched_switch.next_comm_len);
		break;
	case CT_EV_SCHED_WAKING:
		t->a = e->u.sched_waking.tid;
		t->b = e->u.sched_waking.pid;
		t->u = e->u.sched_waking.flags;
		break;
	case CT_EV_SCHED_WAKEUP:
	case CT_EV_SCHED_WAKEUP_NEW:
		t->a = e->u.sched_wakeup.tid;
		t->b = e->u.sched_wakeup.pid;
		break;
	case CT_EV_PROCESS_FORK:
		t->a = e->u.process_fork.child_pid;
		t->b = e->u.process_fork.child_tid;
		tev_copy_str(t, e->u.process_fork.child_comm, e->u.process_fork.child_comm_len);
		break;
	case CT_EV_TASK_RENAME:
		tev_copy_str(t, e->u.task_rename.newcomm, e->u.task_rename.newcomm_len);
		break;
	case CT_EV_STATEDUMP_FD:
		t->a = e->u.statedump_fd.fd;
		t->u = e->u.statedump_fd.fd_type;
		tev_copy_str(t, e->u.statedump_fd.name, e->u.statedump_fd.name_len);
		break;
	case CT_EV_STATEDUMP_THREAD:
		tev_copy_str(t, e->u.statedump_thread.comm, e->u.statedump_thread.comm_len);
		break;
	case CT_EV_KERNEL_LOST:
		t->u = e->u.kernel_lost.cpu;
		t->count = e->u.kernel_lost.count;
		break;
	case CT_EV_SPAN_START:
		tev_copy_str(t, e->u.span_start.name, e->u.span_start.name_len);
		t->count = e->u.span_start.span_id;
		break;
	case CT_EV_SPAN_END:
		t->count = e->u.span_end.span_id;
		break;
	default:
		break;
	}
}

static void on_read_error(void *arg, int code, const char *msg)
{
	struct trace *t = arg;

	(void)code;
	t->errors++;
	fprintf(stderr, "trace read error: %s\n", msg);
}

/* Loads every event of every chunk (in chunk order, each chunk in timestamp order). */
static inline int load_trace(const char *dir, struct trace *t)
{
	struct ct_trace *tr;
	char err[512];

	memset(t, 0, sizeof(*t));
	if (ct_trace_open(&tr, dir, on_read_error, t, err, sizeof(err))) {
		fprintf(stderr, "cannot open trace %s: %s\n", dir, err);
		return -1;
	}
	t->chunks = ct_trace_chunk_count(tr);
	for (unsigned i = 0; i < t->chunks; i++) {
		const struct ct_chunk_meta *m = ct_trace_chunk(tr, i);
		struct ct_chunk_reader *r;
		struct ct_event e;

		if (ct_chunk_reader_open(&r, m->dir, on_read_error, t, err, sizeof(err))) {
			fprintf(stderr, "cannot open chunk %s: %s\n", m->dir, err);
			t->errors++;
			continue;
		}
		while (ct_chunk_reader_next(r, &e) == 1) {
			if (t->n == t->cap) {
				t->cap = t->cap ? t->cap * 2 : 4096;
				t->ev = realloc(t->ev, t->cap * sizeof(*t->ev));
				if (!t->ev)
					exit(1);
			}
			tev_fill(&t->ev[t->n], &e);
			t->ev[t->n].chunk = i;
			t->n++;
		}
		ct_chunk_reader_close(r);
	}
	ct_trace_close(tr);
	return 0;
}

static inline void free_trace(struct trace *t)
{
	free(t->ev);
	memset(t, 0, sizeof(*t));
}

static inline int is_sys_entry(uint16_t type)
{
	return type == CT_EV_SYSCALL_ENTRY || type == CT_EV_SYSCALL_ENTRY_PATH ||
	       type == CT_EV_SYSCALL_ENTRY_ADDR;
}

static inline int is_sys_exit(uint16_t type)
{
	return type == CT_EV_SYSCALL_EXIT || type == CT_EV_SYSCALL_EXIT_ADDR;
}

/* The value of "key: N" (first occurrence) in text, or -1. */
static inline long long find_count(const char *text, const char *key)
{
	const char *p = text ? strstr(text, key) : NULL;

	return p ? atoll(p + strlen(key)) : -1;
}

#endif
