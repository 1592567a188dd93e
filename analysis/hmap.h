/* SPDX-License-Identifier: MIT */
/*
 * An open-addressing hash map from non-zero u64 keys to u64 values (indices, pointers) for
 * the analysis tables: threads by tid, spans by id, fds by (pid, fd). Linear probing with
 * backward-shift deletion, so lookups never walk tombstones. Not thread-safe; the caller owns
 * the struct (init/fini).
 */
#ifndef CT_ANALYSIS_HMAP_H
#define CT_ANALYSIS_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct ct_hmap {
	uint64_t *keys; /* 0 = empty slot */
	uint64_t *vals;
	size_t cap; /* power of two, or 0 */
	size_t n;
};

void ct_hmap_init(struct ct_hmap *m);
void ct_hmap_fini(struct ct_hmap *m);

/* The value of key (non-zero), or NULL when absent. Valid until the next insertion. */
uint64_t *ct_hmap_get(const struct ct_hmap *m, uint64_t key);

/* Sets key (non-zero) to val. Returns 0 or -ENOMEM (map unchanged). */
int ct_hmap_put(struct ct_hmap *m, uint64_t key, uint64_t val);

/* Removes key; returns 1 when it was present. */
int ct_hmap_del(struct ct_hmap *m, uint64_t key);

/* Iteration: for (size_t i = 0; ct_hmap_next(m, &i, &k, &v);) — no insertion meanwhile. */
int ct_hmap_next(const struct ct_hmap *m, size_t *it, uint64_t *key, uint64_t *val);

#endif
