// SPDX-License-Identifier: MIT
/*
 * Event payload decoding and encoding, generated from event.def. Decoding is straight-line
 * code per event type (one function each), so the reader costs a few ns per event.
 */
#include <errno.h>

#include "crosstrace/crosstrace.h"
#include "event.h"

static const char *const names[CT_EV_MAX] = {
#define CT_EVENT(id, NAME, name, fields) [id] = #name,
#include "event.def"
#undef CT_EVENT
};

const char *ct_ev_name(unsigned type)
{
	return type < CT_EV_MAX ? names[type] : NULL;
}

/* Decoders: each returns the advanced pointer, or NULL when the field does not fit. */
#define GET_FIXED(T, sz)                                                                      \
	static inline const uint8_t *get_##T(const uint8_t *p, const uint8_t *end, void *out) \
	{                                                                                     \
		if ((size_t)(end - p) < sz)                                                   \
			return NULL;                                                          \
		memcpy(out, p, sz);                                                           \
		return p + sz;                                                                \
	}
GET_FIXED(U8, 1)
GET_FIXED(U16, 2)
GET_FIXED(U32, 4)
GET_FIXED(S32, 4)
GET_FIXED(U64, 8)
GET_FIXED(S64, 8)
GET_FIXED(F64, 8)
GET_FIXED(ARGS6, 48)
#undef GET_FIXED

/* A string without its NUL is corrupt rather than short: *err says which. */
static inline const uint8_t *get_str(const uint8_t *p, const uint8_t *end, const char **s,
				     uint32_t *len, int *err)
{
	const uint8_t *nul = memchr(p, 0, (size_t)(end - p));

	if (!nul) {
		*err = CT_EFORMAT;
		return NULL;
	}
	*s = (const char *)p;
	*len = (uint32_t)(nul - p);
	return nul + 1;
}

static inline const uint8_t *get_bytes(const uint8_t *p, const uint8_t *end, const uint8_t **b,
				       uint16_t *len)
{
	uint16_t n;

	if ((size_t)(end - p) < 2)
		return NULL;
	memcpy(&n, p, 2);
	p += 2;
	if ((size_t)(end - p) < n)
		return NULL;
	*b = p;
	*len = n;
	return p + n;
}

#define DEC_U8(o, n) p = get_U8(p, end, &o->n)
#define DEC_U16(o, n) p = get_U16(p, end, &o->n)
#define DEC_U32(o, n) p = get_U32(p, end, &o->n)
#define DEC_S32(o, n) p = get_S32(p, end, &o->n)
#define DEC_U64(o, n) p = get_U64(p, end, &o->n)
#define DEC_S64(o, n) p = get_S64(p, end, &o->n)
#define DEC_F64(o, n) p = get_F64(p, end, &o->n)
#define DEC_ARGS6(o, n) p = get_ARGS6(p, end, o->n)
#define DEC_STR(o, n) p = get_str(p, end, &o->n, &o->n##_len, &err)
#define DEC_BYTES(o, n) p = get_bytes(p, end, &o->n, &o->n##_len)
#define F(t, n)        \
	DEC_##t(o, n); \
	if (!p)        \
		return err;

#define CT_EVENT(id, NAME, name, fields)                                                        \
	static int dec_##name(const uint8_t *start, const uint8_t *end, struct ct_ev_##name *o) \
	{                                                                                       \
		const uint8_t *p = start;                                                       \
		int err = CT_ETRUNC;                                                            \
		fields(void) err;                                                               \
		return (int)(p - start);                                                        \
	}
#include "event.def"
#undef CT_EVENT
#undef F

int ct_ev_decode(unsigned type, const uint8_t *p, size_t len, struct ct_event *ev)
{
	const uint8_t *end = p + len;

	switch (type) {
#define CT_EVENT(id, NAME, name, fields) \
	case id:                         \
		return dec_##name(p, end, &ev->u.name);
#include "event.def"
#undef CT_EVENT
	default:
		return -ENOENT;
	}
}

/* Encoders: return the advanced pointer or NULL when out of room. */
static inline uint8_t *put_fixed(uint8_t *p, uint8_t *end, const void *v, size_t sz)
{
	if ((size_t)(end - p) < sz)
		return NULL;
	memcpy(p, v, sz);
	return p + sz;
}

static inline uint8_t *put_str(uint8_t *p, uint8_t *end, const char *s, uint32_t len)
{
	size_t n = len ? len : (s ? strlen(s) : 0);

	if ((size_t)(end - p) < n + 1)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = 0;
	return p + n + 1;
}

static inline uint8_t *put_bytes(uint8_t *p, uint8_t *end, const uint8_t *b, uint16_t len)
{
	if ((size_t)(end - p) < (size_t)len + 2)
		return NULL;
	memcpy(p, &len, 2);
	if (len)
		memcpy(p + 2, b, len);
	return p + 2 + len;
}

#define ENC_FIXED(o, n) p = put_fixed(p, end, &o->n, sizeof(o->n))
#define ENC_U8 ENC_FIXED
#define ENC_U16 ENC_FIXED
#define ENC_U32 ENC_FIXED
#define ENC_S32 ENC_FIXED
#define ENC_U64 ENC_FIXED
#define ENC_S64 ENC_FIXED
#define ENC_F64 ENC_FIXED
#define ENC_ARGS6 ENC_FIXED
#define ENC_STR(o, n) p = put_str(p, end, o->n, o->n##_len)
#define ENC_BYTES(o, n) p = put_bytes(p, end, o->n, o->n##_len)
#define F(t, n)        \
	ENC_##t(o, n); \
	if (!p)        \
		return CT_ETOOBIG;

#define CT_EVENT(id, NAME, name, fields)                                                  \
	static int enc_##name(uint8_t *start, uint8_t *end, const struct ct_ev_##name *o) \
	{                                                                                 \
		uint8_t *p = start;                                                       \
		fields return (int)(p - start);                                           \
	}
#include "event.def"
#undef CT_EVENT
#undef F

int ct_ev_encode(const struct ct_event *ev, uint8_t *buf, size_t cap)
{
	uint8_t *end = buf + cap;

	switch (ev->type) {
#define CT_EVENT(id, NAME, name, fields) \
	case id:                         \
		return enc_##name(buf, end, &ev->u.name);
#include "event.def"
#undef CT_EVENT
	default:
		return -ENOENT;
	}
}
