// SPDX-License-Identifier: MIT
/*
 * What every shop service shares: a pool of worker threads accepting connections on one
 * listening socket, a server span per request (parent taken from the traceparent header),
 * client spans around downstream calls, internal spans, calibrated CPU work, and the
 * ground-truth file tests compare crosstrace's findings with.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "shop.h"

struct worker {
	const struct shop_service *s;
	unsigned index;
};

/* ct_context_extract's carrier: the one header the shop reads. */
static const char *get_header(void *carrier, const char *key, size_t *len)
{
	const struct shop_http_msg *m = carrier;

	if (strcmp(key, "traceparent") || !m->traceparent[0])
		return NULL;
	*len = strlen(m->traceparent);
	return m->traceparent;
}

static void serve_one(const struct shop_service *s, int c)
{
	struct shop_http_msg req;
	struct ct_span_context parent;
	const struct shop_route *r = NULL;
	char body[SHOP_MAX_BODY];
	struct ct_span span;
	int status, remote;

	if (shop_http_read_request(c, &req))
		return;
	for (unsigned i = 0; i < s->n_routes && !r; i++)
		if (!strcmp(req.method, s->routes[i].method) &&
		    !strncmp(req.path, s->routes[i].prefix, strlen(s->routes[i].prefix)))
			r = &s->routes[i];
	if (!r) {
		shop_http_write_response(c, 404, "no such route\n");
		return;
	}
	remote = ct_context_extract(get_header, &req, &parent, NULL) == 0;
	{
		struct ct_attr attrs[] = {CT_ATTR_STR("http.request.method", req.method),
					  CT_ATTR_STR("url.path", req.path),
					  CT_ATTR_STR("http.route", r->prefix)};
		struct ct_span_opts o = {.kind = CT_SPAN_KIND_SERVER,
					 .parent = remote ? &parent : NULL,
					 .root = !remote,
					 .attrs = attrs,
					 .n_attrs = 3};

		ct_span_start(&span, r->span_name, &o);
	}
	ct_scope_enter(&span);
	body[0] = 0;
	status = r->fn(&req, body, sizeof(body));
	ct_span_set_int(&span, "http.response.status_code", status);
	if (status >= 500)
		ct_span_set_status(&span, CT_STATUS_ERROR, body);
	/* The response is part of the request's time: the caller waits for it. */
	shop_http_write_response(c, status, body);
	ct_scope_exit();
	ct_span_end(&span);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char name[16];

	snprintf(name, sizeof(name), "%.8s-w%u", w->s->name, w->index);
	prctl(PR_SET_NAME, name);
	for (;;) {
		int c = accept4(w->s->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* Out of fds or memory: back off rather than spin. */
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
			    errno == ENOBUFS) {
				shop_sleep_us(10000);
				continue;
			}
			fprintf(stderr, "%s: accept: %s\n", w->s->name, strerror(errno));
			return NULL;
		}
		serve_one(w->s, c);
		close(c);
	}
}

void shop_serve(const struct shop_service *s)
{
	struct worker *w = calloc(s->workers, sizeof(*w));
	struct ct_config cfg;
	sigset_t set;
	int err, sig;

	prctl(PR_SET_NAME, s->name);
	/* Only the main thread takes the stop signals (sigwait), workers never see them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	ct_config_from_env(&cfg);
	cfg.service_name = s->name;
	err = ct_init(&cfg);
	if (err)
		fprintf(stderr, "%s: spans are not recorded: %s\n", s->name, ct_strerror(err));
	if (s->start)
		s->start();
	for (unsigned i = 0; w && i < s->workers; i++) {
		pthread_t th;

		w[i].s = s;
		w[i].index = i;
		if (pthread_create(&th, NULL, worker_main, &w[i])) {
			fprintf(stderr, "%s: cannot start worker thread %u\n", s->name, i);
			_exit(1);
		}
	}
	if (!w) {
		fprintf(stderr, "%s: out of memory\n", s->name);
		_exit(1);
	}
	if (shop.ready_fd >= 0 && write(shop.ready_fd, "r", 1) != 1)
		fprintf(stderr, "%s: cannot tell the launcher it is ready\n", s->name);
	while (sigwait(&set, &sig))
		;
	if (s->stop)
		s->stop();
	ct_shutdown();
	_exit(0);
}

int shop_call(const char *name, const struct ct_span_context *parent, uint16_t port,
	      const char *method, const char *path, const char *body, struct shop_http_msg *resp)
{
	struct ct_attr attrs[] = {
		CT_ATTR_STR("http.request.method", method), CT_ATTR_STR("url.path", path),
		CT_ATTR_STR("server.address", "127.0.0.1"), CT_ATTR_I64("server.port", port)};
	struct ct_span_opts o = {
		.kind = CT_SPAN_KIND_CLIENT, .parent = parent, .attrs = attrs, .n_attrs = 4};
	struct ct_span s;
	int err, status;

	ct_span_start(&s, name, &o);
	ct_scope_enter(&s);
	err = shop_http_exchange(port, method, path, body, ct_span_context_of(&s), resp);
	status = err ? 502 : resp->status;
	if (err) {
		snprintf(resp->body, sizeof(resp->body), "%s: %s", path, strerror(-err));
		ct_span_set_status(&s, CT_STATUS_ERROR, resp->body);
	}
	ct_span_set_int(&s, "http.response.status_code", status);
	ct_scope_exit();
	ct_span_end(&s);
	return status;
}

void shop_span_begin(struct ct_span *s, const char *name)
{
	struct ct_span_opts o = {.kind = CT_SPAN_KIND_INTERNAL};

	ct_span_start(s, name, &o);
	ct_scope_enter(s);
}

void shop_span_end(struct ct_span *s)
{
	ct_scope_exit();
	ct_span_end(s);
}

/* The result is stored so that the loop is not optimised away. */
static volatile uint64_t work_sink;

static uint64_t spin(uint64_t iters)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (uint64_t i = 0; i < iters; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	return x;
}

void shop_work_calibrate(void)
{
	double best = 0;

	/* The fastest of a few runs: a loaded machine slows some of them down. */
	for (int run = 0; run < 5; run++) {
		uint64_t n = 1u << 16, t0, t1;

		for (;;) {
			t0 = ct_now_ns();
			work_sink = spin(n);
			t1 = ct_now_ns();
			if (t1 - t0 >= 5000000)
				break;
			n *= 2;
		}
		if ((double)n * 1000.0 / (double)(t1 - t0) > best)
			best = (double)n * 1000.0 / (double)(t1 - t0);
	}
	shop.work_per_us = best;
}

void shop_work(unsigned us)
{
	work_sink = spin((uint64_t)(shop.work_per_us * us));
}

void shop_sleep_us(unsigned us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void shop_truth(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int fd, n;

	if (!shop.truth[0])
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* O_APPEND: every process adds whole lines to the same file. */
	fd = open(shop.truth, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) != n)
		fprintf(stderr, "shop: cannot write %s\n", shop.truth);
	close(fd);
}
