// SPDX-License-Identifier: MIT
/*
 * Syscall oracle: `crosstrace record -- strace -f -o FILE -- capture_workload mix` records
 * one execution that two independent tracers watch. For every thread strace reports, each
 * syscall it saw (name and return value) must appear in our trace for that thread, in the
 * same order; for the workload's worker threads (which strace follows from their first
 * instruction) the two sequences must be identical. Run with both backends. The spans the
 * workers open around their syscalls must be in the trace too, on the same threads.
 * usage: test_capture_syscalls CROSSTRACE WORKLOAD
 */
#include <ctype.h>

#include "test.h"

#include "capture_util.h"

#define MAX_NR 1024
#define MAX_TIDS 64

static char *sys_names[MAX_NR];

/* Syscall numbers from the kernel headers, independent of crosstrace's own tables. */
static int load_syscall_names(void)
{
	FILE *f = fopen("/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "r");
	char line[256], name[128];
	int nr, n = 0;

	if (!f)
		f = fopen("/usr/include/asm/unistd_64.h", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "#define __NR_%127s %d", name, &nr) == 2 && nr >= 0 &&
		    nr < MAX_NR) {
			sys_names[nr] = strdup(name);
			n++;
		}
	}
	fclose(f);
	return n;
}

static int syscall_nr(const char *name)
{
	if (!strncmp(name, "syscall_0x", 10))
		return (int)strtol(name + 10, NULL, 16);
	for (int i = 0; i < MAX_NR; i++) {
		if (sys_names[i] && !strcmp(sys_names[i], name))
			return i;
	}
	return -1;
}

/* errno names as strace prints them, including the kernel-internal restart codes. */
static int errno_value(const char *name)
{
	static const struct {
		const char *n;
		int v;
	} internal[] = {{"ERESTARTSYS", 512},
			{"ERESTARTNOINTR", 513},
			{"ERESTARTNOHAND", 514},
			{"ENOIOCTLCMD", 515},
			{"ERESTART_RESTARTBLOCK", 516}};

	for (size_t i = 0; i < sizeof(internal) / sizeof(internal[0]); i++) {
		if (!strcmp(internal[i].n, name))
			return internal[i].v;
	}
	for (int e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);

		if (n && !strcmp(n, name))
			return e;
	}
	return -1;
}

struct call {
	int nr;
	int64_t ret;
	int ret_known; /* 0: strace printed "= ?" (no return: exit) */
	int no_exit; /* ours: entry without exit */
	int exit_only; /* ours: exit without entry (the child side of clone) */
};

struct seq {
	int tid;
	struct call *c;
	size_t n, cap;
	char pending[64]; /* strace: name of an <unfinished ...> call */
};

static struct seq *seq_for(struct seq *tab, int *n, int tid)
{
	for (int i = 0; i < *n; i++) {
		if (tab[i].tid == tid)
			return &tab[i];
	}
	if (*n >= MAX_TIDS)
		return NULL;
	memset(&tab[*n], 0, sizeof(tab[0]));
	tab[*n].tid = tid;
	return &tab[(*n)++];
}

static struct call *push(struct seq *s)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->c = realloc(s->c, s->cap * sizeof(*s->c));
		if (!s->c)
			exit(1);
	}
	memset(&s->c[s->n], 0, sizeof(s->c[0]));
	return &s->c[s->n++];
}

/* The offset of the last " = " outside string literals, or NULL. */
static const char *find_result(const char *p)
{
	const char *last = NULL;
	int inq = 0;

	for (; *p; p++) {
		if (inq) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				inq = 0;
			continue;
		}
		if (*p == '"')
			inq = 1;
		else if (!strncmp(p, " = ", 3))
			last = p;
	}
	return last;
}

/* "= 3", "= -1 ENOENT (...)", "= 0x7f..", "= ? ERESTARTSYS (...)", "= ?" */
static int parse_ret(const char *r, struct call *c)
{
	char name[64];

	r += 3;
	if (*r == '?') {
		if (sscanf(r + 1, " %63[A-Z_]", name) == 1 && errno_value(name) > 0) {
			c->ret = -errno_value(name);
			c->ret_known = 1;
		}
		return 0;
	}
	c->ret = strtoll(r, (char **)&r, 0);
	c->ret_known = 1;
	if (c->ret == -1 && sscanf(r, " %63[A-Z_0-9]", name) == 1 && errno_value(name) > 0)
		c->ret = -errno_value(name);
	return 0;
}

static int parse_strace(const char *path, struct seq *tab, int *ntab, int *unknown)
{
	FILE *f = fopen(path, "r");
	char line[65536];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char name[64] = "", *p = line;
		int tid = (int)strtol(line, &p, 10), nr;
		const char *res;
		struct seq *s;
		struct call *c;

		while (*p == ' ')
			p++;
		if (tid <= 0 || !strncmp(p, "---", 3) || !strncmp(p, "+++", 3))
			continue;
		s = seq_for(tab, ntab, tid);
		if (!s)
			continue;
		if (!strncmp(p, "<... ", 5)) {
			if (sscanf(p + 5, "%63[a-z0-9_] resumed", name) != 1)
				continue;
			s->pending[0] = 0;
		} else {
			if (sscanf(p, "%63[a-z0-9_]", name) != 1)
				continue;
			if (strstr(p, "<unfinished ...>")) {
				snprintf(s->pending, sizeof(s->pending), "%s", name);
				nr = syscall_nr(name);
				if (nr < 0) {
					(*unknown)++;
					continue;
				}
				c = push(s);
				c->nr = nr;
				c->ret_known = -1; /* completed by the resumed line */
				continue;
			}
		}
		nr = syscall_nr(name);
		if (nr < 0) {
			(*unknown)++;
			continue;
		}
		if (!strncmp(p, "<... ", 5)) {
			/* Complete the matching unfinished call. */
			c = NULL;
			for (size_t i = s->n; i-- > 0;) {
				if (s->c[i].ret_known == -1 && s->c[i].nr == nr) {
					c = &s->c[i];
					break;
				}
			}
			if (!c)
				continue;
			c->ret_known = 0;
		} else {
			c = push(s);
			c->nr = nr;
		}
		res = find_result(p);
		if (res)
			parse_ret(res, c);
	}
	fclose(f);
	/* Calls still unfinished when the thread died (exit, killed): no return. */
	for (int i = 0; i < *ntab; i++) {
		for (size_t k = 0; k < tab[i].n; k++) {
			if (tab[i].c[k].ret_known == -1)
				tab[i].c[k].ret_known = 0;
		}
	}
	return 0;
}

static void ours_from_trace(const struct trace *t, struct seq *tab, int *ntab)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct tev *e = &t->ev[i];
		struct seq *s;
		struct call *c;

		if (!is_sys_entry(e->type) && !is_sys_exit(e->type))
			continue;
		s = seq_for(tab, ntab, e->tid);
		if (!s)
			continue;
		if (is_sys_entry(e->type)) {
			c = push(s);
			c->nr = (int)e->nr;
			c->no_exit = 1;
			continue;
		}
		if (s->n && s->c[s->n - 1].no_exit && s->c[s->n - 1].nr == (int)e->nr) {
			c = &s->c[s->n - 1];
			c->no_exit = 0;
			c->ret = e->ret;
			c->ret_known = 1;
		} else {
			c = push(s);
			c->nr = (int)e->nr;
			c->ret = e->ret;
			c->ret_known = 1;
			c->exit_only = 1;
		}
	}
}

static const char *nm(int nr)
{
	return nr >= 0 && nr < MAX_NR && sys_names[nr] ? sys_names[nr] : "?";
}

static int matches(const struct call *st, const struct call *o)
{
	if (o->exit_only || st->nr != o->nr)
		return 0;
	if (!st->ret_known)
		return 1; /* strace saw no return (exit); ours may have none either */
	return !o->no_exit && o->ret == st->ret;
}

/*
 * Checks that strace's sequence is a subsequence of ours. Returns the number of our calls
 * that strace did not report (the side of clone in a new thread, exit-only, aside).
 */
static long compare(const struct seq *st, const struct seq *o, const char *what)
{
	size_t j = 0;
	long ours = 0;

	for (size_t i = 0; i < st->n; i++) {
		size_t k = j;

		while (k < o->n && !matches(&st->c[i], &o->c[k]))
			k++;
		if (k == o->n) {
			T_FAIL("%s: tid %d: strace call #%zu %s = %lld not found in our trace "
			       "after "
			       "our call #%zu (%s)",
			       what, st->tid, i, nm(st->c[i].nr), (long long)st->c[i].ret, j,
			       j < o->n ? nm(o->c[j].nr) : "end");
			return -1;
		}
		j = k + 1;
	}
	for (size_t k = 0; k < o->n; k++)
		ours += !o->c[k].exit_only;
	return ours - (long)st->n;
}

struct report {
	int main_pid, child_pid;
	int workers[8], nworkers;
	char names[8][16];
};

static void read_report(const char *path, struct report *r)
{
	char *text = slurp_file(path), *line, *save = NULL;

	memset(r, 0, sizeof(*r));
	if (!text)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int tid;
		char name[16];

		if (sscanf(line, "main %d", &tid) == 1)
			r->main_pid = tid;
		else if (sscanf(line, "child %d", &tid) == 1)
			r->child_pid = tid;
		else if (sscanf(line, "thread %d %15s", &tid, name) == 2 && r->nworkers < 8) {
			r->workers[r->nworkers] = tid;
			snprintf(r->names[r->nworkers], sizeof(r->names[0]), "%s", name);
			r->nworkers++;
		}
	}
	free(text);
}

static void check_spans(const struct trace *t, const struct report *r, const char *what)
{
	for (int w = 0; w < r->nworkers; w++) {
		uint64_t start = 0, end = 0;
		int getpids_inside = 0;

		for (size_t i = 0; i < t->n; i++) {
			const struct tev *e = &t->ev[i];

			if (e->tid != r->workers[w])
				continue;
			if (e->type == CT_EV_SPAN_START && !strcmp(e->str, r->names[w]))
				start = e->ts;
			else if (e->type == CT_EV_SPAN_END && start && !end)
				end = e->ts;
		}
		if (!start || !end) {
			T_FAIL("%s: span %s of thread %d not in the trace", what, r->names[w],
			       r->workers[w]);
			continue;
		}
		for (size_t i = 0; i < t->n; i++) {
			const struct tev *e = &t->ev[i];

			if (e->tid == r->workers[w] && is_sys_entry(e->type) &&
			    e->nr == 39 /* getpid */ && e->ts > start && e->ts < end)
				getpids_inside++;
		}
		CHECK_INT(getpids_inside, 1);
	}
}

static void oracle(const char *backend)
{
	char dir[256], trace_dir[300], report[300], sout[300], rerr[300];
	char *rec_argv[] = {
		(char *)ct_bin, "record",	"--backend", (char *)backend, "-o", trace_dir,
		"--",		"strace",	"-f",	     "-qq",	      "-o", sout,
		"--",		(char *)wl_bin, "mix",	     report,	      NULL};
	struct seq st[MAX_TIDS], ours[MAX_TIDS];
	int nst = 0, nours = 0, unknown = 0, status;
	struct report rep;
	struct trace t;
	char *summary;

	make_tmp(dir, sizeof(dir), "sysoracle");
	snprintf(trace_dir, sizeof(trace_dir), "%s/trace", dir);
	snprintf(report, sizeof(report), "%s/report", dir);
	snprintf(sout, sizeof(sout), "%s/strace.txt", dir);
	snprintf(rerr, sizeof(rerr), "%s/record.err", dir);
	status = run_argv(rec_argv, NULL, NULL, rerr);
	summary = slurp_file(rerr);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		T_FAIL("%s: record exited with status %d: %s", backend, status,
		       summary ? summary : "");
		free(summary);
		return;
	}
	read_report(report, &rep);
	CHECK_INT(rep.nworkers, 3);
	CHECK(rep.child_pid > 0);
	CHECK(parse_strace(sout, st, &nst, &unknown) == 0);
	CHECK_INT(unknown, 0);
	CHECK(load_trace(trace_dir, &t) == 0);
	CHECK_U64(t.errors, 0);
	ours_from_trace(&t, ours, &nours);

	/* strace must have seen the workload's main, workers and child. */
	{
		int need[16], nneed = 0;

		need[nneed++] = rep.main_pid;
		need[nneed++] = rep.child_pid;
		for (int w = 0; w < rep.nworkers; w++)
			need[nneed++] = rep.workers[w];
		for (int i = 0; i < nneed; i++) {
			int found = 0;

			for (int k = 0; k < nst; k++)
				found |= st[k].tid == need[i] && st[k].n > 0;
			if (!found)
				T_FAIL("%s: strace reported nothing for tid %d", backend, need[i]);
		}
	}
	long total = 0;

	for (int k = 0; k < nst; k++) {
		struct seq empty = {.tid = st[k].tid}, *o = &empty;
		int is_worker = 0;
		long extra;

		for (int i = 0; i < nours; i++) {
			if (ours[i].tid == st[k].tid)
				o = &ours[i];
		}
		for (int w = 0; w < rep.nworkers; w++)
			is_worker |= rep.workers[w] == st[k].tid;
		extra = compare(&st[k], o, backend);
		total += (long)st[k].n;
		/* strace follows a new thread from its first instruction: nothing of ours may be
		 * missing from strace's list either. (The main thread ran before strace attached
		 * to it, so ours begins with calls strace did not see.) */
		if (is_worker && extra != 0)
			T_FAIL("%s: worker %d: %ld of our calls not reported by strace", backend,
			       st[k].tid, extra);
	}
	printf("%s: %ld syscalls of %d threads matched strace -f (name, order, return value)\n",
	       backend, total, nst);

	/* vDSO calls never enter the kernel: neither tracer may see them. */
	{
		int seen_st = 0, seen_ours = 0;

		for (int k = 0; k < nst; k++) {
			for (size_t i = 0; i < st[k].n; i++)
				seen_st += st[k].c[i].nr == 228; /* clock_gettime */
		}
		for (int w = 0; w < rep.nworkers; w++) {
			for (int i = 0; i < nours; i++) {
				if (ours[i].tid != rep.workers[w])
					continue;
				for (size_t c = 0; c < ours[i].n; c++)
					seen_ours += ours[i].c[c].nr == 228;
			}
		}
		CHECK_INT(seen_st, seen_ours);
		printf("%s: vDSO calls, not syscalls (absent from both traces): clock_gettime x%d "
		       "per worker (seen by strace: %d, by crosstrace: %d)\n",
		       backend, 50, seen_st, seen_ours);
	}
	if (find_count(summary, "spans: ") > 0)
		check_spans(&t, &rep, backend);
	else
		T_FAIL("%s: no client records (spans) received: %s", backend, summary);

	for (int k = 0; k < nst; k++)
		free(st[k].c);
	for (int k = 0; k < nours; k++)
		free(ours[k].c);
	free_trace(&t);
	free(summary);
	if (!t_failed_checks)
		rm_rf(dir);
	else
		fprintf(stderr, "kept %s for inspection\n", dir);
}

TEST(syscall_oracle_bpf)
{
	oracle("bpf");
}

TEST(syscall_oracle_perf)
{
	oracle("perf");
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
	if (load_syscall_names() < 300) {
		fprintf(stderr, "cannot read syscall numbers from the kernel headers\n");
		return 1;
	}
	RUN(syscall_oracle_bpf);
	RUN(syscall_oracle_perf);
	return test_main_end();
}
