// SPDX-License-Identifier: MIT
/*
 * Trace format: payload encode/decode round trips, trace directories written with rotation
 * and read back, babeltrace2 agreeing with our reader, and damaged chunks reported by file and
 * offset while the rest still reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crosstrace/crosstrace.h"
#include "format/ctf.h"
#include "format/ctf_stream.h"
#include "format/event.h"
#include "format/trace_reader.h"
#include "format/tracedir.h"
#include "test.h"
#include "util/clock.h"

static char tmpdir[PATH_MAX];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ct-test-format-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(2);
	}
}

TEST(test_roundtrip_all_types)
{
	uint8_t buf[512];
	struct ct_event in, out;
	static const uint8_t addr[] = {2, 0, 0x1f, 0x90, 127, 0, 0, 1};
	int n, m;

	memset(&in, 0, sizeof(in));
	in.type = CT_EV_SPAN_START;
	in.u.span_start.trace_hi = 0x0102030405060708ull;
	in.u.span_start.trace_lo = 0x1112131415161718ull;
	in.u.span_start.span_id = 42;
	in.u.span_start.parent_id = 7;
	in.u.span_start.start_ns = 123456789;
	in.u.span_start.flags = CT_SPAN_FLAG_SAMPLED;
	in.u.span_start.kind = CT_SPAN_KIND_SERVER;
	in.u.span_start.name = "GET /cart";
	n = ct_ev_encode(&in, buf, sizeof(buf));
	CHECK(n > 0);
	m = ct_ev_decode(CT_EV_SPAN_START, buf, (size_t)n, &out);
	CHECK_INT(m, n);
	CHECK_U64(out.u.span_start.trace_lo, in.u.span_start.trace_lo);
	CHECK_U64(out.u.span_start.start_ns, 123456789);
	CHECK_STR(out.u.span_start.name, "GET /cart");
	CHECK_INT(out.u.span_start.name_len, 9);

	memset(&in, 0, sizeof(in));
	in.type = CT_EV_SYSCALL_ENTRY_ADDR;
	in.u.syscall_entry_addr.nr = 42;
	for (int i = 0; i < 6; i++)
		in.u.syscall_entry_addr.args[i] = (uint64_t)i * 1000;
	in.u.syscall_entry_addr.addr = addr;
	in.u.syscall_entry_addr.addr_len = sizeof(addr);
	n = ct_ev_encode(&in, buf, sizeof(buf));
	CHECK_INT(n, 4 + 48 + 2 + 8);
	m = ct_ev_decode(CT_EV_SYSCALL_ENTRY_ADDR, buf, (size_t)n, &out);
	CHECK_INT(m, n);
	CHECK_U64(out.u.syscall_entry_addr.args[5], 5000);
	CHECK_INT(out.u.syscall_entry_addr.addr_len, 8);
	CHECK(!memcmp(out.u.syscall_entry_addr.addr, addr, 8));

	memset(&in, 0, sizeof(in));
	in.type = CT_EV_ATTR_DOUBLE;
	in.u.attr_double.key = "ratio";
	in.u.attr_double.value = 0.125;
	n = ct_ev_encode(&in, buf, sizeof(buf));
	m = ct_ev_decode(CT_EV_ATTR_DOUBLE, buf, (size_t)n, &out);
	CHECK_INT(m, n);
	CHECK(out.u.attr_double.value == 0.125);
}

TEST(test_decode_rejects_bad_payloads)
{
	uint8_t buf[64];
	struct ct_event ev;

	memset(buf, 'x', sizeof(buf));
	/* span_end: u64 u64 u8 then a string that never ends. */
	CHECK_INT(ct_ev_decode(CT_EV_SPAN_END, buf, sizeof(buf), &ev), CT_EFORMAT);
	CHECK_INT(ct_ev_decode(CT_EV_SPAN_END, buf, 10, &ev), CT_ETRUNC);
	CHECK_INT(ct_ev_decode(999, buf, sizeof(buf), &ev), -ENOENT);
	/* A byte sequence announcing more than there is. */
	memset(buf, 0, sizeof(buf));
	buf[4 + 48] = 200;
	CHECK_INT(ct_ev_decode(CT_EV_SYSCALL_ENTRY_ADDR, buf, 60, &ev), CT_ETRUNC);
	CHECK_INT(ct_ev_encode(&(struct ct_event){.type = CT_EV_SYSCALL_ENTRY}, buf, 10),
		  CT_ETOOBIG);
}

static int append_syscall(struct ct_tdstream *s, uint64_t ts, int tid, uint32_t nr)
{
	uint8_t p[64], *q = p;

	q = ct_put_u32(q, nr);
	for (int i = 0; i < 6; i++)
		q = ct_put_u64(q, (uint64_t)i);
	return ct_tdstream_append(s, CT_EV_SYSCALL_ENTRY, ts, 100, tid, p, (size_t)(q - p));
}

static unsigned long long count_with_reader(const char *dir, uint64_t *errors, int *sorted)
{
	char err[512];
	struct ct_trace *t;
	unsigned long long n = 0;

	*sorted = 1;
	*errors = 0;
	if (ct_trace_open(&t, dir, NULL, NULL, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 0;
	}
	for (unsigned i = 0; i < ct_trace_chunk_count(t); i++) {
		const struct ct_chunk_meta *m = ct_trace_chunk(t, i);
		struct ct_chunk_reader *r;
		struct ct_event ev;
		uint64_t last = 0;

		if (ct_chunk_reader_open(&r, m->dir, NULL, NULL, err, sizeof(err))) {
			(*errors)++;
			continue;
		}
		while (ct_chunk_reader_next(r, &ev) > 0) {
			if (ev.ts < last || ev.ts < m->begin_ns ||
			    (m->end_ns != UINT64_MAX && ev.ts >= m->end_ns))
				*sorted = 0;
			last = ev.ts;
			n++;
		}
		*errors += ct_chunk_reader_errors(r);
		ct_chunk_reader_close(r);
	}
	ct_trace_close(t);
	return n;
}

/* Counts event lines babeltrace2 prints for dir, or -1 when babeltrace2 is unavailable. */
static long long count_with_babeltrace(const char *dir)
{
	char cmd[PATH_MAX + 128], line[4096];
	long long n = 0;
	FILE *p;

	if (system("command -v babeltrace2 >/dev/null 2>&1"))
		return -1;
	snprintf(cmd, sizeof(cmd), "babeltrace2 '%s' 2>/dev/null; echo \"rc=$?\"", dir);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		if (!strncmp(line, "rc=", 3)) {
			if (atoi(line + 3))
				n = -2;
			break;
		}
		if (line[0] == '[')
			n++;
	}
	pclose(p);
	return n;
}

TEST(test_tracedir_rotation_and_babeltrace)
{
	char dir[PATH_MAX], err[256];
	struct ct_tracedir_opts o = {0};
	struct ct_tracedir *td;
	struct ct_tdstream *cpu0, *cpu1, *ust;
	uint64_t t0 = ct_mono_ns(), ts, errors;
	unsigned long long written = 0;
	int sorted;

	snprintf(dir, sizeof(dir), "%s/rot", tmpdir);
	o.path = dir;
	o.grace_ns = 1; /* seal as soon as the next tick comes */
	o.tool = "test_format";
	CHECK_INT(ct_tracedir_create(&td, &o, err, sizeof(err)), 0);
	CHECK_INT(ct_tracedir_stream(td, "kernel_cpu0", 0, &cpu0), 0);
	CHECK_INT(ct_tracedir_stream(td, "kernel_cpu1", 1, &cpu1), 0);
	CHECK_INT(ct_tracedir_stream(td, "ust_100_101", CT_CTF_NO_CPU, &ust), 0);
	CHECK_INT(ct_tracedir_stream(td, "bad/name", 0, &ust), -EINVAL);
	CHECK_INT(ct_tracedir_stream(td, "ust_100_101", CT_CTF_NO_CPU, &ust), 0);
	ts = t0 + 10;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 5000; i++) {
			ts += 100;
			CHECK_INT(append_syscall(i % 2 ? cpu0 : cpu1, ts, 101 + i % 3,
						 (uint32_t)i % 300),
				  0);
			written++;
			if (i % 10 == 0) {
				uint8_t p[64], *q = p;

				q = ct_put_u64(q, 7);
				q = ct_put_u64(q, ts);
				q = ct_put_u8(q, 0);
				q = ct_put_str(q, "", 0);
				CHECK_INT(ct_tdstream_append(ust, CT_EV_SPAN_END, ts, 100, 101, p,
							     (size_t)(q - p)),
					  0);
				written++;
			}
		}
		CHECK_INT(ct_tracedir_rotate(td, ts + 1), 0);
		/* In-flight events older than the boundary still go to the previous chunk. */
		CHECK_INT(append_syscall(cpu0, ts, 101, 1), 0);
		written++;
		ts += 1;
		/* At the boundary: the new chunk, though the stream's last event went to the old. */
		CHECK_INT(append_syscall(cpu0, ts, 101, 1), 0);
		written++;
		CHECK_INT(ct_tracedir_tick(td, ts + 1000), 0);
	}
	/* Older than every open chunk: dropped and counted, never silently. */
	CHECK_INT(append_syscall(cpu1, t0, 101, 1), 1);
	/* Going backwards within a stream: dropped and counted. */
	CHECK_INT(append_syscall(cpu1, ts - 50, 101, 1), 1);
	ct_tdstream_lost(cpu0, "kernel_events", ts, 17);
	{
		struct ct_tracedir_stats st;

		ct_tracedir_stats(td, &st);
		CHECK_U64(st.events, written);
		CHECK_U64(st.late, 1);
		CHECK_U64(st.out_of_order, 1);
		CHECK_U64(st.lost, 17);
		CHECK_INT(st.chunks, 4);
	}
	CHECK_INT(ct_tracedir_close(td, "complete"), 0);

	CHECK_U64(count_with_reader(dir, &errors, &sorted), written);
	CHECK_U64(errors, 0);
	CHECK(sorted);
	{
		char err2[256];
		struct ct_trace *t;

		CHECK_INT(ct_trace_open(&t, dir, NULL, NULL, err2, sizeof(err2)), 0);
		CHECK_INT(ct_trace_chunk_count(t), 4);
		CHECK_STR(ct_trace_status(t), "complete");
		CHECK_U64(ct_trace_lost(t, "kernel_events"), 17);
		CHECK_U64(ct_trace_lost(t, "late"), 1);
		CHECK(ct_trace_chunk(t, 3)->complete);
		ct_trace_close(t);
	}
	{
		char chunks[PATH_MAX];
		long long bt;

		snprintf(chunks, sizeof(chunks), "%s/chunks", dir);
		bt = count_with_babeltrace(chunks);
		if (bt == -1 && getenv("CI"))
			T_FAIL("babeltrace2 is not installed (scripts/install-deps.sh installs "
			       "it)");
		else if (bt != -1)
			CHECK_INT(bt, (long long)written);
	}
}

/*
 * Past 16 chunks the writer's table of chunks grows while the previous chunk is still open
 * for late events (the grace period): events routed to it must land in it, and its counts in
 * the manifest must stay right (with ASan, a stale pointer into the old table is an error).
 */
TEST(test_tracedir_many_chunks_with_grace)
{
	char dir[PATH_MAX], err[256];
	struct ct_tracedir_opts o = {0};
	struct ct_tracedir *td;
	struct ct_tdstream *cpu0, *cpu1;
	uint64_t ts = ct_mono_ns(), errors, in_manifest = 0;
	unsigned long long written = 0;
	struct ct_trace *t;
	int sorted, chunks = 40;

	snprintf(dir, sizeof(dir), "%s/many", tmpdir);
	o.path = dir;
	o.grace_ns = 1000;
	o.packet_bytes = 4096;
	CHECK_INT(ct_tracedir_create(&td, &o, err, sizeof(err)), 0);
	CHECK_INT(ct_tracedir_stream(td, "kernel_cpu0", 0, &cpu0), 0);
	CHECK_INT(ct_tracedir_stream(td, "kernel_cpu1", 1, &cpu1), 0);
	for (int c = 0; c < chunks - 1; c++) {
		for (int i = 0; i < 50; i++) {
			CHECK_INT(append_syscall(cpu0, ts += 10, 101, (uint32_t)i), 0);
			written++;
		}
		CHECK_INT(ct_tracedir_rotate(td, ts + 5), 0);
		/* Older than the boundary: into the previous chunk, still open. */
		CHECK_INT(append_syscall(cpu1, ts + 1, 101, 7), 0);
		CHECK_INT(append_syscall(cpu0, ts + 20, 101, 8), 0);
		written += 2;
		ts += 20;
		CHECK_INT(ct_tracedir_tick(td, ts + 2000), 0);
	}
	CHECK_INT(ct_tracedir_close(td, "complete"), 0);
	CHECK_U64(count_with_reader(dir, &errors, &sorted), written);
	CHECK_U64(errors, 0);
	CHECK(sorted);
	CHECK_INT(ct_trace_open(&t, dir, NULL, NULL, err, sizeof(err)), 0);
	CHECK_INT(ct_trace_chunk_count(t), chunks);
	for (int c = 0; c < chunks; c++)
		in_manifest += ct_trace_chunk(t, (unsigned)c)->events;
	CHECK_U64(in_manifest, written);
	/* Each chunk but the last: 50 of its own, its late one, and the first of the next. */
	CHECK_U64(ct_trace_chunk(t, 20)->events, 52);
	ct_trace_close(t);
}

/* The newest chunk, sealed at close, ends after its last event even when that event is ahead of
 * this host's clock (times converted from another host's, or a test's own clock). */
TEST(test_tracedir_last_chunk_covers_its_events)
{
	char dir[PATH_MAX], err[256];
	struct ct_tracedir_opts o = {0};
	struct ct_tracedir *td;
	struct ct_tdstream *cpu0;
	uint64_t now = ct_mono_ns(), errors;
	struct ct_trace *t;
	int sorted;

	snprintf(dir, sizeof(dir), "%s/ahead", tmpdir);
	o.path = dir;
	CHECK_INT(ct_tracedir_create(&td, &o, err, sizeof(err)), 0);
	CHECK_INT(ct_tracedir_stream(td, "kernel_cpu0", 0, &cpu0), 0);
	CHECK_INT(append_syscall(cpu0, now, 101, 1), 0);
	CHECK_INT(append_syscall(cpu0, now + 10000000000ull, 101, 2), 0);
	CHECK_INT(ct_tracedir_close(td, "complete"), 0);
	CHECK_U64(count_with_reader(dir, &errors, &sorted), 2);
	CHECK_U64(errors, 0);
	CHECK(sorted);
	CHECK_INT(ct_trace_open(&t, dir, NULL, NULL, err, sizeof(err)), 0);
	CHECK_U64(ct_trace_chunk(t, 0)->end_ns, now + 10000000001ull);
	ct_trace_close(t);
}

/*
 * A run of events (one time, process and thread) is written as the same events appended one
 * by one: in order, across packets, counted in the chunk, and dropped whole (each event
 * counted) when late or out of order.
 */
TEST(test_tracedir_append_run)
{
	char dir[PATH_MAX], err[256];
	struct ct_tracedir_opts o = {0};
	struct ct_tracedir_stats st;
	struct ct_tracedir *td;
	struct ct_tdstream *s;
	struct ct_chunk_reader *r;
	struct ct_trace *t;
	struct ct_event ev;
	uint8_t run[256], *p = run, big[300 * 12], *q = big;
	uint64_t ts = ct_mono_ns();
	static const uint16_t want[] = {CT_EV_SPAN_END, CT_EV_SCOPE_EXIT, CT_EV_SPAN_END};
	int n = 0;

	for (int i = 0; i < 3; i++) {
		struct ct_ev_run_hdr h = {want[i], want[i] == CT_EV_SCOPE_EXIT ? 8 : 18};

		memcpy(p, &h, sizeof(h));
		p += sizeof(h);
		p = ct_put_u64(p, (uint64_t)i + 1);
		if (want[i] == CT_EV_SPAN_END) {
			p = ct_put_u64(p, ts);
			p = ct_put_u8(p, 0);
			p = ct_put_u8(p, 0); /* empty message */
		}
	}
	/* 300 scope exits of 8 bytes: over two packets of 4 KiB. */
	for (int i = 0; i < 300; i++) {
		struct ct_ev_run_hdr h = {CT_EV_SCOPE_EXIT, 8};

		memcpy(q, &h, sizeof(h));
		q = ct_put_u64(q + sizeof(h), (uint64_t)i + 100);
	}
	snprintf(dir, sizeof(dir), "%s/run", tmpdir);
	o.path = dir;
	o.packet_bytes = 4096;
	CHECK_INT(ct_tracedir_create(&td, &o, err, sizeof(err)), 0);
	CHECK_INT(ct_tracedir_stream(td, "foreign", CT_CTF_NO_CPU, &s), 0);
	CHECK_INT(ct_tdstream_append_run(s, ts, 7, 8, run, (size_t)(p - run)), 0);
	CHECK_INT(ct_tdstream_append_run(s, ts - 1, 7, 8, run, (size_t)(p - run)), 1);
	CHECK_INT(ct_tdstream_append_run(s, ts + 1, 7, 8, big, (size_t)(q - big)), 0);
	ct_tracedir_stats(td, &st);
	CHECK_U64(st.events, 303);
	CHECK_U64(st.out_of_order, 3);
	CHECK_INT(ct_tracedir_close(td, "complete"), 0);
	CHECK_INT(ct_trace_open(&t, dir, NULL, NULL, err, sizeof(err)), 0);
	CHECK_U64(ct_trace_chunk(t, 0)->events, 303);
	CHECK_INT(ct_chunk_reader_open(&r, ct_trace_chunk(t, 0)->dir, NULL, NULL, err, sizeof(err)),
		  0);
	while (ct_chunk_reader_next(r, &ev) == 1) {
		if (n < 3) {
			CHECK_INT(ev.type, want[n]);
			CHECK_U64(ev.ts, ts);
		} else {
			CHECK_INT(ev.type, CT_EV_SCOPE_EXIT);
			CHECK_U64(ev.u.scope_exit.span_id, (uint64_t)n - 3 + 100);
			CHECK_U64(ev.ts, ts + 1);
		}
		CHECK_INT(ev.pid, 7);
		CHECK_INT(ev.tid, 8);
		n++;
	}
	CHECK_INT(n, 303);
	CHECK_U64(ct_chunk_reader_errors(r), 0);
	ct_chunk_reader_close(r);
	ct_trace_close(t);
}

struct errlog {
	int n;
	char last[1024];
};

static void on_err(void *arg, int code, const char *msg)
{
	struct errlog *l = arg;

	(void)code;
	l->n++;
	snprintf(l->last, sizeof(l->last), "%s", msg);
}

static void write_trace(const char *dir, int chunks, int per_chunk)
{
	char err[256];
	struct ct_tracedir_opts o = {.path = dir, .grace_ns = 1, .packet_bytes = 4096};
	struct ct_tracedir *td;
	struct ct_tdstream *s;
	uint64_t ts = ct_mono_ns();

	if (ct_tracedir_create(&td, &o, err, sizeof(err)) ||
	    ct_tracedir_stream(td, "kernel_cpu0", 0, &s)) {
		fprintf(stderr, "%s\n", err);
		exit(2);
	}
	for (int c = 0; c < chunks; c++) {
		for (int i = 0; i < per_chunk; i++)
			append_syscall(s, ++ts, 5, 0);
		ct_tracedir_rotate(td, ++ts);
		ct_tracedir_tick(td, ts + 10);
	}
	ct_tracedir_close(td, "complete");
}

TEST(test_damaged_chunks)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], err[512];
	struct errlog log = {0};
	struct ct_chunk_reader *r;
	struct ct_event ev;
	struct stat sb;
	uint64_t errors;
	int sorted, n = 0, fd;

	snprintf(dir, sizeof(dir), "%s/damaged", tmpdir);
	write_trace(dir, 3, 1000); /* 3 full chunks + an empty last one */

	/* Truncate chunk 1 mid-packet. */
	snprintf(path, sizeof(path), "%s/chunks/000001/kernel_cpu0", dir);
	CHECK_INT(stat(path, &sb), 0);
	CHECK_INT(truncate(path, sb.st_size - 100), 0);
	/* The trace root is not a chunk. */
	CHECK_INT(ct_chunk_reader_open(&r, dir, on_err, &log, err, sizeof(err)), -ENOENT);
	snprintf(path, sizeof(path), "%s/chunks/000001", dir);
	if (ct_chunk_reader_open(&r, path, on_err, &log, err, sizeof(err))) {
		T_FAIL("%s", err);
		return;
	}
	while (ct_chunk_reader_next(r, &ev) > 0)
		n++;
	ct_chunk_reader_close(r);
	CHECK(n > 0 && n < 1000);
	CHECK_INT(log.n, 1);
	CHECK(strstr(log.last, "chunks/000001/kernel_cpu0: offset ") != NULL);
	CHECK(strstr(log.last, "truncated packet") != NULL);

	/* Corrupt an event's id inside chunk 2's first packet. */
	snprintf(path, sizeof(path), "%s/chunks/000002/kernel_cpu0", dir);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	if (fd >= 0) {
		uint16_t bad_size = 60000;

		/* second event's size field */
		CHECK_INT(pwrite(fd, &bad_size, 2,
				 CT_CTF_PACKET_PREFIX + CT_CTF_EVENT_HEADER_SIZE + 52 + 18),
			  2);
		close(fd);
	}
	/* Chunk 0 loses its metadata entirely. */
	snprintf(path, sizeof(path), "%s/chunks/000000/metadata", dir);
	CHECK_INT(unlink(path), 0);

	/* The trace as a whole still reads: chunk 0 skipped, chunk 1 up to the damage,
	 * chunk 2 minus one packet. */
	n = (int)count_with_reader(dir, &errors, &sorted);
	CHECK(n > 1000 && n < 2000);
	CHECK_U64(errors, 3);
	CHECK(sorted);
}

int main(int argc, char **argv)
{
	/* Used by the CLI tests: a small known trace (3 chunks x 1000 events). */
	if (argc == 3 && !strcmp(argv[1], "--make-trace")) {
		write_trace(argv[2], 3, 1000);
		return 0;
	}
	make_tmpdir();
	RUN(test_roundtrip_all_types);
	RUN(test_decode_rejects_bad_payloads);
	RUN(test_tracedir_rotation_and_babeltrace);
	RUN(test_tracedir_many_chunks_with_grace);
	RUN(test_tracedir_last_chunk_covers_its_events);
	RUN(test_tracedir_append_run);
	RUN(test_damaged_chunks);
	if (!t_failed) {
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
	return test_main_end();
}
