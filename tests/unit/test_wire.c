// SPDX-License-Identifier: MIT
/*
 * The native client protocol (format/wire.h):
 *  - hand-made frames fed in every possible split reach the trace directory intact;
 *  - each kind of malformed input ends the connection with a reason and stores nothing of
 *    the bad frame; LOST frames and CLIENT_LOST records reach the loss counters;
 *  - a real traced program (examples/checkout: two processes) streams over a real UNIX socket
 *    into receivers writing one trace directory; what is read back equals, record for record,
 *    what went over the socket, and the thread streams hold what the program says it emitted.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client_trace.h"
#include "crosstrace/crosstrace.h"
#include "format/ctf.h"
#include "format/tracedir.h"
#include "format/wire.h"
#include "test.h"
#include "util/buf.h"

static char tmpdir[256];
static int seq;

static struct ct_tracedir *new_td(char *path, size_t len)
{
	struct ct_tracedir_opts o = {.tool = "test_wire"};
	struct ct_tracedir *td = NULL;
	char err[256];

	snprintf(path, len, "%s/w%d", tmpdir, ++seq);
	o.path = path;
	if (ct_tracedir_create(&td, &o, err, sizeof(err)))
		fprintf(stderr, "%s\n", err);
	return td;
}

/* Appends one record (wire layout) to b. */
static void put_rec(struct ct_buf *b, uint16_t id, uint64_t ts, const void *payload, uint16_t n)
{
	uint8_t h[16] = {0};

	memcpy(h, &id, 2);
	memcpy(h + 2, &n, 2);
	memcpy(h + 8, &ts, 8);
	ct_buf_append(b, h, 16);
	ct_buf_append(b, payload, n);
}

static void put_records_frame(struct ct_buf *b, int32_t tid, uint32_t count, const struct ct_buf *r)
{
	uint8_t h[CT_WIRE_RECORDS_HEADER];

	ct_wire_put_records_header(h, tid, count, r->len);
	ct_buf_append(b, h, sizeof(h));
	ct_buf_append(b, r->data, r->len);
}

/* span_end payload for span id, end time. */
static uint16_t span_end_payload(uint8_t *p, uint64_t id, uint64_t end)
{
	memcpy(p, &id, 8);
	memcpy(p + 8, &end, 8);
	p[16] = 0;
	p[17] = 0;
	return 18;
}

/* A stream with HELLO, 2 records of tid 42, a CLIENT_LOST record, a LOST frame. */
static void make_stream(struct ct_buf *b)
{
	uint8_t hello[CT_WIRE_HELLO_SIZE], lost[CT_WIRE_LOST_SIZE], p[64];
	struct ct_buf r;
	uint64_t cl[2] = {5, 500};

	ct_buf_init(&r);
	ct_wire_put_hello(hello, 1234);
	ct_buf_append(b, hello, sizeof(hello));
	put_rec(&r, 2, 1000, p, span_end_payload(p, 7, 900));
	put_rec(&r, 2, 2000, p, span_end_payload(p, 8, 1900));
	put_rec(&r, 12, 2500, cl, 16);
	put_records_frame(b, 42, 3, &r);
	ct_wire_put_lost(lost, 42, 1500 /* older: clamped */, 3, 300);
	ct_buf_append(b, lost, sizeof(lost));
	ct_buf_fini(&r);
}

TEST(splits)
{
	struct ct_buf b;

	ct_buf_init(&b);
	make_stream(&b);
	/* every split point, and byte by byte */
	for (size_t cut = 0; cut <= b.len; cut += (cut < 40 ? 1 : 7)) {
		char path[300];
		struct ct_tracedir *td = new_td(path, sizeof(path));
		struct ct_wire_conn *c;
		struct ct_wire_conn_stats st;
		struct tevs e;

		CHECK_INT(ct_wire_conn_new(&c, td), 0);
		if (cut == 1) {
			for (size_t i = 0; i < b.len; i++)
				CHECK_INT(ct_wire_conn_feed(c, b.data + i, 1), 0);
		} else {
			CHECK_INT(ct_wire_conn_feed(c, b.data, cut), 0);
			CHECK_INT(ct_wire_conn_feed(c, b.data + cut, b.len - cut), 0);
		}
		CHECK_INT(ct_wire_conn_end(c), 0);
		CHECK_INT(ct_wire_conn_pid(c), 1234);
		ct_wire_conn_stats(c, &st);
		CHECK_U64(st.frames, 3);
		CHECK_U64(st.records, 4);
		CHECK_U64(st.lost_records, 8);
		ct_wire_conn_free(c);
		CHECK_INT(ct_tracedir_close(td, "complete"), 0);
		CHECK_INT(tevs_load(path, &e), 0);
		CHECK_INT(e.n, 4);
		CHECK_U64(e.lost_client, 8);
		CHECK_U64(e.discarded, 8);
		for (size_t i = 0; i < e.n && e.n == 4; i++) {
			CHECK_INT(e.v[i].pid, 1234);
			CHECK_INT(e.v[i].tid, 42);
		}
		if (e.n == 4) {
			CHECK_U64(e.v[0].u.span_end.span_id, 7);
			CHECK_U64(e.v[1].u.span_end.span_id, 8);
			CHECK_U64(e.v[1].u.span_end.end_ns, 1900);
			CHECK_INT(e.v[2].type, CT_EV_CLIENT_LOST);
			CHECK_INT(e.v[3].type, CT_EV_CLIENT_LOST);
			CHECK_U64(e.v[3].ts, 2500);
			CHECK_U64(e.v[3].u.client_lost.records, 3);
		}
		tevs_free(&e);
		if (t_failed_checks)
			break;
	}
	ct_buf_fini(&b);
}

/* Feeds a stream; returns the feed result, the reason, and how many events were stored. */
static int feed_bad(const struct ct_buf *b, char *reason, size_t rlen, size_t *stored)
{
	char path[300];
	struct ct_tracedir *td = new_td(path, sizeof(path));
	struct ct_wire_conn *c;
	struct tevs e;
	int err;

	ct_wire_conn_new(&c, td);
	err = ct_wire_conn_feed(c, b->data, b->len);
	if (!err)
		err = ct_wire_conn_end(c);
	snprintf(reason, rlen, "%s", ct_wire_conn_error(c));
	/* after an error, nothing more is taken */
	if (err)
		CHECK_INT(ct_wire_conn_feed(c, b->data, b->len), err);
	ct_wire_conn_free(c);
	ct_tracedir_close(td, "complete");
	tevs_load(path, &e);
	*stored = e.n;
	tevs_free(&e);
	return err;
}

TEST(malformed)
{
	uint8_t hello[CT_WIRE_HELLO_SIZE], p[64];
	struct ct_buf good, r, b;
	char reason[256];
	size_t stored;

	ct_buf_init(&good);
	ct_buf_init(&r);
	ct_wire_put_hello(hello, 99);
	put_rec(&r, 2, 1000, p, span_end_payload(p, 7, 900));
	put_records_frame(&good, 5, 1, &r);

	struct {
		const char *what;
		int err;
		const char *reason;
	} cases[] = {
		{"no hello", CT_EFORMAT, "instead of HELLO"},
		{"bad magic", CT_EFORMAT, "bad magic"},
		{"newer version", CT_EVERSION, "format version"},
		{"flags", CT_EFORMAT, "flags"},
		{"huge frame", CT_ETOOBIG, "over the limit"},
		{"kernel event", CT_EFORMAT, "not a client event"},
		{"bad payload", CT_EFORMAT, "does not decode"},
		{"count too high", CT_EFORMAT, "holds only"},
		{"trailing bytes", CT_EFORMAT, "after the last"},
		{"truncated", CT_ETRUNC, "inside a frame"},
		{"second hello", CT_EFORMAT, "second HELLO"},
		{"short frame", CT_EFORMAT, "frame length"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t h2[CT_WIRE_HELLO_SIZE];
		int err;

		ct_buf_init(&b);
		memcpy(h2, hello, sizeof(h2));
		switch (i) {
		case 0:
			ct_buf_append(&b, good.data, good.len);
			break;
		case 1:
			h2[8] ^= 0xff;
			ct_buf_append(&b, h2, sizeof(h2));
			break;
		case 2:
			h2[12] = 99;
			ct_buf_append(&b, h2, sizeof(h2));
			break;
		case 3:
			h2[6] = 1;
			ct_buf_append(&b, h2, sizeof(h2));
			break;
		case 4: {
			uint32_t len = CT_WIRE_MAX_FRAME;

			ct_buf_append(&b, hello, sizeof(hello));
			ct_buf_append(&b, &len, 4);
			break;
		}
		case 5: {
			struct ct_buf k;
			uint8_t z[60] = {0};

			ct_buf_init(&k);
			put_rec(&k, 64, 1, z, 52); /* syscall_entry */
			ct_buf_append(&b, hello, sizeof(hello));
			put_records_frame(&b, 5, 1, &k);
			ct_buf_fini(&k);
			break;
		}
		case 6: {
			struct ct_buf k;
			uint8_t s[8 + 8 + 1 + 3] = {0};

			memset(s + 17, 'x', 3); /* message without its NUL */
			ct_buf_init(&k);
			put_rec(&k, 2, 1, s, sizeof(s));
			ct_buf_append(&b, hello, sizeof(hello));
			put_records_frame(&b, 5, 1, &k);
			ct_buf_fini(&k);
			break;
		}
		case 7:
			ct_buf_append(&b, hello, sizeof(hello));
			put_records_frame(&b, 5, 2, &r);
			break;
		case 8: {
			struct ct_buf k;

			ct_buf_init(&k);
			ct_buf_append(&k, r.data, r.len);
			ct_buf_append(&k, "zz", 2);
			ct_buf_append(&b, hello, sizeof(hello));
			put_records_frame(&b, 5, 1, &k);
			ct_buf_fini(&k);
			break;
		}
		case 9:
			ct_buf_append(&b, hello, sizeof(hello));
			ct_buf_append(&b, good.data, good.len - 3);
			break;
		case 10:
			ct_buf_append(&b, hello, sizeof(hello));
			ct_buf_append(&b, hello, sizeof(hello));
			break;
		case 11: {
			uint32_t len = 2;

			ct_buf_append(&b, hello, sizeof(hello));
			ct_buf_append(&b, &len, 4);
			ct_buf_append(&b, "ab", 2);
			break;
		}
		}
		err = feed_bad(&b, reason, sizeof(reason), &stored);
		if (err != cases[i].err || !strstr(reason, cases[i].reason))
			T_FAIL("%s: got %d (%s), expected %d with \"%s\"", cases[i].what, err,
			       reason, cases[i].err, cases[i].reason);
		CHECK_INT(stored, 0);
		ct_buf_fini(&b);
	}
	/* A frame of an unknown type is skipped, the rest goes on. */
	ct_buf_init(&b);
	ct_buf_append(&b, hello, sizeof(hello));
	{
		uint8_t f[12] = {8, 0, 0, 0, 77, 0, 0, 0, 1, 2, 3, 4};

		ct_buf_append(&b, f, sizeof(f));
	}
	ct_buf_append(&b, good.data, good.len);
	CHECK_INT(feed_bad(&b, reason, sizeof(reason), &stored), 0);
	CHECK_INT(stored, 1);
	ct_buf_fini(&b);
	ct_buf_fini(&good);
	ct_buf_fini(&r);
}

/* ---- a real program over a real socket ---- */

struct wire_rec {
	int32_t pid, tid;
	uint16_t id;
	uint64_t ts;
	uint16_t len;
	const uint8_t *payload;
};

static int cmp_rec(const void *a, const void *b)
{
	const struct wire_rec *x = a, *y = b;
	int c;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	c = memcmp(x->payload, y->payload, x->len);
	return c;
}

/* Independently of wire.c: the records of every RECORDS frame in a tapped byte stream. */
static size_t parse_tap(const struct ct_buf *tap, struct wire_rec *out, size_t max)
{
	const uint8_t *p = (const uint8_t *)tap->data, *end = p + tap->len;
	int32_t pid = 0;
	size_t n = 0;

	while (end - p >= 8) {
		uint32_t len;
		uint16_t type;

		memcpy(&len, p, 4);
		memcpy(&type, p + 4, 2);
		if (type == CT_WIRE_HELLO)
			memcpy(&pid, p + 16, 4);
		if (type == CT_WIRE_RECORDS) {
			int32_t tid;
			uint32_t count;
			const uint8_t *q = p + 16;

			memcpy(&tid, p + 8, 4);
			memcpy(&count, p + 12, 4);
			for (uint32_t i = 0; i < count && n < max; i++) {
				struct wire_rec *w = &out[n++];

				w->pid = pid;
				w->tid = tid;
				memcpy(&w->id, q, 2);
				memcpy(&w->len, q + 2, 2);
				memcpy(&w->ts, q + 8, 8);
				w->payload = q + 16;
				q += 16 + w->len;
			}
		}
		if (type == CT_WIRE_THREAD_CTX && n < max) {
			/* Stored as THREAD_CTX_INFO: u32 version, u32 size, s64 offset. */
			static uint8_t payloads[8][16];
			static unsigned k;
			uint8_t *q = payloads[k++ % 8];
			struct wire_rec *w = &out[n++];

			memcpy(q, p + 24, 8);
			memcpy(q + 8, p + 8, 8);
			*w = (struct wire_rec){pid, 0, CT_EV_THREAD_CTX_INFO, 0, 16, q};
			memcpy(&w->ts, p + 16, 8);
		}
		p += 4 + len;
	}
	return n;
}

TEST(real_program_over_socket)
{
	char sock[300], path[300], exe[512], out[4096] = "";
	const char *build = getenv("CT_BUILD_DIR");
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct ct_tracedir *td;
	struct {
		int fd;
		struct ct_wire_conn *c;
		struct ct_buf tap;
	} conns[8];
	struct ct_buf taps[8];
	int n_conns = 0, n_taps = 0, lfd, outp[2], status = -1, done = 0;
	pid_t child;
	struct tevs e;
	uint64_t deadline = ct_now_ns() + 60000000000ull;

	if (!build)
		SKIP("CT_BUILD_DIR not set (run through ctest)");
	snprintf(exe, sizeof(exe), "%s/examples/ct_example_checkout", build);
	snprintf(sock, sizeof(sock), "%s/rec.sock", tmpdir);
	memcpy(addr.sun_path, sock, strlen(sock) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_INT(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	CHECK_INT(listen(lfd, 8), 0);
	td = new_td(path, sizeof(path));
	CHECK(td != NULL);
	CHECK_INT(pipe(outp), 0);
	child = fork();
	if (child == 0) {
		char env[400];

		dup2(outp[1], 1);
		snprintf(env, sizeof(env), "CROSSTRACE_OUTPUT=unix:%s", sock);
		putenv(env);
		setenv("OTEL_SERVICE_NAME", "checkout-wire", 1);
		execl(exe, exe, "6", (char *)NULL);
		_exit(127);
	}
	close(outp[1]);

	/* The recorder loop: accept, feed, until the program is gone and every peer closed. */
	while (ct_now_ns() < deadline) {
		struct pollfd pfd[10];
		int np = 0;

		pfd[np++] = (struct pollfd){.fd = lfd, .events = POLLIN};
		pfd[np++] = (struct pollfd){.fd = outp[0], .events = POLLIN};
		for (int i = 0; i < n_conns; i++)
			pfd[np++] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
		poll(pfd, (nfds_t)np, 100);
		if (pfd[0].revents & POLLIN && n_conns < 8) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0) {
				conns[n_conns].fd = fd;
				ct_wire_conn_new(&conns[n_conns].c, td);
				ct_buf_init(&conns[n_conns].tap);
				n_conns++;
			}
		}
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			size_t have = strlen(out);
			ssize_t r = read(outp[0], out + have, sizeof(out) - have - 1);

			if (r > 0)
				out[have + (size_t)r] = 0;
		}
		for (int i = 0; i < n_conns; i++) {
			uint8_t buf[65536];
			ssize_t r;

			if (!(pfd[2 + i].revents & (POLLIN | POLLHUP)))
				continue;
			r = read(conns[i].fd, buf, sizeof(buf));
			if (r > 0) {
				ct_buf_append(&conns[i].tap, buf, (size_t)r);
				CHECK_INT(ct_wire_conn_feed(conns[i].c, buf, (size_t)r), 0);
				continue;
			}
			CHECK_INT(ct_wire_conn_end(conns[i].c), 0);
			if (*ct_wire_conn_error(conns[i].c))
				fprintf(stderr, "conn: %s\n", ct_wire_conn_error(conns[i].c));
			ct_wire_conn_free(conns[i].c);
			close(conns[i].fd);
			taps[n_taps++] = conns[i].tap;
			conns[i] = conns[--n_conns];
			i--;
		}
		if (!done && waitpid(child, &status, WNOHANG) == child)
			done = 1;
		if (done && n_conns == 0)
			break;
	}
	close(lfd);
	close(outp[0]);
	unlink(sock);
	CHECK(done && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_INT(n_taps, 2); /* the program and its forked worker */
	CHECK_INT(ct_tracedir_close(td, "complete"), 0);
	CHECK_INT(tevs_load(path, &e), 0);
	CHECK_U64(e.errors, 0);
	CHECK_U64(e.lost_client, 0);

	/* What was read back equals what went over the socket, record for record. */
	{
		size_t max = e.n + 1000, nw = 0;
		struct wire_rec *w = calloc(max, sizeof(*w)), *g = calloc(e.n + 1, sizeof(*g));
		uint8_t *enc = malloc(e.n * 2048 + 1);
		size_t off = 0, diff = 0;

		for (int i = 0; i < n_taps; i++)
			nw += parse_tap(&taps[i], w + nw, max - nw);
		for (size_t i = 0; i < e.n; i++) {
			int n = ct_ev_encode(&e.v[i], enc + off, 2048);

			CHECK(n >= 0);
			g[i] = (struct wire_rec){e.v[i].pid, e.v[i].tid,  e.v[i].type,
						 e.v[i].ts,  (uint16_t)n, enc + off};
			off += n > 0 ? (size_t)n : 0;
		}
		CHECK_U64(nw, e.n);
		qsort(w, nw, sizeof(*w), cmp_rec);
		qsort(g, e.n, sizeof(*g), cmp_rec);
		for (size_t i = 0; i < nw && nw == e.n; i++)
			diff += cmp_rec(&w[i], &g[i]) != 0;
		CHECK_U64(diff, 0);
		printf("wire: %zu records over the socket, %zu read back, %zu differ\n", nw, e.n,
		       diff);
		free(w);
		free(g);
		free(enc);
	}
	/* And they are what the program says it emitted, per process. */
	{
		char *line = out;
		int lines = 0;

		while (line && *line) {
			int pid;
			unsigned long emitted;
			size_t n = 0;

			if (sscanf(line, "emitted %d %lu", &pid, &emitted) == 2) {
				for (size_t i = 0; i < e.n; i++)
					n += e.v[i].pid == pid && e.v[i].tid != 0;
				CHECK_U64(n, emitted);
				lines++;
			}
			line = strchr(line, '\n');
			line = line ? line + 1 : NULL;
		}
		CHECK_INT(lines, 2);
	}
	tevs_free(&e);
	for (int i = 0; i < n_taps; i++)
		ct_buf_fini(&taps[i]);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ct-test-wire-%d", (int)getpid());
	mkdir(tmpdir, 0755);
	RUN(splits);
	RUN(malformed);
	RUN(real_program_over_socket);
	if (!t_failed) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return test_main_end();
}
