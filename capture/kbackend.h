/* SPDX-License-Identifier: MIT */
/*
 * The kernel backends behind one interface: BPF (ring buffer, in-kernel tree filter) and
 * perf_event_open (tracepoints, per-task inherited events). A backend delivers events in
 * event.def layout, per CPU and in roughly timestamp order, to a sink; the recorder reorders
 * and writes them. Not thread-safe: one owner thread drives a backend.
 */
#ifndef CT_CAPTURE_KBACKEND_H
#define CT_CAPTURE_KBACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where events go. Both callbacks run inside ct_kbackend_drain. */
struct ct_ksink {
	/* One event (payload borrowed for the call only). */
	void (*event)(void *arg, unsigned cpu, uint16_t type, uint64_t ts, int32_t pid, int32_t tid,
		      const void *payload, size_t len);
	/* n events of cpu lost near ts (ring full); cpu UINT32_MAX when unknown. */
	void (*lost)(void *arg, unsigned cpu, uint64_t ts, uint64_t n);
	void *arg;
};

enum ct_kbackend_kind {
	CT_KBACKEND_AUTO = 0,
	CT_KBACKEND_BPF = 1,
	CT_KBACKEND_PERF = 2,
};

struct ct_kbackend_opts {
	size_t ring_bytes; /* kernel buffer: BPF ring size, or per-CPU perf buffer; 0 = default */
	int verbose; /* print libbpf / setup diagnostics to stderr */
	/*
	 * Span-aware filtering (BPF only): syscall and block events only of threads inside a
	 * sampled span, scheduler events only when a thread on either side is; each thread's
	 * span is read from its thread context record, registered per process with
	 * ct_kbackend_set_thread_ctx. Kept events are tagged (SPAN_TAG). See
	 * docs/internals/threadctx.md.
	 */
	int only_in_spans;
};

/* What a backend counted itself (all cumulative). */
struct ct_kbackend_stats {
	uint64_t ring_bytes; /* kernel buffer in use: the BPF ring, or each CPU's perf buffer */
	uint64_t records; /* records delivered to the sink */
	uint64_t lost; /* records the kernel could not store, all CPUs */
	uint64_t malformed; /* records that could not be decoded (skipped, counted as lost) */
	uint64_t untraced_children; /* processes the filter could not follow (map full) */
	/* Lost records per kind when the backend knows it (BPF): per event type - 64, and per
	 * syscall number for syscall entry / exit. NULL when unknown. */
	const uint64_t *lost_by_type; /* [32] */
	const uint64_t *lost_sys_entry, *lost_sys_exit; /* [CT_KNR_MAX] */
	/* only_in_spans: events left out on purpose (not losses), and processes registered */
	uint64_t span_outside; /* syscall / block events: the thread was inside no sampled span */
	uint64_t span_no_ctx; /* syscall / block events: the process registered no thread context */
	uint64_t span_sched; /* switches and wake-ups with no thread inside a sampled span */
	unsigned span_processes; /* registrations accepted by ct_kbackend_set_thread_ctx */
};

struct ct_kbackend;

/*
 * Opens a backend of the given kind (not AUTO) and arms it: nothing is traced until a
 * process is added. Returns 0, or a negative code with a message in err that names what
 * failed and the remedy (permissions, BTF, tracefs). *out is freed with ct_kbackend_free.
 */
int ct_kbackend_open(struct ct_kbackend **out, enum ct_kbackend_kind kind,
		     const struct ct_kbackend_opts *o, const struct ct_ksink *sink, char *err,
		     size_t errlen);

/* "bpf" or "perf". */
const char *ct_kbackend_name(const struct ct_kbackend *b);

/*
 * Traces the running process tgid and the processes it creates from now on (perf: each of
 * its current threads, with inherited events). Returns 0 or a negative code (err filled).
 */
int ct_kbackend_add_process(struct ct_kbackend *b, pid_t tgid, char *err, size_t errlen);

/*
 * Spawning a traced command: call spawn_begin before fork() and spawn_end after it, with the
 * child held before exec. The BPF backend follows the child from its first instruction (the
 * filter adds it at fork); the perf backend attaches to it in spawn_end.
 */
int ct_kbackend_spawn_begin(struct ct_kbackend *b, char *err, size_t errlen);
int ct_kbackend_spawn_end(struct ct_kbackend *b, pid_t child, char *err, size_t errlen);

/*
 * Where the threads of process tgid publish their current span (from its THREAD_CTX frame:
 * record address - thread pointer, layout version and size, ts = when the client sent it),
 * for the span filter. Returns 0 when the filter now reads the process's records, 1 when the
 * registration changes nothing (already known, or sent by the image the process replaced
 * with exec before ts), or a negative code with the reason in err: -ENOTSUP when the backend
 * has no span filter (perf) or does not read that layout version, -EINVAL without
 * only_in_spans, or a map update error.
 */
int ct_kbackend_set_thread_ctx(struct ct_kbackend *b, pid_t tgid, int64_t offset, uint32_t version,
			       uint32_t size, uint64_t ts, char *err, size_t errlen);

/* A file descriptor that becomes readable when records are waiting (for poll/epoll). */
int ct_kbackend_fd(const struct ct_kbackend *b);

/*
 * Delivers the records available now to the sink, at most about budget of them (0: no
 * limit). *more is set when records were left in the kernel buffer (budget reached), so that
 * the caller knows the buffer was not seen empty. Returns the count, or a negative code.
 */
int ct_kbackend_drain(struct ct_kbackend *b, unsigned budget, int *more);

/*
 * Reads the loss counters (reporting new losses through the sink's lost callback) and fills
 * st. Call after drain; ts is the time to stamp new losses with.
 */
void ct_kbackend_stats(struct ct_kbackend *b, uint64_t ts, struct ct_kbackend_stats *st);

/* Whether tgid is still traced (not yet gone). */
int ct_kbackend_traces(struct ct_kbackend *b, pid_t tgid);

/* How many traced processes are still alive (attach mode ends when none is). */
int ct_kbackend_alive(struct ct_kbackend *b);

/*
 * Stops producing records (detaches from the tracepoints); what is buffered can still be
 * drained and the loss counters read. Used before the final drain so that it ends.
 */
void ct_kbackend_stop(struct ct_kbackend *b);

/* Detaches everything and frees b (NULL accepted). */
void ct_kbackend_free(struct ct_kbackend *b);

/* ---- for the implementations (backend_bpf.c, backend_perf.c) ---- */

struct ct_kbackend_ops {
	const char *name;
	int (*add_process)(struct ct_kbackend *b, pid_t tgid, char *err, size_t errlen);
	int (*spawn_begin)(struct ct_kbackend *b, char *err, size_t errlen);
	int (*spawn_end)(struct ct_kbackend *b, pid_t child, char *err, size_t errlen);
	/* NULL: no span filter */
	int (*set_thread_ctx)(struct ct_kbackend *b, pid_t tgid, int64_t offset, uint32_t version,
			      uint32_t size, uint64_t ts, char *err, size_t errlen);
	int (*fd)(const struct ct_kbackend *b);
	int (*drain)(struct ct_kbackend *b, unsigned budget, int *more);
	void (*stats)(struct ct_kbackend *b, uint64_t ts, struct ct_kbackend_stats *st);
	int (*traces)(struct ct_kbackend *b, pid_t tgid);
	int (*alive)(struct ct_kbackend *b);
	void (*stop)(struct ct_kbackend *b);
	void (*free)(struct ct_kbackend *b);
};

/* The first member of every backend. */
struct ct_kbackend {
	const struct ct_kbackend_ops *ops;
	struct ct_ksink sink;
};

/* Constructors of the implementations; -ENOTSUP when built without that backend. */
int ct__kbackend_bpf_open(struct ct_kbackend **out, const struct ct_kbackend_opts *o,
			  const struct ct_ksink *sink, char *err, size_t errlen);
int ct__kbackend_perf_open(struct ct_kbackend **out, const struct ct_kbackend_opts *o,
			   const struct ct_ksink *sink, char *err, size_t errlen);

#endif
