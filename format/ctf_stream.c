// SPDX-License-Identifier: MIT
/* CTF stream files: packet writer and validating reader (see ctf_stream.h, ctf.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crosstrace/crosstrace.h"
#include "ctf.h"
#include "ctf_stream.h"

struct ct_stream_writer {
	char *path;
	int fd; /* -1 until the first packet */
	uint8_t uuid[16];
	uint32_t cpu_id;
	uint8_t *buf; /* packet under construction, prefix included */
	size_t len, cap;
	size_t target; /* flush once a packet reaches this size */
	uint32_t n_in_packet;
	uint64_t ts_begin, ts_last;
	uint64_t seq;
	uint64_t discarded; /* free-running */
	struct ct_stream_stats st;
};

int ct_stream_writer_new(struct ct_stream_writer **out, const char *path, const uint8_t uuid[16],
			 uint32_t cpu_id, size_t packet_bytes)
{
	struct ct_stream_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->target = packet_bytes ? packet_bytes : 65536;
	if (w->target < 4096)
		w->target = 4096;
	w->cap = w->target + CT_CTF_EVENT_HEADER_SIZE + CT_CTF_MAX_PAYLOAD;
	w->buf = malloc(w->cap);
	w->path = strdup(path);
	if (!w->buf || !w->path) {
		free(w->buf);
		free(w->path);
		free(w);
		return -ENOMEM;
	}
	w->fd = -1;
	memcpy(w->uuid, uuid, 16);
	w->cpu_id = cpu_id;
	w->len = CT_CTF_PACKET_PREFIX;
	*out = w;
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int ct_stream_writer_flush(struct ct_stream_writer *w)
{
	uint8_t *h = w->buf;
	uint64_t bits = (uint64_t)w->len * 8;
	uint32_t magic = CT_CTF_MAGIC, zero = 0;
	off_t start;
	int err;

	if (!w->n_in_packet)
		return 0;
	if (w->fd < 0) {
		w->fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (w->fd < 0) {
			err = -errno;
			goto drop;
		}
	}
	memcpy(h + CT_CTF_OFF_MAGIC, &magic, 4);
	memcpy(h + CT_CTF_OFF_UUID, w->uuid, 16);
	memcpy(h + CT_CTF_OFF_STREAM_ID, &zero, 4);
	memcpy(h + CT_CTF_OFF_TS_BEGIN, &w->ts_begin, 8);
	memcpy(h + CT_CTF_OFF_TS_END, &w->ts_last, 8);
	memcpy(h + CT_CTF_OFF_CONTENT_SIZE, &bits, 8);
	memcpy(h + CT_CTF_OFF_PACKET_SIZE, &bits, 8);
	memcpy(h + CT_CTF_OFF_SEQ, &w->seq, 8);
	memcpy(h + CT_CTF_OFF_DISCARDED, &w->discarded, 8);
	memcpy(h + CT_CTF_OFF_CPU, &w->cpu_id, 4);
	start = (off_t)w->st.bytes;
	err = write_all(w->fd, w->buf, w->len);
	if (err) {
		/* Cut a torn packet off so the file stays readable up to here. */
		if (ftruncate(w->fd, start) == 0)
			lseek(w->fd, start, SEEK_SET);
		goto drop;
	}
	w->st.bytes += w->len;
	w->st.events += w->n_in_packet;
	w->seq++;
	w->len = CT_CTF_PACKET_PREFIX;
	w->n_in_packet = 0;
	return 0;
drop:
	w->discarded += w->n_in_packet;
	w->st.discarded += w->n_in_packet;
	w->len = CT_CTF_PACKET_PREFIX;
	w->n_in_packet = 0;
	return err;
}

/*
 * Puts one event (ts not before the last, len within CT_CTF_MAX_PAYLOAD) into the packet,
 * writing the packet first when the event does not fit. Returns 0, or the error of writing
 * that packet: the event is in the next one all the same.
 */
static int put_event(struct ct_stream_writer *w, uint16_t id, uint64_t ts, int32_t pid, int32_t tid,
		     const void *payload, size_t len)
{
	uint16_t size16 = (uint16_t)len;
	uint8_t *p;
	int err = 0;

	if (w->n_in_packet && w->len + CT_CTF_EVENT_HEADER_SIZE + len > w->target)
		err = ct_stream_writer_flush(w);
	if (!w->n_in_packet)
		w->ts_begin = ts;
	p = w->buf + w->len;
	memcpy(p, &id, 2);
	memcpy(p + 2, &ts, 8);
	memcpy(p + 10, &pid, 4);
	memcpy(p + 14, &tid, 4);
	memcpy(p + 18, &size16, 2);
	if (len)
		memcpy(p + CT_CTF_EVENT_HEADER_SIZE, payload, len);
	w->len += CT_CTF_EVENT_HEADER_SIZE + len;
	w->n_in_packet++;
	return err;
}

/* Notes that events at ts were put. */
static void put_done(struct ct_stream_writer *w, uint64_t ts)
{
	w->ts_last = ts;
	if (!w->st.ts_first)
		w->st.ts_first = ts;
	w->st.ts_last = ts;
}

int ct_stream_writer_append(struct ct_stream_writer *w, uint16_t id, uint64_t ts, int32_t pid,
			    int32_t tid, const void *payload, size_t len)
{
	int err;

	if (len > CT_CTF_MAX_PAYLOAD)
		return CT_ETOOBIG;
	if (ts < w->ts_last)
		return -EINVAL;
	err = put_event(w, id, ts, pid, tid, payload, len);
	put_done(w, ts);
	return err;
}

int ct_stream_writer_append_run(struct ct_stream_writer *w, uint64_t ts, int32_t pid, int32_t tid,
				const void *run, size_t len, uint64_t *n_ok, uint64_t *bytes_ok)
{
	const uint8_t *p = run, *end = p + len;
	uint64_t ok = 0, bytes = 0;
	int first = 0, put = 0;

	while (end - p >= (ptrdiff_t)sizeof(struct ct_ev_run_hdr)) {
		struct ct_ev_run_hdr h;
		int err;

		memcpy(&h, p, sizeof(h));
		p += sizeof(h);
		if (h.len > CT_CTF_MAX_PAYLOAD) {
			err = CT_ETOOBIG;
		} else if (ts < w->ts_last) {
			err = -EINVAL;
		} else {
			err = put_event(w, h.id, ts, pid, tid, p, h.len);
			put = 1;
		}
		p += h.len;
		if (err) {
			first = first ? first : err;
		} else {
			ok++;
			bytes += CT_CTF_EVENT_HEADER_SIZE + h.len;
		}
	}
	if (put)
		put_done(w, ts);
	*n_ok = ok;
	*bytes_ok = bytes;
	return first;
}

void ct_stream_writer_discarded(struct ct_stream_writer *w, uint64_t n)
{
	w->discarded += n;
	w->st.discarded += n;
}

void ct_stream_writer_stats(const struct ct_stream_writer *w, struct ct_stream_stats *st)
{
	*st = w->st;
	/* Events still in the pending packet count as written: close will write them. */
	st->events += w->n_in_packet;
	st->bytes += w->n_in_packet ? w->len : 0;
}

int ct_stream_writer_close(struct ct_stream_writer *w)
{
	struct ct_stream_stats st;

	return ct_stream_writer_close_stats(w, &st);
}

int ct_stream_writer_close_stats(struct ct_stream_writer *w, struct ct_stream_stats *st)
{
	int err;

	memset(st, 0, sizeof(*st));
	if (!w)
		return 0;
	err = ct_stream_writer_flush(w);
	if (w->fd < 0 && w->discarded) {
		/* Nothing was ever written, but drops must still reach readers: write an empty
		 * packet carrying the discarded count. */
		w->fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	}
	if (w->fd >= 0 && w->st.events == 0 && w->discarded) {
		uint64_t bits = CT_CTF_PACKET_PREFIX * 8;
		uint32_t magic = CT_CTF_MAGIC, zero = 0;

		memset(w->buf, 0, CT_CTF_PACKET_PREFIX);
		memcpy(w->buf + CT_CTF_OFF_MAGIC, &magic, 4);
		memcpy(w->buf + CT_CTF_OFF_UUID, w->uuid, 16);
		memcpy(w->buf + CT_CTF_OFF_STREAM_ID, &zero, 4);
		memcpy(w->buf + CT_CTF_OFF_CONTENT_SIZE, &bits, 8);
		memcpy(w->buf + CT_CTF_OFF_PACKET_SIZE, &bits, 8);
		memcpy(w->buf + CT_CTF_OFF_SEQ, &w->seq, 8);
		memcpy(w->buf + CT_CTF_OFF_DISCARDED, &w->discarded, 8);
		memcpy(w->buf + CT_CTF_OFF_CPU, &w->cpu_id, 4);
		if (write_all(w->fd, w->buf, CT_CTF_PACKET_PREFIX) == 0)
			w->st.bytes += CT_CTF_PACKET_PREFIX;
	}
	if (w->fd >= 0 && close(w->fd) && !err)
		err = -errno;
	*st = w->st;
	free(w->buf);
	free(w->path);
	free(w);
	return err;
}

/* ---- reader ---- */

struct ct_stream_reader {
	char *path;
	const uint8_t *map;
	size_t size;
	uint8_t uuid[16];
	int check_uuid;
	size_t pkt; /* offset of the current packet */
	size_t pkt_end; /* end of its content */
	size_t next_pkt;
	size_t pos; /* next event */
	int in_packet;
	int dead; /* framing broken: no more events */
	uint32_t cpu;
	uint64_t discarded;
	uint64_t ts_last;
	char err[512];
};

static int set_err(struct ct_stream_reader *r, int code, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int set_err(struct ct_stream_reader *r, int code, size_t off, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->err, sizeof(r->err), "%s: offset %zu: ", r->path, off);

	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(r->err))
		vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return code;
}

int ct_stream_reader_open(struct ct_stream_reader **out, const char *path,
			  const uint8_t *expected_uuid, char *errbuf, size_t errlen)
{
	struct ct_stream_reader *r;
	struct stat sb;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(errbuf, errlen, "%s: cannot open: %s", path, ct_strerror(err));
		return err;
	}
	if (fstat(fd, &sb)) {
		err = -errno;
		close(fd);
		snprintf(errbuf, errlen, "%s: cannot stat: %s", path, ct_strerror(err));
		return err;
	}
	r = calloc(1, sizeof(*r));
	if (!r || !(r->path = strdup(path))) {
		free(r);
		close(fd);
		return -ENOMEM;
	}
	r->size = (size_t)sb.st_size;
	if (r->size) {
		void *m = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (m == MAP_FAILED) {
			err = -errno;
			close(fd);
			snprintf(errbuf, errlen, "%s: cannot map: %s", path, ct_strerror(err));
			free(r->path);
			free(r);
			return err;
		}
		madvise(m, r->size, MADV_SEQUENTIAL);
		r->map = m;
	}
	close(fd);
	if (expected_uuid) {
		memcpy(r->uuid, expected_uuid, 16);
		r->check_uuid = 1;
	}
	r->cpu = CT_CTF_NO_CPU;
	*out = r;
	return 0;
}

/* Opens the packet at r->next_pkt. Returns 1, 0 at end of file, or an error. */
static int open_packet(struct ct_stream_reader *r)
{
	size_t off = r->next_pkt;
	const uint8_t *h;
	uint32_t magic;
	uint64_t content, psize;

	if (r->dead || off >= r->size)
		return 0;
	if (r->size - off < CT_CTF_PACKET_PREFIX) {
		r->dead = 1;
		return set_err(r, CT_ETRUNC, off,
			       "truncated packet header (%zu bytes left, %d needed); events before "
			       "this offset are intact",
			       r->size - off, CT_CTF_PACKET_PREFIX);
	}
	h = r->map + off;
	memcpy(&magic, h + CT_CTF_OFF_MAGIC, 4);
	memcpy(&content, h + CT_CTF_OFF_CONTENT_SIZE, 8);
	memcpy(&psize, h + CT_CTF_OFF_PACKET_SIZE, 8);
	if (magic != CT_CTF_MAGIC) {
		r->dead = 1;
		return set_err(r, CT_EFORMAT, off, "bad packet magic 0x%08x (not a CTF packet)",
			       magic);
	}
	if (r->check_uuid && memcmp(h + CT_CTF_OFF_UUID, r->uuid, 16)) {
		r->dead = 1;
		return set_err(r, CT_EFORMAT, off,
			       "packet UUID differs from the chunk's metadata (stream file from "
			       "another trace?)");
	}
	if (content % 8 || psize % 8 || content > psize || content < CT_CTF_PACKET_PREFIX * 8) {
		r->dead = 1;
		return set_err(r, CT_EFORMAT, off,
			       "inconsistent packet sizes (content %" PRIu64
			       " bits, packet %" PRIu64 " bits)",
			       content, psize);
	}
	if (psize / 8 > r->size - off) {
		r->dead = 1;
		return set_err(r, CT_ETRUNC, off,
			       "truncated packet (%" PRIu64 " bytes announced, %zu in file); "
			       "events before this offset are intact",
			       psize / 8, r->size - off);
	}
	memcpy(&r->cpu, h + CT_CTF_OFF_CPU, 4);
	memcpy(&r->discarded, h + CT_CTF_OFF_DISCARDED, 8);
	r->pkt = off;
	r->pkt_end = off + content / 8;
	r->next_pkt = off + psize / 8;
	r->pos = off + CT_CTF_PACKET_PREFIX;
	r->in_packet = 1;
	return 1;
}

int ct_stream_reader_next(struct ct_stream_reader *r, struct ct_event *ev)
{
	const uint8_t *p;
	uint16_t id, size;
	size_t at;
	int n;

	for (;;) {
		if (!r->in_packet) {
			n = open_packet(r);
			if (n <= 0)
				return n;
		}
		if (r->pos < r->pkt_end)
			break;
		r->in_packet = 0;
	}
	if (r->pkt_end - r->pos < CT_CTF_EVENT_HEADER_SIZE) {
		r->in_packet = 0;
		return set_err(r, CT_ETRUNC, r->pos,
			       "truncated event header; skipping to the next "
			       "packet");
	}
	p = r->map + r->pos;
	memcpy(&id, p, 2);
	memcpy(&ev->ts, p + 2, 8);
	memcpy(&ev->pid, p + 10, 4);
	memcpy(&ev->tid, p + 14, 4);
	memcpy(&size, p + 18, 2);
	ev->type = id;
	ev->cpu = r->cpu == CT_CTF_NO_CPU ? 0xffff : (uint16_t)r->cpu;
	at = r->pos;
	if (size > r->pkt_end - r->pos - CT_CTF_EVENT_HEADER_SIZE) {
		r->in_packet = 0;
		return set_err(r, CT_EFORMAT, at,
			       "event size %u runs past the packet end; skipping the rest of this "
			       "packet",
			       size);
	}
	n = ct_ev_decode(id, p + CT_CTF_EVENT_HEADER_SIZE, size, ev);
	if (n == -ENOENT) {
		/* A type from a newer format: skippable thanks to its size. */
		ev->type = CT_EV_NONE;
		n = size;
	} else if (n != size) {
		/* Framing inside this packet can no longer be trusted. */
		r->in_packet = 0;
		return set_err(r, n < 0 ? n : CT_EFORMAT, at,
			       "corrupt %s event (payload of %u bytes does not decode: %s); "
			       "skipping the rest of this packet",
			       ct_ev_name(id), size, ct_strerror(n < 0 ? n : CT_EFORMAT));
	}
	if (ev->ts < r->ts_last) {
		r->in_packet = 0;
		return set_err(r, CT_EFORMAT, at,
			       "timestamp goes backwards (%" PRIu64 " < %" PRIu64
			       "); skipping the rest of this packet",
			       ev->ts, r->ts_last);
	}
	r->ts_last = ev->ts;
	r->pos += CT_CTF_EVENT_HEADER_SIZE + size;
	return 1;
}

const char *ct_stream_reader_error(const struct ct_stream_reader *r)
{
	return r->err;
}

uint32_t ct_stream_reader_cpu(const struct ct_stream_reader *r)
{
	return r->cpu;
}

uint64_t ct_stream_reader_discarded(const struct ct_stream_reader *r)
{
	return r->discarded;
}

void ct_stream_reader_close(struct ct_stream_reader *r)
{
	if (!r)
		return;
	if (r->map)
		munmap((void *)r->map, r->size);
	free(r->path);
	free(r);
}
