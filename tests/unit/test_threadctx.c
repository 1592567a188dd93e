// SPDX-License-Identifier: MIT
/*
 * The thread context record (lib/threadctx.h, docs/internals/threadctx.md), read the ways its
 * readers read it:
 *  - in the thread, through OTEP 4947's otel_thread_ctx_v1 pointer: nesting, unbalanced exits,
 *    scope depth overflow, a fork child that starts with no span although it runs inside its
 *    parent's scopes, and the sampled flag against the sampler for every sampler and parent
 *    kind (the library decides from the parent alone when it can);
 *  - the offset a trace directory announces (THREAD_CTX_INFO) against arch_prctl(ARCH_GET_FS)
 *    in several threads: one offset for all;
 *  - from another process, as the kernel side will: a traced program (test_threadctx_target,
 *    linked with the shared library) streams to a real UNIX socket; its THREAD_CTX frame gives
 *    the offset, each thread's fs base comes from the kernel (ptrace GETREGS: the saved
 *    task->thread.fsbase BPF reads), and the record is read with process_vm_readv at fs base
 *    + offset after every step of a script (nesting, thread hops, an unsampled span, a fork);
 *  - consistency: an outside reader racing a thread that switches spans as fast as it can
 *    never accepts a mixed record when it follows the sequence-word protocol.
 * Outside reads need ptrace permission; without it those tests skip, and fail under CI=true.
 */
#include <asm/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client_trace.h"
#include "crosstrace/crosstrace.h"
#include "format/tracedir.h"
#include "format/wire.h"
#include "test.h"
#include "test_threadctx.h"

extern __thread void *otel_thread_ctx_v1;

static char tmpdir[256];
static struct ct_span_context remote; /* an unsampled remote parent */

static const char *hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return out;
}

/* 1 when r shows want (NULL: no span) consistently. */
static int rec_matches(const struct tc_rec *r, const struct ct_span_context *want)
{
	static const uint8_t zero[24];

	if ((r->seq & 1) || r->attrs_size)
		return 0;
	if (!want)
		return r->valid == 0 && r->flags == 0 && !memcmp(r->trace_id, zero, 16) &&
		       !memcmp(r->span_id, zero, 8);
	return r->valid == 1 && r->flags == (want->trace_flags & CT_TRACE_FLAG_SAMPLED) &&
	       !memcmp(r->trace_id, want->trace_id, 16) && !memcmp(r->span_id, want->span_id, 8);
}

static void check_rec(const char *what, const struct tc_rec *r, const struct ct_span_context *want)
{
	char a[40], b[40], c[40], d[40];

	if (rec_matches(r, want))
		return;
	T_FAIL("%s: record valid %u flags %u attrs %u seq %u trace %s span %s; expected %s", what,
	       r->valid, r->flags, r->attrs_size, r->seq, hex(r->trace_id, 16, a),
	       hex(r->span_id, 8, b), want ? "" : "no span");
	if (want)
		fprintf(stderr, "    expected valid 1 flags %u trace %s span %s\n",
			want->trace_flags & 1u, hex(want->trace_id, 16, c),
			hex(want->span_id, 8, d));
}

static uint64_t my_fs_base(void)
{
	unsigned long fs = 0;

	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
	return fs;
}

static int init_no_output(void)
{
	struct ct_config cfg = {.sampler = CT_SAMPLER_PARENTBASED_ALWAYS_ON};

	return ct_init(&cfg);
}

/* ---- in the thread ---- */

static void *nesting_thread(void *arg)
{
	struct ct_span a, b, u, deep[CT_MAX_SCOPE_DEPTH + 3];
	struct ct_span_opts ou = {.parent = &remote};
	const struct ct_span_context *cu;
	const struct tc_rec *r;
	uint32_t seq;

	(void)arg;
	CHECK(otel_thread_ctx_v1 == NULL); /* no call into the library yet */
	CHECK_INT(ct_span_start(&a, "a", NULL), 0);
	r = otel_thread_ctx_v1;
	CHECK(r != NULL);
	if (!r)
		return NULL;
	CHECK_U64((uintptr_t)r % 32, 0);
	check_rec("after the first call", r, NULL);
	seq = r->seq;
	ct_scope_enter(&a);
	check_rec("a entered", r, ct_span_context_of(&a));
	CHECK_U64(r->seq, seq + 2);
	ct_span_start(&b, "b", NULL);
	ct_scope_enter(&b);
	check_rec("b entered inside a", r, ct_span_context_of(&b));
	CHECK(!memcmp(r->trace_id, ct_span_context_of(&a)->trace_id, 16));

	/* An unsampled span: its ids are made when it is entered, and published. */
	CHECK_INT(ct_span_start(&u, "u", &ou), CT_ENOTSAMPLED);
	ct_scope_enter(&u);
	cu = ct_span_context_of(&u);
	check_rec("unsampled u entered inside b", r, cu);
	CHECK(ct_span_context_is_valid(cu));
	CHECK_INT(cu->trace_flags, 0);
	CHECK(!memcmp(cu->trace_id, remote.trace_id, 16));
	CHECK(memcmp(cu->span_id, remote.span_id, 8));

	ct_scope_exit();
	check_rec("u left", r, ct_span_context_of(&b));
	ct_scope_exit();
	check_rec("b left", r, ct_span_context_of(&a));
	ct_scope_exit();
	check_rec("a left", r, NULL);
	seq = r->seq;
	ct_scope_exit(); /* unbalanced: ignored */
	check_rec("an exit too many", r, NULL);
	CHECK_U64(r->seq, seq);

	/* Deeper than CT_MAX_SCOPE_DEPTH: the ignored enters change nothing. */
	for (int i = 0; i < CT_MAX_SCOPE_DEPTH + 3; i++) {
		ct_span_start(&deep[i], "deep", NULL);
		ct_scope_enter(&deep[i]);
	}
	check_rec("3 enters past the limit", r, ct_span_context_of(&deep[CT_MAX_SCOPE_DEPTH - 1]));
	for (int i = 0; i < 3; i++)
		ct_scope_exit();
	check_rec("the ignored enters left", r, ct_span_context_of(&deep[CT_MAX_SCOPE_DEPTH - 1]));
	ct_scope_exit();
	check_rec("one level down", r, ct_span_context_of(&deep[CT_MAX_SCOPE_DEPTH - 2]));
	for (int i = 0; i < CT_MAX_SCOPE_DEPTH - 1; i++)
		ct_scope_exit();
	check_rec("all left", r, NULL);
	for (int i = CT_MAX_SCOPE_DEPTH + 2; i >= 0; i--)
		ct_span_end(&deep[i]);
	ct_span_end(&u);
	ct_span_end(&b);
	ct_span_end(&a);
	return NULL;
}

TEST(nesting)
{
	pthread_t th;

	CHECK_INT(init_no_output(), 0);
	/* A fresh thread, so that "before its first call" means something. */
	CHECK_INT(pthread_create(&th, NULL, nesting_thread, NULL), 0);
	pthread_join(th, NULL);
	CHECK_INT(ct_shutdown(), 0);
}

TEST(fork_child_clean)
{
	struct ct_span a, b;
	const struct tc_rec *r;
	pid_t pid;
	int st = -1;

	CHECK_INT(init_no_output(), 0);
	ct_span_start(&a, "a", NULL);
	ct_scope_enter(&a);
	ct_span_start(&b, "b", NULL);
	ct_scope_enter(&b);
	r = otel_thread_ctx_v1;
	check_rec("parent before fork", r, ct_span_context_of(&b));
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		/* Failures are bits of the exit status: test.h's counters stay the parent's. */
		const struct ct_span_context *cur = ct_current_context();
		struct ct_span c;
		int bad = 0;

		bad |= !rec_matches(r, NULL) << 0;
		/* The library's view still has the parent's scopes: children join its trace. */
		bad |= (!cur || memcmp(cur->span_id, ct_span_context_of(&b)->span_id, 8)) << 1;
		ct_span_start(&c, "c", NULL);
		ct_scope_enter(&c);
		bad |= !rec_matches(r, ct_span_context_of(&c)) << 2;
		bad |= !!memcmp(ct_span_context_of(&c)->trace_id, ct_span_context_of(&a)->trace_id,
				16)
		       << 3;
		ct_scope_exit();
		bad |= !rec_matches(r, NULL) << 4; /* back in b's scope, but b is the parent's */
		ct_scope_exit();
		bad |= !rec_matches(r, NULL) << 5;
		ct_scope_exit();
		bad |= !rec_matches(r, NULL) << 6;
		ct_span_end(&c);
		_exit(bad);
	}
	CHECK(pid > 0);
	CHECK_INT(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st));
	if (WIFEXITED(st) && WEXITSTATUS(st))
		T_FAIL("child checks failed: bits 0x%x", WEXITSTATUS(st));
	check_rec("parent after fork", r, ct_span_context_of(&b));
	ct_scope_exit();
	check_rec("parent left b", r, ct_span_context_of(&a));
	ct_scope_exit();
	check_rec("parent left a", r, NULL);
	ct_span_end(&b);
	ct_span_end(&a);
	CHECK_INT(ct_shutdown(), 0);
}

/*
 * The sampled flag a span publishes is the sampler's decision, whether the library asked the
 * sampler or decided from the parent alone: for every sampler kind and every kind of parent,
 * against a separately initialised sampler fed the span's own trace id.
 */
TEST(sampled_flag)
{
	static const struct {
		enum ct_sampler_kind kind;
		double arg;
	} cases[] = {
		{CT_SAMPLER_ALWAYS_ON, 0},
		{CT_SAMPLER_ALWAYS_OFF, 0},
		{CT_SAMPLER_TRACEID_RATIO, 0.5},
		{CT_SAMPLER_PARENTBASED_ALWAYS_ON, 0},
		{CT_SAMPLER_PARENTBASED_ALWAYS_OFF, 0},
		{CT_SAMPLER_PARENTBASED_TRACEID_RATIO, 0.5},
		{CT_SAMPLER_RATE_LIMITED, 0}, /* admits nothing */
		{CT_SAMPLER_RATE_LIMITED, 1e9}, /* admits everything */
		{CT_SAMPLER_PARENTBASED_RATE_LIMITED, 0},
		{CT_SAMPLER_PARENTBASED_RATE_LIMITED, 1e9},
	};
	/* none, local sampled, local unsampled, remote sampled, remote unsampled */
	struct ct_span_context parents[5] = {0};
	int n = 0, yes = 0;

	for (int p = 1; p < 5; p++) {
		parents[p] = remote;
		parents[p].is_remote = p >= 3;
		parents[p].trace_flags = p % 2 ? CT_TRACE_FLAG_SAMPLED : 0;
		parents[p].trace_id[15] = (uint8_t)(17 * p); /* some under the ratio, some over */
		parents[p].trace_id[9] = (uint8_t)(0x40 * p);
	}
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct ct_config cfg = {.sampler = cases[k].kind, .sampler_arg = cases[k].arg};

		CHECK_INT(ct_init(&cfg), 0);
		for (int p = 0; p < 5; p++) {
			for (int rep = 0; rep < (p ? 1 : 16); rep++) {
				struct ct_span_opts o = {.parent = p ? &parents[p] : NULL,
							 .root = !p};
				const struct ct_span_context *c;
				struct ct_sampler ref;
				struct ct_span s;
				int ret, want;

				ret = ct_span_start(&s, "x", &o);
				c = ct_span_context_of(&s);
				ct_sampler_init(&ref, cases[k].kind, cases[k].arg);
				want = ct_sampler_should_sample(
					&ref, c->trace_id, p ? &parents[p] : NULL, ct_now_ns());
				if (ret != (want ? 0 : CT_ENOTSAMPLED) ||
				    (c->trace_flags & 1) != want)
					T_FAIL("sampler %d (arg %g), parent case %d: span says %d "
					       "(flags %u), the sampler %d",
					       (int)cases[k].kind, cases[k].arg, p, ret,
					       c->trace_flags, want);
				ct_scope_enter(&s);
				check_rec("entered", otel_thread_ctx_v1, c);
				ct_scope_exit();
				ct_span_end(&s);
				n++;
				yes += want;
			}
		}
		CHECK_INT(ct_shutdown(), 0);
	}
	/* Both answers occur, or the comparison says little. */
	CHECK(yes > 0 && yes < n);
}

/* ---- the offset announced in a trace directory ---- */

#define OFFSET_THREADS 3

static void *offset_thread(void *arg)
{
	int64_t *off = arg;
	struct ct_span s;

	ct_span_start(&s, "t", NULL); /* the first call points otel_thread_ctx_v1 at the record */
	*off = (int64_t)((uintptr_t)otel_thread_ctx_v1 - my_fs_base());
	ct_span_end(&s);
	return NULL;
}

TEST(offset_in_trace)
{
#if !defined(__x86_64__)
	SKIP("the fs base is x86_64's thread pointer");
#else
	struct ct_config cfg = {.sampler = CT_SAMPLER_ALWAYS_ON};
	int64_t off[OFFSET_THREADS + 1];
	pthread_t th[OFFSET_THREADS];
	char dir[300];
	struct tevs e;
	size_t n = 0;

	snprintf(dir, sizeof(dir), "%s/offset", tmpdir);
	cfg.output = dir;
	CHECK_INT(ct_init(&cfg), 0);
	offset_thread(&off[0]);
	for (int i = 0; i < OFFSET_THREADS; i++)
		CHECK_INT(pthread_create(&th[i], NULL, offset_thread, &off[i + 1]), 0);
	for (int i = 0; i < OFFSET_THREADS; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(ct_shutdown(), 0);
	/* Initial-exec TLS: one offset from the thread pointer in every thread. */
	for (int i = 1; i <= OFFSET_THREADS; i++)
		CHECK_INT(off[i], off[0]);
	CHECK_INT(tevs_load(dir, &e), 0);
	for (size_t i = 0; i < e.n; i++) {
		const struct ct_event *v = &e.v[i];

		if (v->type != CT_EV_THREAD_CTX_INFO)
			continue;
		n++;
		CHECK_INT(v->pid, getpid());
		CHECK_INT(v->tid, 0);
		CHECK_U64(v->u.thread_ctx_info.version, 1);
		CHECK_U64(v->u.thread_ctx_info.size, 32);
		CHECK_INT(v->u.thread_ctx_info.tls_offset, off[0]);
	}
	CHECK(n >= 1);
	printf("offset: record at fs base %+lld in %d threads, announced in %zu event(s)\n",
	       (long long)off[0], OFFSET_THREADS + 1, n);
	tevs_free(&e);
#endif
}

/* ---- from another process ---- */

static int outside_skip; /* ptrace not permitted here */

/* The fs base of thread tid as the kernel keeps it: a ptrace stop, GETREGS, detach. */
static int ptrace_fs_base(pid_t tid, uint64_t *out)
{
#if defined(__x86_64__)
	struct user_regs_struct regs;
	int st, err = 0;

	if (ptrace(PTRACE_SEIZE, tid, 0, 0))
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0))
		err = -errno;
	else if (waitpid(tid, &st, __WALL) != tid)
		err = -errno;
	else if (ptrace(PTRACE_GETREGS, tid, 0, &regs))
		err = -errno;
	else
		*out = regs.fs_base;
	ptrace(PTRACE_DETACH, tid, 0, 0);
	return err;
#else
	(void)tid;
	(void)out;
	return -ENOTSUP;
#endif
}

static int peek(pid_t pid, uint64_t addr, void *buf, size_t n)
{
	struct iovec local = {.iov_base = buf, .iov_len = n};
	struct iovec rem = {.iov_base = (void *)(uintptr_t)addr, .iov_len = n};

	return process_vm_readv(pid, &local, 1, &rem, 1, 0) == (ssize_t)n ? 0 : -errno;
}

/* Outside tests need ptrace: skip without it, except in CI. */
static int ptrace_usable(pid_t tid)
{
	uint64_t fs;
	int err = ptrace_fs_base(tid, &fs);

	if (err == -EPERM || err == -ENOTSUP) {
		outside_skip = 1;
		return 0;
	}
	return 1;
}

/* A recorder: accepts clients on a UNIX socket and feeds their frames to wire receivers. */
struct srv {
	int lfd;
	struct ct_tracedir *td;
	char path[300], sock[300];
	struct {
		int fd;
		struct ct_wire_conn *c;
	} conns[8];
	int n;
	struct {
		int32_t pid;
		struct ct_wire_thread_ctx tc;
	} known[8];
	int n_known;
};

static int srv_open(struct srv *s)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct ct_tracedir_opts o = {.tool = "test_threadctx"};
	char err[256];

	memset(s, 0, sizeof(*s));
	snprintf(s->sock, sizeof(s->sock), "%s/rec.sock", tmpdir);
	snprintf(s->path, sizeof(s->path), "%s/received", tmpdir);
	memcpy(addr.sun_path, s->sock, strlen(s->sock) + 1);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(s->lfd, 8))
		return -1;
	o.path = s->path;
	if (ct_tracedir_create(&s->td, &o, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static void srv_learn(struct srv *s, struct ct_wire_conn *c)
{
	struct ct_wire_thread_ctx tc;
	int32_t pid = ct_wire_conn_pid(c);

	if (!pid || ct_wire_conn_thread_ctx(c, &tc))
		return;
	for (int i = 0; i < s->n_known; i++)
		if (s->known[i].pid == pid)
			return;
	if (s->n_known < 8) {
		s->known[s->n_known].pid = pid;
		s->known[s->n_known++].tc = tc;
	}
}

/* Serves clients for up to timeout_ms; returns 1 as soon as fd (if >= 0) is readable. */
static int srv_wait(struct srv *s, int fd, int timeout_ms)
{
	struct pollfd p[10];
	int np = 0;

	p[np++] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
	for (int i = 0; i < s->n; i++)
		p[np++] = (struct pollfd){.fd = s->conns[i].fd, .events = POLLIN};
	p[np++] = (struct pollfd){.fd = fd, .events = POLLIN};
	if (poll(p, (nfds_t)np, timeout_ms) <= 0)
		return 0;
	if ((p[0].revents & POLLIN) && s->n < 8) {
		int c = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (c >= 0 && ct_wire_conn_new(&s->conns[s->n].c, s->td) == 0)
			s->conns[s->n++].fd = c;
	}
	for (int i = 0; i < s->n; i++) {
		uint8_t buf[65536];
		ssize_t r;

		if (!(p[1 + i].revents & (POLLIN | POLLHUP)))
			continue;
		r = read(s->conns[i].fd, buf, sizeof(buf));
		if (r > 0) {
			CHECK_INT(ct_wire_conn_feed(s->conns[i].c, buf, (size_t)r), 0);
			srv_learn(s, s->conns[i].c);
			continue;
		}
		CHECK_INT(ct_wire_conn_end(s->conns[i].c), 0);
		srv_learn(s, s->conns[i].c);
		ct_wire_conn_free(s->conns[i].c);
		close(s->conns[i].fd);
		s->conns[i] = s->conns[--s->n];
		/* poll results of the moved entry are not looked at again this round */
		break;
	}
	return fd >= 0 && (p[np - 1].revents & (POLLIN | POLLHUP));
}

/* Where the threads of pid publish their context, as its THREAD_CTX frame said. */
static const struct ct_wire_thread_ctx *srv_thread_ctx(struct srv *s, int32_t pid)
{
	uint64_t deadline = ct_now_ns() + 30000000000ull;

	while (ct_now_ns() < deadline) {
		for (int i = 0; i < s->n_known; i++)
			if (s->known[i].pid == pid)
				return &s->known[i].tc;
		srv_wait(s, -1, 50);
	}
	return NULL;
}

static int read_report(struct srv *s, int fd, struct tc_report *r)
{
	uint64_t deadline = ct_now_ns() + 30000000000ull;

	while (ct_now_ns() < deadline) {
		if (srv_wait(s, fd, 50))
			return read(fd, r, sizeof(*r)) == (ssize_t)sizeof(*r) ? 0 : -1;
	}
	return -1;
}

/* Reads one thread's record from outside and compares it with what the program said. */
static void check_outside(struct srv *s, int step, const struct tc_seen *t)
{
	const struct ct_wire_thread_ctx *tc = srv_thread_ctx(s, t->pid);
	struct tc_rec rec;
	uint64_t fs = 0;
	char what[96];

	snprintf(what, sizeof(what), "step %d, pid %d tid %d", step, t->pid, t->tid);
	if (!tc) {
		T_FAIL("%s: no THREAD_CTX from pid %d", what, t->pid);
		return;
	}
	CHECK_U64(tc->version, 1);
	CHECK_U64(tc->size, 32);
	CHECK_INT(ptrace_fs_base(t->tid, &fs), 0);
	/* The kernel's saved fs base is the thread's own. */
	CHECK_U64(fs, t->fs_base);
	/* OTEP readers follow the pointer; it points where the offset says. */
	if (t->rec_addr)
		CHECK_U64(t->rec_addr, fs + (uint64_t)tc->tls_offset);
	CHECK_INT(peek(t->pid, fs + (uint64_t)tc->tls_offset, &rec, sizeof(rec)), 0);
	check_rec(what, &rec, t->valid ? &t->ctx : NULL);
}

TEST(outside_script)
{
	const char *build = getenv("CT_BUILD_DIR");
	char exe[512], a1[16], a2[16], env[400];
	int cmd[2], rep[2], st = -1, steps = 0;
	struct tc_report r;
	struct srv s;
	pid_t child, g = 0;
	struct tevs e;

	if (!build)
		SKIP("CT_BUILD_DIR not set (run through ctest)");
#if !defined(__x86_64__)
	SKIP("the fs base is x86_64's thread pointer");
#endif
	snprintf(exe, sizeof(exe), "%s/tests/test_threadctx_target", build);
	CHECK_INT(srv_open(&s), 0);
	CHECK_INT(pipe(cmd), 0);
	CHECK_INT(pipe(rep), 0);
	fflush(NULL);
	child = fork();
	if (child == 0) {
		close(cmd[1]);
		close(rep[0]);
		snprintf(a1, sizeof(a1), "%d", cmd[0]);
		snprintf(a2, sizeof(a2), "%d", rep[1]);
		snprintf(env, sizeof(env), "CROSSTRACE_OUTPUT=unix:%s", s.sock);
		putenv(env);
		setenv("OTEL_TRACES_SAMPLER", "parentbased_always_on", 1);
		execl(exe, exe, "script", a1, a2, (char *)NULL);
		_exit(127);
	}
	close(cmd[0]);
	close(rep[1]);
	for (int step = 0; step <= 14; step++) {
		if (write(cmd[1], "g", 1) != 1 || read_report(&s, rep[0], &r)) {
			T_FAIL("step %d: no report from the program", step);
			break;
		}
		if (step == 0 && !ptrace_usable(r.th[0].tid))
			break;
		for (uint32_t i = 0; i < r.n && i < 2; i++)
			check_outside(&s, step, &r.th[i]);
		if (step == 10)
			g = r.th[0].pid;
		steps++;
	}
	close(cmd[1]);
	/* Serve until the program and its child are gone and every connection closed. */
	{
		uint64_t deadline = ct_now_ns() + 30000000000ull;
		int done = 0;

		while (ct_now_ns() < deadline && !(done && s.n == 0)) {
			srv_wait(&s, -1, 50);
			if (!done && waitpid(child, &st, WNOHANG) == child)
				done = 1;
		}
		if (!done) {
			kill(child, SIGKILL);
			waitpid(child, &st, 0);
		}
	}
	close(rep[0]);
	close(s.lfd);
	unlink(s.sock);
	if (outside_skip) {
		ct_tracedir_close(s.td, "complete");
		if (getenv("CI") && !strcmp(getenv("CI"), "true"))
			T_FAIL("ptrace is not permitted here (CI=true: a skip is a failure)");
		else
			SKIP("ptrace not permitted (run as root, or allow ptrace of children)");
	}
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_INT(steps, 15);
	CHECK(g > 0 && g != child);
	/* The receiver stored where each process publishes, once per connection. */
	CHECK_INT(ct_tracedir_close(s.td, "complete"), 0);
	CHECK_INT(tevs_load(s.path, &e), 0);
	{
		int seen_child = 0, seen_g = 0;
		int64_t off = s.n_known ? s.known[0].tc.tls_offset : 0;

		for (size_t i = 0; i < e.n; i++) {
			if (e.v[i].type != CT_EV_THREAD_CTX_INFO)
				continue;
			CHECK_INT(e.v[i].tid, 0);
			CHECK_INT(e.v[i].u.thread_ctx_info.tls_offset, off);
			seen_child += e.v[i].pid == child;
			seen_g += e.v[i].pid == g;
		}
		CHECK_INT(seen_child, 1);
		CHECK_INT(seen_g, 1);
	}
	printf("outside: %d steps, records of %d threads in 2 processes read at fs base %+lld\n",
	       steps, 3, s.n_known ? (long long)s.known[0].tc.tls_offset : 0LL);
	tevs_free(&e);
}

TEST(outside_consistency)
{
	const char *build = getenv("CT_BUILD_DIR");
	char exe[512], a1[16];
	int rep[2], seen_x = 0, seen_y = 0;
	uint64_t fs = 0, addr, consistent = 0, torn = 0, bad = 0, reads = 0;
	uint64_t deadline = ct_now_ns() + 20000000000ull;
	struct tc_report r;
	pid_t child;
	int st;

	if (!build)
		SKIP("CT_BUILD_DIR not set (run through ctest)");
#if !defined(__x86_64__)
	SKIP("the fs base is x86_64's thread pointer");
#endif
	snprintf(exe, sizeof(exe), "%s/tests/test_threadctx_target", build);
	CHECK_INT(pipe(rep), 0);
	fflush(NULL);
	child = fork();
	if (child == 0) {
		close(rep[0]);
		snprintf(a1, sizeof(a1), "%d", rep[1]);
		execl(exe, exe, "flip", a1, (char *)NULL);
		_exit(127);
	}
	close(rep[1]);
	if (read(rep[0], &r, sizeof(r)) != (ssize_t)sizeof(r)) {
		T_FAIL("no report from the program");
		kill(child, SIGKILL);
		waitpid(child, &st, 0);
		return;
	}
	close(rep[0]);
	if (ptrace_fs_base(r.th[0].tid, &fs)) {
		kill(child, SIGKILL);
		waitpid(child, &st, 0);
		if (getenv("CI") && !strcmp(getenv("CI"), "true"))
			T_FAIL("ptrace is not permitted here (CI=true: a skip is a failure)");
		else
			SKIP("ptrace not permitted (run as root, or allow ptrace of children)");
	}
	CHECK_U64(fs, r.th[0].fs_base);
	addr = r.th[0].rec_addr;
	/* Until both spans were seen in consistent copies (the writer really ran), and 50000
	 * copies at least: a writer without the odd sequence value fails this most times. */
	while (ct_now_ns() < deadline && (!seen_x || !seen_y || consistent < 50000)) {
		struct tc_rec rec;
		uint32_t s1, s2;

		reads++;
		if (peek(child, addr + 28, &s1, 4) || (s1 & 1)) {
			torn++;
			continue;
		}
		if (peek(child, addr, &rec, sizeof(rec)) || peek(child, addr + 28, &s2, 4) ||
		    s1 != s2 || rec.seq != s1) {
			torn++;
			continue;
		}
		consistent++;
		if (rec_matches(&rec, &r.th[0].ctx))
			seen_x = 1;
		else if (rec_matches(&rec, &r.th[1].ctx))
			seen_y = 1;
		else if (!rec_matches(&rec, NULL) && bad++ == 0)
			check_rec("a consistent copy", &rec, &r.th[0].ctx);
	}
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
	CHECK_U64(bad, 0);
	CHECK(seen_x && seen_y);
	printf("consistency: %llu reads, %llu consistent copies (x, y or none), %llu rejected as "
	       "being written, %llu wrong\n",
	       (unsigned long long)reads, (unsigned long long)consistent, (unsigned long long)torn,
	       (unsigned long long)bad);
}

int main(void)
{
	const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ct-test-threadctx-%d", (int)getpid());
	mkdir(tmpdir, 0755);
	if (ct_traceparent_parse(tp, strlen(tp), &remote))
		return 1;
	RUN(nesting);
	RUN(fork_child_clean);
	RUN(sampled_flag);
	RUN(offset_in_trace);
	RUN(outside_script);
	RUN(outside_consistency);
	if (!t_failed) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return test_main_end();
}
