// SPDX-License-Identifier: MIT
/*
 * Received spans → events in a trace directory's foreign stream: the written trace is read
 * back with the trace reader (the same code babeltrace-checked elsewhere), and checked for
 * wall → monotonic conversion, event order, chunk placement across a rotation, PROCESS_INFO
 * once per process and chunk, and counted (never silent) late and overflow losses.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "crosstrace/crosstrace.h"
#include "format/event.h"
#include "format/trace_reader.h"
#include "format/tracedir.h"
#include "net/foreign_stream.h"
#include "net/span_events.h"
#include "test.h"
#include "util/clock.h"

#define OFFSET 1000000000000000000ll /* realtime - monotonic in these tests */
#define MS 1000000ull

static char tmpdir[PATH_MAX];

static void make_dir(const char *name, char *out)
{
	snprintf(out, PATH_MAX, "%s/%s", tmpdir, name);
}

/* A batch with one resource (pid 777) and spans named by index with the given mono times. */
static struct ct_nbatch *batch(const uint64_t *start_ms, const uint64_t *end_ms, int n, int first)
{
	struct ct_nbatch *b;
	struct ct_nresource *r;

	if (ct_nbatch_new(&b, "otlp"))
		return NULL;
	r = ct_nbatch_add_resource(b);
	ct_nattrs_add_str(b, &r->attrs, "service.name", "cart");
	ct_nattrs_add_int(b, &r->attrs, "process.pid", 777);
	ct_nresource_derive(r);
	ct_nbatch_add_scope(b);
	for (int i = 0; i < n; i++) {
		struct ct_nspan *s = ct_nbatch_add_span(b, 0, 0);
		struct ct_nevent *e;
		char name[32];

		snprintf(name, sizeof(name), "span%d", first + i);
		s->name = ct_arena_strndup(&b->arena, name, strlen(name));
		memset(s->trace_id, 0xab, 16);
		s->span_id[7] = (uint8_t)(first + i + 1);
		s->start_ns = (uint64_t)OFFSET + start_ms[i] * MS;
		s->end_ns = (uint64_t)OFFSET + end_ms[i] * MS;
		s->time_resolution_ns = 1000000;
		ct_nattrs_add_int(b, &s->attrs, "thread.id", 778);
		ct_nattrs_add_double(b, &s->attrs, "load", 0.5);
		e = ct_nspan_add_event(b, s);
		e->name = "mid";
		e->time_ns = (s->start_ns + s->end_ns) / 2;
		ct_nattrs_add_bool(b, &e->attrs, "hit", 1);
	}
	return b;
}

struct seen {
	int n;
	uint64_t ts[256];
	uint16_t type[256];
	int32_t pid[256], tid[256];
	unsigned chunk[256];
	char name[256][16];
	int64_t ival[256];
};

static void read_trace(const char *path, struct seen *s)
{
	struct ct_trace *t;
	char err[256];

	memset(s, 0, sizeof(*s));
	if (ct_trace_open(&t, path, NULL, NULL, err, sizeof(err))) {
		T_FAIL("cannot open %s: %s", path, err);
		return;
	}
	for (unsigned c = 0; c < ct_trace_chunk_count(t); c++) {
		struct ct_chunk_reader *r;
		struct ct_event ev;

		if (ct_chunk_reader_open(&r, ct_trace_chunk(t, c)->dir, NULL, NULL, err,
					 sizeof(err)))
			continue; /* an empty chunk may have no streams */
		while (ct_chunk_reader_next(r, &ev) == 1 && s->n < 256) {
			int i = s->n++;

			s->ts[i] = ev.ts;
			s->type[i] = ev.type;
			s->pid[i] = ev.pid;
			s->tid[i] = ev.tid;
			s->chunk[i] = c;
			if (ev.type == CT_EV_SPAN_START)
				snprintf(s->name[i], 16, "%s", ev.u.span_start.name);
			if (ev.type == CT_EV_ATTR_INT) {
				snprintf(s->name[i], 16, "%s", ev.u.attr_int.key);
				s->ival[i] = ev.u.attr_int.value;
			}
		}
		ct_chunk_reader_close(r);
	}
	ct_trace_close(t);
}

static int count(const struct seen *s, uint16_t type)
{
	int n = 0;

	for (int i = 0; i < s->n; i++)
		n += s->type[i] == type;
	return n;
}

TEST(order_and_conversion)
{
	struct ct_tracedir_opts o = {.tool = "test"};
	struct ct_foreign_opts fo = {0};
	struct ct_span_ev_clock clk = {.offset_ns = OFFSET, .uncertainty_ns = 25};
	uint64_t s1[2] = {500, 600}, e1[2] = {900, 700};
	uint64_t s2[1] = {100}, e2[1] = {800};
	struct ct_tracedir *td;
	struct ct_foreign *f;
	struct ct_foreign_stats fs;
	struct ct_tracedir_stats st;
	struct ct_nbatch *b;
	struct seen s;
	char path[PATH_MAX], err[256];
	int start_idx = -1;

	make_dir("order", path);
	o.path = path;
	if (ct_tracedir_create(&td, &o, err, sizeof(err))) {
		T_FAIL("%s", err);
		return;
	}
	fo.td = td;
	CHECK_INT(ct_foreign_new(&f, &fo), 0);
	/* Later spans first, then an earlier one: the stream must still be in order. */
	b = batch(s1, e1, 2, 0);
	CHECK_INT(ct_foreign_add(f, b, &clk), 0);
	ct_nbatch_free(b);
	b = batch(s2, e2, 1, 2);
	CHECK_INT(ct_foreign_add(f, b, &clk), 0);
	ct_nbatch_free(b);
	/* Counted in events (9 per span), though a span's events of one time are kept together. */
	ct_foreign_stats(f, &fs);
	CHECK_U64(fs.events_buffered, 27);
	CHECK_INT(ct_foreign_tick(f, 1000 * MS), 0); /* no rotation yet: nothing due */
	CHECK_INT(ct_foreign_flush(f), 0);
	ct_foreign_stats(f, &fs);
	CHECK_U64(fs.events_buffered, 0);
	CHECK_U64(fs.events_written, 27);
	ct_tracedir_stats(td, &st);
	CHECK_INT(st.out_of_order, 0);
	CHECK_INT(st.late, 0);
	ct_foreign_free(f);
	CHECK_INT(ct_tracedir_close(td, "complete"), 0);

	read_trace(path, &s);
	CHECK_INT(count(&s, CT_EV_SPAN_START), 3);
	CHECK_INT(count(&s, CT_EV_SPAN_END), 3);
	CHECK_INT(count(&s, CT_EV_SCOPE_ENTER), 3);
	CHECK_INT(count(&s, CT_EV_SCOPE_EXIT), 3);
	CHECK_INT(count(&s, CT_EV_SPAN_EVENT), 3);
	CHECK_INT(count(&s, CT_EV_PROCESS_INFO), 1); /* one process, one chunk */
	for (int i = 1; i < s.n; i++)
		CHECK(s.ts[i] >= s.ts[i - 1]);
	for (int i = 0; i < s.n; i++) {
		if (s.type[i] == CT_EV_SPAN_START && start_idx < 0)
			start_idx = i;
		if (s.type[i] == CT_EV_SCOPE_ENTER) {
			CHECK_INT(s.pid[i], 777);
			CHECK_INT(s.tid[i], 778);
		}
		if (s.type[i] == CT_EV_ATTR_INT && !strcmp(s.name[i], "crosstrace.time_u"))
			CHECK_INT(s.ival[i], 25 + 1000000);
	}
	/* The first span start is span2 at 100 ms monotonic, though it arrived last. */
	CHECK(start_idx >= 0);
	if (start_idx >= 0) {
		CHECK_STR(s.name[start_idx], "span2");
		CHECK_U64(s.ts[start_idx], 100 * MS);
	}
	/* PROCESS_INFO comes before the first event of its process. */
	CHECK_INT(s.type[0], CT_EV_PROCESS_INFO);
	CHECK_U64(s.ts[0], 100 * MS);
}

TEST(rotation_late_overflow)
{
	struct ct_tracedir_opts o = {.tool = "test", .grace_ns = 200 * MS};
	struct ct_foreign_opts fo = {.grace_ns = 200 * MS};
	struct ct_span_ev_clock clk = {.offset_ns = OFFSET};
	uint64_t sa[2] = {100, 1100}, ea[2] = {200, 1200};
	uint64_t sl[1] = {150}, el[1] = {160};
	uint64_t sn[1] = {1050}, en[1] = {1060};
	struct ct_foreign_stats fs;
	struct ct_tracedir *td;
	struct ct_foreign *f;
	struct ct_nbatch *b;
	struct ct_trace *t;
	struct seen s;
	char path[PATH_MAX], err[256];
	int info0 = 0, info1 = 0;

	make_dir("rotate", path);
	o.path = path;
	if (ct_tracedir_create(&td, &o, err, sizeof(err))) {
		T_FAIL("%s", err);
		return;
	}
	fo.td = td;
	CHECK_INT(ct_foreign_new(&f, &fo), 0);
	b = batch(sa, ea, 2, 0);
	CHECK_INT(ct_foreign_add(f, b, &clk), 0);
	ct_nbatch_free(b);
	/* Chunk 0 ends at 1000 ms. Its events wait until half its grace period has passed. */
	CHECK_INT(ct_foreign_rotate(f, 1000 * MS), 0);
	CHECK_INT(ct_foreign_tick(f, 1050 * MS), 0);
	ct_foreign_stats(f, &fs);
	CHECK_INT(fs.events_written, 0);
	/* An event arriving now for chunk 0 still makes it. */
	b = batch(sl, el, 1, 2);
	CHECK_INT(ct_foreign_add(f, b, &clk), 0);
	ct_nbatch_free(b);
	CHECK_INT(ct_foreign_tick(f, 1100 * MS), 0);
	ct_foreign_stats(f, &fs);
	CHECK(fs.events_written > 0);
	/* Now chunk 0 is written: an older span is late, counted. A span of chunk 1 is fine. */
	b = batch(sl, el, 1, 3);
	CHECK_INT(ct_foreign_add(f, b, &clk), 0);
	ct_nbatch_free(b);
	b = batch(sn, en, 1, 4);
	CHECK_INT(ct_foreign_add(f, b, &clk), 0);
	ct_nbatch_free(b);
	ct_foreign_stats(f, &fs);
	CHECK(fs.late > 0);
	CHECK_INT(ct_foreign_tick(f, 1300 * MS), 0); /* seals chunk 0 */
	CHECK_INT(ct_foreign_flush(f), 0);
	ct_foreign_free(f);
	CHECK_INT(ct_tracedir_close(td, "complete"), 0);

	read_trace(path, &s);
	for (int i = 0; i < s.n; i++) {
		if (s.type[i] == CT_EV_PROCESS_INFO)
			*(s.chunk[i] == 0 ? &info0 : &info1) += 1;
		if (s.type[i] == CT_EV_SPAN_START) {
			/* Placed by time: before the boundary in chunk 0, after it in chunk 1. */
			CHECK_INT(s.chunk[i], s.ts[i] < 1000 * MS ? 0 : 1);
			CHECK(strcmp(s.name[i], "span3") != 0); /* the late one */
		}
	}
	CHECK_INT(count(&s, CT_EV_SPAN_START), 4); /* span0, span1, span2, span4 */
	CHECK_INT(info0, 1);
	CHECK_INT(info1, 1);
	if (ct_trace_open(&t, path, NULL, NULL, err, sizeof(err)) == 0) {
		CHECK_U64(ct_trace_lost(t, "received_late"), fs.late);
		ct_trace_close(t);
	}

	/* A full buffer refuses whole batches (the sender is told to retry): nothing is kept
	 * half, nothing is lost silently. */
	make_dir("overflow", path);
	o.path = path;
	if (ct_tracedir_create(&td, &o, err, sizeof(err))) {
		T_FAIL("%s", err);
		return;
	}
	fo.td = td;
	fo.max_bytes = 200;
	CHECK_INT(ct_foreign_new(&f, &fo), 0);
	b = batch(sa, ea, 2, 0);
	CHECK_INT(ct_foreign_full(f), 0);
	CHECK_INT(ct_foreign_add(f, b, &clk), 0); /* an empty buffer takes a whole batch */
	CHECK_INT(ct_foreign_full(f), 1); /* what a receiver's admit callback asks */
	CHECK_INT(ct_foreign_add(f, b, &clk), CT_EFULL);
	ct_nbatch_free(b);
	ct_foreign_stats(f, &fs);
	CHECK_U64(fs.refused, 2);
	CHECK_U64(fs.spans, 2);
	CHECK_INT(ct_foreign_tick(f, 1300 * MS), 0);
	CHECK_INT(ct_foreign_flush(f), 0);
	ct_foreign_stats(f, &fs);
	CHECK_U64(fs.events_buffered, 0);
	CHECK_INT(ct_foreign_full(f), 0);
	ct_foreign_free(f);
	CHECK_INT(ct_tracedir_close(td, "complete"), 0);
	read_trace(path, &s);
	CHECK_INT(count(&s, CT_EV_SPAN_START), 2);
}

struct got {
	int n, runs;
	uint16_t ids[32];
	uint64_t ts[32];
};

static int emit(void *arg, uint64_t ts, int32_t pid, int32_t tid, const void *events, size_t len,
		uint32_t n)
{
	const uint8_t *p = events, *end = p + len;
	struct got *got = arg;
	uint32_t seen = 0;

	(void)pid;
	(void)tid;
	got->runs++;
	while (end - p >= (ptrdiff_t)sizeof(struct ct_ev_run_hdr)) {
		struct ct_ev_run_hdr h;
		struct ct_event ev;

		memcpy(&h, p, sizeof(h));
		p += sizeof(h);
		/* Every payload decodes with the format's own decoder, using all its bytes. */
		CHECK(h.len <= end - p);
		CHECK_INT(ct_ev_decode(h.id, p, h.len, &ev), (int)h.len);
		if (got->n < 32) {
			got->ids[got->n] = h.id;
			got->ts[got->n++] = ts;
		}
		p += h.len;
		seen++;
	}
	CHECK(p == end);
	CHECK_INT(seen, n);
	return 0;
}

TEST(pure_conversion)
{
	/* ct_span_events alone: the event ids in order for one span with a link. */
	static const uint16_t want[] = {CT_EV_SPAN_START,  CT_EV_ATTR_INT,    CT_EV_ATTR_DOUBLE,
					CT_EV_ATTR_INT,	   CT_EV_SPAN_LINK,   CT_EV_ATTR_STR,
					CT_EV_SCOPE_ENTER, CT_EV_SPAN_EVENT,  CT_EV_ATTR_BOOL,
					CT_EV_SCOPE_EXIT,  CT_EV_SPAN_STATUS, CT_EV_SPAN_END};
	struct ct_span_ev_clock clk = {.offset_ns = OFFSET};
	uint64_t st[1] = {10}, en[1] = {20};
	struct ct_nbatch *b = batch(st, en, 1, 0);
	struct ct_nlink *l = ct_nspan_add_link(b, &b->spans[0]);
	struct got got = {0};
	struct ct_buf scratch;

	b->spans[0].status = CT_NSTATUS_ERROR;
	b->spans[0].status_message = "timeout";
	memset(l->trace_id, 1, 16);
	memset(l->span_id, 2, 8);
	ct_nattrs_add_str(b, &l->attrs, "why", "retry");
	ct_buf_init(&scratch);
	CHECK_INT(ct_span_events(b, &b->spans[0], &clk, &scratch, emit, &got, NULL), 0);
	CHECK_INT(got.runs, 3); /* at the start, the span event's time, the end */
	CHECK_INT(got.n, (int)(sizeof(want) / sizeof(want[0])));
	for (int i = 0; i < got.n && i < (int)(sizeof(want) / sizeof(want[0])); i++)
		CHECK_INT(got.ids[i], want[i]);
	CHECK_U64(got.ts[0], 10 * MS);
	CHECK_U64(got.ts[got.n - 1], 20 * MS);
	ct_buf_fini(&scratch);
	ct_nbatch_free(b);
}

struct adder {
	struct ct_foreign *f;
	int id;
	uint64_t refused;
};

/* Adds 200 batches of 3 spans that started up to 30 ms ago, on the real clock. */
static void *add_loop(void *p)
{
	struct adder *a = p;

	for (int i = 0; i < 200; i++) {
		uint64_t st[3] = {(uint64_t)(i % 30), 10, 29}, en[3] = {30, 20, 30};
		struct ct_span_ev_clock clk;
		struct ct_nbatch *b = batch(st, en, 3, a->id * 1000 + i * 3);

		clk.offset_ns = OFFSET - (int64_t)ct_mono_ns() + 30 * (int64_t)MS;
		clk.uncertainty_ns = 0;
		if (ct_foreign_add(a->f, b, &clk) == CT_EFULL)
			a->refused += 3;
		ct_nbatch_free(b);
		if (i % 20 == 0)
			usleep(1000);
	}
	return NULL;
}

/*
 * Four adders and the owner rotating every 20 ms. With a small memory limit (max_bytes) the
 * owner writes the oldest half early at nearly every tick, so events held from one round are
 * merged with the next round's: the stream must still never go back in time, and every event
 * be written or counted.
 */
static void concurrent(const char *name, size_t max_bytes)
{
	struct ct_tracedir_opts o = {.tool = "test", .grace_ns = 10 * MS};
	struct ct_foreign_opts fo = {.grace_ns = 10 * MS, .max_bytes = max_bytes};
	struct adder a[4];
	pthread_t th[4];
	struct ct_tracedir *td;
	struct ct_foreign *f;
	struct ct_foreign_stats fs;
	struct ct_tracedir_stats st;
	char path[PATH_MAX], err[256];
	uint64_t refused = 0, last_rot;
	int running = 4;

	make_dir(name, path);
	o.path = path;
	if (ct_tracedir_create(&td, &o, err, sizeof(err))) {
		T_FAIL("%s", err);
		return;
	}
	fo.td = td;
	CHECK_INT(ct_foreign_new(&f, &fo), 0);
	for (int i = 0; i < 4; i++) {
		a[i] = (struct adder){.f = f, .id = i};
		pthread_create(&th[i], NULL, add_loop, &a[i]);
	}
	last_rot = ct_mono_ns();
	/* The owner: ticks every millisecond, rotates every 20 ms, until the adders are done. */
	while (running) {
		uint64_t now = ct_mono_ns();

		usleep(1000);
		if (now - last_rot > 20 * MS) {
			CHECK_INT(ct_foreign_rotate(f, now), 0);
			last_rot = now;
		}
		CHECK_INT(ct_foreign_tick(f, now), 0);
		ct_foreign_stats(f, &fs);
		running = fs.spans + fs.refused < 4 * 600;
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		refused += a[i].refused;
	}
	CHECK_INT(ct_foreign_flush(f), 0);
	ct_foreign_stats(f, &fs);
	ct_tracedir_stats(td, &st);
	/* Every event of every span taken is written or counted late: 9 events per span here. */
	CHECK_U64(fs.spans + fs.refused, 2400);
	CHECK_U64(fs.refused, refused);
	CHECK_U64(fs.events_written + fs.late, fs.spans * 9);
	CHECK_U64(fs.overflow, 0);
	CHECK_U64(fs.events_buffered, 0);
	CHECK_U64(st.out_of_order, 0);
	ct_foreign_free(f);
	CHECK_INT(ct_tracedir_close(td, "complete"), 0);
	/* Read back: every event written is there, in time order. */
	{
		struct ct_trace *t;
		uint64_t spans_read = 0, ends_read = 0;
		char e2[256];

		if (ct_trace_open(&t, path, NULL, NULL, e2, sizeof(e2))) {
			T_FAIL("cannot open %s: %s", path, e2);
			return;
		}
		for (unsigned c = 0; c < ct_trace_chunk_count(t); c++) {
			struct ct_chunk_reader *r;
			struct ct_event ev;
			uint64_t prev = 0;

			if (ct_chunk_reader_open(&r, ct_trace_chunk(t, c)->dir, NULL, NULL, e2,
						 sizeof(e2)))
				continue;
			while (ct_chunk_reader_next(r, &ev) == 1) {
				CHECK(ev.ts >= prev);
				prev = ev.ts;
				spans_read += ev.type == CT_EV_SPAN_START;
				ends_read += ev.type == CT_EV_SPAN_END;
			}
			ct_chunk_reader_close(r);
		}
		ct_trace_close(t);
		/*
		 * Late events are single events, refused by the buffer (fs.late) or by a sealed
		 * chunk (st.late: the owner thread late past the grace period, as under ASan).
		 */
		CHECK(spans_read <= fs.spans && ends_read <= fs.spans);
		CHECK(spans_read + ends_read + fs.late + st.late >= 2 * fs.spans);
	}
}

TEST(concurrent_adds_while_rotating)
{
	concurrent("concurrent", 0);
}

TEST(concurrent_over_the_memory_limit)
{
	concurrent("concurrent-small", 16 * 1024);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ct-test-net-events-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(order_and_conversion);
	RUN(rotation_late_overflow);
	RUN(pure_conversion);
	RUN(concurrent_adds_while_rotating);
	RUN(concurrent_over_the_memory_limit);
	if (!t_failed) {
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return test_main_end();
}
