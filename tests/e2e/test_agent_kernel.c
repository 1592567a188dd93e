// SPDX-License-Identifier: MIT
/*
 * `crosstrace agent` on the real kernel (root; under CI=true a skip fails), with real
 * processes (tests/e2e/agent_workload.c) and the trace directories read back with the trace
 * reader:
 *  - flight recorder: with a 100 ms threshold, a 250 ms span persists a snapshot whose chunks
 *    cover the span and hold the watched process's kernel events inside it; fast spans before
 *    and after trigger nothing; the in-memory ring is gone after exit;
 *  - retention: with --max-chunks the oldest chunks are removed, and the log says so;
 *  - watching: by pid, by command name (a process named after the agent started), by cgroup
 *    (a process moved in after the agent started), with an unwatched process absent from the
 *    recording; and --watch-all, which never records the agent itself;
 *  - native clients: libcrosstrace over the agent's UNIX socket, spans exported annotated
 *    with their reads.
 */
#include <dirent.h>
#include <jansson.h>

#include "agent_util.h"
#include "format/trace_reader.h"
#include "test.h"

static char dir[PATH_MAX];
static const char *workload;

/* Starts agent_workload with args; stdin from a pipe (*in, optional), stdout to out. */
static pid_t spawn(const char *const *args, int *in, const char *out)
{
	const char *argv[16];
	int n = 0, p[2] = {-1, -1};
	pid_t pid;

	argv[n++] = workload;
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (in && pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		if (in) {
			dup2(p[0], 0);
			close(p[1]);
		}
		if (out) {
			int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

			dup2(fd, 1);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (in) {
		close(p[0]);
		*in = p[1];
	}
	return pid;
}

static void reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/*
 * Counts the system calls pid made in a trace directory (its own activity: a process outside
 * the trace still shows as the other side of a traced context switch or wake-up), and those
 * in [lo, hi) when hi > 0. Returns -1 when the directory cannot be read.
 */
static long long count_events(const char *trace, int32_t pid, uint64_t lo, uint64_t hi,
			      long long *in_range)
{
	struct ct_trace *t;
	char err[512];
	long long n = 0;

	if (in_range)
		*in_range = 0;
	if (ct_trace_open(&t, trace, NULL, NULL, err, sizeof(err))) {
		fprintf(stderr, "cannot read %s: %s\n", trace, err);
		return -1;
	}
	for (unsigned i = 0; i < ct_trace_chunk_count(t); i++) {
		const struct ct_chunk_meta *m = ct_trace_chunk(t, i);
		struct ct_chunk_reader *r;
		struct ct_event ev;

		if (ct_chunk_reader_open(&r, m->dir, NULL, NULL, err, sizeof(err)))
			continue;
		while (ct_chunk_reader_next(r, &ev) > 0) {
			if (ev.type < CT_EV_SYSCALL_ENTRY || ev.type > CT_EV_SYSCALL_EXIT_ADDR)
				continue;
			if (ev.pid == pid) {
				n++;
				if (in_range && hi && ev.ts >= lo && ev.ts < hi)
					(*in_range)++;
			}
		}
		ct_chunk_reader_close(r);
	}
	ct_trace_close(t);
	return n;
}

static int send_spans(const struct agent *a, int pid, struct au_span *s, size_t n)
{
	struct ct_buf body;
	struct au_resp r;
	int st;

	ct_buf_init(&body);
	au_otlp_json(&body, "flight-test", pid, s, n);
	au_request(a->otlp, "POST", "/v1/traces", "Content-Type: application/json\r\n", body.data,
		   body.len, &r);
	st = r.status;
	au_resp_fini(&r);
	ct_buf_fini(&body);
	return st;
}

static int count_dirs(const char *path, const char *prefix)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

TEST(flight_recorder)
{
	char d[PATH_MAX + 16], snaps[PATH_MAX + 32], pidarg[16], ring[64], exp[PATH_MAX + 32];
	struct au_span fast[3], slow = {.name = "slow-op"};
	int64_t offset = (int64_t)(au_real_ns() - au_mono_ns());
	uint64_t slow_lo, slow_hi;
	pid_t w;
	struct agent a;
	const char *wargs[] = {"loop", NULL};

	snprintf(d, sizeof(d), "%s/flight", dir);
	snprintf(snaps, sizeof(snaps), "%s/snapshots", d);
	snprintf(exp, sizeof(exp), "%s/exported.jsonl", dir);
	w = spawn(wargs, NULL, NULL);
	snprintf(pidarg, sizeof(pidarg), "%d", (int)w);
	{
		const char *args[] = {"--otlp-port",
				      "0",
				      "--zipkin-port",
				      "-1",
				      "--health-port",
				      "0",
				      "--socket",
				      "none",
				      "--flight-recorder",
				      "4s",
				      "--flight-chunk",
				      "200ms",
				      "--grace",
				      "300ms",
				      "--threshold",
				      "100ms",
				      "--margin",
				      "100ms",
				      "--span-delay",
				      "500ms",
				      "--watch-pid",
				      pidarg,
				      "--output",
				      snaps,
				      "--exported-json",
				      exp,
				      NULL};

		if (agent_start(&a, d, args)) {
			T_FAIL("agent did not start");
			reap(w);
			return;
		}
	}
	snprintf(ring, sizeof(ring), "/dev/shm/crosstrace-agent-%d", (int)a.pid);
	CHECK(access(ring, F_OK) == 0);
	usleep(400000);
	/* Fast spans (10 ms) of the watched process: nothing to persist. */
	for (int i = 0; i < 3; i++) {
		fast[i].name = "fast-op";
		au_hex_id(fast[i].trace_id, 16);
		au_hex_id(fast[i].span_id, 8);
		fast[i].end_ns = au_real_ns() - 50000000ull + (uint64_t)i * 1000000;
		fast[i].start_ns = fast[i].end_ns - 10000000ull;
	}
	CHECK_INT(send_spans(&a, w, fast, 3), 200);
	usleep(800000);
	/* One slow span: 250 ms, just ended, on the workload's (only) thread. */
	slow.tid = w;
	au_hex_id(slow.trace_id, 16);
	au_hex_id(slow.span_id, 8);
	slow.end_ns = au_real_ns() - 20000000ull;
	slow.start_ns = slow.end_ns - 250000000ull;
	CHECK_INT(send_spans(&a, w, &slow, 1), 200);
	usleep(800000);
	for (int i = 0; i < 3; i++) {
		au_hex_id(fast[i].span_id, 8);
		fast[i].end_ns = au_real_ns() - 20000000ull;
		fast[i].start_ns = fast[i].end_ns - 10000000ull;
	}
	CHECK_INT(send_spans(&a, w, fast, 3), 200);
	CHECK(agent_log_has(&a, "flight recorder: persisted", 10000));
	/* Let the fast spans' chunks be sealed too: still one trigger, one snapshot. */
	usleep(800000);
	CHECK_U64(agent_stat(&a, "flight_recorder.triggers"), 1);
	CHECK_U64(agent_wait_stat(&a, "flight_recorder.snapshots", 1, 5000), 1);
	CHECK_U64(agent_stat(&a, "flight_recorder.open"), 0);
	CHECK_INT(agent_stop(&a), 0);
	reap(w);
	CHECK(access(ring, F_OK) != 0); /* the ring lived in memory only */
	CHECK_INT(count_dirs(snaps, "snapshot-"), 1);

	/* The snapshot: a trace directory of its own, naming the slow span, covering it. */
	{
		char sdir[PATH_MAX + 64], mpath[PATH_MAX + 80];
		json_t *m, *trig, *chunks;
		uint64_t cover_lo = UINT64_MAX, cover_hi = 0;
		long long inside = 0, total;
		size_t i;
		json_t *c;

		snprintf(sdir, sizeof(sdir), "%s/snapshot-000001", snaps);
		snprintf(mpath, sizeof(mpath), "%s/trace.json", sdir);
		m = json_load_file(mpath, 0, NULL);
		CHECK(m != NULL);
		if (!m)
			return;
		CHECK_STR(json_string_value(json_object_get(m, "status")), "snapshot");
		trig = json_object_get(
			json_object_get(json_object_get(m, "recording"), "flight_recorder"),
			"triggers");
		CHECK_INT((int)json_array_size(trig), 1);
		CHECK_STR(json_string_value(json_object_get(json_array_get(trig, 0), "span_id")),
			  slow.span_id);
		chunks = json_object_get(m, "chunks");
		CHECK(json_array_size(chunks) >= 2);
		json_array_foreach(chunks, i, c)
		{
			uint64_t b = (uint64_t)json_integer_value(json_object_get(c, "begin_ns"));
			uint64_t e = (uint64_t)json_integer_value(json_object_get(c, "end_ns"));

			if (b < cover_lo)
				cover_lo = b;
			if (e > cover_hi)
				cover_hi = e;
		}
		slow_lo = (uint64_t)((int64_t)slow.start_ns - offset);
		slow_hi = (uint64_t)((int64_t)slow.end_ns - offset);
		/* Chunks are contiguous: covering both ends covers the span. */
		CHECK(cover_lo <= slow_lo && cover_hi >= slow_hi);
		total = count_events(sdir, w, slow_lo, slow_hi, &inside);
		CHECK(total > 0);
		/* It wrote to /dev/null every 2 ms all through the 250 ms. */
		CHECK(inside >= 50);
		json_decref(m);
	}

	/* Exported: the slow span annotated on its thread, with its writes as child spans; the
	 * fast ones (no thread.id) process-wide. */
	{
		char *text = au_slurp(exp), *line = text;
		int slow_seen = 0, writes = 0, fast_process = 0;

		CHECK(text != NULL);
		while (line && *line) {
			char *next = strchr(line, '\n');
			json_t *j, *at;
			const char *name, *sid, *parent, *attr;

			if (next)
				*next++ = 0;
			j = json_loads(line, 0, NULL);
			line = next;
			if (!j)
				continue;
			at = json_object_get(j, "attributes");
			name = json_string_value(json_object_get(j, "name"));
			sid = json_string_value(json_object_get(j, "span_id"));
			parent = json_string_value(json_object_get(j, "parent_id"));
			attr = json_string_value(json_object_get(at, "crosstrace.attribution"));
			if (sid && !strcmp(sid, slow.span_id)) {
				slow_seen = 1;
				CHECK_STR(attr, "thread");
				CHECK_STR(json_string_value(
						  json_object_get(at, "crosstrace.annotation")),
					  "kernel");
			} else if (name && !strcmp(name, "fast-op")) {
				fast_process += attr && !strncmp(attr, "process: ", 9);
			} else if (name && !strcmp(name, "syscall write") && parent &&
				   !strcmp(parent, slow.span_id)) {
				CHECK_INT((int)json_integer_value(json_object_get(at, "thread.id")),
					  (int)w);
				writes++;
			}
			json_decref(j);
		}
		free(text);
		CHECK(slow_seen);
		CHECK_INT(fast_process, 6);
		CHECK(writes >= 50); /* a write every 2 ms during 250 ms */
	}
}

TEST(retention)
{
	char d[PATH_MAX + 16], out[PATH_MAX + 32], pidarg[16], c0[PATH_MAX + 64];
	const char *wargs[] = {"loop", NULL};
	struct agent a;
	pid_t w = spawn(wargs, NULL, NULL);
	json_t *m;

	snprintf(d, sizeof(d), "%s/retention", dir);
	snprintf(out, sizeof(out), "%s/trace", d);
	snprintf(pidarg, sizeof(pidarg), "%d", (int)w);
	{
		const char *args[] = {"--otlp-port",
				      "-1",
				      "--zipkin-port",
				      "-1",
				      "--health-port",
				      "0",
				      "--socket",
				      "none",
				      "--rotate-time",
				      "200ms",
				      "--grace",
				      "200ms",
				      "--max-chunks",
				      "2",
				      "--watch-pid",
				      pidarg,
				      "--output",
				      out,
				      NULL};

		if (agent_start(&a, d, args)) {
			T_FAIL("agent did not start");
			reap(w);
			return;
		}
	}
	CHECK(agent_log_has(&a, "retention: removed chunk 000000 (", 10000));
	CHECK(agent_wait_stat(&a, "chunks.removed", 3, 10000) >= 3);
	CHECK_INT(agent_stop(&a), 0);
	reap(w);
	snprintf(c0, sizeof(c0), "%s/chunks/000000", out);
	CHECK(access(c0, F_OK) != 0);
	/* Everything sealed at exit, the newest two kept. */
	{
		char cd[PATH_MAX + 48];

		snprintf(cd, sizeof(cd), "%s/chunks", out);
		CHECK_INT(count_dirs(cd, "0"), 2);
	}
	snprintf(c0, sizeof(c0), "%s/trace.json", out);
	m = json_load_file(c0, 0, NULL);
	CHECK(m != NULL);
	if (m) {
		CHECK(json_integer_value(json_object_get(json_object_get(m, "totals"),
							 "chunks_removed")) >= 3);
		CHECK_INT((int)json_array_size(json_object_get(m, "chunks")), 2);
		json_decref(m);
	}
	CHECK(count_events(out, w, 0, 0, NULL) > 0);
}

/* Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or .../unified on hybrid
 * systems). Returns 0 or -1. */
static int cgroup_v2(char *out, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int found = -1;

	while (f && found && fgets(line, sizeof(line), f)) {
		char *dash = strstr(line, " - ");

		if (dash && !strncmp(dash + 3, "cgroup2 ", 8) &&
		    sscanf(line, "%*d %*d %*s %*s %4095s", out) == 1 && strlen(out) < size)
			found = 0;
	}
	if (f)
		fclose(f);
	return found;
}

TEST(watching)
{
	char d[PATH_MAX + 16], out[PATH_MAX + 32], pidarg[16], want[128], root[PATH_MAX];
	char cg[PATH_MAX + 32], procs[PATH_MAX + 48];
	const char *la[] = {"loop", NULL}, *lb[] = {"loop", "ctagentwatchb", NULL};
	pid_t wa, wb = -1, wc = -1, wd = -1;
	struct agent a;
	FILE *f;

	if (cgroup_v2(root, sizeof(root))) {
		if (getenv("CI") && !strcmp(getenv("CI"), "true"))
			T_FAIL("no cgroup v2 hierarchy mounted");
		SKIP("no cgroup v2 hierarchy mounted");
	}
	snprintf(cg, sizeof(cg), "%s/ct-agent-test-%d", root, (int)getpid());
	if (mkdir(cg, 0755) && errno != EEXIST) {
		T_FAIL("cannot create %s: %s", cg, strerror(errno));
		return;
	}
	snprintf(d, sizeof(d), "%s/watch", dir);
	snprintf(out, sizeof(out), "%s/trace", d);
	wa = spawn(la, NULL, NULL);
	snprintf(pidarg, sizeof(pidarg), "%d", (int)wa);
	{
		const char *args[] = {"--otlp-port",
				      "-1",
				      "--zipkin-port",
				      "-1",
				      "--health-port",
				      "0",
				      "--socket",
				      "none",
				      "--rotate-time",
				      "500ms",
				      "--grace",
				      "500ms",
				      "--watch-pid",
				      pidarg,
				      "--watch-comm",
				      "ctagentwatchb",
				      "--watch-cgroup",
				      cg,
				      "--output",
				      out,
				      NULL};

		if (agent_start(&a, d, args)) {
			T_FAIL("agent did not start");
			reap(wa);
			rmdir(cg);
			return;
		}
	}
	/* Started after the agent: named (comm), moved into the cgroup, and one unwatched. */
	wb = spawn(lb, NULL, NULL);
	wc = spawn(la, NULL, NULL);
	wd = spawn(la, NULL, NULL);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	f = fopen(procs, "w");
	CHECK(f != NULL);
	if (f) {
		fprintf(f, "%d\n", (int)wc);
		CHECK(fclose(f) == 0);
	}
	snprintf(want, sizeof(want), "tracing pid %d (watch-comm)", (int)wb);
	CHECK(agent_log_has(&a, want, 5000));
	snprintf(want, sizeof(want), "tracing pid %d (watch-cgroup)", (int)wc);
	CHECK(agent_log_has(&a, want, 5000));
	usleep(300000);
	CHECK(agent_stat(&a, "kernel.by_pid") >= 1);
	CHECK(agent_stat(&a, "kernel.by_comm") >= 1);
	CHECK(agent_stat(&a, "kernel.by_cgroup") >= 1);
	CHECK_INT(agent_stop(&a), 0);
	CHECK(count_events(out, wa, 0, 0, NULL) > 0);
	CHECK(count_events(out, wb, 0, 0, NULL) > 0);
	CHECK(count_events(out, wc, 0, 0, NULL) > 0);
	CHECK_INT(count_events(out, wd, 0, 0, NULL), 0);
	reap(wa);
	reap(wb);
	reap(wc);
	reap(wd);
	usleep(100000);
	if (rmdir(cg))
		fprintf(stderr, "could not remove %s: %s\n", cg, strerror(errno));
}

TEST(watch_all)
{
	char d[PATH_MAX + 16], out[PATH_MAX + 32];
	const char *la[] = {"loop", NULL};
	struct agent a;
	pid_t we;
	int32_t self;

	snprintf(d, sizeof(d), "%s/all", dir);
	snprintf(out, sizeof(out), "%s/trace", d);
	{
		const char *args[] = {
			"--otlp-port", "-1",	   "--zipkin-port", "-1",	   "--health-port",
			"0",	       "--socket", "none",	    "--watch-all", "--output",
			out,	       NULL};

		if (agent_start(&a, d, args)) {
			T_FAIL("agent did not start");
			return;
		}
	}
	CHECK(agent_stat(&a, "kernel.by_all") >= 2); /* at least this test and its parents */
	we = spawn(la, NULL, NULL);
	usleep(500000);
	self = a.pid;
	CHECK_INT(agent_stop(&a), 0);
	CHECK(count_events(out, we, 0, 0, NULL) > 0);
	CHECK(count_events(out, (int32_t)getpid(), 0, 0, NULL) > 0);
	/* The agent never traces itself. */
	CHECK_INT(count_events(out, self, 0, 0, NULL), 0);
	reap(we);
}

TEST(native_client)
{
	char d[PATH_MAX + 16], sock[PATH_MAX + 32], exp[PATH_MAX + 32], env[PATH_MAX + 64];
	char spans_out[PATH_MAX + 32], want[96], file[PATH_MAX + 32], out[PATH_MAX + 32], *text;
	const char *wargs[] = {"spans", file, "3", "ctagentnative", NULL};
	struct agent a;
	int in = -1, n_ann = 0, n_read = 0, st;
	pid_t w;

	snprintf(d, sizeof(d), "%s/native", dir);
	snprintf(sock, sizeof(sock), "%s/agent.sock", d);
	snprintf(exp, sizeof(exp), "%s/exported.jsonl", d);
	snprintf(file, sizeof(file), "%s/native-input.txt", dir);
	snprintf(out, sizeof(out), "%s/trace", d);
	{
		FILE *f = fopen(file, "w");

		fprintf(f, "read me\n");
		fclose(f);
	}
	{
		const char *args[] = {"--otlp-port",
				      "-1",
				      "--zipkin-port",
				      "-1",
				      "--health-port",
				      "0",
				      "--socket",
				      sock,
				      "--rotate-time",
				      "300ms",
				      "--grace",
				      "300ms",
				      "--span-delay",
				      "300ms",
				      "--detail-all",
				      "--watch-comm",
				      "ctagentnative",
				      "--exported-json",
				      exp,
				      "--output",
				      out,
				      NULL};

		if (agent_start(&a, d, args)) {
			T_FAIL("agent did not start");
			return;
		}
	}
	snprintf(env, sizeof(env), "CROSSTRACE_OUTPUT=unix:%s", sock);
	putenv(env);
	snprintf(spans_out, sizeof(spans_out), "%s/spans.out", dir);
	w = spawn(wargs, &in, spans_out);
	unsetenv("CROSSTRACE_OUTPUT");
	snprintf(want, sizeof(want), "tracing pid %d (watch-comm)", (int)w);
	CHECK(agent_log_has(&a, want, 5000));
	CHECK(write(in, "go\n", 3) == 3);
	close(in);
	waitpid(w, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_INT(agent_stop(&a), 0);
	text = au_slurp(exp);
	CHECK(text != NULL);
	for (char *line = text; line && *line;) {
		char *next = strchr(line, '\n');
		json_t *j;

		if (next)
			*next++ = 0;
		j = json_loads(line, 0, NULL);
		if (j) {
			json_t *at = json_object_get(j, "attributes");
			json_t *res = json_object_get(j, "resource");
			const char *name = json_string_value(json_object_get(j, "name"));

			if (name && !strcmp(name, "native-op")) {
				CHECK_STR(json_string_value(
						  json_object_get(at, "crosstrace.annotation")),
					  "kernel");
				CHECK_INT((int)json_integer_value(
						  json_object_get(res, "process.pid")),
					  (int)w);
				n_ann++;
			}
			if (name && !strcmp(name, "syscall read") &&
			    json_string_value(json_object_get(at, "crosstrace.syscall.target")) &&
			    !strcmp(json_string_value(
					    json_object_get(at, "crosstrace.syscall.target")),
				    file))
				n_read++;
			json_decref(j);
		}
		line = next;
	}
	free(text);
	CHECK_INT(n_ann, 3);
	CHECK(n_read >= 3);
}

/*
 * Spans waiting for their kernel data fill the feed (4 spans at most, a minute's delay):
 * then a request is answered 503 before it is decoded. The oracle: a malformed body, which
 * decoding would answer 400, gets 503, and the agent counts it as refused undecoded.
 */
TEST(refused_undecoded)
{
	char d[PATH_MAX + 16], out[PATH_MAX + 32], pidarg[16];
	static const char bad[] = "{\"resourceSpans\": [ this is not JSON";
	struct au_span s[4];
	struct agent a;
	struct au_resp r;
	uint64_t now = au_real_ns();

	snprintf(d, sizeof(d), "%s/undecoded", dir);
	snprintf(out, sizeof(out), "%s/trace", d);
	snprintf(pidarg, sizeof(pidarg), "%d", (int)getpid());
	{
		const char *args[] = {"--otlp-port",
				      "0",
				      "--zipkin-port",
				      "-1",
				      "--health-port",
				      "0",
				      "--socket",
				      "none",
				      "--span-delay",
				      "60s",
				      "--max-pending-spans",
				      "4",
				      "--watch-pid",
				      pidarg,
				      "--output",
				      out,
				      NULL};

		if (agent_start(&a, d, args)) {
			T_FAIL("agent did not start");
			return;
		}
	}
	for (int i = 0; i < 4; i++) {
		s[i] = (struct au_span){
			.name = "waiting", .start_ns = now - 20000000, .end_ns = now - 10000000};
		au_hex_id(s[i].trace_id, 16);
		au_hex_id(s[i].span_id, 8);
	}
	CHECK_INT(send_spans(&a, (int)getpid(), s, 4), 200);
	CHECK_U64(agent_stat(&a, "annotation.waiting_spans"), 4);
	au_request(a.otlp, "POST", "/v1/traces", "Content-Type: application/json\r\n", bad,
		   sizeof(bad) - 1, &r);
	CHECK_INT(r.status, 503);
	au_resp_fini(&r);
	CHECK_U64(agent_stat(&a, "refused.busy_503_undecoded"), 1);
	CHECK_U64(agent_stat(&a, "refused.malformed_400"), 0);
	CHECK_INT(agent_stop(&a), 0);
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");

	if (argc < 2) {
		fprintf(stderr, "usage: test_agent_kernel AGENT_WORKLOAD\n");
		return 2;
	}
	workload = argv[1];
	au_need_root("test_agent_kernel");
	snprintf(dir, sizeof(dir), "%s/ct-agent-kernel-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	RUN(flight_recorder);
	RUN(retention);
	RUN(watching);
	RUN(watch_all);
	RUN(native_client);
	RUN(refused_undecoded);
	if (!t_failed) {
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", dir);
	} else {
		fprintf(stderr, "logs kept in %s\n", dir);
	}
	return test_main_end();
}
