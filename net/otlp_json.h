/* SPDX-License-Identifier: MIT */
/*
 * OTLP/HTTP JSON: decoding an ExportTraceServiceRequest in the OTLP JSON mapping (camelCase
 * keys, hex trace/span ids, 64-bit integers as decimal strings or numbers, enums as integers)
 * into the span model, and the JSON forms of the responses. Pure: no I/O, thread-safe.
 */
#ifndef CT_NET_OTLP_JSON_H
#define CT_NET_OTLP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "span_model.h"
#include "util/buf.h"

/*
 * Decodes p[0..len). Returns 0 with a new batch in *out (caller frees; spans with invalid ids
 * or times are left out and counted in ->rejected), CT_EFORMAT with the reason in err when
 * the text is not JSON or its structure is not a request (nothing allocated), -ENOMEM.
 * Unknown keys are ignored, as the mapping requires.
 */
int ct_otlp_json_decode(const char *p, size_t len, struct ct_nbatch **out, char *err,
			size_t errlen);

/* Appends an ExportTraceServiceResponse in JSON (partialSuccess only when rejected > 0). */
void ct_otlp_json_response(struct ct_buf *out, uint64_t rejected, const char *msg);

/* Appends a google.rpc.Status {code, message} in JSON. */
void ct_rpc_status_json(struct ct_buf *out, int code, const char *message);

#endif
