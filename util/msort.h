/* SPDX-License-Identifier: MIT */
/*
 * A merge sort generated per element type with its comparison inlined: qsort calls its
 * comparator through a pointer for every comparison, which showed in the agent's cost per
 * span (the annotator's output list, the foreign stream's records). Made for input that is
 * nearly in order (batches of spans, a span's end after its children's starts): halves already
 * in order are not merged, and of the others only the elements out of place move.
 */
#ifndef CT_UTIL_MSORT_H
#define CT_UTIL_MSORT_H

#include <stddef.h>
#include <string.h>

/*
 * Defines static void name(T *v, T *tmp, size_t n): sorts v[0..n) by less(const T *, const T *)
 * ("a before b"), using tmp (room for n / 2 + 1 elements) as scratch. Equal elements keep their
 * order. No allocation. Also defines name##_rank, its helper.
 */
#define CT_MSORT_DEFINE(name, T, less)                                                      \
	/* How many of a[0..n) (sorted) come before x. */                                   \
	static size_t name##_rank(const T *a, size_t n, const T *x)                         \
	{                                                                                   \
		size_t lo_ = 0, hi_ = n;                                                    \
                                                                                            \
		while (lo_ < hi_) {                                                         \
			size_t mid_ = (lo_ + hi_) / 2;                                      \
                                                                                            \
			if (less(&a[mid_], x))                                              \
				lo_ = mid_ + 1;                                             \
			else                                                                \
				hi_ = mid_;                                                 \
		}                                                                           \
		return lo_;                                                                 \
	}                                                                                   \
                                                                                            \
	static void name(T *v, T *tmp, size_t n)                                            \
	{                                                                                   \
		size_t h = n / 2, lo, hi, m, i = 0, j = h, k;                               \
                                                                                            \
		if (n <= 16) {                                                              \
			for (size_t a_ = 1; a_ < n; a_++) {                                 \
				T x_ = v[a_];                                               \
				size_t b_ = a_;                                             \
                                                                                            \
				for (; b_ > 0 && less(&x_, &v[b_ - 1]); b_--)               \
					v[b_] = v[b_ - 1];                                  \
				v[b_] = x_;                                                 \
			}                                                                   \
			return;                                                             \
		}                                                                           \
		name(v, tmp, h);                                                            \
		name(v + h, tmp, n - h);                                                    \
		if (!less(&v[h], &v[h - 1]))                                                \
			return; /* already in order */                                      \
		/* v[0..lo) precede the right half's first, v[hi..n) follow the left's    \
		 * last: in place. The left's others move out; filling v from lo never    \
		 * passes j. */ \
		lo = name##_rank(v, h, &v[h]);                                              \
		hi = h + name##_rank(v + h, n - h, &v[h - 1]);                              \
		m = h - lo;                                                                 \
		memcpy(tmp, v + lo, m * sizeof(*v));                                        \
		for (k = lo; i < m && j < hi;)                                              \
			v[k++] = less(&v[j], &tmp[i]) ? v[j++] : tmp[i++];                  \
		while (i < m)                                                               \
			v[k++] = tmp[i++];                                                  \
	}

#endif
