// SPDX-License-Identifier: MIT
/*
 * Durations and sizes as users type them on command lines and in config files ("250ms",
 * "1.5s", "256M"), one parser for every command so that they all accept the same words.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

int ct_parse_duration(const char *s, uint64_t *ns)
{
	char *end;
	double v, mul;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || v < 0 || errno)
		return -1;
	if (!*end || !strcmp(end, "s"))
		mul = 1e9;
	else if (!strcmp(end, "ms"))
		mul = 1e6;
	else if (!strcmp(end, "us"))
		mul = 1e3;
	else if (!strcmp(end, "ns"))
		mul = 1;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		mul = 60e9;
	else if (!strcmp(end, "h"))
		mul = 3600e9;
	else
		return -1;
	if (v * mul > 1e19)
		return -1;
	*ns = (uint64_t)(v * mul);
	return 0;
}

int ct_parse_size(const char *s, uint64_t *bytes)
{
	char *end;
	double v, mul = 1;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || v < 0 || errno)
		return -1;
	switch (*end) {
	case 0:
		break;
	case 'k':
	case 'K':
		mul = 1024.0;
		end++;
		break;
	case 'm':
	case 'M':
		mul = 1024.0 * 1024;
		end++;
		break;
	case 'g':
	case 'G':
		mul = 1024.0 * 1024 * 1024;
		end++;
		break;
	default:
		return -1;
	}
	if (*end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v * mul > 1e19)
		return -1;
	*bytes = (uint64_t)(v * mul);
	return 0;
}
