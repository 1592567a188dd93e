// SPDX-License-Identifier: MIT
/*
 * The span decoders and the OTLP encoder: protobuf requests built with protobuf-c's own
 * generated packers (not our encoder), OTLP JSON and Zipkin v2 texts written by hand from the
 * specifications, and our encoder checked by decoding its output.
 */
#include <errno.h>
#include <math.h>

#include "crosstrace/crosstrace.h"
#include "net/base64.h"
#include "net/otlp_json.h"
#include "net/otlp_proto.h"
#include "net/zipkin_json.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "test.h"
#include "tests/fuzz/nbatch_fuzz.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue any_t;
typedef Opentelemetry__Proto__Common__V1__KeyValue kv_t;

static const uint8_t TID[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
				0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t SID[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
static const uint8_t PID[8] = {0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8};

static const struct ct_nattr *attr(const struct ct_nattrs *a, const char *k)
{
	return ct_nattrs_find(a, k);
}

/* A request built with protobuf-c: one resource, one scope, two spans (one invalid). */
static size_t build_request(uint8_t **out, int bad_span)
{
	Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req =
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
	Opentelemetry__Proto__Trace__V1__ResourceSpans rs =
		OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
	Opentelemetry__Proto__Resource__V1__Resource res =
		OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
	Opentelemetry__Proto__Trace__V1__ScopeSpans ss =
		OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
	Opentelemetry__Proto__Common__V1__InstrumentationScope scope =
		OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
	Opentelemetry__Proto__Trace__V1__Span sp[2] = {OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT,
						       OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT};
	Opentelemetry__Proto__Trace__V1__Span__Event ev =
		OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
	Opentelemetry__Proto__Trace__V1__Span__Link ln =
		OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT;
	Opentelemetry__Proto__Trace__V1__Status st = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
	any_t v[8];
	kv_t kv[8];
	kv_t *rattrs[2], *sattrs[5], *eattrs[1], *kvl[1];
	any_t *arr[2];
	Opentelemetry__Proto__Common__V1__ArrayValue av =
		OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
	Opentelemetry__Proto__Common__V1__KeyValueList kl =
		OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
	Opentelemetry__Proto__Trace__V1__Span *spans[2] = {&sp[0], &sp[1]};
	Opentelemetry__Proto__Trace__V1__Span__Event *evs[1] = {&ev};
	Opentelemetry__Proto__Trace__V1__Span__Link *lns[1] = {&ln};
	Opentelemetry__Proto__Trace__V1__ScopeSpans *sss[1] = {&ss};
	Opentelemetry__Proto__Trace__V1__ResourceSpans *rss[1] = {&rs};
	static uint8_t bytes[3] = {0xde, 0xad, 0x00};
	size_t n;

	for (int i = 0; i < 8; i++) {
		opentelemetry__proto__common__v1__any_value__init(&v[i]);
		opentelemetry__proto__common__v1__key_value__init(&kv[i]);
		kv[i].value = &v[i];
	}
	kv[0].key = "service.name";
	v[0].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
	v[0].string_value = "checkout";
	kv[1].key = "process.pid";
	v[1].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
	v[1].int_value = 4242;
	rattrs[0] = &kv[0];
	rattrs[1] = &kv[1];
	res.attributes = rattrs;
	res.n_attributes = 2;

	kv[2].key = "http.status_code";
	v[2].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
	v[2].int_value = -7;
	kv[3].key = "ratio";
	v[3].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
	v[3].double_value = 0.25;
	kv[4].key = "ok";
	v[4].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
	v[4].bool_value = 1;
	kv[5].key = "list";
	v[5].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
	v[5].array_value = &av;
	arr[0] = &v[6];
	arr[1] = &v[7];
	v[6].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
	v[6].string_value = "a\"b";
	v[7].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
	v[7].kvlist_value = &kl;
	kvl[0] = &kv[4]; /* {"ok": true} nested */
	kl.values = kvl;
	kl.n_values = 1;
	av.values = arr;
	av.n_values = 2;
	sattrs[0] = &kv[2];
	sattrs[1] = &kv[3];
	sattrs[2] = &kv[4];
	sattrs[3] = &kv[5];
	sattrs[4] = &kv[7];
	kv[7].key = "thread.id";
	/* v[7] is the kvlist above; thread.id gets its own value. */
	static any_t tidv;
	opentelemetry__proto__common__v1__any_value__init(&tidv);
	tidv.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
	tidv.int_value = 4250;
	kv[7].value = &tidv;

	static any_t blob;
	static kv_t blobkv;
	opentelemetry__proto__common__v1__any_value__init(&blob);
	opentelemetry__proto__common__v1__key_value__init(&blobkv);
	blob.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
	blob.bytes_value.data = bytes;
	blob.bytes_value.len = 3;
	blobkv.key = "blob";
	blobkv.value = &blob;
	eattrs[0] = &blobkv;

	scope.name = "io.test";
	scope.version = "1.2.3";
	sp[0].trace_id.data = (uint8_t *)TID;
	sp[0].trace_id.len = 16;
	sp[0].span_id.data = (uint8_t *)SID;
	sp[0].span_id.len = 8;
	sp[0].parent_span_id.data = (uint8_t *)PID;
	sp[0].parent_span_id.len = 8;
	sp[0].name = "GET /cart";
	sp[0].kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
	sp[0].start_time_unix_nano = 1700000000123456789ull;
	sp[0].end_time_unix_nano = 1700000000223456789ull;
	sp[0].flags = 0x301;
	sp[0].trace_state = "vendor=x";
	sp[0].attributes = sattrs;
	sp[0].n_attributes = 5;
	sp[0].dropped_attributes_count = 2;
	ev.name = "cache miss";
	ev.time_unix_nano = 1700000000150000000ull;
	ev.attributes = eattrs;
	ev.n_attributes = 1;
	sp[0].events = evs;
	sp[0].n_events = 1;
	ln.trace_id.data = (uint8_t *)TID;
	ln.trace_id.len = 16;
	ln.span_id.data = (uint8_t *)PID;
	ln.span_id.len = 8;
	ln.flags = 1;
	sp[0].links = lns;
	sp[0].n_links = 1;
	st.code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
	st.message = "boom";
	sp[0].status = &st;

	/* The second span: valid, or with a 4-byte span id. */
	sp[1].trace_id.data = (uint8_t *)TID;
	sp[1].trace_id.len = 16;
	sp[1].span_id.data = (uint8_t *)PID;
	sp[1].span_id.len = bad_span ? 4 : 8;
	sp[1].name = "child";
	sp[1].start_time_unix_nano = 1;
	sp[1].end_time_unix_nano = 2;

	ss.scope = &scope;
	ss.spans = spans;
	ss.n_spans = 2;
	rs.resource = &res;
	rs.scope_spans = sss;
	rs.n_scope_spans = 1;
	rs.schema_url = "https://opentelemetry.io/schemas/1.21.0";
	req.resource_spans = rss;
	req.n_resource_spans = 1;
	n = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
		&req);
	*out = malloc(n);
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, *out);
	return n;
}

/* Checks the first span of build_request() as the model holds it. */
static void check_span0(const struct ct_nbatch *b)
{
	const struct ct_nspan *s = &b->spans[0];
	const struct ct_nattr *a;

	CHECK(!memcmp(s->trace_id, TID, 16));
	CHECK(!memcmp(s->span_id, SID, 8));
	CHECK(!memcmp(s->parent_id, PID, 8));
	CHECK_STR(s->name, "GET /cart");
	CHECK_INT(s->kind, CT_NKIND_SERVER);
	CHECK_U64(s->start_ns, 1700000000123456789ull);
	CHECK_U64(s->end_ns, 1700000000223456789ull);
	CHECK_INT(s->flags, 0x301);
	CHECK_STR(s->trace_state, "vendor=x");
	CHECK_INT(s->status, CT_NSTATUS_ERROR);
	CHECK_STR(s->status_message, "boom");
	CHECK_INT(s->attrs.dropped, 2);
	a = attr(&s->attrs, "http.status_code");
	CHECK(a && a->v.type == CT_NVAL_INT && a->v.i == -7);
	a = attr(&s->attrs, "ratio");
	CHECK(a && a->v.type == CT_NVAL_DOUBLE && a->v.d == 0.25);
	a = attr(&s->attrs, "ok");
	CHECK(a && a->v.type == CT_NVAL_BOOL && a->v.b == 1);
	a = attr(&s->attrs, "list");
	CHECK(a && a->v.type == CT_NVAL_ARRAY);
	if (a)
		CHECK_STR(a->v.s, "[\"a\\\"b\",{\"ok\":true}]");
	CHECK_INT(ct_nspan_thread_id(s), 4250);
	CHECK_STR(b->resources[s->resource].service, "checkout");
	CHECK_INT(b->resources[s->resource].pid, 4242);
	CHECK_STR(b->scopes[s->scope].name, "io.test");
	CHECK_STR(b->scopes[s->scope].version, "1.2.3");
	CHECK_INT(s->n_events, 1);
	if (s->n_events) {
		CHECK_STR(s->events[0].name, "cache miss");
		CHECK_U64(s->events[0].time_ns, 1700000000150000000ull);
		a = attr(&s->events[0].attrs, "blob");
		CHECK(a && a->v.type == CT_NVAL_BYTES && a->v.len == 3 &&
		      !memcmp(a->v.s, "\xde\xad\x00", 3));
	}
	CHECK_INT(s->n_links, 1);
	if (s->n_links) {
		CHECK(!memcmp(s->links[0].trace_id, TID, 16));
		CHECK(!memcmp(s->links[0].span_id, PID, 8));
		CHECK_INT(s->links[0].flags, 1);
	}
}

TEST(proto_decode)
{
	uint8_t *p;
	size_t n = build_request(&p, 0);
	struct ct_nbatch *b = NULL;
	char err[256];

	CHECK_INT(ct_otlp_proto_decode(p, n, &b, err, sizeof(err)), 0);
	if (b) {
		CHECK_INT(b->n_spans, 2);
		CHECK_INT(b->rejected, 0);
		check_span0(b);
		CHECK_STR(b->resources[0].schema_url, "https://opentelemetry.io/schemas/1.21.0");
	}
	ct_nbatch_free(b);
	free(p);
}

TEST(proto_partial_and_malformed)
{
	uint8_t *p;
	size_t n = build_request(&p, 1);
	struct ct_nbatch *b = NULL;
	char err[256];

	CHECK_INT(ct_otlp_proto_decode(p, n, &b, err, sizeof(err)), 0);
	if (b) {
		CHECK_INT(b->n_spans, 1);
		CHECK_INT(b->rejected, 1);
		CHECK(strstr(b->reject_msg, "child") != NULL);
	}
	ct_nbatch_free(b);
	b = NULL;
	/* Truncated: a length prefix pointing past the end. */
	CHECK_INT(ct_otlp_proto_decode(p, n - 3, &b, err, sizeof(err)), CT_EFORMAT);
	CHECK(b == NULL);
	CHECK(strlen(err) > 0);
	/* Text is not protobuf. */
	CHECK_INT(ct_otlp_proto_decode((const uint8_t *)"{\"resourceSpans\":[]}", 20, &b, err,
				       sizeof(err)),
		  CT_EFORMAT);
	/* Field 1 as a varint where a message is due. */
	CHECK_INT(ct_otlp_proto_decode((const uint8_t *)"\x08\x01", 2, &b, err, sizeof(err)),
		  CT_EFORMAT);
	/* Empty body: an empty request is valid and holds nothing. */
	CHECK_INT(ct_otlp_proto_decode((const uint8_t *)"", 0, &b, err, sizeof(err)), 0);
	if (b)
		CHECK_INT(b->n_spans, 0);
	ct_nbatch_free(b);
	free(p);
}

/* Prefixes body[0..*len) with a tag and its length (wrapping it as a message field). */
static void wrap(uint8_t *body, size_t *len, uint8_t tag)
{
	uint8_t hdr[12];
	size_t h = 0, l = *len;

	hdr[h++] = tag;
	do {
		hdr[h++] = (uint8_t)((l & 0x7f) | (l > 0x7f ? 0x80 : 0));
		l >>= 7;
	} while (l);
	memmove(body + h, body, *len);
	memcpy(body, hdr, h);
	*len += h;
}

TEST(proto_depth_limit)
{
	/* A span attribute whose AnyValue nests arrays 5000 deep: protobuf-c alone would recurse
	 * that deep; the pre-scan refuses it. */
	struct ct_nbatch *b = NULL;
	char err[256];
	int depth = 5000;
	size_t len = 0;
	uint8_t *body = malloc((size_t)depth * 8 + 64);

	for (int i = 0; i < depth; i++) {
		wrap(body, &len, 0x0a); /* ArrayValue.values */
		wrap(body, &len, 0x2a); /* AnyValue.array_value */
	}
	wrap(body, &len, 0x12); /* KeyValue.value */
	wrap(body, &len, 0x4a); /* Span.attributes */
	wrap(body, &len, 0x12); /* ScopeSpans.spans */
	wrap(body, &len, 0x12); /* ResourceSpans.scope_spans */
	wrap(body, &len, 0x0a); /* ExportTraceServiceRequest.resource_spans */
	CHECK_INT(ct_otlp_proto_decode(body, len, &b, err, sizeof(err)), CT_EFORMAT);
	CHECK(strstr(err, "deeper") != NULL);
	free(body);
}

/*
 * Messages of many fields: protobuf-c scans the fields of each into slabs (16 on its stack,
 * then 32, 64, ... from the allocator) that the decoder hands out again once freed. Here the
 * scope's slab (30 spans) is in use while every span takes and gives back its own of the
 * same size: every value must come out as it went in.
 */
/*
 * A request whose span attribute nests `levels` arrays (kvlists with kvlist: each level a
 * KeyValueList, a KeyValue and an AnyValue); with pad, every array also holds a 200-byte
 * string, so that every level is long. body: room for 64 KiB. Returns its length.
 */
static size_t nested_body(uint8_t *body, int levels, int pad, int kvlist)
{
	size_t len = 0;

	for (int i = 0; i < levels; i++) {
		if (kvlist) {
			wrap(body, &len, 0x12); /* KeyValue.value (its key is absent) */
			wrap(body, &len, 0x0a); /* KeyValueList.values */
			wrap(body, &len, 0x32); /* AnyValue.kvlist_value */
			continue;
		}
		wrap(body, &len, 0x0a); /* ArrayValue.values: the nested value */
		if (pad) {
			uint8_t s[210];

			s[0] = 0x0a; /* ArrayValue.values */
			s[1] = 0xcd; /* 205, as a varint */
			s[2] = 0x01;
			s[3] = 0x0a; /* AnyValue.string_value */
			s[4] = 0xca; /* 202 */
			s[5] = 0x01;
			memset(s + 6, 'x', sizeof(s) - 6);
			memcpy(body + len, s, 6 + 202);
			len += 6 + 202;
		}
		wrap(body, &len, 0x2a); /* AnyValue.array_value */
	}
	wrap(body, &len, 0x12); /* KeyValue.value */
	wrap(body, &len, 0x4a); /* Span.attributes */
	wrap(body, &len, 0x12); /* ScopeSpans.spans */
	wrap(body, &len, 0x12); /* ResourceSpans.scope_spans */
	wrap(body, &len, 0x0a); /* ExportTraceServiceRequest.resource_spans */
	return len;
}

/* What decoding a span attribute nesting `levels` arrays returns (nested_body). */
static int nested_arrays(int levels, int pad)
{
	struct ct_nbatch *b = NULL;
	char err[256];
	uint8_t *body = malloc(64 * 1024);
	size_t len = nested_body(body, levels, pad, 0);
	int e;

	e = ct_otlp_proto_decode(body, len, &b, err, sizeof(err));
	ct_nbatch_free(b);
	free(body);
	return e;
}

/*
 * The pre-scan skips messages too short to reach the limit (two bytes per level at least):
 * the answer must not depend on whether the levels are short (skipped) or long (walked).
 */
TEST(proto_depth_boundary)
{
	CHECK_INT(nested_arrays(CT_OTLP_MAX_DEPTH, 0), 0);
	CHECK_INT(nested_arrays(CT_OTLP_MAX_DEPTH + 8, 0), CT_EFORMAT);
	for (int l = CT_OTLP_MAX_DEPTH - 4; l <= CT_OTLP_MAX_DEPTH + 8; l++)
		CHECK_INT(nested_arrays(l, 0), nested_arrays(l, 1));
}

/* Whether the fast path and protobuf-c answer p[0..n) alike, with the same model. */
static int same_as_protobuf_c(const uint8_t *p, size_t n, int *decoded)
{
	struct ct_nbatch *a = NULL, *b = NULL;
	struct ct_buf ta, tb;
	char ea[256], eb[256];
	int e = ct_otlp_proto_decode(p, n, &a, ea, sizeof(ea)), same;

	if (e != ct__otlp_proto_decode_pbc(p, n, &b, eb, sizeof(eb)))
		return 0;
	if (e)
		return !strcmp(ea, eb);
	(*decoded)++;
	ct_buf_init(&ta);
	ct_buf_init(&tb);
	nbatch_fuzz_text(&ta, a);
	nbatch_fuzz_text(&tb, b);
	same = ta.len == tb.len && !memcmp(ta.data, tb.data, ta.len);
	ct_buf_fini(&ta);
	ct_buf_fini(&tb);
	ct_nbatch_free(a);
	ct_nbatch_free(b);
	return same;
}

/*
 * The decoder's fast path declines what it does not take exactly as protobuf-c would: on
 * requests packed by protobuf-c and thousands of damaged copies (bytes flipped, replaced by
 * field keys, cut, inserted, removed, repeated), the answer and the model are the same.
 */
TEST(proto_fast_path_same_as_protobuf_c)
{
	uint8_t *req[2], *buf = malloc(1 << 16);
	size_t len[2];
	uint64_t x = 88172645463325252ull;
	int differ = 0, decoded = 0;

	len[0] = build_request(&req[0], 0);
	len[1] = build_request(&req[1], 1);
	for (int it = 0; it < 20000 && buf; it++) {
		size_t n = len[it % 2];

		memcpy(buf, req[it % 2], n);
		for (int m = it < 2 ? 0 : 1 + it % 3; m > 0; m--) {
			size_t at, k;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			at = n ? x % n : 0;
			switch ((x >> 32) % 6) {
			case 0:
				buf[at] ^= (uint8_t)(1u << (x >> 40) % 8);
				break;
			case 1: /* a field key: number 1-16, any wire type */
				buf[at] = (uint8_t)(((x >> 40) % 16 + 1) << 3 | (x >> 48) % 6);
				break;
			case 2:
				n = at;
				break;
			case 3:
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = (uint8_t)(x >> 40);
				n++;
				break;
			case 4:
				if (n > at + 2) {
					memmove(buf + at, buf + at + 2, n - at - 2);
					n -= 2;
				}
				break;
			default: /* repeat a few bytes (a field, sometimes) in place */
				k = 1 + (x >> 40) % 24;
				if (at + k <= n && n + k <= (1u << 16)) {
					memmove(buf + at + k, buf + at, n - at);
					n += k;
				}
				break;
			}
		}
		if (n && !same_as_protobuf_c(buf, n, &decoded) && differ++ < 3)
			T_FAIL("iteration %d: the fast path and protobuf-c differ", it);
	}
	/* Nesting around the depth limit: declined by the fast path where the pre-scan refuses. */
	for (int l = CT_OTLP_MAX_DEPTH / 2 - 8; l <= CT_OTLP_MAX_DEPTH + 8 && buf; l++) {
		for (int kind = 0; kind < 3; kind++) {
			size_t n = nested_body(buf, l, kind == 1, kind == 2);

			if (!same_as_protobuf_c(buf, n, &decoded) && differ++ < 3)
				T_FAIL("nesting %d (%d): the fast path and protobuf-c differ", l,
				       kind);
		}
	}
	CHECK_INT(differ, 0);
	CHECK(decoded > 1000); /* damaged copies that still decode, compared field by field */
	free(buf);
	free(req[0]);
	free(req[1]);
}

TEST(proto_many_fields)
{
	enum { N_SPANS = 30, N_ATTRS = 40, N_EVENTS = 20 };
	Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req =
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
	Opentelemetry__Proto__Trace__V1__ResourceSpans rs =
		OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
	Opentelemetry__Proto__Trace__V1__ScopeSpans ss =
		OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
	Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp = &rs;
	Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp = &ss;
	static Opentelemetry__Proto__Trace__V1__Span spans[N_SPANS], *sp[N_SPANS];
	static Opentelemetry__Proto__Trace__V1__Span__Event ev[N_SPANS][N_EVENTS],
		*evp[N_SPANS][N_EVENTS];
	static kv_t kv[N_SPANS][N_ATTRS], *kvp[N_SPANS][N_ATTRS];
	static any_t av[N_SPANS][N_ATTRS];
	static char keys[N_SPANS][N_ATTRS][16], vals[N_SPANS][N_ATTRS][16],
		names[N_SPANS][N_EVENTS][16];
	static uint8_t ids[N_SPANS][8];
	struct ct_nbatch *b = NULL;
	char err[256];
	uint8_t *buf;
	size_t len;
	int bad = 0;

	for (int i = 0; i < N_SPANS; i++) {
		opentelemetry__proto__trace__v1__span__init(&spans[i]);
		sp[i] = &spans[i];
		memcpy(ids[i], SID, 8);
		ids[i][7] = (uint8_t)(i + 1);
		spans[i].trace_id = (ProtobufCBinaryData){16, (uint8_t *)TID};
		spans[i].span_id = (ProtobufCBinaryData){8, ids[i]};
		spans[i].name = "many";
		for (int k = 0; k < N_ATTRS; k++) {
			opentelemetry__proto__common__v1__key_value__init(&kv[i][k]);
			opentelemetry__proto__common__v1__any_value__init(&av[i][k]);
			snprintf(keys[i][k], sizeof(keys[i][k]), "k%d", k);
			snprintf(vals[i][k], sizeof(vals[i][k]), "v%d.%d", i, k);
			av[i][k].value_case =
				OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
			av[i][k].string_value = vals[i][k];
			kv[i][k].key = keys[i][k];
			kv[i][k].value = &av[i][k];
			kvp[i][k] = &kv[i][k];
		}
		spans[i].n_attributes = N_ATTRS;
		spans[i].attributes = kvp[i];
		for (int k = 0; k < N_EVENTS; k++) {
			opentelemetry__proto__trace__v1__span__event__init(&ev[i][k]);
			snprintf(names[i][k], sizeof(names[i][k]), "e%d.%d", i, k);
			ev[i][k].name = names[i][k];
			ev[i][k].time_unix_nano = (uint64_t)(i * 100 + k);
			evp[i][k] = &ev[i][k];
		}
		spans[i].n_events = N_EVENTS;
		spans[i].events = evp[i];
	}
	ss.n_spans = N_SPANS;
	ss.spans = sp;
	rs.n_scope_spans = 1;
	rs.scope_spans = &ssp;
	req.n_resource_spans = 1;
	req.resource_spans = &rsp;
	len = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
		&req);
	buf = malloc(len);
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, buf);
	CHECK_INT(ct_otlp_proto_decode(buf, len, &b, err, sizeof(err)), 0);
	CHECK_INT(b->n_spans, N_SPANS);
	for (uint32_t i = 0; i < b->n_spans && i < N_SPANS; i++) {
		const struct ct_nspan *s = &b->spans[i];

		bad += s->attrs.n != N_ATTRS || s->n_events != N_EVENTS || s->span_id[7] != i + 1;
		for (uint32_t k = 0; k < s->attrs.n && k < N_ATTRS; k++)
			bad += strcmp(s->attrs.v[k].key, keys[i][k]) ||
			       s->attrs.v[k].v.type != CT_NVAL_STR ||
			       strcmp(s->attrs.v[k].v.s, vals[i][k]);
		for (uint32_t k = 0; k < s->n_events && k < N_EVENTS; k++)
			bad += strcmp(s->events[k].name, names[i][k]) ||
			       s->events[k].time_ns != (uint64_t)(i * 100 + k);
	}
	CHECK_INT(bad, 0);
	ct_nbatch_free(b);
	free(buf);
}

TEST(proto_encode_roundtrip)
{
	uint8_t *p;
	size_t n = build_request(&p, 0);
	struct ct_nbatch *a = NULL, *b = NULL;
	struct ct_buf enc;
	uint32_t idx[1] = {0};
	char err[256];

	CHECK_INT(ct_otlp_proto_decode(p, n, &a, err, sizeof(err)), 0);
	ct_buf_init(&enc);
	CHECK_INT(ct_otlp_proto_encode(a, idx, 1, &enc), 0);
	/* Two encodings back to back are one request with both. */
	CHECK_INT(ct_otlp_proto_encode(a, NULL, 0, &enc), 0);
	CHECK_INT(ct_otlp_proto_decode((const uint8_t *)enc.data, enc.len, &b, err, sizeof(err)),
		  0);
	if (b) {
		CHECK_INT(b->n_spans, 3);
		check_span0(b);
		CHECK_INT(b->n_resources, 2);
	}
	ct_buf_fini(&enc);
	ct_nbatch_free(a);
	ct_nbatch_free(b);
	free(p);
}

TEST(proto_response)
{
	struct ct_buf out;
	int64_t rej;
	char msg[64];

	ct_buf_init(&out);
	ct_otlp_proto_response(&out, 3, "bad ids");
	CHECK_INT(ct_otlp_proto_parse_response((const uint8_t *)out.data, out.len, &rej, msg,
					       sizeof(msg)),
		  0);
	CHECK_INT(rej, 3);
	CHECK_STR(msg, "bad ids");
	ct_buf_reset(&out);
	ct_otlp_proto_response(&out, 0, NULL);
	CHECK_INT(out.len, 0); /* an empty message: full success */
	ct_buf_fini(&out);
}

static const char otlp_json[] =
	"{\"resourceSpans\":[{\"resource\":{\"attributes\":["
	"{\"key\":\"service.name\",\"value\":{\"stringValue\":\"checkout\"}},"
	"{\"key\":\"process.pid\",\"value\":{\"intValue\":\"4242\"}},"
	"{\"key\":\"telemetry.sdk.language\",\"value\":{\"stringValue\":\"nodejs\"}}]},"
	"\"scopeSpans\":[{\"scope\":{\"name\":\"io.test\",\"version\":\"1.2.3\"},\"spans\":[{"
	"\"traceId\":\"4BF92F3577B34DA6A3CE929D0E0E4736\",\"spanId\":\"00f067aa0ba902b7\","
	"\"parentSpanId\":\"53995c3f42cd8ad8\",\"name\":\"GET /cart\",\"kind\":2,"
	"\"flags\":769,\"traceState\":\"vendor=x\","
	"\"startTimeUnixNano\":\"1700000000123456789\",\"endTimeUnixNano\":1700000000223456789,"
	"\"droppedAttributesCount\":2,"
	"\"attributes\":[{\"key\":\"http.status_code\",\"value\":{\"intValue\":-7}},"
	"{\"key\":\"ratio\",\"value\":{\"doubleValue\":0.25}},"
	"{\"key\":\"ok\",\"value\":{\"boolValue\":true}},"
	"{\"key\":\"list\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"a\\\"b\"},"
	"{\"kvlistValue\":{\"values\":[{\"key\":\"ok\",\"value\":{\"boolValue\":true}}]}}]}}},"
	"{\"key\":\"thread.id\",\"value\":{\"intValue\":\"4250\"}},"
	"{\"key\":\"unknown\",\"value\":{\"futureValue\":1}}],"
	"\"events\":[{\"timeUnixNano\":\"1700000000150000000\",\"name\":\"cache miss\","
	"\"attributes\":[{\"key\":\"blob\",\"value\":{\"bytesValue\":\"3q0A\"}}]}],"
	"\"links\":[{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
	"\"spanId\":\"53995c3f42cd8ad8\",\"flags\":1}],"
	"\"status\":{\"code\":2,\"message\":\"boom\"},\"someFutureField\":[1,2]},"
	"{\"traceId\":\"00000000000000000000000000000000\",\"spanId\":\"53995c3f42cd8ad8\","
	"\"name\":\"zero trace\"},"
	"{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"xyz\",\"name\":\"bad\"}"
	"]}]}]}";

TEST(json_decode)
{
	struct ct_nbatch *b = NULL;
	char err[256];

	CHECK_INT(ct_otlp_json_decode(otlp_json, strlen(otlp_json), &b, err, sizeof(err)), 0);
	if (!b) {
		T_FAIL("decode failed: %s", err);
		return;
	}
	CHECK_INT(b->n_spans, 1);
	CHECK_INT(b->rejected, 2);
	check_span0(b);
	CHECK_INT(b->spans[0].time_resolution_ns, 1000000); /* nodejs: ms start times */
	CHECK(attr(&b->spans[0].attrs, "unknown") != NULL);
	ct_nbatch_free(b);
}

TEST(json_malformed)
{
	static const char *bad[] = {
		"{\"resourceSpans\":[", /* truncated */
		"[]", /* not an object */
		"{\"resourceSpans\":{}}", /* wrong type */
		"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[1]}]}]}",
		"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
		"\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"00f067aa0ba902b7\","
		"\"attributes\":[{\"value\":{}}]}]}]}]}", /* attribute without a key */
		"\xff\xfe",
	};
	struct ct_nbatch *b = NULL;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK_INT(ct_otlp_json_decode(bad[i], strlen(bad[i]), &b, err, sizeof(err)),
			  CT_EFORMAT);
		CHECK(b == NULL);
		CHECK(err[0] != 0);
	}
	/* An empty object is an empty request. */
	CHECK_INT(ct_otlp_json_decode("{}", 2, &b, err, sizeof(err)), 0);
	ct_nbatch_free(b);
}

TEST(json_depth_limit)
{
	struct ct_buf j;
	struct ct_nbatch *b = NULL;
	char err[256];
	int depth = 200;

	ct_buf_init(&j);
	ct_buf_puts(&j, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
			"\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"00f067aa0ba902b7\","
			"\"attributes\":[{\"key\":\"deep\",\"value\":");
	for (int i = 0; i < depth; i++)
		ct_buf_puts(&j, "{\"arrayValue\":{\"values\":[");
	ct_buf_puts(&j, "{\"intValue\":1}");
	for (int i = 0; i < depth; i++)
		ct_buf_puts(&j, "]}}");
	ct_buf_puts(&j, "}]}]}]}]}");
	CHECK_INT(ct_otlp_json_decode(j.data, j.len, &b, err, sizeof(err)), CT_EFORMAT);
	CHECK(strstr(err, "deep") != NULL);
	ct_buf_fini(&j);
}

TEST(json_response)
{
	struct ct_buf out;

	ct_buf_init(&out);
	ct_otlp_json_response(&out, 2, "x");
	CHECK_STR(out.data,
		  "{\"partialSuccess\":{\"rejectedSpans\":\"2\",\"errorMessage\":\"x\"}}");
	ct_buf_reset(&out);
	ct_otlp_json_response(&out, 0, NULL);
	CHECK_STR(out.data, "{}");
	ct_buf_fini(&out);
}

static const char zipkin[] =
	"[{\"traceId\":\"a3ce929d0e0e4736\",\"id\":\"00f067aa0ba902b7\",\"name\":\"get /cart\","
	"\"parentId\":\"53995c3f42cd8ad8\",\"kind\":\"SERVER\",\"timestamp\":1700000000123456,"
	"\"duration\":100000,\"localEndpoint\":{\"serviceName\":\"checkout\","
	"\"ipv4\":\"127.0.0.1\"},\"remoteEndpoint\":{\"serviceName\":\"web\",\"ipv4\":"
	"\"10.0.0.1\",\"port\":5000},\"shared\":true,"
	"\"annotations\":[{\"timestamp\":1700000000150000,\"value\":\"cache miss\"}],"
	"\"tags\":{\"http.method\":\"GET\",\"error\":\"timeout\"}},"
	"{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"id\":\"53995c3f42cd8ad8\","
	"\"name\":\"root\",\"timestamp\":1700000000000000,\"localEndpoint\":{\"serviceName\":"
	"\"frontend\"}},"
	"{\"traceId\":\"a3ce929d0e0e4736\",\"id\":\"1111111111111111\",\"name\":\"no time\"},"
	"{\"traceId\":\"123\",\"id\":\"1111111111111111\",\"timestamp\":1}]";

TEST(zipkin_decode)
{
	static const uint8_t tid64[16] = {0,	0,    0,    0,	  0,	0,    0,    0,
					  0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
	struct ct_nbatch *b = NULL;
	const struct ct_nspan *s;
	const struct ct_nattr *a;
	char err[256];

	CHECK_INT(ct_zipkin_json_decode(zipkin, strlen(zipkin), &b, err, sizeof(err)), 0);
	if (!b) {
		T_FAIL("decode failed: %s", err);
		return;
	}
	CHECK_INT(b->n_spans, 2);
	CHECK_INT(b->rejected, 2);
	CHECK_INT(b->n_resources, 2);
	s = &b->spans[0];
	CHECK(!memcmp(s->trace_id, tid64, 16));
	CHECK(!memcmp(s->span_id, SID, 8));
	CHECK(!memcmp(s->parent_id, PID, 8));
	CHECK_STR(s->name, "get /cart");
	CHECK_INT(s->kind, CT_NKIND_SERVER);
	CHECK_U64(s->start_ns, 1700000000123456000ull);
	CHECK_U64(s->end_ns, 1700000000223456000ull);
	CHECK_INT(s->time_resolution_ns, 1000);
	CHECK_INT(s->status, CT_NSTATUS_ERROR);
	CHECK_STR(s->status_message, "timeout");
	CHECK_STR(b->resources[s->resource].service, "checkout");
	a = attr(&s->attrs, "http.method");
	CHECK(a && a->v.type == CT_NVAL_STR && !strcmp(a->v.s, "GET"));
	a = attr(&s->attrs, "zipkin.shared");
	CHECK(a && a->v.type == CT_NVAL_BOOL && a->v.b);
	a = attr(&s->attrs, "peer.service");
	CHECK(a && !strcmp(a->v.s, "web"));
	a = attr(&s->attrs, "network.peer.port");
	CHECK(a && a->v.type == CT_NVAL_INT && a->v.i == 5000);
	CHECK_INT(s->n_events, 1);
	if (s->n_events) {
		CHECK_STR(s->events[0].name, "cache miss");
		CHECK_U64(s->events[0].time_ns, 1700000000150000000ull);
	}
	s = &b->spans[1];
	CHECK(!memcmp(s->trace_id, TID, 16));
	CHECK(!ct_id_valid(s->parent_id, 8));
	CHECK_U64(s->end_ns, s->start_ns); /* no duration */
	CHECK_STR(b->resources[s->resource].service, "frontend");
	ct_nbatch_free(b);

	CHECK_INT(ct_zipkin_json_decode("{}", 2, &b, err, sizeof(err)), CT_EFORMAT);
	CHECK_INT(ct_zipkin_json_decode("[1]", 3, &b, err, sizeof(err)), CT_EFORMAT);
	CHECK_INT(ct_zipkin_json_decode("[{", 2, &b, err, sizeof(err)), CT_EFORMAT);
}

TEST(base64_hex)
{
	char out[16];
	uint8_t bin[16];

	CHECK_INT(ct_base64_encode(out, (const uint8_t *)"\xde\xad\x00", 3), 4);
	CHECK_STR(out, "3q0A");
	CHECK_INT(ct_base64_encode(out, (const uint8_t *)"ab", 2), 4);
	CHECK_STR(out, "YWI=");
	CHECK_INT(ct_base64_decode(bin, "YWI=", 4), 2);
	CHECK(!memcmp(bin, "ab", 2));
	CHECK_INT(ct_base64_decode(bin, "YWI", 3), 2);
	CHECK_INT(ct_base64_decode(bin, "-_8", 3), 2);
	CHECK_INT(ct_base64_decode(bin, "Y", 1), CT_EFORMAT);
	CHECK_INT(ct_base64_decode(bin, "Y!", 2), CT_EFORMAT);
	CHECK_INT(ct_hex_decode(bin, 2, "0aFf", 4), 0);
	CHECK(bin[0] == 0x0a && bin[1] == 0xff);
	CHECK_INT(ct_hex_decode(bin, 2, "0aF", 3), CT_EFORMAT);
	CHECK_INT(ct_hex_decode(bin, 2, "0aFg", 4), CT_EFORMAT);
	CHECK_U64(ct_id_u64(SID), 0x00f067aa0ba902b7ull);
}

int main(void)
{
	RUN(proto_decode);
	RUN(proto_partial_and_malformed);
	RUN(proto_depth_limit);
	RUN(proto_depth_boundary);
	RUN(proto_many_fields);
	RUN(proto_fast_path_same_as_protobuf_c);
	RUN(proto_encode_roundtrip);
	RUN(proto_response);
	RUN(json_decode);
	RUN(json_malformed);
	RUN(json_depth_limit);
	RUN(json_response);
	RUN(zipkin_decode);
	RUN(base64_hex);
	return test_main_end();
}
