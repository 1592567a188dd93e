/* SPDX-License-Identifier: MIT */
/*
 * Received spans as one JSON object per line, for people and tests: ids in hex, times as
 * decimal strings of Unix ns (exact in any JSON reader), attributes as a JSON object whose
 * values keep their type (arrays/kvlists as their JSON, bytes as base64 strings). Not thread-safe
 * per buffer; pure.
 */
#ifndef CT_NET_SPAN_DUMP_H
#define CT_NET_SPAN_DUMP_H

#include "span_model.h"
#include "util/buf.h"

/* Appends span s of b as one JSON object and a newline to out. */
void ct_span_dump_json(struct ct_buf *out, const struct ct_nbatch *b, const struct ct_nspan *s);

#endif
