/* SPDX-License-Identifier: MIT */
/*
 * The per-thread record ring: a single-producer, single-consumer byte ring of variable-size
 * records (16-byte wire record header + event.def payload, padded to 8 bytes). The producer
 * is the application thread, the consumer the drain thread; neither locks, and the producer
 * never waits: a record that does not fit is refused and the caller counts the drop.
 * See docs/internals/ring.md for the memory-ordering argument.
 */
#ifndef CT_LIB_RING_H
#define CT_LIB_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CT__RING_MIN (4u << 10)
#define CT__ALIGN8(n) (((n) + 7) & ~(size_t)7)

struct ct__ring {
	/* Producer side: bytes ever committed (free-running). Written only by the producer. */
	_Alignas(64) _Atomic uint64_t head;
	uint64_t tail_cache; /* producer-private: last tail seen */
	size_t pending; /* producer-private: bytes of the open reservation, padding included */
	size_t skip; /* producer-private: of which skipped at the end of the buffer */
	/* Consumer side: bytes ever consumed. Written only by the consumer. */
	_Alignas(64) _Atomic uint64_t tail;
	_Alignas(64) size_t size; /* power of two */
	size_t mask;
	uint8_t *data;
};

/*
 * Allocates a ring of at least bytes (rounded up to a power of two, at least CT__RING_MIN).
 * Returns 0 or -ENOMEM. Free with ct__ring_free (NULL accepted).
 */
int ct__ring_new(struct ct__ring **out, size_t bytes);
void ct__ring_free(struct ct__ring *r);

/*
 * Producer: reserves len bytes (a record or several consecutive records, each 8-aligned) and
 * returns where to write them, or NULL when the ring has no room (nothing changes then). At
 * most one reservation is open; ct__ring_commit publishes it. Wait-free, no system call.
 */
static inline uint8_t *ct__ring_reserve(struct ct__ring *r, size_t len)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed); /* our own */
	size_t need = CT__ALIGN8(len);
	size_t off = (size_t)head & r->mask;
	size_t room = r->size - off;
	size_t total = need <= room ? need : room + need;

	if (head + total - r->tail_cache > r->size) {
		/*
		 * Synchronizes with the release store of tail in ct__ring_consume: the consumer
		 * has finished reading every byte before tail, so we may overwrite them.
		 */
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (head + total - r->tail_cache > r->size)
			return NULL;
	}
	r->pending = total;
	r->skip = total - need;
	if (total != need) {
		/* Id 0 tells the consumer to skip to the start of the buffer. */
		memset(r->data + off, 0, 2);
		off = 0;
	}
	return r->data + off;
}

/* Producer: publishes the open reservation to the consumer. */
static inline void ct__ring_commit(struct ct__ring *r)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

	/*
	 * Synchronizes with the acquire load of head in ct__ring_consume: the record bytes
	 * written above become visible no later than the new head.
	 */
	atomic_store_explicit(&r->head, head + r->pending, memory_order_release);
}

/*
 * Producer: publishes only the first len bytes (records back to back, each 8-aligned) of the
 * open reservation, for writers that reserve an upper bound before they know the exact size.
 * The rest of the reservation is not used and is free again.
 */
static inline void ct__ring_commit_len(struct ct__ring *r, size_t len)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

	/* Synchronizes with the acquire load of head in ct__ring_consume, as ct__ring_commit. */
	atomic_store_explicit(&r->head, head + r->skip + len, memory_order_release);
}

/*
 * Consumer: called for each committed record (rec points at its 16-byte header, len =
 * header + payload, unpadded). Return 0 to consume it and go on, non-zero to stop before it
 * (it stays in the ring for the next call).
 */
typedef int (*ct__ring_record_fn)(void *arg, const uint8_t *rec, size_t len);

/*
 * Consumer: hands every record committed so far to fn, in order, and frees their space.
 * Returns the number of records consumed. Only one consumer thread at a time.
 */
size_t ct__ring_consume(struct ct__ring *r, ct__ring_record_fn fn, void *arg);

/* Bytes committed and not yet consumed (approximate when called by a third thread). */
size_t ct__ring_used(const struct ct__ring *r);

#endif
