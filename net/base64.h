/* SPDX-License-Identifier: MIT */
/*
 * Base64 (RFC 4648), as the OTLP JSON mapping uses for bytes values. Decoding accepts the
 * standard and the URL-safe alphabets, with or without padding. Pure functions, thread-safe.
 */
#ifndef CT_NET_BASE64_H
#define CT_NET_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Bytes ct_base64_encode writes for n input bytes, including the NUL. */
static inline size_t ct_base64_encoded_size(size_t n)
{
	return (n + 2) / 3 * 4 + 1;
}

/* Writes the padded standard encoding of p[0..n) and a NUL into out. Returns its length. */
size_t ct_base64_encode(char *out, const uint8_t *p, size_t n);

/*
 * Decodes s[0..len) into out (room for len * 3 / 4 bytes). Returns the number of bytes, or
 * CT_EFORMAT on a character outside the alphabet or a misplaced '='.
 */
int ct_base64_decode(uint8_t *out, const char *s, size_t len);

#endif
