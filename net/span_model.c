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

/* Links a new block of cap bytes on top (or below the top for a big one-off). */
static struct ct_arena_blk *arena_grow(struct ct_arena *a, size_t n, size_t cap)
{
	struct ct_arena_blk *b = malloc(sizeof(*b) + cap);

	if (!b) {
		a->oom = 1;
		return NULL;
	}
	b->used = 0;
	b->cap = cap;
	if (a->head && n > ARENA_BLOCK / 2) {
		/* A big one-off: keep the current block on top for small allocations. */
		b->next = a->head->next;
		a->head->next = b;
	} else {
		b->next = a->head;
		a->head = b;
	}
	a->total += sizeof(*b) + cap;
	return b;
}

/* ct_arena_alloc_raw when the top block is full: n is rounded already. */
void *ct__arena_alloc_slow(struct ct_arena *a, size_t n)
{
	struct ct_arena_blk *b = a->head;
	void *p;

	if (!b || b->cap - b->used < n) {
		/* Blocks grow with the arena, 1 KiB to 16 KiB: a one-span request (JS SDKs send
		 * those) must not hold 16 KiB while it waits for its kernel data. */
		size_t grown = a->total < 1024		? 1024
			       : a->total > ARENA_BLOCK ? ARENA_BLOCK
							: a->total;

		b = arena_grow(a, n, n > ARENA_BLOCK / 2 ? n : n > grown ? n : grown);
		if (!b)
			return NULL;
	}
	p = b->data + b->used;
	b->used += n;
	return p;
}

void *ct_arena_alloc(struct ct_arena *a, size_t n)
{
	void *p = ct_arena_alloc_raw(a, n);

	if (p)
		memset(p, 0, n ? (n + 7) & ~(size_t)7 : 8);
	return p;
}

int ct_arena_reserve(struct ct_arena *a, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	if (a->head && a->head->cap - a->head->used >= n)
		return 0;
	/* On top, whatever its size: the reservation is for the allocations that follow. */
	struct ct_arena_blk *b = malloc(sizeof(*b) + n);

	if (!b) {
		a->oom = 1;
		return -ENOMEM;
	}
	b->used = 0;
	b->cap = n;
	b->next = a->head;
	a->head = b;
	a->total += sizeof(*b) + n;
	return 0;
}

char *ct_arena_strndup(struct ct_arena *a, const char *s, size_t n)
{
	char *p = ct_arena_alloc_raw(a, n + 1);

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
	/* Not zeroed: the first n are copied, the others cleared when appended. */
	p = ct_arena_alloc_raw(a, (size_t)ncap * elem);
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

/* ---- compaction: measure, then copy into one region ---- */

/* A block of exactly n bytes (rounded to 8) holding one allocation. */
static void *arena_exact(struct ct_arena *a, size_t n)
{
	struct ct_arena_blk *b;

	n = (n + 7) & ~(size_t)7;
	b = malloc(sizeof(*b) + n);
	if (!b) {
		a->oom = 1;
		return NULL;
	}
	b->used = b->cap = n;
	b->next = a->head;
	a->head = b;
	a->total += sizeof(*b) + n;
	return b->data;
}

struct pack {
	char *p, *end; /* NULL p: measuring */
	size_t need;
};

static void *pk_alloc(struct pack *k, size_t n)
{
	void *r;

	n = (n + 7) & ~(size_t)7;
	k->need += n;
	if (!k->p || n > (size_t)(k->end - k->p))
		return NULL;
	r = k->p;
	k->p += n;
	return r;
}

static const char *pk_str(struct pack *k, const char *s, size_t n)
{
	char *d = pk_alloc(k, n + 1);

	if (!d)
		return "";
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

static const char *pk_cstr(struct pack *k, const char *s)
{
	return s && s[0] ? pk_str(k, s, strlen(s)) : "";
}

static void pk_attrs(struct pack *k, struct ct_nattrs *to, const struct ct_nattrs *from)
{
	struct ct_nattr *v = from->n ? pk_alloc(k, from->n * sizeof(*v)) : NULL;

	*to = (struct ct_nattrs){
		.v = v, .n = v ? from->n : 0, .cap = v ? from->n : 0, .dropped = from->dropped};
	/* Measuring (no v): the strings are counted all the same. */
	for (uint32_t i = 0; i < from->n; i++) {
		const struct ct_nattr *a = &from->v[i];
		const char *key = pk_cstr(k, a->key), *str = NULL;

		if (a->v.type == CT_NVAL_STR || a->v.type == CT_NVAL_BYTES ||
		    a->v.type == CT_NVAL_ARRAY || a->v.type == CT_NVAL_KVLIST)
			str = pk_str(k, a->v.s ? a->v.s : "", a->v.len);
		if (!v)
			continue;
		v[i].key = key;
		v[i].v = a->v;
		if (str)
			v[i].v.s = str;
	}
}

/* Copies src's model through k; in the measuring pass (k->p NULL) only counts. */
static void pk_batch(struct pack *k, struct ct_nbatch *d, const struct ct_nbatch *src)
{
	d->resources =
		src->n_resources ? pk_alloc(k, src->n_resources * sizeof(*d->resources)) : NULL;
	d->scopes = src->n_scopes ? pk_alloc(k, src->n_scopes * sizeof(*d->scopes)) : NULL;
	d->spans = src->n_spans ? pk_alloc(k, src->n_spans * sizeof(*d->spans)) : NULL;
	for (uint32_t i = 0; i < src->n_resources; i++) {
		const struct ct_nresource *r = &src->resources[i];
		struct ct_nresource tmp, *o = d->resources ? &d->resources[i] : &tmp;

		*o = *r;
		pk_attrs(k, &o->attrs, &r->attrs);
		o->schema_url = pk_cstr(k, r->schema_url);
		ct_nresource_derive(o);
		o->pid = r->pid; /* may have been set otherwise (a TCP peer) */
	}
	for (uint32_t i = 0; i < src->n_scopes; i++) {
		const struct ct_nscope *c = &src->scopes[i];
		struct ct_nscope tmp, *o = d->scopes ? &d->scopes[i] : &tmp;

		o->name = pk_cstr(k, c->name);
		o->version = pk_cstr(k, c->version);
		o->schema_url = pk_cstr(k, c->schema_url);
		pk_attrs(k, &o->attrs, &c->attrs);
	}
	for (uint32_t i = 0; i < src->n_spans; i++) {
		const struct ct_nspan *s = &src->spans[i];
		struct ct_nspan tmp, *o = d->spans ? &d->spans[i] : &tmp;

		*o = *s;
		o->trace_state = pk_cstr(k, s->trace_state);
		o->name = pk_cstr(k, s->name);
		o->status_message = pk_cstr(k, s->status_message);
		pk_attrs(k, &o->attrs, &s->attrs);
		o->events = s->n_events ? pk_alloc(k, s->n_events * sizeof(*o->events)) : NULL;
		o->n_events = o->cap_events = o->events ? s->n_events : 0;
		for (uint32_t e = 0; e < s->n_events; e++) {
			struct ct_nevent te, *oe = o->events ? &o->events[e] : &te;

			*oe = s->events[e];
			oe->name = pk_cstr(k, s->events[e].name);
			pk_attrs(k, &oe->attrs, &s->events[e].attrs);
		}
		o->links = s->n_links ? pk_alloc(k, s->n_links * sizeof(*o->links)) : NULL;
		o->n_links = o->cap_links = o->links ? s->n_links : 0;
		for (uint32_t l = 0; l < s->n_links; l++) {
			struct ct_nlink tl, *ol = o->links ? &o->links[l] : &tl;

			*ol = s->links[l];
			ol->trace_state = pk_cstr(k, s->links[l].trace_state);
			pk_attrs(k, &ol->attrs, &s->links[l].attrs);
		}
	}
}

int ct_nbatch_compact(const struct ct_nbatch *src, struct ct_nbatch **out)
{
	struct pack k = {0};
	struct ct_nbatch *d, probe;
	void *region;

	memset(&probe, 0, sizeof(probe));
	pk_batch(&k, &probe, src);
	if (ct_nbatch_new(&d, src->sdk))
		return -ENOMEM;
	region = k.need ? arena_exact(&d->arena, k.need) : NULL;
	if (k.need && !region) {
		ct_nbatch_free(d);
		return -ENOMEM;
	}
	k = (struct pack){.p = region, .end = (char *)region + k.need};
	pk_batch(&k, d, src);
	d->n_resources = d->cap_resources = src->n_resources;
	d->n_scopes = d->cap_scopes = src->n_scopes;
	d->n_spans = d->cap_spans = src->n_spans;
	d->rejected = src->rejected;
	memcpy(d->reject_msg, src->reject_msg, sizeof(d->reject_msg));
	d->peer_ip4 = src->peer_ip4;
	d->local_ip4 = src->local_ip4;
	d->peer_port = src->peer_port;
	d->local_port = src->local_port;
	*out = d;
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

int ct_nbatch_reserve_spans(struct ct_nbatch *b, uint32_t n)
{
	struct ct_nspan *p;

	if (b->cap_spans - b->n_spans >= n)
		return 0;
	if (n > UINT32_MAX - b->n_spans)
		return -ENOMEM;
	p = ct_arena_alloc_raw(&b->arena, (size_t)(b->n_spans + n) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (b->n_spans)
		memcpy(p, b->spans, b->n_spans * sizeof(*p));
	b->spans = p;
	b->cap_spans = b->n_spans + n;
	return 0;
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

int ct_nattrs_reserve(struct ct_nbatch *b, struct ct_nattrs *a, uint32_t n)
{
	struct ct_nattr *p;

	if (a->cap - a->n >= n)
		return 0;
	p = ct_arena_alloc(&b->arena, (size_t)(a->n + n) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (a->n)
		memcpy(p, a->v, a->n * sizeof(*p));
	a->v = p;
	a->cap = a->n + n;
	return 0;
}

struct ct_nval *ct_nattrs_add_static(struct ct_nbatch *b, struct ct_nattrs *a, const char *key)
{
	struct ct_nattr *p = grow(&b->arena, a->v, a->n, &a->cap, sizeof(*p));

	if (!p)
		return NULL;
	a->v = p;
	p = &a->v[a->n++];
	memset(p, 0, sizeof(*p));
	p->key = key;
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
	/* The first byte first: most keys differ there (thread.id is looked for in every span). */
	for (uint32_t i = 0; i < a->n; i++) {
		if (a->v[i].key[0] == key[0] && !strcmp(a->v[i].key, key))
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
