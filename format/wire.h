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
 *                record := u16 event id | u16 payload size | u32 reserved (0) | u64 timestamp
 *                          (ns, CLOCK_MONOTONIC) | payload (event.def layout, `size` bytes)
 *                Records of one tid arrive in the order the thread wrote them, so a
 *                receiver can append them to one CTF stream per thread ("ust_<pid>_<tid>").
 *   LOST    (3): s32 tid | u64 timestamp | u64 records | u64 bytes
 *                Records the thread could not record (its ring was full) since the last
 *                LOST frame for that tid.
 *
 * A record is the same 16-byte header + payload layout the client uses in its per-thread
 * rings, so the client's drain thread copies ring contents to the socket unchanged.
 * Frames are at most CT_WIRE_MAX_FRAME bytes; a receiver treats anything malformed as the end
 * of that connection (logged, counted), never as a reason to stop serving others.
 */
#ifndef CT_FORMAT_WIRE_H
#define CT_FORMAT_WIRE_H

#include <stdint.h>

#define CT_WIRE_MAGIC 0x31575443u /* "CTW1" */
#define CT_WIRE_MAX_FRAME (4u << 20)
#define CT_WIRE_RECORD_HEADER 16

enum ct_wire_type {
	CT_WIRE_HELLO = 1,
	CT_WIRE_RECORDS = 2,
	CT_WIRE_LOST = 3,
};

#endif
