/* SPDX-License-Identifier: MIT */
/*
 * Decimal digits of an integer, written by hand: the agent's annotation texts and the
 * analysis' cause texts are made for every span, and snprintf was a tenth of their cost.
 * Header-only, pure, thread-safe.
 */
#ifndef CT_UTIL_DECIMAL_H
#define CT_UTIL_DECIMAL_H

#include <stdint.h>

/* Enough for any uint64_t (20 digits) or int64_t (a sign and 19 digits). */
#define CT_DECIMAL_MAX 20

/*
 * Writes the digits of v, and a '-' first when neg, so that they end at end (exclusive);
 * returns where they begin. end must have CT_DECIMAL_MAX bytes before it.
 */
static inline char *ct_decimal(char *end, uint64_t v, int neg)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (neg)
		*--end = '-';
	return end;
}

/* The magnitude of v as unsigned: INT64_MIN has no positive twin in int64_t. */
static inline uint64_t ct_decimal_abs(int64_t v)
{
	return v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
}

#endif
