// SPDX-License-Identifier: MIT
/*
 * The generated merge sort (util/msort.h) against qsort as the oracle: random keys
 * with many ties broken by a unique sequence number, runs already in order (batches of spans),
 * reversed input, and every small size around the insertion-sort cutoff.
 */
#include <stdint.h>
#include <stdlib.h>

#include "util/msort.h"
#include "test.h"

struct item {
	uint64_t ts;
	uint8_t cls;
	uint64_t seq; /* unique: the order is total */
};

static inline int item_less(const struct item *a, const struct item *b)
{
	if (a->ts != b->ts)
		return a->ts < b->ts;
	if (a->cls != b->cls)
		return a->cls < b->cls;
	return a->seq < b->seq;
}

CT_MSORT_DEFINE(item_sort, struct item, item_less)

static int item_cmp(const void *x, const void *y)
{
	return item_less(x, y) ? -1 : item_less(y, x) ? 1 : 0;
}

static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Fills n items in one of four shapes, sorts a copy each way, and compares. */
static void check(size_t n, unsigned shape)
{
	struct item *a = malloc((n + 1) * sizeof(*a)), *b = malloc((n + 1) * sizeof(*b));
	struct item *tmp = malloc((n / 2 + 1) * sizeof(*tmp));
	uint64_t t = 0;

	for (size_t i = 0; i < n; i++) {
		switch (shape) {
		case 0: /* random, many equal times */
			a[i].ts = rnd() % 64;
			break;
		case 1: /* sorted runs of a random length, each starting anywhere */
			if (rnd() % 100 == 0)
				t = rnd() % 1000;
			a[i].ts = t += rnd() % 3;
			break;
		case 2: /* reversed */
			a[i].ts = n - i;
			break;
		default: /* sorted */
			a[i].ts = i;
			break;
		}
		a[i].cls = (uint8_t)(rnd() % 3);
		a[i].seq = rnd() % 2 ? i : n + i;
	}
	memcpy(b, a, n * sizeof(*a));
	item_sort(a, tmp, n);
	qsort(b, n, sizeof(*b), item_cmp);
	for (size_t i = 0; i < n; i++)
		if (a[i].ts != b[i].ts || a[i].cls != b[i].cls || a[i].seq != b[i].seq) {
			T_FAIL("n %zu shape %u: item %zu differs from qsort's order", n, shape, i);
			break;
		}
	free(a);
	free(b);
	free(tmp);
}

TEST(small_sizes)
{
	for (size_t n = 0; n < 80; n++)
		for (unsigned shape = 0; shape < 4; shape++)
			check(n, shape);
}

TEST(large_sizes)
{
	for (unsigned r = 0; r < 200; r++)
		check(rnd() % 20000, r % 4);
}

int main(void)
{
	RUN(small_sizes);
	RUN(large_sizes);
	return test_main_end();
}
