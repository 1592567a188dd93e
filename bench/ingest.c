// SPDX-License-Identifier: MIT
/*
 * bench/ingest (not a test): OTLP/HTTP protobuf spans ingested per core. The receiving side
 * is either `crosstrace agent` itself (--agent BIN: receivers, kernel capture of the load
 * generator's process, the received spans recorded in the trace directory, and every span
 * annotated by the incremental analysis; the spans carry the generator's pid), or, without
 * --agent, a child process running only the receiver and the trace directory's foreign
 * stream (decode → events → time-ordered buffer → CTF chunks). Either way chunks rotate every
 * 250 ms, the last 2 kept. The parent is a load generator on loopback with keep-alive
 * connections. Every second it prints the rate, the receiving process's CPU use and resident
 * memory; at the end spans per CPU-second of that process and the accounting of every span
 * sent (from the agent's GET /stats).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>
#include <jansson.h>

#include "crosstrace/crosstrace.h"
#include "format/tracedir.h"
#include "net/foreign_stream.h"
#include "net/http_receiver.h"
#include "net/otlp_proto.h"
#include "util/clock.h"

#define N_BODIES 16

struct totals {
	uint64_t spans, rejected, events_written, late, overflow, lost_td, refused, undecoded;
};

static struct ct_foreign *foreign;
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int sink(void *arg, struct ct_nbatch *b)
{
	struct ct_span_ev_clock clk;
	int err;

	(void)arg;
	clk.offset_ns = ct_clock_offset_ns(&clk.uncertainty_ns);
	err = ct_foreign_add(foreign, b, &clk);
	ct_nbatch_free(b);
	return err == -ENOMEM || err == CT_EFULL ? CT_EFULL : 0;
}

/* Refuses a request before it is decoded when the foreign stream would refuse it anyway. */
static int admit(void *arg, size_t bytes)
{
	(void)arg;
	(void)bytes;
	return ct_foreign_full(foreign) ? CT_EFULL : 0;
}

/* The receiving side: sends its port on fd, and its final counters at SIGTERM. */
static int run_receiver(int fd, const char *dir, int use_admit)
{
	struct ct_tracedir_opts to = {.path = dir,
				      .rotate_ns = 250000000ull,
				      .grace_ns = 250000000ull,
				      .max_chunks = 2,
				      .tool = "bench/ingest"};
	struct ct_foreign_opts fo = {.grace_ns = 250000000ull};
	struct ct_receiver_opts ro = {
		.otlp_port = 0, .zipkin_port = -1, .sink = sink, .admit = use_admit ? admit : NULL};
	struct ct_receiver_stats rs;
	struct ct_foreign_stats fs;
	struct ct_tracedir_stats ts;
	struct ct_tracedir *td;
	struct ct_receiver *r;
	struct totals t;
	char err[256];
	int port;

	signal(SIGTERM, on_term);
	if (ct_tracedir_create(&td, &to, err, sizeof(err))) {
		fprintf(stderr, "ingest: %s\n", err);
		return 1;
	}
	fo.td = td;
	if (ct_foreign_new(&foreign, &fo) || ct_receiver_start(&r, &ro, err, sizeof(err))) {
		fprintf(stderr, "ingest: cannot start the receiver: %s\n", err);
		return 1;
	}
	port = ct_receiver_otlp_port(r);
	if (write(fd, &port, sizeof(port)) != sizeof(port))
		return 1;
	while (!stop) {
		struct timespec nap = {0, 20000000};

		nanosleep(&nap, NULL);
		ct_foreign_tick(foreign, ct_mono_ns());
	}
	ct_receiver_stats(r, &rs);
	ct_receiver_stop(r);
	ct_foreign_flush(foreign);
	ct_foreign_stats(foreign, &fs);
	ct_tracedir_stats(td, &ts);
	t.spans = rs.spans;
	t.rejected = rs.rejected_spans;
	t.events_written = fs.events_written;
	t.late = fs.late;
	t.overflow = fs.overflow;
	t.refused = fs.refused;
	t.undecoded = rs.busy_undecoded;
	t.lost_td = ts.late + ts.out_of_order + ts.write_errors;
	ct_foreign_free(foreign);
	ct_tracedir_close(td, "complete");
	return write(fd, &t, sizeof(t)) == sizeof(t) ? 0 : 1;
}

/* ---- load generator ---- */

struct gen {
	int port;
	size_t body_bytes;
	uint32_t spans_per_body;
	uint64_t deadline_ns;
	_Atomic uint64_t acked_spans, requests, errors, busy_spans;
};

static void make_batches(struct ct_nbatch **batches, size_t *bytes, uint32_t n);

static void *generate(void *arg)
{
	struct gen *g = arg;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g->port)};
	char head[256], resp[4096];
	struct ct_buf body;
	unsigned k = 0;
	struct ct_nbatch *mine[N_BODIES];
	size_t bytes;
	/* Ids unique to this connection and request (a real SDK's are random). */
	uint64_t seq = (uint64_t)(uintptr_t)&body << 20;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ct_buf_init(&body);
	/* Each connection its own requests: their times and ids change every send. */
	make_batches(mine, &bytes, g->spans_per_body);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		perror("ingest: connect");
		return NULL;
	}
	while (ct_mono_ns() < g->deadline_ns) {
		struct ct_nbatch *bt = mine[k++ % N_BODIES];
		const struct ct_buf *b = &body;
		uint64_t now = ct_real_ns();
		int hl;

		/*
		 * Spans that have just ended, as an SDK's batch processor sends them: fresh times
		 * and ids every request (encoding is the generator's work, not the receiver's).
		 * Groups of ten: a 400 µs server span and nine sequential 35 µs children, one group
		 * after the other over the last few milliseconds.
		 */
		seq++;
		for (uint32_t i = 0; i < bt->n_spans; i++) {
			struct ct_nspan *sp = &bt->spans[i];
			uint64_t group = now - 50000 - (bt->n_spans / 10 + 1) * 450000ull +
					 (i / 10) * 450000ull;

			sp->start_ns = i % 10 ? group + 10000 + (i % 10 - 1) * 40000ull : group;
			sp->end_ns = sp->start_ns + (i % 10 ? 35000 : 400000);
			sp->events[0].time_ns = sp->start_ns + 1000;
			memcpy(sp->trace_id + 8, &seq, 8);
			memcpy(sp->span_id, &seq, 6);
			if (i % 10)
				memcpy(sp->parent_id, bt->spans[i - i % 10].span_id, 8);
		}
		ct_buf_reset(&body);
		ct_otlp_proto_encode(bt, NULL, 0, &body);
		hl = snprintf(head, sizeof(head),
			      "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
			      "application/x-protobuf\r\nContent-Length: %zu\r\n\r\n",
			      b->len);
		size_t got = 0, want = SIZE_MAX;

		if (send(fd, head, (size_t)hl, MSG_NOSIGNAL | MSG_MORE) != hl ||
		    send(fd, b->data, b->len, MSG_NOSIGNAL) != (ssize_t)b->len)
			break;
		/* One response: headers, then Content-Length bytes. */
		while (got < want) {
			ssize_t n = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
			char *end;

			if (n <= 0) {
				got = 0;
				break;
			}
			got += (size_t)n;
			resp[got] = 0;
			end = strstr(resp, "\r\n\r\n");
			if (end && want == SIZE_MAX) {
				char *cl = strcasestr(resp, "Content-Length:");

				want = (size_t)(end + 4 - resp) +
				       (cl ? strtoul(cl + 15, NULL, 10) : 0);
			}
		}
		if (!got)
			break;
		atomic_fetch_add(&g->requests, 1);
		if (!strncmp(resp, "HTTP/1.1 200", 12)) {
			atomic_fetch_add(&g->acked_spans, g->spans_per_body);
		} else if (!strncmp(resp, "HTTP/1.1 503", 12)) {
			/* Back-pressure: the receiver's buffer is full. A real client would wait
			 * Retry-After; the generator only pauses a little and sends again. */
			atomic_fetch_add(&g->busy_spans, g->spans_per_body);
			usleep(5000);
		} else {
			atomic_fetch_add(&g->errors, 1);
		}
	}
	close(fd);
	ct_buf_fini(&body);
	for (int i = 0; i < N_BODIES; i++)
		ct_nbatch_free(mine[i]);
	return NULL;
}

/* Realistic spans: a server span and its children with a dozen attributes and an event
 * (times set per request by the generator). */
static void make_batches(struct ct_nbatch **batches, size_t *bytes, uint32_t n)
{
	for (int k = 0; k < N_BODIES; k++) {
		struct ct_nbatch *b;
		struct ct_nresource *r;
		uint64_t now = ct_real_ns();

		ct_nbatch_new(&b, "otlp");
		r = ct_nbatch_add_resource(b);
		ct_nattrs_add_str(b, &r->attrs, "service.name", "checkout");
		/* The generator itself: the agent watches it, so annotation has kernel data. */
		ct_nattrs_add_int(b, &r->attrs, "process.pid", getpid());
		ct_nattrs_add_str(b, &r->attrs, "telemetry.sdk.language", "go");
		ct_nattrs_add_str(b, &r->attrs, "host.name", "bench-host");
		ct_nresource_derive(r);
		ct_nbatch_add_scope(b)->name = "bench";
		for (uint32_t i = 0; i < n; i++) {
			struct ct_nspan *s = ct_nbatch_add_span(b, 0, 0);
			struct ct_nevent *e;

			for (int j = 0; j < 16; j++)
				s->trace_id[j] = (uint8_t)(k * 31 + i / 10 + j + 1);
			for (int j = 0; j < 8; j++)
				s->span_id[j] = (uint8_t)(k + i * 7 + j + 1);
			if (i % 10)
				memcpy(s->parent_id, b->spans[i - i % 10].span_id, 8);
			s->name = i % 10 ? "SELECT orders WHERE id = ?" : "GET /api/orders/{id}";
			s->kind = i % 10 ? 3 : 2;
			s->start_ns = now + i * 1000;
			s->end_ns = s->start_ns + 250000;
			ct_nattrs_add_str(b, &s->attrs, "http.request.method", "GET");
			ct_nattrs_add_str(b, &s->attrs, "url.path", "/api/orders/12345");
			ct_nattrs_add_int(b, &s->attrs, "http.response.status_code", 200);
			ct_nattrs_add_str(b, &s->attrs, "db.system", "postgresql");
			ct_nattrs_add_str(b, &s->attrs, "server.address", "db.internal");
			ct_nattrs_add_int(b, &s->attrs, "server.port", 5432);
			ct_nattrs_add_double(b, &s->attrs, "app.load", 0.75);
			ct_nattrs_add_bool(b, &s->attrs, "app.cached", i & 1);
			e = ct_nspan_add_event(b, s);
			e->name = "row fetched";
			e->time_ns = s->start_ns + 1000;
		}
		if (k == 0) {
			struct ct_buf tmp;

			ct_buf_init(&tmp);
			ct_otlp_proto_encode(b, NULL, 0, &tmp);
			*bytes = tmp.len;
			ct_buf_fini(&tmp);
		}
		batches[k] = b;
	}
}

/* utime + stime of pid in ns, and its resident set in KiB. */
static void proc_usage(pid_t pid, uint64_t *cpu_ns, uint64_t *rss_kib)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	*cpu_ns = *rss_kib = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f) {
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
			sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
			       &st);
		fclose(f);
	}
	*cpu_ns = (uint64_t)(ut + st) * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f) {
		while (fgets(buf, sizeof(buf), f)) {
			if (!strncmp(buf, "VmRSS:", 6))
				*rss_kib = strtoull(buf + 6, NULL, 10);
		}
		fclose(f);
	}
}

/* ---- the agent as the receiving side ---- */

struct agent_run {
	pid_t pid;
	int otlp, health;
	char status[128];
};

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int c;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return buf;
}

static int status_port(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? atoi(p + strlen(key)) : -1;
}

static int start_agent(struct agent_run *ar, const char *bin, const char *dir, int record,
		       const char *export_url)
{
	static const char *const fixed[] = {
		"--otlp-port",	"0",	"--zipkin-port", "-1",	  "--health-port", "0",
		"--socket",	"none", "--rotate-time", "250ms", "--grace",	   "250ms",
		"--max-chunks", "2",	"--span-delay",	 "500ms", "--stats-every", "0"};
	char out[128], pid[16], log[128];
	const char *argv[40];
	int n = 0;

	snprintf(ar->status, sizeof(ar->status), "%s/status", dir);
	snprintf(out, sizeof(out), "%s/trace", dir);
	snprintf(log, sizeof(log), "%s/agent.log", dir);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	argv[n++] = bin;
	argv[n++] = "agent";
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		argv[n++] = fixed[i];
	argv[n++] = "--watch-pid";
	argv[n++] = pid;
	argv[n++] = "--output";
	argv[n++] = out;
	argv[n++] = "--status-file";
	argv[n++] = ar->status;
	argv[n++] = record ? "--record-spans=true" : "--record-spans=false";
	if (getenv("INGEST_AGENT_ARGS")) {
		/* Extra agent options for experiments, space-separated. */
		static char extra[512];
		char *save, *w;

		snprintf(extra, sizeof(extra), "%s", getenv("INGEST_AGENT_ARGS"));
		for (w = strtok_r(extra, " ", &save); w && n < 36; w = strtok_r(NULL, " ", &save))
			argv[n++] = w;
	}
	if (export_url) {
		argv[n++] = "--export";
		argv[n++] = export_url;
	}
	argv[n] = NULL;
	ar->pid = fork();
	if (ar->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd >= 0)
			dup2(fd, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		char *st = read_text(ar->status);

		if (st && strstr(st, "health ")) {
			ar->otlp = status_port(st, "otlp ");
			ar->health = status_port(st, "health ");
			free(st);
			return 0;
		}
		free(st);
		usleep(50000);
	}
	fprintf(stderr, "ingest: the agent did not start (see %s)\n", log);
	return -1;
}

/* GET /stats of the agent, parsed. */
static json_t *agent_stats(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	static const char req[] = "GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char *buf = malloc(1 << 16), *body;
	size_t len = 0;
	ssize_t r;
	json_t *j = NULL;

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (fd < 0 || !buf || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    send(fd, req, sizeof(req) - 1, 0) != (ssize_t)sizeof(req) - 1)
		goto out;
	while ((r = recv(fd, buf + len, (1 << 16) - 1 - len, 0)) > 0)
		len += (size_t)r;
	buf[len] = 0;
	body = strstr(buf, "\r\n\r\n");
	if (body)
		j = json_loads(body + 4, 0, NULL);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return j;
}

static uint64_t jv(json_t *j, const char *obj, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(json_object_get(j, obj), key));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"seconds", required_argument, NULL, 's'},
						 {"connections", required_argument, NULL, 'c'},
						 {"spans", required_argument, NULL, 'n'},
						 {"agent", required_argument, NULL, 'a'},
						 {"no-record", no_argument, NULL, 'R'},
						 {"export", required_argument, NULL, 'e'},
						 {"no-admit", no_argument, NULL, 'A'},
						 {NULL, 0, NULL, 0}};
	unsigned seconds = 10, conns = 2;
	uint32_t spans = 100;
	struct ct_nbatch *batches[N_BODIES];
	struct gen g = {0};
	pthread_t th[64];
	struct totals t = {0};
	struct agent_run ar = {0};
	const char *agent = NULL, *export_url = NULL;
	int record = 1, use_admit = 1;
	char dir[] = "/tmp/ct-bench-ingest-XXXXXX", tdir[64], cmd[128];
	uint64_t cpu0, cpu1, rss, start, last_acked = 0, last_cpu = 0, max_rss = 0;
	int pfd[2], c, status;
	pid_t child;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 's')
			seconds = (unsigned)atoi(optarg);
		else if (c == 'c')
			conns = (unsigned)atoi(optarg);
		else if (c == 'n')
			spans = (uint32_t)atoi(optarg);
		else if (c == 'a')
			agent = optarg;
		else if (c == 'R')
			record = 0;
		else if (c == 'e')
			export_url = optarg;
		else if (c == 'A')
			use_admit = 0; /* the receiver decodes what its sink then refuses */
		else {
			fprintf(stderr,
				"usage: ingest [--seconds N] [--connections N] [--spans N]\n"
				"              [--agent build/crosstrace [--no-record] "
				"[--export URL]] [--no-admit]\n");
			return 2;
		}
	}
	if (conns < 1 || conns > 64 || !spans || !mkdtemp(dir) || pipe(pfd))
		return 2;
	snprintf(tdir, sizeof(tdir), "%s/trace", dir);
	if (agent) {
		if (geteuid())
			fprintf(stderr, "ingest: not root: the agent cannot capture the kernel, so "
					"spans will not be annotated\n");
		if (start_agent(&ar, agent, dir, record, export_url))
			return 1;
		child = ar.pid;
		g.port = ar.otlp;
	} else {
		child = fork();
		if (child == 0) {
			close(pfd[0]);
			_exit(run_receiver(pfd[1], tdir, use_admit));
		}
		close(pfd[1]);
		if (read(pfd[0], &g.port, sizeof(g.port)) != sizeof(g.port)) {
			fprintf(stderr, "ingest: the receiver did not start\n");
			return 1;
		}
	}
	make_batches(batches, &g.body_bytes, spans);
	g.spans_per_body = spans;
	printf("bench/ingest: OTLP/HTTP protobuf, %u spans per request (%zu bytes), %u keep-alive "
	       "connections on loopback, %u s;\n",
	       spans, g.body_bytes, conns, seconds);
	if (agent)
		printf("receiver: crosstrace agent (%s): kernel capture of the generator's pid, "
		       "spans %srecorded in the trace directory, every span annotated by the "
		       "incremental analysis%s\n\n",
		       agent, record ? "" : "not ", export_url ? " and exported" : "");
	else
		printf("receiver: 1 thread, decode + span events + foreign-stream buffer + CTF "
		       "chunks (no annotation: run with --agent for that); a full buffer refuses "
		       "requests %s\n\n",
		       use_admit ? "before decoding (admit)" : "after decoding (--no-admit)");
	printf("%4s %12s %10s %16s %10s\n", "t(s)", "spans/s", "rcv CPU", "spans/CPU-s", "RSS MiB");
	proc_usage(child, &cpu0, &rss);
	start = ct_mono_ns();
	last_cpu = cpu0;
	g.deadline_ns = start + (uint64_t)seconds * 1000000000ull;
	for (unsigned i = 0; i < conns; i++)
		pthread_create(&th[i], NULL, generate, &g);
	for (unsigned s = 1; s <= seconds; s++) {
		uint64_t acked, now;

		while ((now = ct_mono_ns()) < start + (uint64_t)s * 1000000000ull)
			usleep(20000);
		acked = atomic_load(&g.acked_spans);
		proc_usage(child, &cpu1, &rss);
		if (rss > max_rss)
			max_rss = rss;
		printf("%4u %12" PRIu64 " %9.0f%% %16.0f %10.1f\n", s, acked - last_acked,
		       (double)(cpu1 - last_cpu) / 1e7,
		       cpu1 > last_cpu
			       ? (double)(acked - last_acked) / ((double)(cpu1 - last_cpu) / 1e9)
			       : 0.0,
		       (double)rss / 1024);
		fflush(stdout);
		last_acked = acked;
		last_cpu = cpu1;
	}
	for (unsigned i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	proc_usage(child, &cpu1, &rss);

	printf("\nsent and acknowledged (200): %" PRIu64 " spans in %" PRIu64 " requests; %" PRIu64
	       " spans answered 503 (buffer full: back-pressure, sent again), %" PRIu64
	       " other errors\n",
	       atomic_load(&g.acked_spans), atomic_load(&g.requests), atomic_load(&g.busy_spans),
	       atomic_load(&g.errors));
	if (agent) {
		/* Let the analysis catch up (span-delay + a chunk), then account for every span. */
		json_t *j = NULL;
		uint64_t until = ct_mono_ns() + 30000000000ull, waiting = 1;
		uint64_t cpu2, rss2;

		while (waiting && ct_mono_ns() < until) {
			usleep(200000);
			json_decref(j);
			j = agent_stats(ar.health);
			waiting = j ? jv(j, "annotation", "waiting_spans") : 1;
		}
		proc_usage(child, &cpu2, &rss2);
		if (j) {
			uint64_t received = jv(j, "received", "spans");
			uint64_t annotated = jv(j, "annotation", "annotated");
			uint64_t unannotated = jv(j, "annotation", "unannotated");

			printf("agent: %" PRIu64 " spans received, %" PRIu64 " annotated, %" PRIu64
			       " exported unannotated (late %" PRIu64 "), %" PRIu64
			       " still waiting; %" PRIu64 " refused with 503; kernel: %" PRIu64
			       " records, %" PRIu64
			       " lost; received spans not recorded in the trace: "
			       "%" PRIu64 " late, %" PRIu64 " overflow\n",
			       received, annotated, unannotated,
			       (uint64_t)json_integer_value(json_object_get(
				       json_object_get(json_object_get(j, "annotation"),
						       "unannotated_by_reason"),
				       "late")),
			       jv(j, "annotation", "waiting_spans"), jv(j, "refused", "busy_503"),
			       jv(j, "kernel", "records"), jv(j, "kernel", "lost"),
			       jv(j, "dropped", "recording_late"),
			       jv(j, "dropped", "recording_overflow"));
			printf("unexplained loss: %" PRId64
			       " spans (acknowledged - received), %" PRId64
			       " (received - annotated - unannotated - waiting)\n",
			       (int64_t)(atomic_load(&g.acked_spans) - received),
			       (int64_t)(received - annotated - unannotated - waiting));
			printf("the analysis caught up %.1f s after the load stopped (agent CPU "
			       "meanwhile %.2f s, counted below)\n",
			       (double)(ct_mono_ns() - g.deadline_ns) / 1e9,
			       (double)(cpu2 - cpu1) / 1e9);
			cpu1 = cpu2;
			json_decref(j);
		}
		kill(child, SIGTERM);
		waitpid(child, &status, 0);
	} else {
		kill(child, SIGTERM);
		if (read(pfd[0], &t, sizeof(t)) != sizeof(t))
			fprintf(stderr, "ingest: no final counters from the receiver\n");
		waitpid(child, &status, 0);
		printf("receiver: %" PRIu64 " spans taken (%" PRIu64
		       " refused with 503 after decoding, %" PRIu64 " requests before), %" PRIu64
		       " rejected; %" PRIu64 " events written, %" PRIu64 " late, %" PRIu64
		       " overflow, %" PRIu64 " refused by the trace directory\n",
		       t.spans, t.refused, t.undecoded, t.rejected, t.events_written, t.late,
		       t.overflow, t.lost_td);
		printf("unexplained loss: %" PRId64
		       " spans (acknowledged - taken by the receiver)\n",
		       (int64_t)(atomic_load(&g.acked_spans) - t.spans));
	}
	printf("receiving process CPU: %.2f s over %u s; peak RSS %.1f MiB\n",
	       (double)(cpu1 - cpu0) / 1e9, seconds, (double)max_rss / 1024);
	printf("\ningested per core: %.0f spans/s (spans per CPU-second of the receiving "
	       "process%s)\n",
	       cpu1 > cpu0 ? (double)atomic_load(&g.acked_spans) / ((double)(cpu1 - cpu0) / 1e9)
			   : 0.0,
	       agent ? ", annotation included" : "");
	printf("peer figure: OpenTelemetry Collector, ~15000 spans/s per core -- its published "
	       "sizing guidance,\n  not measured here (otelcol is not packaged in Debian).\n");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "ingest: could not remove %s\n", dir);
	for (int k = 0; k < N_BODIES; k++)
		ct_nbatch_free(batches[k]);
	return 0;
}
