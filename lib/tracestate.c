// SPDX-License-Identifier: MIT
/*
 * W3C Trace Context Level 1 tracestate: an ordered list of at most 32 vendor key=value
 * members, most recent first. Parsing validates the whole header (section 3.3) and keeps all
 * or nothing; mutation (3.5) moves updated keys to the front; when the inline storage is
 * short, whole entries are dropped as 3.3.1.5 says: long (> 128 chars) entries first, then
 * from the end. Storage is the caller's struct: no heap, no locks, no system calls.
 */
#include <errno.h>
#include <string.h>

#include "crosstrace/crosstrace.h"

/* Members are stored as "key\0value\0", packed from buf[0]; list order is key_off[] order. */
#define CAP sizeof(((struct ct_tracestate *)0)->buf)

/* 3.3.1.5: "Entries larger than 128 characters long SHOULD be removed first". */
#define LONG_ENTRY 128

/* Span of input text; lengths bounded by the grammar before they are stored. */
struct member {
	const char *key, *val;
	size_t klen, vlen;
};

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static int is_lcalpha(char c)
{
	return c >= 'a' && c <= 'z';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* lcalpha / DIGIT / "_" / "-" / "*" / "/": every key character after the first (3.3.1.3.1). */
static int is_keychar(char c)
{
	return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

/* first char, then up to max_tail keychars. */
static int valid_id(const char *s, size_t len, int digit_first, size_t max_tail)
{
	if (len == 0 || len - 1 > max_tail)
		return 0;
	if (!is_lcalpha(s[0]) && !(digit_first && is_digit(s[0])))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!is_keychar(s[i]))
			return 0;
	return 1;
}

/*
 * 3.3.1.3.1:
 *   simple-key       = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
 *   multi-tenant-key = tenant-id "@" system-id
 *   tenant-id        = ( lcalpha / DIGIT ) 0*240( ... )
 *   system-id        = lcalpha 0*13( ... )
 */
static int valid_key(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);

	if (!at)
		return valid_id(s, len, 0, 255);
	return valid_id(s, (size_t)(at - s), 1, 240) &&
	       valid_id(at + 1, len - (size_t)(at - s) - 1, 0, 13);
}

/*
 * 3.3.1.3.2: value = 0*255(chr) nblk-chr, chr = %x20 / nblk-chr,
 * nblk-chr = %x21-2B / %x2D-3C / %x3E-7E (printable ASCII but ',' and '=').
 */
static int valid_value(const char *s, size_t len)
{
	if (len == 0 || len > CT_TRACESTATE_MAX_VALUE || s[len - 1] == ' ')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
			return 0;
	}
	return 1;
}

static size_t stored_size(size_t klen, size_t vlen)
{
	return klen + vlen + 2;
}

static size_t member_klen(const struct ct_tracestate *ts, size_t i)
{
	return (size_t)(ts->val_off[i] - ts->key_off[i]) - 1;
}

static size_t member_vlen(const struct ct_tracestate *ts, size_t i)
{
	return strlen(ts->buf + ts->val_off[i]);
}

static void remove_at(struct ct_tracestate *ts, size_t i)
{
	size_t off = ts->key_off[i];
	size_t sz = stored_size(member_klen(ts, i), member_vlen(ts, i));

	memmove(ts->buf + off, ts->buf + off + sz, ts->used - off - sz);
	ts->used = (uint16_t)(ts->used - sz);
	for (size_t j = i; j + 1 < ts->n; j++) {
		ts->key_off[j] = ts->key_off[j + 1];
		ts->val_off[j] = ts->val_off[j + 1];
	}
	ts->n--;
	for (size_t j = 0; j < ts->n; j++) {
		if (ts->key_off[j] > off) {
			ts->key_off[j] = (uint16_t)(ts->key_off[j] - sz);
			ts->val_off[j] = (uint16_t)(ts->val_off[j] - sz);
		}
	}
}

/* Stores a member at list position pos; the caller has checked room and count. */
static void insert_at(struct ct_tracestate *ts, size_t pos, const char *k, size_t klen,
		      const char *v, size_t vlen)
{
	size_t off = ts->used;

	for (size_t j = ts->n; j > pos; j--) {
		ts->key_off[j] = ts->key_off[j - 1];
		ts->val_off[j] = ts->val_off[j - 1];
	}
	memcpy(ts->buf + off, k, klen);
	ts->buf[off + klen] = '\0';
	memcpy(ts->buf + off + klen + 1, v, vlen);
	ts->buf[off + klen + 1 + vlen] = '\0';
	ts->key_off[pos] = (uint16_t)off;
	ts->val_off[pos] = (uint16_t)(off + klen + 1);
	ts->used = (uint16_t)(off + stored_size(klen, vlen));
	ts->n++;
}

static int find(const struct ct_tracestate *ts, const char *key, size_t klen)
{
	for (size_t i = 0; i < ts->n; i++)
		if (member_klen(ts, i) == klen && !memcmp(ts->buf + ts->key_off[i], key, klen))
			return (int)i;
	return -1;
}

void ct_tracestate_init(struct ct_tracestate *ts)
{
	ts->n = 0;
	ts->used = 0;
	ts->buf[0] = '\0';
}

int ct_tracestate_parse(const char *value, size_t len, struct ct_tracestate *ts)
{
	struct member m[CT_TRACESTATE_MAX_MEMBERS];
	uint8_t keep[CT_TRACESTATE_MAX_MEMBERS];
	size_t n = 0, total = 0, pos = 0;

	if (!ts)
		return -EINVAL;
	ct_tracestate_init(ts);
	if (!value)
		return len ? CT_EFORMAT : 0;
	while (pos <= len) {
		const char *s = value + pos, *comma = memchr(s, ',', len - pos);
		size_t mlen = comma ? (size_t)(comma - s) : len - pos;
		const char *eq;

		pos += mlen + 1;
		/* 3.3.1.1: OWS around list members is ignored; empty members are allowed. */
		while (mlen && is_ows(s[0])) {
			s++;
			mlen--;
		}
		while (mlen && is_ows(s[mlen - 1]))
			mlen--;
		if (!mlen)
			continue;
		/* 3.3.1.2: at most 32 list members; one more makes the header invalid. */
		if (n == CT_TRACESTATE_MAX_MEMBERS)
			return CT_EFORMAT;
		eq = memchr(s, '=', mlen);
		if (!eq)
			return CT_EFORMAT;
		m[n].key = s;
		m[n].klen = (size_t)(eq - s);
		m[n].val = eq + 1;
		m[n].vlen = mlen - m[n].klen - 1;
		if (!valid_key(m[n].key, m[n].klen) || !valid_value(m[n].val, m[n].vlen))
			return CT_EFORMAT;
		/* 3.3.1.4: only one entry per key. */
		for (size_t j = 0; j < n; j++)
			if (m[j].klen == m[n].klen && !memcmp(m[j].key, m[n].key, m[n].klen))
				return CT_EFORMAT;
		keep[n] = 1;
		total += stored_size(m[n].klen, m[n].vlen);
		n++;
	}
	/*
	 * The header is valid. 3.3.1.5: when it does not fit, truncate whole entries, the long
	 * ones first, then from the end. Whatever fits the 1 KB storage is at least the 512
	 * characters the spec asks to propagate.
	 */
	for (size_t i = n; i-- > 0 && total > CAP;) {
		if (m[i].klen + 1 + m[i].vlen > LONG_ENTRY) {
			keep[i] = 0;
			total -= stored_size(m[i].klen, m[i].vlen);
		}
	}
	for (size_t i = n; i-- > 0 && total > CAP;) {
		if (keep[i]) {
			keep[i] = 0;
			total -= stored_size(m[i].klen, m[i].vlen);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (keep[i])
			insert_at(ts, ts->n, m[i].key, m[i].klen, m[i].val, m[i].vlen);
	return 0;
}

int ct_tracestate_format(const struct ct_tracestate *ts, char *buf, size_t size)
{
	size_t len = 0;

	if (!ts || !buf)
		return -EINVAL;
	for (size_t i = 0; i < ts->n; i++)
		len += (i ? 1 : 0) + member_klen(ts, i) + 1 + member_vlen(ts, i);
	if (len + 1 > size) {
		if (size)
			buf[0] = '\0';
		return CT_ETOOBIG;
	}
	len = 0;
	for (size_t i = 0; i < ts->n; i++) {
		size_t kl = member_klen(ts, i), vl = member_vlen(ts, i);

		if (i)
			buf[len++] = ',';
		memcpy(buf + len, ts->buf + ts->key_off[i], kl);
		len += kl;
		buf[len++] = '=';
		memcpy(buf + len, ts->buf + ts->val_off[i], vl);
		len += vl;
	}
	buf[len] = '\0';
	return (int)len;
}

int ct_tracestate_set(struct ct_tracestate *ts, const char *key, const char *value)
{
	size_t klen, vlen, need;
	int old;

	if (!ts || !key || !value)
		return CT_EFORMAT;
	/* Bounded scans: anything longer than the grammar allows is rejected anyway. */
	klen = strnlen(key, CT_TRACESTATE_MAX_KEY + 1);
	vlen = strnlen(value, CT_TRACESTATE_MAX_VALUE + 1);
	if (!valid_key(key, klen) || !valid_value(value, vlen))
		return CT_EFORMAT;
	/* 3.5: an updated key is moved to the front; a new one is added at the front. */
	old = find(ts, key, klen);
	if (old >= 0)
		remove_at(ts, (size_t)old);
	else if (ts->n == CT_TRACESTATE_MAX_MEMBERS)
		remove_at(ts, ts->n - 1u);
	/* 3.3.1.5 truncation to make room: long entries first (from the end), then the end. */
	need = stored_size(klen, vlen);
	for (size_t i = ts->n; i-- > 0 && ts->used + need > CAP;)
		if (member_klen(ts, i) + 1 + member_vlen(ts, i) > LONG_ENTRY)
			remove_at(ts, i);
	while (ts->n && ts->used + need > CAP)
		remove_at(ts, ts->n - 1u);
	insert_at(ts, 0, key, klen, value, vlen);
	return 0;
}

const char *ct_tracestate_get(const struct ct_tracestate *ts, const char *key)
{
	int i;

	if (!ts || !key)
		return NULL;
	i = find(ts, key, strlen(key));
	return i < 0 ? NULL : ts->buf + ts->val_off[i];
}

int ct_tracestate_delete(struct ct_tracestate *ts, const char *key)
{
	int i;

	if (!ts || !key)
		return -ENOENT;
	i = find(ts, key, strlen(key));
	if (i < 0)
		return -ENOENT;
	remove_at(ts, (size_t)i);
	return 0;
}

size_t ct_tracestate_count(const struct ct_tracestate *ts)
{
	return ts ? ts->n : 0;
}

int ct_tracestate_member(const struct ct_tracestate *ts, size_t i, const char **key,
			 const char **value)
{
	if (!ts || i >= ts->n)
		return -ERANGE;
	if (key)
		*key = ts->buf + ts->key_off[i];
	if (value)
		*value = ts->buf + ts->val_off[i];
	return 0;
}
