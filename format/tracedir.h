/* SPDX-License-Identifier: MIT */
/*
 * Writing a trace directory: trace.json (the manifest) and chunks/NNNNNN/, each chunk a
 * self-contained CTF 1.8 trace. Producers append events to logical streams (one per CPU, one
 * per client thread, ...); the writer routes each event by its timestamp to the chunk that
 * covers it, rotates by size or time, and keeps a rotated chunk open for a grace period so
 * that events still in flight (in a client ring, in the kernel ring) land in the right chunk.
 * Invariant for readers: every event of chunk k has begin_k <= ts < end_k. An event older than
 * every open chunk is dropped and counted as "late"; nothing is dropped uncounted.
 *
 * Not thread-safe: one thread (a drain loop) owns a tracedir and its streams.
 */
#ifndef CT_FORMAT_TRACEDIR_H
#define CT_FORMAT_TRACEDIR_H

#include <stddef.h>
#include <stdint.h>

struct ct_tracedir;
struct ct_tdstream;

struct ct_tracedir_opts {
	const char *path; /* the directory; created, must not hold a trace already */
	uint64_t rotate_bytes; /* rotate when the current chunk reaches this size; 0 = never */
	uint64_t rotate_ns; /* rotate when the current chunk is this old; 0 = never */
	uint64_t grace_ns; /* a rotated chunk accepts late events this long; 0 = 1 s */
	size_t packet_bytes; /* CTF packet size; 0 = 64 KiB */
	const char *tool; /* who writes: "crosstrace record", "libcrosstrace", ... */
	/*
	 * Told about each chunk once it is sealed (what "sealed": complete on disk and in the
	 * manifest) and when retention removes it (what "removed"). Optional.
	 */
	void (*on_chunk)(void *arg, const char *what, unsigned index, const char *chunk_dir);
	void *on_chunk_arg;
	/* Flight-recorder: keep only the newest max_chunks sealed chunks (0 = keep all). */
	unsigned max_chunks;
	uint64_t max_bytes; /* likewise by total size of sealed chunks; 0 = no limit */
};

/*
 * Creates the directory (and parents) and the first chunk, and writes an initial manifest.
 * Returns 0; -EEXIST when path already holds a trace.json or chunks; -EACCES/-EROFS/... when
 * it cannot be created (message in errbuf naming the path).
 */
int ct_tracedir_create(struct ct_tracedir **out, const struct ct_tracedir_opts *opts, char *errbuf,
		       size_t errlen);

/*
 * The logical stream named name (a file name: [A-Za-z0-9_.-], at most 63 bytes), created on
 * first use. cpu_id: the CPU of a kernel stream, or CT_CTF_NO_CPU. The handle stays valid
 * until ct_tracedir_close. Returns 0, -EINVAL for a bad name, -ENOMEM.
 */
int ct_tracedir_stream(struct ct_tracedir *td, const char *name, uint32_t cpu_id,
		       struct ct_tdstream **out);

/*
 * Appends one event (payload in event.def layout). Timestamps must not decrease within a
 * stream; an event that breaks this, or that is older than every open chunk, is dropped and
 * counted ("out_of_order" / "late" in the manifest). Returns 0 when written, 1 when dropped
 * and counted, or a negative errno when the chunk cannot be written (the event is counted as
 * discarded).
 */
int ct_tdstream_append(struct ct_tdstream *s, uint16_t id, uint64_t ts, int32_t pid, int32_t tid,
		       const void *payload, size_t len);

/*
 * Appends the events of run[0..len) (a run: format/event.h), all at ts, pid, tid: the same as
 * appending each in turn, with one look-up of the chunk. Returns 0 when all were written, 1
 * when they were dropped and counted, or the first negative errno (each event that could not
 * be written is counted as discarded; the others are written).
 */
int ct_tdstream_append_run(struct ct_tdstream *s, uint64_t ts, int32_t pid, int32_t tid,
			   const void *run, size_t len);

/*
 * Counts n events of this stream that producers lost near time ts (ns, CLOCK_MONOTONIC): they
 * appear in the chunk's CTF events_discarded counter and in the manifest under what
 * ("kernel_events", "client_records", ...).
 */
void ct_tdstream_lost(struct ct_tdstream *s, const char *what, uint64_t ts, uint64_t n);

/*
 * Housekeeping, to be called regularly (every drain period) with the current CLOCK_MONOTONIC
 * time: rotates when due, seals chunks whose grace period is over, rewrites the manifest
 * when something changed. Returns 0 or the first write error.
 */
int ct_tracedir_tick(struct ct_tracedir *td, uint64_t now_ns);

/* Rotates now (the new chunk starts at now_ns). Returns 0 or a negative errno. */
int ct_tracedir_rotate(struct ct_tracedir *td, uint64_t now_ns);

/*
 * Adds a member to the manifest's "recording" object: key with a JSON value (the caller
 * vouches it is valid JSON). A later call with the same key replaces it. Returns 0 or -ENOMEM.
 */
int ct_tracedir_set_info(struct ct_tracedir *td, const char *key, const char *json);

struct ct_tracedir_stats {
	uint64_t events; /* events written */
	uint64_t bytes; /* bytes written in chunks */
	uint64_t lost; /* events counted lost by producers */
	uint64_t late; /* events dropped as older than every open chunk */
	uint64_t out_of_order;
	uint64_t write_errors; /* events discarded because a write failed */
	unsigned chunks; /* chunks created so far */
	unsigned removed; /* chunks removed by max_chunks / max_bytes */
};

void ct_tracedir_stats(const struct ct_tracedir *td, struct ct_tracedir_stats *st);

/* The trace directory's path. */
const char *ct_tracedir_path(const struct ct_tracedir *td);

/*
 * Seals every chunk, writes the final manifest with status (e.g. "complete",
 * "interrupted") and frees td (NULL accepted). Returns 0 or the first error met.
 */
int ct_tracedir_close(struct ct_tracedir *td, const char *status);

#endif
