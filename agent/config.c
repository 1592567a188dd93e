// SPDX-License-Identifier: MIT
/*
 * The agent's option table and its two front ends: `key = value` files and (through
 * cmd_agent.c) `--key value` flags. Each option has one parser, so a file and a flag can
 * never disagree about what a value means.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util/units.h"

enum kind {
	K_STR, /* char[size] */
	K_PORT, /* int: -1..65535 */
	K_DUR, /* uint64_t ns */
	K_SIZE, /* uint64_t bytes */
	K_COUNT, /* uint64_t */
	K_UINT, /* unsigned */
	K_BOOL, /* int */
	K_PID, /* list of pids */
	K_COMM, /* list of command names */
	K_CGROUP, /* list of cgroup paths */
	K_BACKEND,
};

struct opt {
	const char *name;
	enum kind kind;
	size_t off, size;
	const char *arg; /* placeholder in the help */
	const char *help;
};

#define O(field) \
	offsetof(struct ct_agent_config, field), sizeof(((struct ct_agent_config *)0)->field)

static const struct opt opts[] = {
	{"bind", K_STR, O(bind), "ADDR", "IPv4 address the span receivers listen on (127.0.0.1)"},
	{"otlp-port", K_PORT, O(otlp_port), "PORT",
	 "OTLP/HTTP receiver, POST /v1/traces (4318; 0 any free port; -1 off)"},
	{"zipkin-port", K_PORT, O(zipkin_port), "PORT",
	 "Zipkin v2 receiver, POST /api/v2/spans (9411; 0 any; -1 off)"},
	{"max-body", K_SIZE, O(max_body), "SIZE", "largest request body accepted (4M)"},
	{"body-timeout", K_DUR, O(body_timeout_ns), "DUR",
	 "a request body must arrive within this (10s)"},
	{"idle-timeout", K_DUR, O(idle_timeout_ns), "DUR", "close silent connections (15s)"},
	{"socket", K_STR, O(socket), "PATH",
	 "UNIX socket for libcrosstrace clients (CROSSTRACE_OUTPUT=unix:PATH; default "
	 "/run/crosstrace/agent.sock; none: off)"},
	{"capture", K_BOOL, O(capture), "BOOL",
	 "capture kernel events (true; false: receive, annotate nothing, export)"},
	{"backend", K_BACKEND, O(backend), "KIND", "kernel capture: auto, bpf or perf (auto)"},
	{"ring-size", K_SIZE, O(ring_bytes), "SIZE", "kernel buffer size (backend default)"},
	{"watch-pid", K_PID, O(watch_pid), "PID",
	 "trace this process and its descendants (repeat)"},
	{"watch-comm", K_COMM, O(watch_comm), "NAME",
	 "trace processes with this command name, now and as they start (repeat)"},
	{"watch-cgroup", K_CGROUP, O(watch_cgroup), "DIR",
	 "trace the processes of this cgroup directory and below (v2 or v1; repeat)"},
	{"watch-all", K_BOOL, O(watch_all), "BOOL", "trace every process (false)"},
	{"output", K_STR, O(output), "DIR",
	 "trace directory to create (continuous mode), or where flight-recorder snapshots go "
	 "(./crosstrace-agent-DATE-TIME)"},
	{"rotate-time", K_DUR, O(rotate_ns), "DUR", "start a new chunk this often (10s)"},
	{"rotate-size", K_SIZE, O(rotate_bytes), "SIZE", "start a new chunk at this size (off)"},
	{"grace", K_DUR, O(grace_ns), "DUR",
	 "a rotated chunk accepts late events this long (1s; below 3 rotations)"},
	{"max-chunks", K_UINT, O(max_chunks), "N", "keep only the newest N chunks (0: all)"},
	{"max-bytes", K_SIZE, O(max_bytes), "SIZE", "keep only this much of chunks (0: all)"},
	{"record-spans", K_BOOL, O(record_spans), "BOOL",
	 "write received spans into the trace directory too (true)"},
	{"flight-recorder", K_DUR, O(flight_ns), "DUR",
	 "flight-recorder mode: keep the last DUR of kernel events in memory and persist the "
	 "window around slow spans (off)"},
	{"flight-chunk", K_DUR, O(flight_chunk_ns), "DUR", "flight-recorder chunk length (1s)"},
	{"ring-dir", K_STR, O(ring_dir), "DIR",
	 "flight-recorder ring (/dev/shm/crosstrace-agent-PID, removed at exit)"},
	{"margin", K_DUR, O(margin_ns), "DUR",
	 "persisted before the start and after the end of a slow span (500ms)"},
	{"threshold", K_DUR, O(threshold_ns), "DUR",
	 "spans at least this slow get syscall child spans and trigger the flight recorder "
	 "(100ms)"},
	{"detail-all", K_BOOL, O(detail_all), "BOOL", "syscall child spans for every span (false)"},
	{"annotate", K_BOOL, O(annotate), "BOOL", "annotate received spans (true)"},
	{"span-delay", K_DUR, O(span_delay_ns), "DUR",
	 "how long after its start a span may arrive and still be annotated (6s)"},
	{"max-pending-spans", K_COUNT, O(max_pending_spans), "N",
	 "spans waiting for their kernel data, beyond which senders get 503 (200000)"},
	{"max-pending-bytes", K_SIZE, O(max_pending_bytes), "SIZE",
	 "memory of the spans waiting (256M)"},
	{"export", K_STR, O(export_url), "URL",
	 "send annotated spans over OTLP/HTTP protobuf to URL (.../v1/traces)"},
	{"export-queue-spans", K_COUNT, O(export_queue_spans), "N",
	 "spans queued for export at most; more are dropped and counted (8192)"},
	{"export-queue-bytes", K_SIZE, O(export_queue_bytes), "SIZE", "encoded bytes queued (16M)"},
	{"export-batch", K_COUNT, O(export_batch_spans), "N", "spans per export request (512)"},
	{"export-delay", K_DUR, O(export_delay_ns), "DUR",
	 "wait this long to fill a batch (200ms)"},
	{"export-timeout", K_DUR, O(export_timeout_ns), "DUR", "per export request (10s)"},
	{"export-backoff", K_DUR, O(export_backoff_ns), "DUR", "first retry delay (100ms)"},
	{"export-max-backoff", K_DUR, O(export_max_backoff_ns), "DUR", "longest retry delay (5s)"},
	{"export-max-elapsed", K_DUR, O(export_max_elapsed_ns), "DUR",
	 "a batch still failing after this is dropped and counted (30s)"},
	{"export-gzip", K_BOOL, O(export_gzip), "BOOL", "gzip export requests (false)"},
	{"health-bind", K_STR, O(health_bind), "ADDR",
	 "address of the health endpoint (127.0.0.1)"},
	{"health-port", K_PORT, O(health_port), "PORT",
	 "GET /health, /stats (JSON), /metrics (Prometheus text) (13133; 0 any; -1 off)"},
	{"pid-file", K_STR, O(pid_file), "FILE",
	 "write the agent's pid there (locked, removed at exit)"},
	{"status-file", K_STR, O(status_file), "FILE",
	 "once ready, write the bound ports, socket and output there (\"otlp N\" lines)"},
	{"received-json", K_STR, O(received_json), "FILE", "append every received span as JSON"},
	{"exported-json", K_STR, O(exported_json), "FILE", "append every exported span as JSON"},
	{"stats-every", K_DUR, O(stats_log_ns), "DUR",
	 "log the counters this often (60s; 0 never)"},
	{"verbose", K_BOOL, O(verbose), "BOOL", "more diagnostics (false)"},
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

void ct_agent_config_defaults(struct ct_agent_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->bind, sizeof(c->bind), "127.0.0.1");
	c->otlp_port = 4318;
	c->zipkin_port = 9411;
	c->max_body = 4u << 20;
	c->body_timeout_ns = 10000000000ull;
	c->idle_timeout_ns = 15000000000ull;
	c->capture = 1;
	snprintf(c->backend, sizeof(c->backend), "auto");
	c->rotate_ns = 10000000000ull;
	c->grace_ns = 1000000000ull;
	c->record_spans = 1;
	c->flight_chunk_ns = 1000000000ull;
	c->margin_ns = 500000000ull;
	c->annotate = 1;
	c->threshold_ns = 100000000ull;
	c->span_delay_ns = 6000000000ull;
	c->max_pending_spans = 200000;
	c->max_pending_bytes = 256u << 20;
	c->export_queue_spans = 8192;
	c->export_queue_bytes = 16u << 20;
	c->export_batch_spans = 512;
	c->export_delay_ns = 200000000ull;
	c->export_timeout_ns = 10000000000ull;
	c->export_backoff_ns = 100000000ull;
	c->export_max_backoff_ns = 5000000000ull;
	c->export_max_elapsed_ns = 30000000000ull;
	snprintf(c->health_bind, sizeof(c->health_bind), "127.0.0.1");
	c->health_port = 13133;
	c->stats_log_ns = 60000000000ull;
}

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (unsigned i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int parse_long(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end || errno || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static const struct opt *find(const char *key)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (!strcmp(opts[i].name, key))
			return &opts[i];
	return NULL;
}

static int bad(char *err, size_t errlen, const struct opt *o, const char *value, const char *what)
{
	snprintf(err, errlen, "invalid %s '%s' (%s)", o->name, value, what);
	return -EINVAL;
}

int ct_agent_config_set(struct ct_agent_config *c, const char *key, const char *value, char *err,
			size_t errlen)
{
	const struct opt *o = find(key);
	char *field;
	long long v;

	if (!o) {
		snprintf(err, errlen, "unknown option '%s' (see crosstrace agent --help)", key);
		return -ENOENT;
	}
	field = (char *)c + o->off;
	switch (o->kind) {
	case K_STR:
		if (strlen(value) >= o->size) {
			snprintf(err, errlen, "%s '%.60s...' is too long (at most %zu bytes)",
				 o->name, value, o->size - 1);
			return -EINVAL;
		}
		snprintf(field, o->size, "%s", value);
		return 0;
	case K_PORT:
		if (parse_long(value, -1, 65535, &v))
			return bad(err, errlen, o, value, "a port 1-65535, 0 for any, -1 for off");
		*(int *)field = (int)v;
		return 0;
	case K_DUR:
		if (ct_parse_duration(value, (uint64_t *)(void *)field))
			return bad(err, errlen, o, value, "a duration like 500ms, 10s or 2m");
		return 0;
	case K_SIZE:
		if (ct_parse_size(value, (uint64_t *)(void *)field))
			return bad(err, errlen, o, value, "a size like 64K, 256M or 4096");
		return 0;
	case K_COUNT:
		if (parse_long(value, 0, (long long)1 << 40, &v))
			return bad(err, errlen, o, value, "a count");
		*(uint64_t *)(void *)field = (uint64_t)v;
		return 0;
	case K_UINT:
		if (parse_long(value, 0, 1 << 30, &v))
			return bad(err, errlen, o, value, "a count");
		*(unsigned *)(void *)field = (unsigned)v;
		return 0;
	case K_BOOL:
		if (parse_bool(value, (int *)(void *)field))
			return bad(err, errlen, o, value, "true or false");
		return 0;
	case K_BACKEND:
		if (strcmp(value, "auto") && strcmp(value, "bpf") && strcmp(value, "perf"))
			return bad(err, errlen, o, value, "auto, bpf or perf");
		snprintf(field, o->size, "%s", value);
		return 0;
	case K_PID:
		if (parse_long(value, 1, INT32_MAX, &v))
			return bad(err, errlen, o, value, "a process id");
		if (c->n_watch_pid == CT_AGENT_MAX_WATCH)
			goto full;
		c->watch_pid[c->n_watch_pid++] = (int32_t)v;
		return 0;
	case K_COMM:
		/* The kernel keeps 15 bytes of a command name; a longer one could never match. */
		if (!value[0] || strlen(value) > 15)
			return bad(err, errlen, o, value,
				   "a command name of 1 to 15 bytes, as in /proc/PID/comm");
		if (c->n_watch_comm == CT_AGENT_MAX_WATCH)
			goto full;
		snprintf(c->watch_comm[c->n_watch_comm++], 16, "%s", value);
		return 0;
	case K_CGROUP:
		if (!value[0] || strlen(value) >= sizeof(c->watch_cgroup[0]))
			return bad(err, errlen, o, value, "a cgroup directory");
		if (c->n_watch_cgroup == CT_AGENT_MAX_WATCH)
			goto full;
		snprintf(c->watch_cgroup[c->n_watch_cgroup++], sizeof(c->watch_cgroup[0]), "%s",
			 value);
		return 0;
	}
	return -EINVAL;
full:
	snprintf(err, errlen, "too many %s options (at most %d)", o->name, CT_AGENT_MAX_WATCH);
	return -E2BIG;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

/* One line of a config file (modified in place). Returns 0 or an error with err filled. */
static int parse_line(struct ct_agent_config *c, char *line, const char *name, unsigned ln,
		      char *err, size_t errlen)
{
	char *key = trim(line), *value, *eq, *hash, msg[512];
	int e;

	if (!*key || *key == '#')
		return 0;
	eq = strchr(key, '=');
	if (!eq) {
		snprintf(err, errlen, "%s:%u: expected 'key = value', got '%.80s'", name, ln, key);
		return -EINVAL;
	}
	*eq = 0;
	value = trim(eq + 1);
	key = trim(key);
	if (*value == '"') {
		char *q = strchr(value + 1, '"');

		if (!q || (trim(q + 1)[0] && trim(q + 1)[0] != '#')) {
			snprintf(err, errlen,
				 "%s:%u: quoted value for %s not terminated (or followed by more "
				 "than a comment)",
				 name, ln, key);
			return -EINVAL;
		}
		*q = 0;
		value++;
	} else if ((hash = strstr(value, " #")) || (hash = strstr(value, "\t#"))) {
		*hash = 0;
		value = trim(value);
	}
	e = ct_agent_config_set(c, key, value, msg, sizeof(msg));
	if (e)
		snprintf(err, errlen, "%s:%u: %s", name, ln, msg);
	return e;
}

#define MAX_LINE 4096

int ct_agent_config_parse(struct ct_agent_config *c, const char *name, const char *text, size_t len,
			  char *err, size_t errlen)
{
	char line[MAX_LINE + 1];
	unsigned ln = 0;
	size_t off = 0;
	int e = 0;

	while (!e && off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;

		ln++;
		if (n > MAX_LINE) {
			snprintf(err, errlen, "%s:%u: line too long (at most %d bytes)", name, ln,
				 MAX_LINE);
			return -EINVAL;
		}
		if (memchr(text + off, 0, n)) {
			snprintf(err, errlen, "%s:%u: NUL byte in the text (not a config file?)",
				 name, ln);
			return -EINVAL;
		}
		memcpy(line, text + off, n);
		line[n] = 0;
		e = parse_line(c, line, name, ln, err, errlen);
		off += n + 1;
	}
	return e;
}

int ct_agent_config_load(struct ct_agent_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char buf[65536];
	size_t n;
	int e;

	if (!f) {
		e = -errno;
		snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
		return e;
	}
	n = fread(buf, 1, sizeof(buf), f);
	if (n == sizeof(buf) && fgetc(f) != EOF) {
		fclose(f);
		snprintf(err, errlen, "config file %s is larger than %zu bytes", path, sizeof(buf));
		return -EFBIG;
	}
	e = ferror(f) ? -EIO : 0;
	fclose(f);
	if (e) {
		snprintf(err, errlen, "cannot read config file %s", path);
		return e;
	}
	return ct_agent_config_parse(c, path, buf, n, err, errlen);
}

int ct_agent_config_check(const struct ct_agent_config *c, char *err, size_t errlen)
{
	uint64_t rot = c->flight_ns ? c->flight_chunk_ns : c->rotate_ns;

	if (c->flight_ns && !c->flight_chunk_ns) {
		snprintf(err, errlen, "flight-chunk must not be 0 in flight-recorder mode");
		return -EINVAL;
	}
	if (c->flight_ns && c->flight_ns < c->flight_chunk_ns) {
		snprintf(err, errlen,
			 "flight-recorder window (%llu ms) is shorter than one chunk (flight-chunk "
			 "%llu ms)",
			 (unsigned long long)(c->flight_ns / 1000000),
			 (unsigned long long)(c->flight_chunk_ns / 1000000));
		return -EINVAL;
	}
	if ((c->max_chunks || c->max_bytes) && !c->flight_ns && !c->rotate_ns && !c->rotate_bytes) {
		snprintf(err, errlen,
			 "max-chunks / max-bytes need rotation (rotate-time or rotate-size): "
			 "without it there is only one chunk");
		return -EINVAL;
	}
	/* The trace directory keeps at most four chunks open: a grace of more than three
	 * rotations would be cut short (and late events counted lost). */
	if (rot && c->grace_ns > 3 * rot) {
		snprintf(err, errlen,
			 "grace (%llu ms) must not exceed three chunk lengths (%llu ms): lower "
			 "grace or rotate less often",
			 (unsigned long long)(c->grace_ns / 1000000),
			 (unsigned long long)(3 * rot / 1000000));
		return -EINVAL;
	}
	if (!c->capture && (c->n_watch_pid || c->n_watch_comm || c->n_watch_cgroup ||
			    c->watch_all || c->flight_ns)) {
		snprintf(err, errlen,
			 "watching processes and the flight recorder need kernel capture (remove "
			 "capture = false)");
		return -EINVAL;
	}
	if (c->otlp_port > 0 && c->otlp_port == c->zipkin_port) {
		snprintf(err, errlen, "otlp-port and zipkin-port are both %d", c->otlp_port);
		return -EINVAL;
	}
	if (c->export_url[0] && strncmp(c->export_url, "http://", 7) &&
	    strncmp(c->export_url, "https://", 8)) {
		snprintf(err, errlen, "export URL '%s' must start with http:// or https://",
			 c->export_url);
		return -EINVAL;
	}
	if (!c->max_pending_spans || !c->max_pending_bytes) {
		snprintf(err, errlen, "max-pending-spans and max-pending-bytes must not be 0");
		return -EINVAL;
	}
	return 0;
}

int ct_agent_config_is_flag(const char *key)
{
	const struct opt *o = find(key);

	return o && o->kind == K_BOOL;
}

void ct_agent_config_help(FILE *f)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		char head[64];

		snprintf(head, sizeof(head), "--%s %s", opts[i].name, opts[i].arg);
		fprintf(f, "  %-28s %s\n", head, opts[i].help);
	}
}

const char *const *ct_agent_config_keys(void)
{
	static const char *keys[N_OPTS + 1];

	for (size_t i = 0; i < N_OPTS; i++)
		keys[i] = opts[i].name;
	keys[N_OPTS] = NULL;
	return keys;
}
