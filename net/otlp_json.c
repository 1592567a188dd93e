// SPDX-License-Identifier: MIT
/*
 * OTLP JSON decoding with jansson. Structure errors (a key of the wrong JSON type) make the
 * request malformed; a span whose ids or times are unusable is rejected alone (partial
 * success). Strings are copied into the batch arena: the jansson tree is freed on return.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "crosstrace/crosstrace.h"
#include "otlp_json.h"
#include "otlp_proto.h"
#include "util/jsonw.h"

struct dec {
	struct ct_nbatch *b;
	char *err;
	size_t errlen;
	int bad; /* CT_EFORMAT or -ENOMEM once set */
};

static int fail(struct dec *d, int code, const char *fmt, const char *what)
{
	if (!d->bad) {
		d->bad = code;
		snprintf(d->err, d->errlen, fmt, what);
	}
	return code;
}

/* The member key of obj when it has the wanted JSON type; NULL when absent or null; sets
 * a structure error when present with another type. */
static json_t *member(struct dec *d, json_t *obj, const char *key, json_type want)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return NULL;
	if (json_typeof(v) != want && !(want == JSON_TRUE && json_is_boolean(v)) &&
	    !(want == JSON_REAL && json_is_number(v))) {
		fail(d, CT_EFORMAT, "OTLP JSON: \"%s\" has the wrong JSON type", key);
		return NULL;
	}
	return v;
}

static const char *str_member(struct dec *d, json_t *obj, const char *key)
{
	json_t *v = member(d, obj, key, JSON_STRING);
	const char *s;

	if (!v)
		return "";
	s = ct_arena_strndup(&d->b->arena, json_string_value(v), json_string_length(v));
	if (!s) {
		fail(d, -ENOMEM, "%s", "out of memory");
		return "";
	}
	return s;
}

/* A 64-bit integer given as a JSON integer or a decimal string. Returns 0 or -1. */
static int json_i64(json_t *v, int64_t *out, int is_unsigned)
{
	const char *s;
	char *end;

	if (json_is_integer(v)) {
		if (is_unsigned && json_integer_value(v) < 0)
			return -1;
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double x = json_real_value(v);

		/* Large integers beyond int64 come back as reals: accept exact integral values. */
		if (x != floor(x) || x < -9.2e18 || x > 1.8e19 || (is_unsigned && x < 0))
			return -1;
		*out = is_unsigned && x >= 9.2e18 ? (int64_t)(uint64_t)x : (int64_t)x;
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (!*s || (is_unsigned && *s == '-'))
		return -1;
	errno = 0;
	if (is_unsigned)
		*out = (int64_t)strtoull(s, &end, 10);
	else
		*out = strtoll(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static int u64_member(json_t *obj, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);
	int64_t x;

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_i64(v, &x, 1))
		return -1;
	*out = (uint64_t)x;
	return 0;
}

static uint32_t u32_member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	int64_t x;

	if (!v || json_i64(v, &x, 1) || x > UINT32_MAX)
		return 0;
	return (uint32_t)x;
}

/* An id: "" (absent) gives 0; otherwise exactly 2n hex digits. Returns 1 present, 0 absent,
 * -1 invalid. */
static int id_member(json_t *obj, const char *key, uint8_t *out, size_t n)
{
	json_t *v = json_object_get(obj, key);

	memset(out, 0, n);
	if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
		return 0;
	if (!json_is_string(v) ||
	    ct_hex_decode(out, n, json_string_value(v), json_string_length(v)))
		return -1;
	return 1;
}

static void any_json(struct dec *d, struct ct_jsonw *w, json_t *v, int depth);

static void kvlist_json(struct dec *d, struct ct_jsonw *w, json_t *values, int depth)
{
	size_t i;
	json_t *kv;

	ct_jsonw_obj_begin(w);
	json_array_foreach(values, i, kv)
	{
		json_t *key = json_object_get(kv, "key");

		if (!json_is_string(key)) {
			fail(d, CT_EFORMAT, "OTLP JSON: %s without a string \"key\"",
			     "kvlistValue");
			break;
		}
		ct_jsonw_key(w, json_string_value(key));
		any_json(d, w, json_object_get(kv, "value"), depth + 1);
	}
	ct_jsonw_obj_end(w);
}

/* An OTLP JSON AnyValue written as plain JSON (array/kvlist flattened). */
static void any_json(struct dec *d, struct ct_jsonw *w, json_t *v, int depth)
{
	json_t *x;
	int64_t i;

	if (depth > CT_OTLP_MAX_DEPTH) {
		fail(d, CT_EFORMAT, "OTLP JSON: %s nest too deep", "attribute values");
		ct_jsonw_null(w);
		return;
	}
	if (!json_is_object(v)) {
		ct_jsonw_null(w);
		return;
	}
	if ((x = json_object_get(v, "stringValue")) && json_is_string(x))
		ct_jsonw_strn(w, json_string_value(x), json_string_length(x));
	else if ((x = json_object_get(v, "boolValue")) && json_is_boolean(x))
		ct_jsonw_bool(w, json_is_true(x));
	else if ((x = json_object_get(v, "intValue")) && !json_i64(x, &i, 0))
		ct_jsonw_int(w, i);
	else if ((x = json_object_get(v, "doubleValue")) && json_is_number(x))
		ct_jsonw_double(w, json_number_value(x));
	else if ((x = json_object_get(v, "bytesValue")) && json_is_string(x))
		ct_jsonw_strn(w, json_string_value(x), json_string_length(x)); /* stays base64 */
	else if ((x = json_object_get(v, "arrayValue")) && json_is_object(x)) {
		json_t *vals = json_object_get(x, "values");
		size_t k;
		json_t *e;

		ct_jsonw_arr_begin(w);
		if (json_is_array(vals))
			json_array_foreach(vals, k, e) any_json(d, w, e, depth + 1);
		ct_jsonw_arr_end(w);
	} else if ((x = json_object_get(v, "kvlistValue")) && json_is_object(x)) {
		json_t *vals = json_object_get(x, "values");

		if (json_is_array(vals))
			kvlist_json(d, w, vals, depth);
		else {
			ct_jsonw_obj_begin(w);
			ct_jsonw_obj_end(w);
		}
	} else {
		ct_jsonw_null(w);
	}
}

static void conv_value(struct dec *d, struct ct_nval *out, json_t *v)
{
	json_t *x;
	int64_t i;
	int err = 0;

	if (!json_is_object(v))
		return; /* absent: an empty value */
	if ((x = json_object_get(v, "stringValue")) && json_is_string(x)) {
		err = ct_nval_set_bytes(d->b, out, CT_NVAL_STR, json_string_value(x),
					json_string_length(x));
	} else if ((x = json_object_get(v, "boolValue")) && json_is_boolean(x)) {
		out->type = CT_NVAL_BOOL;
		out->b = json_is_true(x);
	} else if ((x = json_object_get(v, "intValue"))) {
		if (json_i64(x, &i, 0)) {
			fail(d, CT_EFORMAT, "OTLP JSON: %s is not a 64-bit integer", "intValue");
			return;
		}
		out->type = CT_NVAL_INT;
		out->i = i;
	} else if ((x = json_object_get(v, "doubleValue"))) {
		const char *s = json_string_value(x);

		out->type = CT_NVAL_DOUBLE;
		if (json_is_number(x))
			out->d = json_number_value(x);
		else if (s && !strcmp(s, "NaN"))
			out->d = NAN;
		else if (s && !strcmp(s, "Infinity"))
			out->d = INFINITY;
		else if (s && !strcmp(s, "-Infinity"))
			out->d = -INFINITY;
		else
			fail(d, CT_EFORMAT, "OTLP JSON: %s is not a number", "doubleValue");
	} else if ((x = json_object_get(v, "bytesValue")) && json_is_string(x)) {
		size_t n = json_string_length(x);
		uint8_t *tmp = malloc(n * 3 / 4 + 1);
		int m;

		if (!tmp) {
			fail(d, -ENOMEM, "%s", "out of memory");
			return;
		}
		m = ct_base64_decode(tmp, json_string_value(x), n);
		if (m < 0)
			fail(d, CT_EFORMAT, "OTLP JSON: %s is not base64", "bytesValue");
		else
			err = ct_nval_set_bytes(d->b, out, CT_NVAL_BYTES, tmp, (size_t)m);
		free(tmp);
	} else if ((json_is_object(x = json_object_get(v, "arrayValue"))) ||
		   json_is_object(x = json_object_get(v, "kvlistValue"))) {
		int is_array = json_object_get(v, "arrayValue") == x;
		struct ct_buf js;
		struct ct_jsonw w;

		ct_buf_init(&js);
		ct_jsonw_init(&w, &js, 0);
		any_json(d, &w, v, 0);
		err = js.oom ? -ENOMEM
			     : ct_nval_set_bytes(d->b, out,
						 is_array ? CT_NVAL_ARRAY : CT_NVAL_KVLIST, js.data,
						 js.len);
		ct_buf_fini(&js);
	}
	if (err)
		fail(d, -ENOMEM, "%s", "out of memory");
}

static void conv_attrs(struct dec *d, struct ct_nattrs *a, json_t *obj, const char *key)
{
	json_t *arr = member(d, obj, key, JSON_ARRAY);
	size_t i;
	json_t *kv;

	a->dropped = u32_member(obj, "droppedAttributesCount");
	if (!arr)
		return;
	json_array_foreach(arr, i, kv)
	{
		json_t *k = json_is_object(kv) ? json_object_get(kv, "key") : NULL;
		struct ct_nval *v;

		if (!json_is_string(k)) {
			fail(d, CT_EFORMAT, "OTLP JSON: an entry of \"%s\" has no string \"key\"",
			     key);
			return;
		}
		v = ct_nattrs_add(d->b, a, json_string_value(k), json_string_length(k));
		if (!v) {
			fail(d, -ENOMEM, "%s", "out of memory");
			return;
		}
		conv_value(d, v, json_object_get(kv, "value"));
		if (d->bad)
			return;
	}
}

/* kind and status code: integers per the mapping; the enum names are accepted too. */
static int enum_member(json_t *obj, const char *key, const char *const *names, int n)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);

		return x >= 0 && x < n ? (int)x : 0;
	}
	if (json_is_string(v)) {
		for (int i = 0; i < n; i++) {
			if (!strcmp(json_string_value(v), names[i]))
				return i;
		}
	}
	return 0;
}

static const char *const kinds[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
				    "SPAN_KIND_SERVER",	     "SPAN_KIND_CLIENT",
				    "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
static const char *const codes[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};

static void conv_span(struct dec *d, json_t *sp, uint32_t ri, uint32_t si, uint32_t resolution)
{
	uint8_t tid[16], sid[8], pid[8];
	uint64_t start, end;
	const char *name;
	struct ct_nspan *s;
	json_t *arr, *x, *st;
	size_t i;

	if (!json_is_object(sp)) {
		fail(d, CT_EFORMAT, "OTLP JSON: %s holds a non-object", "spans");
		return;
	}
	x = json_object_get(sp, "name");
	name = json_is_string(x) ? json_string_value(x) : "";
	if (id_member(sp, "traceId", tid, 16) != 1 || !ct_id_valid(tid, 16)) {
		ct_nbatch_reject(
			d->b, "span \"%.60s\": traceId must be 32 hex digits, not all zero", name);
		return;
	}
	if (id_member(sp, "spanId", sid, 8) != 1 || !ct_id_valid(sid, 8)) {
		ct_nbatch_reject(d->b, "span \"%.60s\": spanId must be 16 hex digits, not all zero",
				 name);
		return;
	}
	if (id_member(sp, "parentSpanId", pid, 8) < 0) {
		ct_nbatch_reject(
			d->b, "span \"%.60s\": parentSpanId must be 16 hex digits or empty", name);
		return;
	}
	if (u64_member(sp, "startTimeUnixNano", &start) ||
	    u64_member(sp, "endTimeUnixNano", &end)) {
		ct_nbatch_reject(d->b,
				 "span \"%.60s\": start/endTimeUnixNano must be unsigned integers",
				 name);
		return;
	}
	s = ct_nbatch_add_span(d->b, ri, si);
	if (!s) {
		fail(d, -ENOMEM, "%s", "out of memory");
		return;
	}
	memcpy(s->trace_id, tid, 16);
	memcpy(s->span_id, sid, 8);
	memcpy(s->parent_id, pid, 8);
	s->start_ns = start;
	s->end_ns = end;
	s->time_resolution_ns = resolution;
	s->name = str_member(d, sp, "name");
	s->trace_state = str_member(d, sp, "traceState");
	s->flags = u32_member(sp, "flags");
	s->kind = (uint8_t)enum_member(sp, "kind", kinds, 6);
	st = member(d, sp, "status", JSON_OBJECT);
	if (st) {
		s->status = (uint8_t)enum_member(st, "code", codes, 3);
		s->status_message = str_member(d, st, "message");
	}
	conv_attrs(d, &s->attrs, sp, "attributes");
	arr = member(d, sp, "events", JSON_ARRAY);
	json_array_foreach(arr, i, x)
	{
		struct ct_nevent *ev;

		if (d->bad)
			return;
		if (!json_is_object(x)) {
			fail(d, CT_EFORMAT, "OTLP JSON: %s holds a non-object", "events");
			return;
		}
		ev = ct_nspan_add_event(d->b, s);
		if (!ev) {
			fail(d, -ENOMEM, "%s", "out of memory");
			return;
		}
		if (u64_member(x, "timeUnixNano", &ev->time_ns))
			ev->time_ns = start; /* unreadable: keep the event, at the span start */
		ev->name = str_member(d, x, "name");
		conv_attrs(d, &ev->attrs, x, "attributes");
	}
	s->dropped_events = u32_member(sp, "droppedEventsCount");
	s->dropped_links = u32_member(sp, "droppedLinksCount");
	arr = member(d, sp, "links", JSON_ARRAY);
	json_array_foreach(arr, i, x)
	{
		struct ct_nlink *ln;
		uint8_t lt[16], ls[8];

		if (d->bad)
			return;
		if (!json_is_object(x)) {
			fail(d, CT_EFORMAT, "OTLP JSON: %s holds a non-object", "links");
			return;
		}
		if (id_member(x, "traceId", lt, 16) != 1 || id_member(x, "spanId", ls, 8) != 1) {
			s->dropped_links++; /* a link to nothing: counted as dropped */
			continue;
		}
		ln = ct_nspan_add_link(d->b, s);
		if (!ln) {
			fail(d, -ENOMEM, "%s", "out of memory");
			return;
		}
		memcpy(ln->trace_id, lt, 16);
		memcpy(ln->span_id, ls, 8);
		ln->trace_state = str_member(d, x, "traceState");
		ln->flags = u32_member(x, "flags");
		conv_attrs(d, &ln->attrs, x, "attributes");
	}
}

static void conv_request(struct dec *d, json_t *root)
{
	json_t *rss = member(d, root, "resourceSpans", JSON_ARRAY), *rs;
	size_t r;

	json_array_foreach(rss, r, rs)
	{
		struct ct_nresource *res;
		json_t *sss, *ss, *x;
		uint32_t ri, resolution;
		size_t k;

		if (d->bad)
			return;
		if (!json_is_object(rs)) {
			fail(d, CT_EFORMAT, "OTLP JSON: %s holds a non-object", "resourceSpans");
			return;
		}
		res = ct_nbatch_add_resource(d->b);
		if (!res) {
			fail(d, -ENOMEM, "%s", "out of memory");
			return;
		}
		ri = d->b->n_resources - 1;
		res->schema_url = str_member(d, rs, "schemaUrl");
		x = member(d, rs, "resource", JSON_OBJECT);
		if (x)
			conv_attrs(d, &res->attrs, x, "attributes");
		ct_nresource_derive(res);
		resolution =
			!strcmp(res->sdk_language, "nodejs") || !strcmp(res->sdk_language, "webjs")
				? 1000000
				: 0;
		sss = member(d, rs, "scopeSpans", JSON_ARRAY);
		json_array_foreach(sss, k, ss)
		{
			struct ct_nscope *sc;
			json_t *spans, *sp;
			uint32_t si;
			size_t i;

			if (d->bad)
				return;
			if (!json_is_object(ss)) {
				fail(d, CT_EFORMAT, "OTLP JSON: %s holds a non-object",
				     "scopeSpans");
				return;
			}
			sc = ct_nbatch_add_scope(d->b);
			if (!sc) {
				fail(d, -ENOMEM, "%s", "out of memory");
				return;
			}
			si = d->b->n_scopes - 1;
			sc->schema_url = str_member(d, ss, "schemaUrl");
			x = member(d, ss, "scope", JSON_OBJECT);
			if (x) {
				sc->name = str_member(d, x, "name");
				sc->version = str_member(d, x, "version");
				conv_attrs(d, &sc->attrs, x, "attributes");
			}
			spans = member(d, ss, "spans", JSON_ARRAY);
			json_array_foreach(spans, i, sp)
			{
				if (d->bad)
					return;
				conv_span(d, sp, ri, si, resolution);
			}
		}
	}
}

int ct_otlp_json_decode(const char *p, size_t len, struct ct_nbatch **out, char *err, size_t errlen)
{
	struct dec d = {.err = err, .errlen = errlen};
	json_error_t jerr;
	json_t *root;
	int e;

	root = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "not valid JSON: %s (line %d, column %d)", jerr.text,
			 jerr.line, jerr.column);
		return CT_EFORMAT;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		snprintf(err, errlen, "OTLP JSON: the request must be a JSON object");
		return CT_EFORMAT;
	}
	e = ct_nbatch_new(&d.b, "otlp");
	if (e) {
		json_decref(root);
		return e;
	}
	conv_request(&d, root);
	json_decref(root);
	if (d.bad || d.b->arena.oom) {
		e = d.bad ? d.bad : -ENOMEM;
		ct_nbatch_free(d.b);
		return e;
	}
	*out = d.b;
	return 0;
}

void ct_otlp_json_response(struct ct_buf *out, uint64_t rejected, const char *msg)
{
	struct ct_jsonw w;
	char num[32];

	ct_jsonw_init(&w, out, 0);
	ct_jsonw_obj_begin(&w);
	if (rejected) {
		ct_jsonw_key(&w, "partialSuccess");
		ct_jsonw_obj_begin(&w);
		/* int64 is a decimal string in the OTLP JSON mapping. */
		snprintf(num, sizeof(num), "\"%llu\"", (unsigned long long)rejected);
		ct_jsonw_key(&w, "rejectedSpans");
		ct_jsonw_raw(&w, num);
		ct_jsonw_kstr(&w, "errorMessage", msg ? msg : "");
		ct_jsonw_obj_end(&w);
	}
	ct_jsonw_obj_end(&w);
}

void ct_rpc_status_json(struct ct_buf *out, int code, const char *message)
{
	struct ct_jsonw w;

	ct_jsonw_init(&w, out, 0);
	ct_jsonw_obj_begin(&w);
	if (code)
		ct_jsonw_kint(&w, "code", code);
	ct_jsonw_kstr(&w, "message", message);
	ct_jsonw_obj_end(&w);
}
