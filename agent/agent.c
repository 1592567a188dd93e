// SPDX-License-Identifier: MIT
/*
 * The agent (see agent.h): setup in dependency order, the capture loop on the caller's
 * thread (which owns the trace directory: chunk boundaries, pinning sealed chunks for the
 * annotator, retention, flight-recorder copies), the receivers' sink, the health endpoint's
 * view of every counter, and the shutdown sequence.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "annotator.h"
#include "capture/privs.h"
#include "capture/recorder.h"
#include "crosstrace/crosstrace.h"
#include "feed.h"
#include "flight.h"
#include "format/tracedir.h"
#include "health.h"
#include "log.h"
#include "net/foreign_stream.h"
#include "net/http_receiver.h"
#include "net/otlp_exporter.h"
#include "net/span_dump.h"
#include "peerpid.h"
#include "util/clock.h"
#include "util/jsonw.h"
#include "watch.h"

#define PUBLISH_NS 200000000ull
#define DEFAULT_SOCKET "/run/crosstrace/agent.sock"

/* What the owner thread knows, copied for the health endpoint's thread. */
struct owner_view {
	struct ct_recorder_stats rec;
	struct ct_tracedir_stats td;
	struct ct_watch_stats watch;
	uint64_t chunks_sealed, chunks_removed, chunks_pinned, pin_errors;
	int failed;
	char failure[256];
};

struct ct_agent {
	struct ct_agent_config c;
	uint64_t started_ns;
	int pid_fd;
	char pid_path[PATH_MAX];
	char trace_dir[PATH_MAX]; /* the recording (continuous) or the ring (flight) */
	char staging[PATH_MAX + 16]; /* pinned chunks waiting for the annotator */
	char socket_path[256];

	struct ct_recorder *rec;
	struct ct_foreign *foreign;
	struct ct_watch *watch;
	struct ct_flight *flight;
	struct ct_feed *feed;
	struct ct_annotator *ann;
	struct ct_otlp_exporter *ex;
	struct ct_receiver *rcv;
	struct ct_health *health;

	/* chunk boundaries (owner thread): begin of chunk i */
	uint64_t *bounds;
	size_t n_bounds, cap_bounds;
	unsigned chunks_seen;

	pthread_mutex_t dump_mu;
	FILE *received_json, *exported_json;

	pthread_mutex_t pub_mu; /* guards pub */
	struct owner_view pub, own;
	uint64_t last_publish, last_stats_log;
	uint64_t zipkin_pid_resolved, zipkin_pid_unknown; /* under pub_mu */
	struct ct_receiver_stats rcv_final; /* the receivers' counters once stopped */
	int finished;
};

/* ---- small helpers ---- */

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(tmp, mode) && errno != EEXIST ? -errno : 0;
}

static void rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (!d) {
		unlink(path);
		return;
	}
	while ((e = readdir(d))) {
		char p[PATH_MAX + 256];
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (!lstat(p, &st) && S_ISDIR(st.st_mode))
			rm_rf(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(path);
}

static int write_atomic(const char *path, const char *text)
{
	char tmp[PATH_MAX + 8];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fputs(text, f);
	if (fclose(f))
		return -errno;
	return rename(tmp, path) ? -errno : 0;
}

/* ---- pid file ---- */

static int pid_file_open(struct ct_agent *a, const char *path, char *err, size_t errlen)
{
	char buf[32];
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644), e;

	if (fd < 0) {
		e = -errno;
		snprintf(err, errlen,
			 "cannot open pid file %s: %s (choose another with --pid-file)", path,
			 strerror(errno));
		return e;
	}
	/* Held for the agent's life: a second agent with the same pid file is refused. */
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		buf[n > 0 ? n : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		snprintf(err, errlen, "another agent holds pid file %s (pid %s): stop it first",
			 path, buf[0] ? buf : "?");
		close(fd);
		return -EBUSY;
	}
	snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, buf, strlen(buf), 0) != (ssize_t)strlen(buf)) {
		e = -errno;
		snprintf(err, errlen, "cannot write pid file %s: %s", path, strerror(errno));
		close(fd);
		return e;
	}
	a->pid_fd = fd;
	snprintf(a->pid_path, sizeof(a->pid_path), "%s", path);
	return 0;
}

/* ---- dumps (tests, debugging) ---- */

static void dump(struct ct_agent *a, FILE *f, const struct ct_nbatch *b, const uint32_t *idx,
		 uint32_t n)
{
	struct ct_buf out;

	ct_buf_init(&out);
	for (uint32_t i = 0; i < n; i++)
		ct_span_dump_json(&out, b, &b->spans[idx ? idx[i] : i]);
	pthread_mutex_lock(&a->dump_mu);
	if (out.len)
		fwrite(out.data, 1, out.len, f);
	fflush(f);
	pthread_mutex_unlock(&a->dump_mu);
	ct_buf_fini(&out);
}

static void on_exported(void *arg, const struct ct_nbatch *b, const uint32_t *idx, uint32_t n)
{
	struct ct_agent *a = arg;

	if (a->exported_json)
		dump(a, a->exported_json, b, idx, n);
}

/* ---- the receivers' sink ---- */

static void id_bytes(uint8_t *out, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void on_slow_native(void *arg, uint64_t start, uint64_t end, uint64_t trace_hi,
			   uint64_t trace_lo, uint64_t span_id, int32_t pid, const char *name)
{
	struct ct_agent *a = arg;
	struct ct_flight_trigger t = {.start_ns = start, .end_ns = end, .pid = pid};

	if (!a->flight)
		return;
	id_bytes(t.trace_id, trace_hi);
	id_bytes(t.trace_id + 8, trace_lo);
	id_bytes(t.span_id, span_id);
	snprintf(t.name, sizeof(t.name), "%s", name);
	snprintf(t.source, sizeof(t.source), "native");
	ct_flight_trigger(a->flight, &t);
}

/*
 * Spans without a process id (Zipkin, some OTLP senders) from a local TCP peer: the process
 * owning the client's socket sent them. Recorded as the resource's process.pid, so that the
 * export says which process the annotation is about.
 */
/*
 * Whether pid runs a JavaScript runtime. Zipkin carries no SDK name, but zipkin-js stamps
 * spans with Date.now() (ms) plus a µs offset: its times share an error of up to 1 ms.
 */
static int is_js_runtime(int32_t pid)
{
	static const char *const names[] = {"node", "nodejs", "deno", "bun"};
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	comm[strcspn(comm, "\n")] = 0;
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(comm, names[i]))
			return 1;
	return 0;
}

static void resolve_pids(struct ct_agent *a, struct ct_nbatch *b)
{
	int32_t pid = -1;
	int js = 0;

	for (uint32_t i = 0; i < b->n_resources; i++) {
		struct ct_nresource *r = &b->resources[i];

		if (r->pid > 0)
			continue;
		if (pid < 0)
			pid = b->peer_ip4 ? ct_peer_pid("/proc", b->peer_ip4, b->peer_port,
							b->local_ip4, b->local_port)
					  : 0;
		pthread_mutex_lock(&a->pub_mu);
		if (pid > 0)
			a->zipkin_pid_resolved++;
		else
			a->zipkin_pid_unknown++;
		pthread_mutex_unlock(&a->pub_mu);
		if (pid <= 0)
			continue;
		if (!ct_nattrs_add_int(b, &r->attrs, "process.pid", pid)) {
			ct_nattrs_add_str(b, &r->attrs, "crosstrace.pid_source",
					  "tcp-peer: owner of the client socket");
			r->pid = pid;
			js = is_js_runtime(pid);
		}
		for (uint32_t k = 0; js && k < b->n_spans; k++)
			if (b->spans[k].resource == i && b->spans[k].time_resolution_ns < 1000000)
				b->spans[k].time_resolution_ns = 1000000;
	}
}

static int sink(void *arg, struct ct_nbatch *b)
{
	struct ct_agent *a = arg;
	struct ct_span_ev_clock clk;
	int e;

	clk.offset_ns = ct_clock_offset_ns(&clk.uncertainty_ns);
	if (a->c.capture && a->c.annotate) {
		struct ct_nbatch *c;

		resolve_pids(a, b);
		/* Kept until its kernel data is analysed: only the model, packed (a decoder's
		 * arena holds its parse tree too, several times the size). */
		if (!ct_nbatch_compact(b, &c)) {
			ct_nbatch_free(b);
			b = c;
		}
	}
	/* Room first: a batch the agent cannot hold is refused before anything records it. */
	if (ct_feed_reserve(a->feed, b)) {
		ct_nbatch_free(b);
		return CT_EFULL;
	}
	if (a->foreign) {
		e = ct_foreign_add(a->foreign, b, &clk);
		if (e) {
			ct_feed_unreserve(a->feed, b);
			ct_nbatch_free(b);
			return CT_EFULL;
		}
	}
	if (a->received_json)
		dump(a, a->received_json, b, NULL, b->n_spans);
	if (a->flight) {
		for (uint32_t i = 0; i < b->n_spans; i++) {
			const struct ct_nspan *s = &b->spans[i];
			const struct ct_nresource *r = &b->resources[s->resource];
			struct ct_flight_trigger t = {0};

			if (s->end_ns < s->start_ns || s->end_ns - s->start_ns < a->c.threshold_ns)
				continue;
			t.start_ns = ct_span_ev_mono(&clk, s->start_ns);
			t.end_ns = ct_span_ev_mono(&clk, s->end_ns);
			memcpy(t.trace_id, s->trace_id, 16);
			memcpy(t.span_id, s->span_id, 8);
			t.pid = r->pid;
			snprintf(t.name, sizeof(t.name), "%s", s->name);
			snprintf(t.service, sizeof(t.service), "%s", r->service);
			snprintf(t.source, sizeof(t.source), "%s", b->sdk);
			ct_flight_trigger(a->flight, &t);
		}
	}
	e = ct_feed_add(a->feed, b, &clk);
	if (e) {
		ct_nbatch_free(b);
		return CT_EFULL;
	}
	return 0;
}

/*
 * Asked by the receivers before decoding a request: when the sink would refuse it -- the
 * feed (spans waiting for their kernel data fill the memory limits; judged by the last
 * batch's size) or the recording's buffer (full at any size) -- the request is answered 503
 * undecoded, so overload costs no decoding.
 */
static int admit(void *arg, size_t bytes)
{
	struct ct_agent *a = arg;

	(void)bytes;
	if (ct_feed_admit(a->feed))
		return CT_EFULL;
	return a->foreign && ct_foreign_full(a->foreign) ? CT_EFULL : 0;
}

/* ---- the owner thread: chunks ---- */

static uint64_t chunk_begin(const struct ct_agent *a, unsigned index)
{
	return index < a->n_bounds ? a->bounds[index] : 0;
}

static void note_chunks(struct ct_agent *a, uint64_t now)
{
	struct ct_tracedir *td = ct_recorder_tracedir(a->rec);
	struct ct_tracedir_stats st;

	if (!td)
		return; /* closed */
	ct_tracedir_stats(td, &st);
	/* A chunk opened since the last look began now (rotation happens in the tick). */
	while (a->n_bounds < st.chunks) {
		if (a->n_bounds == a->cap_bounds) {
			size_t cap = a->cap_bounds ? a->cap_bounds * 2 : 64;
			uint64_t *n = realloc(a->bounds, cap * sizeof(*n));

			if (!n)
				return;
			a->bounds = n;
			a->cap_bounds = cap;
		}
		/* The first chunk begins at 0 (format/tracedir.h). */
		a->bounds[a->n_bounds] = a->n_bounds ? now : 0;
		a->n_bounds++;
	}
}

static int tick_hook(void *arg, uint64_t now)
{
	struct ct_agent *a = arg;
	int e;

	e = a->foreign ? ct_foreign_tick(a->foreign, now)
		       : ct_tracedir_tick(ct_recorder_tracedir(a->rec), now);
	note_chunks(a, now);
	if (a->flight)
		ct_flight_tick(a->flight, now);
	return e;
}

static int flush_hook(void *arg)
{
	struct ct_agent *a = arg;

	return a->foreign ? ct_foreign_flush(a->foreign) : 0;
}

/*
 * Hard links of a sealed chunk's files: retention may remove the chunk, not these. The
 * received spans' own stream ("foreign") is not linked: the feed gives the annotator those
 * spans, so reading them back from the chunk only to skip them was the recording's cost paid
 * a second time (and its losses are the recording's, not the kernel data's).
 */
static int pin(struct ct_agent *a, unsigned index, const char *dir, char *out, size_t size)
{
	char from[PATH_MAX + 256], to[PATH_MAX + 300];
	struct dirent *e;
	DIR *d;
	int err = 0;

	snprintf(out, size, "%s/%06u", a->staging, index);
	if (mkdir(out, 0755) && errno != EEXIST)
		return -errno;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "foreign"))
			continue;
		snprintf(from, sizeof(from), "%s/%s", dir, e->d_name);
		snprintf(to, sizeof(to), "%s/%s", out, e->d_name);
		if (link(from, to) && errno != EEXIST) {
			err = -errno;
			break;
		}
	}
	closedir(d);
	return err;
}

static void on_chunk(void *arg, const char *what, unsigned index, const char *dir)
{
	struct ct_agent *a = arg;
	uint64_t begin, end;

	/* Boundaries are noted in the tick hook with the exact time the trace directory rotated
	 * at; a chunk sealed has its successor noted already, except the last one at close. */
	begin = chunk_begin(a, index);
	/* ... which ends now: every event it holds was recorded before. */
	end = index + 1 < a->n_bounds ? a->bounds[index + 1] : ct_mono_ns();
	if (!strcmp(what, "removed")) {
		a->own.chunks_removed++;
		if (!a->c.flight_ns) {
			char limit[96] = "";

			if (a->c.max_chunks)
				snprintf(limit, sizeof(limit), "the newest %u chunks",
					 a->c.max_chunks);
			if (a->c.max_bytes)
				snprintf(limit + strlen(limit), sizeof(limit) - strlen(limit),
					 "%s%llu bytes of chunks",
					 limit[0] ? ", at most " : "at most ",
					 (unsigned long long)a->c.max_bytes);
			ct_agent_log("retention: removed chunk %06u (%s), the oldest; keeping %s",
				     index, dir, limit);
		} else if (a->own.chunks_removed == 1) {
			/* The ring drops a chunk per chunk length: said once, counted in /stats. */
			ct_agent_log("flight recorder: the ring holds its %llu ms; from now on its "
				     "oldest chunk is dropped as a new one is sealed",
				     (unsigned long long)(a->c.flight_ns / 1000000));
		}
		if (a->flight)
			ct_flight_chunk(a->flight, what, index, begin, end, dir);
		return;
	}
	a->own.chunks_sealed++;
	if (a->flight)
		ct_flight_chunk(a->flight, what, index, begin, end, dir);
	if (a->ann) {
		char pinned[PATH_MAX + 32];
		int e = a->c.annotate ? pin(a, index, dir, pinned, sizeof(pinned)) : -ECANCELED;

		if (e && e != -ECANCELED) {
			a->own.pin_errors++;
			ct_agent_log(
				"cannot keep chunk %06u for the annotator (%s): its time counts "
				"as missing",
				index, strerror(-e));
		}
		if (!e)
			a->own.chunks_pinned++;
		if (a->c.annotate)
			ct_annotator_chunk(a->ann, index, begin, end, e ? "" : pinned);
	}
}

/* ---- counters ---- */

static void publish(struct ct_agent *a)
{
	if (a->rec) {
		ct_recorder_stats(a->rec, &a->own.rec);
		if (ct_recorder_tracedir(a->rec))
			ct_tracedir_stats(ct_recorder_tracedir(a->rec), &a->own.td);
	}
	if (a->watch)
		ct_watch_stats(a->watch, &a->own.watch);
	pthread_mutex_lock(&a->pub_mu);
	a->pub = a->own;
	pthread_mutex_unlock(&a->pub_mu);
}

struct snapshot {
	struct owner_view own;
	struct ct_receiver_stats rcv;
	struct ct_feed_stats feed;
	struct ct_annotator_stats ann;
	struct ct_otlp_exporter_stats ex;
	struct ct_foreign_stats fs;
	struct ct_flight_stats fl;
	uint64_t zipkin_resolved, zipkin_unknown;
	uint64_t rss;
};

static uint64_t rss_bytes(void)
{
	char buf[128];
	unsigned long long pages = 0, rss = 0;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	if (sscanf(buf, "%llu %llu", &pages, &rss) != 2)
		return 0;
	return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void take_snapshot(struct ct_agent *a, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&a->pub_mu);
	s->own = a->pub;
	s->zipkin_resolved = a->zipkin_pid_resolved;
	s->zipkin_unknown = a->zipkin_pid_unknown;
	pthread_mutex_unlock(&a->pub_mu);
	pthread_mutex_lock(&a->pub_mu);
	if (a->rcv)
		ct_receiver_stats(a->rcv, &s->rcv);
	else
		s->rcv = a->rcv_final;
	pthread_mutex_unlock(&a->pub_mu);
	ct_feed_stats(a->feed, &s->feed);
	if (a->ann)
		ct_annotator_stats(a->ann, &s->ann);
	if (a->ex)
		ct_otlp_exporter_stats(a->ex, &s->ex);
	if (a->foreign)
		ct_foreign_stats(a->foreign, &s->fs);
	if (a->flight)
		ct_flight_stats(a->flight, &s->fl);
	s->rss = rss_bytes();
}

static void stats_json(struct ct_agent *a, struct ct_buf *out)
{
	struct snapshot s;
	struct ct_jsonw w;

	take_snapshot(a, &s);
	ct_jsonw_init(&w, out, 1);
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kuint(&w, "pid", (uint64_t)getpid());
	ct_jsonw_kdouble(&w, "uptime_s", (double)(ct_mono_ns() - a->started_ns) / 1e9);
	ct_jsonw_kstr(&w, "mode",
		      !a->c.capture    ? "receive-only"
		      : a->c.flight_ns ? "flight-recorder"
				       : "continuous");

	ct_jsonw_key(&w, "received");
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kuint(&w, "spans", s.rcv.spans);
	ct_jsonw_kuint(&w, "requests", s.rcv.requests);
	ct_jsonw_kuint(&w, "bytes", s.rcv.bytes);
	ct_jsonw_kuint(&w, "native_records", s.own.rec.client_records);
	ct_jsonw_kuint(&w, "native_connections", s.own.rec.client_connections);
	ct_jsonw_kuint(&w, "pid_from_tcp_peer", s.zipkin_resolved);
	ct_jsonw_kuint(&w, "pid_unknown", s.zipkin_unknown);
	ct_jsonw_obj_end(&w);

	ct_jsonw_key(&w, "refused");
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kuint(&w, "malformed_400", s.rcv.malformed);
	ct_jsonw_kuint(&w, "too_large_413", s.rcv.too_large);
	ct_jsonw_kuint(&w, "wrong_type_415", s.rcv.bad_type);
	ct_jsonw_kuint(&w, "too_slow", s.rcv.too_slow);
	ct_jsonw_kuint(&w, "not_found_404", s.rcv.not_found);
	ct_jsonw_kuint(&w, "busy_503", s.rcv.busy);
	ct_jsonw_kuint(&w, "busy_503_undecoded", s.rcv.busy_undecoded);
	ct_jsonw_kuint(&w, "abandoned", s.rcv.aborted);
	ct_jsonw_kuint(&w, "rejected_spans", s.rcv.rejected_spans);
	ct_jsonw_obj_end(&w);

	ct_jsonw_key(&w, "annotation");
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kuint(&w, "annotated", s.ann.annotated);
	ct_jsonw_kuint(&w, "unannotated", s.ann.unannotated);
	ct_jsonw_key(&w, "unannotated_by_reason");
	ct_jsonw_obj_begin(&w);
	for (unsigned r = 1; r < CT_FEED_NREASONS; r++)
		ct_jsonw_kuint(&w, ct_feed_reason_name(r), s.feed.by_reason[r]);
	ct_jsonw_obj_end(&w);
	ct_jsonw_kuint(&w, "native_spans", s.ann.native);
	ct_jsonw_kuint(&w, "syscall_spans", s.ann.syscall_spans);
	ct_jsonw_kuint(&w, "waiting_spans", s.feed.spans_held);
	ct_jsonw_kuint(&w, "waiting_bytes", s.feed.bytes_held);
	ct_jsonw_kuint(&w, "refused_spans", s.feed.refused);
	ct_jsonw_kuint(&w, "chunks_analysed", s.ann.chunks_analysed);
	ct_jsonw_kuint(&w, "chunks_missing", s.ann.chunks_missing);
	ct_jsonw_kuint(&w, "events_analysed", s.ann.events);
	ct_jsonw_kuint(&w, "scope_repairs", s.feed.scope_repairs);
	ct_jsonw_kuint(&w, "anomalies", s.ann.anomalies);
	ct_jsonw_kdouble(&w, "lag_s", (double)s.ann.lag_ns / 1e9);
	ct_jsonw_obj_end(&w);

	ct_jsonw_key(&w, "exported");
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kstr(&w, "endpoint", a->c.export_url);
	ct_jsonw_kuint(&w, "submitted", s.ex.submitted);
	ct_jsonw_kuint(&w, "spans", s.ex.exported);
	ct_jsonw_kuint(&w, "rejected_by_endpoint", s.ex.rejected);
	ct_jsonw_kuint(&w, "requests", s.ex.requests);
	ct_jsonw_kuint(&w, "retries", s.ex.retries);
	ct_jsonw_kuint(&w, "queued_spans", s.ex.queued_spans);
	ct_jsonw_kuint(&w, "queued_bytes", s.ex.queued_bytes);
	ct_jsonw_kuint(&w, "max_queued_bytes", s.ex.max_queued_bytes);
	ct_jsonw_kint(&w, "last_status", s.ex.last_status);
	ct_jsonw_obj_end(&w);

	ct_jsonw_key(&w, "dropped");
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kuint(&w, "export_queue_full", s.ex.dropped_queue_full);
	ct_jsonw_kuint(&w, "export_failed", s.ex.dropped_failed);
	ct_jsonw_kuint(&w, "export_shutdown", s.ex.dropped_shutdown);
	ct_jsonw_kuint(&w, "recording_late", s.fs.late);
	ct_jsonw_kuint(&w, "recording_overflow", s.fs.overflow);
	ct_jsonw_kuint(&w, "kernel_events_lost", s.own.rec.kernel_lost);
	ct_jsonw_kuint(&w, "native_records_lost", s.own.rec.client_lost);
	ct_jsonw_kuint(&w, "trace_late", s.own.td.late);
	ct_jsonw_kuint(&w, "trace_out_of_order", s.own.td.out_of_order);
	ct_jsonw_kuint(&w, "trace_write_errors", s.own.td.write_errors);
	ct_jsonw_obj_end(&w);

	ct_jsonw_key(&w, "kernel");
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kuint(&w, "records", s.own.rec.kernel_records);
	ct_jsonw_kuint(&w, "lost", s.own.rec.kernel_lost);
	ct_jsonw_kuint(&w, "events_written", s.own.rec.events);
	ct_jsonw_kuint(&w, "processes_traced", s.own.watch.added);
	ct_jsonw_kuint(&w, "by_pid", s.own.watch.by_pid);
	ct_jsonw_kuint(&w, "by_comm", s.own.watch.by_comm);
	ct_jsonw_kuint(&w, "by_cgroup", s.own.watch.by_cgroup);
	ct_jsonw_kuint(&w, "by_all", s.own.watch.by_all);
	ct_jsonw_kbool(&w, "process_connector", s.own.watch.connector);
	ct_jsonw_obj_end(&w);

	ct_jsonw_key(&w, "chunks");
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kstr(&w, "directory", a->trace_dir);
	ct_jsonw_kuint(&w, "created", s.own.td.chunks);
	ct_jsonw_kuint(&w, "sealed", s.own.chunks_sealed);
	ct_jsonw_kuint(&w, "removed", s.own.chunks_removed);
	ct_jsonw_kuint(&w, "bytes_written", s.own.td.bytes);
	ct_jsonw_obj_end(&w);

	if (a->flight) {
		ct_jsonw_key(&w, "flight_recorder");
		ct_jsonw_obj_begin(&w);
		ct_jsonw_kuint(&w, "triggers", s.fl.triggers);
		ct_jsonw_kuint(&w, "snapshots", s.fl.snapshots);
		ct_jsonw_kuint(&w, "open", s.fl.open);
		ct_jsonw_kuint(&w, "chunks_copied", s.fl.chunks_copied);
		ct_jsonw_kuint(&w, "windows_partly_gone", s.fl.chunks_missing);
		ct_jsonw_kuint(&w, "copy_errors", s.fl.copy_errors);
		ct_jsonw_obj_end(&w);
	}

	ct_jsonw_key(&w, "memory");
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kuint(&w, "rss_bytes", s.rss);
	ct_jsonw_kuint(&w, "waiting_spans_bytes", s.feed.bytes_held);
	ct_jsonw_kuint(&w, "recording_buffer_bytes", s.fs.bytes_buffered);
	ct_jsonw_kuint(&w, "export_queue_bytes", s.ex.queued_bytes);
	ct_jsonw_obj_end(&w);
	ct_jsonw_obj_end(&w);
	ct_buf_putc(out, '\n');
}

static void metric(struct ct_buf *out, const char *name, const char *type, const char *help,
		   const char *labels, uint64_t v)
{
	ct_buf_printf(out, "# HELP crosstrace_agent_%s %s\n# TYPE crosstrace_agent_%s %s\n", name,
		      help, name, type);
	ct_buf_printf(out, "crosstrace_agent_%s%s %" PRIu64 "\n", name, labels ? labels : "", v);
}

static void metrics_text(struct ct_agent *a, struct ct_buf *out)
{
	struct snapshot s;

	take_snapshot(a, &s);
	metric(out, "received_spans_total", "counter", "Spans received over OTLP and Zipkin.", NULL,
	       s.rcv.spans);
	metric(out, "annotated_spans_total", "counter", "Received spans annotated.", NULL,
	       s.ann.annotated);
	metric(out, "unannotated_spans_total", "counter",
	       "Received spans exported without annotation.", NULL, s.ann.unannotated);
	metric(out, "exported_spans_total", "counter", "Spans the export endpoint accepted.", NULL,
	       s.ex.exported);
	ct_buf_printf(out, "# HELP crosstrace_agent_dropped_spans_total Spans dropped, by "
			   "reason.\n# TYPE crosstrace_agent_dropped_spans_total counter\n");
	ct_buf_printf(out,
		      "crosstrace_agent_dropped_spans_total{reason=\"export_queue_full\"} %" PRIu64
		      "\n",
		      s.ex.dropped_queue_full);
	ct_buf_printf(
		out, "crosstrace_agent_dropped_spans_total{reason=\"export_failed\"} %" PRIu64 "\n",
		s.ex.dropped_failed);
	ct_buf_printf(out,
		      "crosstrace_agent_dropped_spans_total{reason=\"export_shutdown\"} %" PRIu64
		      "\n",
		      s.ex.dropped_shutdown);
	metric(out, "refused_requests_total", "counter",
	       "Requests answered 503 (retried by clients).", NULL, s.rcv.busy);
	metric(out, "kernel_events_lost_total", "counter", "Kernel events lost.", NULL,
	       s.own.rec.kernel_lost);
	metric(out, "chunks_sealed_total", "counter", "Chunks sealed.", NULL, s.own.chunks_sealed);
	metric(out, "chunks_removed_total", "counter", "Chunks removed by retention.", NULL,
	       s.own.chunks_removed);
	metric(out, "resident_memory_bytes", "gauge", "Resident memory.", NULL, s.rss);
}

static unsigned render(void *arg, const char *path, struct ct_buf *out, const char **ctype)
{
	struct ct_agent *a = arg;

	if (!strcmp(path, "/health")) {
		int failed;
		char why[256];

		pthread_mutex_lock(&a->pub_mu);
		failed = a->pub.failed;
		snprintf(why, sizeof(why), "%s", a->pub.failure);
		pthread_mutex_unlock(&a->pub_mu);
		*ctype = "application/json";
		if (failed) {
			struct ct_jsonw w;

			ct_jsonw_init(&w, out, 0);
			ct_jsonw_obj_begin(&w);
			ct_jsonw_kstr(&w, "status", "failing");
			ct_jsonw_kstr(&w, "reason", why);
			ct_jsonw_obj_end(&w);
			ct_buf_putc(out, '\n');
			return 503;
		}
		ct_buf_printf(out, "{\"status\":\"ok\",\"uptime_s\":%.3f}\n",
			      (double)(ct_mono_ns() - a->started_ns) / 1e9);
		return 200;
	}
	if (!strcmp(path, "/stats")) {
		*ctype = "application/json";
		stats_json(a, out);
		return 200;
	}
	if (!strcmp(path, "/metrics")) {
		*ctype = "text/plain; version=0.0.4";
		metrics_text(a, out);
		return 200;
	}
	ct_buf_puts(out, "not found: try /health, /stats or /metrics\n");
	return 404;
}

static void log_stats(struct ct_agent *a)
{
	struct snapshot s;

	take_snapshot(a, &s);
	ct_agent_log("received %" PRIu64 " spans (%" PRIu64 " refused with 503), annotated %" PRIu64
		     ", unannotated %" PRIu64 ", exported %" PRIu64 ", export drops %" PRIu64
		     " (queue full %" PRIu64 ", failed %" PRIu64 "); kernel: %" PRIu64
		     " records, %" PRIu64 " lost; chunks %u (removed %" PRIu64 "); RSS %.1f MiB",
		     s.rcv.spans, s.rcv.busy, s.ann.annotated, s.ann.unannotated, s.ex.exported,
		     s.ex.dropped_queue_full + s.ex.dropped_failed + s.ex.dropped_shutdown,
		     s.ex.dropped_queue_full, s.ex.dropped_failed, s.own.rec.kernel_records,
		     s.own.rec.kernel_lost, s.own.td.chunks, s.own.chunks_removed,
		     (double)s.rss / 1048576.0);
}

/* ---- setup ---- */

static void exporter_log(void *arg, const char *line)
{
	(void)arg;
	ct_agent_log("export: %s", line);
}

static void receiver_log(void *arg, const char *line)
{
	(void)arg;
	ct_agent_log("receiver: %s", line);
}

static int open_dump(const char *path, FILE **f, char *err, size_t errlen)
{
	if (!path[0])
		return 0;
	*f = strcmp(path, "-") ? fopen(path, "ae") : stdout;
	if (!*f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int start_capture(struct ct_agent *a, char *err, size_t errlen)
{
	struct ct_recorder_opts ro = {0};
	struct ct_agent_config *c = &a->c;
	int e;

	/* Privileges first: without them nothing below matters (and the message says what to
	 * grant, or to run with capture = false). */
	e = ct_privs_check(err, errlen);
	if (e < 0) {
		size_t n = strlen(err);

		snprintf(err + n, errlen - n,
			 "; or run the agent with --capture=false to receive and forward spans "
			 "only");
		return e;
	}
	if (c->flight_ns) {
		if (c->ring_dir[0])
			snprintf(a->trace_dir, sizeof(a->trace_dir), "%s", c->ring_dir);
		else
			snprintf(a->trace_dir, sizeof(a->trace_dir), "/dev/shm/crosstrace-agent-%d",
				 (int)getpid());
		ro.rotate_ns = c->flight_chunk_ns;
		ro.max_chunks =
			(unsigned)((c->flight_ns + c->flight_chunk_ns - 1) / c->flight_chunk_ns);
	} else {
		snprintf(a->trace_dir, sizeof(a->trace_dir), "%s", c->output);
		ro.rotate_ns = c->rotate_ns;
		ro.rotate_bytes = c->rotate_bytes;
		ro.max_chunks = c->max_chunks;
		ro.max_bytes = c->max_bytes;
	}
	ro.out_dir = a->trace_dir;
	ro.grace_ns = c->grace_ns;
	ro.ring_bytes = (size_t)c->ring_bytes;
	ro.backend = !strcmp(c->backend, "bpf")	   ? CT_KBACKEND_BPF
		     : !strcmp(c->backend, "perf") ? CT_KBACKEND_PERF
						   : CT_KBACKEND_AUTO;
	ro.verbose = c->verbose;
	ro.tool = "crosstrace agent";
	ro.on_chunk = on_chunk;
	ro.tick = tick_hook;
	ro.flush = flush_hook;
	ro.hook_arg = a;
	ro.log = ct_agent_log_line;
	if (!strcmp(c->socket, "none")) {
		ro.no_clients = 1;
	} else {
		snprintf(a->socket_path, sizeof(a->socket_path), "%s",
			 c->socket[0] ? c->socket : DEFAULT_SOCKET);
		if (!c->socket[0]) {
			e = mkdir_p("/run/crosstrace", 0755);
			if (e) {
				snprintf(err, errlen,
					 "cannot create /run/crosstrace for the client socket: %s "
					 "(set socket to another path, or none)",
					 strerror(-e));
				return e;
			}
		}
		ro.client_socket = a->socket_path;
	}
	e = ct_recorder_new(&a->rec, &ro, err, errlen);
	if (e)
		return e;
	if (c->record_spans) {
		struct ct_foreign_opts fo = {.td = ct_recorder_tracedir(a->rec),
					     .grace_ns = c->grace_ns};

		e = ct_foreign_new(&a->foreign, &fo);
		if (e) {
			snprintf(err, errlen, "cannot create the received spans' stream: %s",
				 ct_strerror(e));
			return e;
		}
	}
	note_chunks(a, ct_mono_ns());
	snprintf(a->staging, sizeof(a->staging), "%s/.analysis", a->trace_dir);
	if (c->annotate && mkdir(a->staging, 0755) && errno != EEXIST) {
		e = -errno;
		snprintf(err, errlen, "cannot create %s: %s", a->staging, strerror(errno));
		return e;
	}
	if (c->flight_ns) {
		struct ct_flight_opts fo = {.ring_dir = a->trace_dir,
					    .out_dir = c->output,
					    .margin_ns = c->margin_ns,
					    .threshold_ns = c->threshold_ns};

		e = ct_flight_new(&a->flight, &fo);
		if (e) {
			snprintf(err, errlen, "out of memory");
			return e;
		}
	}
	e = ct_watch_new(&a->watch, a->rec, c, err, errlen);
	if (e)
		return e;
	if (ct_watch_fd(a->watch) >= 0)
		ct_recorder_add_fd(a->rec, ct_watch_fd(a->watch));
	ct_agent_log("kernel capture: %s backend%s%s, %s %s", ct_recorder_backend(a->rec),
		     ct_recorder_fallback(a->rec) ? " (BPF unavailable: " : "",
		     ct_recorder_fallback(a->rec) ? ct_recorder_fallback(a->rec) : "",
		     c->flight_ns ? "flight-recorder ring" : "recording to", a->trace_dir);
	return 0;
}

/* The health endpoint may be reading the receivers' counters: swap under the lock. */
static void stop_receiver(struct ct_agent *a)
{
	struct ct_receiver *r;

	pthread_mutex_lock(&a->pub_mu);
	r = a->rcv;
	if (r)
		ct_receiver_stats(r, &a->rcv_final);
	a->rcv = NULL;
	pthread_mutex_unlock(&a->pub_mu);
	ct_receiver_stop(r);
}

static void teardown(struct ct_agent *a)
{
	/* First: it reads every other part's counters. */
	ct_health_stop(a->health);
	a->health = NULL;
	stop_receiver(a);
	if (a->rec && !a->finished) {
		/* Its stream belongs to the trace directory: gone before the directory closes. */
		ct_foreign_free(a->foreign);
		a->foreign = NULL;
		ct_recorder_finish(a->rec, "failed");
	}
	ct_annotator_free(a->ann);
	ct_otlp_exporter_free(a->ex);
	ct_foreign_free(a->foreign);
	ct_recorder_free(a->rec);
	ct_watch_free(a->watch);
	ct_flight_free(a->flight);
	ct_feed_free(a->feed);
	if (a->received_json && a->received_json != stdout)
		fclose(a->received_json);
	if (a->exported_json && a->exported_json != stdout)
		fclose(a->exported_json);
	if (a->staging[0])
		rm_rf(a->staging);
	if (a->c.flight_ns && a->trace_dir[0] && !a->c.ring_dir[0])
		rm_rf(a->trace_dir); /* the ring lives in memory; snapshots are elsewhere */
	if (a->pid_fd >= 0) {
		unlink(a->pid_path);
		close(a->pid_fd);
	}
	free(a->bounds);
	pthread_mutex_destroy(&a->dump_mu);
	pthread_mutex_destroy(&a->pub_mu);
	free(a);
}

int ct_agent_new(struct ct_agent **out, const struct ct_agent_config *c, char *err, size_t errlen)
{
	struct ct_agent *a = calloc(1, sizeof(*a));
	struct ct_feed_opts fo = {0};
	char status[PATH_MAX * 2 + 512];
	int e;

	if (!a)
		return -ENOMEM;
	a->c = *c;
	a->pid_fd = -1;
	a->started_ns = ct_mono_ns();
	pthread_mutex_init(&a->dump_mu, NULL);
	pthread_mutex_init(&a->pub_mu, NULL);
	if (!a->c.output[0]) {
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(a->c.output, sizeof(a->c.output), "crosstrace-agent-%Y%m%d-%H%M%S", &tm);
	}
	e = ct_agent_config_check(&a->c, err, errlen);
	if (e)
		goto fail;
	if (a->c.pid_file[0]) {
		e = pid_file_open(a, a->c.pid_file, err, errlen);
		if (e)
			goto fail;
	}
	e = open_dump(a->c.received_json, &a->received_json, err, errlen);
	if (!e)
		e = open_dump(a->c.exported_json, &a->exported_json, err, errlen);
	if (e)
		goto fail;
	fo.max_spans = a->c.max_pending_spans;
	fo.max_bytes = a->c.max_pending_bytes;
	fo.annotate = a->c.annotate && a->c.capture;
	e = ct_feed_new(&a->feed, &fo);
	if (e)
		goto oom;
	if (a->c.export_url[0]) {
		struct ct_otlp_exporter_opts eo = {
			.endpoint = a->c.export_url,
			.max_queue_spans = (size_t)a->c.export_queue_spans,
			.max_queue_bytes = (size_t)a->c.export_queue_bytes,
			.max_batch_spans = (uint32_t)a->c.export_batch_spans,
			.batch_delay_ms = (unsigned)(a->c.export_delay_ns / 1000000),
			.timeout_ms = (unsigned)(a->c.export_timeout_ns / 1000000),
			.initial_backoff_ms = (unsigned)(a->c.export_backoff_ns / 1000000),
			.max_backoff_ms = (unsigned)(a->c.export_max_backoff_ns / 1000000),
			.max_elapsed_ms = (unsigned)(a->c.export_max_elapsed_ns / 1000000),
			.gzip = a->c.export_gzip,
			.log = exporter_log,
		};

		e = ct_otlp_exporter_new(&a->ex, &eo, err, errlen);
		if (e)
			goto fail;
	}
	if (a->c.capture) {
		e = start_capture(a, err, errlen);
		if (e)
			goto fail;
	}
	{
		struct ct_annotator_opts ao = {.feed = a->feed,
					       .exporter = a->ex,
					       .span_delay_ns = a->c.span_delay_ns,
					       .threshold_ns = a->c.threshold_ns,
					       .detail_all = a->c.detail_all,
					       .kernel = a->c.capture,
					       .exported = on_exported,
					       .slow_native = on_slow_native,
					       .arg = a};

		e = ct_annotator_new(&a->ann, &ao);
		if (e)
			goto oom;
	}
	if (a->c.otlp_port >= 0 || a->c.zipkin_port >= 0) {
		struct ct_receiver_opts ro = {
			.bind = a->c.bind,
			.otlp_port = a->c.otlp_port,
			.zipkin_port = a->c.zipkin_port,
			.max_body = (size_t)a->c.max_body,
			.body_timeout_ms = (unsigned)(a->c.body_timeout_ns / 1000000),
			.idle_timeout_s =
				(unsigned)((a->c.idle_timeout_ns + 999999999) / 1000000000),
			.sink = sink,
			.sink_arg = a,
			.admit = admit,
			.admit_arg = a,
			.log = receiver_log,
		};

		e = ct_receiver_start(&a->rcv, &ro, err, errlen);
		if (e)
			goto fail;
	}
	if (a->c.health_port >= 0) {
		e = ct_health_start(&a->health, a->c.health_bind, a->c.health_port, render, a, err,
				    errlen);
		if (e)
			goto fail;
	}
	publish(a);
	ct_agent_log("ready: OTLP/HTTP on %s:%d, Zipkin on %s:%d, native clients on %s, health on "
		     "%s:%d%s%s",
		     a->c.bind, a->rcv ? ct_receiver_otlp_port(a->rcv) : -1, a->c.bind,
		     a->rcv ? ct_receiver_zipkin_port(a->rcv) : -1,
		     a->socket_path[0] ? a->socket_path : "(none)", a->c.health_bind,
		     a->health ? ct_health_port(a->health) : -1, a->ex ? ", exporting to " : "",
		     a->ex ? a->c.export_url : "");
	if (a->c.status_file[0]) {
		snprintf(status, sizeof(status),
			 "pid %d\notlp %d\nzipkin %d\nhealth %d\nsocket %s\noutput %s\ntrace %s\n",
			 (int)getpid(), a->rcv ? ct_receiver_otlp_port(a->rcv) : -1,
			 a->rcv ? ct_receiver_zipkin_port(a->rcv) : -1,
			 a->health ? ct_health_port(a->health) : -1,
			 a->socket_path[0] ? a->socket_path : "none", a->c.output,
			 a->trace_dir[0] ? a->trace_dir : "none");
		e = write_atomic(a->c.status_file, status);
		if (e) {
			snprintf(err, errlen, "cannot write status file %s: %s", a->c.status_file,
				 strerror(-e));
			goto fail;
		}
	}
	*out = a;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	teardown(a);
	return e ? e : -ENOMEM;
}

int ct_agent_run(struct ct_agent *a, volatile sig_atomic_t *stop)
{
	int e = 0;

	while (!*stop) {
		uint64_t now;

		if (a->rec) {
			e = ct_recorder_poll(a->rec, 50);
			if (e) {
				pthread_mutex_lock(&a->pub_mu);
				a->own.failed = 1;
				snprintf(a->own.failure, sizeof(a->own.failure),
					 "writing the kernel recording to %s failed: %s",
					 a->trace_dir, ct_strerror(e));
				pthread_mutex_unlock(&a->pub_mu);
				ct_agent_log("%s: stopping", a->own.failure);
				publish(a);
				return e;
			}
			ct_watch_poll(a->watch, ct_mono_ns());
		} else {
			struct timespec ts = {0, 50 * 1000000};

			nanosleep(&ts, NULL);
		}
		now = ct_mono_ns();
		if (now - a->last_publish >= PUBLISH_NS) {
			publish(a);
			a->last_publish = now;
		}
		if (a->c.stats_log_ns && now - a->last_stats_log >= a->c.stats_log_ns) {
			if (a->last_stats_log)
				log_stats(a);
			a->last_stats_log = now;
		}
	}
	return 0;
}

int ct_agent_finish(struct ct_agent *a)
{
	int e = 0;

	ct_agent_log("stopping: no new spans; draining the kernel side and the analysis");
	/* No sink call runs after this: the feed and the recording get nothing new. */
	stop_receiver(a);
	if (a->rec) {
		/* Seals every chunk: the annotator and the flight recorder get the last ones. */
		e = ct_recorder_finish(a->rec, "complete");
		a->finished = 1;
		if (e)
			ct_agent_log("finishing the kernel recording failed: %s", ct_strerror(e));
		if (a->flight)
			ct_flight_finish(a->flight);
	}
	ct_annotator_finish(a->ann);
	if (a->ex && ct_otlp_exporter_flush(a->ex, 5000))
		ct_agent_log("export: not everything could be sent within 5 s (counted as dropped "
			     "at shutdown)");
	publish(a);
	log_stats(a);
	if (a->rec && !a->c.flight_ns)
		ct_agent_log("recording: %s", a->trace_dir);
	teardown(a);
	return e;
}
