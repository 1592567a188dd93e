/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the agent's end-to-end tests: start `crosstrace agent` as a real process (its
 * stderr in a log file, its ports from its status file), stop it with SIGTERM, talk HTTP to
 * it over real sockets (requests written byte by byte as the protocol says, so that bad
 * input can be sent), read its counters from GET /stats (jansson), and build OTLP JSON spans.
 * One test executable includes this once.
 */
#ifndef CT_TEST_AGENT_UTIL_H
#define CT_TEST_AGENT_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"

/* Each test uses some of these. */
#define AU_FN static __attribute__((unused))

struct agent {
	pid_t pid;
	char dir[PATH_MAX]; /* the test's directory for this agent */
	char log[PATH_MAX + 16];
	char status[PATH_MAX + 16];
	int otlp, zipkin, health;
	char trace[PATH_MAX]; /* its recording / ring */
};

AU_FN uint64_t au_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

AU_FN const char *au_bin(void)
{
	static char path[PATH_MAX];
	const char *b = getenv("CT_BUILD_DIR");

	snprintf(path, sizeof(path), "%s/crosstrace", b ? b : ".");
	return path;
}

/* Reads a whole file (NUL-terminated, malloc'd), or NULL. */
AU_FN char *au_slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	struct ct_buf b;
	char buf[4096];
	size_t n;

	if (!f)
		return NULL;
	ct_buf_init(&b);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		ct_buf_append(&b, buf, n);
	fclose(f);
	return b.data ? b.data : strdup(""); /* a ct_buf is NUL-terminated when not empty */
}

AU_FN int au_status_int(const char *text, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "%s ", key);
	for (p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, k, strlen(k)))
			return atoi(p + strlen(k));
	return -2;
}

/*
 * Starts an agent with args (NULL-terminated; --status-file is added) in dir (created),
 * its stderr going to dir/agent.log, and waits (10 s) for its status file. Returns 0, or -1
 * when it did not come up (its log is printed).
 */
AU_FN int agent_start(struct agent *a, const char *dir, const char *const *args)
{
	const char *argv[96];
	int n = 0;
	uint64_t until;

	memset(a, 0, sizeof(*a));
	snprintf(a->dir, sizeof(a->dir), "%s", dir);
	mkdir(dir, 0755);
	snprintf(a->log, sizeof(a->log), "%s/agent.log", dir);
	snprintf(a->status, sizeof(a->status), "%s/status", dir);
	unlink(a->status);
	argv[n++] = au_bin();
	argv[n++] = "agent";
	argv[n++] = "--status-file";
	argv[n++] = a->status;
	for (int i = 0; args[i] && n < 94; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	a->pid = fork();
	if (a->pid == 0) {
		int fd = open(a->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd >= 0)
			dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	until = au_now_ms() + 10000;
	while (au_now_ms() < until) {
		char *st = au_slurp(a->status);
		int status;

		if (st && au_status_int(st, "health") != -2) {
			char *t = strstr(st, "\ntrace ");

			a->otlp = au_status_int(st, "otlp");
			a->zipkin = au_status_int(st, "zipkin");
			a->health = au_status_int(st, "health");
			if (t)
				sscanf(t + 7, "%4095s", a->trace);
			free(st);
			return 0;
		}
		free(st);
		if (waitpid(a->pid, &status, WNOHANG) == a->pid) {
			a->pid = 0;
			break;
		}
		usleep(20000);
	}
	{
		char *log = au_slurp(a->log);

		fprintf(stderr, "agent did not start; its log:\n%s\n", log ? log : "");
		free(log);
	}
	if (a->pid > 0) {
		kill(a->pid, SIGKILL);
		waitpid(a->pid, NULL, 0);
		a->pid = 0;
	}
	return -1;
}

/* SIGTERM and wait (60 s, then SIGKILL). Returns the exit status, 128+sig, or -1. */
AU_FN int agent_stop(struct agent *a)
{
	uint64_t until = au_now_ms() + 60000;
	int status;

	if (a->pid <= 0)
		return -1;
	kill(a->pid, SIGTERM);
	while (au_now_ms() < until) {
		if (waitpid(a->pid, &status, WNOHANG) == a->pid) {
			a->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		usleep(20000);
	}
	kill(a->pid, SIGKILL);
	waitpid(a->pid, NULL, 0);
	a->pid = 0;
	return -1;
}

/* Whether the agent's log contains s, waiting up to timeout_ms. */
AU_FN int agent_log_has(const struct agent *a, const char *s, int timeout_ms)
{
	uint64_t until = au_now_ms() + (uint64_t)timeout_ms;

	do {
		char *log = au_slurp(a->log);
		int found = log && strstr(log, s);

		free(log);
		if (found)
			return 1;
		usleep(50000);
	} while (au_now_ms() < until);
	return 0;
}

/* ---- HTTP over real sockets ---- */

struct au_resp {
	int status; /* 0: closed without an answer; -1: timeout or error */
	char headers[2048];
	struct ct_buf body;
};

AU_FN int au_connect(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 20};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* Bounded waits: a stuck agent fails the test rather than hanging it. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

AU_FN int au_send(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads one response: headers, then Content-Length bytes (or until close). */
AU_FN void au_read(int fd, struct au_resp *r)
{
	struct ct_buf in;
	size_t want = SIZE_MAX;
	char buf[4096], *end;

	ct_buf_init(&in);
	ct_buf_init(&r->body);
	r->status = 0;
	r->headers[0] = 0;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n <= 0) {
			if (n < 0 && !in.len)
				r->status = -1;
			break;
		}
		ct_buf_append(&in, buf, (size_t)n);
		end = strstr(in.data, "\r\n\r\n");
		if (end && want == SIZE_MAX) {
			const char *cl = strcasestr(in.data, "\r\nContent-Length:");

			want = (size_t)(end + 4 - in.data) +
			       (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (in.len >= want)
			break;
	}
	if (in.len > 12 && !strncmp(in.data, "HTTP/1.", 7)) {
		r->status = atoi(in.data + 9);
		end = strstr(in.data, "\r\n\r\n");
		if (end) {
			snprintf(r->headers, sizeof(r->headers), "%.*s", (int)(end - in.data),
				 in.data);
			ct_buf_append(&r->body, end + 4, in.len - (size_t)(end + 4 - in.data));
		}
	}
	ct_buf_fini(&in);
}

/* One request on a new connection. headers: extra header lines, each ending in \r\n. */
AU_FN void au_request(int port, const char *method, const char *path, const char *headers,
		      const void *body, size_t len, struct au_resp *r)
{
	int fd = au_connect(port);
	struct ct_buf q;

	memset(r, 0, sizeof(*r));
	ct_buf_init(&r->body);
	r->status = -1;
	if (fd < 0)
		return;
	ct_buf_init(&q);
	ct_buf_printf(&q, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: %zu\r\n\r\n",
		      method, path, headers ? headers : "", len);
	if (len)
		ct_buf_append(&q, body, len);
	if (!au_send(fd, q.data, q.len))
		au_read(fd, r);
	ct_buf_fini(&q);
	close(fd);
}

AU_FN void au_resp_fini(struct au_resp *r)
{
	ct_buf_fini(&r->body);
}

/* GET /stats as JSON (NULL on failure; json_decref it). */
AU_FN json_t *agent_stats(const struct agent *a)
{
	struct au_resp r;
	json_t *j = NULL;

	au_request(a->health, "GET", "/stats", NULL, NULL, 0, &r);
	if (r.status == 200 && r.body.data)
		j = json_loads(r.body.data, 0, NULL);
	au_resp_fini(&r);
	return j;
}

/* The number at a dotted path ("annotation.annotated") of /stats, or UINT64_MAX. */
AU_FN uint64_t agent_stat(const struct agent *a, const char *path)
{
	json_t *j = agent_stats(a), *v = j;
	char key[128], *p, *s;
	uint64_t out = UINT64_MAX;

	snprintf(key, sizeof(key), "%s", path);
	for (p = strtok_r(key, ".", &s); p && v; p = strtok_r(NULL, ".", &s))
		v = json_object_get(v, p);
	if (json_is_integer(v))
		out = (uint64_t)json_integer_value(v);
	json_decref(j);
	return out;
}

/* Waits (timeout_ms) until the stat at path is at least min. Returns its last value. */
AU_FN uint64_t agent_wait_stat(const struct agent *a, const char *path, uint64_t min,
			       int timeout_ms)
{
	uint64_t until = au_now_ms() + (uint64_t)timeout_ms, v;

	for (;;) {
		v = agent_stat(a, path);
		if ((v != UINT64_MAX && v >= min) || au_now_ms() >= until)
			return v;
		usleep(50000);
	}
}

/* ---- OTLP JSON ---- */

/* A random 16/8-byte id in hex (never all zero). */
AU_FN void au_hex_id(char *out, size_t bytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, b, bytes) != (ssize_t)bytes)
		for (size_t i = 0; i < bytes; i++)
			b[i] = (unsigned char)(rand() | 1);
	if (fd >= 0)
		close(fd);
	b[0] |= 1;
	for (size_t i = 0; i < bytes; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * bytes] = 0;
}

/* Appends an OTLP JSON request with one span per entry (times: Unix ns). */
struct au_span {
	const char *name;
	char trace_id[33], span_id[17];
	uint64_t start_ns, end_ns;
	int tid; /* a thread.id attribute when not 0 */
};

AU_FN void au_otlp_json(struct ct_buf *out, const char *service, int pid, const struct au_span *s,
			size_t n)
{
	ct_buf_printf(out,
		      "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
		      "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"%s\"}},"
		      "{\"key\":\"process.pid\",\"value\":{\"intValue\":\"%d\"}}]},"
		      "\"scopeSpans\":[{\"scope\":{\"name\":\"agent-test\"},\"spans\":[",
		      service, pid);
	for (size_t i = 0; i < n; i++) {
		ct_buf_printf(
			out,
			"%s{\"traceId\":\"%s\",\"spanId\":\"%s\",\"name\":\"%s\",\"kind\":2,"
			"\"startTimeUnixNano\":\"%llu\",\"endTimeUnixNano\":\"%llu\","
			"\"attributes\":[{\"key\":\"test.index\",\"value\":{\"intValue\":\"%zu\"}}",
			i ? "," : "", s[i].trace_id, s[i].span_id, s[i].name,
			(unsigned long long)s[i].start_ns, (unsigned long long)s[i].end_ns, i);
		if (s[i].tid)
			ct_buf_printf(out,
				      ",{\"key\":\"thread.id\",\"value\":{\"intValue\":\"%d\"}}",
				      s[i].tid);
		ct_buf_puts(out, "]}");
	}
	ct_buf_puts(out, "]}]}]}");
}

AU_FN uint64_t au_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

AU_FN uint64_t au_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Skips (77) or, under CI=true, fails: for tests that need root. */
AU_FN void au_need_root(const char *test)
{
	if (geteuid() == 0)
		return;
	printf("SKIP %s: needs root (kernel capture)\n", test);
	if (getenv("CI") && !strcmp(getenv("CI"), "true")) {
		fprintf(stderr, "FAIL: skipping is not allowed under CI=true\n");
		exit(1);
	}
	exit(77);
}

#endif
