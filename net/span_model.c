// SPDX-License-Identifier: MIT
/*
 * The received-span model: a bump arena and the growable arrays of a batch. Arrays grow by
 * doubling inside the arena; the abandoned old copies stay until the batch is freed, which
 * bounds the waste to the final size and keeps a batch a single free.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crosstrace/crosstrace.h"
#include "span_model.h"

struct ct_arena_blk {
	struct ct_arena_blk *next;
	size_t used, cap;
	_Alignas(8) unsigned char data[];
};

#define ARENA_BLOCK 16384

void ct_arena_init(struct ct_arena *a)
{
	memset(a, 0, sizeof(*a));
}

void ct_arena_fini(struct ct_arena *a)
{
	struct ct_arena_blk *b = a->head;

	while (b) {
		struct ct_arena_blk *n = b->next;

		free(b);
		b = n;
	}
	memset(a, 0, sizeof(*a));
}

void *ct_arena_alloc(struct ct_arena *a, size_t n)
{
	struct ct_arena_blk *b = a->head;
	void *p;

	n = (n + 7) & ~(size_t)7;
	if (!n)
		n = 8;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > ARENA_BLOCK / 2 ? n : ARENA_BLOCK;

		b = malloc(sizeof(*b) + cap);
		if (!b) {
			a->oom = 1;
			return NULL;
		}
		b->used = 0;
		b->cap = cap;
		if (a->head && cap != ARENA_BLOCK) {
			/* A big one-off: keep the current block on top for small allocations. */
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
		a->total += sizeof(*b) + cap;
	}
	p = b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *ct_arena_strndup(struct ct_arena *a, const char *s, size_t n)
{
	char *p = ct_arena_alloc(a, n + 1);

	if (!p)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = 0;
	return p;
}

/* Makes room for one more element in an arena-held array of elem-sized items. */
static void *grow(struct ct_arena *a, void *arr, uint32_t n, uint32_t *cap, size_t elem)
{
	void *p;
	uint32_t ncap;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 4;
	p = ct_arena_alloc(a, (size_t)ncap * elem);
	if (!p)
		return NULL;
	if (n)
		memcpy(p, arr, (size_t)n * elem);
	*cap = ncap;
	return p;
}

int ct_nbatch_new(struct ct_nbatch **out, const char *sdk)
{
	struct ct_nbatch *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	ct_arena_init(&b->arena);
	b->sdk = sdk;
	*out = b;
	return 0;
}

void ct_nbatch_free(struct ct_nbatch *b)
{
	if (!b)
		return;
	ct_arena_fini(&b->arena);
	free(b);
}

struct ct_nresource *ct_nbatch_add_resource(struct ct_nbatch *b)
{
	struct ct_nresource *p =
		grow(&b->arena, b->resources, b->n_resources, &b->cap_resources, sizeof(*p));

	if (!p)
		return NULL;
	b->resources = p;
	p = &b->resources[b->n_resources++];
	memset(p, 0, sizeof(*p));
	p->schema_url = "";
	p->service = "unknown_service";
	p->sdk_language = "";
	p->host = "";
	return p;
}

struct ct_nscope *ct_nbatch_add_scope(struct ct_nbatch *b)
{
	struct ct_nscope *p = grow(&b->arena, b->scopes, b->n_scopes, &b->cap_scopes, sizeof(*p));

	if (!p)
		return NULL;
	b->scopes = p;
	p = &b->scopes[b->n_scopes++];
	memset(p, 0, sizeof(*p));
	p->name = p->version = p->schema_url = "";
	return p;
}

struct ct_nspan *ct_nbatch_add_span(struct ct_nbatch *b, uint32_t resource, uint32_t scope)
{
	struct ct_nspan *p = grow(&b->arena, b->spans, b->n_spans, &b->cap_spans, sizeof(*p));

	if (!p)
		return NULL;
	b->spans = p;
	p = &b->spans[b->n_spans++];
	memset(p, 0, sizeof(*p));
	p->resource = resource;
	p->scope = scope;
	p->trace_state = p->name = p->status_message = "";
	return p;
}

struct ct_nevent *ct_nspan_add_event(struct ct_nbatch *b, struct ct_nspan *s)
{
	struct ct_nevent *p = grow(&b->arena, s->events, s->n_events, &s->cap_events, sizeof(*p));

	if (!p)
		return NULL;
	s->events = p;
	p = &s->events[s->n_events++];
	memset(p, 0, sizeof(*p));
	p->name = "";
	return p;
}

struct ct_nlink *ct_nspan_add_link(struct ct_nbatch *b, struct ct_nspan *s)
{
	struct ct_nlink *p = grow(&b->arena, s->links, s->n_links, &s->cap_links, sizeof(*p));

	if (!p)
		return NULL;
	s->links = p;
	p = &s->links[s->n_links++];
	memset(p, 0, sizeof(*p));
	p->trace_state = "";
	return p;
}

struct ct_nval *ct_nattrs_add(struct ct_nbatch *b, struct ct_nattrs *a, const char *key,
			      size_t key_len)
{
	struct ct_nattr *p = grow(&b->arena, a->v, a->n, &a->cap, sizeof(*p));
	char *k;

	if (!p)
		return NULL;
	a->v = p;
	k = ct_arena_strndup(&b->arena, key, key_len);
	if (!k)
		return NULL;
	p = &a->v[a->n++];
	memset(p, 0, sizeof(*p));
	p->key = k;
	return &p->v;
}

int ct_nval_set_bytes(struct ct_nbatch *b, struct ct_nval *v, uint8_t type, const void *s, size_t n)
{
	char *p;

	if (n > UINT32_MAX)
		return CT_ETOOBIG;
	p = ct_arena_strndup(&b->arena, s, n);
	if (!p)
		return -ENOMEM;
	v->type = type;
	v->s = p;
	v->len = (uint32_t)n;
	return 0;
}

int ct_nattrs_add_str(struct ct_nbatch *b, struct ct_nattrs *a, const char *key, const char *v)
{
	struct ct_nval *x = ct_nattrs_add(b, a, key, strlen(key));

	return x ? ct_nval_set_bytes(b, x, CT_NVAL_STR, v, strlen(v)) : -ENOMEM;
}

int ct_nattrs_add_int(struct ct_nbatch *b, struct ct_nattrs *a, const char *key, int64_t v)
{
	struct ct_nval *x = ct_nattrs_add(b, a, key, strlen(key));

	if (!x)
		return -ENOMEM;
	x->type = CT_NVAL_INT;
	x->i = v;
	return 0;
}

int ct_nattrs_add_double(struct ct_nbatch *b, struct ct_nattrs *a, const char *key, double v)
{
	struct ct_nval *x = ct_nattrs_add(b, a, key, strlen(key));

	if (!x)
		return -ENOMEM;
	x->type = CT_NVAL_DOUBLE;
	x->d = v;
	return 0;
}

int ct_nattrs_add_bool(struct ct_nbatch *b, struct ct_nattrs *a, const char *key, int v)
{
	struct ct_nval *x = ct_nattrs_add(b, a, key, strlen(key));

	if (!x)
		return -ENOMEM;
	x->type = CT_NVAL_BOOL;
	x->b = !!v;
	return 0;
}

/* The value of a new "crosstrace.<name>" attribute of s, or NULL. */
static struct ct_nval *annotation(struct ct_nbatch *b, struct ct_nspan *s, const char *name)
{
	char key[256];
	int n = snprintf(key, sizeof(key), "crosstrace.%s", name);

	if (n < 0 || (size_t)n >= sizeof(key))
		return NULL;
	return ct_nattrs_add(b, &s->attrs, key, (size_t)n);
}

int ct_nspan_annotate_str(struct ct_nbatch *b, struct ct_nspan *s, const char *name, const char *v)
{
	struct ct_nval *x = annotation(b, s, name);

	return x ? ct_nval_set_bytes(b, x, CT_NVAL_STR, v, strlen(v)) : -ENOMEM;
}

int ct_nspan_annotate_int(struct ct_nbatch *b, struct ct_nspan *s, const char *name, int64_t v)
{
	struct ct_nval *x = annotation(b, s, name);

	if (!x)
		return -ENOMEM;
	x->type = CT_NVAL_INT;
	x->i = v;
	return 0;
}

int ct_nspan_annotate_double(struct ct_nbatch *b, struct ct_nspan *s, const char *name, double v)
{
	struct ct_nval *x = annotation(b, s, name);

	if (!x)
		return -ENOMEM;
	x->type = CT_NVAL_DOUBLE;
	x->d = v;
	return 0;
}

const struct ct_nattr *ct_nattrs_find(const struct ct_nattrs *a, const char *key)
{
	for (uint32_t i = 0; i < a->n; i++) {
		if (!strcmp(a->v[i].key, key))
			return &a->v[i];
	}
	return NULL;
}

/* An int attribute, or a decimal string holding one; 0 otherwise. */
static int64_t attr_int(const struct ct_nattr *a)
{
	char *end;
	long long v;

	if (!a)
		return 0;
	if (a->v.type == CT_NVAL_INT)
		return a->v.i;
	if (a->v.type == CT_NVAL_STR && a->v.len) {
		errno = 0;
		v = strtoll(a->v.s, &end, 10);
		if (!errno && *end == 0)
			return v;
	}
	return 0;
}

static const char *attr_str(const struct ct_nattrs *a, const char *key, const char *dflt)
{
	const struct ct_nattr *x = ct_nattrs_find(a, key);

	return x && x->v.type == CT_NVAL_STR && x->v.len ? x->v.s : dflt;
}

void ct_nresource_derive(struct ct_nresource *r)
{
	int64_t pid = attr_int(ct_nattrs_find(&r->attrs, "process.pid"));

	r->service = attr_str(&r->attrs, "service.name", "unknown_service");
	r->sdk_language = attr_str(&r->attrs, "telemetry.sdk.language", "");
	r->host = attr_str(&r->attrs, "host.name", "");
	r->pid = pid > 0 && pid <= INT32_MAX ? (int32_t)pid : 0;
}

int32_t ct_nspan_thread_id(const struct ct_nspan *s)
{
	int64_t tid = attr_int(ct_nattrs_find(&s->attrs, "thread.id"));

	return tid > 0 && tid <= INT32_MAX ? (int32_t)tid : 0;
}

void ct_nbatch_reject(struct ct_nbatch *b, const char *fmt, ...)
{
	va_list ap;

	if (!b->rejected++) {
		va_start(ap, fmt);
		vsnprintf(b->reject_msg, sizeof(b->reject_msg), fmt, ap);
		va_end(ap);
	}
}

void ct_hex_encode(char *out, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ct_hex_decode(uint8_t *p, size_t n, const char *s, size_t len)
{
	if (len != 2 * n)
		return CT_EFORMAT;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return CT_EFORMAT;
		p[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int ct_id_valid(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			return 1;
	}
	return 0;
}

uint64_t ct_id_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}
