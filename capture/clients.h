/* SPDX-License-Identifier: MIT */
/*
 * The recorder's side of the native client protocol (format/wire.h): a UNIX socket in a
 * private temporary directory that libcrosstrace connects to (CROSSTRACE_OUTPUT=unix:PATH),
 * every connection fed to a wire receiver that appends to the trace directory. Not
 * thread-safe: driven by the recorder's drain thread, like the trace directory it writes.
 */
#ifndef CT_CAPTURE_CLIENTS_H
#define CT_CAPTURE_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

struct ct_tracedir;
struct ct_clients;
struct ct_wire_thread_ctx;

struct ct_clients_stats {
	unsigned connections; /* accepted so far */
	unsigned open; /* still connected */
	unsigned failed; /* ended by a protocol error (reported on stderr) */
	uint64_t bytes;
	uint64_t records; /* client records appended to the trace directory */
	uint64_t lost_records; /* records the clients reported lost */
};

/*
 * Creates the socket and starts listening: at path when given (a long-running agent; its
 * directory must exist; a stale socket left there by a dead process is replaced, a live one
 * is -EADDRINUSE), else in a new mkdtemp directory under $TMPDIR or /tmp. td is borrowed and
 * must outlive the listener. Returns 0, or a negative errno with a message in err.
 */
int ct_clients_new(struct ct_clients **out, struct ct_tracedir *td, const char *path, char *err,
		   size_t errlen);

/* Where messages about connections go (one line, no newline); default: stderr, prefixed
 * "crosstrace record: ". */
void ct_clients_set_log(struct ct_clients *c, void (*log)(void *arg, const char *line), void *arg);

/* The socket's path. */
const char *ct_clients_path(const struct ct_clients *c);

/*
 * Calls fn once per connection, as soon as its client has said where its threads publish
 * their current span (THREAD_CTX frame; pid: the client's, from its HELLO), from within
 * ct_clients_poll / ct_clients_finish. For the kernel side's span filter. fn NULL: none.
 */
void ct_clients_on_thread_ctx(struct ct_clients *c,
			      void (*fn)(void *arg, int32_t pid,
					 const struct ct_wire_thread_ctx *tc),
			      void *arg);

/* "CROSSTRACE_OUTPUT=unix:<path>", for the traced command's environment. */
const char *ct_clients_env(const struct ct_clients *c);

/* A file descriptor (epoll) readable when a connection or data is waiting. */
int ct_clients_fd(const struct ct_clients *c);

/* Accepts pending connections and feeds what they sent. Never blocks. */
void ct_clients_poll(struct ct_clients *c);

/* Per-chunk housekeeping of the receivers: call after ct_tracedir_tick with its now_ns. */
void ct_clients_tick(struct ct_clients *c, uint64_t now_ns);

/*
 * Reads what is left on every connection until each is drained (connections whose peers
 * have exited end here), then stops listening. Call once, before closing td.
 */
void ct_clients_finish(struct ct_clients *c);

void ct_clients_stats(const struct ct_clients *c, struct ct_clients_stats *st);

/* Closes everything, removes the socket and its directory (NULL accepted). */
void ct_clients_free(struct ct_clients *c);

#endif
