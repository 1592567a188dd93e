/* SPDX-License-Identifier: MIT */
/*
 * The one span model every receiver decodes into and the exporter encodes from: OTLP's
 * resource → scope → span tree, flattened to arrays. A batch owns all its memory in one arena
 * (strings, arrays, values), so a decoded request is freed in one call and decoders allocate
 * without bookkeeping. Times are wall-clock (Unix epoch ns) as the SDKs send them; conversion
 * to CLOCK_MONOTONIC happens later (span_events.h). Not thread-safe: one owner per batch.
 */
#ifndef CT_NET_SPAN_MODEL_H
#define CT_NET_SPAN_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* ---- arena ---- */

/* A block of an arena (visible for the inline fast path of ct_arena_alloc_raw). */
struct ct_arena_blk {
	struct ct_arena_blk *next;
	size_t used, cap;
	_Alignas(8) unsigned char data[];
};

/* Bump allocator: memory lives until ct_arena_fini. Caller owns the struct. */
struct ct_arena {
	struct ct_arena_blk *head;
	size_t total; /* bytes held (for memory accounting) */
	int oom; /* an allocation failed */
};

void ct_arena_init(struct ct_arena *a);
void ct_arena_fini(struct ct_arena *a);
/* n bytes aligned to 8, zeroed; NULL (and a->oom set) when out of memory. */
void *ct_arena_alloc(struct ct_arena *a, size_t n);
/*
 * n bytes aligned to 8, NOT zeroed (for callers that write all of them, e.g. protobuf-c's
 * unpacking); NULL (and a->oom set) when out of memory.
 */
void *ct__arena_alloc_slow(struct ct_arena *a, size_t n);
static inline void *ct_arena_alloc_raw(struct ct_arena *a, size_t n)
{
	struct ct_arena_blk *b = a->head;
	void *p;

	/* Decoders allocate dozens of times per span: the common case is not a call. */
	n = n ? (n + 7) & ~(size_t)7 : 8;
	if (!b || b->cap - b->used < n)
		return ct__arena_alloc_slow(a, n);
	p = b->data + b->used;
	b->used += n;
	return p;
}
/*
 * Makes the next allocations up to n bytes in all come from one block (a decoder that knows
 * roughly how much it will need makes one malloc instead of a dozen). Returns 0 or -ENOMEM.
 */
int ct_arena_reserve(struct ct_arena *a, size_t n);
/* A NUL-terminated copy of s[0..n); NULL when out of memory. */
char *ct_arena_strndup(struct ct_arena *a, const char *s, size_t n);

/* ---- values ---- */

/* The OTLP AnyValue types. ARRAY and KVLIST are kept as JSON text (see docs/internals/net.md):
 * arrays of scalars as a JSON array, kvlists as a JSON object; bytes inside them as base64. */
enum ct_nval_type {
	CT_NVAL_EMPTY = 0,
	CT_NVAL_STR,
	CT_NVAL_BOOL,
	CT_NVAL_INT,
	CT_NVAL_DOUBLE,
	CT_NVAL_BYTES,
	CT_NVAL_ARRAY, /* s holds JSON array text */
	CT_NVAL_KVLIST, /* s holds JSON object text */
};

struct ct_nval {
	uint8_t type; /* enum ct_nval_type */
	uint32_t len; /* bytes of s (STR, BYTES, ARRAY, KVLIST), without the NUL */
	union {
		const char *s; /* NUL-terminated (BYTES too, for convenience) */
		int64_t i;
		double d;
		int b;
	};
};

struct ct_nattr {
	const char *key;
	struct ct_nval v;
};

/* A growable attribute list; its array lives in the batch arena. */
struct ct_nattrs {
	struct ct_nattr *v;
	uint32_t n, cap;
	uint32_t dropped; /* dropped_attributes_count as received */
};

/* ---- spans ---- */

/* Span kinds (OTLP numbering, which ct_span_kind / event.def's kind byte also use). */
enum ct_nkind {
	CT_NKIND_UNSPECIFIED = 0,
	CT_NKIND_INTERNAL = 1,
	CT_NKIND_SERVER = 2,
	CT_NKIND_CLIENT = 3,
	CT_NKIND_PRODUCER = 4,
	CT_NKIND_CONSUMER = 5,
};

/* Status codes (OTLP numbering). */
enum ct_nstatus { CT_NSTATUS_UNSET = 0, CT_NSTATUS_OK = 1, CT_NSTATUS_ERROR = 2 };

struct ct_nresource {
	struct ct_nattrs attrs;
	const char *schema_url; /* "" when absent */
	/* Derived by ct_nresource_derive from attrs: */
	const char *service; /* service.name, or "unknown_service" */
	int32_t pid; /* process.pid, or 0 */
	const char *sdk_language; /* telemetry.sdk.language, or "" */
	const char *host; /* host.name, or "" */
};

struct ct_nscope {
	const char *name, *version, *schema_url; /* "" when absent */
	struct ct_nattrs attrs;
};

struct ct_nevent {
	uint64_t time_ns; /* Unix epoch ns */
	const char *name;
	struct ct_nattrs attrs;
};

struct ct_nlink {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	const char *trace_state;
	uint32_t flags; /* OTLP Span.Link.flags */
	struct ct_nattrs attrs;
};

struct ct_nspan {
	uint32_t resource; /* index into batch->resources */
	uint32_t scope; /* index into batch->scopes */
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_id[8]; /* all zero: a root span */
	const char *trace_state; /* "" when absent */
	uint32_t flags; /* OTLP Span.flags: W3C trace flags in bits 0-7, remote bits 8-9 */
	const char *name;
	uint8_t kind; /* enum ct_nkind */
	uint8_t status; /* enum ct_nstatus */
	const char *status_message;
	uint64_t start_ns, end_ns; /* Unix epoch ns */
	/*
	 * Resolution of the sender's clock readings in ns, beyond clock-offset uncertainty: 1000
	 * for Zipkin (µs), 1000000 for JavaScript SDKs (ms-rounded start times), else 0.
	 */
	uint32_t time_resolution_ns;
	struct ct_nattrs attrs;
	struct ct_nevent *events;
	uint32_t n_events, cap_events, dropped_events;
	struct ct_nlink *links;
	uint32_t n_links, cap_links, dropped_links;
};

/*
 * A decoded request. Spans refer to resources and scopes by index. rejected/reject_msg
 * report spans a decoder refused (invalid ids) while keeping the rest: OTLP partial success.
 */
struct ct_nbatch {
	struct ct_arena arena;
	const char *sdk; /* "otlp" or "zipkin" (PROCESS_INFO.sdk) */
	struct ct_nresource *resources;
	uint32_t n_resources, cap_resources;
	struct ct_nscope *scopes;
	uint32_t n_scopes, cap_scopes;
	struct ct_nspan *spans;
	uint32_t n_spans, cap_spans;
	uint64_t rejected;
	char reject_msg[160]; /* the first reason a span was rejected */
	/*
	 * Set by the HTTP receivers: the TCP connection the request came on (IPv4, network
	 * byte order; 0 when unknown), so that spans without a process id (Zipkin) can be
	 * attributed to the local process owning the client's socket.
	 */
	uint32_t peer_ip4, local_ip4;
	uint16_t peer_port, local_port; /* host byte order */
};

/* Allocates an empty batch. Returns 0 or -ENOMEM. Free with ct_nbatch_free. */
int ct_nbatch_new(struct ct_nbatch **out, const char *sdk);

/*
 * A copy of src holding only the model, packed into one allocation (a decoder's arena also
 * holds its parse tree, and is sized in large blocks): for batches kept a while, e.g. until
 * their kernel data is analysed. The copy owns all its memory; src is left as it was.
 * Derived resource fields are recomputed. Returns 0 or -ENOMEM. Thread-safe (src only read).
 */
int ct_nbatch_compact(const struct ct_nbatch *src, struct ct_nbatch **out);
/* Frees the batch and everything in its arena. NULL accepted. */
void ct_nbatch_free(struct ct_nbatch *b);

/* Makes room for n more spans in one growth (a decoder that knows the count). 0 or -ENOMEM. */
int ct_nbatch_reserve_spans(struct ct_nbatch *b, uint32_t n);

/* Appends a zeroed element and returns it (strings set to ""), NULL on out of memory. */
struct ct_nresource *ct_nbatch_add_resource(struct ct_nbatch *b);
struct ct_nscope *ct_nbatch_add_scope(struct ct_nbatch *b);
struct ct_nspan *ct_nbatch_add_span(struct ct_nbatch *b, uint32_t resource, uint32_t scope);
struct ct_nevent *ct_nspan_add_event(struct ct_nbatch *b, struct ct_nspan *s);
struct ct_nlink *ct_nspan_add_link(struct ct_nbatch *b, struct ct_nspan *s);
/* Appends an attribute with key copied into the arena; returns its value to fill, or NULL. */
struct ct_nval *ct_nattrs_add(struct ct_nbatch *b, struct ct_nattrs *a, const char *key,
			      size_t key_len);

/* Makes room for n more attributes in a (one growth, not several). Returns 0 or -ENOMEM. */
int ct_nattrs_reserve(struct ct_nbatch *b, struct ct_nattrs *a, uint32_t n);

/* Appends an attribute whose key is not copied: it must outlive the batch (a literal). Returns
 * its value to fill, or NULL. */
struct ct_nval *ct_nattrs_add_static(struct ct_nbatch *b, struct ct_nattrs *a, const char *key);

/* Convenience setters copying into the arena. Return 0 or -ENOMEM. */
int ct_nattrs_add_str(struct ct_nbatch *b, struct ct_nattrs *a, const char *key, const char *v);
int ct_nattrs_add_int(struct ct_nbatch *b, struct ct_nattrs *a, const char *key, int64_t v);
int ct_nattrs_add_double(struct ct_nbatch *b, struct ct_nattrs *a, const char *key, double v);
int ct_nattrs_add_bool(struct ct_nbatch *b, struct ct_nattrs *a, const char *key, int v);
/*
 * Annotations: attributes crosstrace adds to a received span before exporting it, named
 * "crosstrace.<name>" so that they never collide with the application's. Return 0 or -ENOMEM.
 */
int ct_nspan_annotate_str(struct ct_nbatch *b, struct ct_nspan *s, const char *name, const char *v);
int ct_nspan_annotate_int(struct ct_nbatch *b, struct ct_nspan *s, const char *name, int64_t v);
int ct_nspan_annotate_double(struct ct_nbatch *b, struct ct_nspan *s, const char *name, double v);

/* Sets v to a copy of s[0..n) of the given type (STR, BYTES, ARRAY, KVLIST). */
int ct_nval_set_bytes(struct ct_nbatch *b, struct ct_nval *v, uint8_t type, const void *s,
		      size_t n);

/* The attribute named key, or NULL. */
const struct ct_nattr *ct_nattrs_find(const struct ct_nattrs *a, const char *key);

/*
 * Fills r->service, pid, sdk_language and host from its attributes (process.pid given as an
 * int or a decimal string both count). Call once attributes are complete.
 */
void ct_nresource_derive(struct ct_nresource *r);

/* thread.id of the span (an int attribute, or a decimal string), or 0 when absent. */
int32_t ct_nspan_thread_id(const struct ct_nspan *s);

/* Records that one span was rejected, keeping the first reason. */
void ct_nbatch_reject(struct ct_nbatch *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Lowercase hex of n bytes into out (2n + 1 bytes). */
void ct_hex_encode(char *out, const uint8_t *p, size_t n);
/* Parses exactly 2n hex digits of s[0..len) into p. Returns 0 or CT_EFORMAT. */
int ct_hex_decode(uint8_t *p, size_t n, const char *s, size_t len);
/* An id is valid when not all bytes are zero. */
int ct_id_valid(const uint8_t *p, size_t n);
/*
 * The 8 bytes at p read big-endian (span ids and trace-id halves in event.def). Inline and
 * spelled out so that compilers make it one load and a byte swap (six calls per span).
 */
static inline uint64_t ct_id_u64(const uint8_t *p)
{
	return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
	       (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
	       (uint64_t)p[6] << 8 | (uint64_t)p[7];
}

#endif
