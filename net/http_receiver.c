// SPDX-License-Identifier: MIT
/*
 * OTLP/HTTP and Zipkin receivers on libmicrohttpd. Headers are judged on the first call of a
 * request (path, method, content type, encoding, declared length) so that a bad request is
 * answered before its body is read; the body is then gathered up to the limit, gunzipped,
 * decoded and handed to the sink. A request answered early, or abandoned, is logged here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <zlib.h>

#include "crosstrace/crosstrace.h"
#include "http_receiver.h"
#include "otlp_json.h"
#include "otlp_proto.h"
#include "util/buf.h"
#include "util/clock.h"
#include "zipkin_json.h"

enum kind { K_OTLP_PROTO = 1, K_OTLP_JSON, K_ZIPKIN };

struct req {
	enum kind kind;
	int gzip;
	int answered; /* answered (or closed) before the body ended */
	int refuse; /* 413 or 503 to answer once the body has been read and discarded */
	uint64_t start_ns;
	uint64_t declared; /* Content-Length, or UINT64_MAX when chunked */
	struct ct_buf body;
	char peer[64];
	char path[32];
};

struct ct_receiver {
	struct ct_receiver_opts o;
	struct MHD_Daemon *otlp, *zipkin;
	int otlp_port, zipkin_port;
	_Atomic uint64_t requests, spans, rejected_spans, bytes, malformed, too_large, bad_type,
		too_slow, not_found, busy, busy_undecoded, aborted;
	_Atomic uint64_t busy_logged_ns, busy_unlogged; /* 503s are logged once a second */
};

static void logf_(struct ct_receiver *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logf_(struct ct_receiver *r, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (r->o.log)
		r->o.log(r->o.log_arg, line);
	else
		fprintf(stderr, "crosstrace receiver: %s\n", line);
}

static void peer_of(struct MHD_Connection *c, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr_in *sin;
	char ip[INET_ADDRSTRLEN] = "?";

	snprintf(out, len, "unknown client");
	if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET)
		return;
	sin = (const struct sockaddr_in *)(const void *)ci->client_addr;
	inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
	snprintf(out, len, "%s:%u", ip, ntohs(sin->sin_port));
}

/* The connection's two ends (for attributing spans to the local process that sent them). */
static void conn_ends(struct MHD_Connection *c, struct ct_nbatch *b)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const union MHD_ConnectionInfo *fi =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct sockaddr_in local;
	socklen_t len = sizeof(local);

	if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET) {
		const struct sockaddr_in *sin =
			(const struct sockaddr_in *)(const void *)ci->client_addr;

		b->peer_ip4 = sin->sin_addr.s_addr;
		b->peer_port = ntohs(sin->sin_port);
	}
	if (fi && !getsockname(fi->connect_fd, (struct sockaddr *)&local, &len) &&
	    local.sin_family == AF_INET) {
		b->local_ip4 = local.sin_addr.s_addr;
		b->local_port = ntohs(local.sin_port);
	}
}

static enum MHD_Result send_body(struct MHD_Connection *c, unsigned status, const char *ctype,
				 const void *body, size_t len, int close_conn, unsigned retry_s)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;
	char num[16];

	if (!resp)
		return MHD_NO;
	if (ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (close_conn)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	if (retry_s) {
		snprintf(num, sizeof(num), "%u", retry_s);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, num);
	}
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * An error answer: a google.rpc.Status in the request's encoding for OTLP (JSON when it is
 * not known), plain text for Zipkin. Logged with the reason.
 */
static enum MHD_Result send_error(struct ct_receiver *r, struct MHD_Connection *c, struct req *q,
				  unsigned status, int close_conn, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static enum MHD_Result send_error(struct ct_receiver *r, struct MHD_Connection *c, struct req *q,
				  unsigned status, int close_conn, const char *fmt, ...)
{
	char msg[384];
	struct ct_buf b;
	enum MHD_Result ret;
	const char *ctype;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status == 503) {
		/* Under overload every request is refused: one line a second says it all. */
		uint64_t now = ct_mono_ns(), last = atomic_load(&r->busy_logged_ns);

		if (now - last < 1000000000ull ||
		    !atomic_compare_exchange_strong(&r->busy_logged_ns, &last, now)) {
			atomic_fetch_add(&r->busy_unlogged, 1);
		} else {
			logf_(r,
			      "%s POST %s: 503: %s (and %llu more 503s since the last such line)",
			      q->peer, q->path, msg,
			      (unsigned long long)atomic_exchange(&r->busy_unlogged, 0));
		}
	} else {
		logf_(r, "%s POST %s: %u: %s%s", q->peer, q->path, status, msg,
		      close_conn ? " (connection closed)" : "");
	}
	ct_buf_init(&b);
	/* gRPC codes for the Status body: 3 invalid argument, 8 resource exhausted, 4 deadline
	 * exceeded, 14 unavailable, 5 not found. */
	int code = status == 400   ? 3
		   : status == 413 ? 8
		   : status == 408 ? 4
		   : status == 503 ? 14
		   : status == 404 ? 5
				   : 3;
	if (q->kind == K_OTLP_PROTO) {
		ct_rpc_status_proto(&b, code, msg);
		ctype = "application/x-protobuf";
	} else if (q->kind == K_ZIPKIN) {
		ct_buf_printf(&b, "%s\n", msg);
		ctype = "text/plain; charset=utf-8";
	} else {
		ct_rpc_status_json(&b, code, msg);
		ctype = "application/json";
	}
	ret = send_body(c, status, ctype, b.data ? b.data : "", b.len, close_conn,
			status == 503 ? 1 : 0);
	ct_buf_fini(&b);
	q->answered = 1;
	return ret;
}

/* The media type without parameters, compared case-insensitively. */
static int media_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	if (!ctype)
		return 0;
	while (*ctype == ' ')
		ctype++;
	return !strncasecmp(ctype, want, n) &&
	       (ctype[n] == 0 || ctype[n] == ';' || ctype[n] == ' ');
}

/* Gunzips in into out, at most max bytes. Returns 0, CT_EFORMAT, CT_ETOOBIG, -ENOMEM. */
static int gunzip(const struct ct_buf *in, struct ct_buf *out, size_t max)
{
	z_stream z;
	int zr, err = 0;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in->data;
	z.avail_in = (uInt)in->len;
	do {
		size_t room = 65536;

		if (out->len + room > max + 1)
			room = max + 1 - out->len;
		if (ct_buf_reserve(out, room + 1)) {
			err = -ENOMEM;
			break;
		}
		z.next_out = (Bytef *)out->data + out->len;
		z.avail_out = (uInt)room;
		zr = inflate(&z, Z_NO_FLUSH);
		out->len += room - z.avail_out;
		if (out->len > max) {
			err = CT_ETOOBIG;
			break;
		}
		if (zr == Z_STREAM_END) {
			/* Concatenated gzip members are legal: go on with the next one. */
			if (z.avail_in == 0)
				break;
			inflateReset(&z);
			continue;
		}
		if (zr != Z_OK && !(zr == Z_BUF_ERROR && z.avail_out == 0)) {
			err = CT_EFORMAT;
			break;
		}
		if (zr == Z_BUF_ERROR || (z.avail_in == 0 && z.avail_out != 0)) {
			err = CT_EFORMAT; /* the stream ended before its end marker */
			break;
		}
	} while (1);
	inflateEnd(&z);
	if (out->data)
		out->data[out->len] = 0;
	return err;
}

/* First call of a request: judge its headers. Returns 0 to go on reading the body. */
static int check_headers(struct ct_receiver *r, struct MHD_Connection *c, struct req *q,
			 const char *url, const char *method, enum MHD_Result *ret)
{
	const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	const char *enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
	const char *clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");

	snprintf(q->path, sizeof(q->path), "%.31s", url);
	if (!strcmp(url, "/v1/traces"))
		q->kind = media_is(ctype, "application/x-protobuf") ? K_OTLP_PROTO : K_OTLP_JSON;
	else if (!strcmp(url, "/api/v2/spans"))
		q->kind = K_ZIPKIN;
	else {
		atomic_fetch_add(&r->not_found, 1);
		*ret = send_error(r, c, q, 404, 0,
				  "no such endpoint %.60s (use /v1/traces or "
				  "/api/v2/spans)",
				  url);
		return -1;
	}
	if (strcmp(method, "POST")) {
		atomic_fetch_add(&r->not_found, 1);
		*ret = send_error(r, c, q, 405, 0, "%.16s not allowed: send spans with POST",
				  method);
		return -1;
	}
	if (q->kind == K_OTLP_JSON && !media_is(ctype, "application/json")) {
		atomic_fetch_add(&r->bad_type, 1);
		*ret = send_error(r, c, q, 415, 1,
				  "unsupported Content-Type \"%.60s\" (use application/x-protobuf "
				  "or application/json)",
				  ctype ? ctype : "");
		return -1;
	}
	if (q->kind == K_ZIPKIN && !media_is(ctype, "application/json")) {
		atomic_fetch_add(&r->bad_type, 1);
		*ret = send_error(
			r, c, q, 415, 1,
			"unsupported Content-Type \"%.60s\" (Zipkin v2 spans are accepted "
			"as application/json)",
			ctype ? ctype : "");
		return -1;
	}
	if (enc && !strcasecmp(enc, "gzip"))
		q->gzip = 1;
	else if (enc && strcasecmp(enc, "identity")) {
		atomic_fetch_add(&r->bad_type, 1);
		*ret = send_error(r, c, q, 415, 1,
				  "unsupported Content-Encoding \"%.30s\" (use gzip or none)", enc);
		return -1;
	}
	q->declared = UINT64_MAX;
	if (clen) {
		char *end;
		unsigned long long n = strtoull(clen, &end, 10);

		q->declared = n;
		if (n > r->o.max_body) {
			atomic_fetch_add(&r->too_large, 1);
			*ret = send_error(
				r, c, q, 413, 1,
				"body of %llu bytes is over the %zu-byte limit (send smaller "
				"batches)",
				n, r->o.max_body);
			return -1;
		}
	}
	return 0;
}

/* The whole body is here: decode it, hand it over, answer. */
static enum MHD_Result finish(struct ct_receiver *r, struct MHD_Connection *c, struct req *q)
{
	struct ct_buf plain, out;
	const struct ct_buf *body = &q->body;
	struct ct_nbatch *b = NULL;
	char err[256] = "";
	enum MHD_Result ret;
	uint64_t n_spans, rejected;
	char reject_msg[192];
	int e;

	ct_buf_init(&plain);
	if (q->gzip) {
		e = gunzip(&q->body, &plain, r->o.max_decoded);
		if (e == CT_ETOOBIG) {
			atomic_fetch_add(&r->too_large, 1);
			ret = send_error(
				r, c, q, 413, 0,
				"gzip body expands beyond the %zu-byte limit (send smaller "
				"batches)",
				r->o.max_decoded);
			ct_buf_fini(&plain);
			return ret;
		}
		if (e) {
			atomic_fetch_add(&r->malformed, 1);
			ret = send_error(
				r, c, q, 400, 0,
				"Content-Encoding is gzip but the body is not a complete gzip "
				"stream");
			ct_buf_fini(&plain);
			return ret;
		}
		body = &plain;
	}
	if (q->kind == K_OTLP_PROTO)
		e = ct_otlp_proto_decode((const uint8_t *)(body->data ? body->data : ""), body->len,
					 &b, err, sizeof(err));
	else if (q->kind == K_OTLP_JSON)
		e = ct_otlp_json_decode(body->data ? body->data : "", body->len, &b, err,
					sizeof(err));
	else
		e = ct_zipkin_json_decode(body->data ? body->data : "", body->len, &b, err,
					  sizeof(err));
	ct_buf_fini(&plain);
	if (e == -ENOMEM) {
		atomic_fetch_add(&r->busy, 1);
		return send_error(r, c, q, 503, 0, "out of memory decoding %zu bytes: retry later",
				  body->len);
	}
	if (e) {
		atomic_fetch_add(&r->malformed, 1);
		return send_error(r, c, q, 400, 0, "%s", err);
	}
	n_spans = b->n_spans;
	rejected = b->rejected;
	snprintf(reject_msg, sizeof(reject_msg), "%s", b->reject_msg);
	if (rejected)
		logf_(r, "%s POST %s: %llu span(s) rejected, first: %s", q->peer, q->path,
		      (unsigned long long)rejected, reject_msg);
	conn_ends(c, b);
	e = r->o.sink ? r->o.sink(r->o.sink_arg, b) : (ct_nbatch_free(b), 0);
	if (e == CT_EFULL) {
		atomic_fetch_add(&r->busy, 1);
		return send_error(r, c, q, 503, 0, "span buffer full: retry after 1 s");
	}
	atomic_fetch_add(&r->requests, 1);
	atomic_fetch_add(&r->spans, n_spans);
	atomic_fetch_add(&r->rejected_spans, rejected);
	ct_buf_init(&out);
	if (q->kind == K_OTLP_PROTO) {
		ct_otlp_proto_response(&out, rejected, reject_msg);
		ret = send_body(c, 200, "application/x-protobuf", out.data ? out.data : "", out.len,
				0, 0);
	} else if (q->kind == K_OTLP_JSON) {
		ct_otlp_json_response(&out, rejected, reject_msg);
		ret = send_body(c, 200, "application/json", out.data, out.len, 0, 0);
	} else {
		ret = send_body(c, 202, NULL, "", 0, 0, 0);
	}
	ct_buf_fini(&out);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct ct_receiver *r = cls;
	struct req *q = *con_cls;
	enum MHD_Result ret = MHD_YES;

	(void)version;
	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q)
			return MHD_NO;
		ct_buf_init(&q->body);
		q->start_ns = ct_mono_ns();
		peer_of(c, q->peer, sizeof(q->peer));
		*con_cls = q;
		if (check_headers(r, c, q, url, method, &ret))
			return ret;
		return MHD_YES;
	}
	if (q->answered) {
		*upload_data_size = 0; /* already refused: discard whatever still comes */
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		atomic_fetch_add(&r->bytes, n);
		if ((ct_mono_ns() - q->start_ns) / 1000000 > r->o.body_timeout_ms) {
			/*
			 * libmicrohttpd cannot answer in the middle of a body: a client too slow to
			 * finish is disconnected, which OTLP/HTTP clients treat as retryable.
			 */
			atomic_fetch_add(&r->too_slow, 1);
			logf_(r,
			      "%s POST %s: connection closed: body too slow, %zu bytes in %u ms "
			      "(the "
			      "limit for a whole request body; a 408 cannot be sent mid-body)",
			      q->peer, q->path, q->body.len + n, r->o.body_timeout_ms);
			q->answered = 1;
			return MHD_NO;
		}
		if (q->refuse)
			return MHD_YES; /* over the limit: read and discard until the body ends */
		if (q->body.len + n > r->o.max_body) {
			/* Answered (413) once the body has ended: see above. Nothing more is kept. */
			q->refuse = 413;
			ct_buf_fini(&q->body);
			return MHD_YES;
		}
		/*
		 * The declared length (within max_body) in one allocation, not a dozen doublings;
		 * at most 1 MiB before the bytes are there (a client declaring much and sending
		 * little must not reserve much).
		 */
		if (!q->body.cap && q->declared != UINT64_MAX)
			ct_buf_reserve(&q->body,
				       q->declared < (1u << 20) ? (size_t)q->declared : (1u << 20));
		ct_buf_append(&q->body, upload_data, n);
		if (q->body.oom) {
			q->refuse = 503;
			ct_buf_fini(&q->body);
		}
		return MHD_YES;
	}
	if (q->refuse == 413) {
		atomic_fetch_add(&r->too_large, 1);
		return send_error(r, c, q, 413, 1,
				  "body is over the %zu-byte limit (send smaller batches)",
				  r->o.max_body);
	}
	if (q->refuse == 503) {
		atomic_fetch_add(&r->busy, 1);
		return send_error(r, c, q, 503, 1, "out of memory buffering the body");
	}
	if (r->o.admit && r->o.admit(r->o.admit_arg, q->body.len) == CT_EFULL) {
		atomic_fetch_add(&r->busy, 1);
		atomic_fetch_add(&r->busy_undecoded, 1);
		return send_error(r, c, q, 503, 0, "span buffer full: retry after 1 s");
	}
	return finish(r, c, q);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct ct_receiver *r = cls;
	struct req *q = *con_cls;
	const char *why = NULL;

	(void)c;
	if (!q)
		return;
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK:
		break;
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
		why = "connection idle past the timeout";
		break;
	case MHD_REQUEST_TERMINATED_READ_ERROR:
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
		why = "client closed the connection mid-request";
		break;
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
		why = "receiver shutting down";
		break;
	default:
		why = "connection error";
		break;
	}
	if (why && !q->answered) {
		char expect[32] = "unknown length";

		atomic_fetch_add(&r->aborted, 1);
		if (q->declared != UINT64_MAX)
			snprintf(expect, sizeof(expect), "%llu", (unsigned long long)q->declared);
		logf_(r,
		      "%s POST %s: request abandoned: %s after %zu of %s body bytes; nothing "
		      "from it was kept",
		      q->peer, q->path, why, q->body.len, expect);
	}
	ct_buf_fini(&q->body);
	free(q);
	*con_cls = NULL;
}

static struct MHD_Daemon *listen_on(struct ct_receiver *r, const char *bind, int port, int *bound,
				    char *err, size_t errlen)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	const union MHD_DaemonInfo *di;
	struct MHD_Daemon *d;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;

	if (inet_pton(AF_INET, bind, &sin.sin_addr) != 1) {
		snprintf(err, errlen, "receiver: %s is not an IPv4 address (use e.g. 127.0.0.1)",
			 bind);
		return NULL;
	}
	/*
	 * The connection memory pool holds headers and the read buffer; libmicrohttpd clears it
	 * for every request, so its size is a cost per request (256 KiB was ~10% of the receiver
	 * thread's instructions). At 64 KiB a 33 KB request takes two reads instead of one: CPU
	 * time of the receiver serving 100-span requests was the same or lower than at 128 KiB and
	 * ~5% lower than at 256 KiB.
	 */
	d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, r, MHD_OPTION_SOCK_ADDR,
			     (struct sockaddr *)&sin, MHD_OPTION_NOTIFY_COMPLETED, on_completed, r,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)r->o.idle_timeout_s,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)r->o.threads,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024, MHD_OPTION_END);
	if (!d) {
		snprintf(err, errlen,
			 "receiver: cannot listen on %s:%d (port in use or not permitted: choose "
			 "another port, or stop what holds it)",
			 bind, port);
		return NULL;
	}
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	*bound = di ? di->port : port;
	return d;
}

int ct_receiver_start(struct ct_receiver **out, const struct ct_receiver_opts *o, char *err,
		      size_t errlen)
{
	struct ct_receiver *r = calloc(1, sizeof(*r));
	const char *bind;

	if (!r)
		return -ENOMEM;
	r->o = *o;
	bind = o->bind ? o->bind : "127.0.0.1";
	if (!r->o.max_body)
		r->o.max_body = (size_t)4 << 20;
	if (!r->o.max_decoded)
		r->o.max_decoded = r->o.max_body * 4;
	if (!r->o.body_timeout_ms)
		r->o.body_timeout_ms = 10000;
	if (!r->o.idle_timeout_s)
		r->o.idle_timeout_s = 15;
	if (r->o.threads <= 1)
		r->o.threads = 0; /* MHD: no pool, its one internal thread */
	r->otlp_port = r->zipkin_port = -1;
	if (o->otlp_port >= 0) {
		r->otlp = listen_on(r, bind, o->otlp_port, &r->otlp_port, err, errlen);
		if (!r->otlp) {
			free(r);
			return -EADDRINUSE;
		}
	}
	if (o->zipkin_port >= 0) {
		r->zipkin = listen_on(r, bind, o->zipkin_port, &r->zipkin_port, err, errlen);
		if (!r->zipkin) {
			if (r->otlp)
				MHD_stop_daemon(r->otlp);
			free(r);
			return -EADDRINUSE;
		}
	}
	*out = r;
	return 0;
}

int ct_receiver_otlp_port(const struct ct_receiver *r)
{
	return r->otlp_port;
}

int ct_receiver_zipkin_port(const struct ct_receiver *r)
{
	return r->zipkin_port;
}

void ct_receiver_stats(const struct ct_receiver *r, struct ct_receiver_stats *st)
{
	st->requests = atomic_load(&r->requests);
	st->spans = atomic_load(&r->spans);
	st->rejected_spans = atomic_load(&r->rejected_spans);
	st->bytes = atomic_load(&r->bytes);
	st->malformed = atomic_load(&r->malformed);
	st->too_large = atomic_load(&r->too_large);
	st->bad_type = atomic_load(&r->bad_type);
	st->too_slow = atomic_load(&r->too_slow);
	st->not_found = atomic_load(&r->not_found);
	st->busy = atomic_load(&r->busy);
	st->busy_undecoded = atomic_load(&r->busy_undecoded);
	st->aborted = atomic_load(&r->aborted);
}

void ct_receiver_stop(struct ct_receiver *r)
{
	if (!r)
		return;
	if (r->otlp)
		MHD_stop_daemon(r->otlp);
	if (r->zipkin)
		MHD_stop_daemon(r->zipkin);
	free(r);
}
