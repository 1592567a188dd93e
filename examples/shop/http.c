// SPDX-License-Identifier: MIT
/*
 * Just enough HTTP/1.1 for the shop: one request per connection (Connection: close), a
 * Content-Length on every message, and the W3C traceparent header carried through
 * ct_context_inject. Loopback only; not a general HTTP implementation.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shop.h"

#define HEAD_MAX 4096

/* Header value of name in the header block [p, end), trimmed; NULL when absent. */
static const char *header(const char *p, const char *end, const char *name, size_t *len)
{
	size_t nl = strlen(name);

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *v;

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
			v = p + nl + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			*len = (size_t)(eol - v);
			while (*len && (v[*len - 1] == '\r' || v[*len - 1] == ' '))
				(*len)--;
			return v;
		}
		p = eol + 1;
	}
	return NULL;
}

/* Reads one message (request or response) from fd into m. */
static int read_message(int fd, struct shop_http_msg *m, int response)
{
	char buf[HEAD_MAX + SHOP_MAX_BODY];
	size_t have = 0, head_len = 0, want;
	const char *eoh = NULL, *v;
	size_t vlen;

	memset(m, 0, sizeof(*m));
	while (!eoh) {
		ssize_t n;

		if (have == HEAD_MAX)
			return -EPROTO;
		n = read(fd, buf + have, HEAD_MAX - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return have ? -EPROTO : -ECONNRESET;
		have += (size_t)n;
		eoh = memmem(buf, have, "\r\n\r\n", 4);
	}
	head_len = (size_t)(eoh - buf) + 4;
	if (response) {
		if (sscanf(buf, "HTTP/1.%*c %d", &m->status) != 1)
			return -EPROTO;
	} else if (sscanf(buf, "%7s %255s HTTP/1.", m->method, m->path) != 2) {
		return -EPROTO;
	}
	v = header(buf, eoh, "traceparent", &vlen);
	if (v && vlen < sizeof(m->traceparent)) {
		memcpy(m->traceparent, v, vlen);
		m->traceparent[vlen] = 0;
	}
	v = header(buf, eoh, "content-length", &vlen);
	want = v ? strtoul(v, NULL, 10) : 0;
	if (want >= SHOP_MAX_BODY)
		return -EPROTO;
	while (have < head_len + want) {
		ssize_t n = read(fd, buf + have, head_len + want - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPROTO;
		have += (size_t)n;
	}
	memcpy(m->body, buf + head_len, want);
	m->body[want] = 0;
	m->body_len = want;
	return 0;
}

int shop_http_read_request(int fd, struct shop_http_msg *m)
{
	return read_message(fd, m, 0);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int shop_http_write_response(int fd, int status, const char *body)
{
	char buf[HEAD_MAX + SHOP_MAX_BODY];
	size_t blen = strlen(body);
	int n;

	n = snprintf(buf, sizeof(buf),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s",
		     status, status < 400 ? "OK" : "Error", blen, body);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -EMSGSIZE;
	return write_all(fd, buf, (size_t)n);
}

struct headers {
	char *buf;
	size_t len, cap;
};

/* ct_context_inject's carrier: one "key: value" line per header. */
static void set_header(void *carrier, const char *key, const char *value)
{
	struct headers *h = carrier;
	int n = snprintf(h->buf + h->len, h->cap - h->len, "%s: %s\r\n", key, value);

	if (n > 0 && (size_t)n < h->cap - h->len)
		h->len += (size_t)n;
}

int shop_http_exchange(uint16_t port, const char *method, const char *path, const char *body,
		       const struct ct_span_context *ctx, struct shop_http_msg *resp)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	char hbuf[512], req[HEAD_MAX + SHOP_MAX_BODY];
	struct headers h = {hbuf, 0, sizeof(hbuf)};
	size_t blen = body ? strlen(body) : 0;
	int fd, n, err, one = 1;

	hbuf[0] = 0;
	if (ctx && ct_span_context_is_valid(ctx))
		ct_context_inject(ctx, NULL, set_header, &h);
	n = snprintf(req, sizeof(req),
		     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%sContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s",
		     method, path, (unsigned)port, hbuf, blen, body ? body : "");
	if (n < 0 || (size_t)n >= sizeof(req))
		return -EMSGSIZE;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Small request/response pairs: no Nagle delay between our writes and their reads. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	err = write_all(fd, req, (size_t)n);
	if (!err)
		err = read_message(fd, resp, 1);
	close(fd);
	return err;
}
