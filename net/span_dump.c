// SPDX-License-Identifier: MIT
/* JSON lines of received spans (see span_dump.h). */
#include <stdio.h>
#include <stdlib.h>

#include "base64.h"
#include "span_dump.h"
#include "util/jsonw.h"

static void value(struct ct_jsonw *w, const struct ct_nval *v)
{
	char *tmp;

	switch (v->type) {
	case CT_NVAL_STR:
		ct_jsonw_strn(w, v->s, v->len);
		break;
	case CT_NVAL_BOOL:
		ct_jsonw_bool(w, v->b);
		break;
	case CT_NVAL_INT:
		ct_jsonw_int(w, v->i);
		break;
	case CT_NVAL_DOUBLE:
		ct_jsonw_double(w, v->d);
		break;
	case CT_NVAL_BYTES:
		tmp = malloc(ct_base64_encoded_size(v->len));
		if (tmp) {
			ct_base64_encode(tmp, (const uint8_t *)v->s, v->len);
			ct_jsonw_str(w, tmp);
			free(tmp);
		} else {
			ct_jsonw_null(w);
		}
		break;
	case CT_NVAL_ARRAY:
	case CT_NVAL_KVLIST:
		ct_jsonw_raw(w, v->s); /* the model holds valid JSON text */
		break;
	default:
		ct_jsonw_null(w);
		break;
	}
}

static void attrs(struct ct_jsonw *w, const char *key, const struct ct_nattrs *a)
{
	ct_jsonw_key(w, key);
	ct_jsonw_obj_begin(w);
	for (uint32_t i = 0; i < a->n; i++) {
		ct_jsonw_key(w, a->v[i].key);
		value(w, &a->v[i].v);
	}
	ct_jsonw_obj_end(w);
}

static void id(struct ct_jsonw *w, const char *key, const uint8_t *p, size_t n)
{
	char hex[33];

	if (!ct_id_valid(p, n))
		hex[0] = 0;
	else
		ct_hex_encode(hex, p, n);
	ct_jsonw_kstr(w, key, hex);
}

static void ns(struct ct_jsonw *w, const char *key, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "\"%llu\"", (unsigned long long)v);
	ct_jsonw_key(w, key);
	ct_jsonw_raw(w, num);
}

void ct_span_dump_json(struct ct_buf *out, const struct ct_nbatch *b, const struct ct_nspan *s)
{
	const struct ct_nresource *r = &b->resources[s->resource];
	const struct ct_nscope *sc = &b->scopes[s->scope];
	struct ct_jsonw w;

	ct_jsonw_init(&w, out, 0);
	ct_jsonw_obj_begin(&w);
	id(&w, "trace_id", s->trace_id, 16);
	id(&w, "span_id", s->span_id, 8);
	id(&w, "parent_id", s->parent_id, 8);
	ct_jsonw_kstr(&w, "name", s->name);
	ct_jsonw_kint(&w, "kind", s->kind);
	ns(&w, "start_ns", s->start_ns);
	ns(&w, "end_ns", s->end_ns);
	ct_jsonw_kint(&w, "time_resolution_ns", s->time_resolution_ns);
	ct_jsonw_kint(&w, "flags", s->flags);
	ct_jsonw_kstr(&w, "trace_state", s->trace_state);
	ct_jsonw_kint(&w, "status", s->status);
	ct_jsonw_kstr(&w, "status_message", s->status_message);
	ct_jsonw_kstr(&w, "sdk", b->sdk);
	ct_jsonw_kstr(&w, "service", r->service);
	ct_jsonw_kint(&w, "pid", r->pid);
	ct_jsonw_kint(&w, "tid", ct_nspan_thread_id(s));
	ct_jsonw_kstr(&w, "scope", sc->name);
	ct_jsonw_kstr(&w, "scope_version", sc->version);
	attrs(&w, "attributes", &s->attrs);
	attrs(&w, "resource", &r->attrs);
	ct_jsonw_key(&w, "events");
	ct_jsonw_arr_begin(&w);
	for (uint32_t i = 0; i < s->n_events; i++) {
		ct_jsonw_obj_begin(&w);
		ct_jsonw_kstr(&w, "name", s->events[i].name);
		ns(&w, "time_ns", s->events[i].time_ns);
		attrs(&w, "attributes", &s->events[i].attrs);
		ct_jsonw_obj_end(&w);
	}
	ct_jsonw_arr_end(&w);
	ct_jsonw_key(&w, "links");
	ct_jsonw_arr_begin(&w);
	for (uint32_t i = 0; i < s->n_links; i++) {
		ct_jsonw_obj_begin(&w);
		id(&w, "trace_id", s->links[i].trace_id, 16);
		id(&w, "span_id", s->links[i].span_id, 8);
		attrs(&w, "attributes", &s->links[i].attrs);
		ct_jsonw_obj_end(&w);
	}
	ct_jsonw_arr_end(&w);
	ct_jsonw_kint(&w, "dropped_attributes", s->attrs.dropped);
	ct_jsonw_kint(&w, "dropped_events", s->dropped_events);
	ct_jsonw_kint(&w, "dropped_links", s->dropped_links);
	ct_jsonw_obj_end(&w);
	ct_buf_putc(out, '\n');
}
