/* SPDX-License-Identifier: MIT */
/*
 * Zipkin v2 JSON (POST /api/v2/spans): a JSON array of spans with µs times and hex ids,
 * mapped into the span model: one resource per localEndpoint.serviceName, kind from "kind",
 * tags as string attributes, annotations as events, "shared" and remoteEndpoint as
 * attributes, the "error" tag as an error status. Pure: no I/O, thread-safe.
 */
#ifndef CT_NET_ZIPKIN_JSON_H
#define CT_NET_ZIPKIN_JSON_H

#include <stddef.h>

#include "span_model.h"

/*
 * Decodes p[0..len). Returns 0 with a new batch in *out (caller frees; spans with invalid ids
 * or no timestamp are left out and counted in ->rejected), CT_EFORMAT with the reason in err
 * when the text is not a JSON array of objects, -ENOMEM.
 */
int ct_zipkin_json_decode(const char *p, size_t len, struct ct_nbatch **out, char *err,
			  size_t errlen);

#endif
