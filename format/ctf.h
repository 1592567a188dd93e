/* SPDX-License-Identifier: MIT */
/*
 * CTF 1.8 layout of crosstrace streams: the TSDL metadata of a chunk and the fixed binary
 * framing of packets and events that the metadata describes. Everything is little-endian and
 * byte-aligned, so a stream can be written with memcpy and read without a TSDL parser.
 *
 *   packet: header (24 bytes) | context (52 bytes) | events ...
 *   event:  id u16 | timestamp u64 | pid s32 | tid s32 | size u16 | payload (event.def)
 *
 * The payload size in every event lets a reader skip event types it does not know (a trace
 * from a newer crosstrace) and check that each payload decodes to exactly its size.
 */
#ifndef CT_FORMAT_CTF_H
#define CT_FORMAT_CTF_H

#include <stdint.h>

#include "util/buf.h"

#define CT_CTF_MAGIC 0xC1FC1FC1u
#define CT_CTF_PACKET_HEADER_SIZE 24 /* magic, uuid[16], stream_id */
#define CT_CTF_PACKET_CONTEXT_SIZE 52
#define CT_CTF_PACKET_PREFIX (CT_CTF_PACKET_HEADER_SIZE + CT_CTF_PACKET_CONTEXT_SIZE)
#define CT_CTF_EVENT_HEADER_SIZE 20 /* id, timestamp, pid, tid, size */
/* Largest payload one event may carry. */
#define CT_CTF_MAX_PAYLOAD 65000
/* cpu_id of streams that do not belong to a CPU (client streams). */
#define CT_CTF_NO_CPU 0xffffffffu

/* Offsets within the packet prefix. */
#define CT_CTF_OFF_MAGIC 0
#define CT_CTF_OFF_UUID 4
#define CT_CTF_OFF_STREAM_ID 20
#define CT_CTF_OFF_TS_BEGIN 24
#define CT_CTF_OFF_TS_END 32
#define CT_CTF_OFF_CONTENT_SIZE 40 /* bits */
#define CT_CTF_OFF_PACKET_SIZE 48 /* bits */
#define CT_CTF_OFF_SEQ 56
#define CT_CTF_OFF_DISCARDED 64 /* free-running count of events discarded in this stream */
#define CT_CTF_OFF_CPU 72

/* What a chunk's metadata says besides the event classes. */
struct ct_ctf_env {
	uint8_t uuid[16]; /* the chunk's trace UUID, also in every packet header */
	int64_t clock_offset_ns; /* realtime - monotonic, sampled when the chunk opened */
	const char *hostname;
	const char *boot_id;
	const char *domain; /* "crosstrace" */
	uint32_t chunk_index;
};

/* Appends the TSDL metadata text of a chunk to b. */
void ct_ctf_metadata(struct ct_buf *b, const struct ct_ctf_env *env);

/* Formats a UUID as 36 characters + NUL; parses one back (returns 0 or CT_EFORMAT). */
void ct_uuid_format(const uint8_t uuid[16], char out[37]);
int ct_uuid_parse(const char *s, uint8_t uuid[16]);
/* A random version-4 UUID (getrandom). Returns 0 or a negative errno. */
int ct_uuid_generate(uint8_t uuid[16]);

#endif
