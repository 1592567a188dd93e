// SPDX-License-Identifier: MIT
/* Text and JSON renderings of events, generated field by field from event.def. */
#include <inttypes.h>
#include <stdio.h>

#include "event_print.h"
#include "util/jsonw.h"

static void text_str(struct ct_buf *b, const char *s, uint32_t len)
{
	ct_buf_putc(b, '"');
	ct_json_escape(b, s, len);
	ct_buf_putc(b, '"');
}

static void text_bytes(struct ct_buf *b, const uint8_t *p, uint16_t len)
{
	for (uint16_t i = 0; i < len; i++)
		ct_buf_printf(b, "%02x", p[i]);
}

#define TXT_U8(o, n) ct_buf_printf(b, "%s=%u", #n, (unsigned)o->n)
#define TXT_U16(o, n) ct_buf_printf(b, "%s=%u", #n, (unsigned)o->n)
#define TXT_U32(o, n) ct_buf_printf(b, "%s=%" PRIu32, #n, o->n)
#define TXT_S32(o, n) ct_buf_printf(b, "%s=%" PRId32, #n, o->n)
#define TXT_U64(o, n) ct_buf_printf(b, "%s=%" PRIu64, #n, o->n)
#define TXT_S64(o, n) ct_buf_printf(b, "%s=%" PRId64, #n, o->n)
#define TXT_F64(o, n) ct_buf_printf(b, "%s=%.17g", #n, o->n)
#define TXT_STR(o, n) (ct_buf_puts(b, #n "="), text_str(b, o->n, o->n##_len))
#define TXT_BYTES(o, n) (ct_buf_puts(b, #n "=0x"), text_bytes(b, o->n, o->n##_len))
#define TXT_ARGS6(o, n)                                                                       \
	ct_buf_printf(b,                                                                      \
		      "%s=[%#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 \
		      ", %#" PRIx64 "]",                                                      \
		      #n, o->n[0], o->n[1], o->n[2], o->n[3], o->n[4], o->n[5])
#define F(t, n)                       \
	if (sep)                      \
		ct_buf_puts(b, ", "); \
	sep = 1;                      \
	TXT_##t(o, n);
#define CT_EVENT(id, NAME, name, fields)                                       \
	static void txt_##name(struct ct_buf *b, const struct ct_ev_##name *o) \
	{                                                                      \
		int sep = 0;                                                   \
		fields(void) sep;                                              \
	}
#include "event.def"
#undef CT_EVENT
#undef F

void ct_ev_print_text(const struct ct_event *ev, struct ct_buf *b)
{
	const char *name = ct_ev_name(ev->type);

	ct_buf_printf(b, "%s: ", name ? name : "unknown");
	switch (ev->type) {
#define CT_EVENT(id, NAME, name, fields)    \
	case id:                            \
		txt_##name(b, &ev->u.name); \
		break;
#include "event.def"
#undef CT_EVENT
	default:
		ct_buf_printf(b, "id=%u", ev->type);
	}
}

#define JS_U8(o, n) ct_jsonw_kuint(w, #n, o->n)
#define JS_U16(o, n) ct_jsonw_kuint(w, #n, o->n)
#define JS_U32(o, n) ct_jsonw_kuint(w, #n, o->n)
#define JS_S32(o, n) ct_jsonw_kint(w, #n, o->n)
#define JS_U64(o, n) ct_jsonw_kuint(w, #n, o->n)
#define JS_S64(o, n) ct_jsonw_kint(w, #n, o->n)
#define JS_F64(o, n) ct_jsonw_kdouble(w, #n, o->n)
#define JS_STR(o, n) (ct_jsonw_key(w, #n), ct_jsonw_strn(w, o->n, o->n##_len))
#define JS_BYTES(o, n) json_bytes(w, #n, o->n, o->n##_len)
#define JS_ARGS6(o, n) json_args(w, #n, o->n)
#define F(t, n) JS_##t(o, n);
#define CT_EVENT(id, NAME, name, fields)                                        \
	static void js_##name(struct ct_jsonw *w, const struct ct_ev_##name *o) \
	{                                                                       \
		fields                                                          \
	}

static void json_bytes(struct ct_jsonw *w, const char *key, const uint8_t *p, uint16_t len)
{
	struct ct_buf hex;

	ct_buf_init(&hex);
	text_bytes(&hex, p, len);
	ct_jsonw_key(w, key);
	ct_jsonw_strn(w, hex.data ? hex.data : "", hex.len);
	ct_buf_fini(&hex);
}

static void json_args(struct ct_jsonw *w, const char *key, const uint64_t a[6])
{
	ct_jsonw_key(w, key);
	ct_jsonw_arr_begin(w);
	for (int i = 0; i < 6; i++)
		ct_jsonw_uint(w, a[i]);
	ct_jsonw_arr_end(w);
}

#include "event.def"
#undef CT_EVENT
#undef F

void ct_ev_print_json(const struct ct_event *ev, struct ct_buf *b)
{
	const char *name = ct_ev_name(ev->type);
	struct ct_jsonw w;

	ct_jsonw_init(&w, b, 0);
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kuint(&w, "ts", ev->ts);
	ct_jsonw_kint(&w, "pid", ev->pid);
	ct_jsonw_kint(&w, "tid", ev->tid);
	if (ev->cpu != 0xffff)
		ct_jsonw_kuint(&w, "cpu", ev->cpu);
	ct_jsonw_kstr(&w, "type", name ? name : "unknown");
	switch (ev->type) {
#define CT_EVENT(id, NAME, name, fields)    \
	case id:                            \
		js_##name(&w, &ev->u.name); \
		break;
#include "event.def"
#undef CT_EVENT
	default:
		ct_jsonw_kuint(&w, "id", ev->type);
	}
	ct_jsonw_obj_end(&w);
}
