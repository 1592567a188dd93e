/* SPDX-License-Identifier: MIT */
/*
 * OTLP/HTTP protobuf exporter: spans of the span model go to any OpenTelemetry backend
 * (Collector, Jaeger, Tempo, another crosstrace) from a thread of its own. Submitting encodes
 * the spans at once and queues the bytes: the queue is bounded (spans and bytes) and what does
 * not fit is dropped and counted, so a submitter never waits for the network. The sender
 * batches, retries 429/502/503/504 and connection failures with exponential back-off (or the
 * server's Retry-After), gives up on a batch after a bounded time, and counts every outcome.
 * Annotations are attributes of the spans (crosstrace.*), added to the model before submitting.
 */
#ifndef CT_NET_OTLP_EXPORTER_H
#define CT_NET_OTLP_EXPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "span_model.h"

struct ct_otlp_exporter;

struct ct_otlp_exporter_opts {
	const char *endpoint; /* full URL, e.g. http://127.0.0.1:4318/v1/traces */
	size_t max_queue_spans; /* 0 = 8192 */
	size_t max_queue_bytes; /* encoded bytes; 0 = 16 MiB */
	uint32_t max_batch_spans; /* per request; 0 = 512 */
	unsigned batch_delay_ms; /* wait this long to fill a batch; 0 = 200 */
	unsigned timeout_ms; /* per request; 0 = 10000 */
	unsigned initial_backoff_ms; /* 0 = 100 */
	unsigned max_backoff_ms; /* 0 = 5000 */
	unsigned max_elapsed_ms; /* a batch is dropped after retrying this long; 0 = 30000 */
	int gzip; /* compress request bodies */
	void (*log)(void *arg, const char *line); /* NULL: stderr */
	void *log_arg;
};

struct ct_otlp_exporter_stats {
	uint64_t submitted; /* spans offered */
	uint64_t exported; /* spans the endpoint accepted */
	uint64_t rejected; /* spans the endpoint refused in a partial success */
	uint64_t dropped_queue_full; /* spans refused at submit: queue full */
	uint64_t dropped_failed; /* spans given up: retries exhausted or a non-retryable answer */
	uint64_t dropped_shutdown; /* spans still queued when the exporter was freed */
	uint64_t requests; /* HTTP requests attempted */
	uint64_t retries;
	uint64_t queued_spans, queued_bytes; /* now, including the batch in flight */
	uint64_t max_queued_bytes; /* high-water mark */
	int last_status; /* HTTP status of the last answer; 0 none; -1 connection failure */
};

/* Starts the sender thread. Returns 0, -EINVAL (no endpoint), -ENOMEM; message in err. */
int ct_otlp_exporter_new(struct ct_otlp_exporter **out, const struct ct_otlp_exporter_opts *o,
			 char *err, size_t errlen);

/*
 * Queues spans idx[0..n) of b (all when idx is NULL). b is borrowed: it is encoded before
 * returning. Thread-safe, never blocks on the network. Returns 0, CT_EFULL when the queue
 * was full (the spans are dropped and counted), CT_EFORMAT when a value cannot be encoded.
 */
int ct_otlp_exporter_submit(struct ct_otlp_exporter *ex, const struct ct_nbatch *b,
			    const uint32_t *idx, uint32_t n);

/* Waits until everything queued was sent or given up, at most timeout_ms. Returns 0 or
 * -ETIMEDOUT. Thread-safe. */
int ct_otlp_exporter_flush(struct ct_otlp_exporter *ex, unsigned timeout_ms);

void ct_otlp_exporter_stats(struct ct_otlp_exporter *ex, struct ct_otlp_exporter_stats *st);

/* Stops the sender (an attempt in progress ends within its timeout) and frees ex; spans
 * still queued are counted in dropped_shutdown and logged. NULL accepted. */
void ct_otlp_exporter_free(struct ct_otlp_exporter *ex);

#endif
