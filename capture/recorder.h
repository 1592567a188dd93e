/* SPDX-License-Identifier: MIT */
/*
 * The recorder behind `crosstrace record`: it owns a trace directory, a kernel backend and
 * the client listener, starts or attaches to the traced processes, and runs the drain loop
 * that moves kernel records (through one reorder window per CPU) and client records into the
 * trace directory's chunks, ticking rotation and reporting losses. Not thread-safe: one
 * thread creates, runs and finishes a recorder.
 */
#ifndef CT_CAPTURE_RECORDER_H
#define CT_CAPTURE_RECORDER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "kbackend.h"

struct ct_recorder_opts {
	const char *out_dir; /* trace directory to create */
	uint64_t rotate_ns; /* 0: no time rotation */
	uint64_t rotate_bytes; /* 0: no size rotation */
	size_t ring_bytes; /* kernel buffer size; 0: backend default */
	enum ct_kbackend_kind backend; /* AUTO: BPF, else perf (the reason is kept) */
	int no_statedump;
	int no_clients; /* do not listen for libcrosstrace clients */
	int verbose;
	/* Kernel events only of threads inside sampled spans (BPF; see kbackend.h). Clients
	 * register their thread context through the client socket. */
	int only_in_spans;
	uint64_t reorder_ns; /* reorder window; 0: 20 ms */
	char *const *command; /* for the manifest: argv of the command, or NULL */

	/* For long-running use (crosstrace agent); all optional. */
	const char *tool; /* the manifest's "tool"; NULL: "crosstrace record" */
	const char *client_socket; /* listen there rather than in a private temporary dir */
	uint64_t grace_ns; /* the trace directory's grace period; 0: its default */
	unsigned max_chunks; /* retention (format/tracedir.h); 0: keep all */
	uint64_t max_bytes;
	void (*on_chunk)(void *arg, const char *what, unsigned index, const char *chunk_dir);
	/* Called every round in place of ct_tracedir_tick, which it must call (directly or
	 * through ct_foreign_tick) with now_ns. Returns 0 or a write error. */
	int (*tick)(void *arg, uint64_t now_ns);
	/* Called once before the trace directory is closed, for last writes. */
	int (*flush)(void *arg);
	void *hook_arg; /* for on_chunk, tick and flush */
	/* Messages (one line, no newline); NULL: stderr with "crosstrace record: " before. */
	void (*log)(void *arg, const char *line);
	void *log_arg;
};

struct ct_recorder;

/*
 * Checks privileges, creates the trace directory, opens the backend (falling back to perf
 * under AUTO when BPF cannot load; ct_recorder_fallback gives the reason) and the client
 * socket. Returns 0, or a negative code with a user-facing message in err.
 */
int ct_recorder_new(struct ct_recorder **out, const struct ct_recorder_opts *o, char *err,
		    size_t errlen);

/* The backend in use ("bpf", "perf"), and why BPF was not used under AUTO (NULL if it was). */
const char *ct_recorder_backend(const struct ct_recorder *r);
const char *ct_recorder_fallback(const struct ct_recorder *r);

/*
 * Starts argv[0] (resolved in PATH) traced from its first instruction, with
 * CROSSTRACE_OUTPUT pointing at the client socket. Returns 0 with *pid set, or a negative
 * code with a message in err ("command not found: ...").
 */
int ct_recorder_spawn(struct ct_recorder *r, char *const argv[], pid_t *pid, char *err,
		      size_t errlen);

/* Traces the running process pid and its descendants. Returns 0 or a negative code (err). */
int ct_recorder_attach(struct ct_recorder *r, pid_t pid, char *err, size_t errlen);

/*
 * Records until the spawned command has exited (and been reaped), every attached process is
 * gone, or *stop becomes non-zero (set it from a signal handler). Returns 0, or a negative
 * code when the trace directory cannot be written (recording stops; what was written stays).
 */
int ct_recorder_run(struct ct_recorder *r, volatile sig_atomic_t *stop);

/*
 * One round of the drain loop, for callers that run their own loop: waits up to timeout_ms
 * for kernel records, client data or an fd added with ct_recorder_add_fd (not at all while a
 * backlog is being read), then drains, serves clients and ticks. Returns 0, or a negative code
 * when the trace directory cannot be written.
 */
int ct_recorder_poll(struct ct_recorder *r, int timeout_ms);

/* Makes fd (readable: the caller has work) end ct_recorder_poll's wait. Returns 0 or -errno. */
int ct_recorder_add_fd(struct ct_recorder *r, int fd);

/*
 * Starts tracing the running process pid (and, with tree, its descendants) unless it is
 * traced already, with a state dump of what was added. Unlike ct_recorder_attach the
 * recording does not end when they exit. Returns the number of processes added, or a
 * negative code (-ESRCH: no such process) with a message in err.
 */
int ct_recorder_watch(struct ct_recorder *r, pid_t pid, int tree, char *err, size_t errlen);

/* Whether pid is traced now. */
int ct_recorder_traces(struct ct_recorder *r, pid_t pid);

/* The trace directory being written (owned by the recorder; valid until finish). */
struct ct_tracedir *ct_recorder_tracedir(struct ct_recorder *r);

/* The client socket's path, or NULL without one. */
const char *ct_recorder_client_socket(const struct ct_recorder *r);

struct ct_recorder_stats {
	uint64_t kernel_records; /* delivered by the backend */
	uint64_t kernel_lost; /* lost in the kernel or for want of memory */
	uint64_t client_records, client_lost;
	unsigned client_connections, client_open;
	uint64_t events; /* written to the trace directory */
	unsigned processes_added; /* by attach / watch */
};

/* Counters as of the last round. Owner thread only. */
void ct_recorder_stats(const struct ct_recorder *r, struct ct_recorder_stats *st);

/* The spawned command's wait status, or -1 when it has not exited. */
int ct_recorder_child_status(const struct ct_recorder *r);

/*
 * Drains everything still buffered (kernel, reorder windows, clients), writes the final
 * manifest with status ("complete", "interrupted") and closes the trace directory. Returns 0
 * or the first write error.
 */
int ct_recorder_finish(struct ct_recorder *r, const char *status);

/* Prints what was captured: events by type, client records, drops, chunks, output path. */
void ct_recorder_summary(const struct ct_recorder *r, FILE *f);

/* Frees r (NULL accepted); kills a spawned child that was never released. */
void ct_recorder_free(struct ct_recorder *r);

#endif
