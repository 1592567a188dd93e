/* SPDX-License-Identifier: MIT */
/*
 * Durations and sizes as users write them: "30s", "500ms", "250us", "2m", "1h" (a bare number
 * is seconds); "64K", "256M", "1G" (powers of 1024, an optional trailing B or iB; a bare
 * number is bytes). Pure functions, thread-safe.
 */
#ifndef CT_UTIL_UNITS_H
#define CT_UTIL_UNITS_H

#include <stdint.h>

/* Parses s into *ns. Returns 0, or -1 (nothing written) when s is not a duration. */
int ct_parse_duration(const char *s, uint64_t *ns);

/* Parses s into *bytes. Returns 0, or -1 (nothing written) when s is not a size. */
int ct_parse_size(const char *s, uint64_t *bytes);

#endif
