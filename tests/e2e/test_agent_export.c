// SPDX-License-Identifier: MIT
/*
 * Export failures of a running `crosstrace agent` (receive only: no kernel needed): its
 * OTLP/HTTP endpoint is down, answers 503 for a while then 200, answers 503 for ever, or hangs
 * without answering. In every case every request the agent receives is answered 200 (export
 * never blocks ingestion), retries with back-off are counted, memory stays within the queue
 * limit, and once the queue is empty every span received is accounted for in GET /stats as
 * exported or dropped (by reason), which the agent's log also says. The endpoint is a small
 * libmicrohttpd server run by the test, decoding what it gets with the agent's own decoder.
 */
#include <microhttpd.h>
#include <pthread.h>

#include "agent_util.h"
#include "net/otlp_proto.h"
#include "test.h"

enum mode { M_OK, M_503_THEN_OK, M_503, M_HANG };

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum mode mode;
	int requests, fail_first;
	uint64_t spans; /* decoded from 200-answered requests */
	int release;
} srv = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static char dir[PATH_MAX];

struct req {
	struct ct_buf body;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *retry_after)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "application/x-protobuf");
	if (retry_after)
		MHD_add_response_header(r, "Retry-After", retry_after);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *size, void **con_cls)
{
	struct req *q = *con_cls;
	struct ct_nbatch *b = NULL;
	char err[128];
	enum mode m;
	int n;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	if (!q) {
		q = calloc(1, sizeof(*q));
		ct_buf_init(&q->body);
		*con_cls = q;
		return MHD_YES;
	}
	if (*size) {
		ct_buf_append(&q->body, data, *size);
		*size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&srv.mu);
	n = srv.requests++;
	m = srv.mode;
	while (m == M_HANG && !srv.release)
		pthread_cond_wait(&srv.cv, &srv.mu);
	pthread_mutex_unlock(&srv.mu);
	if (m == M_HANG)
		return MHD_NO; /* released: drop the connection, still without an answer */
	if (m == M_503 || (m == M_503_THEN_OK && n < srv.fail_first))
		return reply(c, 503, m == M_503_THEN_OK ? "0" : NULL);
	if (!ct_otlp_proto_decode((const uint8_t *)(q->body.data ? q->body.data : ""), q->body.len,
				  &b, err, sizeof(err))) {
		pthread_mutex_lock(&srv.mu);
		srv.spans += b->n_spans;
		pthread_mutex_unlock(&srv.mu);
		ct_nbatch_free(b);
	}
	return reply(c, 200, NULL);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct req *q = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (q) {
		ct_buf_fini(&q->body);
		free(q);
	}
	*con_cls = NULL;
}

static struct MHD_Daemon *server(enum mode m, int fail_first, int *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct MHD_Daemon *d;

	pthread_mutex_lock(&srv.mu);
	srv.mode = m;
	srv.fail_first = fail_first;
	srv.requests = 0;
	srv.spans = 0;
	srv.release = 0;
	pthread_mutex_unlock(&srv.mu);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
			     NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sin,
			     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	*port = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port : 0;
	return d;
}

/* A port nobody listens on. */
static int closed_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &len);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static int start(struct agent *a, const char *name, int port, const char *max_elapsed,
		 const char *timeout)
{
	char d[PATH_MAX + 32], url[96];
	const char *args[] = {"--capture=false",
			      "--otlp-port",
			      "0",
			      "--zipkin-port",
			      "-1",
			      "--health-port",
			      "0",
			      "--export",
			      url,
			      "--export-queue-spans",
			      "200",
			      "--export-queue-bytes",
			      "256K",
			      "--export-batch",
			      "100",
			      "--export-delay",
			      "20ms",
			      "--export-backoff",
			      "50ms",
			      "--export-max-backoff",
			      "200ms",
			      "--export-max-elapsed",
			      max_elapsed,
			      "--export-timeout",
			      timeout,
			      "--output",
			      d,
			      NULL};

	snprintf(d, sizeof(d), "%s/%s", dir, name);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/traces", port);
	return agent_start(a, d, args);
}

/* Sends n requests of 50 spans; returns how many were answered 200. */
static int ingest(const struct agent *a, int n)
{
	struct au_span s[50];
	int ok = 0;

	for (int k = 0; k < n; k++) {
		struct ct_buf body;
		struct au_resp r;

		for (int i = 0; i < 50; i++) {
			s[i].name = "op";
			au_hex_id(s[i].trace_id, 16);
			au_hex_id(s[i].span_id, 8);
			s[i].start_ns = au_real_ns() - 2000000;
			s[i].end_ns = s[i].start_ns + 1000000;
		}
		ct_buf_init(&body);
		au_otlp_json(&body, "export-test", 1, s, 50);
		au_request(a->otlp, "POST", "/v1/traces", "Content-Type: application/json\r\n",
			   body.data, body.len, &r);
		ok += r.status == 200;
		au_resp_fini(&r);
		ct_buf_fini(&body);
	}
	return ok;
}

/*
 * Waits until the export queue is empty and returns /stats; checks that every span received
 * is accounted for: exported + dropped (queue full, failed) == received, and the memory bound.
 */
static json_t *settled(const struct agent *a, uint64_t received)
{
	uint64_t until = au_now_ms() + 20000;
	json_t *j = NULL;

	while (au_now_ms() < until) {
		json_decref(j);
		j = agent_stats(a);
		if (j &&
		    !json_integer_value(
			    json_object_get(json_object_get(j, "exported"), "queued_spans")) &&
		    json_integer_value(json_object_get(json_object_get(j, "exported"),
						       "submitted")) == (json_int_t)received)
			break;
		usleep(50000);
	}
	CHECK(j != NULL);
	if (j) {
		json_t *ex = json_object_get(j, "exported"), *dr = json_object_get(j, "dropped");
		uint64_t exported = (uint64_t)json_integer_value(json_object_get(ex, "spans"));
		uint64_t full =
			(uint64_t)json_integer_value(json_object_get(dr, "export_queue_full"));
		uint64_t failed =
			(uint64_t)json_integer_value(json_object_get(dr, "export_failed"));

		CHECK_U64(json_integer_value(
				  json_object_get(json_object_get(j, "received"), "spans")),
			  received);
		CHECK_U64(exported + full + failed, received);
		CHECK_U64(json_integer_value(json_object_get(ex, "queued_spans")), 0);
		/* The queue limit (256K) plus at most the one batch in flight. */
		CHECK(json_integer_value(json_object_get(ex, "max_queued_bytes")) <=
		      2 * 256 * 1024);
	}
	return j;
}

static uint64_t jget(json_t *j, const char *obj, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(json_object_get(j, obj), key));
}

TEST(endpoint_down)
{
	struct agent a;
	json_t *j;

	CHECK_INT(start(&a, "down", closed_port(), "400ms", "1s"), 0);
	/* 1000 spans while nothing listens: all taken at once. */
	CHECK_INT(ingest(&a, 20), 20);
	j = settled(&a, 1000);
	CHECK_U64(jget(j, "exported", "spans"), 0);
	CHECK(jget(j, "exported", "retries") > 0);
	CHECK(jget(j, "dropped", "export_failed") > 0);
	CHECK(jget(j, "dropped", "export_queue_full") > 0); /* 1000 spans, a 200-span queue */
	CHECK_INT((int)json_integer_value(
			  json_object_get(json_object_get(j, "exported"), "last_status")),
		  -1);
	json_decref(j);
	CHECK_INT(agent_stop(&a), 0);
	CHECK(agent_log_has(&a, "export: ", 0));
	CHECK(agent_log_has(&a, "export drops ", 0));
}

TEST(unavailable_then_ok)
{
	struct agent a;
	struct MHD_Daemon *d;
	int port;
	json_t *j;

	d = server(M_503_THEN_OK, 3, &port);
	CHECK(d != NULL);
	CHECK_INT(start(&a, "503-then-ok", port, "30s", "2s"), 0);
	CHECK_INT(ingest(&a, 2), 2);
	j = settled(&a, 100);
	/* Retried through three 503s; nothing lost. */
	CHECK_U64(jget(j, "exported", "spans"), 100);
	CHECK(jget(j, "exported", "retries") >= 3);
	CHECK_U64(jget(j, "dropped", "export_failed"), 0);
	json_decref(j);
	pthread_mutex_lock(&srv.mu);
	CHECK_U64(srv.spans, 100);
	CHECK(srv.requests >= 4);
	pthread_mutex_unlock(&srv.mu);
	CHECK_INT(agent_stop(&a), 0);
	MHD_stop_daemon(d);
}

TEST(always_unavailable)
{
	struct agent a;
	struct MHD_Daemon *d;
	int port, ok;
	json_t *j;

	d = server(M_503, 0, &port);
	CHECK_INT(start(&a, "503", port, "400ms", "2s"), 0);
	ok = ingest(&a, 10);
	CHECK_INT(ok, 10);
	j = settled(&a, 500);
	CHECK_U64(jget(j, "exported", "spans"), 0);
	CHECK(jget(j, "dropped", "export_failed") > 0);
	CHECK(jget(j, "exported", "retries") > 0);
	CHECK_INT((int)json_integer_value(
			  json_object_get(json_object_get(j, "exported"), "last_status")),
		  503);
	json_decref(j);
	CHECK_INT(agent_stop(&a), 0);
	MHD_stop_daemon(d);
}

TEST(hanging_endpoint)
{
	struct agent a;
	struct MHD_Daemon *d;
	int port;
	json_t *j;

	d = server(M_HANG, 0, &port);
	CHECK_INT(start(&a, "hang", port, "400ms", "200ms"), 0);
	/* The endpoint never answers: ingestion goes on regardless. */
	CHECK_INT(ingest(&a, 10), 10);
	j = settled(&a, 500);
	CHECK_U64(jget(j, "exported", "spans"), 0);
	CHECK(jget(j, "dropped", "export_failed") + jget(j, "dropped", "export_queue_full") == 500);
	json_decref(j);
	CHECK_INT(agent_stop(&a), 0);
	pthread_mutex_lock(&srv.mu);
	srv.release = 1;
	pthread_cond_broadcast(&srv.cv);
	pthread_mutex_unlock(&srv.mu);
	MHD_stop_daemon(d);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/ct-agent-export-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	RUN(endpoint_down);
	RUN(unavailable_then_ok);
	RUN(always_unavailable);
	RUN(hanging_endpoint);
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
