/* SPDX-License-Identifier: MIT */
/*
 * Where the drain thread puts records: a trace directory written in-process (sink_dir.c) or a
 * crosstrace recorder/agent reached over a UNIX socket (sink_unix.c). One internal interface,
 * called only from the drain thread (or from ct_init/ct_shutdown while it is not running),
 * always with ct__g.lock held.
 */
#ifndef CT_LIB_SINK_H
#define CT_LIB_SINK_H

#include <stddef.h>
#include <stdint.h>

struct ct__thread;
struct ct__sink;

struct ct__sink_ops {
	/* Records of thread t follow (until end_thread). */
	void (*begin_thread)(struct ct__sink *s, struct ct__thread *t);
	/*
	 * One record (wire layout: 16-byte header + payload, len bytes). Returns 0 when taken,
	 * 1 when the sink has no room now (the record stays in the ring).
	 */
	int (*record)(struct ct__sink *s, struct ct__thread *t, const uint8_t *rec, size_t len);
	void (*end_thread)(struct ct__sink *s, struct ct__thread *t);
	/* Reports records thread t lost that no CLIENT_LOST record in its ring carried. */
	void (*lost)(struct ct__sink *s, struct ct__thread *t, uint64_t ts, uint64_t records,
		     uint64_t bytes);
	/*
	 * Housekeeping once per drain cycle (rotation, sending). flush: everything taken so
	 * far must be out before returning (may wait, bounded). Returns 0 or an error.
	 */
	int (*tick)(struct ct__sink *s, uint64_t now_ns, int flush);
	/* Optional: bytes taken from the rings but not handed on yet (the reader is behind). */
	size_t (*backlog)(const struct ct__sink *s);
	/* Finishes the output (status "complete", ...) and frees s. Returns 0 or an error. */
	int (*close)(struct ct__sink *s, const char *status);
	/* In a fork child: frees s without writing anything the parent owns. */
	void (*abandon)(struct ct__sink *s);
};

struct ct__sink {
	const struct ct__sink_ops *ops;
};

/*
 * Creates the sink for ct__g.output ("unix:PATH" or a directory). errbuf gets a message
 * naming the output and the remedy. Returns 0 or a negative errno.
 */
int ct__sink_open(struct ct__sink **out, char *errbuf, size_t errlen);
int ct__sink_dir_open(struct ct__sink **out, const char *path, char *errbuf, size_t errlen);
int ct__sink_unix_open(struct ct__sink **out, const char *path, char *errbuf, size_t errlen);

/* In a fork child, on its first record: opens the child's own sink and drain thread. */
int ct__sink_start_child(void);

#endif
