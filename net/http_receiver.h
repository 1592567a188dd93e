/* SPDX-License-Identifier: MIT */
/*
 * The HTTP span receivers: OTLP/HTTP (POST /v1/traces, application/x-protobuf or
 * application/json, gzip or identity, with or without Content-Length) and Zipkin v2 (POST
 * /api/v2/spans, application/json), served by libmicrohttpd on 127.0.0.1 (by default). Each
 * request is decoded and handed to a sink; the answer follows the OTLP/HTTP specification:
 * 200 + ExportTraceServiceResponse (with partial_success when spans were rejected), 400
 * malformed, 413 over the body limit, 415 wrong content type or encoding, 408 too slow, 503
 * + Retry-After when the sink is full; bodies of 4xx/5xx are google.rpc.Status messages.
 * Every refused or abandoned request is logged with its reason; other clients keep being served.
 */
#ifndef CT_NET_HTTP_RECEIVER_H
#define CT_NET_HTTP_RECEIVER_H

#include <stddef.h>
#include <stdint.h>

#include "span_model.h"

struct ct_receiver;

/*
 * Receives a decoded batch and owns it from then on, whatever it returns (it frees it with
 * ct_nbatch_free). Called on a receiver thread. Returns 0, or CT_EFULL when it cannot take
 * more now: the client gets 503 with Retry-After and sends again later.
 */
typedef int (*ct_receiver_sink_fn)(void *arg, struct ct_nbatch *b);

/*
 * Asked on a receiver thread when a request's body is complete, before it is gunzipped and
 * decoded: whether the sink would take a batch now. Returns 0 to go on, or CT_EFULL to have the
 * request answered 503 + Retry-After, as when the sink refuses, but without decoding it: under
 * overload nothing is spent on requests that are refused anyway. The body has been read, so the
 * connection stays open for the client's next request. bytes: the body's size as received
 * (compressed when gzip). Must be cheap and must not block. A 0 that turns out wrong is harmless
 * (the sink still refuses); a CT_EFULL costs the client a retry.
 */
typedef int (*ct_receiver_admit_fn)(void *arg, size_t bytes);

/* One line per refused/abandoned request or problem; no newline. Called on receiver threads. */
typedef void (*ct_receiver_log_fn)(void *arg, const char *line);

struct ct_receiver_opts {
	const char *bind; /* IPv4 address; NULL = "127.0.0.1" */
	int otlp_port; /* 0 = any free port; -1 = no OTLP listener */
	int zipkin_port; /* 0 = any free port; -1 = no Zipkin listener */
	size_t max_body; /* bytes as sent (compressed); 0 = 4 MiB */
	size_t max_decoded; /* bytes after gunzip; 0 = 4 * max_body */
	unsigned body_timeout_ms; /* whole request body within this; 0 = 10 s */
	unsigned idle_timeout_s; /* connection silent this long is closed; 0 = 15 s */
	unsigned threads; /* per listener; 0 = 1 */
	ct_receiver_sink_fn sink;
	void *sink_arg;
	ct_receiver_admit_fn admit; /* NULL: every complete body is decoded */
	void *admit_arg;
	ct_receiver_log_fn log; /* NULL: stderr */
	void *log_arg;
};

struct ct_receiver_stats {
	uint64_t requests; /* answered 2xx */
	uint64_t spans; /* handed to the sink */
	uint64_t rejected_spans; /* left out by decoders (partial success) */
	uint64_t bytes; /* request bodies received */
	uint64_t malformed; /* 400 */
	uint64_t too_large; /* 413 */
	uint64_t bad_type; /* 415 */
	uint64_t too_slow; /* 408 */
	uint64_t not_found; /* 404 / 405 */
	uint64_t busy; /* 503 */
	uint64_t busy_undecoded; /* of busy: refused by admit, before decoding */
	uint64_t aborted; /* client vanished mid-request, or idle timeout */
};

/*
 * Starts the listeners (threads of their own). Returns 0; -EADDRINUSE / -EACCES / -EINVAL
 * with a sentence in err naming the address and the remedy.
 */
int ct_receiver_start(struct ct_receiver **out, const struct ct_receiver_opts *o, char *err,
		      size_t errlen);

/* The bound ports (useful with port 0); -1 when that listener is off. */
int ct_receiver_otlp_port(const struct ct_receiver *r);
int ct_receiver_zipkin_port(const struct ct_receiver *r);

/* A consistent-enough snapshot (each counter atomic). Thread-safe. */
void ct_receiver_stats(const struct ct_receiver *r, struct ct_receiver_stats *st);

/* Stops listening, ends connections, frees r (NULL accepted). Not from a sink call. */
void ct_receiver_stop(struct ct_receiver *r);

#endif
