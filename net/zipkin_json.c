// SPDX-License-Identifier: MIT
/*
 * Zipkin v2 JSON → span model. Zipkin has no resource: spans are grouped into one resource per
 * localEndpoint.serviceName (service.name). Times are µs since the epoch, so every span gets
 * a time resolution of 1000 ns. A 16-digit trace id is the low half of a 128-bit one.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "crosstrace/crosstrace.h"
#include "zipkin_json.h"

struct dec {
	struct ct_nbatch *b;
	int bad;
};

static const char *copy(struct dec *d, json_t *v)
{
	const char *s;

	if (!json_is_string(v))
		return "";
	s = ct_arena_strndup(&d->b->arena, json_string_value(v), json_string_length(v));
	if (!s) {
		d->bad = -ENOMEM;
		return "";
	}
	return s;
}

/* µs as a JSON integer (or an integral real); returns 0 or -1 when absent/invalid. */
static int micros(json_t *v, uint64_t *out)
{
	/* Bounded so that µs → ns and start + duration cannot overflow a u64. */
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) < 9000000000000000ll) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 9e15 &&
	    json_real_value(v) == floor(json_real_value(v))) {
		*out = (uint64_t)json_real_value(v);
		return 0;
	}
	return -1;
}

static uint32_t resource_for(struct dec *d, const char *service)
{
	struct ct_nresource *r;

	for (uint32_t i = 0; i < d->b->n_resources; i++) {
		if (!strcmp(d->b->resources[i].service, service))
			return i;
	}
	r = ct_nbatch_add_resource(d->b);
	if (!r || ct_nattrs_add_str(d->b, &r->attrs, "service.name", service)) {
		d->bad = -ENOMEM;
		return 0;
	}
	ct_nresource_derive(r);
	return d->b->n_resources - 1;
}

static int add_attr(struct dec *d, struct ct_nspan *s, const char *key, json_t *v)
{
	const char *str = json_string_value(v);
	struct ct_nval *x;

	if (!v)
		return 0;
	x = ct_nattrs_add(d->b, &s->attrs, key, strlen(key));
	if (!x)
		return -ENOMEM;
	if (json_is_integer(v)) {
		x->type = CT_NVAL_INT;
		x->i = json_integer_value(v);
		return 0;
	}
	return ct_nval_set_bytes(d->b, x, CT_NVAL_STR, str ? str : "", str ? strlen(str) : 0);
}

static const char *const kinds[] = {"", "", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"};

static void conv_span(struct dec *d, json_t *sp)
{
	json_t *x, *tags, *v, *ann, *local, *remote;
	uint8_t tid[16] = {0}, sid[8], pid[8] = {0};
	const char *tr, *name, *key, *service = "unknown_service";
	uint64_t ts, dur = 0;
	struct ct_nspan *s;
	uint32_t ri;
	size_t n, i;
	int err = 0;

	name = json_string_value(json_object_get(sp, "name"));
	if (!name)
		name = "";
	tr = json_string_value(json_object_get(sp, "traceId"));
	n = tr ? strlen(tr) : 0;
	if (!tr || (n != 16 && n != 32) || ct_hex_decode(tid + (n == 16 ? 8 : 0), n / 2, tr, n) ||
	    !ct_id_valid(tid, 16)) {
		ct_nbatch_reject(d->b, "span \"%.60s\": traceId must be 16 or 32 hex digits", name);
		return;
	}
	x = json_object_get(sp, "id");
	if (!json_is_string(x) ||
	    ct_hex_decode(sid, 8, json_string_value(x), json_string_length(x)) ||
	    !ct_id_valid(sid, 8)) {
		ct_nbatch_reject(d->b, "span \"%.60s\": id must be 16 hex digits, not all zero",
				 name);
		return;
	}
	x = json_object_get(sp, "parentId");
	if (x && !json_is_null(x) &&
	    (!json_is_string(x) ||
	     ct_hex_decode(pid, 8, json_string_value(x), json_string_length(x)))) {
		ct_nbatch_reject(d->b, "span \"%.60s\": parentId must be 16 hex digits", name);
		return;
	}
	if (micros(json_object_get(sp, "timestamp"), &ts)) {
		ct_nbatch_reject(d->b, "span \"%.60s\": no timestamp (µs since the epoch)", name);
		return;
	}
	x = json_object_get(sp, "duration");
	if (x && micros(x, &dur)) {
		ct_nbatch_reject(d->b, "span \"%.60s\": duration must be a count of µs", name);
		return;
	}
	local = json_object_get(sp, "localEndpoint");
	x = json_object_get(local, "serviceName");
	if (json_is_string(x) && json_string_length(x))
		service = json_string_value(x);
	ri = resource_for(d, service);
	if (d->bad)
		return;
	s = ct_nbatch_add_span(d->b, ri, 0);
	if (!s) {
		d->bad = -ENOMEM;
		return;
	}
	memcpy(s->trace_id, tid, 16);
	memcpy(s->span_id, sid, 8);
	memcpy(s->parent_id, pid, 8);
	s->name = copy(d, json_object_get(sp, "name"));
	s->start_ns = ts * 1000;
	s->end_ns = (ts + dur) * 1000;
	s->time_resolution_ns = 1000;
	s->flags = 0x01; /* reported Zipkin spans are sampled */
	x = json_object_get(sp, "kind");
	for (int k = 2; k < 6 && json_is_string(x); k++) {
		if (!strcmp(json_string_value(x), kinds[k]))
			s->kind = (uint8_t)k;
	}
	if (!s->kind)
		s->kind = CT_NKIND_INTERNAL;
	tags = json_object_get(sp, "tags");
	json_object_foreach(tags, key, v)
	{
		if (!json_is_string(v))
			continue; /* Zipkin tags are strings; anything else is not Zipkin's */
		if (!strcmp(key, "error")) {
			s->status = CT_NSTATUS_ERROR;
			s->status_message = copy(d, v);
		} else if (!strcmp(key, "otel.status_code")) {
			if (!strcmp(json_string_value(v), "ERROR"))
				s->status = CT_NSTATUS_ERROR;
			else if (!strcmp(json_string_value(v), "OK"))
				s->status = CT_NSTATUS_OK;
			continue;
		} else if (!strcmp(key, "otel.status_description")) {
			s->status_message = copy(d, v);
			continue;
		}
		err = add_attr(d, s, key, v);
		if (err)
			break;
	}
	if (!err && json_is_true(json_object_get(sp, "shared"))) {
		err = ct_nattrs_add_bool(d->b, &s->attrs, "zipkin.shared", 1);
	}
	if (!err && json_is_true(json_object_get(sp, "debug")))
		err = ct_nattrs_add_bool(d->b, &s->attrs, "zipkin.debug", 1);
	remote = json_object_get(sp, "remoteEndpoint");
	if (!err && json_is_object(remote)) {
		x = json_object_get(remote, "serviceName");
		if (json_is_string(x))
			err = add_attr(d, s, "peer.service", x);
		x = json_object_get(remote, "ipv4");
		if (!err && !json_is_string(x))
			x = json_object_get(remote, "ipv6");
		if (!err && json_is_string(x))
			err = add_attr(d, s, "network.peer.address", x);
		x = json_object_get(remote, "port");
		if (!err && json_is_integer(x))
			err = add_attr(d, s, "network.peer.port", x);
	}
	ann = json_object_get(sp, "annotations");
	json_array_foreach(ann, i, x)
	{
		struct ct_nevent *ev;
		uint64_t t;

		if (err || micros(json_object_get(x, "timestamp"), &t))
			continue; /* an annotation without a time cannot be placed */
		ev = ct_nspan_add_event(d->b, s);
		if (!ev) {
			err = -ENOMEM;
			break;
		}
		ev->time_ns = t * 1000;
		ev->name = copy(d, json_object_get(x, "value"));
	}
	if (err)
		d->bad = err;
}

int ct_zipkin_json_decode(const char *p, size_t len, struct ct_nbatch **out, char *err,
			  size_t errlen)
{
	struct dec d = {0};
	json_error_t jerr;
	json_t *root, *sp;
	size_t i;
	int e;

	root = json_loadb(p, len, 0, &jerr);
	if (!root) {
		snprintf(err, errlen, "not valid JSON: %s (line %d, column %d)", jerr.text,
			 jerr.line, jerr.column);
		return CT_EFORMAT;
	}
	if (!json_is_array(root)) {
		json_decref(root);
		snprintf(err, errlen, "Zipkin v2: the body must be a JSON array of spans");
		return CT_EFORMAT;
	}
	json_array_foreach(root, i, sp)
	{
		if (!json_is_object(sp)) {
			json_decref(root);
			snprintf(err, errlen,
				 "Zipkin v2: element %zu of the array is not a span "
				 "object",
				 i);
			return CT_EFORMAT;
		}
	}
	e = ct_nbatch_new(&d.b, "zipkin");
	if (e) {
		json_decref(root);
		return e;
	}
	/* One (empty) scope for every span: Zipkin has no instrumentation scope. */
	if (!ct_nbatch_add_scope(d.b))
		d.bad = -ENOMEM;
	json_array_foreach(root, i, sp)
	{
		if (d.bad)
			break;
		conv_span(&d, sp);
	}
	json_decref(root);
	if (d.bad || d.b->arena.oom) {
		ct_nbatch_free(d.b);
		snprintf(err, errlen, "out of memory decoding Zipkin spans");
		return -ENOMEM;
	}
	*out = d.b;
	return 0;
}
