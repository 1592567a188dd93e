// SPDX-License-Identifier: MIT
/*
 * The UNIX-socket sink: the drain thread packs each thread's records into RECORDS frames
 * (format/wire.h) in a bounded send buffer and writes it to a recorder/agent without ever
 * blocking an application thread. While the peer is slow or away the buffer fills, then the
 * rings fill and their threads count drops; the connection is retried every few hundred ms.
 * A frame cut by a broken connection is reported in a LOST frame after reconnecting. Every
 * connection starts with HELLO, the process records and THREAD_CTX.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "format/wire.h"
#include "sink.h"
#include "tracer.h"
#include "util/clock.h"

#define RETRY_NS 200000000ull
#define FLUSH_TIMEOUT_MS 2000
#define MAX_PENDING 64

struct pending_lost {
	int32_t tid;
	uint64_t ts, records, bytes;
};

struct unix_sink {
	struct ct__sink base;
	struct sockaddr_un addr;
	int fd; /* -1 while disconnected */
	uint64_t next_connect_ns;
	int warned;

	/* Sent first after each connect: HELLO and the process records. */
	uint8_t *pre;
	size_t pre_len, pre_sent;

	/* Frames from the rings: [start, len) not yet sent; frame_off is the start of the
	 * frame that holds start (a frame is partly sent when frame_off < start). */
	uint8_t *buf;
	size_t cap, start, len, frame_off;
	/* The RECORDS frame being built at cur_hdr, not sendable until closed. */
	int in_frame;
	size_t cur_hdr;
	uint32_t cur_count;
	int32_t cur_tid;

	struct pending_lost pend[MAX_PENDING];
	unsigned n_pend;
};

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void add_pending(struct unix_sink *s, int32_t tid, uint64_t ts, uint64_t records,
			uint64_t bytes)
{
	struct pending_lost *p = NULL;

	for (unsigned i = 0; i < s->n_pend; i++) {
		if (s->pend[i].tid == tid)
			p = &s->pend[i];
	}
	if (!p && s->n_pend < MAX_PENDING) {
		p = &s->pend[s->n_pend++];
		memset(p, 0, sizeof(*p));
		p->tid = tid;
	}
	if (!p)
		p = &s->pend[MAX_PENDING - 1]; /* fold into one entry rather than forget it */
	if (ts > p->ts)
		p->ts = ts;
	p->records += records;
	p->bytes += bytes;
}

/* How many records a complete frame at f carries, and for which tid. */
static uint64_t frame_records(const uint8_t *f, int32_t *tid, uint64_t *ts)
{
	uint16_t type;

	memcpy(&type, f + 4, 2);
	*tid = (int32_t)rd32(f + 8);
	*ts = 0;
	if (type == CT_WIRE_RECORDS)
		return rd32(f + 12);
	if (type == CT_WIRE_LOST) {
		*ts = rd64(f + 12);
		return rd64(f + 20);
	}
	return 0;
}

static void disconnect(struct unix_sink *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->pre_sent = 0;
	if (s->frame_off < s->start) {
		/* The peer dropped this frame half-read: report its records as lost. */
		const uint8_t *f = s->buf + s->frame_off;
		int32_t tid;
		uint64_t ts, n = frame_records(f, &tid, &ts);
		uint16_t type;

		memcpy(&type, f + 4, 2);
		if (type == CT_WIRE_RECORDS)
			atomic_fetch_add(&ct__g.sink_dropped, n);
		add_pending(s, tid, ts ? ts : ct_mono_ns(), n, 0);
		s->start = s->frame_off + 4 + rd32(f);
		s->frame_off = s->start;
	}
}

static int try_connect(struct unix_sink *s, uint64_t now)
{
	uint8_t *p;
	int fd;

	if (now < s->next_connect_ns)
		return -EAGAIN;
	s->next_connect_ns = now + RETRY_NS;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&s->addr, sizeof(s->addr))) {
		int err = -errno;

		close(fd);
		if (!s->warned) {
			s->warned = 1;
			fprintf(stderr,
				"crosstrace: cannot connect to the recorder at %s: %s (retrying; "
				"records wait in a bounded buffer, then are dropped and counted; "
				"start "
				"`crosstrace record` or change CROSSTRACE_OUTPUT)\n",
				s->addr.sun_path, ct_strerror(err));
		}
		return err;
	}
	s->fd = fd;
	/* HELLO, then the process records stamped now: every connection says who it is. */
	s->pre_len = ct_wire_put_hello(s->pre, ct__g.pid);
	p = s->pre + s->pre_len;
	p += ct_wire_put_records_header(p, 0, ct__g.proc_count, ct__g.proc_len);
	memcpy(p, ct__g.proc, ct__g.proc_len);
	for (size_t off = 0; off < ct__g.proc_len;) {
		uint16_t size;

		memcpy(&size, p + off + 2, 2);
		memcpy(p + off + 8, &now, 8);
		off += 16 + (size_t)size;
	}
	s->pre_len += CT_WIRE_RECORDS_HEADER + ct__g.proc_len;
	{
		struct ct_wire_thread_ctx tc = {
			.ts = now, .version = CT_THREAD_CTX_VERSION, .size = CT_THREAD_CTX_SIZE};

		if (ct__tctx_offset(&tc.tls_offset) == 0)
			s->pre_len += ct_wire_put_thread_ctx(s->pre + s->pre_len, &tc);
	}
	s->pre_sent = 0;
	return 0;
}

/* Sends what can go without blocking. Returns 0, or a negative errno when disconnected. */
static int try_send(struct unix_sink *s)
{
	size_t limit = s->in_frame ? s->cur_hdr : s->len;

	while (s->fd >= 0) {
		const uint8_t *p;
		size_t n;
		ssize_t w;

		if (s->pre_sent < s->pre_len) {
			p = s->pre + s->pre_sent;
			n = s->pre_len - s->pre_sent;
		} else if (s->start < limit) {
			p = s->buf + s->start;
			n = limit - s->start;
		} else {
			return 0;
		}
		w = send(s->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			int err = -errno;

			if (err == -EINTR)
				continue;
			if (err == -EAGAIN)
				return 0;
			disconnect(s);
			return err;
		}
		if (s->pre_sent < s->pre_len) {
			s->pre_sent += (size_t)w;
			continue;
		}
		s->start += (size_t)w;
		while (s->frame_off < s->start &&
		       s->frame_off + 4 + rd32(s->buf + s->frame_off) <= s->start)
			s->frame_off += 4 + rd32(s->buf + s->frame_off);
	}
	return -ENOTCONN;
}

/* Moves unsent bytes to the front of the buffer. */
static void compact(struct unix_sink *s)
{
	size_t from = s->frame_off;

	if (!from)
		return;
	memmove(s->buf, s->buf + from, s->len - from);
	s->len -= from;
	s->start -= from;
	if (s->in_frame)
		s->cur_hdr -= from;
	s->frame_off = 0;
}

/* Makes room for n more bytes. Returns 0 or -ENOSPC. */
static int room(struct unix_sink *s, size_t n)
{
	if (s->cap - s->len >= n)
		return 0;
	try_send(s);
	compact(s);
	return s->cap - s->len >= n ? 0 : -ENOSPC;
}

static void close_frame(struct unix_sink *s)
{
	if (!s->in_frame)
		return;
	if (s->cur_count)
		ct_wire_put_records_header(s->buf + s->cur_hdr, s->cur_tid, s->cur_count,
					   s->len - s->cur_hdr - CT_WIRE_RECORDS_HEADER);
	else
		s->len = s->cur_hdr;
	s->in_frame = 0;
}

static void unix_begin_thread(struct ct__sink *base, struct ct__thread *t)
{
	struct unix_sink *s = (struct unix_sink *)base;

	s->cur_tid = t->tid;
}

static int unix_record(struct ct__sink *base, struct ct__thread *t, const uint8_t *rec, size_t len)
{
	struct unix_sink *s = (struct unix_sink *)base;

	(void)t;
	if (s->in_frame && s->len - s->cur_hdr + len > CT_WIRE_MAX_FRAME)
		close_frame(s);
	if (!s->in_frame) {
		if (room(s, CT_WIRE_RECORDS_HEADER + len))
			return 1;
		s->in_frame = 1;
		s->cur_hdr = s->len;
		s->cur_count = 0;
		s->len += CT_WIRE_RECORDS_HEADER;
	} else if (room(s, len)) {
		return 1;
	}
	memcpy(s->buf + s->len, rec, len);
	s->len += len;
	s->cur_count++;
	return 0;
}

static void unix_end_thread(struct ct__sink *base, struct ct__thread *t)
{
	(void)t;
	close_frame((struct unix_sink *)base);
}

static void unix_lost(struct ct__sink *base, struct ct__thread *t, uint64_t ts, uint64_t records,
		      uint64_t bytes)
{
	add_pending((struct unix_sink *)base, t->tid, ts, records, bytes);
}

/* Moves pending LOST reports into the buffer, behind the records they follow. */
static void queue_pending(struct unix_sink *s)
{
	unsigned i = 0;

	for (; i < s->n_pend; i++) {
		struct pending_lost *p = &s->pend[i];

		if (room(s, CT_WIRE_LOST_SIZE))
			break;
		s->len += ct_wire_put_lost(s->buf + s->len, p->tid, p->ts, p->records, p->bytes);
	}
	memmove(s->pend, s->pend + i, (s->n_pend - i) * sizeof(s->pend[0]));
	s->n_pend -= i;
}

static int unix_tick(struct ct__sink *base, uint64_t now_ns, int flush)
{
	struct unix_sink *s = (struct unix_sink *)base;
	uint64_t deadline = now_ns + FLUSH_TIMEOUT_MS * 1000000ull;

	close_frame(s);
	if (s->fd < 0)
		try_connect(s, now_ns);
	if (s->fd >= 0)
		queue_pending(s);
	try_send(s);
	while (flush) {
		struct pollfd pfd;
		uint64_t now;

		if (s->fd < 0 && try_connect(s, ct_mono_ns()))
			return -ENOTCONN;
		queue_pending(s);
		if (try_send(s) == 0 && s->pre_sent == s->pre_len && s->start == s->len &&
		    !s->n_pend)
			return 0;
		now = ct_mono_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		if (s->fd < 0) {
			/* Wait for the next connection attempt. */
			struct timespec ts = {0, (long)RETRY_NS};

			nanosleep(&ts, NULL);
			continue;
		}
		pfd.fd = s->fd;
		pfd.events = POLLOUT;
		poll(&pfd, 1, (int)((deadline - now) / 1000000 + 1));
	}
	return s->fd >= 0 ? 0 : -ENOTCONN;
}

/* Counts the records of every frame still unsent as dropped by the sink. */
static void count_unsent(struct unix_sink *s)
{
	for (size_t off = s->frame_off; off + 8 <= s->len;) {
		const uint8_t *f = s->buf + off;
		uint16_t type;
		int32_t tid;
		uint64_t ts, n = frame_records(f, &tid, &ts);

		memcpy(&type, f + 4, 2);
		if (type == CT_WIRE_RECORDS)
			atomic_fetch_add(&ct__g.sink_dropped, n);
		off += 4 + rd32(f);
	}
}

static void free_sink(struct unix_sink *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->pre);
	free(s->buf);
	free(s);
}

static int unix_close(struct ct__sink *base, const char *status)
{
	struct unix_sink *s = (struct unix_sink *)base;
	int err;

	(void)status; /* the recorder finishes its own trace; EOF tells it we are done */
	err = unix_tick(base, ct_mono_ns(), 1);
	count_unsent(s);
	free_sink(s);
	return err;
}

static void unix_abandon(struct ct__sink *base)
{
	/* Closing our copy of the fd leaves the parent's connection open. */
	free_sink((struct unix_sink *)base);
}

static size_t unix_backlog(const struct ct__sink *base)
{
	const struct unix_sink *s = (const struct unix_sink *)base;

	return s->len - s->start;
}

static const struct ct__sink_ops unix_ops = {
	.begin_thread = unix_begin_thread,
	.record = unix_record,
	.end_thread = unix_end_thread,
	.lost = unix_lost,
	.tick = unix_tick,
	.backlog = unix_backlog,
	.close = unix_close,
	.abandon = unix_abandon,
};

int ct__sink_unix_open(struct ct__sink **out, const char *path, char *errbuf, size_t errlen)
{
	struct unix_sink *s;
	size_t cap = ct__g.ring_bytes * 4;

	if (strlen(path) >= sizeof(s->addr.sun_path)) {
		snprintf(errbuf, errlen,
			 "socket path %s is too long for a UNIX socket (at most %zu bytes): use a "
			 "shorter CROSSTRACE_OUTPUT=unix:PATH",
			 path, sizeof(s->addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	if (!path[0]) {
		snprintf(errbuf, errlen, "CROSSTRACE_OUTPUT=unix: needs a socket path");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (cap < (256u << 10))
		cap = 256u << 10;
	if (cap > CT_WIRE_MAX_FRAME * 4ull)
		cap = CT_WIRE_MAX_FRAME * 4ull;
	s->base.ops = &unix_ops;
	s->fd = -1;
	s->addr.sun_family = AF_UNIX;
	memcpy(s->addr.sun_path, path, strlen(path) + 1);
	s->cap = cap;
	s->buf = malloc(cap);
	s->pre = malloc(CT_WIRE_HELLO_SIZE + CT_WIRE_RECORDS_HEADER + ct__g.proc_len +
			CT_WIRE_THREAD_CTX_SIZE);
	if (!s->buf || !s->pre) {
		free_sink(s);
		return -ENOMEM;
	}
	/* A recorder not there yet is not an error: records wait (bounded) until it is. */
	try_connect(s, ct_mono_ns());
	*out = &s->base;
	return 0;
}
