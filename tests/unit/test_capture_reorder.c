// SPDX-License-Identifier: MIT
/*
 * The per-CPU reorder window (capture/reorder.c): whatever the arrival order within the
 * window, events leave sorted by timestamp, equal timestamps in arrival order, payloads
 * intact, nothing lost or duplicated, across arena block boundaries.
 */
#include <errno.h>

#include "capture/reorder.h"
#include "test.h"

struct sink {
	uint64_t last_ts;
	uint32_t last_seq_at_ts;
	long n, unsorted, bad_payload, dup;
	uint8_t *seen;
	size_t nseen;
};

/* Payload: u32 seq, then (seq % 200) bytes of (seq & 0xff). */
static size_t make_payload(uint8_t *buf, uint32_t seq)
{
	size_t len = 4 + seq % 200;

	memcpy(buf, &seq, 4);
	memset(buf + 4, (int)(seq & 0xff), len - 4);
	return len;
}

static int collect(void *arg, uint16_t type, uint64_t ts, int32_t pid, int32_t tid,
		   const void *payload, size_t len)
{
	struct sink *s = arg;
	const uint8_t *p = payload;
	uint32_t seq;

	(void)pid;
	(void)tid;
	if (len < 4) {
		s->bad_payload++;
		return 0;
	}
	memcpy(&seq, p, 4);
	if (len != 4 + seq % 200 || type != (uint16_t)(seq % 7))
		s->bad_payload++;
	for (size_t i = 4; i < len; i++) {
		if (p[i] != (seq & 0xff)) {
			s->bad_payload++;
			break;
		}
	}
	if (s->n && (ts < s->last_ts || (ts == s->last_ts && seq < s->last_seq_at_ts)))
		s->unsorted++;
	s->last_ts = ts;
	s->last_seq_at_ts = seq;
	if (seq < s->nseen) {
		if (s->seen[seq])
			s->dup++;
		s->seen[seq] = 1;
	}
	s->n++;
	return 0;
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

TEST(sorted_complete_and_intact)
{
	enum { N = 200000, WINDOW = 5000 };
	struct ct_reorder *r;
	struct sink s = {0};
	uint8_t buf[256];

	CHECK_INT(ct_reorder_new(&r), 0);
	s.seen = calloc(N, 1);
	s.nseen = N;
	for (uint32_t seq = 0; seq < N; seq++) {
		/* Time advances 100 per event; each event may be up to WINDOW late. */
		uint64_t ts = 1000000 + (uint64_t)seq * 100 - next_rand() % WINDOW;
		size_t len = make_payload(buf, seq);

		CHECK_INT(ct_reorder_push(r, (uint16_t)(seq % 7), ts, 1, 2, buf, len), 0);
		/* The caller's rule: release what is older than newest - window. */
		if (seq % 97 == 0)
			ct_reorder_flush(r, ct_reorder_max_ts(r) - WINDOW, collect, &s);
	}
	CHECK(ct_reorder_inversions(r) > 0);
	ct_reorder_flush(r, UINT64_MAX, collect, &s);
	CHECK_INT(ct_reorder_held(r), 0);
	CHECK_INT(s.n, N);
	CHECK_INT(s.unsorted, 0);
	CHECK_INT(s.bad_payload, 0);
	CHECK_INT(s.dup, 0);
	ct_reorder_free(r);
	free(s.seen);
}

TEST(equal_timestamps_keep_arrival_order)
{
	struct ct_reorder *r;
	struct sink s = {0};
	uint8_t buf[256];

	CHECK_INT(ct_reorder_new(&r), 0);
	s.seen = calloc(64, 1);
	s.nseen = 64;
	/* Pairs at the same time arriving after a later event. */
	for (uint32_t seq = 0; seq < 64; seq++) {
		uint64_t ts = seq % 3 == 2 ? 500 + seq : 100 + seq / 3;
		size_t len = make_payload(buf, seq);

		CHECK_INT(ct_reorder_push(r, (uint16_t)(seq % 7), ts, 0, 0, buf, len), 0);
	}
	CHECK_INT(ct_reorder_flush(r, UINT64_MAX, collect, &s), 64);
	CHECK_INT(s.unsorted, 0);
	CHECK_INT(s.bad_payload, 0);
	ct_reorder_free(r);
	free(s.seen);
}

TEST(limit_holds_back_newer_events)
{
	struct ct_reorder *r;
	struct sink s = {0};
	uint8_t buf[256];

	CHECK_INT(ct_reorder_new(&r), 0);
	for (uint32_t seq = 0; seq < 10; seq++) {
		size_t len = make_payload(buf, seq);

		ct_reorder_push(r, (uint16_t)(seq % 7), 1000 + seq * 10, 0, 0, buf, len);
	}
	CHECK_INT(ct_reorder_flush(r, 1045, collect, &s), 5);
	CHECK_INT(ct_reorder_held(r), 5);
	CHECK_INT(ct_reorder_max_ts(r), 1090);
	CHECK_INT(ct_reorder_flush(r, 1045, collect, &s), 0);
	CHECK_INT(ct_reorder_flush(r, UINT64_MAX, collect, &s), 5);
	/* An oversized payload is refused, not truncated. */
	CHECK_INT(ct_reorder_push(r, 0, 1, 0, 0, buf, 70000), -EINVAL);
	ct_reorder_free(r);
}

TEST(free_with_events_held)
{
	struct ct_reorder *r;
	uint8_t buf[256];

	/* Under ASan this checks that held events' blocks are released. */
	CHECK_INT(ct_reorder_new(&r), 0);
	for (uint32_t seq = 0; seq < 3000; seq++) {
		size_t len = make_payload(buf, seq);

		ct_reorder_push(r, 0, 100000 - seq, 0, 0, buf, len);
	}
	CHECK_INT(ct_reorder_held(r), 3000);
	ct_reorder_free(r);
	ct_reorder_free(NULL);
}

int main(void)
{
	RUN(sorted_complete_and_intact);
	RUN(equal_timestamps_keep_arrival_order);
	RUN(limit_holds_back_newer_events);
	RUN(free_with_events_held);
	return test_main_end();
}
