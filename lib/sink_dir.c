// SPDX-License-Identifier: MIT
/*
 * The trace-directory sink: the drain thread writes every thread's records to its own CTF
 * stream "ust_<pid>_<tid>" of a trace directory (format/tracedir.h), and the process's own
 * records (PROCESS_INFO, resource attributes, THREAD_CTX_INFO) to "ust_<pid>_0" at the start
 * of every chunk.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/ctf.h"
#include "format/tracedir.h"
#include "sink.h"
#include "tracer.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/jsonw.h"

struct dir_sink {
	struct ct__sink base;
	struct ct_tracedir *td;
	struct ct_tdstream *proc;
	unsigned chunks_seen;
	uint64_t proc_ts; /* newest timestamp in the process stream */
};

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Where the process's threads publish their current span (same offset in every thread). */
static void write_thread_ctx(struct dir_sink *s, uint64_t ts)
{
	uint8_t payload[16], *p;
	int64_t off;

	if (ct__tctx_offset(&off))
		return;
	p = ct_put_u32(payload, CT_THREAD_CTX_VERSION);
	p = ct_put_u32(p, CT_THREAD_CTX_SIZE);
	ct_put_u64(p, (uint64_t)off);
	ct_tdstream_append(s->proc, CT_EV_THREAD_CTX_INFO, ts, ct__g.pid, 0, payload,
			   sizeof(payload));
}

static void write_proc(struct dir_sink *s, uint64_t ts)
{
	struct ct_tracedir_stats st;

	if (ts < s->proc_ts)
		ts = s->proc_ts;
	s->proc_ts = ts;
	for (size_t off = 0; off < ct__g.proc_len;) {
		const uint8_t *r = ct__g.proc + off;
		uint16_t size = rd16(r + 2);

		ct_tdstream_append(s->proc, rd16(r), ts, ct__g.pid, 0, r + 16, size);
		off += 16 + (size_t)size;
	}
	write_thread_ctx(s, ts);
	ct_tracedir_stats(s->td, &st);
	s->chunks_seen = st.chunks;
}

static void dir_begin_thread(struct ct__sink *base, struct ct__thread *t)
{
	struct dir_sink *s = (struct dir_sink *)base;
	struct ct_tdstream *ts;
	char name[64];

	if (t->sink_stream)
		return;
	snprintf(name, sizeof(name), "ust_%" PRId32 "_%" PRId32, ct__g.pid, t->tid);
	if (ct_tracedir_stream(s->td, name, CT_CTF_NO_CPU, &ts) == 0)
		t->sink_stream = ts;
}

static int dir_record(struct ct__sink *base, struct ct__thread *t, const uint8_t *rec, size_t len)
{
	struct ct_tdstream *ts = t->sink_stream;
	uint16_t id = rd16(rec);
	uint64_t when = rd64(rec + 8);

	(void)base;
	if (!ts) {
		/* Only ENOMEM can get here (stream names are valid): count, never stall. */
		atomic_fetch_add(&ct__g.sink_dropped, 1);
		return 0;
	}
	ct_tdstream_append(ts, id, when, ct__g.pid, t->tid, rec + 16, len - 16);
	if (id == CT_EV_CLIENT_LOST)
		ct_tdstream_lost(ts, "client_records", when, rd64(rec + 16));
	return 0;
}

static void dir_end_thread(struct ct__sink *base, struct ct__thread *t)
{
	(void)base;
	(void)t;
}

static void dir_lost(struct ct__sink *base, struct ct__thread *t, uint64_t ts, uint64_t records,
		     uint64_t bytes)
{
	uint8_t rec[32], *p;

	dir_begin_thread(base, t);
	p = ct__rec_header(rec, CT_EV_CLIENT_LOST, 16, ts);
	p = ct_put_u64(p, records);
	ct_put_u64(p, bytes);
	dir_record(base, t, rec, sizeof(rec));
}

static int dir_tick(struct ct__sink *base, uint64_t now_ns, int flush)
{
	struct dir_sink *s = (struct dir_sink *)base;
	struct ct_tracedir_stats st;
	int err;

	(void)flush; /* every append is a write(2) of a packet or buffered until it fills: the
		      * reader sees whole packets only, so a flush is just the tick */
	err = ct_tracedir_tick(s->td, now_ns);
	ct_tracedir_stats(s->td, &st);
	if (st.chunks != s->chunks_seen)
		write_proc(s, now_ns);
	return err;
}

static void set_client_info(struct dir_sink *s, int final)
{
	struct ct_buf b;
	struct ct_jsonw w;
	struct ct_stats st;

	ct_buf_init(&b);
	ct_jsonw_init(&w, &b, 0);
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kstr(&w, "sdk", "crosstrace-c " CT_VERSION_STRING);
	ct_jsonw_kstr(&w, "service", ct__g.service);
	ct_jsonw_kint(&w, "pid", ct__g.pid);
	ct_jsonw_kuint(&w, "ring_bytes", ct__g.ring_bytes);
	ct_jsonw_kuint(&w, "flush_ms", ct__g.flush_ms);
	if (final) {
		ct__stats_locked(&st);
		ct_jsonw_kuint(&w, "records", st.records);
		ct_jsonw_kuint(&w, "dropped", st.dropped);
		ct_jsonw_kuint(&w, "dropped_bytes", st.dropped_bytes);
		ct_jsonw_kuint(&w, "truncated", st.truncated);
		ct_jsonw_kuint(&w, "scope_overflow", st.scope_overflow);
		ct_jsonw_kuint(&w, "spans_started", st.spans_started);
		ct_jsonw_kuint(&w, "spans_unsampled", st.spans_unsampled);
		ct_jsonw_kuint(&w, "threads", st.threads);
	}
	ct_jsonw_obj_end(&w);
	if (!b.oom)
		ct_tracedir_set_info(s->td, "client", b.data);
	ct_buf_fini(&b);
}

static int dir_close(struct ct__sink *base, const char *status)
{
	struct dir_sink *s = (struct dir_sink *)base;
	int err;

	set_client_info(s, 1);
	err = ct_tracedir_close(s->td, status);
	free(s);
	return err;
}

/* Trace directories of ancestors, kept reachable so that leak checkers stay quiet. */
static struct ct_tracedir *abandoned[8];

static void dir_abandon(struct ct__sink *base)
{
	struct dir_sink *s = (struct dir_sink *)base;

	/* The tracedir, its files and fds belong to the parent: leave them untouched. */
	for (size_t i = 0; i < sizeof(abandoned) / sizeof(abandoned[0]); i++) {
		if (!abandoned[i]) {
			abandoned[i] = s->td;
			break;
		}
	}
	free(s);
}

static const struct ct__sink_ops dir_ops = {
	.begin_thread = dir_begin_thread,
	.record = dir_record,
	.end_thread = dir_end_thread,
	.lost = dir_lost,
	.tick = dir_tick,
	.close = dir_close,
	.abandon = dir_abandon,
};

int ct__sink_dir_open(struct ct__sink **out, const char *path, char *errbuf, size_t errlen)
{
	struct ct_tracedir_opts o = {
		.path = path,
		.rotate_bytes = ct__g.rotate_bytes,
		.rotate_ns = ct__g.rotate_ms * 1000000ull,
		.tool = "libcrosstrace",
	};
	struct dir_sink *s = calloc(1, sizeof(*s));
	char name[64];
	int err;

	if (!s)
		return -ENOMEM;
	s->base.ops = &dir_ops;
	err = ct_tracedir_create(&s->td, &o, errbuf, errlen);
	if (err) {
		free(s);
		return err;
	}
	snprintf(name, sizeof(name), "ust_%" PRId32 "_0", ct__g.pid);
	err = ct_tracedir_stream(s->td, name, CT_CTF_NO_CPU, &s->proc);
	if (err) {
		snprintf(errbuf, errlen, "cannot create stream %s in %s: %s", name, path,
			 ct_strerror(err));
		ct_tracedir_close(s->td, "failed");
		free(s);
		return err;
	}
	set_client_info(s, 0);
	write_proc(s, ct_mono_ns());
	*out = &s->base;
	return 0;
}
