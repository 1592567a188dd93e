/* SPDX-License-Identifier: MIT */
/*
 * The decoded form of crosstrace events (see event.def for the table and its rules), and the
 * byte layout shared by every producer: client rings, kernel capture and the agent all write
 * payloads in exactly the layout ct_ev_decode reads, so that writing a CTF event is a copy.
 */
#ifndef CT_FORMAT_EVENT_H
#define CT_FORMAT_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Bump on any incompatible change to event.def or to the stream layout (ctf_stream.h). */
#define CT_FORMAT_VERSION 1

enum ct_ev_type {
	CT_EV_NONE = 0,
#define CT_EVENT(id, NAME, name, fields) CT_EV_##NAME = id,
#include "event.def"
#undef CT_EVENT
	CT_EV_MAX
};

/* What an fd points to (statedump_fd.fd_type, and the analysis' fd table). */
enum ct_fd_type {
	CT_FD_UNKNOWN = 0,
	CT_FD_FILE = 1,
	CT_FD_DIR = 2,
	CT_FD_SOCKET_TCP = 3,
	CT_FD_SOCKET_UDP = 4,
	CT_FD_SOCKET_UNIX = 5,
	CT_FD_SOCKET_OTHER = 6,
	CT_FD_PIPE = 7,
	CT_FD_EVENTFD = 8,
	CT_FD_EPOLL = 9,
	CT_FD_TIMERFD = 10,
	CT_FD_SIGNALFD = 11,
	CT_FD_ANON = 12,
	CT_FD_DEVICE = 13,
};

/* Flags of span_start.flags. */
#define CT_SPAN_FLAG_SAMPLED 0x01
#define CT_SPAN_FLAG_REMOTE_PARENT 0x02

/* Flags of sched_waking.flags. */
#define CT_WAKE_FLAG_IRQ 0x01

/* Decoded payload structs: strings and byte sequences point into the decoded buffer. */
#define CT_F_U8(n) uint8_t n;
#define CT_F_U16(n) uint16_t n;
#define CT_F_U32(n) uint32_t n;
#define CT_F_S32(n) int32_t n;
#define CT_F_U64(n) uint64_t n;
#define CT_F_S64(n) int64_t n;
#define CT_F_F64(n) double n;
#define CT_F_STR(n)    \
	const char *n; \
	uint32_t n##_len;
#define CT_F_BYTES(n)     \
	const uint8_t *n; \
	uint16_t n##_len;
#define CT_F_ARGS6(n) uint64_t n[6];
#define F(t, n) CT_F_##t(n)
#define CT_EVENT(id, NAME, name, fields) \
	struct ct_ev_##name {            \
		fields                   \
	};
#include "event.def"
#undef CT_EVENT
#undef F

/* One decoded event. */
struct ct_event {
	uint64_t ts; /* ns, CLOCK_MONOTONIC */
	int32_t pid; /* process (tgid) */
	int32_t tid; /* thread; 0 = process-wide (received spans without a thread id) */
	uint16_t type; /* enum ct_ev_type */
	uint16_t cpu; /* stream's cpu_id (kernel streams), else 0xffff */
	uint32_t stream; /* reader's index of the stream it came from */
	union {
#define F(t, n)
#define CT_EVENT(id, NAME, name, fields) struct ct_ev_##name name;
#include "event.def"
#undef CT_EVENT
#undef F
	} u;
};

/* Name of an event type ("span_start"), or NULL when unknown. */
const char *ct_ev_name(unsigned type);

/*
 * Decodes the payload of an event of the given type from p[0..len). Fills the payload union
 * of ev (strings point into p, which must outlive ev) and returns the number of bytes used.
 * Returns CT_ETRUNC when the payload is shorter than its fields, CT_EFORMAT when a string is
 * not terminated within len, -ENOENT for an unknown type. Thread-safe, no allocation.
 */
int ct_ev_decode(unsigned type, const uint8_t *p, size_t len, struct ct_event *ev);

/*
 * Encodes the payload of ev (per ev->type) into buf. Returns the number of bytes written,
 * CT_ETOOBIG when cap is too small, -ENOENT for an unknown type. STR fields are written up to
 * their first NUL or _len bytes when _len is non-zero.
 */
int ct_ev_encode(const struct ct_event *ev, uint8_t *buf, size_t cap);

/*
 * A run of events: events of one time, process and thread packed one after the other, each a
 * struct ct_ev_run_hdr (native byte order, unaligned) followed by its payload. Received spans
 * are built that way (net/span_events.h) and written with ct_tdstream_append_run.
 */
struct ct_ev_run_hdr {
	uint16_t id;
	uint16_t len; /* payload bytes */
};

/* Helpers for producers writing payloads by hand (little-endian, unaligned). */
static inline uint8_t *ct_put_u8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}

static inline uint8_t *ct_put_u16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
	return p + 2;
}

static inline uint8_t *ct_put_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
	return p + 4;
}

static inline uint8_t *ct_put_u64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
	return p + 8;
}

static inline uint8_t *ct_put_f64(uint8_t *p, double v)
{
	memcpy(p, &v, 8);
	return p + 8;
}

/* Copies at most max bytes of s, then a NUL: the caller reserved max + 1 bytes. */
static inline uint8_t *ct_put_str(uint8_t *p, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max) : 0;

	memcpy(p, s ? s : "", n);
	p[n] = 0;
	return p + n + 1;
}

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "crosstrace streams are little-endian and the encoders assume a little-endian host"
#endif

#endif /* CT_FORMAT_EVENT_H */
