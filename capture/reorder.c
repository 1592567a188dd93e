// SPDX-License-Identifier: MIT
/*
 * Reorder window: a deque of entries kept sorted by timestamp (input is nearly sorted, so
 * insertion from the tail moves an entry rarely and by little), with payloads copied into
 * arena blocks that are recycled once every event they hold has left.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reorder.h"

#define BLOCK_BYTES (256u << 10)

struct block {
	struct block *next; /* in the pool */
	size_t used;
	size_t live; /* events stored here that have not left yet */
	uint8_t data[];
};

struct ent {
	uint64_t ts;
	uint8_t *data;
	struct block *blk;
	int32_t pid, tid;
	uint16_t type, len;
};

struct ct_reorder {
	struct ent *e; /* ring of cap entries, head..head+n sorted by ts */
	size_t cap, head, n;
	struct block *cur; /* where payloads are appended */
	struct block *pool;
	unsigned pooled;
	uint64_t max_ts;
	uint64_t inversions;
};

int ct_reorder_new(struct ct_reorder **out)
{
	struct ct_reorder *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->cap = 1024;
	r->e = malloc(r->cap * sizeof(*r->e));
	if (!r->e) {
		free(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

static struct block *block_get(struct ct_reorder *r)
{
	struct block *b = r->pool;

	if (b) {
		r->pool = b->next;
		r->pooled--;
	} else {
		b = malloc(sizeof(*b) + BLOCK_BYTES);
		if (!b)
			return NULL;
	}
	b->next = NULL;
	b->used = 0;
	b->live = 0;
	return b;
}

/*
 * Free blocks are kept, not returned to malloc: a block of this size is an mmap, and giving
 * it back means page faults on the next one. The pool is bounded by the peak the window
 * reached (its time span times the event rate).
 */
static void block_put(struct ct_reorder *r, struct block *b)
{
	b->next = r->pool;
	r->pool = b;
	r->pooled++;
}

static int grow(struct ct_reorder *r)
{
	size_t cap = r->cap * 2;
	struct ent *e = malloc(cap * sizeof(*e));

	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++)
		e[i] = r->e[(r->head + i) & (r->cap - 1)];
	free(r->e);
	r->e = e;
	r->cap = cap;
	r->head = 0;
	return 0;
}

int ct_reorder_push(struct ct_reorder *r, uint16_t type, uint64_t ts, int32_t pid, int32_t tid,
		    const void *payload, size_t len)
{
	size_t mask, i;
	uint8_t *dst;

	if (len > UINT16_MAX)
		return -EINVAL;
	if (r->n == r->cap && grow(r))
		return -ENOMEM;
	if (!r->cur || r->cur->used + len > BLOCK_BYTES) {
		struct block *b = block_get(r);

		if (!b)
			return -ENOMEM;
		if (r->cur && !r->cur->live)
			block_put(r, r->cur);
		r->cur = b;
	}
	dst = r->cur->data + r->cur->used;
	memcpy(dst, payload, len);
	/* Keep payloads 8-byte aligned: cheaper copies later. */
	r->cur->used += (len + 7) & ~(size_t)7;
	r->cur->live++;

	mask = r->cap - 1;
	i = r->n;
	/* Strictly greater: equal timestamps keep arrival order. */
	while (i > 0 && r->e[(r->head + i - 1) & mask].ts > ts) {
		r->e[(r->head + i) & mask] = r->e[(r->head + i - 1) & mask];
		i--;
	}
	if (i != r->n)
		r->inversions++;
	r->e[(r->head + i) & mask] = (struct ent){.ts = ts,
						  .data = dst,
						  .blk = r->cur,
						  .pid = pid,
						  .tid = tid,
						  .type = type,
						  .len = (uint16_t)len};
	r->n++;
	if (ts > r->max_ts)
		r->max_ts = ts;
	return 0;
}

int ct_reorder_flush(struct ct_reorder *r, uint64_t limit, ct_reorder_emit_fn emit, void *arg)
{
	int count = 0, err = 0;

	while (r->n) {
		struct ent *e = &r->e[r->head];
		struct block *b = e->blk;

		if (e->ts > limit)
			break;
		err = emit(arg, e->type, e->ts, e->pid, e->tid, e->data, e->len);
		r->head = (r->head + 1) & (r->cap - 1);
		r->n--;
		count++;
		if (--b->live == 0) {
			if (b == r->cur)
				b->used =
					0; /* everything in it has left: reuse it from the start */
			else
				block_put(r, b);
		}
		if (err)
			return err;
	}
	return count;
}

size_t ct_reorder_held(const struct ct_reorder *r)
{
	return r->n;
}

uint64_t ct_reorder_max_ts(const struct ct_reorder *r)
{
	return r->max_ts;
}

uint64_t ct_reorder_inversions(const struct ct_reorder *r)
{
	return r->inversions;
}

void ct_reorder_free(struct ct_reorder *r)
{
	if (!r)
		return;
	/* Blocks still holding events are reachable only through the entries. */
	while (r->n) {
		struct block *b = r->e[r->head].blk;

		r->head = (r->head + 1) & (r->cap - 1);
		r->n--;
		if (--b->live == 0 && b != r->cur)
			free(b);
	}
	free(r->cur);
	while (r->pool) {
		struct block *b = r->pool;

		r->pool = b->next;
		free(b);
	}
	free(r->e);
	free(r);
}
