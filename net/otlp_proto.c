// SPDX-License-Identifier: MIT
/*
 * OTLP protobuf codec on top of the protobuf-c code generated from proto/. Decoding unpacks
 * into the batch's own arena (protobuf-c allocator), so model strings point into the unpacked
 * message and the whole request is freed with the batch. A descriptor-driven pre-scan bounds
 * the nesting depth first: protobuf-c recurses without a limit, and AnyValue nests.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "crosstrace/crosstrace.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "otlp_proto.h"
#include "util/jsonw.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest pb_request;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse pb_response;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess pb_partial;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans pb_rspans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans pb_sspans;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event pb_event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link pb_link;
typedef Opentelemetry__Proto__Trace__V1__Status pb_status;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Common__V1__ArrayValue pb_array;
typedef Opentelemetry__Proto__Common__V1__KeyValueList pb_kvlist;

#define REQ_DESC \
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor

/* Message nesting above the first AnyValue (at most: request > resource spans > scope spans >
 * span > event or link > key-value), then two messages per AnyValue level, and a margin. */
#define MAX_MSG_DEPTH (8 + 2 * CT_OTLP_MAX_DEPTH)

/* Bytes of parse tree and model per byte of message, about (see ct_otlp_proto_decode). */
#define PB_TREE_RATIO 6
/* At most this much at once: a huge body of one big string would not need 6 times its size. */
#define PB_RESERVE_MAX ((size_t)8 << 20)

/*
 * protobuf-c's allocator on a batch arena. Unpacking initialises or writes whatever it
 * allocates, so nothing is zeroed. It frees only its scanned-member slabs (1 KiB and more,
 * one per message of over 16 fields: every span with a few attributes): those are kept here
 * and handed out again for the next slab of that size, so a request of a thousand spans
 * needs a few slabs, not a thousand. Anything else it frees (on an error path) stays in the
 * arena until the batch goes.
 */
#define SLAB_MIN 512
#define SLAB_LIVE 32
#define SLAB_SPARE 8

struct pb_arena {
	struct ct_arena *a;
	struct slab {
		void *p;
		size_t n;
	} live[SLAB_LIVE], spare[SLAB_SPARE];
	unsigned n_live, n_spare;
};

static void *arena_alloc(void *data, size_t n)
{
	struct pb_arena *pa = data;
	void *p;

	if (n < SLAB_MIN)
		return ct_arena_alloc_raw(pa->a, n);
	p = NULL;
	for (unsigned i = pa->n_spare; i-- > 0;) {
		if (pa->spare[i].n == n) {
			p = pa->spare[i].p;
			pa->spare[i] = pa->spare[--pa->n_spare];
			break;
		}
	}
	if (!p)
		p = ct_arena_alloc_raw(pa->a, n);
	if (p && pa->n_live < SLAB_LIVE)
		pa->live[pa->n_live++] = (struct slab){p, n};
	return p;
}

static void arena_free(void *data, void *p)
{
	struct pb_arena *pa = data;

	/* Newest first: slabs are freed in about the reverse order of their allocation. */
	for (unsigned i = pa->n_live; i-- > 0;) {
		if (pa->live[i].p != p)
			continue;
		if (pa->n_spare < SLAB_SPARE)
			pa->spare[pa->n_spare++] = pa->live[i];
		pa->live[i] = pa->live[--pa->n_live];
		return;
	}
	/* Not a slab: it stays in the arena, freed with the batch. */
}

/* ---- pre-scan ---- */

static int read_varint(const uint8_t *p, size_t len, size_t *i, uint64_t *v)
{
	uint64_t x = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		if (*i >= len)
			return CT_EFORMAT;
		x |= (uint64_t)(p[*i] & 0x7f) << shift;
		if (!(p[(*i)++] & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return CT_EFORMAT;
}

/*
 * The schema as the pre-scan needs it: per message type, the message type of each field
 * number (NULL: not a message). Built once from the descriptors: protobuf-c's field lookup
 * (a binary search per field) was most of the scan's time.
 */
#define SCAN_FIELDS 32
#define SCAN_NODES 32

struct scan_node {
	const ProtobufCMessageDescriptor *d;
	const struct scan_node *sub[SCAN_FIELDS];
	int wide; /* has a message field numbered SCAN_FIELDS or more: look those up */
};

static struct scan_node scan_nodes[SCAN_NODES];
static unsigned n_scan_nodes;
static int scan_overflow; /* more message types than SCAN_NODES: the depth cannot be checked */
static pthread_once_t scan_once = PTHREAD_ONCE_INIT;

static const struct scan_node *scan_node_of(const ProtobufCMessageDescriptor *d)
{
	for (unsigned i = 0; i < n_scan_nodes; i++) {
		if (scan_nodes[i].d == d)
			return &scan_nodes[i];
	}
	return NULL;
}

static void scan_build(void)
{
	scan_nodes[0].d = &REQ_DESC;
	n_scan_nodes = 1;
	/* Breadth first: every message type reachable from the request gets a node. */
	for (unsigned i = 0; i < n_scan_nodes; i++) {
		const ProtobufCMessageDescriptor *d = scan_nodes[i].d;

		for (unsigned f = 0; f < d->n_fields; f++) {
			const ProtobufCFieldDescriptor *fd = &d->fields[f];
			const struct scan_node *sub;

			if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
				continue;
			sub = scan_node_of(fd->descriptor);
			if (!sub && n_scan_nodes == SCAN_NODES) {
				scan_overflow = 1;
				return;
			}
			if (!sub) {
				scan_nodes[n_scan_nodes].d = fd->descriptor;
				sub = &scan_nodes[n_scan_nodes++];
			}
			if (fd->id < SCAN_FIELDS)
				scan_nodes[i].sub[fd->id] = sub;
			else
				scan_nodes[i].wide = 1;
		}
	}
}

/* The node of the message type of field id of n, or NULL when that field is no message. */
static const struct scan_node *scan_sub(const struct scan_node *n, uint64_t id)
{
	const ProtobufCFieldDescriptor *f;
	const struct scan_node *sub;

	if (id < SCAN_FIELDS && (sub = n->sub[id]))
		return sub;
	if (!n->wide)
		return NULL;
	f = protobuf_c_message_descriptor_get_field(n->d, (unsigned)id);
	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return NULL;
	return scan_node_of(f->descriptor); /* there is one: scan_overflow is checked first */
}

/* Walks the wire format with the schema: framing errors and nesting deeper than allowed. */
static int scan(const uint8_t *p, size_t len, const struct scan_node *node, int depth)
{
	size_t i = 0;

	if (depth > MAX_MSG_DEPTH)
		return CT_ETOOBIG;
	while (i < len) {
		uint64_t key, n;
		const struct scan_node *sub;
		int err;

		/* One-byte keys (field numbers below 16) are nearly all of them. */
		if (p[i] < 0x80)
			key = p[i++];
		else if (read_varint(p, len, &i, &key))
			return CT_EFORMAT;
		if ((key >> 3) == 0 || (key >> 3) > UINT32_MAX)
			return CT_EFORMAT;
		switch (key & 7) {
		case 0:
			if (read_varint(p, len, &i, &n))
				return CT_EFORMAT;
			break;
		case 1:
		case 5:
			n = (key & 7) == 1 ? 8 : 4;
			if (len - i < n)
				return CT_EFORMAT;
			i += n;
			break;
		case 2:
			if (read_varint(p, len, &i, &n) || n > len - i)
				return CT_EFORMAT;
			sub = scan_sub(node, key >> 3);
			/*
			 * Every level of nesting takes at least two bytes (a key, a length): a
			 * message of n bytes cannot reach the limit when depth + 1 + n / 2 does
			 * not. Attributes, events and status are short: only the long outer messages
			 * are walked (protobuf-c checks the framing of the rest itself).
			 */
			if (sub && (uint64_t)depth + 1 + n / 2 > MAX_MSG_DEPTH) {
				err = scan(p + i, n, sub, depth + 1);
				if (err)
					return err;
			}
			i += n;
			break;
		default:
			return CT_EFORMAT; /* groups (3, 4) are not used by OTLP */
		}
	}
	return 0;
}

/* ---- fast path ---- */

/*
 * A decoder for the requests SDKs send, into the same protobuf-c structures (conversion is
 * shared): one pass per message and no scanned-member slabs. Strings are copied into the
 * arena and NUL-terminated as protobuf-c does; bytes point into the request (conversion copies
 * them). It declines whatever lies outside a strict subset (an unknown field, a field of
 * another wire type, a singular field or a oneof member given twice, bad framing): protobuf-c
 * then decodes the request, so the result is the same for every input (the fuzz target
 * compares the two). protobuf-c's generic unpacking was ~90% of the decoding instructions.
 */
#define FAST_DECLINE 1

/* One field of a message: number, wire type, value or bytes. */
struct fld {
	uint32_t num, wt;
	uint64_t v; /* varint, fixed64 or fixed32 */
	const uint8_t *p; /* length-delimited: its bytes (v of them) */
};

static uint64_t le_bytes(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* The field at p[*i..len): 1, 0 at the end, -1 when malformed. */
static inline int fu_next(const uint8_t *p, size_t len, size_t *i, struct fld *f)
{
	uint64_t key;

	if (*i >= len)
		return 0;
	/* One-byte keys and lengths are nearly all of them. */
	if (p[*i] < 0x80)
		key = p[(*i)++];
	else if (read_varint(p, len, i, &key))
		return -1;
	if ((key >> 3) == 0 || (key >> 3) > UINT32_MAX)
		return -1;
	f->num = (uint32_t)(key >> 3);
	f->wt = key & 7;
	switch (f->wt) {
	case 0:
		return read_varint(p, len, i, &f->v) ? -1 : 1;
	case 1:
	case 5: {
		int n = f->wt == 1 ? 8 : 4;

		if (len - *i < (size_t)n)
			return -1;
		f->v = le_bytes(p + *i, n);
		*i += (size_t)n;
		return 1;
	}
	case 2:
		if (*i < len && p[*i] < 0x80)
			f->v = p[(*i)++];
		else if (read_varint(p, len, i, &f->v))
			return -1;
		if (f->v > len - *i)
			return -1;
		f->p = p + *i;
		*i += f->v;
		return 1;
	default:
		return -1;
	}
}

/* Counts the length-delimited fields numbered below 16 of p[0..len) into cnt. */
static void fu_count(const uint8_t *p, size_t len, size_t cnt[16])
{
	struct fld f;
	size_t i = 0;

	memset(cnt, 0, 16 * sizeof(*cnt));
	while (fu_next(p, len, &i, &f) > 0) {
		if (f.wt == 2 && f.num < 16)
			cnt[f.num]++;
	}
}

static char *fu_str(struct ct_arena *a, const struct fld *f)
{
	char *s = ct_arena_alloc_raw(a, f->v + 1);

	if (s) {
		memcpy(s, f->p, f->v);
		s[f->v] = 0;
	}
	return s;
}

/*
 * An array of n messages of size sz, each initialised by init, and the array of pointers to
 * them protobuf-c would hold (*ptrs). Returns the first message, or NULL (no memory).
 */
static void *fu_msgs(struct ct_arena *a, size_t n, size_t sz, void (*init)(void *), void ***ptrs)
{
	char *m = ct_arena_alloc_raw(a, n * sz);
	void **pp = ct_arena_alloc_raw(a, n * sizeof(*pp));

	if (!m || !pp)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		init(m + i * sz);
		pp[i] = m + i * sz;
	}
	*ptrs = pp;
	return m;
}

/* Typed adapters of the generated initialisers for fu_msgs. */
#define FU_INIT(name, type, fn)   \
	static void name(void *m) \
	{                         \
		fn((type *)m);    \
	}
FU_INIT(init_kv, pb_kv, opentelemetry__proto__common__v1__key_value__init)
FU_INIT(init_any, pb_any, opentelemetry__proto__common__v1__any_value__init)
FU_INIT(init_event, pb_event, opentelemetry__proto__trace__v1__span__event__init)
FU_INIT(init_link, pb_link, opentelemetry__proto__trace__v1__span__link__init)
FU_INIT(init_span, pb_span, opentelemetry__proto__trace__v1__span__init)
FU_INIT(init_sspans, pb_sspans, opentelemetry__proto__trace__v1__scope_spans__init)
FU_INIT(init_rspans, pb_rspans, opentelemetry__proto__trace__v1__resource_spans__init)
#undef FU_INIT

/* Whether single field f is met for the first time (seen: a bit mask by field number). */
#define FU_ONCE(seen, f) \
	((f).num >= 64 || ((seen) & (1ull << (f).num)) ? 0 : ((seen) |= 1ull << (f).num, 1))

static int fu_kv(struct ct_arena *a, const uint8_t *p, size_t len, pb_kv *kv, int depth);

/* Room for the n KeyValues of a repeated field, as protobuf-c holds them (*out). */
static int fu_kvs(struct ct_arena *a, size_t n, pb_kv ***out)
{
	return !n || fu_msgs(a, n, sizeof(pb_kv), init_kv, (void ***)out) ? 0 : -ENOMEM;
}

/* The next KeyValue of a repeated field (f), at message depth depth, into kv[*n]. */
static int fu_kv_next(struct ct_arena *a, const struct fld *f, pb_kv **kv, size_t *n, int depth)
{
	if (f->wt != 2)
		return FAST_DECLINE;
	return fu_kv(a, f->p, f->v, kv[(*n)++], depth);
}

/*
 * An AnyValue at message depth depth (the request is 0). Nesting deeper than the pre-scan
 * allows is declined: the pre-scan then refuses it, as it did before the fast path.
 */
static int fu_any(struct ct_arena *a, const uint8_t *p, size_t len, pb_any *v, int depth)
{
	struct fld f;
	size_t i = 0;
	int r, err;

	if (depth + 1 > MAX_MSG_DEPTH)
		return FAST_DECLINE; /* itself or its array or kvlist too deep (or nearly) */

	while ((r = fu_next(p, len, &i, &f)) > 0) {
		if (v->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET)
			return FAST_DECLINE; /* a second member of the oneof */
		switch (f.num) {
		case 1:
			if (f.wt != 2)
				return FAST_DECLINE;
			v->string_value = fu_str(a, &f);
			if (!v->string_value)
				return -ENOMEM;
			break;
		case 2:
			if (f.wt != 0)
				return FAST_DECLINE;
			v->bool_value = f.v != 0;
			break;
		case 3:
			if (f.wt != 0)
				return FAST_DECLINE;
			v->int_value = (int64_t)f.v;
			break;
		case 4:
			if (f.wt != 1)
				return FAST_DECLINE;
			memcpy(&v->double_value, &f.v, 8);
			break;
		case 5: {
			size_t cnt[16];
			pb_array *arr;
			pb_any *el;
			size_t k = 0, j = 0;
			struct fld g;

			if (f.wt != 2 || !(arr = ct_arena_alloc_raw(a, sizeof(*arr))))
				return f.wt != 2 ? FAST_DECLINE : -ENOMEM;
			opentelemetry__proto__common__v1__array_value__init(arr);
			fu_count(f.p, f.v, cnt);
			if (cnt[1]) {
				el = fu_msgs(a, cnt[1], sizeof(*el), init_any,
					     (void ***)&arr->values);
				if (!el)
					return -ENOMEM;
			}
			while ((r = fu_next(f.p, f.v, &j, &g)) > 0) {
				if (g.num != 1 || g.wt != 2)
					return FAST_DECLINE;
				err = fu_any(a, g.p, g.v, arr->values[k++], depth + 2);
				if (err)
					return err;
			}
			if (r < 0)
				return FAST_DECLINE;
			arr->n_values = k;
			v->array_value = arr;
			break;
		}
		case 6: {
			pb_kvlist *kl = ct_arena_alloc_raw(a, sizeof(*kl));
			size_t cnt[16], j = 0;
			struct fld g;

			if (!kl)
				return -ENOMEM;
			if (f.wt != 2)
				return FAST_DECLINE;
			opentelemetry__proto__common__v1__key_value_list__init(kl);
			fu_count(f.p, f.v, cnt);
			if (fu_kvs(a, cnt[1], &kl->values))
				return -ENOMEM;
			while ((r = fu_next(f.p, f.v, &j, &g)) > 0) {
				if (g.num != 1 ||
				    (err = fu_kv_next(a, &g, kl->values, &kl->n_values, depth + 2)))
					return g.num != 1 ? FAST_DECLINE : err;
			}
			if (r < 0)
				return FAST_DECLINE;
			v->kvlist_value = kl;
			break;
		}
		case 7:
			if (f.wt != 2)
				return FAST_DECLINE;
			v->bytes_value.len = f.v;
			v->bytes_value.data = f.v ? (uint8_t *)f.p : NULL;
			break;
		default:
			return FAST_DECLINE;
		}
		v->value_case = f.num;
	}
	return r < 0 ? FAST_DECLINE : 0;
}

static int fu_kv(struct ct_arena *a, const uint8_t *p, size_t len, pb_kv *kv, int depth)
{
	uint64_t seen = 0;
	struct fld f;
	size_t i = 0;
	int r, err;

	if (depth > MAX_MSG_DEPTH)
		return FAST_DECLINE;
	while ((r = fu_next(p, len, &i, &f)) > 0) {
		if (f.wt != 2 || (f.num != 1 && f.num != 2) || !FU_ONCE(seen, f))
			return FAST_DECLINE;
		if (f.num == 1) {
			kv->key = fu_str(a, &f);
			if (!kv->key)
				return -ENOMEM;
		} else {
			kv->value = ct_arena_alloc_raw(a, sizeof(*kv->value));
			if (!kv->value)
				return -ENOMEM;
			opentelemetry__proto__common__v1__any_value__init(kv->value);
			err = fu_any(a, f.p, f.v, kv->value, depth + 1);
			if (err)
				return err;
		}
	}
	return r < 0 ? FAST_DECLINE : 0;
}

/* A uint32 or enum field: protobuf-c keeps the varint's low 32 bits. */
static int fu_u32(const struct fld *f, uint32_t *out)
{
	if (f->wt != 0)
		return FAST_DECLINE;
	*out = (uint32_t)f->v;
	return 0;
}

static int fu_bytes(const struct fld *f, ProtobufCBinaryData *out)
{
	if (f->wt != 2)
		return FAST_DECLINE;
	out->len = f->v;
	out->data = f->v ? (uint8_t *)f->p : NULL;
	return 0;
}

static int fu_event(struct ct_arena *a, const uint8_t *p, size_t len, pb_event *e)
{
	uint64_t seen = 0;
	size_t cnt[16], i = 0;
	struct fld f;
	int r, err;

	fu_count(p, len, cnt);
	if (fu_kvs(a, cnt[3], &e->attributes))
		return -ENOMEM;
	while ((r = fu_next(p, len, &i, &f)) > 0) {
		if (f.num != 3 && !FU_ONCE(seen, f))
			return FAST_DECLINE;
		switch (f.num) {
		case 1:
			if (f.wt != 1)
				return FAST_DECLINE;
			e->time_unix_nano = f.v;
			break;
		case 2:
			if (f.wt != 2)
				return FAST_DECLINE;
			if (!(e->name = fu_str(a, &f)))
				return -ENOMEM;
			break;
		case 3:
			err = fu_kv_next(a, &f, e->attributes, &e->n_attributes, 5);
			if (err)
				return err;
			break;
		case 4:
			if (fu_u32(&f, &e->dropped_attributes_count))
				return FAST_DECLINE;
			break;
		default:
			return FAST_DECLINE;
		}
	}
	return r < 0 ? FAST_DECLINE : 0;
}

static int fu_link(struct ct_arena *a, const uint8_t *p, size_t len, pb_link *l)
{
	uint64_t seen = 0;
	size_t cnt[16], i = 0;
	struct fld f;
	int r, err;

	fu_count(p, len, cnt);
	if (fu_kvs(a, cnt[4], &l->attributes))
		return -ENOMEM;
	while ((r = fu_next(p, len, &i, &f)) > 0) {
		if (f.num != 4 && !FU_ONCE(seen, f))
			return FAST_DECLINE;
		switch (f.num) {
		case 1:
			if (fu_bytes(&f, &l->trace_id))
				return FAST_DECLINE;
			break;
		case 2:
			if (fu_bytes(&f, &l->span_id))
				return FAST_DECLINE;
			break;
		case 3:
			if (f.wt != 2)
				return FAST_DECLINE;
			if (!(l->trace_state = fu_str(a, &f)))
				return -ENOMEM;
			break;
		case 4:
			err = fu_kv_next(a, &f, l->attributes, &l->n_attributes, 5);
			if (err)
				return err;
			break;
		case 5:
			if (fu_u32(&f, &l->dropped_attributes_count))
				return FAST_DECLINE;
			break;
		case 6:
			if (f.wt != 5)
				return FAST_DECLINE;
			l->flags = (uint32_t)f.v;
			break;
		default:
			return FAST_DECLINE;
		}
	}
	return r < 0 ? FAST_DECLINE : 0;
}

static int fu_status(struct ct_arena *a, const uint8_t *p, size_t len, pb_status *st)
{
	uint64_t seen = 0;
	struct fld f;
	size_t i = 0;
	int r;

	while ((r = fu_next(p, len, &i, &f)) > 0) {
		if (!FU_ONCE(seen, f))
			return FAST_DECLINE;
		if (f.num == 2 && f.wt == 2) {
			if (!(st->message = fu_str(a, &f)))
				return -ENOMEM;
		} else if (f.num == 3 && f.wt == 0) {
			st->code = (int32_t)(uint32_t)f.v;
		} else {
			return FAST_DECLINE;
		}
	}
	return r < 0 ? FAST_DECLINE : 0;
}

static int fu_span(struct ct_arena *a, const uint8_t *p, size_t len, pb_span *s)
{
	uint64_t seen = 0;
	size_t cnt[16], i = 0, ne = 0, nl = 0;
	struct fld f;
	uint32_t u;
	int r, err;

	fu_count(p, len, cnt);
	if (cnt[11] && !fu_msgs(a, cnt[11], sizeof(pb_event), init_event, (void ***)&s->events))
		return -ENOMEM;
	if (cnt[13] && !fu_msgs(a, cnt[13], sizeof(pb_link), init_link, (void ***)&s->links))
		return -ENOMEM;
	if (fu_kvs(a, cnt[9], &s->attributes))
		return -ENOMEM;
	while ((r = fu_next(p, len, &i, &f)) > 0) {
		if (f.num != 9 && f.num != 11 && f.num != 13 && !FU_ONCE(seen, f))
			return FAST_DECLINE;
		err = 0;
		switch (f.num) {
		case 1:
			err = fu_bytes(&f, &s->trace_id);
			break;
		case 2:
			err = fu_bytes(&f, &s->span_id);
			break;
		case 3:
			if (f.wt != 2)
				return FAST_DECLINE;
			if (!(s->trace_state = fu_str(a, &f)))
				return -ENOMEM;
			break;
		case 4:
			err = fu_bytes(&f, &s->parent_span_id);
			break;
		case 5:
			if (f.wt != 2)
				return FAST_DECLINE;
			if (!(s->name = fu_str(a, &f)))
				return -ENOMEM;
			break;
		case 6:
			err = fu_u32(&f, &u);
			if (!err)
				s->kind = (int32_t)u;
			break;
		case 7:
		case 8:
			if (f.wt != 1)
				return FAST_DECLINE;
			*(f.num == 7 ? &s->start_time_unix_nano : &s->end_time_unix_nano) = f.v;
			break;
		case 9:
			err = fu_kv_next(a, &f, s->attributes, &s->n_attributes, 4);
			break;
		case 10:
			err = fu_u32(&f, &s->dropped_attributes_count);
			break;
		case 11:
			err = f.wt != 2 ? FAST_DECLINE : fu_event(a, f.p, f.v, s->events[ne++]);
			break;
		case 12:
			err = fu_u32(&f, &s->dropped_events_count);
			break;
		case 13:
			err = f.wt != 2 ? FAST_DECLINE : fu_link(a, f.p, f.v, s->links[nl++]);
			break;
		case 14:
			err = fu_u32(&f, &s->dropped_links_count);
			break;
		case 15:
			if (f.wt != 2)
				return FAST_DECLINE;
			if (!(s->status = ct_arena_alloc_raw(a, sizeof(*s->status))))
				return -ENOMEM;
			opentelemetry__proto__trace__v1__status__init(s->status);
			err = fu_status(a, f.p, f.v, s->status);
			break;
		case 16:
			if (f.wt != 5)
				return FAST_DECLINE;
			s->flags = (uint32_t)f.v;
			break;
		default:
			return FAST_DECLINE;
		}
		if (err)
			return err;
	}
	if (r < 0)
		return FAST_DECLINE;
	s->n_events = ne;
	s->n_links = nl;
	return 0;
}

static int fu_resource(struct ct_arena *a, const uint8_t *p, size_t len, pb_resource *res)
{
	uint64_t seen = 0;
	size_t cnt[16], i = 0;
	struct fld f;
	int r, err;

	fu_count(p, len, cnt);
	if (fu_kvs(a, cnt[1], &res->attributes))
		return -ENOMEM;
	while ((r = fu_next(p, len, &i, &f)) > 0) {
		if (f.num == 1) {
			err = fu_kv_next(a, &f, res->attributes, &res->n_attributes, 3);
			if (err)
				return err;
		} else if (f.num != 2 || !FU_ONCE(seen, f) ||
			   fu_u32(&f, &res->dropped_attributes_count)) {
			return FAST_DECLINE;
		}
	}
	return r < 0 ? FAST_DECLINE : 0;
}

static int fu_scope(struct ct_arena *a, const uint8_t *p, size_t len, pb_scope *sc)
{
	uint64_t seen = 0;
	size_t cnt[16], i = 0;
	struct fld f;
	int r, err;

	fu_count(p, len, cnt);
	if (fu_kvs(a, cnt[3], &sc->attributes))
		return -ENOMEM;
	while ((r = fu_next(p, len, &i, &f)) > 0) {
		if (f.num == 3) {
			err = fu_kv_next(a, &f, sc->attributes, &sc->n_attributes, 4);
			if (err)
				return err;
			continue;
		}
		if (!FU_ONCE(seen, f))
			return FAST_DECLINE;
		if ((f.num == 1 || f.num == 2) && f.wt == 2) {
			char *str = fu_str(a, &f);

			if (!str)
				return -ENOMEM;
			*(f.num == 1 ? &sc->name : &sc->version) = str;
		} else if (f.num != 4 || fu_u32(&f, &sc->dropped_attributes_count)) {
			return FAST_DECLINE;
		}
	}
	return r < 0 ? FAST_DECLINE : 0;
}

static int fu_sspans(struct ct_arena *a, const uint8_t *p, size_t len, pb_sspans *ss)
{
	uint64_t seen = 0;
	size_t cnt[16], i = 0, k = 0;
	struct fld f;
	int r, err;

	fu_count(p, len, cnt);
	if (cnt[2] && !fu_msgs(a, cnt[2], sizeof(pb_span), init_span, (void ***)&ss->spans))
		return -ENOMEM;
	while ((r = fu_next(p, len, &i, &f)) > 0) {
		if (f.wt != 2 || (f.num != 2 && !FU_ONCE(seen, f)))
			return FAST_DECLINE;
		if (f.num == 1) {
			if (!(ss->scope = ct_arena_alloc_raw(a, sizeof(*ss->scope))))
				return -ENOMEM;
			opentelemetry__proto__common__v1__instrumentation_scope__init(ss->scope);
			err = fu_scope(a, f.p, f.v, ss->scope);
		} else if (f.num == 2) {
			err = fu_span(a, f.p, f.v, ss->spans[k++]);
		} else if (f.num == 3) {
			err = (ss->schema_url = fu_str(a, &f)) ? 0 : -ENOMEM;
		} else {
			err = FAST_DECLINE;
		}
		if (err)
			return err;
	}
	ss->n_spans = k;
	return r < 0 ? FAST_DECLINE : 0;
}

static int fu_rspans(struct ct_arena *a, const uint8_t *p, size_t len, pb_rspans *rs)
{
	uint64_t seen = 0;
	size_t cnt[16], i = 0, k = 0;
	struct fld f;
	int r, err;

	fu_count(p, len, cnt);
	if (cnt[2] &&
	    !fu_msgs(a, cnt[2], sizeof(pb_sspans), init_sspans, (void ***)&rs->scope_spans))
		return -ENOMEM;
	while ((r = fu_next(p, len, &i, &f)) > 0) {
		if (f.wt != 2 || (f.num != 2 && !FU_ONCE(seen, f)))
			return FAST_DECLINE;
		if (f.num == 1) {
			if (!(rs->resource = ct_arena_alloc_raw(a, sizeof(*rs->resource))))
				return -ENOMEM;
			opentelemetry__proto__resource__v1__resource__init(rs->resource);
			err = fu_resource(a, f.p, f.v, rs->resource);
		} else if (f.num == 2) {
			err = fu_sspans(a, f.p, f.v, rs->scope_spans[k++]);
		} else if (f.num == 3) {
			err = (rs->schema_url = fu_str(a, &f)) ? 0 : -ENOMEM;
		} else {
			err = FAST_DECLINE;
		}
		if (err)
			return err;
	}
	rs->n_scope_spans = k;
	return r < 0 ? FAST_DECLINE : 0;
}

/* The request as protobuf-c would unpack it: 0, FAST_DECLINE (protobuf-c's turn), -ENOMEM. */
static int fast_unpack(struct ct_arena *a, const uint8_t *p, size_t len, pb_request **out)
{
	pb_request *req = ct_arena_alloc_raw(a, sizeof(*req));
	size_t cnt[16], i = 0, k = 0;
	struct fld f;
	int r, err;

	if (!req)
		return -ENOMEM;
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(req);
	fu_count(p, len, cnt);
	if (cnt[1] &&
	    !fu_msgs(a, cnt[1], sizeof(pb_rspans), init_rspans, (void ***)&req->resource_spans))
		return -ENOMEM;
	while ((r = fu_next(p, len, &i, &f)) > 0) {
		if (f.num != 1 || f.wt != 2)
			return FAST_DECLINE;
		err = fu_rspans(a, f.p, f.v, req->resource_spans[k++]);
		if (err)
			return err;
	}
	if (r < 0)
		return FAST_DECLINE;
	req->n_resource_spans = k;
	*out = req;
	return 0;
}

/* ---- decode ---- */

/* Writes an AnyValue as plain JSON (arrays and kvlists flattened; bytes as base64). */
static void any_json(struct ct_jsonw *w, const pb_any *v, struct ct_buf *tmp)
{
	if (!v) {
		ct_jsonw_null(w);
		return;
	}
	switch (v->value_case) {
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
		ct_jsonw_str(w, v->string_value);
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
		ct_jsonw_bool(w, v->bool_value);
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
		ct_jsonw_int(w, v->int_value);
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
		ct_jsonw_double(w, v->double_value);
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
		ct_buf_reset(tmp);
		if (ct_buf_reserve(tmp, ct_base64_encoded_size(v->bytes_value.len)) == 0) {
			ct_base64_encode(tmp->data, v->bytes_value.data, v->bytes_value.len);
			ct_jsonw_str(w, tmp->data);
		} else {
			ct_jsonw_null(w);
		}
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
		ct_jsonw_arr_begin(w);
		for (size_t i = 0; i < v->array_value->n_values; i++)
			any_json(w, v->array_value->values[i], tmp);
		ct_jsonw_arr_end(w);
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
		ct_jsonw_obj_begin(w);
		for (size_t i = 0; i < v->kvlist_value->n_values; i++) {
			const pb_kv *kv = v->kvlist_value->values[i];

			ct_jsonw_key(w, kv->key);
			any_json(w, kv->value, tmp);
		}
		ct_jsonw_obj_end(w);
		break;
	default:
		ct_jsonw_null(w);
		break;
	}
}

static int conv_value(struct ct_nbatch *b, struct ct_nval *out, const pb_any *v)
{
	struct ct_buf js, tmp;
	struct ct_jsonw w;
	int err;

	if (!v)
		return 0; /* CT_NVAL_EMPTY */
	switch (v->value_case) {
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
		out->type = CT_NVAL_STR;
		out->s = v->string_value;
		out->len = (uint32_t)strlen(v->string_value);
		return 0;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
		out->type = CT_NVAL_BOOL;
		out->b = !!v->bool_value;
		return 0;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
		out->type = CT_NVAL_INT;
		out->i = v->int_value;
		return 0;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
		out->type = CT_NVAL_DOUBLE;
		out->d = v->double_value;
		return 0;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
		return ct_nval_set_bytes(b, out, CT_NVAL_BYTES, v->bytes_value.data,
					 v->bytes_value.len);
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
		ct_buf_init(&js);
		ct_buf_init(&tmp);
		ct_jsonw_init(&w, &js, 0);
		any_json(&w, v, &tmp);
		err = js.oom || tmp.oom
			      ? -ENOMEM
			      : ct_nval_set_bytes(
					b, out,
					v->value_case ==
							OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE
						? CT_NVAL_ARRAY
						: CT_NVAL_KVLIST,
					js.data, js.len);
		ct_buf_fini(&js);
		ct_buf_fini(&tmp);
		return err;
	default:
		return 0;
	}
}

static int conv_attrs(struct ct_nbatch *b, struct ct_nattrs *a, pb_kv **kv, size_t n,
		      uint32_t dropped)
{
	a->dropped = dropped;
	if (!n)
		return 0;
	a->v = ct_arena_alloc(&b->arena, n * sizeof(*a->v));
	if (!a->v)
		return -ENOMEM;
	a->cap = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		struct ct_nattr *x = &a->v[a->n++];
		int err;

		x->key = kv[i]->key;
		err = conv_value(b, &x->v, kv[i]->value);
		if (err)
			return err;
	}
	return 0;
}

static int conv_span(struct ct_nbatch *b, const pb_span *sp, uint32_t ri, uint32_t si)
{
	struct ct_nspan *s;
	int err;

	if (sp->trace_id.len != 16 || !ct_id_valid(sp->trace_id.data, 16)) {
		ct_nbatch_reject(b, "span \"%s\": trace_id must be 16 bytes, not all zero",
				 sp->name);
		return 0;
	}
	if (sp->span_id.len != 8 || !ct_id_valid(sp->span_id.data, 8)) {
		ct_nbatch_reject(b, "span \"%s\": span_id must be 8 bytes, not all zero", sp->name);
		return 0;
	}
	if (sp->parent_span_id.len != 0 && sp->parent_span_id.len != 8) {
		ct_nbatch_reject(b, "span \"%s\": parent_span_id must be empty or 8 bytes",
				 sp->name);
		return 0;
	}
	s = ct_nbatch_add_span(b, ri, si);
	if (!s)
		return -ENOMEM;
	memcpy(s->trace_id, sp->trace_id.data, 16);
	memcpy(s->span_id, sp->span_id.data, 8);
	if (sp->parent_span_id.len)
		memcpy(s->parent_id, sp->parent_span_id.data, 8);
	s->trace_state = sp->trace_state;
	s->flags = sp->flags;
	s->name = sp->name;
	s->kind = sp->kind >= 0 && sp->kind <= 5 ? (uint8_t)sp->kind : 0;
	s->start_ns = sp->start_time_unix_nano;
	s->end_ns = sp->end_time_unix_nano;
	if (sp->status) {
		s->status = sp->status->code >= 0 && sp->status->code <= 2
				    ? (uint8_t)sp->status->code
				    : 0;
		s->status_message = sp->status->message;
	}
	err = conv_attrs(b, &s->attrs, sp->attributes, sp->n_attributes,
			 sp->dropped_attributes_count);
	/* Events and links: arrays of their exact size (growth would start at 4). */
	if (!err && sp->n_events) {
		s->events = ct_arena_alloc_raw(&b->arena, sp->n_events * sizeof(*s->events));
		if (!s->events || sp->n_events > UINT32_MAX)
			return -ENOMEM;
		s->cap_events = (uint32_t)sp->n_events;
	}
	if (!err && sp->n_links) {
		s->links = ct_arena_alloc_raw(&b->arena, sp->n_links * sizeof(*s->links));
		if (!s->links || sp->n_links > UINT32_MAX)
			return -ENOMEM;
		s->cap_links = (uint32_t)sp->n_links;
	}
	for (size_t i = 0; !err && i < sp->n_events; i++) {
		const pb_event *e = sp->events[i];
		struct ct_nevent *ev = ct_nspan_add_event(b, s);

		if (!ev)
			return -ENOMEM;
		ev->time_ns = e->time_unix_nano;
		ev->name = e->name;
		err = conv_attrs(b, &ev->attrs, e->attributes, e->n_attributes,
				 e->dropped_attributes_count);
	}
	s->dropped_events = sp->dropped_events_count;
	s->dropped_links = sp->dropped_links_count;
	for (size_t i = 0; !err && i < sp->n_links; i++) {
		const pb_link *l = sp->links[i];
		struct ct_nlink *ln;

		if (l->trace_id.len != 16 || l->span_id.len != 8) {
			s->dropped_links++; /* a link to nothing says nothing; counted as dropped */
			continue;
		}
		ln = ct_nspan_add_link(b, s);
		if (!ln)
			return -ENOMEM;
		memcpy(ln->trace_id, l->trace_id.data, 16);
		memcpy(ln->span_id, l->span_id.data, 8);
		ln->trace_state = l->trace_state;
		ln->flags = l->flags;
		err = conv_attrs(b, &ln->attrs, l->attributes, l->n_attributes,
				 l->dropped_attributes_count);
	}
	return err;
}

static int conv_request(struct ct_nbatch *b, const pb_request *req)
{
	size_t total = 0;

	/* The span array in one piece (rejected spans only leave room unused). */
	for (size_t r = 0; r < req->n_resource_spans; r++)
		for (size_t k = 0; k < req->resource_spans[r]->n_scope_spans; k++)
			total += req->resource_spans[r]->scope_spans[k]->n_spans;
	if (total > UINT32_MAX || ct_nbatch_reserve_spans(b, (uint32_t)total))
		return -ENOMEM;
	for (size_t r = 0; r < req->n_resource_spans; r++) {
		const pb_rspans *rs = req->resource_spans[r];
		struct ct_nresource *res = ct_nbatch_add_resource(b);
		uint32_t ri = b->n_resources - 1;
		uint32_t resolution;
		int err = 0;

		if (!res)
			return -ENOMEM;
		res->schema_url = rs->schema_url;
		if (rs->resource)
			err = conv_attrs(b, &res->attrs, rs->resource->attributes,
					 rs->resource->n_attributes,
					 rs->resource->dropped_attributes_count);
		if (err)
			return err;
		ct_nresource_derive(res);
		/* JavaScript SDKs stamp span starts from a millisecond clock. */
		resolution =
			!strcmp(res->sdk_language, "nodejs") || !strcmp(res->sdk_language, "webjs")
				? 1000000
				: 0;
		for (size_t k = 0; k < rs->n_scope_spans; k++) {
			const pb_sspans *ss = rs->scope_spans[k];
			struct ct_nscope *sc = ct_nbatch_add_scope(b);
			uint32_t si = b->n_scopes - 1, first = b->n_spans;

			if (!sc)
				return -ENOMEM;
			sc->schema_url = ss->schema_url;
			if (ss->scope) {
				sc->name = ss->scope->name;
				sc->version = ss->scope->version;
				err = conv_attrs(b, &sc->attrs, ss->scope->attributes,
						 ss->scope->n_attributes,
						 ss->scope->dropped_attributes_count);
				if (err)
					return err;
			}
			for (size_t i = 0; i < ss->n_spans; i++) {
				err = conv_span(b, ss->spans[i], ri, si);
				if (err)
					return err;
			}
			for (uint32_t i = first; i < b->n_spans; i++)
				b->spans[i].time_resolution_ns = resolution;
		}
	}
	return 0;
}

/* ct_otlp_proto_decode; fast: try fast_unpack before protobuf-c. */
static int decode(const uint8_t *p, size_t len, struct ct_nbatch **out, char *err, size_t errlen,
		  int fast)
{
	ProtobufCAllocator alloc = {.alloc = arena_alloc, .free = arena_free};
	struct pb_arena pa = {0};
	struct ct_nbatch *b;
	pb_request *req = NULL;
	int e;

	pthread_once(&scan_once, scan_build);
	if (scan_overflow) {
		snprintf(err, errlen,
			 "cannot check OTLP messages: the schema has more message types than "
			 "SCAN_NODES in net/otlp_proto.c (a build problem: raise it)");
		return CT_EFORMAT;
	}
	e = ct_nbatch_new(&b, "otlp");
	if (e)
		return e;
	/*
	 * One block for the whole request, parse tree and model: they take about PB_TREE_RATIO
	 * times the bytes of the message (measured on SDK-like spans; more only costs a block).
	 */
	if (ct_arena_reserve(&b->arena, len < PB_RESERVE_MAX / PB_TREE_RATIO
						? len * PB_TREE_RATIO + 1024
						: PB_RESERVE_MAX)) {
		ct_nbatch_free(b);
		snprintf(err, errlen, "out of memory decoding the request");
		return -ENOMEM;
	}
	e = fast ? fast_unpack(&b->arena, p, len, &req) : FAST_DECLINE;
	if (e < 0) {
		snprintf(err, errlen, "out of memory decoding the request");
		ct_nbatch_free(b);
		return e;
	}
	/*
	 * The pre-scan only for what the fast path declined: the fast path declines whatever
	 * the pre-scan would refuse (bad framing in any message, nesting too deep).
	 */
	if (e == FAST_DECLINE && (e = scan(p, len, &scan_nodes[0], 0))) {
		snprintf(err, errlen,
			 e == CT_ETOOBIG
				 ? "protobuf message nests deeper than %d levels"
				 : "not a valid protobuf ExportTraceServiceRequest (bad framing)",
			 MAX_MSG_DEPTH);
		ct_nbatch_free(b);
		return CT_EFORMAT;
	}
	pa.a = &b->arena;
	alloc.allocator_data = &pa;
	if (!req)
		req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
			&alloc, len, p);
	if (!req) {
		e = b->arena.oom ? -ENOMEM : CT_EFORMAT;
		snprintf(err, errlen, "%s",
			 e == -ENOMEM
				 ? "out of memory decoding the request"
				 : "not a valid protobuf ExportTraceServiceRequest (field types "
				   "do not match the OTLP schema)");
		ct_nbatch_free(b);
		return e;
	}
	e = conv_request(b, req);
	if (e) {
		snprintf(err, errlen, "out of memory decoding the request");
		ct_nbatch_free(b);
		return e;
	}
	*out = b;
	return 0;
}

int ct_otlp_proto_decode(const uint8_t *p, size_t len, struct ct_nbatch **out, char *err,
			 size_t errlen)
{
	return decode(p, len, out, err, errlen, 1);
}

int ct__otlp_proto_decode_pbc(const uint8_t *p, size_t len, struct ct_nbatch **out, char *err,
			      size_t errlen)
{
	return decode(p, len, out, err, errlen, 0);
}

/* ---- encode ---- */

static pb_any *json_any(struct ct_arena *a, json_t *j);

static pb_kv *make_kv(struct ct_arena *a, const char *key, pb_any *v)
{
	pb_kv *kv = ct_arena_alloc(a, sizeof(*kv));

	if (!kv)
		return NULL;
	opentelemetry__proto__common__v1__key_value__init(kv);
	kv->key = (char *)key;
	kv->value = v;
	return kv;
}

/* The AnyValue of a JSON value (the reverse of any_json, bytes excepted: they stay strings). */
static pb_any *json_any(struct ct_arena *a, json_t *j)
{
	pb_any *v = ct_arena_alloc(a, sizeof(*v));
	size_t i, n;

	if (!v)
		return NULL;
	opentelemetry__proto__common__v1__any_value__init(v);
	switch (json_typeof(j)) {
	case JSON_STRING:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
		v->string_value = ct_arena_strndup(a, json_string_value(j), json_string_length(j));
		return v->string_value ? v : NULL;
	case JSON_INTEGER:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
		v->int_value = json_integer_value(j);
		return v;
	case JSON_REAL:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
		v->double_value = json_real_value(j);
		return v;
	case JSON_TRUE:
	case JSON_FALSE:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
		v->bool_value = json_is_true(j);
		return v;
	case JSON_ARRAY: {
		pb_array *arr = ct_arena_alloc(a, sizeof(*arr));

		if (!arr)
			return NULL;
		opentelemetry__proto__common__v1__array_value__init(arr);
		n = json_array_size(j);
		arr->values = ct_arena_alloc(a, (n ? n : 1) * sizeof(*arr->values));
		if (!arr->values)
			return NULL;
		for (i = 0; i < n; i++) {
			arr->values[i] = json_any(a, json_array_get(j, i));
			if (!arr->values[i])
				return NULL;
		}
		arr->n_values = n;
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
		v->array_value = arr;
		return v;
	}
	case JSON_OBJECT: {
		pb_kvlist *kl = ct_arena_alloc(a, sizeof(*kl));
		const char *key;
		json_t *val;

		if (!kl)
			return NULL;
		opentelemetry__proto__common__v1__key_value_list__init(kl);
		n = json_object_size(j);
		kl->values = ct_arena_alloc(a, (n ? n : 1) * sizeof(*kl->values));
		if (!kl->values)
			return NULL;
		json_object_foreach(j, key, val)
		{
			pb_any *x = json_any(a, val);
			char *k = ct_arena_strndup(a, key, strlen(key));

			if (!x || !k || !(kl->values[kl->n_values] = make_kv(a, k, x)))
				return NULL;
			kl->n_values++;
		}
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
		v->kvlist_value = kl;
		return v;
	}
	default:
		return v; /* null: an empty AnyValue */
	}
}

static int enc_value(struct ct_arena *a, const struct ct_nval *x, pb_any **out)
{
	pb_any *v;
	json_t *j;
	json_error_t jerr;

	if (x->type == CT_NVAL_ARRAY || x->type == CT_NVAL_KVLIST) {
		j = json_loadb(x->s, x->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
		if (!j)
			return CT_EFORMAT;
		v = json_any(a, j);
		json_decref(j);
		*out = v;
		return v ? 0 : -ENOMEM;
	}
	v = ct_arena_alloc(a, sizeof(*v));
	if (!v)
		return -ENOMEM;
	opentelemetry__proto__common__v1__any_value__init(v);
	switch (x->type) {
	case CT_NVAL_STR:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
		v->string_value = (char *)x->s;
		break;
	case CT_NVAL_BOOL:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
		v->bool_value = x->b;
		break;
	case CT_NVAL_INT:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
		v->int_value = x->i;
		break;
	case CT_NVAL_DOUBLE:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
		v->double_value = x->d;
		break;
	case CT_NVAL_BYTES:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
		v->bytes_value.data = (uint8_t *)x->s;
		v->bytes_value.len = x->len;
		break;
	default:
		break;
	}
	*out = v;
	return 0;
}

static int enc_attrs(struct ct_arena *a, const struct ct_nattrs *at, pb_kv ***out, size_t *n)
{
	*n = 0;
	if (!at->n)
		return 0;
	*out = ct_arena_alloc(a, at->n * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (uint32_t i = 0; i < at->n; i++) {
		pb_any *v;
		int err = enc_value(a, &at->v[i].v, &v);

		if (err)
			return err;
		(*out)[i] = make_kv(a, at->v[i].key, v);
		if (!(*out)[i])
			return -ENOMEM;
	}
	*n = at->n;
	return 0;
}

static pb_span *enc_span(struct ct_arena *a, const struct ct_nspan *s, int *err)
{
	pb_span *p = ct_arena_alloc(a, sizeof(*p));
	pb_status *st = ct_arena_alloc(a, sizeof(*st));

	*err = -ENOMEM;
	if (!p || !st)
		return NULL;
	opentelemetry__proto__trace__v1__span__init(p);
	p->trace_id.data = (uint8_t *)s->trace_id;
	p->trace_id.len = 16;
	p->span_id.data = (uint8_t *)s->span_id;
	p->span_id.len = 8;
	if (ct_id_valid(s->parent_id, 8)) {
		p->parent_span_id.data = (uint8_t *)s->parent_id;
		p->parent_span_id.len = 8;
	}
	p->trace_state = (char *)s->trace_state;
	p->flags = s->flags;
	p->name = (char *)s->name;
	p->kind = s->kind;
	p->start_time_unix_nano = s->start_ns;
	p->end_time_unix_nano = s->end_ns;
	*err = enc_attrs(a, &s->attrs, &p->attributes, &p->n_attributes);
	if (*err)
		return NULL;
	p->dropped_attributes_count = s->attrs.dropped;
	if (s->n_events) {
		p->events = ct_arena_alloc(a, s->n_events * sizeof(*p->events));
		if (!p->events)
			return NULL;
	}
	for (uint32_t i = 0; i < s->n_events; i++) {
		pb_event *e = ct_arena_alloc(a, sizeof(*e));

		if (!e)
			return NULL;
		opentelemetry__proto__trace__v1__span__event__init(e);
		e->time_unix_nano = s->events[i].time_ns;
		e->name = (char *)s->events[i].name;
		*err = enc_attrs(a, &s->events[i].attrs, &e->attributes, &e->n_attributes);
		if (*err)
			return NULL;
		e->dropped_attributes_count = s->events[i].attrs.dropped;
		p->events[p->n_events++] = e;
	}
	p->dropped_events_count = s->dropped_events;
	if (s->n_links) {
		p->links = ct_arena_alloc(a, s->n_links * sizeof(*p->links));
		if (!p->links)
			return NULL;
	}
	for (uint32_t i = 0; i < s->n_links; i++) {
		pb_link *l = ct_arena_alloc(a, sizeof(*l));

		if (!l)
			return NULL;
		opentelemetry__proto__trace__v1__span__link__init(l);
		l->trace_id.data = (uint8_t *)s->links[i].trace_id;
		l->trace_id.len = 16;
		l->span_id.data = (uint8_t *)s->links[i].span_id;
		l->span_id.len = 8;
		l->trace_state = (char *)s->links[i].trace_state;
		l->flags = s->links[i].flags;
		*err = enc_attrs(a, &s->links[i].attrs, &l->attributes, &l->n_attributes);
		if (*err)
			return NULL;
		l->dropped_attributes_count = s->links[i].attrs.dropped;
		p->links[p->n_links++] = l;
	}
	p->dropped_links_count = s->dropped_links;
	opentelemetry__proto__trace__v1__status__init(st);
	st->code = s->status;
	st->message = (char *)s->status_message;
	p->status = st;
	*err = 0;
	return p;
}

/* Encodes the spans of one resource (all its scopes) as one ResourceSpans. */
static int enc_resource(struct ct_arena *a, const struct ct_nbatch *b, uint32_t ri,
			const uint32_t *idx, uint32_t n, pb_rspans **out)
{
	const struct ct_nresource *r = &b->resources[ri];
	pb_rspans *rs = ct_arena_alloc(a, sizeof(*rs));
	pb_resource *res = ct_arena_alloc(a, sizeof(*res));
	pb_sspans **scopes = ct_arena_alloc(a, b->n_scopes * sizeof(*scopes));
	int err;

	if (!rs || !res || !scopes)
		return -ENOMEM;
	opentelemetry__proto__trace__v1__resource_spans__init(rs);
	opentelemetry__proto__resource__v1__resource__init(res);
	err = enc_attrs(a, &r->attrs, &res->attributes, &res->n_attributes);
	if (err)
		return err;
	res->dropped_attributes_count = r->attrs.dropped;
	rs->resource = res;
	rs->schema_url = (char *)r->schema_url;
	rs->scope_spans = ct_arena_alloc(a, b->n_scopes * sizeof(*rs->scope_spans));
	if (!rs->scope_spans)
		return -ENOMEM;
	for (uint32_t k = 0; k < n; k++) {
		const struct ct_nspan *s = &b->spans[idx ? idx[k] : k];
		pb_sspans *ss;
		pb_span *ps;

		if (s->resource != ri)
			continue;
		ss = scopes[s->scope];
		if (!ss) {
			const struct ct_nscope *sc = &b->scopes[s->scope];
			pb_scope *psc = ct_arena_alloc(a, sizeof(*psc));

			ss = ct_arena_alloc(a, sizeof(*ss));
			if (!ss || !psc)
				return -ENOMEM;
			opentelemetry__proto__trace__v1__scope_spans__init(ss);
			opentelemetry__proto__common__v1__instrumentation_scope__init(psc);
			psc->name = (char *)sc->name;
			psc->version = (char *)sc->version;
			err = enc_attrs(a, &sc->attrs, &psc->attributes, &psc->n_attributes);
			if (err)
				return err;
			psc->dropped_attributes_count = sc->attrs.dropped;
			ss->scope = psc;
			ss->schema_url = (char *)sc->schema_url;
			/* Room for every span of the request: simpler than counting first. */
			ss->spans = ct_arena_alloc(a, n * sizeof(*ss->spans));
			if (!ss->spans)
				return -ENOMEM;
			scopes[s->scope] = ss;
			rs->scope_spans[rs->n_scope_spans++] = ss;
		}
		ps = enc_span(a, s, &err);
		if (!ps)
			return err;
		ss->spans[ss->n_spans++] = ps;
	}
	*out = rs;
	return 0;
}

int ct_otlp_proto_encode(const struct ct_nbatch *b, const uint32_t *idx, uint32_t n,
			 struct ct_buf *out)
{
	pb_request req =
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
	struct ct_arena a;
	uint8_t *used;
	size_t size;
	int err = 0;

	if (!idx)
		n = b->n_spans;
	if (!n)
		return 0;
	ct_arena_init(&a);
	used = ct_arena_alloc(&a, b->n_resources ? b->n_resources : 1);
	req.resource_spans = ct_arena_alloc(&a, (b->n_resources ? b->n_resources : 1) *
							sizeof(*req.resource_spans));
	if (!used || !req.resource_spans)
		err = -ENOMEM;
	for (uint32_t k = 0; !err && k < n; k++) {
		uint32_t ri = b->spans[idx ? idx[k] : k].resource;

		if (used[ri])
			continue;
		used[ri] = 1;
		err = enc_resource(&a, b, ri, idx, n, &req.resource_spans[req.n_resource_spans]);
		if (!err)
			req.n_resource_spans++;
	}
	if (!err) {
		size = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
			&req);
		err = ct_buf_reserve(out, size + 1);
		if (!err) {
			opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(
				&req, (uint8_t *)out->data + out->len);
			out->len += size;
		}
	}
	ct_arena_fini(&a);
	return err;
}

/* ---- responses ---- */

static void put_varint(struct ct_buf *out, uint64_t v)
{
	do {
		uint8_t c = v & 0x7f;

		v >>= 7;
		if (v)
			c |= 0x80;
		ct_buf_putc(out, (char)c);
	} while (v);
}

void ct_otlp_proto_response(struct ct_buf *out, uint64_t rejected, const char *msg)
{
	pb_response resp =
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
	pb_partial ps =
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
	size_t size;

	if (rejected) {
		ps.rejected_spans = (int64_t)rejected;
		ps.error_message = (char *)(msg ? msg : "");
		resp.partial_success = &ps;
	}
	size = opentelemetry__proto__collector__trace__v1__export_trace_service_response__get_packed_size(
		&resp);
	if (ct_buf_reserve(out, size + 1))
		return;
	opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(
		&resp, (uint8_t *)out->data + out->len);
	out->len += size;
	out->data[out->len] = 0;
}

int ct_otlp_proto_parse_response(const uint8_t *p, size_t len, int64_t *rejected, char *msg,
				 size_t msglen)
{
	pb_response *r =
		opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
			NULL, len, p);

	*rejected = 0;
	if (msg && msglen)
		msg[0] = 0;
	if (!r)
		return CT_EFORMAT;
	if (r->partial_success) {
		*rejected = r->partial_success->rejected_spans;
		if (msg && msglen)
			snprintf(msg, msglen, "%s", r->partial_success->error_message);
	}
	opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(
		r, NULL);
	return 0;
}

void ct_rpc_status_proto(struct ct_buf *out, int code, const char *message)
{
	size_t n = strlen(message);

	if (code) {
		ct_buf_putc(out, 0x08); /* field 1, varint: code */
		put_varint(out, (uint64_t)(uint32_t)code);
	}
	ct_buf_putc(out, 0x12); /* field 2, length-delimited: message */
	put_varint(out, n);
	ct_buf_append(out, message, n);
}
