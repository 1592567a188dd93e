// SPDX-License-Identifier: MIT
/*
 * The HTTP receivers against real sockets on 127.0.0.1: good OTLP (JSON, protobuf, chunked,
 * gzip) and Zipkin requests, and every kind of bad input the OTLP/HTTP specification names:
 * malformed bodies (400), wrong content type (415), over the limit (413), a client sending
 * one byte a second (408), clients vanishing mid-body (closed, logged) -- while other clients
 * keep being served; and requests refused for a full sink before their body is decoded (admit),
 * on a connection that stays open. Responses are parsed as the protocol says (Status / partial
 * success).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "crosstrace/crosstrace.h"
#include "net/http_receiver.h"
#include "net/otlp_proto.h"
#include "test.h"
#include "util/buf.h"

static struct ct_receiver *rcv;
static int otlp_port, zipkin_port;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct ct_buf logbuf;
static uint64_t sunk_spans;
static char last_name[64];

static int sink(void *arg, struct ct_nbatch *b)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	sunk_spans += b->n_spans;
	if (b->n_spans)
		snprintf(last_name, sizeof(last_name), "%s", b->spans[b->n_spans - 1].name);
	pthread_mutex_unlock(&mu);
	ct_nbatch_free(b);
	return 0;
}

/* admit: refuses while refusing is set; remembers what it was asked. */
static int refusing;
static uint64_t admit_calls;
static size_t admit_bytes;

static int admit(void *arg, size_t bytes)
{
	int e;

	(void)arg;
	pthread_mutex_lock(&mu);
	admit_calls++;
	admit_bytes = bytes;
	e = refusing ? CT_EFULL : 0;
	pthread_mutex_unlock(&mu);
	return e;
}

static void set_refusing(int on)
{
	pthread_mutex_lock(&mu);
	refusing = on;
	pthread_mutex_unlock(&mu);
}

static void log_line(void *arg, const char *line)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	ct_buf_puts(&logbuf, line);
	ct_buf_putc(&logbuf, '\n');
	pthread_mutex_unlock(&mu);
	fprintf(stderr, "  receiver log: %s\n", line);
}

/* Waits (up to 20 s) for the log to contain s. */
static int log_has(const char *s)
{
	for (int i = 0; i < 200; i++) {
		int found;

		pthread_mutex_lock(&mu);
		found = logbuf.data && strstr(logbuf.data, s) != NULL;
		pthread_mutex_unlock(&mu);
		if (found)
			return 1;
		usleep(100000);
	}
	return 0;
}

static int connect_to(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 20};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		perror("connect");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* Bounded waits only: a broken receiver fails the test instead of hanging it. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

struct resp {
	int status; /* 0: connection closed without an answer; -1: timeout/error */
	char headers[2048];
	struct ct_buf body;
};

/* Reads one response: headers, then Content-Length bytes (or until close). */
static void read_resp(int fd, struct resp *r)
{
	char buf[4096];
	struct ct_buf in;
	char *hend;
	size_t want = SIZE_MAX;

	ct_buf_init(&in);
	r->status = 0;
	r->headers[0] = 0;
	ct_buf_init(&r->body);
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (!in.len)
				r->status = errno == EAGAIN || errno == EWOULDBLOCK ? -1 : 0;
			break;
		}
		if (n == 0)
			break;
		ct_buf_append(&in, buf, (size_t)n);
		hend = in.data ? strstr(in.data, "\r\n\r\n") : NULL;
		if (hend && want == SIZE_MAX) {
			const char *cl = strcasestr(in.data, "\r\nContent-Length:");

			if (cl && cl < hend)
				want = (size_t)(hend + 4 - in.data) + strtoul(cl + 17, NULL, 10);
		}
		if (want != SIZE_MAX && in.len >= want)
			break;
	}
	if (in.len > 12 && !strncmp(in.data, "HTTP/1.", 7)) {
		r->status = atoi(in.data + 9);
		hend = strstr(in.data, "\r\n\r\n");
		if (hend) {
			size_t hl = (size_t)(hend - in.data);

			snprintf(r->headers, sizeof(r->headers), "%.*s", (int)hl, in.data);
			ct_buf_append(&r->body, hend + 4, in.len - hl - 4);
		}
	}
	ct_buf_fini(&in);
}

/* One request on connection fd, left open: head (without the blank line) + body. */
static void request_on(int fd, const char *path, const char *extra_headers, const void *body,
		       size_t len, int chunked, struct resp *r)
{
	struct ct_buf req;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (fd < 0)
		return;
	ct_buf_init(&req);
	ct_buf_printf(&req, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s", path, extra_headers);
	if (chunked) {
		ct_buf_puts(&req, "Transfer-Encoding: chunked\r\n\r\n");
		/* Several chunks: the receiver must assemble them. */
		for (size_t off = 0; off < len; off += 1000) {
			size_t n = len - off < 1000 ? len - off : 1000;

			ct_buf_printf(&req, "%zx\r\n", n);
			ct_buf_append(&req, (const char *)body + off, n);
			ct_buf_puts(&req, "\r\n");
		}
		ct_buf_puts(&req, "0\r\n\r\n");
	} else {
		ct_buf_printf(&req, "Content-Length: %zu\r\n\r\n", len);
		ct_buf_append(&req, body, len);
	}
	send_all(fd, req.data, req.len);
	read_resp(fd, r);
	ct_buf_fini(&req);
}

/* One request on a new connection. */
static void request(int port, const char *path, const char *extra_headers, const void *body,
		    size_t len, int chunked, struct resp *r)
{
	int fd = connect_to(port);

	request_on(fd, path, extra_headers, body, len, chunked, r);
	if (fd >= 0)
		close(fd);
}

static const char good_json[] =
	"{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
	"{\"stringValue\":\"web\"}}]},\"scopeSpans\":[{\"spans\":[{\"traceId\":"
	"\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"00f067aa0ba902b7\",\"name\":\"%s\","
	"\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"}%s]}]}]}";

static void good_request(const char *name, struct resp *r)
{
	char body[1024];
	int n = snprintf(body, sizeof(body), good_json, name, "");

	request(otlp_port, "/v1/traces", "Content-Type: application/json\r\n", body, (size_t)n, 0,
		r);
}

static uint64_t spans_now(void)
{
	uint64_t n;

	pthread_mutex_lock(&mu);
	n = sunk_spans;
	pthread_mutex_unlock(&mu);
	return n;
}

TEST(good_requests)
{
	struct resp r;
	char body[1024];
	struct ct_buf pb, gz;
	uint64_t before = spans_now();
	int64_t rejected;
	z_stream z;
	int n;

	good_request("json-ok", &r);
	CHECK_INT(r.status, 200);
	CHECK(strcasestr(r.headers, "Content-Type: application/json") != NULL);
	CHECK_STR(r.body.data, "{}");
	ct_buf_fini(&r.body);

	/* Partial success: one valid span, one with a short span id. */
	n = snprintf(body, sizeof(body), good_json, "half",
		     ",{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"00f0\"}");
	request(otlp_port, "/v1/traces", "Content-Type: application/json; charset=utf-8\r\n", body,
		(size_t)n, 0, &r);
	CHECK_INT(r.status, 200);
	CHECK(r.body.data && strstr(r.body.data, "\"rejectedSpans\":\"1\"") != NULL);
	ct_buf_fini(&r.body);

	/* Protobuf, gzip, chunked (as the JS SDK sends it: no Content-Length). */
	{
		struct ct_nbatch *b;
		struct ct_nspan *s;

		ct_nbatch_new(&b, "otlp");
		ct_nbatch_add_resource(b);
		ct_nbatch_add_scope(b);
		s = ct_nbatch_add_span(b, 0, 0);
		memset(s->trace_id, 7, 16);
		memset(s->span_id, 8, 8);
		s->name = "proto-gzip-chunked";
		for (int i = 0; i < 100; i++)
			ct_nattrs_add_str(b, &s->attrs, "padding", "abcdefghijklmnopqrstuvwxyz");
		ct_buf_init(&pb);
		CHECK_INT(ct_otlp_proto_encode(b, NULL, 0, &pb), 0);
		ct_nbatch_free(b);
	}
	ct_buf_init(&gz);
	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	ct_buf_reserve(&gz, deflateBound(&z, pb.len));
	z.next_in = (Bytef *)pb.data;
	z.avail_in = (uInt)pb.len;
	z.next_out = (Bytef *)gz.data;
	z.avail_out = (uInt)gz.cap;
	CHECK_INT(deflate(&z, Z_FINISH), Z_STREAM_END);
	gz.len = z.total_out;
	deflateEnd(&z);
	request(otlp_port, "/v1/traces",
		"Content-Type: application/x-protobuf\r\nContent-Encoding: gzip\r\n", gz.data,
		gz.len, 1, &r);
	CHECK_INT(r.status, 200);
	CHECK(strcasestr(r.headers, "Content-Type: application/x-protobuf") != NULL);
	CHECK_INT(ct_otlp_proto_parse_response((const uint8_t *)r.body.data, r.body.len, &rejected,
					       NULL, 0),
		  0);
	CHECK_INT(rejected, 0);
	ct_buf_fini(&r.body);
	pthread_mutex_lock(&mu);
	CHECK_STR(last_name, "proto-gzip-chunked");
	pthread_mutex_unlock(&mu);

	/* Zipkin v2. */
	{
		static const char zk[] = "[{\"traceId\":\"a3ce929d0e0e4736\",\"id\":"
					 "\"00f067aa0ba902b7\",\"name\":\"zipkin-ok\","
					 "\"timestamp\":1700000000000000,\"duration\":5}]";

		request(zipkin_port, "/api/v2/spans", "Content-Type: application/json\r\n", zk,
			strlen(zk), 0, &r);
		CHECK_INT(r.status, 202);
		ct_buf_fini(&r.body);
	}
	CHECK_U64(spans_now() - before, 4);
	ct_buf_fini(&pb);
	ct_buf_fini(&gz);
}

/* The message field (2) of a protobuf google.rpc.Status. */
static int status_message(const struct ct_buf *b, char *out, size_t len)
{
	const uint8_t *p = (const uint8_t *)b->data;
	size_t i = 0;

	while (p && i + 1 < b->len) {
		uint8_t tag = p[i++];

		if (tag == 0x08) {
			while (i < b->len && (p[i++] & 0x80))
				;
		} else if (tag == 0x12) {
			size_t n = p[i++];

			if (n & 0x80)
				n = (n & 0x7f) | (size_t)p[i++] << 7;
			snprintf(out, len, "%.*s", (int)n, (const char *)p + i);
			return 0;
		} else {
			return -1;
		}
	}
	return -1;
}

TEST(malformed)
{
	struct resp r;
	char msg[256];

	request(otlp_port, "/v1/traces", "Content-Type: application/x-protobuf\r\n",
		"\x0a\x05\x12\x03", 4, 0, &r);
	CHECK_INT(r.status, 400);
	CHECK_INT(status_message(&r.body, msg, sizeof(msg)), 0);
	CHECK(strstr(msg, "protobuf") != NULL);
	ct_buf_fini(&r.body);
	CHECK(log_has("400: not a valid protobuf"));

	request(otlp_port, "/v1/traces", "Content-Type: application/json\r\n",
		"{\"resourceSpans\": [", 19, 0, &r);
	CHECK_INT(r.status, 400);
	CHECK(r.body.data && strstr(r.body.data, "\"message\":\"not valid JSON") != NULL);
	ct_buf_fini(&r.body);

	request(zipkin_port, "/api/v2/spans", "Content-Type: application/json\r\n", "{}", 2, 0, &r);
	CHECK_INT(r.status, 400);
	ct_buf_fini(&r.body);

	request(otlp_port, "/v1/traces",
		"Content-Type: application/json\r\nContent-Encoding: gzip\r\n", "not gzip", 8, 0,
		&r);
	CHECK_INT(r.status, 400);
	ct_buf_fini(&r.body);
}

TEST(wrong_type_and_path)
{
	struct resp r;

	request(otlp_port, "/v1/traces", "Content-Type: text/plain\r\n", "hello", 5, 0, &r);
	CHECK_INT(r.status, 415);
	ct_buf_fini(&r.body);
	CHECK(log_has("415: unsupported Content-Type \"text/plain\""));
	request(otlp_port, "/v1/traces",
		"Content-Type: application/json\r\nContent-Encoding: br\r\n", "{}", 2, 0, &r);
	CHECK_INT(r.status, 415);
	ct_buf_fini(&r.body);
	request(zipkin_port, "/api/v2/spans", "Content-Type: application/x-protobuf\r\n", "x", 1, 0,
		&r);
	CHECK_INT(r.status, 415);
	ct_buf_fini(&r.body);
	request(otlp_port, "/v1/metrics", "Content-Type: application/json\r\n", "{}", 2, 0, &r);
	CHECK_INT(r.status, 404);
	ct_buf_fini(&r.body);
}

TEST(too_large)
{
	struct resp r;
	size_t big = 200 * 1024; /* the receiver's limit is 64 KiB */
	char *body = malloc(big);
	struct ct_buf gz;
	z_stream z;

	memset(body, ' ', big);
	/* Declared too large: refused before the body is read. */
	request(otlp_port, "/v1/traces", "Content-Type: application/json\r\n", body, big, 0, &r);
	CHECK_INT(r.status, 413);
	ct_buf_fini(&r.body);
	CHECK(log_has("413: body of 204800 bytes is over the 65536-byte limit"));
	/* Chunked, no length declared: refused once the limit is crossed. */
	request(otlp_port, "/v1/traces", "Content-Type: application/json\r\n", body, big, 1, &r);
	CHECK_INT(r.status, 413);
	ct_buf_fini(&r.body);
	CHECK(log_has("413: body is over the 65536-byte limit"));
	/* A small gzip body that expands past the decoded limit (256 KiB). */
	big = 2 * 1024 * 1024;
	body = realloc(body, big);
	memset(body, ' ', big);
	ct_buf_init(&gz);
	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	ct_buf_reserve(&gz, deflateBound(&z, big));
	z.next_in = (Bytef *)body;
	z.avail_in = (uInt)big;
	z.next_out = (Bytef *)gz.data;
	z.avail_out = (uInt)gz.cap;
	deflate(&z, Z_FINISH);
	gz.len = z.total_out;
	deflateEnd(&z);
	CHECK(gz.len < 65536);
	request(otlp_port, "/v1/traces",
		"Content-Type: application/json\r\nContent-Encoding: gzip\r\n", gz.data, gz.len, 0,
		&r);
	CHECK_INT(r.status, 413);
	ct_buf_fini(&r.body);
	ct_buf_fini(&gz);
	free(body);
}

struct slow_arg {
	int status;
	int bytes_sent;
};

/* Declares 100 bytes and sends one a second. */
static void *slow_client(void *p)
{
	struct slow_arg *a = p;
	static const char head[] = "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: "
				   "application/json\r\nContent-Length: 100\r\n\r\n";
	struct resp r;
	int fd = connect_to(otlp_port);

	a->status = -1;
	if (fd < 0)
		return NULL;
	send_all(fd, head, sizeof(head) - 1);
	for (int i = 0; i < 100; i++) {
		if (send_all(fd, "{", 1))
			break;
		a->bytes_sent++;
		/* Stop as soon as the receiver answered (it closes after a 408). */
		struct timeval tv = {.tv_sec = 1};
		fd_set rd;

		FD_ZERO(&rd);
		FD_SET(fd, &rd);
		if (select(fd + 1, &rd, NULL, NULL, &tv) > 0)
			break;
	}
	read_resp(fd, &r);
	a->status = r.status;
	ct_buf_fini(&r.body);
	close(fd);
	return NULL;
}

TEST(slow_client_and_others_served)
{
	struct slow_arg a = {0};
	pthread_t t;
	struct resp r;

	pthread_create(&t, NULL, slow_client, &a);
	/* While the slow client trickles, others are served. */
	for (int i = 0; i < 3; i++) {
		usleep(300000);
		good_request("during-slow", &r);
		CHECK_INT(r.status, 200);
		ct_buf_fini(&r.body);
	}
	pthread_join(t, NULL);
	/* libmicrohttpd cannot answer mid-body: the slow client is disconnected, and told so in
	 * the log. */
	CHECK(a.status == 0 || a.status == 408);
	CHECK(a.bytes_sent < 100);
	CHECK(log_has("connection closed: body too slow"));
}

TEST(vanishing_clients)
{
	static const char head[] = "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: "
				   "application/json\r\nContent-Length: 1000\r\n\r\n{\"resourceS";
	struct resp r;
	char c;
	int fd;

	/* Disconnects mid-body. */
	fd = connect_to(otlp_port);
	CHECK(fd >= 0);
	if (fd >= 0) {
		send_all(fd, head, sizeof(head) - 1);
		usleep(100000);
		close(fd);
	}
	CHECK(log_has("request abandoned: client closed the connection mid-request after 11 of "
		      "1000 body bytes"));
	/* Goes silent mid-body: the idle timeout closes the connection, without an answer. */
	fd = connect_to(otlp_port);
	CHECK(fd >= 0);
	if (fd >= 0) {
		send_all(fd, head, sizeof(head) - 1);
		CHECK(recv(fd, &c, 1, 0) == 0); /* closed by the receiver */
		close(fd);
	}
	CHECK(log_has("request abandoned: connection idle past the timeout"));
	good_request("after-vanishing", &r);
	CHECK_INT(r.status, 200);
	ct_buf_fini(&r.body);
}

/*
 * The admit callback: while it refuses, complete requests are answered 503 + Retry-After
 * without being decoded (a malformed body gets 503, not 400; the sink sees nothing), on a
 * connection that stays usable: the next request on it is decoded and taken.
 */
TEST(admit_before_decoding)
{
	static const char garbage[] = "\xff\xff\xff\xff this is no protobuf message";
	struct ct_receiver_stats st0, st1;
	char body[1024];
	int n = snprintf(body, sizeof(body), good_json, "admitted", "");
	uint64_t spans0 = spans_now(), calls0;
	int fd = connect_to(otlp_port);
	struct resp r;

	CHECK(fd >= 0);
	ct_receiver_stats(rcv, &st0);
	set_refusing(1);
	pthread_mutex_lock(&mu);
	calls0 = admit_calls;
	pthread_mutex_unlock(&mu);
	request_on(fd, "/v1/traces", "Content-Type: application/x-protobuf\r\n", garbage,
		   sizeof(garbage) - 1, 0, &r);
	CHECK_INT(r.status, 503);
	CHECK(strstr(r.headers, "Retry-After: 1") != NULL);
	CHECK(strcasestr(r.headers, "Connection: close") == NULL);
	ct_buf_fini(&r.body);
	pthread_mutex_lock(&mu);
	CHECK_INT(admit_calls, calls0 + 1);
	CHECK_INT(admit_bytes, sizeof(garbage) - 1);
	pthread_mutex_unlock(&mu);
	/* A good request in chunks on the same connection: refused too, nothing sunk. */
	request_on(fd, "/v1/traces", "Content-Type: application/json\r\n", body, (size_t)n, 1, &r);
	CHECK_INT(r.status, 503);
	ct_buf_fini(&r.body);
	CHECK_INT(spans_now(), spans0);
	/* Room again: the same connection's next request is decoded and handed over. */
	set_refusing(0);
	request_on(fd, "/v1/traces", "Content-Type: application/json\r\n", body, (size_t)n, 0, &r);
	CHECK_INT(r.status, 200);
	ct_buf_fini(&r.body);
	CHECK_INT(spans_now(), spans0 + 1);
	pthread_mutex_lock(&mu);
	CHECK(!strcmp(last_name, "admitted"));
	CHECK_INT(admit_calls, calls0 + 3);
	pthread_mutex_unlock(&mu);
	ct_receiver_stats(rcv, &st1);
	CHECK_INT(st1.busy - st0.busy, 2);
	CHECK_INT(st1.busy_undecoded - st0.busy_undecoded, 2);
	CHECK_INT(st1.malformed, st0.malformed);
	CHECK_INT(st1.requests - st0.requests, 1);
	CHECK(log_has("503: span buffer full: retry after 1 s"));
	close(fd);
}

TEST(stats)
{
	struct ct_receiver_stats st;

	ct_receiver_stats(rcv, &st);
	CHECK(st.malformed >= 4);
	CHECK(st.bad_type >= 3);
	CHECK(st.too_large >= 3);
	CHECK(st.too_slow >= 1);
	CHECK(st.aborted >= 2);
	CHECK(st.rejected_spans >= 1);
	CHECK(st.requests >= 7);
}

int main(void)
{
	struct ct_receiver_opts o = {.otlp_port = 0,
				     .zipkin_port = 0,
				     .max_body = 64 * 1024,
				     .max_decoded = 256 * 1024,
				     .body_timeout_ms = 1500,
				     .idle_timeout_s = 2,
				     .sink = sink,
				     .admit = admit,
				     .log = log_line};
	char err[256];

	ct_buf_init(&logbuf);
	if (ct_receiver_start(&rcv, &o, err, sizeof(err))) {
		fprintf(stderr, "cannot start the receiver: %s\n", err);
		return 1;
	}
	otlp_port = ct_receiver_otlp_port(rcv);
	zipkin_port = ct_receiver_zipkin_port(rcv);
	RUN(good_requests);
	RUN(malformed);
	RUN(wrong_type_and_path);
	RUN(too_large);
	RUN(slow_client_and_others_served);
	RUN(vanishing_clients);
	RUN(admit_before_decoding);
	RUN(stats);
	ct_receiver_stop(rcv);
	ct_buf_fini(&logbuf);
	return test_main_end();
}
