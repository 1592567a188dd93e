// SPDX-License-Identifier: MIT
/*
 * Bad input to a running `crosstrace agent` (receive only: no kernel needed), over real
 * sockets: malformed protobuf and JSON (400), a wrong content type (415), a body over the
 * limit (413, declared or chunked), a client sending one byte a second (closed with a logged
 * reason) and one vanishing mid-body (logged), while other clients keep being served; every
 * refusal is counted in GET /stats. Also: the health endpoint, the config file and its
 * errors, the pid file (a second agent refused, removed at exit) and clean SIGTERM shutdown.
 */
#include <pthread.h>

#include "agent_util.h"
#include "test.h"

static char dir[PATH_MAX];
static struct agent ag;

static void good(const char *name, struct au_resp *r)
{
	struct au_span s = {
		.name = name, .start_ns = 1700000000000000000ull, .end_ns = 1700000000001000000ull};
	struct ct_buf body;

	au_hex_id(s.trace_id, 16);
	au_hex_id(s.span_id, 8);
	ct_buf_init(&body);
	au_otlp_json(&body, "input-test", 1, &s, 1);
	au_request(ag.otlp, "POST", "/v1/traces", "Content-Type: application/json\r\n", body.data,
		   body.len, r);
	ct_buf_fini(&body);
}

TEST(served)
{
	struct au_resp r;
	static const char zipkin[] =
		"[{\"traceId\":\"5af7183fb1d4cf5f\",\"id\":\"6b221d5bc9e6496c\",\"name\":\"get\","
		"\"timestamp\":1556604172355737,\"duration\":1431,"
		"\"localEndpoint\":{\"serviceName\":\"backend\"}}]";

	good("first", &r);
	CHECK_INT(r.status, 200);
	au_resp_fini(&r);
	au_request(ag.zipkin, "POST", "/api/v2/spans", "Content-Type: application/json\r\n", zipkin,
		   sizeof(zipkin) - 1, &r);
	CHECK_INT(r.status, 202);
	au_resp_fini(&r);
	CHECK(agent_wait_stat(&ag, "received.spans", 2, 5000) >= 2);
}

TEST(malformed)
{
	struct au_resp r;
	/* Field 1 (resource_spans, length-delimited) claiming 100 bytes that are not there. */
	static const unsigned char proto[] = {0x0a, 0x64, 0x0a, 0x02};
	static const char json[] = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":";

	au_request(ag.otlp, "POST", "/v1/traces", "Content-Type: application/x-protobuf\r\n", proto,
		   sizeof(proto), &r);
	CHECK_INT(r.status, 400);
	au_resp_fini(&r);
	au_request(ag.otlp, "POST", "/v1/traces", "Content-Type: application/json\r\n", json,
		   sizeof(json) - 1, &r);
	CHECK_INT(r.status, 400);
	CHECK(r.body.data && strstr(r.body.data, "message"));
	au_resp_fini(&r);
	au_request(ag.zipkin, "POST", "/api/v2/spans", "Content-Type: application/json\r\n", "{]",
		   2, &r);
	CHECK_INT(r.status, 400);
	au_resp_fini(&r);
	good("after-malformed", &r);
	CHECK_INT(r.status, 200);
	au_resp_fini(&r);
	CHECK(agent_wait_stat(&ag, "refused.malformed_400", 3, 5000) >= 3);
	CHECK(agent_log_has(&ag, "400", 5000));
}

TEST(wrong_type)
{
	struct au_resp r;

	au_request(ag.otlp, "POST", "/v1/traces", "Content-Type: text/plain\r\n", "x", 1, &r);
	CHECK_INT(r.status, 415);
	au_resp_fini(&r);
	au_request(ag.otlp, "POST", "/v1/traces",
		   "Content-Type: application/json\r\nContent-Encoding: br\r\n", "{}", 2, &r);
	CHECK_INT(r.status, 415);
	au_resp_fini(&r);
	CHECK(agent_wait_stat(&ag, "refused.wrong_type_415", 2, 5000) >= 2);
}

TEST(too_large)
{
	struct au_resp r;
	size_t n = 100 * 1024; /* the agent runs with --max-body 64K */
	char *big = malloc(n + 64);
	int fd;

	memset(big, ' ', n);
	au_request(ag.otlp, "POST", "/v1/traces", "Content-Type: application/json\r\n", big, n, &r);
	CHECK_INT(r.status, 413);
	au_resp_fini(&r);
	/* Chunked: no declared length; refused once the body has been read. */
	fd = au_connect(ag.otlp);
	CHECK(fd >= 0);
	if (fd >= 0) {
		char head[256];
		int hl = snprintf(head, sizeof(head),
				  "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: "
				  "application/json\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n",
				  n);

		au_send(fd, head, (size_t)hl);
		au_send(fd, big, n);
		au_send(fd, "\r\n0\r\n\r\n", 7);
		au_read(fd, &r);
		CHECK_INT(r.status, 413);
		au_resp_fini(&r);
		close(fd);
	}
	free(big);
	CHECK(agent_wait_stat(&ag, "refused.too_large_413", 2, 5000) >= 2);
}

static void *slow_client(void *arg)
{
	int *result = arg;
	int fd = au_connect(ag.otlp);
	static const char head[] = "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: "
				   "application/json\r\nContent-Length: 100\r\n\r\n";
	char c;

	*result = -1;
	if (fd < 0)
		return NULL;
	au_send(fd, head, sizeof(head) - 1);
	/* One byte a second; the agent gives a body --body-timeout 1s. */
	for (int i = 0; i < 6; i++) {
		if (send(fd, "{", 1, MSG_NOSIGNAL) != 1)
			break;
		sleep(1);
	}
	/* The agent has hung up: the read ends (0 or a reset) without a response. */
	*result = (int)recv(fd, &c, 1, 0);
	close(fd);
	return NULL;
}

TEST(slow_client_others_served)
{
	pthread_t th;
	int result = 0;
	struct au_resp r;

	pthread_create(&th, NULL, slow_client, &result);
	/* Meanwhile everybody else is served. */
	for (int i = 0; i < 5; i++) {
		good("while-slow", &r);
		CHECK_INT(r.status, 200);
		au_resp_fini(&r);
		usleep(200000);
	}
	pthread_join(th, NULL);
	CHECK(result <= 0);
	CHECK(agent_log_has(&ag, "connection closed: body too slow", 5000));
	CHECK(agent_wait_stat(&ag, "refused.too_slow", 1, 5000) >= 1);
}

TEST(vanishing_client)
{
	struct au_resp r;
	int fd = au_connect(ag.otlp);
	static const char head[] = "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: "
				   "application/json\r\nContent-Length: 1000\r\n\r\n{\"resour";
	uint64_t before = agent_stat(&ag, "refused.abandoned");

	CHECK(fd >= 0);
	if (fd >= 0) {
		au_send(fd, head, sizeof(head) - 1);
		usleep(100000);
		close(fd);
	}
	CHECK(agent_wait_stat(&ag, "refused.abandoned", before + 1, 5000) >= before + 1);
	CHECK(agent_log_has(&ag, "request abandoned: client closed the connection mid-request",
			    5000));
	good("after-vanished", &r);
	CHECK_INT(r.status, 200);
	au_resp_fini(&r);
}

TEST(health_endpoint)
{
	struct au_resp r;

	au_request(ag.health, "GET", "/health", NULL, NULL, 0, &r);
	CHECK_INT(r.status, 200);
	CHECK(r.body.data && strstr(r.body.data, "\"status\":\"ok\""));
	au_resp_fini(&r);
	au_request(ag.health, "GET", "/metrics", NULL, NULL, 0, &r);
	CHECK_INT(r.status, 200);
	CHECK(r.body.data && strstr(r.body.data, "crosstrace_agent_received_spans_total "));
	au_resp_fini(&r);
	au_request(ag.health, "GET", "/nowhere", NULL, NULL, 0, &r);
	CHECK_INT(r.status, 404);
	au_resp_fini(&r);
	au_request(ag.health, "POST", "/stats", NULL, "x", 1, &r);
	CHECK_INT(r.status, 405);
	au_resp_fini(&r);
	/* Every span received so far is accounted for (all unannotated: no kernel capture). */
	CHECK(agent_wait_stat(&ag, "annotation.unannotated_by_reason.off",
			      agent_stat(&ag, "received.spans"),
			      5000) == agent_stat(&ag, "received.spans"));
}

/* Runs `crosstrace agent ARGS` to its end; returns its exit status, its stderr in out. */
static int run_agent(const char *const *args, char *out, size_t size)
{
	char log[PATH_MAX + 16];
	const char *argv[32];
	int n = 0, st = 0;
	pid_t p;
	char *text;

	snprintf(log, sizeof(log), "%s/run.log", dir);
	argv[n++] = au_bin();
	argv[n++] = "agent";
	for (int i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	p = fork();
	if (p == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	waitpid(p, &st, 0);
	text = au_slurp(log);
	snprintf(out, size, "%s", text ? text : "");
	free(text);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

TEST(config_file)
{
	char path[PATH_MAX + 16], msg[4096], st[PATH_MAX + 16], out[PATH_MAX + 16];
	struct agent b;
	FILE *f;

	snprintf(path, sizeof(path), "%s/agent.conf", dir);
	snprintf(out, sizeof(out), "%s/conf-out", dir);
	f = fopen(path, "w");
	fprintf(f,
		"# an agent config\n\ncapture = false\notlp-port = 0\nzipkin-port = -1  # off\n"
		"health-port = 0\nmax-body = \"2K\"\noutput = %s\n",
		out);
	fclose(f);
	/* The file's values, a flag overriding none of them. */
	{
		const char *args[] = {"--config", path, NULL};

		CHECK_INT(agent_start(&b, out, args), 0);
	}
	CHECK(b.otlp > 0);
	CHECK_INT(b.zipkin, -1);
	if (b.otlp > 0) {
		struct au_resp r;
		char big[4096];

		memset(big, ' ', sizeof(big));
		au_request(b.otlp, "POST", "/v1/traces", "Content-Type: application/json\r\n", big,
			   sizeof(big), &r);
		CHECK_INT(r.status, 413); /* max-body 2K from the file */
		au_resp_fini(&r);
	}
	CHECK_INT(agent_stop(&b), 0);
	/* Errors name the file and line, and the exit status says usage error. */
	f = fopen(path, "w");
	fprintf(f, "capture = false\n\nrotate-time = soon\n");
	fclose(f);
	{
		const char *args[] = {"--config", path, NULL};

		CHECK_INT(run_agent(args, msg, sizeof(msg)), 2);
		snprintf(st, sizeof(st), "%s:3: invalid rotate-time 'soon'", path);
		CHECK(strstr(msg, st) != NULL);
	}
	f = fopen(path, "w");
	fprintf(f, "capture = false\nno-such-option = 1\n");
	fclose(f);
	{
		const char *args[] = {"--config", path, NULL};

		CHECK_INT(run_agent(args, msg, sizeof(msg)), 2);
		CHECK(strstr(msg, ":2: unknown option 'no-such-option'") != NULL);
	}
	{
		const char *args[] = {
			"--capture=false", "--max-chunks", "3", "--rotate-time", "0", NULL};

		CHECK_INT(run_agent(args, msg, sizeof(msg)), 2);
		CHECK(strstr(msg, "need rotation") != NULL);
	}
}

TEST(pid_file_and_shutdown)
{
	char pidf[PATH_MAX + 16], msg[4096], *text;
	struct agent b;

	snprintf(pidf, sizeof(pidf), "%s/agent.pid", dir);
	{
		const char *args[] = {"--capture=false",
				      "--otlp-port",
				      "0",
				      "--zipkin-port",
				      "0",
				      "--health-port",
				      "0",
				      "--pid-file",
				      pidf,
				      NULL};

		CHECK_INT(agent_start(&b, dir, args), 0);
	}
	text = au_slurp(pidf);
	CHECK(text && atoi(text) == b.pid);
	free(text);
	/* A second agent with the same pid file is refused, naming the running one. */
	{
		const char *args[] = {"--capture=false",
				      "--otlp-port",
				      "0",
				      "--zipkin-port",
				      "0",
				      "--health-port",
				      "-1",
				      "--pid-file",
				      pidf,
				      NULL};
		char want[64];

		CHECK_INT(run_agent(args, msg, sizeof(msg)), 1);
		snprintf(want, sizeof(want), "(pid %d)", (int)b.pid);
		CHECK(strstr(msg, "another agent holds pid file") && strstr(msg, want));
	}
	CHECK_INT(agent_stop(&b), 0);
	CHECK(access(pidf, F_OK) != 0);
	CHECK(agent_log_has(&b, "signal 15 (Terminated) received", 0));
	CHECK(agent_log_has(&b, "crosstrace agent: stopped", 0));
	/* Log lines carry a UTC timestamp. */
	text = au_slurp(b.log);
	CHECK(text && strlen(text) > 25 && text[4] == '-' && text[10] == 'T' && text[23] == 'Z');
	free(text);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char agdir[PATH_MAX + 8];

	snprintf(dir, sizeof(dir), "%s/ct-agent-input-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	snprintf(agdir, sizeof(agdir), "%s/a", dir);
	{
		const char *args[] = {"--capture=false",
				      "--otlp-port",
				      "0",
				      "--zipkin-port",
				      "0",
				      "--health-port",
				      "0",
				      "--max-body",
				      "64K",
				      "--body-timeout",
				      "1s",
				      "--idle-timeout",
				      "5s",
				      "--output",
				      agdir,
				      NULL};

		if (agent_start(&ag, agdir, args))
			return 1;
	}
	RUN(served);
	RUN(malformed);
	RUN(wrong_type);
	RUN(too_large);
	RUN(slow_client_others_served);
	RUN(vanishing_client);
	RUN(health_endpoint);
	CHECK_INT(agent_stop(&ag), 0);
	RUN(config_file);
	RUN(pid_file_and_shutdown);
	if (!t_failed) {
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", dir);
	} else {
		char *log = au_slurp(ag.log);

		fprintf(stderr, "agent log:\n%s\n", log ? log : "");
		free(log);
	}
	return test_main_end();
}
