// SPDX-License-Identifier: MIT
/*
 * The server of bench/e2e: a small multi-threaded HTTP/1.1 server on loopback (one epoll loop
 * per worker thread, keep-alive) that does what a request handler of a real service does on
 * a small scale: one SERVER span per request with child spans for parsing, a lookup under a
 * lock shared by the workers, a read from a data file, and rendering the answer. Traced with
 * libcrosstrace when CROSSTRACE_OUTPUT says where to (E2E_TRACE=0: the tracer is not even
 * started, the baseline). Not a test: bench/e2e.sh drives it with wrk.
 *
 *   e2e_server [-t THREADS] [-f FILE_MB] PORT_FILE
 * PORT_FILE receives "<port> <pid>" once the server listens (written atomically). SIGINT or
 * SIGTERM stop it; it then prints its request count and the tracer's counters on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crosstrace/crosstrace.h"

#define MAX_THREADS 64
#define CONN_BUF 4096
#define BLOCK 4096
#define TABLE 1024

struct conn {
	int fd;
	size_t len;
	char buf[CONN_BUF];
};

static int listen_fd, stop_fd, data_fd;
static uint64_t data_blocks;
static atomic_ullong requests;

/* The shared table behind the lock: hit counters per item, and a running checksum. */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t table[TABLE];
static uint64_t table_sum;

static void on_signal(int sig)
{
	uint64_t one = 1;

	(void)sig;
	if (write(stop_fd, &one, sizeof(one)) < 0) {
		/* Nothing to do in a handler: the workers' next poll sees the eventfd anyway. */
	}
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* Finds the W3C traceparent header, when the client sent one. */
static int parent_of(const char *req, size_t len, struct ct_span_context *parent)
{
	static const char name[] = "\r\ntraceparent:";
	const char *end = req + len;

	for (const char *p = req; p + sizeof(name) < end; p++) {
		if (strncasecmp(p, name, sizeof(name) - 1))
			continue;
		p += sizeof(name) - 1;
		while (p < end && *p == ' ')
			p++;
		return ct_traceparent_parse(p, 55, parent) == 0;
	}
	return 0;
}

/* "GET /item/123 HTTP/1.1": the item number, or -1 for a bad request line. */
static long parse_item(const char *req, size_t len)
{
	if (len < 14 || memcmp(req, "GET /item/", 10))
		return -1;
	return strtol(req + 10, NULL, 10);
}

/* Handles one complete request in c->buf[0..hlen). Returns 0, or -1 to close. */
static int handle(struct conn *c, size_t hlen, uint64_t worker_seq)
{
	struct ct_span req, child;
	struct ct_span_context parent;
	int has_parent = parent_of(c->buf, hlen, &parent);
	char block[BLOCK], out[1024], body[768];
	uint64_t sum = 0, hits;
	long item;
	int n, blen, status = 200;
	ssize_t got;

	ct_span_start(&req, "GET /item",
		      &(struct ct_span_opts){.kind = CT_SPAN_KIND_SERVER,
					     .parent = has_parent ? &parent : NULL,
					     .root = !has_parent});
	ct_scope_enter(&req);
	ct_span_set_str(&req, "http.request.method", "GET");

	ct_span_start(&child, "parse", NULL);
	ct_scope_enter(&child);
	item = parse_item(c->buf, hlen);
	ct_scope_exit();
	ct_span_end(&child);

	if (item < 0) {
		status = 400;
		blen = snprintf(body, sizeof(body), "bad request\n");
	} else {
		ct_span_start(&child, "cache.lookup", NULL);
		ct_scope_enter(&child);
		pthread_mutex_lock(&table_lock);
		hits = ++table[(uint64_t)item % TABLE];
		table_sum = mix(table_sum ^ (uint64_t)item);
		pthread_mutex_unlock(&table_lock);
		ct_scope_exit();
		ct_span_end(&child);

		ct_span_start(&child, "store.read", NULL);
		ct_scope_enter(&child);
		got = pread(data_fd, block, sizeof(block),
			    (off_t)(mix((uint64_t)item ^ worker_seq) % data_blocks) * BLOCK);
		ct_scope_exit();
		ct_span_end(&child);
		if (got != (ssize_t)sizeof(block)) {
			status = 500;
			ct_span_set_status(&req, CT_STATUS_ERROR, "short read of the data file");
		}

		ct_span_start(&child, "render", NULL);
		ct_scope_enter(&child);
		for (size_t i = 0; got > 0 && i < (size_t)got; i += 8) {
			uint64_t w;

			memcpy(&w, block + i, 8);
			sum = mix(sum ^ w);
		}
		blen = snprintf(body, sizeof(body),
				"item %ld\nhits %llu\nchecksum %016llx\n"
				"lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
				"eiusmod tempor incididunt ut labore et dolore magna aliqua\n",
				item, (unsigned long long)hits, (unsigned long long)sum);
		ct_scope_exit();
		ct_span_end(&child);
	}
	n = snprintf(out, sizeof(out),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
		     status, status == 200 ? "OK" : "Error", blen, body);
	ct_span_set_int(&req, "http.response.status_code", status);
	got = write(c->fd, out, (size_t)n);
	ct_scope_exit();
	ct_span_end(&req);
	atomic_fetch_add_explicit(&requests, 1, memory_order_relaxed);
	return got == n ? 0 : -1;
}

/* Reads what arrived on c and answers every complete request. Returns -1 to close. */
static int serve(struct conn *c, uint64_t *seq)
{
	for (;;) {
		ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		char *end;

		if (n == 0)
			return -1;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		c->len += (size_t)n;
		c->buf[c->len] = 0;
		while ((end = strstr(c->buf, "\r\n\r\n"))) {
			size_t hlen = (size_t)(end - c->buf) + 4;

			if (handle(c, hlen, ++*seq))
				return -1;
			memmove(c->buf, c->buf + hlen, c->len - hlen + 1);
			c->len -= hlen;
		}
		if (c->len == sizeof(c->buf) - 1)
			return -1; /* a header larger than the buffer: not our client */
	}
}

static void *worker(void *arg)
{
	struct epoll_event evs[64], ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
	int ep = epoll_create1(EPOLL_CLOEXEC);
	uint64_t seq = (uint64_t)(uintptr_t)arg << 40;

	ev.data.ptr = &listen_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
	ev.events = EPOLLIN;
	ev.data.ptr = &stop_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &stop_fd) {
				close(ep);
				return NULL;
			}
			if (evs[i].data.ptr == &listen_fd) {
				int fd = accept4(listen_fd, NULL, NULL,
						 SOCK_NONBLOCK | SOCK_CLOEXEC);
				struct conn *c;
				int one = 1;

				if (fd < 0)
					continue;
				c = calloc(1, sizeof(*c));
				if (!c) {
					close(fd);
					continue;
				}
				c->fd = fd;
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				continue;
			}
			if (serve(evs[i].data.ptr, &seq)) {
				struct conn *c = evs[i].data.ptr;

				close(c->fd); /* also leaves the epoll set */
				free(c);
			}
		}
	}
}

/* A data file of mb MiB in $TMPDIR (unlinked at once: the fd keeps it). */
static int make_data(unsigned mb)
{
	const char *dir = getenv("TMPDIR");
	char path[512], block[BLOCK];
	uint64_t x = 42;
	int fd;

	snprintf(path, sizeof(path), "%s/e2e-data-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	data_blocks = (uint64_t)mb * (1 << 20) / BLOCK;
	for (uint64_t b = 0; b < data_blocks; b++) {
		for (size_t i = 0; i < sizeof(block); i += 8) {
			x = mix(x + 1);
			memcpy(block + i, &x, 8);
		}
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block)) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t salen = sizeof(sa);
	pthread_t th[MAX_THREADS];
	unsigned threads = 2, mb = 16;
	const char *trace = getenv("E2E_TRACE"), *port_file;
	char tmp[600];
	struct ct_stats st;
	FILE *f;
	int c, one = 1, traced = !(trace && !strcmp(trace, "0"));

	while ((c = getopt(argc, argv, "t:f:")) != -1) {
		if (c == 't')
			threads = (unsigned)atoi(optarg);
		else if (c == 'f')
			mb = (unsigned)atoi(optarg);
		else
			return 2;
	}
	if (optind != argc - 1 || !threads || threads > MAX_THREADS || !mb) {
		fprintf(stderr, "usage: e2e_server [-t THREADS] [-f FILE_MB] PORT_FILE\n");
		return 2;
	}
	port_file = argv[optind];
	if (traced && ct_init(NULL)) {
		fprintf(stderr, "e2e_server: cannot start the tracer (check CROSSTRACE_OUTPUT)\n");
		return 1;
	}
	data_fd = make_data(mb);
	stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (data_fd < 0 || stop_fd < 0 || listen_fd < 0 ||
	    bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(listen_fd, 1024) ||
	    getsockname(listen_fd, (struct sockaddr *)&sa, &salen)) {
		perror("e2e_server: setup");
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	for (unsigned i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d %d\n", ntohs(sa.sin_port), (int)getpid()) < 0 || fclose(f) ||
	    rename(tmp, port_file)) {
		perror("e2e_server: port file");
		return 1;
	}
	for (unsigned i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	/* After the final flush, so that what it could not deliver is counted too. */
	if (traced && ct_shutdown())
		fprintf(stderr, "e2e_server: the tracer's final flush failed\n");
	ct_stats_get(&st);
	fprintf(stderr,
		"e2e_server: %llu requests; tracer: %llu records, %llu dropped, %llu lost after "
		"the ring, %llu spans sampled, %llu not\n",
		(unsigned long long)atomic_load(&requests), (unsigned long long)st.records,
		(unsigned long long)st.dropped, (unsigned long long)st.sink_dropped,
		(unsigned long long)st.spans_started, (unsigned long long)st.spans_unsampled);
	return 0;
}
