// SPDX-License-Identifier: MIT
/* Client connections of `crosstrace record` (see clients.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "clients.h"
#include "crosstrace/crosstrace.h"
#include "format/wire.h"

struct conn {
	struct conn *next;
	int fd;
	struct ct_wire_conn *w;
	int tctx_told; /* on_tctx was called for this connection */
};

struct ct_clients {
	struct ct_tracedir *td;
	int ep, lfd;
	char dir[256];
	char path[300];
	char env[340];
	struct conn *conns;
	struct ct_clients_stats st;
	uint64_t done_bytes, done_records, done_lost; /* of connections already closed */
	void (*on_tctx)(void *arg, int32_t pid, const struct ct_wire_thread_ctx *tc);
	void *on_tctx_arg;
	uint8_t buf[64 << 10];
};

int ct_clients_new(struct ct_clients **out, struct ct_tracedir *td, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *tmp = getenv("TMPDIR");
	struct ct_clients *c = calloc(1, sizeof(*c));
	struct epoll_event ev = {.events = EPOLLIN};
	int e;

	if (!c)
		return -ENOMEM;
	c->td = td;
	c->lfd = c->ep = -1;
	snprintf(c->dir, sizeof(c->dir), "%s/crosstrace-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(c->dir)) {
		e = -errno;
		snprintf(err, errlen, "cannot create a directory for the client socket (%s): %s",
			 c->dir, strerror(-e));
		free(c);
		return e;
	}
	snprintf(c->path, sizeof(c->path), "%s/client.sock", c->dir);
	if (strlen(c->path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen,
			 "client socket path %s is too long for a UNIX socket: set TMPDIR to a "
			 "shorter directory",
			 c->path);
		rmdir(c->dir);
		free(c);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->lfd < 0 || bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(c->lfd, 64)) {
		e = -errno;
		snprintf(err, errlen, "cannot listen on client socket %s: %s", c->path,
			 strerror(-e));
		ct_clients_free(c);
		return e;
	}
	/* Traced programs may run as another user (e.g. after su): let anyone connect. */
	chmod(c->dir, 0755);
	chmod(c->path, 0777);
	c->ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.ptr = NULL;
	if (c->ep < 0 || epoll_ctl(c->ep, EPOLL_CTL_ADD, c->lfd, &ev)) {
		e = -errno;
		snprintf(err, errlen, "cannot poll the client socket: %s", strerror(-e));
		ct_clients_free(c);
		return e;
	}
	snprintf(c->env, sizeof(c->env), "CROSSTRACE_OUTPUT=unix:%s", c->path);
	*out = c;
	return 0;
}

const char *ct_clients_env(const struct ct_clients *c)
{
	return c->env;
}

int ct_clients_fd(const struct ct_clients *c)
{
	return c->ep;
}

static void close_conn(struct ct_clients *c, struct conn *k, int eof)
{
	struct ct_wire_conn_stats ws;
	int e = eof ? ct_wire_conn_end(k->w) : 0;

	if (e && e != CT_ETRUNC) {
		c->st.failed++;
		fprintf(stderr, "crosstrace record: client connection (pid %d) ended: %s\n",
			(int)ct_wire_conn_pid(k->w), ct_wire_conn_error(k->w));
	} else if (e == CT_ETRUNC) {
		fprintf(stderr, "crosstrace record: client pid %d disconnected mid-frame: %s\n",
			(int)ct_wire_conn_pid(k->w), ct_wire_conn_error(k->w));
	}
	ct_wire_conn_stats(k->w, &ws);
	c->done_bytes += ws.bytes;
	c->done_records += ws.records;
	c->done_lost += ws.lost_records;
	epoll_ctl(c->ep, EPOLL_CTL_DEL, k->fd, NULL);
	close(k->fd);
	ct_wire_conn_free(k->w);
	for (struct conn **p = &c->conns; *p; p = &(*p)->next) {
		if (*p == k) {
			*p = k->next;
			break;
		}
	}
	free(k);
	c->st.open--;
}

void ct_clients_on_thread_ctx(struct ct_clients *c,
			      void (*fn)(void *arg, int32_t pid,
					 const struct ct_wire_thread_ctx *tc),
			      void *arg)
{
	c->on_tctx = fn;
	c->on_tctx_arg = arg;
}

static void tell_tctx(struct ct_clients *c, struct conn *k)
{
	struct ct_wire_thread_ctx tc;

	if (ct_wire_conn_thread_ctx(k->w, &tc) == 0) {
		k->tctx_told = 1;
		c->on_tctx(c->on_tctx_arg, ct_wire_conn_pid(k->w), &tc);
	}
}

/* Reads what is available on k. Returns 1 when the connection is gone. */
static int read_conn(struct ct_clients *c, struct conn *k)
{
	for (;;) {
		ssize_t n = read(k->fd, c->buf, sizeof(c->buf));

		if (n > 0) {
			if (ct_wire_conn_feed(k->w, c->buf, (size_t)n)) {
				close_conn(c, k, 1);
				return 1;
			}
			if (c->on_tctx && !k->tctx_told)
				tell_tctx(c, k);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		close_conn(c, k, 1);
		return 1;
	}
}

static void accept_all(struct ct_clients *c)
{
	for (;;) {
		int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
		struct conn *k;

		if (fd < 0)
			return;
		k = calloc(1, sizeof(*k));
		if (!k || ct_wire_conn_new(&k->w, c->td)) {
			fprintf(stderr,
				"crosstrace record: out of memory for a client connection\n");
			free(k);
			close(fd);
			c->st.failed++;
			continue;
		}
		k->fd = fd;
		ev.data.ptr = k;
		epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev);
		k->next = c->conns;
		c->conns = k;
		c->st.connections++;
		c->st.open++;
	}
}

void ct_clients_poll(struct ct_clients *c)
{
	struct epoll_event evs[32];
	int n;

	while ((n = epoll_wait(c->ep, evs, 32, 0)) > 0) {
		for (int i = 0; i < n; i++) {
			if (!evs[i].data.ptr)
				accept_all(c);
			else
				read_conn(c, evs[i].data.ptr);
		}
		if (n < 32)
			break;
	}
}

void ct_clients_tick(struct ct_clients *c, uint64_t now_ns)
{
	for (struct conn *k = c->conns; k; k = k->next)
		ct_wire_conn_tick(k->w, now_ns);
}

void ct_clients_finish(struct ct_clients *c)
{
	if (c->lfd >= 0) {
		accept_all(c);
		epoll_ctl(c->ep, EPOLL_CTL_DEL, c->lfd, NULL);
		close(c->lfd);
		c->lfd = -1;
		unlink(c->path);
	}
	/* Whatever the peers wrote before exiting is in the socket buffers: read it all. A peer
	 * still running keeps its connection; what it sends from now on is not recorded. */
	while (c->conns) {
		struct conn *k = c->conns;

		if (!read_conn(c, k))
			close_conn(c, k, 0);
	}
}

void ct_clients_stats(const struct ct_clients *c, struct ct_clients_stats *st)
{
	*st = c->st;
	st->bytes = c->done_bytes;
	st->records = c->done_records;
	st->lost_records = c->done_lost;
	for (const struct conn *k = c->conns; k; k = k->next) {
		struct ct_wire_conn_stats ws;

		ct_wire_conn_stats(k->w, &ws);
		st->bytes += ws.bytes;
		st->records += ws.records;
		st->lost_records += ws.lost_records;
	}
}

void ct_clients_free(struct ct_clients *c)
{
	if (!c)
		return;
	while (c->conns)
		close_conn(c, c->conns, 0);
	if (c->lfd >= 0)
		close(c->lfd);
	if (c->ep >= 0)
		close(c->ep);
	unlink(c->path);
	rmdir(c->dir);
	free(c);
}
