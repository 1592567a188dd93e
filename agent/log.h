/* SPDX-License-Identifier: MIT */
/*
 * The agent's log: one line per message on stderr, prefixed with a UTC timestamp (ms) and
 * "crosstrace agent:", written with one write(2) so that lines of concurrent threads never
 * interleave. Thread-safe; never allocates.
 */
#ifndef CT_AGENT_LOG_H
#define CT_AGENT_LOG_H

/* Logs one line (no newline in fmt). Thread-safe. */
void ct_agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The same, for callbacks taking (arg, line): arg is ignored. Thread-safe. */
void ct_agent_log_line(void *arg, const char *line);

#endif
