/* SPDX-License-Identifier: MIT */
/*
 * OTLP/HTTP protobuf: decoding an ExportTraceServiceRequest into the span model, encoding
 * the model back (for the exporter), and the small response messages (partial success,
 * google.rpc.Status). Pure: no I/O, thread-safe, every input bounded (fuzzed).
 */
#ifndef CT_NET_OTLP_PROTO_H
#define CT_NET_OTLP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "span_model.h"
#include "util/buf.h"

/* Deepest nesting of AnyValue arrays / kvlists accepted (deeper: the request is malformed). */
#define CT_OTLP_MAX_DEPTH 32

/*
 * Decodes an ExportTraceServiceRequest from p[0..len). On success returns 0 with a new batch
 * in *out (caller frees): spans with invalid ids are left out and counted in ->rejected.
 * Returns CT_EFORMAT with a reason in err when the bytes are not such a message (nothing
 * allocated), -ENOMEM.
 */
int ct_otlp_proto_decode(const uint8_t *p, size_t len, struct ct_nbatch **out, char *err,
			 size_t errlen);

/* ct_otlp_proto_decode with protobuf-c only, without the fast path: for tests comparing them. */
int ct__otlp_proto_decode_pbc(const uint8_t *p, size_t len, struct ct_nbatch **out, char *err,
			      size_t errlen);

/*
 * Appends to out the ExportTraceServiceRequest encoding of spans idx[0..n) of b (all spans
 * when idx is NULL, n ignored), one ResourceSpans per resource and scope used. Appending two
 * encodings gives one valid request holding both. Returns 0, -ENOMEM, CT_EFORMAT when an
 * ARRAY/KVLIST value does not hold valid JSON.
 */
int ct_otlp_proto_encode(const struct ct_nbatch *b, const uint32_t *idx, uint32_t n,
			 struct ct_buf *out);

/* Appends an ExportTraceServiceResponse (partial_success only when rejected > 0). */
void ct_otlp_proto_response(struct ct_buf *out, uint64_t rejected, const char *msg);

/*
 * Parses an ExportTraceServiceResponse: *rejected and msg (may be NULL) get its partial
 * success. Returns 0 or CT_EFORMAT.
 */
int ct_otlp_proto_parse_response(const uint8_t *p, size_t len, int64_t *rejected, char *msg,
				 size_t msglen);

/* Appends a google.rpc.Status {code, message}: the body of OTLP/HTTP error responses. */
void ct_rpc_status_proto(struct ct_buf *out, int code, const char *message);

#endif
