/* SPDX-License-Identifier: MIT */
/*
 * A reorder window for one CPU stream. Kernel records of one CPU reach the reader almost in
 * timestamp order, but not quite (an interrupt's record can commit before the record of the
 * program it interrupted, whose timestamp is older), while a CTF stream needs timestamps that
 * never decrease. Events are held here, sorted, until no older one can still arrive.
 * Not thread-safe: one owner (the recorder's drain thread).
 */
#ifndef CT_CAPTURE_REORDER_H
#define CT_CAPTURE_REORDER_H

#include <stddef.h>
#include <stdint.h>

struct ct_reorder;

/* Receives the events that leave the window, in timestamp order. Returns 0 or an error that
 * stops ct_reorder_flush (the event is then considered delivered). */
typedef int (*ct_reorder_emit_fn)(void *arg, uint16_t type, uint64_t ts, int32_t pid, int32_t tid,
				  const void *payload, size_t len);

/* Returns 0 or -ENOMEM. *out is freed with ct_reorder_free. */
int ct_reorder_new(struct ct_reorder **out);

/*
 * Copies an event into the window (payload of len bytes, at most 65535). Equal timestamps
 * keep their arrival order. Returns 0 or -ENOMEM (nothing was stored).
 */
int ct_reorder_push(struct ct_reorder *r, uint16_t type, uint64_t ts, int32_t pid, int32_t tid,
		    const void *payload, size_t len);

/*
 * Emits, oldest first, every held event with ts <= limit (UINT64_MAX: all). Returns the
 * number emitted, or the first error of emit.
 */
int ct_reorder_flush(struct ct_reorder *r, uint64_t limit, ct_reorder_emit_fn emit, void *arg);

/* Events held, and the largest timestamp pushed so far (0 when none). */
size_t ct_reorder_held(const struct ct_reorder *r);
uint64_t ct_reorder_max_ts(const struct ct_reorder *r);
/* Events that had to be moved back past a newer one when pushed (how unordered input is). */
uint64_t ct_reorder_inversions(const struct ct_reorder *r);

void ct_reorder_free(struct ct_reorder *r);

#endif
