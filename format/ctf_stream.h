/* SPDX-License-Identifier: MIT */
/*
 * One CTF stream file: the writer packs events into packets and writes each packet with one
 * write(2), so a crash leaves at most one torn packet at the end; the reader maps the file,
 * validates every packet and decodes events, naming the file and byte offset of anything
 * wrong. Neither is thread-safe: one owner each.
 */
#ifndef CT_FORMAT_CTF_STREAM_H
#define CT_FORMAT_CTF_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct ct_stream_writer;

/*
 * Prepares a writer for the file path (created on the first packet, so an empty stream leaves
 * no file). uuid: the chunk's trace UUID. cpu_id: CT_CTF_NO_CPU for non-CPU streams.
 * packet_bytes: target packet size (64 KiB when 0). Returns 0 or -ENOMEM; *out owned by the
 * caller, released with ct_stream_writer_close.
 */
int ct_stream_writer_new(struct ct_stream_writer **out, const char *path, const uint8_t uuid[16],
			 uint32_t cpu_id, size_t packet_bytes);

/*
 * Appends an event whose payload (len bytes, already in event.def layout) follows the header.
 * Timestamps must not decrease within a stream: an earlier ts returns -EINVAL and nothing is
 * written. Returns 0; CT_ETOOBIG for a payload over CT_CTF_MAX_PAYLOAD; a negative errno when
 * a packet cannot be written (the events of that packet are counted as discarded).
 */
int ct_stream_writer_append(struct ct_stream_writer *w, uint16_t id, uint64_t ts, int32_t pid,
			    int32_t tid, const void *payload, size_t len);

/*
 * Appends the events of run[0..len) (a run: format/event.h), all at ts, pid, tid, as that many
 * calls of ct_stream_writer_append would. Returns 0 or the first of their errors; *n_ok and
 * *bytes_ok (CTF headers included) get the events whose call would have returned 0.
 */
int ct_stream_writer_append_run(struct ct_stream_writer *w, uint64_t ts, int32_t pid, int32_t tid,
				const void *run, size_t len, uint64_t *n_ok, uint64_t *bytes_ok);

/* Adds n to the stream's discarded-events counter (reported in the next packet). */
void ct_stream_writer_discarded(struct ct_stream_writer *w, uint64_t n);

/* Writes the pending packet. Returns 0 or a negative errno. */
int ct_stream_writer_flush(struct ct_stream_writer *w);

struct ct_stream_stats {
	uint64_t events; /* events written to the file */
	uint64_t bytes; /* file size */
	uint64_t discarded; /* events counted as discarded (by producers or by write errors) */
	uint64_t ts_first, ts_last;
};

void ct_stream_writer_stats(const struct ct_stream_writer *w, struct ct_stream_stats *st);

/* Flushes, closes and frees w (NULL accepted). Returns the flush result. */
int ct_stream_writer_close(struct ct_stream_writer *w);
/* Same, and gives the final statistics of the file. */
int ct_stream_writer_close_stats(struct ct_stream_writer *w, struct ct_stream_stats *st);

struct ct_stream_reader;

/*
 * Maps the stream file at path. expected_uuid: when non-NULL, packets with another UUID are
 * rejected. Returns 0, or a negative errno when the file cannot be opened (message in errbuf).
 */
int ct_stream_reader_open(struct ct_stream_reader **out, const char *path,
			  const uint8_t *expected_uuid, char *errbuf, size_t errlen);

/*
 * Decodes the next event into *ev (strings point into the mapping, valid until close). An
 * event type this version does not know comes back with type CT_EV_NONE (header only).
 * Returns 1 with an event, 0 at the end, or a negative code for corrupt data with a message
 * naming the file and offset (ct_stream_reader_error). After an error inside a packet whose
 * framing is sound, the next call resumes at the following packet; after a broken packet
 * header the stream ends.
 */
int ct_stream_reader_next(struct ct_stream_reader *r, struct ct_event *ev);

/* The last error message ("" when none). */
const char *ct_stream_reader_error(const struct ct_stream_reader *r);

/* cpu_id of the stream's packets, discarded count of the last packet read. */
uint32_t ct_stream_reader_cpu(const struct ct_stream_reader *r);
uint64_t ct_stream_reader_discarded(const struct ct_stream_reader *r);

void ct_stream_reader_close(struct ct_stream_reader *r);

#endif
