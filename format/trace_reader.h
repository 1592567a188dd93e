/* SPDX-License-Identifier: MIT */
/*
 * Reading a trace directory: the manifest and its chunk list (ct_trace), and the events of one
 * chunk merged from all its streams in timestamp order (ct_chunk_reader). Damage is reported,
 * never fatal for the rest: a corrupt or truncated stream ends at the damage with a message
 * naming the file and offset, and the other streams and chunks still read. A missing or
 * unreadable manifest falls back to listing chunks/.
 */
#ifndef CT_FORMAT_TRACE_READER_H
#define CT_FORMAT_TRACE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* Receives every problem met while reading (one line, no newline). Optional. */
typedef void (*ct_read_error_fn)(void *arg, int code, const char *message);

struct ct_chunk_meta {
	unsigned index;
	char dir[4096]; /* absolute or relative to the cwd: usable with ct_chunk_reader_open */
	int complete; /* sealed by the writer (per the manifest) */
	uint64_t begin_ns, end_ns; /* end_ns UINT64_MAX when unknown */
	int64_t clock_offset_ns; /* realtime - monotonic at chunk start */
	uint64_t events; /* per the manifest; 0 when unknown */
	uint64_t lost; /* events counted lost in this chunk (all kinds) */
	int in_manifest; /* 0 when found only by listing chunks/ */
};

struct ct_trace;

/*
 * Opens the trace directory at path. Returns 0, or a negative code with a message in errbuf
 * when path is not a trace directory. Problems that do not stop reading (manifest missing,
 * a chunk listed but absent) go to on_error.
 */
int ct_trace_open(struct ct_trace **out, const char *path, ct_read_error_fn on_error, void *arg,
		  char *errbuf, size_t errlen);

unsigned ct_trace_chunk_count(const struct ct_trace *t);
/* Chunks in index order. */
const struct ct_chunk_meta *ct_trace_chunk(const struct ct_trace *t, unsigned i);

/* Manifest facts (empty strings / 0 when unknown). */
const char *ct_trace_hostname(const struct ct_trace *t);
const char *ct_trace_status(const struct ct_trace *t);
/* Total lost events of a kind in the manifest ("kernel_events", "client_records", ...). */
uint64_t ct_trace_lost(const struct ct_trace *t, const char *what);
/* The raw JSON text of the manifest, or NULL. */
const char *ct_trace_manifest_json(const struct ct_trace *t);

void ct_trace_close(struct ct_trace *t);

struct ct_chunk_reader;

/*
 * Opens the chunk in dir: reads its metadata (format version, UUID, clock offset) and every
 * stream file. Returns 0, or a negative code with the reason in errbuf (metadata missing or
 * not crosstrace's, newer format version).
 */
int ct_chunk_reader_open(struct ct_chunk_reader **out, const char *dir, ct_read_error_fn on_error,
			 void *arg, char *errbuf, size_t errlen);

/*
 * The next event of the chunk in timestamp order (ties: stream order, then file order).
 * Returns 1 with *ev filled (strings valid until the reader is closed), 0 at the end.
 * Corrupt data is reported through on_error and skipped; it is never returned.
 */
int ct_chunk_reader_next(struct ct_chunk_reader *r, struct ct_event *ev);

unsigned ct_chunk_reader_stream_count(const struct ct_chunk_reader *r);
const char *ct_chunk_reader_stream_name(const struct ct_chunk_reader *r, unsigned stream);
int64_t ct_chunk_reader_clock_offset(const struct ct_chunk_reader *r);
/* Errors met so far, and events discarded by producers per the streams' packet headers. */
uint64_t ct_chunk_reader_errors(const struct ct_chunk_reader *r);
uint64_t ct_chunk_reader_discarded(const struct ct_chunk_reader *r);

void ct_chunk_reader_close(struct ct_chunk_reader *r);

#endif
