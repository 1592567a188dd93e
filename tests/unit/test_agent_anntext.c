// SPDX-License-Identifier: MIT
/*
 * The annotation texts written without printf (agent/anntext.h) against snprintf with the
 * formats the annotator used before, as the oracle: integers at their edges and random ones,
 * every text, and truncation in buffers of every small size.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/anntext.h"
#include "test.h"

static uint64_t rnd_state = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Edge values and random ones of every magnitude. */
static uint64_t sample(unsigned i)
{
	static const uint64_t edge[] = {0,
					1,
					9,
					10,
					99,
					100,
					4294967295ull,
					4294967296ull,
					9223372036854775807ull,
					9223372036854775808ull,
					18446744073709551615ull};

	if (i < sizeof(edge) / sizeof(edge[0]))
		return edge[i];
	return rnd() >> (rnd() % 64);
}

TEST(integers)
{
	for (unsigned i = 0; i < 20000; i++) {
		uint64_t v = sample(i);
		char got[32], want[32];
		struct ct_anntext w;

		ct_anntext_init(&w, got, sizeof(got));
		ct_anntext_u64(&w, v);
		CHECK_INT((int)ct_anntext_end(&w), snprintf(want, sizeof(want), "%" PRIu64, v));
		CHECK_STR(got, want);
		ct_anntext_init(&w, got, sizeof(got));
		ct_anntext_i64(&w, (int64_t)v);
		CHECK_INT((int)ct_anntext_end(&w),
			  snprintf(want, sizeof(want), "%" PRId64, (int64_t)v));
		CHECK_STR(got, want);
	}
}

TEST(texts)
{
	static const char *const cats[] = {"cpu_user", "blocked_io", "runnable", ""};
	static const char *const texts[] = {"blocked in read(/data/x)", "", "preempted by tid 7",
					    "a, b: c % d"};

	for (unsigned i = 0; i < 5000; i++) {
		int pid = (int)(int32_t)sample(i);
		unsigned pct = (unsigned)sample(i);
		const char *cat = cats[i % 4], *text = texts[(i / 4) % 4];
		char got[640], want[640];
		size_t n;

		n = ct_anntext_attribution(got, sizeof(got), pid);
		CHECK_INT((int)n, snprintf(want, sizeof(want),
					   "process: the span carries no thread.id, so the kernel "
					   "activity of every thread of pid %d counts",
					   pid));
		CHECK_STR(got, want);
		n = ct_anntext_note(got, sizeof(got), pid);
		CHECK_INT((int)n, snprintf(want, sizeof(want),
					   "no kernel activity of pid %d was recorded during the "
					   "span (is the process watched?)",
					   pid));
		CHECK_STR(got, want);
		n = ct_anntext_cause(got, sizeof(got), pct, cat, text);
		CHECK_INT((int)n, snprintf(want, sizeof(want), "%u%% %s: %s", pct, cat, text));
		CHECK_STR(got, want);
	}
}

/* Cut where snprintf cuts: the same prefix, NUL-terminated, in every buffer size. */
TEST(truncation)
{
	char text[700];

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = 0;
	for (size_t size = 1; size < 720; size++) {
		char *got = malloc(size + 1), want[800];
		size_t n;

		got[size] = '#'; /* must stay: nothing written past size */
		n = ct_anntext_cause(got, size, 4294967295u, "blocked_network", text);
		snprintf(want, size, "%u%% %s: %s", 4294967295u, "blocked_network", text);
		CHECK_STR(got, want);
		CHECK_INT((int)n, (int)strlen(want));
		CHECK(got[size] == '#');
		n = ct_anntext_attribution(got, size, -2147483647 - 1);
		snprintf(want, size,
			 "process: the span carries no thread.id, so the kernel activity of every "
			 "thread of pid %d counts",
			 -2147483647 - 1);
		CHECK_STR(got, want);
		CHECK_INT((int)n, (int)strlen(want));
		CHECK(got[size] == '#');
		free(got);
	}
}

int main(void)
{
	RUN(integers);
	RUN(texts);
	RUN(truncation);
	return test_main_end();
}
