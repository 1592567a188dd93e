/* SPDX-License-Identifier: MIT */
/*
 * Growable arrays for the analysis tables: a struct with v/n/cap members and two macros.
 * Growth failure returns NULL and leaves the array as it was; callers record it in the
 * partial's oom flag and go on, so one allocation failure never corrupts what is known.
 */
#ifndef CT_ANALYSIS_VEC_H
#define CT_ANALYSIS_VEC_H

#include <stdint.h>
#include <stdlib.h>

#define CT_VEC(T)                \
	struct {                 \
		T *v;            \
		uint32_t n, cap; \
	}

/* A named array type, for arrays passed to functions. */
#define CT_VEC_DEF(name, T)      \
	struct name {            \
		T *v;            \
		uint32_t n, cap; \
	}

static inline int ct_vec_grow(void **v, uint32_t *cap, uint32_t need, size_t elsz)
{
	uint32_t c = *cap ? *cap : 4;
	void *p;

	while (c < need)
		c = c > UINT32_MAX / 2 ? UINT32_MAX : c * 2;
	if (c < need)
		return -1;
	p = realloc(*v, (size_t)c * elsz);
	if (!p)
		return -1;
	*v = p;
	*cap = c;
	return 0;
}

static inline void *ct_vec_push_(void **v, uint32_t *n, uint32_t *cap, size_t elsz)
{
	if (*n >= *cap && ct_vec_grow(v, cap, *n + 1, elsz))
		return NULL;
	return (char *)*v + (size_t)(*n)++ * elsz;
}

/* Pointer to a new (uninitialised) last element, or NULL when memory runs out. */
#define CT_VEC_PUSH(a) \
	((__typeof__((a).v))ct_vec_push_((void **)&(a).v, &(a).n, &(a).cap, sizeof(*(a).v)))

/* Makes room for k more elements. Returns 0 or -1. */
#define CT_VEC_RESERVE(a, k)      \
	(((a).n + (k) <= (a).cap) \
		 ? 0              \
		 : ct_vec_grow((void **)&(a).v, &(a).cap, (a).n + (k), sizeof(*(a).v)))

#define CT_VEC_FREE(a)               \
	do {                         \
		free((a).v);         \
		(a).v = NULL;        \
		(a).n = (a).cap = 0; \
	} while (0)

#endif
