// SPDX-License-Identifier: MIT
/*
 * The OTLP/HTTP exporter against real HTTP servers on 127.0.0.1: our own receiver (round
 * trip: same spans, byte-exact ids, nanosecond times, every attribute type), and a tiny
 * libmicrohttpd server controlled by the test that is absent, answers 503 (with and without
 * Retry-After), is slow, or hangs -- checking retries with back-off, counted drops, bounded
 * memory, and that submitting never waits for the network.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crosstrace/crosstrace.h"
#include "net/http_receiver.h"
#include "net/otlp_exporter.h"
#include "test.h"
#include "util/clock.h"

/* ---- a batch with everything the model can hold ---- */

static const char list_json[] = "[\"a\",1,2.5,true,[null]]";
static const char map_json[] = "{\"k\":\"v\",\"n\":{\"x\":-1}}";

static struct ct_nbatch *make_batch(int n_spans, uint8_t salt)
{
	struct ct_nbatch *b;
	struct ct_nresource *r;
	struct ct_nscope *sc;

	ct_nbatch_new(&b, "otlp");
	for (int k = 0; k < 2; k++) {
		r = ct_nbatch_add_resource(b);
		ct_nattrs_add_str(b, &r->attrs, "service.name", k ? "db" : "web");
		ct_nattrs_add_int(b, &r->attrs, "process.pid", 1000 + k);
		r->schema_url = "https://opentelemetry.io/schemas/1.24.0";
		ct_nresource_derive(r);
		sc = ct_nbatch_add_scope(b);
		sc->name = k ? "db.lib" : "http.lib";
		sc->version = "9.9";
		ct_nattrs_add_bool(b, &sc->attrs, "scope.flag", 1);
	}
	for (int i = 0; i < n_spans; i++) {
		struct ct_nspan *s = ct_nbatch_add_span(b, (uint32_t)(i % 2), (uint32_t)(i % 2));
		struct ct_nevent *e;
		struct ct_nlink *l;
		struct ct_nval *v;

		for (int j = 0; j < 16; j++)
			s->trace_id[j] = (uint8_t)(0xf0 ^ j ^ salt);
		s->span_id[0] = 0x80; /* high bit set: ids are bytes, not signed numbers */
		s->span_id[6] = (uint8_t)(i >> 8);
		s->span_id[7] = (uint8_t)i;
		s->span_id[5] = salt;
		if (i)
			memcpy(s->parent_id, b->spans[0].span_id, 8);
		s->name = i % 3 ? "SELECT orders" : "GET /orders/{id}";
		s->kind = (uint8_t)(1 + i % 5);
		s->start_ns = 1763900000123456789ull + (uint64_t)i * 1001;
		s->end_ns = s->start_ns + 987654321;
		s->flags = 0x301;
		s->trace_state = "congo=t61rcWkgMzE";
		s->status = (uint8_t)(i % 3);
		s->status_message = s->status == 2 ? "deadline exceeded" : "";
		ct_nattrs_add_str(b, &s->attrs, "http.route", "/orders/{id}");
		ct_nattrs_add_int(b, &s->attrs, "big", INT64_MIN + i);
		ct_nattrs_add_double(b, &s->attrs, "ratio", 1.0 / 3.0);
		ct_nattrs_add_bool(b, &s->attrs, "cached", i & 1);
		/* Annotations as the analysis engine adds them: namespaced crosstrace.* */
		ct_nspan_annotate_int(b, s, "blocked_io_ns", 123456789);
		ct_nspan_annotate_str(b, s, "top_cause", "read /etc/services (fd 3)");
		ct_nspan_annotate_double(b, s, "cpu_share", 0.125);
		v = ct_nattrs_add(b, &s->attrs, "raw", 3);
		ct_nval_set_bytes(b, v, CT_NVAL_BYTES, "\x00\xff\x10", 3);
		v = ct_nattrs_add(b, &s->attrs, "list", 4);
		ct_nval_set_bytes(b, v, CT_NVAL_ARRAY, list_json, strlen(list_json));
		v = ct_nattrs_add(b, &s->attrs, "map", 3);
		ct_nval_set_bytes(b, v, CT_NVAL_KVLIST, map_json, strlen(map_json));
		s->attrs.dropped = 3;
		e = ct_nspan_add_event(b, s);
		e->name = "retry";
		e->time_ns = s->start_ns + 5;
		ct_nattrs_add_int(b, &e->attrs, "attempt", 2);
		s->dropped_events = 1;
		l = ct_nspan_add_link(b, s);
		memset(l->trace_id, 0x11, 16);
		memset(l->span_id, 0x22, 8);
		l->flags = 1;
		l->trace_state = "a=b";
		ct_nattrs_add_str(b, &l->attrs, "link.kind", "follows");
		s->dropped_links = 2;
	}
	return b;
}

static int val_eq(const struct ct_nval *a, const struct ct_nval *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case CT_NVAL_INT:
		return a->i == b->i;
	case CT_NVAL_DOUBLE:
		return a->d == b->d;
	case CT_NVAL_BOOL:
		return a->b == b->b;
	case CT_NVAL_EMPTY:
		return 1;
	default:
		return a->len == b->len && !memcmp(a->s, b->s, a->len);
	}
}

static int attrs_eq(const struct ct_nattrs *a, const struct ct_nattrs *b)
{
	if (a->n != b->n || a->dropped != b->dropped)
		return 0;
	for (uint32_t i = 0; i < a->n; i++) {
		if (strcmp(a->v[i].key, b->v[i].key) || !val_eq(&a->v[i].v, &b->v[i].v))
			return 0;
	}
	return 1;
}

/* Span x of batch a equals span y of batch b in every field the model has. */
static void check_span_eq(const struct ct_nbatch *a, const struct ct_nspan *x,
			  const struct ct_nbatch *b, const struct ct_nspan *y)
{
	const struct ct_nresource *ra = &a->resources[x->resource],
				  *rb = &b->resources[y->resource];
	const struct ct_nscope *sa = &a->scopes[x->scope], *sb = &b->scopes[y->scope];

	CHECK(!memcmp(x->trace_id, y->trace_id, 16));
	CHECK(!memcmp(x->span_id, y->span_id, 8));
	CHECK(!memcmp(x->parent_id, y->parent_id, 8));
	CHECK_STR(x->name, y->name);
	CHECK_STR(x->trace_state, y->trace_state);
	CHECK_INT(x->kind, y->kind);
	CHECK_INT(x->flags, y->flags);
	CHECK_U64(x->start_ns, y->start_ns);
	CHECK_U64(x->end_ns, y->end_ns);
	CHECK_INT(x->status, y->status);
	CHECK_STR(x->status_message, y->status_message);
	CHECK(attrs_eq(&x->attrs, &y->attrs));
	CHECK(attrs_eq(&ra->attrs, &rb->attrs));
	CHECK_STR(ra->schema_url, rb->schema_url);
	CHECK_STR(sa->name, sb->name);
	CHECK_STR(sa->version, sb->version);
	CHECK(attrs_eq(&sa->attrs, &sb->attrs));
	CHECK_INT(x->n_events, y->n_events);
	CHECK_INT(x->dropped_events, y->dropped_events);
	for (uint32_t i = 0; i < x->n_events && i < y->n_events; i++) {
		CHECK_STR(x->events[i].name, y->events[i].name);
		CHECK_U64(x->events[i].time_ns, y->events[i].time_ns);
		CHECK(attrs_eq(&x->events[i].attrs, &y->events[i].attrs));
	}
	CHECK_INT(x->n_links, y->n_links);
	CHECK_INT(x->dropped_links, y->dropped_links);
	for (uint32_t i = 0; i < x->n_links && i < y->n_links; i++) {
		CHECK(!memcmp(x->links[i].trace_id, y->links[i].trace_id, 16));
		CHECK(!memcmp(x->links[i].span_id, y->links[i].span_id, 8));
		CHECK_INT(x->links[i].flags, y->links[i].flags);
		CHECK_STR(x->links[i].trace_state, y->links[i].trace_state);
		CHECK(attrs_eq(&x->links[i].attrs, &y->links[i].attrs));
	}
}

/* ---- round trip through our own receiver ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct ct_nbatch *got[64];
static int n_got;

static int keep_sink(void *arg, struct ct_nbatch *b)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	if (n_got < 64)
		got[n_got++] = b;
	else
		ct_nbatch_free(b);
	pthread_mutex_unlock(&mu);
	return 0;
}

static void round_trip(int gzip)
{
	struct ct_receiver_opts ro = {.otlp_port = 0, .zipkin_port = -1, .sink = keep_sink};
	struct ct_otlp_exporter_opts eo = {.max_batch_spans = 7, .gzip = gzip};
	struct ct_otlp_exporter_stats st;
	struct ct_otlp_exporter *ex;
	struct ct_receiver *rcv;
	struct ct_nbatch *b = make_batch(20, (uint8_t)gzip);
	char url[64], err[256];
	int found = 0;

	n_got = 0;
	if (ct_receiver_start(&rcv, &ro, err, sizeof(err))) {
		T_FAIL("%s", err);
		return;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/traces", ct_receiver_otlp_port(rcv));
	eo.endpoint = url;
	CHECK_INT(ct_otlp_exporter_new(&ex, &eo, err, sizeof(err)), 0);
	/* Submitted in pieces; batched by the sender into requests of at most 7 spans. */
	for (uint32_t i = 0; i < 20; i += 5) {
		uint32_t idx[5] = {i, i + 1, i + 2, i + 3, i + 4};

		CHECK_INT(ct_otlp_exporter_submit(ex, b, idx, 5), 0);
	}
	CHECK_INT(ct_otlp_exporter_flush(ex, 20000), 0);
	ct_otlp_exporter_stats(ex, &st);
	CHECK_U64(st.exported, 20);
	CHECK_U64(st.dropped_failed + st.dropped_queue_full, 0);
	CHECK_INT(st.last_status, 200);
	ct_otlp_exporter_free(ex);
	ct_receiver_stop(rcv);
	CHECK(n_got >= 3); /* 20 spans in requests of at most 7 */
	for (int k = 0; k < n_got; k++) {
		for (uint32_t j = 0; j < got[k]->n_spans; j++) {
			const struct ct_nspan *y = &got[k]->spans[j];

			for (uint32_t i = 0; i < b->n_spans; i++) {
				if (!memcmp(b->spans[i].span_id, y->span_id, 8)) {
					check_span_eq(b, &b->spans[i], got[k], y);
					found++;
				}
			}
		}
		ct_nbatch_free(got[k]);
	}
	CHECK_INT(found, 20);
	CHECK(ct_nattrs_find(&b->spans[0].attrs, "crosstrace.top_cause") != NULL);
	ct_nbatch_free(b);
}

TEST(round_trip_plain)
{
	round_trip(0);
}

TEST(round_trip_gzip)
{
	round_trip(1);
}

/* ---- a controllable endpoint ---- */

enum mode { M_OK, M_503_THEN_OK, M_503, M_SLOW_ONCE, M_HANG };

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum mode mode;
	int requests;
	uint64_t t[16]; /* arrival of the first requests, ns */
	int hanging, release;
} srv = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *retry)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (retry)
		MHD_add_response_header(r, "Retry-After", retry);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *size, void **con_cls)
{
	int n;
	enum mode m;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)data;
	if (!*con_cls) {
		*con_cls = (void *)1;
		return MHD_YES;
	}
	if (*size) {
		*size = 0; /* the body is not looked at */
		return MHD_YES;
	}
	pthread_mutex_lock(&srv.mu);
	n = srv.requests++;
	if (n < 16)
		srv.t[n] = ct_mono_ns();
	m = srv.mode;
	if (m == M_HANG) {
		srv.hanging = 1;
		while (!srv.release)
			pthread_cond_wait(&srv.cv, &srv.mu);
		srv.hanging = 0;
	}
	pthread_mutex_unlock(&srv.mu);
	switch (m) {
	case M_503_THEN_OK:
		if (n == 0)
			return answer(c, 503, "1"); /* honoured: the next try waits 1 s */
		if (n == 1)
			return answer(c, 429, NULL); /* back-off of our own */
		return answer(c, 200, NULL);
	case M_503:
		return answer(c, 503, NULL);
	case M_SLOW_ONCE:
		if (n == 0)
			usleep(1500 * 1000); /* past the exporter's 300 ms timeout */
		return answer(c, 200, NULL);
	default:
		return answer(c, 200, NULL);
	}
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	*con_cls = NULL;
}

static struct MHD_Daemon *start_server(enum mode m, int *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct MHD_Daemon *d;

	srv.mode = m;
	srv.requests = 0;
	srv.release = 0;
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
			     NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sin,
			     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	*port = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port : 0;
	return d;
}

static struct ct_otlp_exporter *exporter(int port, struct ct_otlp_exporter_opts *eo)
{
	static char url[64];
	struct ct_otlp_exporter *ex = NULL;
	char err[256];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/traces", port);
	eo->endpoint = url;
	if (ct_otlp_exporter_new(&ex, eo, err, sizeof(err)))
		T_FAIL("%s", err);
	return ex;
}

TEST(endpoint_down)
{
	struct ct_otlp_exporter_opts eo = {.initial_backoff_ms = 20, .max_elapsed_ms = 600};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct ct_otlp_exporter_stats st;
	struct ct_otlp_exporter *ex;
	struct ct_nbatch *b = make_batch(10, 1);
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	/* A port nobody listens on: bound, then closed. */
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	port = ntohs(sin.sin_port);
	close(fd);
	ex = exporter(port, &eo);
	if (!ex)
		return;
	CHECK_INT(ct_otlp_exporter_submit(ex, b, NULL, 0), 0);
	CHECK_INT(ct_otlp_exporter_flush(ex, 20000), 0);
	ct_otlp_exporter_stats(ex, &st);
	CHECK_U64(st.exported, 0);
	CHECK_U64(st.dropped_failed, 10);
	CHECK(st.retries >= 2);
	CHECK_U64(st.requests, st.retries + 1);
	CHECK_INT(st.last_status, -1);
	CHECK_U64(st.queued_spans, 0);
	ct_otlp_exporter_free(ex);
	ct_nbatch_free(b);
}

TEST(retry_after_then_ok)
{
	struct ct_otlp_exporter_opts eo = {.initial_backoff_ms = 50};
	struct ct_otlp_exporter_stats st;
	struct ct_otlp_exporter *ex;
	struct ct_nbatch *b = make_batch(10, 2);
	int port;
	struct MHD_Daemon *d = start_server(M_503_THEN_OK, &port);

	ex = exporter(port, &eo);
	if (!d || !ex)
		return;
	CHECK_INT(ct_otlp_exporter_submit(ex, b, NULL, 0), 0);
	CHECK_INT(ct_otlp_exporter_flush(ex, 20000), 0);
	ct_otlp_exporter_stats(ex, &st);
	CHECK_U64(st.exported, 10);
	CHECK_U64(st.retries, 2);
	CHECK_U64(st.dropped_failed, 0);
	pthread_mutex_lock(&srv.mu);
	CHECK_INT(srv.requests, 3);
	/* Retry-After: 1 was honoured (a lower bound: late is fine, early is not). */
	CHECK(srv.t[1] - srv.t[0] >= 950000000ull);
	pthread_mutex_unlock(&srv.mu);
	ct_otlp_exporter_free(ex);
	MHD_stop_daemon(d);
	ct_nbatch_free(b);
}

TEST(always_503_bounded)
{
	struct ct_otlp_exporter_opts eo = {.initial_backoff_ms = 10,
					   .max_backoff_ms = 40,
					   .max_elapsed_ms = 400,
					   .max_queue_spans = 100,
					   .max_queue_bytes = 12000,
					   .max_batch_spans = 50};
	struct ct_otlp_exporter_stats st;
	struct ct_otlp_exporter *ex;
	struct ct_nbatch *b = make_batch(10, 3);
	uint64_t full = 0;
	int port;
	struct MHD_Daemon *d = start_server(M_503, &port);

	ex = exporter(port, &eo);
	if (!d || !ex)
		return;
	for (int i = 0; i < 50; i++)
		full += ct_otlp_exporter_submit(ex, b, NULL, 0) == CT_EFULL;
	CHECK_INT(ct_otlp_exporter_flush(ex, 30000), 0);
	ct_otlp_exporter_stats(ex, &st);
	CHECK_U64(st.submitted, 500);
	CHECK_U64(st.dropped_queue_full, full * 10);
	CHECK(full > 0);
	CHECK_U64(st.exported, 0);
	/* Every span accounted for: refused at the door or given up after retrying. */
	CHECK_U64(st.dropped_queue_full + st.dropped_failed, 500);
	CHECK(st.retries > 0);
	CHECK_INT(st.last_status, 503);
	/* Bounded memory: the queue limit plus the batch in flight (itself from the queue). */
	CHECK(st.max_queued_bytes > 0);
	CHECK(st.max_queued_bytes <= 2 * 12000);
	ct_otlp_exporter_free(ex);
	MHD_stop_daemon(d);
	ct_nbatch_free(b);
}

TEST(slow_endpoint)
{
	struct ct_otlp_exporter_opts eo = {.timeout_ms = 300, .initial_backoff_ms = 50};
	struct ct_otlp_exporter_stats st;
	struct ct_otlp_exporter *ex;
	struct ct_nbatch *b = make_batch(4, 4);
	int port;
	struct MHD_Daemon *d = start_server(M_SLOW_ONCE, &port);

	ex = exporter(port, &eo);
	if (!d || !ex)
		return;
	CHECK_INT(ct_otlp_exporter_submit(ex, b, NULL, 0), 0);
	CHECK_INT(ct_otlp_exporter_flush(ex, 20000), 0);
	ct_otlp_exporter_stats(ex, &st);
	CHECK_U64(st.exported, 4);
	CHECK(st.retries >= 1); /* the first attempt timed out */
	ct_otlp_exporter_free(ex);
	MHD_stop_daemon(d);
	ct_nbatch_free(b);
}

TEST(never_blocks_ingestion)
{
	struct ct_otlp_exporter_opts eo = {
		.max_queue_spans = 1000, .max_batch_spans = 100, .batch_delay_ms = 1};
	struct ct_otlp_exporter_stats st;
	struct ct_otlp_exporter *ex;
	struct ct_nbatch *b = make_batch(100, 5);
	uint64_t refused = 0;
	int port, hanging = 0;
	struct MHD_Daemon *d = start_server(M_HANG, &port);

	ex = exporter(port, &eo);
	if (!d || !ex)
		return;
	/* Wait until the first request hangs in the server. */
	CHECK_INT(ct_otlp_exporter_submit(ex, b, NULL, 0), 0);
	for (int i = 0; i < 200 && !hanging; i++) {
		usleep(50000);
		pthread_mutex_lock(&srv.mu);
		hanging = srv.hanging;
		pthread_mutex_unlock(&srv.mu);
	}
	CHECK(hanging);
	/* 200 more submissions while the only request in flight hangs: all return. */
	for (int i = 0; i < 200; i++)
		refused += ct_otlp_exporter_submit(ex, b, NULL, 0) == CT_EFULL;
	pthread_mutex_lock(&srv.mu);
	CHECK(srv.hanging); /* still hanging: the submissions did not wait for it */
	srv.release = 1;
	pthread_cond_broadcast(&srv.cv);
	pthread_mutex_unlock(&srv.mu);
	ct_otlp_exporter_stats(ex, &st);
	CHECK(refused >= 190); /* the queue holds 1000 spans: 10 submissions */
	CHECK_U64(st.dropped_queue_full, refused * 100);
	CHECK(st.max_queued_bytes > 0);
	CHECK_INT(ct_otlp_exporter_flush(ex, 20000), 0);
	ct_otlp_exporter_stats(ex, &st);
	CHECK_U64(st.exported + st.dropped_queue_full, 20100);
	ct_otlp_exporter_free(ex);
	MHD_stop_daemon(d);
	ct_nbatch_free(b);
}

int main(void)
{
	RUN(round_trip_plain);
	RUN(round_trip_gzip);
	RUN(endpoint_down);
	RUN(retry_after_then_ok);
	RUN(always_503_bounded);
	RUN(slow_endpoint);
	RUN(never_blocks_ingestion);
	return test_main_end();
}
