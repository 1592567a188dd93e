// SPDX-License-Identifier: MIT
/* Client connections of `crosstrace record` (see clients.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
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
	char dir[256]; /* the private directory we made, "" when the path was given */
	char path[300];
	void (*log)(void *arg, const char *line);
	void *log_arg;
	char env[340];
	struct conn *conns;
	struct ct_clients_stats st;
	uint64_t done_bytes, done_records, done_lost; /* of connections already closed */
	void (*on_tctx)(void *arg, int32_t pid, const struct ct_wire_thread_ctx *tc);
	void *on_tctx_arg;
	uint8_t buf[64 << 10];
};

static void conn_log(struct ct_clients *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void conn_log(struct ct_clients *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (c->log)
		c->log(c->log_arg, line);
	else
		fprintf(stderr, "crosstrace record: %s\n", line);
}

/* A socket file at path: replaced when nobody listens on it (its owner died). */
static int clear_stale(const char *path, const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;
	int fd, e;

	if (lstat(path, &st))
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen,
			 "client socket path %s exists and is not a socket (remove it or choose "
			 "another path)",
			 path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	e = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 0;
	close(fd);
	if (!e) {
		snprintf(err, errlen,
			 "another process listens on client socket %s (is an agent already "
			 "running?)",
			 path);
		return -EADDRINUSE;
	}
	return unlink(path) && errno != ENOENT ? -errno : 0;
}

int ct_clients_new(struct ct_clients **out, struct ct_tracedir *td, const char *path, char *err,
		   size_t errlen)
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
	if (path) {
		snprintf(c->path, sizeof(c->path), "%s", path);
	} else {
		snprintf(c->dir, sizeof(c->dir), "%s/crosstrace-XXXXXX",
			 tmp && tmp[0] ? tmp : "/tmp");
		if (!mkdtemp(c->dir)) {
			e = -errno;
			snprintf(err, errlen,
				 "cannot create a directory for the client socket (%s): %s", c->dir,
				 strerror(-e));
			free(c);
			return e;
		}
		snprintf(c->path, sizeof(c->path), "%s/client.sock", c->dir);
	}
	if (strlen(c->path) >= sizeof(sa.sun_path) || (path && strlen(path) >= sizeof(c->path))) {
		snprintf(err, errlen, "client socket path %s is too long for a UNIX socket: %s",
			 c->path,
			 path ? "choose a shorter path" : "set TMPDIR to a shorter directory");
		if (c->dir[0])
			rmdir(c->dir);
		free(c);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	if (path) {
		e = clear_stale(c->path, &sa, err, errlen);
		if (e) {
			c->path[0] = 0; /* not ours: never unlink it */
			ct_clients_free(c);
			return e;
		}
	}
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->lfd < 0 || bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(c->lfd, 64)) {
		e = -errno;
		snprintf(err, errlen, "cannot listen on client socket %s: %s", c->path,
			 strerror(-e));
		c->path[0] = 0; /* not bound: whatever is there is not ours */
		ct_clients_free(c);
		return e;
	}
	/* Traced programs may run as another user (e.g. after su): let anyone connect. */
	if (c->dir[0])
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

void ct_clients_set_log(struct ct_clients *c, void (*log)(void *arg, const char *line), void *arg)
{
	c->log = log;
	c->log_arg = arg;
}

const char *ct_clients_path(const struct ct_clients *c)
{
	return c->path;
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
		conn_log(c, "client connection (pid %d) ended: %s", (int)ct_wire_conn_pid(k->w),
			 ct_wire_conn_error(k->w));
	} else if (e == CT_ETRUNC) {
		conn_log(c, "client pid %d disconnected mid-frame: %s", (int)ct_wire_conn_pid(k->w),
			 ct_wire_conn_error(k->w));
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
			conn_log(c, "out of memory for a client connection");
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
		if (c->path[0])
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
	if (c->path[0] && c->lfd >= 0)
		unlink(c->path); /* not finished: still ours */
	if (c->dir[0])
		rmdir(c->dir);
	free(c);
}
