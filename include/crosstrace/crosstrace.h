/* SPDX-License-Identifier: MIT */
/*
 * libcrosstrace: the crosstrace client library.
 *
 * Applications create spans (OpenTelemetry data model), propagate W3C Trace Context, and mark
 * which span is active on which thread. Every record is stamped with CLOCK_MONOTONIC ns and the
 * OS thread id so that crosstrace can join it with what the kernel did for that thread.
 *
 * Conventions for every function below:
 * - Functions that can fail return int: >= 0 on success, a negative code on failure
 *   (a negated errno value or one of CT_E*); ct_strerror() turns any code into a sentence.
 * - Strings passed in are borrowed for the duration of the call only; the library copies what
 *   it keeps. Nothing returned must be freed unless the function says so.
 * - The span, scope and attribute functions are thread-safe, never block, never allocate and
 *   never make a system call (they write into the calling thread's own ring buffer; when it
 *   is full the record is dropped and counted). They are not async-signal-safe.
 */
#ifndef CROSSTRACE_H
#define CROSSTRACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility; what this header declares is its ABI. */
#pragma GCC visibility push(default)

#define CT_VERSION_MAJOR 0
#define CT_VERSION_MINOR 1
#define CT_VERSION_PATCH 0
#define CT_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------------------------------- */
/* Errors                                                                                    */

/*
 * crosstrace's own error codes, beyond errno. XX(name, value, message).
 * Values stay clear of errno's range so that both can share one int.
 */
#define CT_ERRNO_MAP(XX)                                                         \
	XX(EFORMAT, 4001, "malformed input")                                     \
	XX(ETRUNC, 4002, "input is truncated")                                   \
	XX(EVERSION, 4003, "unsupported format version")                         \
	XX(ENOTINIT, 4004, "crosstrace is not initialised (call ct_init first)") \
	XX(EFULL, 4005, "buffer is full")                                        \
	XX(ETOOBIG, 4006, "value exceeds its size limit")                        \
	XX(ENOTSAMPLED, 4007, "span is not sampled")                             \
	XX(EBACKEND, 4008, "the kernel tracing backend is unavailable")          \
	XX(ESTATE, 4009, "operation not valid in the current state")

enum {
#define CT_ERR_ENUM(name, val, msg) CT_##name = -(val),
	CT_ERRNO_MAP(CT_ERR_ENUM)
#undef CT_ERR_ENUM
};

/*
 * A sentence describing err (a negative errno value or a CT_E* code). The returned string is
 * static; never NULL. Thread-safe.
 */
const char *ct_strerror(int err);

/* ---------------------------------------------------------------------------------------- */
/* Span context (W3C Trace Context)                                                          */

#define CT_TRACE_FLAG_SAMPLED 0x01

/*
 * The part of a span that crosses process boundaries. Plain value type: copy freely.
 * A context is valid when trace_id and span_id are not all zero.
 */
struct ct_span_context {
	uint8_t trace_id[16]; /* big-endian, as printed in traceparent */
	uint8_t span_id[8]; /* big-endian, as printed in traceparent */
	uint8_t trace_flags; /* CT_TRACE_FLAG_* */
	uint8_t is_remote; /* 1 when extracted from a carrier */
};

/* 1 when ctx has a non-zero trace id and span id, else 0. NULL gives 0. */
int ct_span_context_is_valid(const struct ct_span_context *ctx);

/* Length of a traceparent header value, version 00, without the terminating NUL. */
#define CT_TRACEPARENT_LEN 55

/*
 * Writes ctx as a version-00 traceparent ("00-<32 hex>-<16 hex>-<2 hex>") into buf, which
 * must hold at least CT_TRACEPARENT_LEN + 1 bytes. Only the flags version 00 defines (sampled)
 * are written; the others are sent as zero, as W3C 3.2.2.5.2 requires. Returns
 * CT_TRACEPARENT_LEN, -EINVAL when ctx is invalid or buf NULL, CT_ETOOBIG when size is too
 * small (nothing is written then). Thread-safe, async-signal-safe.
 */
int ct_traceparent_format(const struct ct_span_context *ctx, char *buf, size_t size);

/*
 * Parses a traceparent header value of len bytes (need not be NUL-terminated) following the
 * W3C Trace Context Level 1 rules: lower-case hex only, version ff rejected, version 00 exactly
 * 55 characters, a higher version may carry extra '-'-separated fields (not interpreted),
 * all-zero ids rejected, leading/trailing spaces and tabs (HTTP OWS) ignored. Only the sampled
 * flag is kept in trace_flags. On success fills *out (with is_remote = 1) and returns 0; on
 * failure returns CT_EFORMAT and leaves *out untouched. Thread-safe, async-signal-safe.
 */
int ct_traceparent_parse(const char *value, size_t len, struct ct_span_context *out);

/* W3C tracestate: at most 32 list members, kept in order (most recent first). */
#define CT_TRACESTATE_MAX_MEMBERS 32
#define CT_TRACESTATE_MAX_KEY 256
#define CT_TRACESTATE_MAX_VALUE 256

/*
 * A parsed tracestate. Caller-allocated value type (about 1 KB of inline storage: no heap);
 * fields are private. Initialise with ct_tracestate_init() or ct_tracestate_parse().
 */
struct ct_tracestate {
	uint16_t n; /* private */
	uint16_t used; /* private */
	uint16_t key_off[CT_TRACESTATE_MAX_MEMBERS]; /* private */
	uint16_t val_off[CT_TRACESTATE_MAX_MEMBERS]; /* private */
	char buf[1024]; /* private */
};

void ct_tracestate_init(struct ct_tracestate *ts);

/*
 * Parses a tracestate header value of len bytes. Per the W3C rules the whole header is
 * discarded when any list member is invalid, a key repeats, or there are more than 32
 * members; empty members (",,") and optional whitespace are allowed (and not counted). A
 * valid header whose members need more than the inline storage (1 KB: always at least the
 * 512 characters W3C asks to propagate) is truncated by whole entries as W3C 3.3.1.5 says:
 * entries over 128 characters first, then from the end. Returns 0 on success; CT_EFORMAT
 * when the value is invalid, in which case *ts is left empty (initialised); -EINVAL when ts
 * is NULL. The mutators below follow W3C 3.5. No function here allocates, locks or makes a
 * system call; a ct_tracestate is not thread-safe (one owner, or copy it).
 */
int ct_tracestate_parse(const char *value, size_t len, struct ct_tracestate *ts);

/*
 * Writes ts as a header value into buf (NUL-terminated), without optional whitespace. Returns
 * the length written, CT_ETOOBIG when buf is too small (buf then holds ""; 1024 bytes always
 * suffice, as the list lives in 1 KB), -EINVAL when ts or buf is NULL.
 */
int ct_tracestate_format(const struct ct_tracestate *ts, char *buf, size_t size);

/*
 * Adds or updates key=value and moves it to the front, as the W3C mutation rules require.
 * When the list already holds 32 members the last one is removed; when the storage is full,
 * entries are removed as in ct_tracestate_parse (never the new one). Returns 0, or CT_EFORMAT
 * when key or value breaks the grammar (ts is unchanged then).
 */
int ct_tracestate_set(struct ct_tracestate *ts, const char *key, const char *value);

/* The value of key, or NULL. The pointer is valid until ts is next modified. */
const char *ct_tracestate_get(const struct ct_tracestate *ts, const char *key);

/* Removes key. Returns 0, or -ENOENT when absent. */
int ct_tracestate_delete(struct ct_tracestate *ts, const char *key);

/* Number of members, and the i-th member (0 = front). Returns 0 or -ERANGE. */
size_t ct_tracestate_count(const struct ct_tracestate *ts);
int ct_tracestate_member(const struct ct_tracestate *ts, size_t i, const char **key,
			 const char **value);

/* W3C Baggage: at most 64 members and 8192 bytes serialised. */
#define CT_BAGGAGE_MAX_MEMBERS 64
#define CT_BAGGAGE_MAX_BYTES 8192

/*
 * A parsed baggage (caller-allocated, inline storage, fields private). Members keep their
 * order; a key may repeat in a received header (all copies are kept and propagated). No
 * function here allocates, locks or makes a system call; a ct_baggage is not thread-safe.
 */
struct ct_baggage {
	uint16_t n; /* private */
	uint16_t used; /* private */
	uint16_t key_off[CT_BAGGAGE_MAX_MEMBERS]; /* private */
	uint16_t val_off[CT_BAGGAGE_MAX_MEMBERS]; /* private */
	uint16_t prop_off[CT_BAGGAGE_MAX_MEMBERS]; /* private: properties, raw, or 0xffff */
	char buf[CT_BAGGAGE_MAX_BYTES + 1024]; /* private */
};

void ct_baggage_init(struct ct_baggage *bg);

/*
 * Parses a baggage header value: values are percent-decoded, properties kept verbatim.
 * Invalid members (bad key or value characters, bad percent-encoding, %00, a value that does
 * not decode to UTF-8, malformed properties) are skipped (per the W3C Baggage spec a receiver
 * may drop them). Returns the number of members kept, or CT_EFORMAT when the value is not
 * empty and no member of it is valid, or CT_ETOOBIG when it exceeds the limits (the members
 * that end within the first 8192 bytes, up to 64, are kept); -EINVAL when bg is NULL.
 */
int ct_baggage_parse(const char *value, size_t len, struct ct_baggage *bg);

/* Serialises bg (values percent-encoded). Returns the length, or CT_ETOOBIG. */
int ct_baggage_format(const struct ct_baggage *bg, char *buf, size_t size);

/*
 * Sets key to value (raw UTF-8; encoded when formatted). An existing key keeps its position,
 * loses its properties and its repeated copies. Returns 0, CT_EFORMAT when key is not an HTTP
 * token or value not UTF-8, CT_ETOOBIG when the result would exceed 64 members or 8192 bytes
 * serialised (bg is unchanged after an error).
 */
int ct_baggage_set(struct ct_baggage *bg, const char *key, const char *value);
/* The decoded value of key (the last copy when a key repeats, as OpenTelemetry does), or NULL. */
const char *ct_baggage_get(const struct ct_baggage *bg, const char *key);
/* Removes every copy of key. Returns 0, or -ENOENT when absent. */
int ct_baggage_delete(struct ct_baggage *bg, const char *key);
size_t ct_baggage_count(const struct ct_baggage *bg);
int ct_baggage_member(const struct ct_baggage *bg, size_t i, const char **key, const char **value);

/*
 * Carrier access for inject/extract (HTTP headers, message properties...). Keys passed to
 * the callbacks are lower-case header names ("traceparent", "tracestate", "baggage").
 * get returns a borrowed value and its length, or NULL when absent.
 */
typedef const char *(*ct_carrier_get_fn)(void *carrier, const char *key, size_t *len);
typedef void (*ct_carrier_set_fn)(void *carrier, const char *key, const char *value);

/*
 * Writes traceparent (and tracestate when ts is non-NULL and not empty) for ctx into the
 * carrier. Returns 0, or -EINVAL when ctx is invalid (nothing written).
 */
int ct_context_inject(const struct ct_span_context *ctx, const struct ct_tracestate *ts,
		      ct_carrier_set_fn set, void *carrier);

/*
 * Reads traceparent (and tracestate into *ts when ts is non-NULL) from the carrier.
 * Returns 0 with *ctx filled, or CT_EFORMAT/-ENOENT when there is no valid traceparent
 * (a tracestate without a valid traceparent is ignored, as the W3C rules say; *ts is then
 * empty). An invalid tracestate leaves *ts empty and does not affect the result.
 */
int ct_context_extract(ct_carrier_get_fn get, void *carrier, struct ct_span_context *ctx,
		       struct ct_tracestate *ts);

/* Writes bg as the "baggage" header when it has members. Returns 0, -EINVAL, CT_ETOOBIG. */
int ct_baggage_inject(const struct ct_baggage *bg, ct_carrier_set_fn set, void *carrier);

/*
 * Reads the "baggage" header into *bg (always initialised). Returns what ct_baggage_parse
 * returns, or -ENOENT when the carrier has none.
 */
int ct_baggage_extract(ct_carrier_get_fn get, void *carrier, struct ct_baggage *bg);

/* ---------------------------------------------------------------------------------------- */
/* Samplers                                                                                  */

enum ct_sampler_kind {
	CT_SAMPLER_ALWAYS_ON = 0,
	CT_SAMPLER_ALWAYS_OFF,
	CT_SAMPLER_TRACEID_RATIO, /* arg: probability 0..1 */
	CT_SAMPLER_PARENTBASED_ALWAYS_ON, /* the OpenTelemetry default */
	CT_SAMPLER_PARENTBASED_ALWAYS_OFF,
	CT_SAMPLER_PARENTBASED_TRACEID_RATIO, /* arg: probability 0..1 */
	CT_SAMPLER_RATE_LIMITED, /* arg: root traces per second */
	CT_SAMPLER_PARENTBASED_RATE_LIMITED, /* arg: root traces per second */
};

/*
 * A sampler's configuration and state. Caller-allocated; fields private. Thread-safe once
 * initialised (the rate limiter uses atomics, no lock).
 */
struct ct_sampler {
	int kind; /* private */
	double arg; /* private */
	uint64_t threshold; /* private: ratio samplers compare the trace id against it */
	uint64_t interval_ns; /* private: rate limiter, ns between admissions (1e9 / rate) */
	uint64_t tolerance_ns; /* private: rate limiter, burst allowance in ns */
	uint64_t tat; /* private: rate limiter, theoretical arrival time (ns, now_ns's clock) */
};

/*
 * Initialises s. Returns 0, or -EINVAL when kind is unknown or arg is out of range
 * (ratio outside [0, 1] or NaN, rate negative or NaN). The rate limiter admits arg new traces
 * per second with a burst of max(1, arg) (its bucket starts full). Not thread-safe against
 * concurrent use of s.
 */
int ct_sampler_init(struct ct_sampler *s, enum ct_sampler_kind kind, double arg);

/*
 * Parses OTEL_TRACES_SAMPLER-style names ("always_on", "parentbased_traceidratio", ...,
 * and crosstrace's "ratelimited", "parentbased_ratelimited") into *kind. Returns 0 or
 * -EINVAL.
 */
int ct_sampler_kind_parse(const char *name, enum ct_sampler_kind *kind);

/*
 * Decides for a new span in trace trace_id whose parent is parent (NULL or invalid for a
 * root span). Ratio decisions depend only on the trace id (so every service of a trace
 * decides alike): the lower 56 bits of the trace id, as the OpenTelemetry
 * TraceIdRatioBased sampler recommends. now_ns is CLOCK_MONOTONIC, used by the rate limiter.
 * parentbased_* follow a valid parent's sampled flag (remote or local) and use the inner
 * sampler for roots. Plain ratelimited takes a token for roots and remote parents (each trace
 * entering the process) and follows a local parent. Returns 1 to sample, 0 to drop.
 * Thread-safe, lock-free, no allocation or system call.
 */
int ct_sampler_should_sample(struct ct_sampler *s, const uint8_t trace_id[16],
			     const struct ct_span_context *parent, uint64_t now_ns);

/* ---------------------------------------------------------------------------------------- */
/* Tracer                                                                                    */

/*
 * Tracer configuration. Zero-initialise, or fill from the environment with
 * ct_config_from_env(), then override what the code wants.
 */
struct ct_config {
	const char *service_name; /* OTEL_SERVICE_NAME; default: program name */
	const char *resource_attrs; /* OTEL_RESOURCE_ATTRIBUTES: "k=v,k2=v2" */
	enum ct_sampler_kind sampler; /* OTEL_TRACES_SAMPLER; default parentbased_always_on */
	double sampler_arg; /* OTEL_TRACES_SAMPLER_ARG */
	/*
	 * CROSSTRACE_OUTPUT: a trace directory path (the library writes chunks itself), or
	 * "unix:PATH" to stream records to a crosstrace recorder/agent listening on PATH.
	 * NULL: spans are created (context, propagation) but not recorded.
	 */
	const char *output;
	size_t ring_bytes; /* CROSSTRACE_RING_BYTES: per thread; default 1 MiB */
	uint32_t flush_ms; /* CROSSTRACE_FLUSH_MS: drain period; default 20 */
	uint64_t rotate_bytes; /* CROSSTRACE_ROTATE_BYTES: chunk size limit; 0 = none */
	uint64_t rotate_ms; /* CROSSTRACE_ROTATE_MS: chunk time limit; 0 = none */
};

/*
 * Fills *cfg from the environment (unset variables give defaults). The strings point into
 * the environment and stay valid as long as it is not modified. Returns 0, or -EINVAL when
 * a variable has an invalid value (*cfg then holds defaults for that field and the message
 * is printed nowhere: call ct_strerror).
 */
int ct_config_from_env(struct ct_config *cfg);

/*
 * Starts the process-wide tracer. cfg NULL means ct_config_from_env(). Creates the output
 * and the background drain thread, and registers an atexit flush. Returns 0; -EALREADY when
 * already started; -EINVAL for a bad config; a negative errno when the output cannot be
 * created (nothing is left running then). Not thread-safe against itself or ct_shutdown.
 */
int ct_init(const struct ct_config *cfg);

/*
 * Flushes every thread's ring, finishes the trace (manifest with drop counters) and stops
 * the drain thread. Spans started later are not recorded. Returns 0 or the first error met
 * while writing. Safe to call twice. Not thread-safe against ct_init.
 */
int ct_shutdown(void);

/* Asks the drain thread to write out everything recorded so far, and waits for it. */
int ct_flush(void);

struct ct_stats {
	uint64_t records; /* records written to rings */
	uint64_t dropped; /* records dropped because a ring was full */
	uint64_t dropped_bytes; /* their size */
	uint64_t spans_started; /* sampled spans started */
	uint64_t spans_unsampled; /* spans not sampled (not recorded) */
	uint64_t threads; /* threads that ever called into the library */
	uint64_t truncated; /* names, keys or values cut to CT_MAX_NAME / CT_MAX_STRING */
	uint64_t scope_overflow; /* ct_scope_enter calls beyond CT_MAX_SCOPE_DEPTH (ignored) */
	uint64_t sink_dropped; /* records lost after leaving their ring (output unreachable) */
};

/* Snapshot of the counters (summed over threads; approximate while threads run). */
void ct_stats_get(struct ct_stats *st);

/* ---------------------------------------------------------------------------------------- */
/* Spans                                                                                     */

enum ct_span_kind {
	CT_SPAN_KIND_UNSPECIFIED = 0,
	CT_SPAN_KIND_INTERNAL = 1,
	CT_SPAN_KIND_SERVER = 2,
	CT_SPAN_KIND_CLIENT = 3,
	CT_SPAN_KIND_PRODUCER = 4,
	CT_SPAN_KIND_CONSUMER = 5,
}; /* values as in OTLP */

enum ct_status_code {
	CT_STATUS_UNSET = 0,
	CT_STATUS_OK = 1,
	CT_STATUS_ERROR = 2,
}; /* values as in OTLP */

enum ct_attr_type {
	CT_ATTR_STRING = 1,
	CT_ATTR_INT = 2,
	CT_ATTR_DOUBLE = 3,
	CT_ATTR_BOOL = 4,
};

/* One attribute. Borrowed for the duration of the call that receives it. */
struct ct_attr {
	const char *key;
	enum ct_attr_type type;
	union {
		const char *s;
		int64_t i;
		double d;
		int b;
	} v;
};

#define CT_ATTR_STR(k, x) ((struct ct_attr){.key = (k), .type = CT_ATTR_STRING, .v.s = (x)})
#define CT_ATTR_I64(k, x) ((struct ct_attr){.key = (k), .type = CT_ATTR_INT, .v.i = (x)})
#define CT_ATTR_F64(k, x) ((struct ct_attr){.key = (k), .type = CT_ATTR_DOUBLE, .v.d = (x)})
#define CT_ATTR_BOOL(k, x) ((struct ct_attr){.key = (k), .type = CT_ATTR_BOOL, .v.b = (x)})

/* Limits applied when recording; longer values are truncated and the truncation counted. */
#define CT_MAX_NAME 255
#define CT_MAX_STRING 1023

/*
 * A span handle. Caller-allocated and small: put it on the stack or in a request struct.
 * All fields are private; only ct_span_context_of() reads the context. A span may be ended
 * on another thread than the one that started it.
 */
struct ct_span {
	struct ct_span_context ctx; /* private */
	uint8_t parent_id[8]; /* private */
	uint32_t state; /* private: started / ended / unsampled */
	uint32_t n_events; /* private: events added so far (for event attributes) */
	uint64_t generation; /* private: tracer generation (fork, re-init) */
};

/* Options for ct_span_start. Zero-initialise; every field is optional. */
struct ct_span_opts {
	enum ct_span_kind kind;
	/* Explicit parent (local or remote). NULL: the calling thread's current span. */
	const struct ct_span_context *parent;
	int root; /* 1: start a new trace, ignoring any current span */
	uint64_t start_ns; /* CLOCK_MONOTONIC ns; 0 = now */
	const struct ct_attr *attrs;
	size_t n_attrs;
};

/*
 * Starts a span named name (truncated to CT_MAX_NAME bytes) as a child of opts->parent, of the
 * calling thread's current span, or as a root (new trace id), and asks the sampler. The span
 * is not made current: use ct_scope_enter for that. Returns 0 when the span is sampled and
 * recorded, CT_ENOTSAMPLED when it is not sampled (span is still valid: its context
 * propagates with the sampled flag clear, and the other calls on it are cheap no-ops),
 * CT_ENOTINIT before ct_init (span gets a valid, unsampled context). Never fails otherwise:
 * a full ring drops the record and counts it.
 */
int ct_span_start(struct ct_span *span, const char *name, const struct ct_span_opts *opts);

/* The span's context (for propagation or as an explicit parent). */
const struct ct_span_context *ct_span_context_of(const struct ct_span *span);

/* Adds one attribute. A later value for the same key replaces the earlier one. */
void ct_span_set_attr(struct ct_span *span, const struct ct_attr *attr);
void ct_span_set_str(struct ct_span *span, const char *key, const char *value);
void ct_span_set_int(struct ct_span *span, const char *key, int64_t value);
void ct_span_set_double(struct ct_span *span, const char *key, double value);
void ct_span_set_bool(struct ct_span *span, const char *key, int value);

/* Adds a timestamped event (time_ns 0 = now) with n_attrs attributes. */
void ct_span_add_event(struct ct_span *span, const char *name, uint64_t time_ns,
		       const struct ct_attr *attrs, size_t n_attrs);

/*
 * Adds a link to another span's context (fork/join causality, batch consumers).
 * Links are recorded after start, which OpenTelemetry also allows.
 */
void ct_span_add_link(struct ct_span *span, const struct ct_span_context *linked,
		      const struct ct_attr *attrs, size_t n_attrs);

/* Sets the status; message is kept only for CT_STATUS_ERROR, as OpenTelemetry says. */
void ct_span_set_status(struct ct_span *span, enum ct_status_code code, const char *message);

/*
 * Ends the span now, or at end_ns (CLOCK_MONOTONIC). Calls on an ended or unsampled span are
 * ignored. ct_span_end is also a macro that makes that test inline, so that ending an
 * unsampled span costs no call into the library; (ct_span_end)(span) and &ct_span_end name
 * the function.
 */
void ct_span_end(struct ct_span *span);
void ct_span_end_at(struct ct_span *span, uint64_t end_ns);

/* Private, part of the ABI: span->state & 3 is 1 while a sampled span records. */
static inline void ct__span_end_if_recording(struct ct_span *span)
{
#if defined(__GNUC__) || defined(__clang__)
	if ((__atomic_load_n(&span->state, __ATOMIC_RELAXED) & 3u) != 1u)
		return;
#endif
	(ct_span_end)(span);
}
#define ct_span_end(span) ct__span_end_if_recording(span)

/* ---------------------------------------------------------------------------------------- */
/* Scopes: which span is current on which thread                                             */

/* Maximum nesting of scopes on one thread; deeper enters are counted and ignored. */
#define CT_MAX_SCOPE_DEPTH 64

/*
 * Makes span the calling thread's current span until the matching ct_scope_exit on this
 * thread. Nestable. Records an activation event, so that kernel activity of this thread is
 * attributed to span from now on, even when span was started on another thread.
 */
void ct_scope_enter(const struct ct_span *span);

/* Undoes the innermost ct_scope_enter of this thread (records a deactivation event). */
void ct_scope_exit(void);

/*
 * The calling thread's current span context, or NULL when none. Valid until the next scope
 * call on this thread.
 */
const struct ct_span_context *ct_current_context(void);

/* ---------------------------------------------------------------------------------------- */
/* Time                                                                                      */

/* CLOCK_MONOTONIC in ns (vDSO, no system call). */
uint64_t ct_now_ns(void);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* CROSSTRACE_H */
