/* SPDX-License-Identifier: MIT */
/*
 * A streaming JSON writer into a ct_buf: the caller opens and closes containers and the
 * writer places commas, escapes strings (invalid UTF-8 bytes become U+FFFD) and formats
 * numbers so that doubles round-trip. Misuse (a value where a key is due) is a programming
 * error caught by assert. Not thread-safe; the caller owns both structs.
 */
#ifndef CT_UTIL_JSONW_H
#define CT_UTIL_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define CT_JSONW_MAX_DEPTH 64

struct ct_jsonw {
	struct ct_buf *out;
	int pretty; /* indent with two spaces per level */
	int depth;
	uint8_t count[CT_JSONW_MAX_DEPTH]; /* 0: container empty so far; 1: has members */
	uint8_t is_obj[CT_JSONW_MAX_DEPTH];
	uint8_t after_key;
};

void ct_jsonw_init(struct ct_jsonw *w, struct ct_buf *out, int pretty);
void ct_jsonw_obj_begin(struct ct_jsonw *w);
void ct_jsonw_obj_end(struct ct_jsonw *w);
void ct_jsonw_arr_begin(struct ct_jsonw *w);
void ct_jsonw_arr_end(struct ct_jsonw *w);
void ct_jsonw_key(struct ct_jsonw *w, const char *key);
void ct_jsonw_str(struct ct_jsonw *w, const char *s);
void ct_jsonw_strn(struct ct_jsonw *w, const char *s, size_t n);
void ct_jsonw_int(struct ct_jsonw *w, int64_t v);
void ct_jsonw_uint(struct ct_jsonw *w, uint64_t v);
/* Non-finite values are written as null (JSON has no NaN). */
void ct_jsonw_double(struct ct_jsonw *w, double v);
void ct_jsonw_bool(struct ct_jsonw *w, int v);
void ct_jsonw_null(struct ct_jsonw *w);
/* A value already in JSON form (the caller vouches for it). */
void ct_jsonw_raw(struct ct_jsonw *w, const char *json);

/* Shorthands for "key": value members. */
void ct_jsonw_kstr(struct ct_jsonw *w, const char *key, const char *s);
void ct_jsonw_kint(struct ct_jsonw *w, const char *key, int64_t v);
void ct_jsonw_kuint(struct ct_jsonw *w, const char *key, uint64_t v);
void ct_jsonw_kdouble(struct ct_jsonw *w, const char *key, double v);
void ct_jsonw_kbool(struct ct_jsonw *w, const char *key, int v);

/* Appends the JSON string escape of s[0..n) (without quotes) to b. */
void ct_json_escape(struct ct_buf *b, const char *s, size_t n);

#endif
