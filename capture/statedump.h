/* SPDX-License-Identifier: MIT */
/*
 * The state dump at the start of a recording: for each process of the traced trees, its
 * parent, name and executable, its threads and their names, and its open file descriptors
 * with what they point to (path, "tcp 127.0.0.1:5000->127.0.0.1:8080", "pipe:[123]"), read
 * from /proc, so that fds opened before the recording still resolve to names.
 */
#ifndef CT_CAPTURE_STATEDUMP_H
#define CT_CAPTURE_STATEDUMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Receives each statedump event (payload in event.def layout, borrowed for the call). */
typedef int (*ct_statedump_emit_fn)(void *arg, uint16_t type, int32_t pid, int32_t tid,
				    const void *payload, size_t len);

struct ct_statedump_stats {
	unsigned processes, threads, fds;
	unsigned unreadable; /* processes or fd tables that vanished or could not be read */
};

/* The process is about to exec: leave out the fds that exec will close (O_CLOEXEC). */
#define CT_STATEDUMP_BEFORE_EXEC 0x1

/*
 * Dumps process tgid (read from proc_root, normally "/proc"). Processes that exit meanwhile
 * are skipped and counted as unreadable. Returns 0 or the first error of emit. Thread-safe
 * (no globals).
 */
int ct_statedump_process(const char *proc_root, pid_t tgid, int flags, ct_statedump_emit_fn emit,
			 void *arg, struct ct_statedump_stats *st);

/*
 * Lists root and its descendants (from the parent pids in /proc/<pid>/stat) into pids[max].
 * Returns how many were found (root first), or -ESRCH when root does not exist.
 */
int ct_statedump_tree(const char *proc_root, pid_t root, pid_t *pids, int max);

/* ---- parsers of /proc text, pure (exposed for tests and fuzzing) ---- */

/* Called for each socket found: its inode and its display name. */
typedef void (*ct_sock_fn)(void *arg, uint64_t inode, int fd_type, const char *name);

/*
 * Parses the text of /proc/net/{tcp,tcp6,udp,udp6} (proto "tcp" or "udp", ipv6 0/1) and
 * reports every socket. Malformed lines are skipped. Returns the number reported.
 */
int ct_procnet_parse_inet(const char *text, const char *proto, int ipv6, ct_sock_fn fn, void *arg);

/* Parses the text of /proc/net/unix likewise. */
int ct_procnet_parse_unix(const char *text, ct_sock_fn fn, void *arg);

/* Parses the ppid and the name out of the text of /proc/<pid>/stat. Returns 0 or -EINVAL. */
int ct_proc_parse_stat(const char *text, int *ppid, char *comm, size_t comm_len);

#endif
