// SPDX-License-Identifier: MIT
/*
 * `crosstrace record --only-in-spans` checked against the full recording of the same run: a
 * second recorder attaches (-p) to the same program with its own BPF programs and records
 * everything, and the program's own scope events (SCOPE_ENTER/EXIT, on the same clock and
 * thread ids) say which thread was inside which sampled span when. Per thread, the filtered
 * recording must hold exactly the syscalls of the full one that fall inside sampled spans,
 * in order, each tagged (SPAN_TAG) with the innermost span; likewise the voluntary switches
 * and the wake-ups of and by span threads. Needs root; under CI=true a skip fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#include "capture_util.h"

static const char *target_bin;
static char tmp[256];

/* One event of a recording, with what the comparison looks at. */
struct xev {
	uint64_t ts;
	int32_t pid, tid;
	uint16_t type;
	int32_t other; /* switch: next tid; waking: wakee tid */
	int32_t other_pid; /* waking: wakee pid */
	uint32_t state; /* switch: prev_state; waking: flags */
	uint64_t span; /* scope_enter/exit, span_tag */
	char key[220]; /* syscalls: what both recordings must agree on */
};

struct rec {
	struct xev *ev;
	size_t n, cap;
	uint64_t errors;
};

static void on_error(void *arg, int code, const char *msg)
{
	struct rec *r = arg;

	(void)code;
	r->errors++;
	fprintf(stderr, "trace read error: %s\n", msg);
}

static void fill(struct xev *x, const struct ct_event *e)
{
	const uint64_t *a = NULL;
	int n;

	memset(x, 0, sizeof(*x));
	x->ts = e->ts;
	x->pid = e->pid;
	x->tid = e->tid;
	x->type = e->type;
	switch (e->type) {
	case CT_EV_SYSCALL_ENTRY:
		a = e->u.syscall_entry.args;
		n = snprintf(x->key, sizeof(x->key), "enter %u", e->u.syscall_entry.nr);
		break;
	case CT_EV_SYSCALL_ENTRY_PATH:
		a = e->u.syscall_entry_path.args;
		n = snprintf(x->key, sizeof(x->key), "enter %u %.*s", e->u.syscall_entry_path.nr,
			     (int)e->u.syscall_entry_path.path_len, e->u.syscall_entry_path.path);
		break;
	case CT_EV_SYSCALL_ENTRY_ADDR:
		a = e->u.syscall_entry_addr.args;
		n = snprintf(x->key, sizeof(x->key), "enter %u", e->u.syscall_entry_addr.nr);
		break;
	case CT_EV_SYSCALL_EXIT:
		snprintf(x->key, sizeof(x->key), "exit %u = %lld", e->u.syscall_exit.nr,
			 (long long)e->u.syscall_exit.ret);
		break;
	case CT_EV_SYSCALL_EXIT_ADDR:
		snprintf(x->key, sizeof(x->key), "exit %u = %lld", e->u.syscall_exit_addr.nr,
			 (long long)e->u.syscall_exit_addr.ret);
		break;
	case CT_EV_SCHED_SWITCH:
		x->other = e->u.sched_switch.next_tid;
		x->state = e->u.sched_switch.prev_state;
		break;
	case CT_EV_SCHED_WAKING:
		x->other = e->u.sched_waking.tid;
		x->other_pid = e->u.sched_waking.pid;
		x->state = e->u.sched_waking.flags;
		break;
	case CT_EV_SCOPE_ENTER:
		x->span = e->u.scope_enter.span_id;
		break;
	case CT_EV_SCOPE_EXIT:
		x->span = e->u.scope_exit.span_id;
		break;
	case CT_EV_SPAN_TAG:
		x->span = e->u.span_tag.span_id;
		x->state = e->u.span_tag.flags;
		break;
	default:
		break;
	}
	if (a) {
		size_t len = strlen(x->key);

		(void)n;
		snprintf(x->key + len, sizeof(x->key) - len, " (%llx %llx %llx %llx %llx %llx)",
			 (unsigned long long)a[0], (unsigned long long)a[1],
			 (unsigned long long)a[2], (unsigned long long)a[3],
			 (unsigned long long)a[4], (unsigned long long)a[5]);
	}
}

static int load(const char *dir, struct rec *r)
{
	struct ct_trace *tr;
	char err[512];

	memset(r, 0, sizeof(*r));
	if (ct_trace_open(&tr, dir, on_error, r, err, sizeof(err))) {
		fprintf(stderr, "cannot open trace %s: %s\n", dir, err);
		return -1;
	}
	for (unsigned i = 0; i < ct_trace_chunk_count(tr); i++) {
		struct ct_chunk_reader *cr;
		struct ct_event e;

		if (ct_chunk_reader_open(&cr, ct_trace_chunk(tr, i)->dir, on_error, r, err,
					 sizeof(err))) {
			fprintf(stderr, "cannot open a chunk of %s: %s\n", dir, err);
			r->errors++;
			continue;
		}
		while (ct_chunk_reader_next(cr, &e) == 1) {
			if (r->n == r->cap) {
				r->cap = r->cap ? r->cap * 2 : 8192;
				r->ev = realloc(r->ev, r->cap * sizeof(*r->ev));
				if (!r->ev)
					exit(1);
			}
			fill(&r->ev[r->n++], &e);
		}
		ct_chunk_reader_close(cr);
	}
	ct_trace_close(tr);
	return 0;
}

/* ---- the oracle: which sampled span each thread was inside, from its scope events ---- */

#define MAX_THREADS 64
#define MAX_CHANGES 256
#define MAX_DEPTH 16

struct thread_spans {
	int32_t tid;
	unsigned n;
	uint64_t at[MAX_CHANGES]; /* from this time on ... */
	uint64_t span[MAX_CHANGES]; /* ... the innermost recorded scope is this span (0: none) */
	uint64_t stack[MAX_DEPTH];
	unsigned depth;
};

static struct thread_spans threads[MAX_THREADS];
static unsigned nthreads;

static struct thread_spans *thread_of(int32_t tid, int create)
{
	for (unsigned i = 0; i < nthreads; i++) {
		if (threads[i].tid == tid)
			return &threads[i];
	}
	if (!create || nthreads == MAX_THREADS)
		return NULL;
	memset(&threads[nthreads], 0, sizeof(threads[0]));
	threads[nthreads].tid = tid;
	return &threads[nthreads++];
}

/* Only sampled spans record scope events, so the scopes in the trace are the sampled ones. */
static void build_oracle(const struct rec *r)
{
	nthreads = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct xev *x = &r->ev[i];
		struct thread_spans *t;

		if (x->type != CT_EV_SCOPE_ENTER && x->type != CT_EV_SCOPE_EXIT)
			continue;
		t = thread_of(x->tid, 1);
		if (!t || t->n == MAX_CHANGES) {
			T_FAIL("too many threads or scope changes for the oracle");
			return;
		}
		if (x->type == CT_EV_SCOPE_ENTER) {
			if (t->depth == MAX_DEPTH) {
				T_FAIL("scopes nested deeper than the oracle follows");
				return;
			}
			t->stack[t->depth++] = x->span;
		} else if (t->depth && t->stack[t->depth - 1] == x->span) {
			t->depth--;
		} else {
			T_FAIL("tid %d: scope_exit of %llx does not match its innermost scope",
			       (int)x->tid, (unsigned long long)x->span);
			return;
		}
		t->at[t->n] = x->ts;
		t->span[t->n] = t->depth ? t->stack[t->depth - 1] : 0;
		t->n++;
	}
}

/*
 * The sampled span tid was inside at ts (0: none). Kernel timestamps of a syscall are taken
 * inside it, and the client reads its clock for a scope change between two syscalls, so
 * they never tie.
 */
static uint64_t span_at(int32_t tid, uint64_t ts)
{
	const struct thread_spans *t = thread_of(tid, 0);
	uint64_t s = 0;

	for (unsigned i = 0; t && i < t->n && t->at[i] < ts; i++)
		s = t->span[i];
	return s;
}

/* ---- comparisons ---- */

enum what { SYSCALLS, SWITCHES_OUT, WAKINGS_BY, WAKINGS_OF };

static const char *what_name[] = {"syscalls", "voluntary switch-outs", "wake-ups by",
				  "wake-ups of"};

static int is_syscall(uint16_t type)
{
	return type == CT_EV_SYSCALL_ENTRY || type == CT_EV_SYSCALL_ENTRY_PATH ||
	       type == CT_EV_SYSCALL_ENTRY_ADDR || type == CT_EV_SYSCALL_EXIT ||
	       type == CT_EV_SYSCALL_EXIT_ADDR;
}

/*
 * Whether x is an event of kind w about thread tid that must be kept because tid is inside a
 * sampled span then. Wake-ups of tid are compared only when the waker is a thread of the
 * same process (its record is then read directly); other wakers are judged on the wakee's
 * state when it last left a CPU, which a wake-up can race.
 */
static int selected(enum what w, const struct xev *x, int32_t tid)
{
	switch (w) {
	case SYSCALLS:
		return is_syscall(x->type) && x->tid == tid;
	case SWITCHES_OUT:
		return x->type == CT_EV_SCHED_SWITCH && x->tid == tid && x->state != 0;
	case WAKINGS_BY:
		return x->type == CT_EV_SCHED_WAKING && x->tid == tid && !(x->state & 1);
	case WAKINGS_OF:
		return x->type == CT_EV_SCHED_WAKING && x->other == tid && !(x->state & 1) &&
		       x->tid > 0 && x->pid == x->other_pid;
	}
	return 0;
}

static void describe(enum what w, const struct xev *x, char *buf, size_t len)
{
	if (w == SYSCALLS)
		snprintf(buf, len, "%s", x->key);
	else if (w == SWITCHES_OUT)
		snprintf(buf, len, "switch to %d (state %u)", (int)x->other, x->state);
	else
		snprintf(buf, len, "waking %d -> %d", (int)x->tid, (int)x->other);
}

/*
 * The events of kind w about tid inside sampled spans: in the full recording (by the oracle)
 * and in the filtered one must be the same sequence. Returns how many there were.
 */
static size_t compare_thread(enum what w, int32_t tid, const struct rec *full,
			     const struct rec *filt)
{
	size_t i = 0, j = 0, matched = 0;
	char a[256], b[256];

	for (;;) {
		while (i < full->n &&
		       !(selected(w, &full->ev[i], tid) && span_at(tid, full->ev[i].ts)))
			i++;
		while (j < filt->n &&
		       !(selected(w, &filt->ev[j], tid) && span_at(tid, filt->ev[j].ts)))
			j++;
		if (i == full->n || j == filt->n)
			break;
		describe(w, &full->ev[i], a, sizeof(a));
		describe(w, &filt->ev[j], b, sizeof(b));
		if (strcmp(a, b)) {
			T_FAIL("tid %d, %s #%zu: full recording has '%s', filtered has '%s'",
			       (int)tid, what_name[w], matched, a, b);
			return matched;
		}
		matched++;
		i++;
		j++;
	}
	if (i < full->n) {
		describe(w, &full->ev[i], a, sizeof(a));
		T_FAIL("tid %d, %s: '%s' (inside span %llx) missing from the filtered recording",
		       (int)tid, what_name[w], a, (unsigned long long)span_at(tid, full->ev[i].ts));
	}
	if (j < filt->n) {
		describe(w, &filt->ev[j], b, sizeof(b));
		T_FAIL("tid %d, %s: '%s' in the filtered recording but not in the full one",
		       (int)tid, what_name[w], b);
	}
	return matched;
}

/* ---- running the recorders ---- */

static pid_t spawn(char *const argv[], const char *err_path)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 2);
		close(fd);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid)
{
	int st = -1;

	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * Polls path until it contains needle (returns what follows it) or pid has exited. No time
 * limit of its own: CTest's timeout ends a test that hangs.
 */
static char *wait_for_text(const char *path, const char *needle, pid_t pid)
{
	for (;;) {
		char *s = slurp_file(path), *p = s ? strstr(s, needle) : NULL;

		if (p) {
			p = strdup(p + strlen(needle));
			free(s);
			return p;
		}
		free(s);
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return NULL;
		usleep(5000);
	}
}

TEST(same_run_filtered_and_full)
{
	char fifo[300], d1[300], d2[300], e1[300], e2[300], m2[320], pidarg[16];
	char *after, *err1 = NULL, *err2 = NULL;
	struct rec full, filt;
	pid_t rec1, rec2 = -1, target;
	size_t counts[4] = {0}, in_full = 0, tagged = 0;
	int fd;

	snprintf(fifo, sizeof(fifo), "%s/go", tmp);
	snprintf(d1, sizeof(d1), "%s/filtered", tmp);
	snprintf(d2, sizeof(d2), "%s/full", tmp);
	snprintf(e1, sizeof(e1), "%s/filtered.err", tmp);
	snprintf(e2, sizeof(e2), "%s/full.err", tmp);
	snprintf(m2, sizeof(m2), "%s/trace.json", d2);
	CHECK(mkfifo(fifo, 0600) == 0);
	rec1 = spawn((char *[]){(char *)ct_bin, "record", "-v", "--only-in-spans", "-o", d1, "--",
				(char *)target_bin, fifo, NULL},
		     e1);
	/* The filter knows the program (verbose line), before its first span. */
	after = wait_for_text(e1, "crosstrace record: pid ", rec1);
	if (!after || !strstr(after, "publishes its span")) {
		T_FAIL("the filtered recorder never registered the program's thread context");
		free(after);
		goto out;
	}
	target = (pid_t)atoi(after);
	free(after);
	snprintf(pidarg, sizeof(pidarg), "%d", (int)target);
	rec2 = spawn((char *[]){(char *)ct_bin, "record", "-o", d2, "-p", pidarg, NULL}, e2);
	after = wait_for_text(m2, "\"attached_pid\"", rec2);
	CHECK(after != NULL);
	free(after);
	fd = open(fifo, O_WRONLY);
	CHECK(fd >= 0 && write(fd, "g", 1) == 1);
	close(fd);
	CHECK_INT(wait_exit(rec1), 0);
	CHECK_INT(wait_exit(rec2), 0);
	rec2 = -1;
	err1 = slurp_file(e1);
	err2 = slurp_file(e2);
	/* Nothing lost on either side, or the comparison would mean nothing. */
	CHECK(err1 && strstr(err1, "drops: kernel 0, client 0,"));
	CHECK(err2 && strstr(err2, "drops: kernel 0,"));
	CHECK(err1 && strstr(err1, "only-in-spans: 1 processes published their span; left out"));
	if (t_failed_checks)
		goto out;

	CHECK(load(d1, &filt) == 0);
	CHECK(load(d2, &full) == 0);
	CHECK_U64(filt.errors + full.errors, 0);
	build_oracle(&filt);
	/* main, the hop thread, the sleeper, the forked child: each entered sampled spans. */
	CHECK_INT(nthreads, 4);
	for (unsigned t = 0; t < nthreads; t++) {
		for (int w = SYSCALLS; w <= WAKINGS_OF; w++)
			counts[w] += compare_thread(w, threads[t].tid, &full, &filt);
	}
	/* Each span step makes syscalls; and the full recording has many more outside. */
	CHECK(counts[SYSCALLS] >= 60);
	CHECK(counts[SWITCHES_OUT] >= 4);
	CHECK(counts[WAKINGS_BY] >= 1);
	CHECK(counts[WAKINGS_OF] >= 1);
	for (size_t i = 0; i < full.n; i++)
		in_full += is_syscall(full.ev[i].type);
	CHECK(in_full > 2 * counts[SYSCALLS]);

	/* Every kept syscall of a thread follows a SPAN_TAG naming its innermost span. */
	for (unsigned t = 0; t < nthreads; t++) {
		uint64_t tag = 0;

		for (size_t i = 0; i < filt.n; i++) {
			const struct xev *x = &filt.ev[i];

			if (x->tid != threads[t].tid)
				continue;
			if (x->type == CT_EV_SPAN_TAG) {
				tag = x->span;
				CHECK_INT(x->state & 1, tag != 0);
			} else if (is_syscall(x->type)) {
				if (tag != span_at(x->tid, x->ts))
					T_FAIL("tid %d: '%s' tagged %llx, inside %llx", (int)x->tid,
					       x->key, (unsigned long long)tag,
					       (unsigned long long)span_at(x->tid, x->ts));
				tagged++;
			}
		}
	}
	CHECK_U64(tagged, counts[SYSCALLS]);
	fprintf(stderr,
		"same run: %zu syscall events inside sampled spans (of %zu), %zu voluntary "
		"switch-outs, %zu/%zu wake-ups by/of span threads: identical\n",
		counts[SYSCALLS], in_full, counts[SWITCHES_OUT], counts[WAKINGS_BY],
		counts[WAKINGS_OF]);
	free(filt.ev);
	free(full.ev);
out:
	if (t_failed_checks) {
		char *s1 = slurp_file(e1), *s2 = slurp_file(e2);

		fprintf(stderr, "filtered recorder stderr (tail): %s\n",
			s1 && strlen(s1) > 2000 ? s1 + strlen(s1) - 2000
			: s1			? s1
						: "");
		fprintf(stderr, "full recorder stderr: %s\n", s2 ? s2 : "");
		free(s1);
		free(s2);
	}
	if (rec2 > 0) {
		kill(rec2, SIGINT);
		waitpid(rec2, NULL, 0);
	}
	free(err1);
	free(err2);
}

/* A program without libcrosstrace publishes no span: none of its syscalls are kept. */
TEST(unregistered_process_keeps_nothing)
{
	char dir[300], e[300], *err;
	struct rec r;
	size_t sys = 0, sched = 0;

	snprintf(dir, sizeof(dir), "%s/plain", tmp);
	snprintf(e, sizeof(e), "%s/plain.err", tmp);
	CHECK_INT(wait_exit(spawn((char *[]){(char *)ct_bin, "record", "--only-in-spans", "-o", dir,
					     "--", "/bin/sh", "-c", "ls / > /dev/null", NULL},
				  e)),
		  0);
	err = slurp_file(e);
	CHECK(err && strstr(err, "only-in-spans: 0 processes published their span; left out 0 "
				 "syscall and block events of threads inside no sampled span"));
	CHECK(err && strstr(err, "of processes that publish no span (not linked"));
	CHECK(load(dir, &r) == 0);
	for (size_t i = 0; i < r.n; i++) {
		sys += is_syscall(r.ev[i].type);
		sched += r.ev[i].type == CT_EV_SCHED_SWITCH || r.ev[i].type == CT_EV_SCHED_WAKING;
	}
	CHECK_U64(sys, 0);
	CHECK_U64(sched, 0);
	if (t_failed_checks)
		fprintf(stderr, "stderr: %s\n", err ? err : "");
	free(r.ev);
	free(err);
}

TEST(perf_backend_refused)
{
	char dir[300], e[300], *err;

	snprintf(dir, sizeof(dir), "%s/perf", tmp);
	snprintf(e, sizeof(e), "%s/perf.err", tmp);
	CHECK_INT(
		wait_exit(spawn((char *[]){(char *)ct_bin, "record", "--only-in-spans", "--backend",
					   "perf", "-o", dir, "--", "/bin/true", NULL},
				e)),
		1);
	err = slurp_file(e);
	CHECK(err && strstr(err, "--only-in-spans needs the BPF backend"));
	free(err);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s CROSSTRACE TARGET\n", argv[0]);
		return 2;
	}
	ct_bin = argv[1];
	target_bin = wl_bin = argv[2];
	if (!kernel_tests_possible())
		return 0;
	signal(SIGPIPE, SIG_IGN);
	make_tmp(tmp, sizeof(tmp), "only-in-spans");
	RUN(same_run_filtered_and_full);
	RUN(unregistered_process_keeps_nothing);
	RUN(perf_backend_refused);
	if (!t_failed)
		rm_rf(tmp);
	else
		fprintf(stderr, "kept %s for inspection\n", tmp);
	return test_main_end();
}
