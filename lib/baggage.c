// SPDX-License-Identifier: MIT
/*
 * W3C Baggage: "key=value;properties" members separated by commas. Keys are HTTP tokens,
 * values are percent-encoded UTF-8 (decoded here on parse, encoded on format), properties are
 * kept verbatim. Limits: 64 members and 8192 bytes serialised. Invalid members are skipped, as
 * the spec lets a receiver do. Storage is the caller's struct: no heap, locks or syscalls.
 */
#include <errno.h>
#include <string.h>

#include "crosstrace/crosstrace.h"

#define CAP sizeof(((struct ct_baggage *)0)->buf)
#define NO_PROPS 0xffffu

static const char hexup[] = "0123456789ABCDEF";

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 7230 3.2.6 tchar: the characters of a token (the baggage key). */
static int is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E */
static int is_baggage_octet(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
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

static int valid_token(const char *s, size_t len)
{
	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past U+10FFFF. */
static int valid_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			k = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return 0;
		}
		if (len - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* Bytes value takes once percent-encoded: '%' and everything outside baggage-octet. */
static size_t encoded_len(const char *v, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		n += (is_baggage_octet(c) && c != '%') ? 1 : 3;
	}
	return n;
}

/* property = key OWS "=" OWS value / key OWS; properties are separated by OWS ";" OWS. */
static int valid_props(const char *s, size_t len)
{
	size_t pos = 0;

	while (pos <= len) {
		const char *p = s + pos, *semi = memchr(p, ';', len - pos);
		size_t plen = semi ? (size_t)(semi - p) : len - pos;
		const char *eq;
		size_t klen;

		pos += plen + 1;
		while (plen && is_ows(p[0]))
			p++, plen--;
		while (plen && is_ows(p[plen - 1]))
			plen--;
		eq = memchr(p, '=', plen);
		klen = eq ? (size_t)(eq - p) : plen;
		while (klen && is_ows(p[klen - 1]))
			klen--;
		if (!valid_token(p, klen))
			return 0;
		if (eq) {
			const char *v = eq + 1;
			size_t vlen = plen - (size_t)(v - p);

			while (vlen && is_ows(v[0]))
				v++, vlen--;
			for (size_t i = 0; i < vlen; i++)
				if (!is_baggage_octet((unsigned char)v[i]))
					return 0;
		}
	}
	return 1;
}

static size_t str_end(const struct ct_baggage *bg, size_t i)
{
	size_t last = bg->prop_off[i] != NO_PROPS ? bg->prop_off[i] : bg->val_off[i];

	return last + strlen(bg->buf + last) + 1;
}

/* Serialised length of member i: key=encoded-value[;props]. */
static size_t member_wire_len(const struct ct_baggage *bg, size_t i)
{
	const char *v = bg->buf + bg->val_off[i];
	size_t n = (size_t)(bg->val_off[i] - bg->key_off[i]) + encoded_len(v, strlen(v));

	if (bg->prop_off[i] != NO_PROPS)
		n += 1 + strlen(bg->buf + bg->prop_off[i]);
	return n;
}

static size_t wire_len(const struct ct_baggage *bg)
{
	size_t n = 0;

	for (size_t i = 0; i < bg->n; i++)
		n += (i ? 1 : 0) + member_wire_len(bg, i);
	return n;
}

/* Frees member i's strings from buf; the slot itself is left to the caller. */
static void release_strings(struct ct_baggage *bg, size_t i)
{
	size_t off = bg->key_off[i], sz = str_end(bg, i) - off;

	memmove(bg->buf + off, bg->buf + off + sz, bg->used - off - sz);
	bg->used = (uint16_t)(bg->used - sz);
	for (size_t j = 0; j < bg->n; j++) {
		if (j == i || bg->key_off[j] < off)
			continue;
		bg->key_off[j] = (uint16_t)(bg->key_off[j] - sz);
		bg->val_off[j] = (uint16_t)(bg->val_off[j] - sz);
		if (bg->prop_off[j] != NO_PROPS)
			bg->prop_off[j] = (uint16_t)(bg->prop_off[j] - sz);
	}
}

static void remove_at(struct ct_baggage *bg, size_t i)
{
	release_strings(bg, i);
	for (size_t j = i; j + 1 < bg->n; j++) {
		bg->key_off[j] = bg->key_off[j + 1];
		bg->val_off[j] = bg->val_off[j + 1];
		bg->prop_off[j] = bg->prop_off[j + 1];
	}
	bg->n--;
}

static void put(struct ct_baggage *bg, const char *s, size_t len)
{
	memcpy(bg->buf + bg->used, s, len);
	bg->buf[bg->used + len] = '\0';
	bg->used = (uint16_t)(bg->used + len + 1);
}

static int same_key(const struct ct_baggage *bg, size_t i, const char *key, size_t klen)
{
	size_t kl = (size_t)(bg->val_off[i] - bg->key_off[i]) - 1;

	return kl == klen && !memcmp(bg->buf + bg->key_off[i], key, klen);
}

static int find(const struct ct_baggage *bg, const char *key, size_t klen, int last)
{
	int hit = -1;

	for (size_t i = 0; i < bg->n; i++) {
		if (same_key(bg, i, key, klen)) {
			hit = (int)i;
			if (!last)
				break;
		}
	}
	return hit;
}

/*
 * Parses and stores one trimmed, non-empty member; returns 0, or -1 when it is invalid
 * (nothing stored then).
 */
static int add_member(struct ct_baggage *bg, const char *s, size_t len)
{
	const char *semi = memchr(s, ';', len), *eq, *v, *props = NULL;
	size_t kvlen = semi ? (size_t)(semi - s) : len, klen, vlen, plen = 0, start = bg->used;
	size_t voff;

	eq = memchr(s, '=', kvlen);
	if (!eq)
		return -1;
	/* list-member = key OWS "=" OWS value: OWS around key and value is trimmed. */
	klen = (size_t)(eq - s);
	while (klen && is_ows(s[klen - 1]))
		klen--;
	v = eq + 1;
	vlen = (size_t)(s + kvlen - v);
	while (vlen && is_ows(v[0]))
		v++, vlen--;
	while (vlen && is_ows(v[vlen - 1]))
		vlen--;
	if (!valid_token(s, klen))
		return -1;
	for (size_t i = 0; i < vlen; i++)
		if (!is_baggage_octet((unsigned char)v[i]))
			return -1;
	if (semi) {
		props = semi + 1;
		plen = (size_t)(s + len - props);
		while (plen && is_ows(props[0]))
			props++, plen--;
		if (!valid_props(props, plen))
			return -1;
	}
	/* Decoded value and properties are never longer than their text: check room once. */
	if (bg->used + klen + vlen + plen + 3 > CAP)
		return -1;
	put(bg, s, klen);
	voff = bg->used;
	for (size_t i = 0; i < vlen; i++) {
		char c = v[i];

		if (c == '%') {
			int hi = i + 2 < vlen ? hexval(v[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(v[i + 2]) : -1;

			/* A stray '%' is not percent-encoding; %00 cannot live in a C string. */
			if (lo < 0 || (hi | lo) == 0)
				goto invalid;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		bg->buf[bg->used++] = c;
	}
	bg->buf[bg->used++] = '\0';
	/* "A value contains a URL encoded UTF-8 string." */
	if (!valid_utf8((const unsigned char *)bg->buf + voff, bg->used - voff - 1))
		goto invalid;
	bg->key_off[bg->n] = (uint16_t)start;
	bg->val_off[bg->n] = (uint16_t)voff;
	bg->prop_off[bg->n] = NO_PROPS;
	if (props) {
		bg->prop_off[bg->n] = bg->used;
		put(bg, props, plen);
	}
	bg->n++;
	return 0;
invalid:
	bg->used = (uint16_t)start;
	return -1;
}

void ct_baggage_init(struct ct_baggage *bg)
{
	bg->n = 0;
	bg->used = 0;
	bg->buf[0] = '\0';
}

int ct_baggage_parse(const char *value, size_t len, struct ct_baggage *bg)
{
	size_t pos = 0, nonblank = 0;

	if (!bg)
		return -EINVAL;
	ct_baggage_init(bg);
	if (!value)
		return len ? CT_EFORMAT : 0;
	while (pos <= len) {
		const char *s = value + pos, *comma = memchr(s, ',', len - pos);
		size_t mlen = comma ? (size_t)(comma - s) : len - pos;

		pos += mlen + 1;
		while (mlen && is_ows(s[0]))
			s++, mlen--;
		while (mlen && is_ows(s[mlen - 1]))
			mlen--;
		if (!mlen)
			continue;
		nonblank++;
		/*
		 * Limits: a receiver must propagate at least 64 members and 8192 bytes; this
		 * one keeps exactly that much and reports the rest as cut off.
		 */
		if ((size_t)(s - value) + mlen > CT_BAGGAGE_MAX_BYTES ||
		    bg->n == CT_BAGGAGE_MAX_MEMBERS)
			return CT_ETOOBIG;
		add_member(bg, s, mlen);
	}
	/* Something was there, and none of it was baggage. */
	if (nonblank && !bg->n)
		return CT_EFORMAT;
	return bg->n;
}

int ct_baggage_format(const struct ct_baggage *bg, char *buf, size_t size)
{
	size_t len, o = 0;

	if (!bg || !buf)
		return -EINVAL;
	len = wire_len(bg);
	if (len + 1 > size) {
		if (size)
			buf[0] = '\0';
		return CT_ETOOBIG;
	}
	for (size_t i = 0; i < bg->n; i++) {
		const char *k = bg->buf + bg->key_off[i], *v = bg->buf + bg->val_off[i];

		if (i)
			buf[o++] = ',';
		while (*k)
			buf[o++] = *k++;
		buf[o++] = '=';
		for (; *v; v++) {
			unsigned char c = (unsigned char)*v;

			if (is_baggage_octet(c) && c != '%') {
				buf[o++] = (char)c;
			} else {
				buf[o++] = '%';
				buf[o++] = hexup[c >> 4];
				buf[o++] = hexup[c & 15];
			}
		}
		if (bg->prop_off[i] != NO_PROPS) {
			const char *p = bg->buf + bg->prop_off[i];

			buf[o++] = ';';
			while (*p)
				buf[o++] = *p++;
		}
	}
	buf[o] = '\0';
	return (int)o;
}

int ct_baggage_set(struct ct_baggage *bg, const char *key, const char *value)
{
	size_t klen, vlen, add, total;
	int at;

	if (!bg || !key || !value)
		return CT_EFORMAT;
	klen = strnlen(key, CT_BAGGAGE_MAX_BYTES + 1);
	vlen = strnlen(value, CT_BAGGAGE_MAX_BYTES + 1);
	if (!valid_token(key, klen) || !valid_utf8((const unsigned char *)value, vlen))
		return CT_EFORMAT;
	add = klen + 1 + encoded_len(value, vlen);
	at = find(bg, key, klen, 0);
	total = wire_len(bg);
	if (at >= 0) {
		/* Every copy of key goes; the new value takes the first one's place. */
		for (size_t i = (size_t)at + 1; i < bg->n; i++)
			if (same_key(bg, i, key, klen))
				total -= 1 + member_wire_len(bg, i);
		total = total - member_wire_len(bg, (size_t)at) + add;
	} else {
		if (bg->n == CT_BAGGAGE_MAX_MEMBERS)
			return CT_ETOOBIG;
		total += (bg->n ? 1 : 0) + add;
	}
	if (total > CT_BAGGAGE_MAX_BYTES)
		return CT_ETOOBIG;
	if (at >= 0) {
		for (size_t i = bg->n; i-- > (size_t)at + 1;)
			if (same_key(bg, i, key, klen))
				remove_at(bg, i);
		release_strings(bg, (size_t)at);
	} else {
		at = bg->n++;
	}
	/* Within 8192 serialised bytes the stored strings always fit CAP (never longer). */
	bg->key_off[at] = bg->used;
	put(bg, key, klen);
	bg->val_off[at] = bg->used;
	put(bg, value, vlen);
	bg->prop_off[at] = NO_PROPS;
	return 0;
}

const char *ct_baggage_get(const struct ct_baggage *bg, const char *key)
{
	int i;

	if (!bg || !key)
		return NULL;
	/* A repeated key: the last one wins, as in OpenTelemetry's propagators. */
	i = find(bg, key, strlen(key), 1);
	return i < 0 ? NULL : bg->buf + bg->val_off[i];
}

int ct_baggage_delete(struct ct_baggage *bg, const char *key)
{
	size_t klen;
	int i, hit = 0;

	if (!bg || !key)
		return -ENOENT;
	klen = strlen(key);
	while ((i = find(bg, key, klen, 0)) >= 0) {
		remove_at(bg, (size_t)i);
		hit = 1;
	}
	return hit ? 0 : -ENOENT;
}

size_t ct_baggage_count(const struct ct_baggage *bg)
{
	return bg ? bg->n : 0;
}

int ct_baggage_member(const struct ct_baggage *bg, size_t i, const char **key, const char **value)
{
	if (!bg || i >= bg->n)
		return -ERANGE;
	if (key)
		*key = bg->buf + bg->key_off[i];
	if (value)
		*value = bg->buf + bg->val_off[i];
	return 0;
}
