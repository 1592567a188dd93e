// SPDX-License-Identifier: MIT
/* Open-addressing u64 → u64 map (see hmap.h). */
#include <errno.h>
#include <stdlib.h>

#include "hmap.h"

static inline size_t slot_of(uint64_t key, size_t cap)
{
	/* Fibonacci hashing spreads sequential tids and random span ids alike, provided the
	 * slot is the product's top bits: they depend on every bit of the key, while a middle
	 * bit depends only on the key's bits below it. Span ids that differ in their first
	 * bytes only (an SDK's counter, bench/ingest's ids) differ in the key's top bits and
	 * all fell into a few probe runs of hundreds of slots. */
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> (64 - __builtin_ctzll(cap)));
}

void ct_hmap_init(struct ct_hmap *m)
{
	m->keys = NULL;
	m->vals = NULL;
	m->cap = 0;
	m->n = 0;
}

void ct_hmap_fini(struct ct_hmap *m)
{
	free(m->keys);
	free(m->vals);
	ct_hmap_init(m);
}

uint64_t *ct_hmap_get(const struct ct_hmap *m, uint64_t key)
{
	size_t i;

	if (!m->cap || !key)
		return NULL;
	for (i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key)
			return &m->vals[i];
		if (!m->keys[i])
			return NULL;
	}
}

static int grow(struct ct_hmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 16;
	uint64_t *k = calloc(cap, sizeof(*k)), *v = malloc(cap * sizeof(*v));

	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->keys[i])
			continue;
		for (j = slot_of(m->keys[i], cap); k[j]; j = (j + 1) & (cap - 1))
			;
		k[j] = m->keys[i];
		v[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = k;
	m->vals = v;
	m->cap = cap;
	return 0;
}

int ct_hmap_put(struct ct_hmap *m, uint64_t key, uint64_t val)
{
	size_t i;

	if ((m->n + 1) * 4 > m->cap * 3 && grow(m))
		return -ENOMEM;
	for (i = slot_of(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return 0;
		}
	}
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
	return 0;
}

int ct_hmap_del(struct ct_hmap *m, uint64_t key)
{
	size_t mask = m->cap - 1, i, j;

	if (!m->cap)
		return 0;
	for (i = slot_of(key, m->cap); m->keys[i] != key; i = (i + 1) & mask)
		if (!m->keys[i])
			return 0;
	/* Backward shift: move later members of the probe run into the hole when their home
	 * slot does not lie cyclically in (hole, j]. */
	for (j = i;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!m->keys[j])
			break;
		home = slot_of(m->keys[j], m->cap);
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->keys[i] = 0;
	m->n--;
	return 1;
}

int ct_hmap_next(const struct ct_hmap *m, size_t *it, uint64_t *key, uint64_t *val)
{
	while (*it < m->cap) {
		size_t i = (*it)++;

		if (m->keys[i]) {
			*key = m->keys[i];
			*val = m->vals[i];
			return 1;
		}
	}
	return 0;
}
