/* SPDX-License-Identifier: MIT */
/*
 * The agent's configuration: one table of options serves the config file (`key = value`
 * lines, `#` comments) and the command-line flags (`--key value`), so that both accept the
 * same names, values and checks. Values: durations ("500ms", "30s", "2m"), sizes ("64K",
 * "256M"), ports (0 = any free port, -1 = off), booleans (true/false, yes/no, on/off, 1/0),
 * and lists that grow with each occurrence (watch-pid, watch-comm, watch-cgroup). Pure: no
 * I/O except reading the file; not thread-safe (built once at start).
 */
#ifndef CT_AGENT_CONFIG_H
#define CT_AGENT_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CT_AGENT_MAX_WATCH 64

struct ct_agent_config {
	/* receivers */
	char bind[64]; /* IPv4 address of the span receivers */
	int otlp_port, zipkin_port; /* 4318, 9411; 0 any free port; -1 off */
	uint64_t max_body; /* bytes */
	uint64_t body_timeout_ns, idle_timeout_ns;
	char socket[256]; /* native client socket; "" default path; "none" off */

	/* kernel capture */
	int capture; /* 0: receive and export only */
	char backend[8]; /* auto, bpf, perf */
	uint64_t ring_bytes;
	int32_t watch_pid[CT_AGENT_MAX_WATCH]; /* process trees */
	unsigned n_watch_pid;
	char watch_comm[CT_AGENT_MAX_WATCH][16]; /* command names (as in /proc/PID/comm) */
	unsigned n_watch_comm;
	char watch_cgroup[CT_AGENT_MAX_WATCH][256]; /* cgroup v2 directories */
	unsigned n_watch_cgroup;
	int watch_all;

	/* the trace directory */
	char output[PATH_MAX]; /* continuous: the trace directory; flight recorder: snapshots */
	uint64_t rotate_ns, rotate_bytes;
	uint64_t grace_ns;
	unsigned max_chunks;
	uint64_t max_bytes;
	int record_spans; /* received spans into the trace directory too */

	/* flight recorder */
	uint64_t flight_ns; /* keep this much in memory (0: continuous recording) */
	uint64_t flight_chunk_ns;
	char ring_dir[PATH_MAX]; /* "": /dev/shm/crosstrace-agent-<pid> */
	uint64_t margin_ns; /* persisted around a slow span */

	/* annotation */
	int annotate;
	uint64_t threshold_ns; /* spans this slow: syscall child spans, flight-recorder trigger */
	int detail_all; /* syscall child spans for every span */
	uint64_t span_delay_ns; /* how late spans may arrive and still be annotated */
	uint64_t max_pending_spans; /* spans waiting for their kernel data (then 503) */
	uint64_t max_pending_bytes;

	/* export */
	char export_url[1024];
	uint64_t export_queue_spans, export_queue_bytes;
	uint64_t export_batch_spans;
	uint64_t export_delay_ns, export_timeout_ns, export_max_elapsed_ns;
	uint64_t export_backoff_ns, export_max_backoff_ns;
	int export_gzip;

	/* health and files */
	char health_bind[64];
	int health_port; /* 13133; 0 any free; -1 off */
	char pid_file[PATH_MAX];
	char status_file[PATH_MAX];
	char received_json[PATH_MAX]; /* every received span as a JSON line (tests, debugging) */
	char exported_json[PATH_MAX]; /* every exported span as a JSON line */
	uint64_t stats_log_ns; /* log counters this often; 0 never */
	int verbose;
};

/* Fills c with the defaults (documented in `crosstrace agent --help`). */
void ct_agent_config_defaults(struct ct_agent_config *c);

/*
 * Sets option key (without "--") to value. Returns 0; -ENOENT for an unknown key, -EINVAL
 * for a bad value, -E2BIG for a full list; err then names the key, the value and what is
 * expected.
 */
int ct_agent_config_set(struct ct_agent_config *c, const char *key, const char *value, char *err,
			size_t errlen);

/*
 * Reads a config file: `key = value` per line (`#` starts a comment, blank lines ignored,
 * the value may be quoted with ""). Returns 0, or the first error with "FILE:LINE: ..." in
 * err (-errno when the file cannot be read).
 */
int ct_agent_config_load(struct ct_agent_config *c, const char *path, char *err, size_t errlen);

/* The same for text[0..len) read from a file called name (pure: tests, fuzzing). */
int ct_agent_config_parse(struct ct_agent_config *c, const char *name, const char *text, size_t len,
			  char *err, size_t errlen);

/*
 * Checks the options together (e.g. retention needs rotation, a flight recorder needs a
 * threshold). Returns 0 or -EINVAL with the reason in err.
 */
int ct_agent_config_check(const struct ct_agent_config *c, char *err, size_t errlen);

/* Whether key takes no value on the command line (a boolean flag: --key means true). */
int ct_agent_config_is_flag(const char *key);

/* Writes the option reference (name, value, default, meaning) to f. */
void ct_agent_config_help(FILE *f);

/* The option names, NULL-terminated (for getopt tables). */
const char *const *ct_agent_config_keys(void);

#endif
