/* SPDX-License-Identifier: MIT */
/*
 * `crosstrace agent`, assembled: span receivers (OTLP/HTTP, Zipkin, the native UNIX socket),
 * continuous kernel capture of the watched processes into a trace directory (or, as a flight
 * recorder, into a ring in memory with snapshots around slow spans), the incremental
 * annotator, the OTLP exporter and the health endpoint. The calling thread runs the capture
 * (it owns the trace directory); receivers, annotator, exporter and health endpoint have
 * threads of their own. See docs/internals/agent.md.
 */
#ifndef CT_AGENT_AGENT_H
#define CT_AGENT_AGENT_H

#include <signal.h>
#include <stddef.h>

#include "config.h"

struct ct_agent;

/*
 * Starts everything c asks for (c is copied) and writes the pid and status files. Returns 0,
 * or a negative code with a user-facing message in err (what failed, and what to do);
 * nothing is left running then.
 */
int ct_agent_new(struct ct_agent **out, const struct ct_agent_config *c, char *err, size_t errlen);

/*
 * Runs until *stop becomes non-zero (set it from a signal handler). Returns 0, or a negative
 * code when the kernel recording can no longer be written (the agent should then stop).
 */
int ct_agent_run(struct ct_agent *a, volatile sig_atomic_t *stop);

/*
 * Clean shutdown: stops receiving, drains the kernel side, seals the recording, annotates and
 * exports what can be (the rest unannotated), flushes the exporter (at most a few seconds),
 * logs the final counters, removes the pid file and frees a. Returns 0 or the first error.
 */
int ct_agent_finish(struct ct_agent *a);

#endif
