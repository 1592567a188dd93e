/* SPDX-License-Identifier: MIT */
/*
 * The agent's own HTTP endpoint (libmicrohttpd, one thread): GET requests are answered by a
 * render callback (GET /health, /stats, /metrics in the agent), anything else gets 405. It
 * never touches the span pipeline, so a stuck exporter or a busy receiver does not silence it.
 */
#ifndef CT_AGENT_HEALTH_H
#define CT_AGENT_HEALTH_H

#include "util/buf.h"

/* Fills out for path; returns the HTTP status and sets *ctype. Called on the endpoint's
 * thread. */
typedef unsigned (*ct_health_render_fn)(void *arg, const char *path, struct ct_buf *out,
					const char **ctype);

struct ct_health;

/*
 * Listens on bind:port (port 0: any free port). Returns 0, or -EADDRINUSE / -EINVAL with a
 * message in err naming the address and the remedy.
 */
int ct_health_start(struct ct_health **out, const char *bind, int port, ct_health_render_fn fn,
		    void *arg, char *err, size_t errlen);

/* The bound port. */
int ct_health_port(const struct ct_health *h);

/* Stops serving and frees h (NULL accepted). */
void ct_health_stop(struct ct_health *h);

#endif
