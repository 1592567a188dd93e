// SPDX-License-Identifier: MIT
/*
 * The consumer half of the per-thread record ring and its allocation; the producer half is
 * inline in ring.h because it sits on the application's hot path.
 */
#include <errno.h>
#include <stdlib.h>

#include "ring.h"

int ct__ring_new(struct ct__ring **out, size_t bytes)
{
	struct ct__ring *r;
	size_t size = CT__RING_MIN;

	while (size < bytes && size < ((size_t)1 << 40))
		size <<= 1;
	r = aligned_alloc(64, sizeof(*r));
	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	r->data = aligned_alloc(64, size);
	if (!r->data) {
		free(r);
		return -ENOMEM;
	}
	/* Touch every page now: a page fault on the hot path is a trip into the kernel. */
	memset(r->data, 0, size);
	r->size = size;
	r->mask = size - 1;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	*out = r;
	return 0;
}

void ct__ring_free(struct ct__ring *r)
{
	if (!r)
		return;
	free(r->data);
	free(r);
}

size_t ct__ring_consume(struct ct__ring *r, ct__ring_record_fn fn, void *arg)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed); /* our own */
	/*
	 * Synchronizes with the release store of head in ct__ring_commit: every record before
	 * head is completely written.
	 */
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	size_t n = 0;

	while (tail < head) {
		size_t off = (size_t)tail & r->mask;
		const uint8_t *p = r->data + off;
		uint16_t id, size;

		memcpy(&id, p, 2);
		if (id == 0) {
			tail += r->size - off;
			continue;
		}
		memcpy(&size, p + 2, 2);
		if (fn(arg, p, 16 + (size_t)size))
			break;
		tail += CT__ALIGN8(16 + (size_t)size);
		n++;
	}
	/*
	 * Synchronizes with the acquire load of tail in ct__ring_reserve: we are done reading
	 * everything before tail, so the producer may reuse it.
	 */
	atomic_store_explicit(&r->tail, tail, memory_order_release);
	return n;
}

size_t ct__ring_used(const struct ct__ring *r)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

	return head > tail ? (size_t)(head - tail) : 0;
}
