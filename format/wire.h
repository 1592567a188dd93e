/* SPDX-License-Identifier: MIT */
/*
 * The native client protocol: how libcrosstrace streams its records to a crosstrace recorder
 * (`crosstrace record`) or agent over a UNIX stream socket (CROSSTRACE_OUTPUT=unix:PATH).
 *
 * A connection carries frames, all little-endian:
 *
 *   frame  := u32 length (bytes after this field) | u16 type | u16 flags (0) | body
 *
 *   HELLO   (1): u32 magic 'CTW1' (0x31575443) | u32 format version (CT_FORMAT_VERSION)
 *                | s32 pid | u32 reserved (0)
 *                First frame of a connection; the receiver closes connections that start
 *                otherwise or announce a newer format version.
 *   RECORDS (2): s32 tid | u32 count | count x record
 *                record := u16 event id | u16 payload size | u32 reserved (0, ignored) | u64
 *                          timestamp (ns, CLOCK_MONOTONIC) | payload (event.def layout, `size`
 *                          bytes)
 *                Records of one tid arrive in the order the thread wrote them, so a
 *                receiver can append them to one CTF stream per thread ("ust_<pid>_<tid>").
 *                tid 0 carries the process's own records (PROCESS_INFO and the resource
 *                attributes, ATTR_* with span_id 0), sent after every HELLO.
 *                Only client events (ids 1..63) are allowed, and every payload must decode
 *                to exactly `size` bytes. A CLIENT_LOST record reports records the thread
 *                dropped itself (its ring was full); the receiver adds it to the loss
 *                counters ("client_records") besides storing the event.
 *   LOST    (3): s32 tid | u64 timestamp | u64 records | u64 bytes
 *                Records of that thread lost outside its ring (a frame cut by a broken
 *                connection, drops the thread never got to report before it exited). The
 *                receiver stores it as a CLIENT_LOST event and counts it like one.
 *   THREAD_CTX (4): s64 tls offset | u64 timestamp | u32 layout version | u32 record size
 *                Where every thread of the process publishes its current span (the thread
 *                context record, lib/threadctx.h, docs/internals/threadctx.md): `size` bytes
 *                of layout `version` at the thread pointer (x86_64: fs base) + offset, the
 *                same offset in every thread. Sent once per connection, after the process
 *                records. The receiver keeps it for the kernel side (ct_wire_conn_thread_ctx)
 *                and stores a THREAD_CTX_INFO event (tid 0, at timestamp, again in each new
 *                chunk). Added after the first release of the protocol: receivers that
 *                predate it skip it as an unknown type, and later versions may append
 *                fields (a receiver reads the first 24 bytes of the body and ignores more).
 *
 * A record is the same 16-byte header + payload layout the client uses in its per-thread
 * rings (where records are padded to 8 bytes; the padding is not sent), so the client's
 * drain thread copies records from its rings to the socket unchanged.
 * Frames are at most CT_WIRE_MAX_FRAME bytes (the length field included); frame flags are
 * reserved and must be 0; frames of an unknown type are skipped (room for later additions).
 * A receiver treats anything malformed as the end of that connection (with a reason naming
 * the frame and the offset), never as a reason to stop serving others; a malformed frame
 * stores none of its records.
 */
#ifndef CT_FORMAT_WIRE_H
#define CT_FORMAT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define CT_WIRE_MAGIC 0x31575443u /* "CTW1" */
#define CT_WIRE_MAX_FRAME (4u << 20)
#define CT_WIRE_RECORD_HEADER 16
#define CT_WIRE_FRAME_HEADER 8 /* u32 length, u16 type, u16 flags */
#define CT_WIRE_HELLO_SIZE (CT_WIRE_FRAME_HEADER + 16)
#define CT_WIRE_RECORDS_HEADER (CT_WIRE_FRAME_HEADER + 8) /* before the first record */
#define CT_WIRE_LOST_SIZE (CT_WIRE_FRAME_HEADER + 28)
#define CT_WIRE_THREAD_CTX_SIZE (CT_WIRE_FRAME_HEADER + 24)

enum ct_wire_type {
	CT_WIRE_HELLO = 1,
	CT_WIRE_RECORDS = 2,
	CT_WIRE_LOST = 3,
	CT_WIRE_THREAD_CTX = 4,
};

/* ---- sending: frame encoders (no allocation, thread-safe, buf sized by the caller) ---- */

/* Writes a HELLO frame for process pid into buf[CT_WIRE_HELLO_SIZE]. Returns its size. */
size_t ct_wire_put_hello(uint8_t *buf, int32_t pid);

/*
 * Writes the header of a RECORDS frame into buf[CT_WIRE_RECORDS_HEADER] for count records of
 * tid that take records_bytes bytes after it. Returns CT_WIRE_RECORDS_HEADER.
 */
size_t ct_wire_put_records_header(uint8_t *buf, int32_t tid, uint32_t count, size_t records_bytes);

/* Writes a LOST frame into buf[CT_WIRE_LOST_SIZE]. Returns its size. */
size_t ct_wire_put_lost(uint8_t *buf, int32_t tid, uint64_t ts, uint64_t records, uint64_t bytes);

/* Where a client's threads publish their current span (the THREAD_CTX frame's body). */
struct ct_wire_thread_ctx {
	int64_t tls_offset; /* record address - thread pointer */
	uint64_t ts; /* ns, CLOCK_MONOTONIC, when the client sent it */
	uint32_t version; /* record layout version */
	uint32_t size; /* record size in bytes */
};

/* Writes a THREAD_CTX frame into buf[CT_WIRE_THREAD_CTX_SIZE]. Returns its size. */
size_t ct_wire_put_thread_ctx(uint8_t *buf, const struct ct_wire_thread_ctx *tc);

/* ---- receiving: a pure byte-stream parser appending to a trace directory ---- */

struct ct_tracedir;
struct ct_wire_conn;

struct ct_wire_conn_stats {
	uint64_t bytes; /* bytes fed */
	uint64_t frames; /* complete frames processed */
	uint64_t records; /* records appended to the trace directory (written or counted) */
	uint64_t lost_records; /* records the client reported lost (CLIENT_LOST + LOST) */
	uint64_t lost_bytes;
	uint64_t skipped_frames; /* frames of an unknown type */
};

/*
 * A receiver for one connection, appending into td (borrowed: it must outlive the
 * connection; several connections may share one td, all fed from td's owner thread).
 * Returns 0 or -ENOMEM. Not thread-safe: one owner, like td.
 */
int ct_wire_conn_new(struct ct_wire_conn **out, struct ct_tracedir *td);

/*
 * Feeds len bytes as they arrived from the socket (any split is fine). Complete frames are
 * validated and appended to td's streams "ust_<pid>_<tid>". Returns 0 to go on reading, or a
 * negative code when the connection must end: CT_EFORMAT / CT_EVERSION / CT_ETOOBIG for bad
 * input (reason in ct_wire_conn_error; the frames before the bad one are kept), -ENOMEM.
 * After an error every later call returns the same error and appends nothing.
 */
int ct_wire_conn_feed(struct ct_wire_conn *c, const void *data, size_t len);

/*
 * The peer closed the connection. Returns 0 when it ended between frames, CT_ETRUNC when a
 * frame was cut short (its records are not stored; reason in ct_wire_conn_error), or the
 * connection's earlier error.
 */
int ct_wire_conn_end(struct ct_wire_conn *c);

/*
 * Re-stores the process's own records (tid 0: PROCESS_INFO, resource attributes) when td has
 * started a new chunk since they were last stored, so that every chunk says who recorded it.
 * Call after ct_tracedir_tick with the same now_ns (feeding frames does it too).
 */
void ct_wire_conn_tick(struct ct_wire_conn *c, uint64_t now_ns);

/* The reason of the connection's error, "" when none. */
const char *ct_wire_conn_error(const struct ct_wire_conn *c);

/* The client's pid from its HELLO, 0 before it. */
int32_t ct_wire_conn_pid(const struct ct_wire_conn *c);

/*
 * Where the client's threads publish their current span, from its THREAD_CTX frame: fills
 * *out and returns 0, or returns -ENOENT when the client sent none (yet, or at all: clients
 * that do not publish it, or predate it).
 */
int ct_wire_conn_thread_ctx(const struct ct_wire_conn *c, struct ct_wire_thread_ctx *out);

void ct_wire_conn_stats(const struct ct_wire_conn *c, struct ct_wire_conn_stats *st);

/* Frees c (NULL accepted). Streams already appended stay in td. */
void ct_wire_conn_free(struct ct_wire_conn *c);

#endif
