/* SPDX-License-Identifier: MIT */
/*
 * A merge sort generated per element type with its comparison inlined: qsort calls its
 * comparator through a pointer for every comparison, which showed in the agent's cost per
 * span (the annotator's output list). Halves already in order are not merged, so input made
 * of sorted runs (batches of spans) costs little more than a scan.
 */
#ifndef CT_AGENT_MSORT_H
#define CT_AGENT_MSORT_H

#include <stddef.h>
#include <string.h>

/*
 * Defines static void name(T *v, T *tmp, size_t n): sorts v[0..n) by less(const T *, const T *)
 * ("a before b"), using tmp (room for n / 2 + 1 elements) as scratch. Not stable: give keys
 * that are unique (or whose order among equals does not matter). No allocation.
 */
#define CT_MSORT_DEFINE(name, T, less)                                                   \
	static void name(T *v, T *tmp, size_t n)                                         \
	{                                                                                \
		size_t h = n / 2, i = 0, j = h, k = 0;                                   \
                                                                                         \
		if (n <= 16) {                                                           \
			for (size_t a_ = 1; a_ < n; a_++) {                              \
				T x_ = v[a_];                                            \
				size_t b_ = a_;                                          \
                                                                                         \
				for (; b_ > 0 && less(&x_, &v[b_ - 1]); b_--)            \
					v[b_] = v[b_ - 1];                               \
				v[b_] = x_;                                              \
			}                                                                \
			return;                                                          \
		}                                                                        \
		name(v, tmp, h);                                                         \
		name(v + h, tmp, n - h);                                                 \
		if (!less(&v[h], &v[h - 1]))                                             \
			return; /* already in order */                                   \
		/* The first half moves out; filling v from the front never passes j. */ \
		memcpy(tmp, v, h * sizeof(*v));                                          \
		while (i < h && j < n)                                                   \
			v[k++] = less(&v[j], &tmp[i]) ? v[j++] : tmp[i++];               \
		while (i < h)                                                            \
			v[k++] = tmp[i++];                                               \
	}

#endif
