// SPDX-License-Identifier: MIT
/*
 * The native client protocol (wire.h): frame encoders for libcrosstrace's drain thread and the
 * receiving side, a byte-stream parser that reassembles frames from arbitrary splits, checks
 * every field before storing anything, and appends records to a trace directory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crosstrace/crosstrace.h"
#include "ctf.h"
#include "event.h"
#include "tracedir.h"
#include "util/clock.h"
#include "wire.h"

/* ---- encoders ---- */

static uint8_t *put_frame_header(uint8_t *p, size_t frame_size, uint16_t type)
{
	p = ct_put_u32(p, (uint32_t)(frame_size - 4));
	p = ct_put_u16(p, type);
	return ct_put_u16(p, 0);
}

size_t ct_wire_put_hello(uint8_t *buf, int32_t pid)
{
	uint8_t *p = put_frame_header(buf, CT_WIRE_HELLO_SIZE, CT_WIRE_HELLO);

	p = ct_put_u32(p, CT_WIRE_MAGIC);
	p = ct_put_u32(p, CT_FORMAT_VERSION);
	p = ct_put_u32(p, (uint32_t)pid);
	ct_put_u32(p, 0);
	return CT_WIRE_HELLO_SIZE;
}

size_t ct_wire_put_records_header(uint8_t *buf, int32_t tid, uint32_t count, size_t records_bytes)
{
	uint8_t *p = put_frame_header(buf, CT_WIRE_RECORDS_HEADER + records_bytes, CT_WIRE_RECORDS);

	p = ct_put_u32(p, (uint32_t)tid);
	ct_put_u32(p, count);
	return CT_WIRE_RECORDS_HEADER;
}

size_t ct_wire_put_lost(uint8_t *buf, int32_t tid, uint64_t ts, uint64_t records, uint64_t bytes)
{
	uint8_t *p = put_frame_header(buf, CT_WIRE_LOST_SIZE, CT_WIRE_LOST);

	p = ct_put_u32(p, (uint32_t)tid);
	p = ct_put_u64(p, ts);
	p = ct_put_u64(p, records);
	ct_put_u64(p, bytes);
	return CT_WIRE_LOST_SIZE;
}

size_t ct_wire_put_thread_ctx(uint8_t *buf, const struct ct_wire_thread_ctx *tc)
{
	uint8_t *p = put_frame_header(buf, CT_WIRE_THREAD_CTX_SIZE, CT_WIRE_THREAD_CTX);

	p = ct_put_u64(p, (uint64_t)tc->tls_offset);
	p = ct_put_u64(p, tc->ts);
	p = ct_put_u32(p, tc->version);
	ct_put_u32(p, tc->size);
	return CT_WIRE_THREAD_CTX_SIZE;
}

/* ---- receiver ---- */

#define MAX_TID_CACHE 64
/* The process's own records kept for re-storing in each new chunk; more is not expected. */
#define MAX_PROC_RECORDS (64u << 10)

struct tid_stream {
	int32_t tid;
	struct ct_tdstream *s;
	uint64_t last_ts; /* newest timestamp appended, so LOST events never go backwards */
};

struct ct_wire_conn {
	struct ct_tracedir *td;
	int32_t pid;
	int err;
	char reason[256];
	uint64_t offset; /* bytes consumed before the current frame */

	uint8_t hdr[4];
	size_t hdr_have;
	uint8_t *frame; /* body after the length field */
	size_t frame_len, frame_have, frame_cap;

	struct tid_stream cache[MAX_TID_CACHE];
	unsigned n_cache, next_evict;

	uint8_t *proc; /* tid 0 records (wire layout), re-stored per chunk */
	size_t proc_len;
	unsigned proc_chunks; /* td's chunk count when proc was last stored */

	struct ct_wire_thread_ctx tctx; /* from the THREAD_CTX frame, when has_tctx */
	int has_tctx;

	struct ct_wire_conn_stats st;
};

static int fail(struct ct_wire_conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct ct_wire_conn *c, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(c->reason, sizeof(c->reason), "frame at byte %" PRIu64 ": ", c->offset);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(c->reason))
		vsnprintf(c->reason + n, sizeof(c->reason) - (size_t)n, fmt, ap);
	va_end(ap);
	c->err = err;
	return err;
}

int ct_wire_conn_new(struct ct_wire_conn **out, struct ct_tracedir *td)
{
	struct ct_wire_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->td = td;
	*out = c;
	return 0;
}

void ct_wire_conn_free(struct ct_wire_conn *c)
{
	if (!c)
		return;
	free(c->frame);
	free(c->proc);
	free(c);
}

const char *ct_wire_conn_error(const struct ct_wire_conn *c)
{
	return c->reason;
}

int32_t ct_wire_conn_pid(const struct ct_wire_conn *c)
{
	return c->pid;
}

int ct_wire_conn_thread_ctx(const struct ct_wire_conn *c, struct ct_wire_thread_ctx *out)
{
	if (!c->has_tctx)
		return -ENOENT;
	*out = c->tctx;
	return 0;
}

void ct_wire_conn_stats(const struct ct_wire_conn *c, struct ct_wire_conn_stats *st)
{
	*st = c->st;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

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

/* The stream of tid, created on first use; a small cache spares a lookup by name. */
static int stream_for(struct ct_wire_conn *c, int32_t tid, struct tid_stream **out)
{
	struct tid_stream *ts;
	char name[64];
	int err;

	for (unsigned i = 0; i < c->n_cache; i++) {
		if (c->cache[i].tid == tid) {
			*out = &c->cache[i];
			return 0;
		}
	}
	if (c->n_cache < MAX_TID_CACHE) {
		ts = &c->cache[c->n_cache++];
	} else {
		/* The tracedir keeps the stream (and its order check); only our last_ts is
		 * forgotten, which merely lets a later LOST event be clamped less tightly. */
		ts = &c->cache[c->next_evict++ % MAX_TID_CACHE];
	}
	snprintf(name, sizeof(name), "ust_%" PRId32 "_%" PRId32, c->pid, tid);
	memset(ts, 0, sizeof(*ts));
	ts->tid = tid;
	err = ct_tracedir_stream(c->td, name, CT_CTF_NO_CPU, &ts->s);
	if (err) {
		ts->tid = -1;
		return err;
	}
	*out = ts;
	return 0;
}

static void append(struct ct_wire_conn *c, struct tid_stream *ts, uint16_t id, uint64_t ts_ns,
		   const uint8_t *payload, size_t len)
{
	ct_tdstream_append(ts->s, id, ts_ns, c->pid, ts->tid, payload, len);
	if (ts_ns > ts->last_ts)
		ts->last_ts = ts_ns;
	c->st.records++;
	if (id == CT_EV_CLIENT_LOST) {
		uint64_t n = rd64(payload), b = rd64(payload + 8);

		ct_tdstream_lost(ts->s, "client_records", ts_ns, n);
		c->st.lost_records += n;
		c->st.lost_bytes += b;
	}
}

/* Stores the process records again when the trace directory moved to a new chunk. */
static void restore_proc(struct ct_wire_conn *c, uint64_t now_ns)
{
	struct ct_tracedir_stats tst;
	struct tid_stream *ts;

	if (!c->proc_len || c->err)
		return;
	ct_tracedir_stats(c->td, &tst);
	if (tst.chunks == c->proc_chunks)
		return;
	c->proc_chunks = tst.chunks;
	if (stream_for(c, 0, &ts))
		return;
	if (now_ns < ts->last_ts)
		now_ns = ts->last_ts;
	for (size_t off = 0; off < c->proc_len;) {
		const uint8_t *r = c->proc + off;
		uint16_t size = rd16(r + 2);

		append(c, ts, rd16(r), now_ns, r + CT_WIRE_RECORD_HEADER, size);
		off += CT_WIRE_RECORD_HEADER + size;
	}
}

void ct_wire_conn_tick(struct ct_wire_conn *c, uint64_t now_ns)
{
	restore_proc(c, now_ns);
}

static int on_hello(struct ct_wire_conn *c, const uint8_t *b, size_t n)
{
	uint32_t version;
	struct ct_tracedir_stats tst;

	if (c->pid)
		return fail(c, CT_EFORMAT, "second HELLO on one connection");
	if (n != 16)
		return fail(c, CT_EFORMAT, "HELLO body is %zu bytes, expected 16", n);
	if (rd32(b) != CT_WIRE_MAGIC)
		return fail(c, CT_EFORMAT,
			    "bad magic 0x%08" PRIx32 " (not a crosstrace client: expected 'CTW1')",
			    rd32(b));
	version = rd32(b + 4);
	if (version == 0 || version > CT_FORMAT_VERSION)
		return fail(c, CT_EVERSION,
			    "client speaks format version %" PRIu32
			    ", this receiver reads up to %d "
			    "(upgrade crosstrace)",
			    version, CT_FORMAT_VERSION);
	if ((int32_t)rd32(b + 8) <= 0)
		return fail(c, CT_EFORMAT, "HELLO announces pid %" PRId32, (int32_t)rd32(b + 8));
	c->pid = (int32_t)rd32(b + 8);
	ct_tracedir_stats(c->td, &tst);
	c->proc_chunks = tst.chunks;
	return 0;
}

/* Checks every record of a RECORDS body before anything is stored. */
static int check_records(struct ct_wire_conn *c, const uint8_t *b, size_t n, uint32_t count)
{
	size_t off = 8;
	struct ct_event ev;

	for (uint32_t i = 0; i < count; i++) {
		uint16_t id, size;
		int used;

		if (n - off < CT_WIRE_RECORD_HEADER)
			return fail(c, CT_EFORMAT,
				    "RECORDS announces %" PRIu32 " records but holds only %" PRIu32,
				    count, i);
		id = rd16(b + off);
		size = rd16(b + off + 2);
		if (id == 0 || id >= 64 || !ct_ev_name(id))
			return fail(c, CT_EFORMAT,
				    "record %" PRIu32 " has event id %u, not a client event", i,
				    (unsigned)id);
		if (size > CT_CTF_MAX_PAYLOAD)
			return fail(c, CT_ETOOBIG, "record %" PRIu32 " payload of %u bytes", i,
				    (unsigned)size);
		off += CT_WIRE_RECORD_HEADER;
		if (n - off < size)
			return fail(c, CT_EFORMAT,
				    "record %" PRIu32
				    " (%s) payload of %u bytes overruns the frame",
				    i, ct_ev_name(id), (unsigned)size);
		used = ct_ev_decode(id, b + off, size, &ev);
		if (used != (int)size)
			return fail(c, CT_EFORMAT,
				    "record %" PRIu32 " (%s): payload of %u bytes does not decode "
				    "(%s)",
				    i, ct_ev_name(id), (unsigned)size,
				    used < 0 ? ct_strerror(used) : "trailing bytes");
		off += size;
	}
	if (off != n)
		return fail(c, CT_EFORMAT, "%zu bytes after the last of %" PRIu32 " records",
			    n - off, count);
	return 0;
}

static void keep_proc(struct ct_wire_conn *c, const uint8_t *recs, size_t len)
{
	uint8_t *p;

	if (c->proc_len + len > MAX_PROC_RECORDS)
		return;
	p = realloc(c->proc, c->proc_len + len);
	if (!p)
		return;
	memcpy(p + c->proc_len, recs, len);
	c->proc = p;
	c->proc_len += len;
}

static int on_records(struct ct_wire_conn *c, const uint8_t *b, size_t n)
{
	struct tid_stream *ts;
	int32_t tid;
	uint32_t count;
	int err;

	if (n < 8)
		return fail(c, CT_EFORMAT, "RECORDS body of %zu bytes", n);
	tid = (int32_t)rd32(b);
	count = rd32(b + 4);
	if (tid < 0)
		return fail(c, CT_EFORMAT, "RECORDS for tid %" PRId32, tid);
	err = check_records(c, b, n, count);
	if (err)
		return err;
	err = stream_for(c, tid, &ts);
	if (err)
		return fail(c, err, "cannot create stream for tid %" PRId32 ": %s", tid,
			    ct_strerror(err));
	if (tid == 0)
		keep_proc(c, b + 8, n - 8);
	for (size_t off = 8; off < n;) {
		uint16_t size = rd16(b + off + 2);

		append(c, ts, rd16(b + off), rd64(b + off + 8), b + off + CT_WIRE_RECORD_HEADER,
		       size);
		off += CT_WIRE_RECORD_HEADER + size;
	}
	return 0;
}

static int on_lost(struct ct_wire_conn *c, const uint8_t *b, size_t n)
{
	struct tid_stream *ts;
	uint8_t payload[16];
	uint64_t t;
	int32_t tid;
	int err;

	if (n != 28)
		return fail(c, CT_EFORMAT, "LOST body is %zu bytes, expected 28", n);
	tid = (int32_t)rd32(b);
	if (tid < 0)
		return fail(c, CT_EFORMAT, "LOST for tid %" PRId32, tid);
	err = stream_for(c, tid, &ts);
	if (err)
		return fail(c, err, "cannot create stream for tid %" PRId32 ": %s", tid,
			    ct_strerror(err));
	t = rd64(b + 4);
	if (t < ts->last_ts)
		t = ts->last_ts;
	memcpy(payload, b + 12, 16);
	append(c, ts, CT_EV_CLIENT_LOST, t, payload, sizeof(payload));
	return 0;
}

/* Stores where the client's threads publish their context, as a tid 0 event kept per chunk. */
static int on_thread_ctx(struct ct_wire_conn *c, const uint8_t *b, size_t n)
{
	struct tid_stream *ts;
	uint8_t rec[CT_WIRE_RECORD_HEADER + 16], *p;
	int err;

	if (n < 24)
		return fail(c, CT_EFORMAT, "THREAD_CTX body is %zu bytes, expected at least 24", n);
	c->tctx.tls_offset = (int64_t)rd64(b);
	c->tctx.ts = rd64(b + 8);
	c->tctx.version = rd32(b + 16);
	c->tctx.size = rd32(b + 20);
	c->has_tctx = 1;
	err = stream_for(c, 0, &ts);
	if (err)
		return fail(c, err, "cannot create stream for tid 0: %s", ct_strerror(err));
	p = ct_put_u16(rec, CT_EV_THREAD_CTX_INFO);
	p = ct_put_u16(p, 16);
	p = ct_put_u32(p, 0);
	p = ct_put_u64(p, c->tctx.ts < ts->last_ts ? ts->last_ts : c->tctx.ts);
	p = ct_put_u32(p, c->tctx.version);
	p = ct_put_u32(p, c->tctx.size);
	ct_put_u64(p, (uint64_t)c->tctx.tls_offset);
	keep_proc(c, rec, sizeof(rec));
	append(c, ts, CT_EV_THREAD_CTX_INFO, rd64(rec + 8), rec + CT_WIRE_RECORD_HEADER, 16);
	return 0;
}

/* One complete frame: f[0..len) is everything after its length field. */
static int on_frame(struct ct_wire_conn *c, const uint8_t *f, size_t len)
{
	const uint8_t *b = f + 4;
	size_t n = len - 4;
	uint16_t type = rd16(f), flags = rd16(f + 2);
	int err;

	if (flags)
		return fail(c, CT_EFORMAT, "frame flags 0x%04x (reserved, must be 0)",
			    (unsigned)flags);
	if (!c->pid && type != CT_WIRE_HELLO)
		return fail(c, CT_EFORMAT,
			    "connection starts with frame type %u instead of HELLO (not a "
			    "crosstrace client?)",
			    (unsigned)type);
	restore_proc(c, ct_mono_ns());
	switch (type) {
	case CT_WIRE_HELLO:
		err = on_hello(c, b, n);
		break;
	case CT_WIRE_RECORDS:
		err = on_records(c, b, n);
		break;
	case CT_WIRE_LOST:
		err = on_lost(c, b, n);
		break;
	case CT_WIRE_THREAD_CTX:
		err = on_thread_ctx(c, b, n);
		break;
	default:
		c->st.skipped_frames++;
		err = 0;
		break;
	}
	if (!err)
		c->st.frames++;
	return err;
}

int ct_wire_conn_feed(struct ct_wire_conn *c, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (c->err)
		return c->err;
	c->st.bytes += len;
	while (len) {
		size_t k;

		/*
		 * A whole frame in the input, and none begun: handled where it lies (most
		 * frames, as the client's drain writes frames whole), not copied first.
		 */
		if (c->hdr_have == 0 && len >= 4) {
			size_t flen = rd32(p);

			if (flen >= 4 && flen <= CT_WIRE_MAX_FRAME - 4 && len - 4 >= flen) {
				int err = on_frame(c, p + 4, flen);

				if (err)
					return err;
				c->offset += 4 + flen;
				p += 4 + flen;
				len -= 4 + flen;
				continue;
			}
		}
		if (c->hdr_have < 4) {
			k = 4 - c->hdr_have < len ? 4 - c->hdr_have : len;
			memcpy(c->hdr + c->hdr_have, p, k);
			c->hdr_have += k;
			p += k;
			len -= k;
			if (c->hdr_have < 4)
				break;
			c->frame_len = rd32(c->hdr);
			c->frame_have = 0;
			if (c->frame_len < 4)
				return fail(c, CT_EFORMAT, "frame length %zu (at least 4)",
					    c->frame_len);
			if (c->frame_len > CT_WIRE_MAX_FRAME - 4)
				return fail(c, CT_ETOOBIG, "frame length %zu over the limit of %u",
					    c->frame_len, CT_WIRE_MAX_FRAME - 4);
			if (c->frame_len > c->frame_cap) {
				uint8_t *f = realloc(c->frame, c->frame_len);

				if (!f)
					return fail(c, -ENOMEM, "out of memory");
				c->frame = f;
				c->frame_cap = c->frame_len;
			}
		}
		k = c->frame_len - c->frame_have < len ? c->frame_len - c->frame_have : len;
		memcpy(c->frame + c->frame_have, p, k);
		c->frame_have += k;
		p += k;
		len -= k;
		if (c->frame_have == c->frame_len) {
			int err = on_frame(c, c->frame, c->frame_len);

			if (err)
				return err;
			c->offset += 4 + c->frame_len;
			c->hdr_have = 0;
		}
	}
	return 0;
}

int ct_wire_conn_end(struct ct_wire_conn *c)
{
	if (c->err)
		return c->err;
	if (c->hdr_have) {
		size_t have = c->hdr_have < 4 ? c->hdr_have : 4 + c->frame_have;

		return fail(c, CT_ETRUNC,
			    "connection closed inside a frame (%zu of %zu bytes received; its "
			    "records are not stored)",
			    have, c->hdr_have < 4 ? (size_t)4 : 4 + c->frame_len);
	}
	return 0;
}
