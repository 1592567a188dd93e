// SPDX-License-Identifier: MIT
/*
 * The exporter's queue and sender thread. Submitters encode and append fragments (each a
 * valid ExportTraceServiceRequest; concatenated fragments are one request) under a mutex that
 * the sender never holds across I/O. The sender takes up to a batch of fragments, posts them
 * with libcurl, and retries with capped exponential back-off and jitter, or as Retry-After says.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>
#include <zlib.h>

#include "crosstrace/crosstrace.h"
#include "otlp_exporter.h"
#include "otlp_proto.h"
#include "util/buf.h"
#include "util/clock.h"

struct frag {
	struct frag *next;
	uint64_t queued_ns;
	uint32_t spans;
	size_t len;
	uint8_t data[];
};

struct ct_otlp_exporter {
	struct ct_otlp_exporter_opts o;
	char *endpoint;
	pthread_t thread;
	CURL *curl;

	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t wake; /* sender: work, flush request or stop */
	pthread_cond_t idle; /* flushers: queue empty and nothing in flight */
	struct frag *head, **tail;
	uint64_t q_spans, q_bytes, inflight_spans, inflight_bytes;
	int flushing, stop;
	struct ct_otlp_exporter_stats st;
};

static void logf_(struct ct_otlp_exporter *ex, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logf_(struct ct_otlp_exporter *ex, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (ex->o.log)
		ex->o.log(ex->o.log_arg, line);
	else
		fprintf(stderr, "crosstrace exporter: %s\n", line);
}

int ct_otlp_exporter_submit(struct ct_otlp_exporter *ex, const struct ct_nbatch *b,
			    const uint32_t *idx, uint32_t n)
{
	struct ct_buf enc;
	struct frag *f;
	int err;

	if (!idx)
		n = b->n_spans;
	if (!n)
		return 0;
	ct_buf_init(&enc);
	err = ct_otlp_proto_encode(b, idx, n, &enc);
	if (err) {
		ct_buf_fini(&enc);
		pthread_mutex_lock(&ex->mu);
		ex->st.submitted += n;
		ex->st.dropped_failed += n;
		pthread_mutex_unlock(&ex->mu);
		return err;
	}
	f = malloc(sizeof(*f) + enc.len);
	if (f) {
		f->next = NULL;
		f->spans = n;
		f->len = enc.len;
		f->queued_ns = ct_mono_ns();
		memcpy(f->data, enc.data, enc.len);
	}
	ct_buf_fini(&enc);
	pthread_mutex_lock(&ex->mu);
	ex->st.submitted += n;
	if (!f || ex->q_spans + n > ex->o.max_queue_spans ||
	    ex->q_bytes + f->len > ex->o.max_queue_bytes) {
		ex->st.dropped_queue_full += n;
		pthread_mutex_unlock(&ex->mu);
		free(f);
		return CT_EFULL;
	}
	*ex->tail = f;
	ex->tail = &f->next;
	ex->q_spans += n;
	ex->q_bytes += f->len;
	if (ex->q_bytes + ex->inflight_bytes > ex->st.max_queued_bytes)
		ex->st.max_queued_bytes = ex->q_bytes + ex->inflight_bytes;
	pthread_cond_signal(&ex->wake);
	pthread_mutex_unlock(&ex->mu);
	return 0;
}

/* ---- sender ---- */

struct answer {
	long retry_after_s; /* -1 none */
	struct ct_buf body;
};

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;
	static const char name[] = "retry-after:";

	if (len > sizeof(name) && !strncasecmp(p, name, sizeof(name) - 1)) {
		char v[128];
		size_t vl = len - (sizeof(name) - 1);
		char *end;
		long s;

		if (vl >= sizeof(v))
			vl = sizeof(v) - 1;
		memcpy(v, p + sizeof(name) - 1, vl);
		v[vl] = 0;
		s = strtol(v, &end, 10);
		if (end != v && s >= 0) {
			a->retry_after_s = s;
		} else {
			/* An HTTP date. */
			time_t t = curl_getdate(v, NULL);

			if (t > 0)
				a->retry_after_s = t > time(NULL) ? (long)(t - time(NULL)) : 0;
		}
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;

	if (a->body.len < 65536)
		ct_buf_append(&a->body, p, size * n);
	return size * n;
}

static int gzip_body(const struct ct_buf *in, struct ct_buf *out)
{
	z_stream z;
	int zr;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	if (ct_buf_reserve(out, deflateBound(&z, in->len) + 1)) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)in->data;
	z.avail_in = (uInt)in->len;
	z.next_out = (Bytef *)out->data;
	z.avail_out = (uInt)(out->cap - 1);
	zr = deflate(&z, Z_FINISH);
	out->len = z.total_out;
	deflateEnd(&z);
	return zr == Z_STREAM_END ? 0 : -EIO;
}

/* One POST. Returns the HTTP status, or -1 when no answer came (the reason in err). */
static int post(struct ct_otlp_exporter *ex, const struct ct_buf *body, struct answer *a, char *err,
		size_t errlen)
{
	struct curl_slist *h = NULL;
	long status = 0;
	CURLcode cr;

	a->retry_after_s = -1;
	ct_buf_reset(&a->body);
	h = curl_slist_append(h, "Content-Type: application/x-protobuf");
	if (ex->o.gzip)
		h = curl_slist_append(h, "Content-Encoding: gzip");
	h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
	curl_easy_setopt(ex->curl, CURLOPT_URL, ex->endpoint);
	curl_easy_setopt(ex->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(ex->curl, CURLOPT_POSTFIELDS, body->data);
	curl_easy_setopt(ex->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	curl_easy_setopt(ex->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(ex->curl, CURLOPT_TIMEOUT_MS, (long)ex->o.timeout_ms);
	curl_easy_setopt(ex->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)ex->o.timeout_ms);
	curl_easy_setopt(ex->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(ex->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(ex->curl, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(ex->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(ex->curl, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(ex->curl, CURLOPT_USERAGENT, "crosstrace/" CT_VERSION_STRING);
	cr = curl_easy_perform(ex->curl);
	curl_slist_free_all(h);
	if (cr != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(cr));
		return -1;
	}
	curl_easy_getinfo(ex->curl, CURLINFO_RESPONSE_CODE, &status);
	return (int)status;
}

static int retryable(int status)
{
	return status == -1 || status == 429 || status == 502 || status == 503 || status == 504;
}

/* Sleeps ms unless stopped. Called with mu held. Returns 1 when stopped. */
static int nap(struct ct_otlp_exporter *ex, uint64_t ms)
{
	struct timespec ts;
	uint64_t until;

	clock_gettime(CLOCK_REALTIME, &ts);
	until = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + ms * 1000000u;
	ts.tv_sec = (time_t)(until / 1000000000u);
	ts.tv_nsec = (long)(until % 1000000000u);
	while (!ex->stop) {
		if (pthread_cond_timedwait(&ex->wake, &ex->mu, &ts) == ETIMEDOUT)
			break;
	}
	return ex->stop;
}

/* Sends one batch until it is accepted, refused, or given up. Called with mu held (released
 * during I/O). */
static void send_batch(struct ct_otlp_exporter *ex, const struct ct_buf *req, uint32_t spans)
{
	uint64_t started = ct_mono_ns(), backoff = ex->o.initial_backoff_ms;
	struct answer a = {.retry_after_s = -1};
	struct ct_buf gz;
	const struct ct_buf *body = req;
	char err[256] = "";
	unsigned seed = (unsigned)started;
	int status;

	ct_buf_init(&a.body);
	ct_buf_init(&gz);
	if (ex->o.gzip && gzip_body(req, &gz) == 0)
		body = &gz;
	else if (ex->o.gzip)
		ex->o.gzip = 0; /* could not compress: send plain from now on */
	for (;;) {
		uint64_t wait_ms, elapsed_ms;

		ex->st.requests++;
		pthread_mutex_unlock(&ex->mu);
		status = post(ex, body, &a, err, sizeof(err));
		pthread_mutex_lock(&ex->mu);
		ex->st.last_status = status;
		if (status >= 200 && status < 300) {
			int64_t rejected = 0;
			char msg[160];

			if (a.body.len &&
			    ct_otlp_proto_parse_response((const uint8_t *)a.body.data, a.body.len,
							 &rejected, msg, sizeof(msg)) == 0 &&
			    rejected > 0) {
				if ((uint64_t)rejected > spans)
					rejected = spans;
				ex->st.rejected += (uint64_t)rejected;
				logf_(ex,
				      "%s accepted a batch partially: %lld of %u spans rejected: "
				      "%s",
				      ex->endpoint, (long long)rejected, spans, msg);
			}
			ex->st.exported += spans - (uint64_t)rejected;
			break;
		}
		if (!retryable(status)) {
			ex->st.dropped_failed += spans;
			logf_(ex, "%s answered HTTP %d: %u spans dropped (not retryable)",
			      ex->endpoint, status, spans);
			break;
		}
		elapsed_ms = (ct_mono_ns() - started) / 1000000;
		if (a.retry_after_s >= 0) {
			wait_ms = (uint64_t)a.retry_after_s * 1000;
		} else {
			/* Full back-off with jitter in [b/2, b]: retries of many agents spread out. */
			wait_ms = backoff / 2 +
				  (backoff > 1 ? (uint64_t)rand_r(&seed) % (backoff / 2 + 1) : 0);
			backoff = backoff * 2 > ex->o.max_backoff_ms ? ex->o.max_backoff_ms
								     : backoff * 2;
		}
		if (elapsed_ms + wait_ms > ex->o.max_elapsed_ms) {
			ex->st.dropped_failed += spans;
			if (status < 0)
				logf_(ex, "%s unreachable (%s) for %llu ms: %u spans dropped",
				      ex->endpoint, err, (unsigned long long)elapsed_ms, spans);
			else
				logf_(ex,
				      "%s still answering HTTP %d after %llu ms: %u spans dropped",
				      ex->endpoint, status, (unsigned long long)elapsed_ms, spans);
			break;
		}
		ex->st.retries++;
		if (nap(ex, wait_ms)) {
			ex->st.dropped_shutdown += spans;
			logf_(ex, "stopping: %u spans being retried were dropped", spans);
			break;
		}
	}
	ct_buf_fini(&a.body);
	ct_buf_fini(&gz);
}

static void *sender(void *arg)
{
	struct ct_otlp_exporter *ex = arg;
	struct ct_buf req;

	ct_buf_init(&req);
	pthread_mutex_lock(&ex->mu);
	while (!ex->stop) {
		uint64_t now = ct_mono_ns(), due;
		uint32_t spans = 0;

		if (!ex->head) {
			pthread_cond_broadcast(&ex->idle);
			pthread_cond_wait(&ex->wake, &ex->mu);
			continue;
		}
		due = ex->head->queued_ns + (uint64_t)ex->o.batch_delay_ms * 1000000;
		if (ex->q_spans < ex->o.max_batch_spans && now < due && !ex->flushing) {
			nap(ex, (due - now) / 1000000 + 1);
			continue;
		}
		/* Take whole fragments up to the batch size (at least one). */
		ct_buf_reset(&req);
		while (ex->head && (!spans || spans + ex->head->spans <= ex->o.max_batch_spans)) {
			struct frag *f = ex->head;

			ex->head = f->next;
			if (!ex->head)
				ex->tail = &ex->head;
			ct_buf_append(&req, f->data, f->len);
			spans += f->spans;
			ex->q_spans -= f->spans;
			ex->q_bytes -= f->len;
			free(f);
		}
		if (req.oom) {
			ex->st.dropped_failed += spans;
			logf_(ex, "out of memory building a request: %u spans dropped", spans);
			ct_buf_fini(&req);
			ct_buf_init(&req);
			continue;
		}
		ex->inflight_spans = spans;
		ex->inflight_bytes = req.len;
		send_batch(ex, &req, spans);
		ex->inflight_spans = ex->inflight_bytes = 0;
	}
	pthread_cond_broadcast(&ex->idle);
	pthread_mutex_unlock(&ex->mu);
	ct_buf_fini(&req);
	return NULL;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int ct_otlp_exporter_new(struct ct_otlp_exporter **out, const struct ct_otlp_exporter_opts *o,
			 char *err, size_t errlen)
{
	struct ct_otlp_exporter *ex;
	pthread_condattr_t ca;
	int e;

	if (!o->endpoint || strncmp(o->endpoint, "http", 4)) {
		snprintf(err, errlen,
			 "exporter: endpoint \"%s\" is not an http:// or https:// URL (e.g. "
			 "http://127.0.0.1:4318/v1/traces)",
			 o->endpoint ? o->endpoint : "");
		return -EINVAL;
	}
	pthread_once(&curl_once, curl_init_once);
	ex = calloc(1, sizeof(*ex));
	if (!ex || !(ex->endpoint = strdup(o->endpoint)) || !(ex->curl = curl_easy_init())) {
		if (ex)
			free(ex->endpoint);
		free(ex);
		snprintf(err, errlen, "exporter: out of memory");
		return -ENOMEM;
	}
	ex->o = *o;
	ex->o.endpoint = ex->endpoint;
	if (!ex->o.max_queue_spans)
		ex->o.max_queue_spans = 8192;
	if (!ex->o.max_queue_bytes)
		ex->o.max_queue_bytes = (size_t)16 << 20;
	if (!ex->o.max_batch_spans)
		ex->o.max_batch_spans = 512;
	if (!ex->o.batch_delay_ms)
		ex->o.batch_delay_ms = 200;
	if (!ex->o.timeout_ms)
		ex->o.timeout_ms = 10000;
	if (!ex->o.initial_backoff_ms)
		ex->o.initial_backoff_ms = 100;
	if (!ex->o.max_backoff_ms)
		ex->o.max_backoff_ms = 5000;
	if (!ex->o.max_elapsed_ms)
		ex->o.max_elapsed_ms = 30000;
	ex->tail = &ex->head;
	pthread_mutex_init(&ex->mu, NULL);
	pthread_cond_init(&ex->wake, NULL);
	pthread_condattr_init(&ca);
	pthread_cond_init(&ex->idle, &ca);
	pthread_condattr_destroy(&ca);
	e = pthread_create(&ex->thread, NULL, sender, ex);
	if (e) {
		curl_easy_cleanup(ex->curl);
		free(ex->endpoint);
		free(ex);
		snprintf(err, errlen, "exporter: cannot start its thread: %s", strerror(e));
		return -e;
	}
	*out = ex;
	return 0;
}

int ct_otlp_exporter_flush(struct ct_otlp_exporter *ex, unsigned timeout_ms)
{
	struct timespec ts;
	uint64_t until;
	int err = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	until = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec +
		(uint64_t)timeout_ms * 1000000u;
	ts.tv_sec = (time_t)(until / 1000000000u);
	ts.tv_nsec = (long)(until % 1000000000u);
	pthread_mutex_lock(&ex->mu);
	ex->flushing++;
	pthread_cond_signal(&ex->wake);
	while ((ex->head || ex->inflight_spans) && !ex->stop) {
		if (pthread_cond_timedwait(&ex->idle, &ex->mu, &ts) == ETIMEDOUT) {
			err = -ETIMEDOUT;
			break;
		}
	}
	ex->flushing--;
	pthread_mutex_unlock(&ex->mu);
	return err;
}

void ct_otlp_exporter_stats(struct ct_otlp_exporter *ex, struct ct_otlp_exporter_stats *st)
{
	pthread_mutex_lock(&ex->mu);
	*st = ex->st;
	st->queued_spans = ex->q_spans + ex->inflight_spans;
	st->queued_bytes = ex->q_bytes + ex->inflight_bytes;
	pthread_mutex_unlock(&ex->mu);
}

void ct_otlp_exporter_free(struct ct_otlp_exporter *ex)
{
	uint64_t left = 0;

	if (!ex)
		return;
	pthread_mutex_lock(&ex->mu);
	ex->stop = 1;
	pthread_cond_broadcast(&ex->wake);
	pthread_mutex_unlock(&ex->mu);
	pthread_join(ex->thread, NULL);
	while (ex->head) {
		struct frag *f = ex->head;

		ex->head = f->next;
		left += f->spans;
		free(f);
	}
	if (left) {
		ex->st.dropped_shutdown += left;
		logf_(ex, "stopping: %llu queued spans were not sent", (unsigned long long)left);
	}
	curl_easy_cleanup(ex->curl);
	pthread_cond_destroy(&ex->wake);
	pthread_cond_destroy(&ex->idle);
	pthread_mutex_destroy(&ex->mu);
	free(ex->endpoint);
	free(ex);
}
