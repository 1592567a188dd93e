// SPDX-License-Identifier: MIT
/*
 * The recorder's drain loop. Kernel records go backend -> per-CPU reorder window -> CTF
 * stream "kernel_cpu<N>"; a window releases an event once no older event of that CPU can
 * still arrive: everything older than (time the kernel buffer was last seen empty - window),
 * or, while a backlog is being read, older than (newest event of that CPU - window).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bpf/capture.h"
#include "clients.h"
#include "crosstrace/crosstrace.h"
#include "format/event.h"
#include "format/tracedir.h"
#include "format/wire.h"
#include "launch.h"
#include "privs.h"
#include "recorder.h"
#include "reorder.h"
#include "statedump.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/jsonw.h"

#define DEFAULT_WINDOW_NS (20 * 1000000ull)
#define DRAIN_BUDGET 65536
#define STATS_PERIOD_NS (100 * 1000000ull)
#define INFO_PERIOD_NS (1000 * 1000000ull)
#define MAX_TREE 4096

struct cpu_stream {
	struct ct_recorder *r;
	struct ct_tdstream *s;
	struct ct_reorder *ro;
};

struct ct_recorder {
	struct ct_recorder_opts o;
	uint64_t window_ns;
	struct ct_tracedir *td;
	struct ct_kbackend *kb;
	struct ct_clients *cl;
	char fallback[512];
	int have_fallback;
	int ep;

	struct cpu_stream **cpus;
	unsigned ncpus;
	struct ct_tdstream *sd_stream;

	uint64_t by_type[256];
	uint64_t reorder_nomem;
	int first_error;

	struct ct_launch launch;
	int spawned, child_exited, child_status;
	pid_t attached;
	unsigned processes_added;
	int more; /* the last drain left records in the kernel buffer */

	uint64_t start_ns, end_ns, last_stats_ns, last_info_ns;
	struct ct_statedump_stats sd;
	struct ct_kbackend_stats kst;
	struct ct_clients_stats cst;
	struct ct_tracedir_stats tst;
	char status[32];
	char path[PATH_MAX];
	int finished;
};

static void note_error(struct ct_recorder *r, int err)
{
	if (err < 0 && !r->first_error)
		r->first_error = err;
}

static void rlog(const struct ct_recorder_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void rlog(const struct ct_recorder_opts *o, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (o->log)
		o->log(o->log_arg, line);
	else
		fprintf(stderr, "crosstrace record: %s\n", line);
}

/* The trace directory's housekeeping, or the owner's in its place. */
static int tick_td(struct ct_recorder *r, uint64_t now)
{
	return r->o.tick ? r->o.tick(r->o.hook_arg, now) : ct_tracedir_tick(r->td, now);
}

/* ---- kernel events ---- */

static int emit(void *arg, uint16_t type, uint64_t ts, int32_t pid, int32_t tid,
		const void *payload, size_t len)
{
	struct cpu_stream *cs = arg;
	int e = ct_tdstream_append(cs->s, type, ts, pid, tid, payload, len);

	/* Drops (1) and write errors are counted by the trace directory itself. */
	if (e == 0)
		cs->r->by_type[type & 0xff]++;
	else if (e < 0)
		note_error(cs->r, e);
	return 0;
}

static struct cpu_stream *cpu_stream(struct ct_recorder *r, unsigned cpu)
{
	struct cpu_stream *cs;
	char name[32];

	if (cpu >= r->ncpus) {
		unsigned n = cpu + 1;
		struct cpu_stream **p = realloc(r->cpus, n * sizeof(*p));

		if (!p)
			return NULL;
		memset(p + r->ncpus, 0, (n - r->ncpus) * sizeof(*p));
		r->cpus = p;
		r->ncpus = n;
	}
	if (r->cpus[cpu])
		return r->cpus[cpu];
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return NULL;
	snprintf(name, sizeof(name), "kernel_cpu%u", cpu);
	if (ct_tracedir_stream(r->td, name, cpu, &cs->s) || ct_reorder_new(&cs->ro)) {
		free(cs);
		return NULL;
	}
	cs->r = r;
	r->cpus[cpu] = cs;
	return cs;
}

static void on_kevent(void *arg, unsigned cpu, uint16_t type, uint64_t ts, int32_t pid, int32_t tid,
		      const void *payload, size_t len)
{
	struct ct_recorder *r = arg;
	struct cpu_stream *cs = cpu_stream(r, cpu);

	if (!cs || ct_reorder_push(cs->ro, type, ts, pid, tid, payload, len)) {
		r->reorder_nomem++;
		cs = cs ? cs : cpu_stream(r, 0);
		if (cs)
			ct_tdstream_lost(cs->s, "kernel_events", ts, 1);
	}
}

static void on_klost(void *arg, unsigned cpu, uint64_t ts, uint64_t n)
{
	struct ct_recorder *r = arg;
	struct cpu_stream *cs = cpu_stream(r, cpu == UINT32_MAX ? 0 : cpu);
	uint8_t buf[12], *p = buf;

	if (!ts)
		ts = ct_mono_ns();
	if (!cs)
		return;
	ct_tdstream_lost(cs->s, "kernel_events", ts, n);
	p = ct_put_u32(p, cpu);
	p = ct_put_u64(p, n);
	if (ct_reorder_push(cs->ro, CT_EV_KERNEL_LOST, ts, 0, 0, buf, (size_t)(p - buf)))
		r->reorder_nomem++;
}

static void flush_windows(struct ct_recorder *r, uint64_t seen_empty_at, int complete)
{
	for (unsigned c = 0; c < r->ncpus; c++) {
		struct cpu_stream *cs = r->cpus[c];
		uint64_t limit, newest;

		if (!cs || !ct_reorder_held(cs->ro))
			continue;
		newest = ct_reorder_max_ts(cs->ro);
		if (complete && seen_empty_at > newest)
			newest = seen_empty_at;
		limit = newest > r->window_ns ? newest - r->window_ns : 0;
		ct_reorder_flush(cs->ro, limit, emit, cs);
	}
}

/* ---- state dump ---- */

static int sd_emit(void *arg, uint16_t type, int32_t pid, int32_t tid, const void *payload,
		   size_t len)
{
	struct ct_recorder *r = arg;
	int e = ct_tdstream_append(r->sd_stream, type, ct_mono_ns(), pid, tid, payload, len);

	if (e == 0)
		r->by_type[type & 0xff]++;
	else if (e < 0)
		note_error(r, e);
	return 0;
}

static void statedump(struct ct_recorder *r, pid_t pid, int flags)
{
	if (r->o.no_statedump)
		return;
	ct_statedump_process("/proc", pid, flags, sd_emit, r, &r->sd);
}

/* ---- manifest "recording" members ---- */

static void kv(struct ct_recorder *r, const char *key, struct ct_buf *b)
{
	if (!b->oom && b->len)
		ct_tracedir_set_info(r->td, key, b->data);
	ct_buf_reset(b);
}

static void update_info(struct ct_recorder *r)
{
	struct ct_buf b;
	struct ct_jsonw w;

	ct_kbackend_stats(r->kb, ct_mono_ns(), &r->kst);
	if (r->cl)
		ct_clients_stats(r->cl, &r->cst);
	ct_buf_init(&b);

	ct_jsonw_init(&w, &b, 0);
	ct_jsonw_str(&w, ct_kbackend_name(r->kb));
	kv(r, "backend", &b);
	if (r->have_fallback) {
		ct_jsonw_init(&w, &b, 0);
		ct_jsonw_str(&w, r->fallback);
		kv(r, "backend_fallback_reason", &b);
	}
	ct_jsonw_init(&w, &b, 0);
	if (r->o.command) {
		ct_jsonw_arr_begin(&w);
		for (char *const *a = r->o.command; *a; a++)
			ct_jsonw_str(&w, *a);
		ct_jsonw_arr_end(&w);
		kv(r, "command", &b);
	} else if (r->attached) {
		ct_jsonw_int(&w, r->attached);
		kv(r, "attached_pid", &b);
	}

	ct_jsonw_init(&w, &b, 0);
	ct_jsonw_obj_begin(&w);
	for (unsigned t = 0; t < 256; t++) {
		if (r->by_type[t] && ct_ev_name(t))
			ct_jsonw_kuint(&w, ct_ev_name(t), r->by_type[t]);
	}
	ct_jsonw_obj_end(&w);
	kv(r, "events_by_type", &b);

	ct_jsonw_init(&w, &b, 0);
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kuint(&w, "records", r->kst.records);
	ct_jsonw_kuint(&w, "lost", r->kst.lost + r->reorder_nomem);
	ct_jsonw_kuint(&w, "lost_reorder_memory", r->reorder_nomem);
	ct_jsonw_kuint(&w, "malformed", r->kst.malformed);
	ct_jsonw_kuint(&w, "untraced_children", r->kst.untraced_children);
	ct_jsonw_kuint(&w, "ring_bytes", r->kst.ring_bytes);
	ct_jsonw_kuint(&w, "reorder_window_ns", r->window_ns);
	{
		uint64_t inv = 0, held = 0;

		for (unsigned c = 0; c < r->ncpus; c++) {
			if (r->cpus[c]) {
				inv += ct_reorder_inversions(r->cpus[c]->ro);
				held += ct_reorder_held(r->cpus[c]->ro);
			}
		}
		/* How far from sorted the kernel delivered each CPU's records. */
		ct_jsonw_kuint(&w, "reorder_inversions", inv);
		ct_jsonw_kuint(&w, "reorder_held", held);
	}
	if (r->kst.lost_by_type) {
		ct_jsonw_key(&w, "lost_by_type");
		ct_jsonw_obj_begin(&w);
		for (unsigned t = 0; t < 32; t++) {
			if (r->kst.lost_by_type[t] && ct_ev_name(64 + t))
				ct_jsonw_kuint(&w, ct_ev_name(64 + t), r->kst.lost_by_type[t]);
		}
		ct_jsonw_obj_end(&w);
	}
	if (r->kst.lost_sys_entry) {
		/* "nr": [entry, exit]: lets a reader check recorded + lost per syscall. */
		ct_jsonw_key(&w, "lost_by_syscall");
		ct_jsonw_obj_begin(&w);
		for (unsigned nr = 0; nr < CT_KNR_MAX; nr++) {
			char k[16];

			if (!r->kst.lost_sys_entry[nr] && !r->kst.lost_sys_exit[nr])
				continue;
			snprintf(k, sizeof(k), "%u", nr);
			ct_jsonw_key(&w, k);
			ct_jsonw_arr_begin(&w);
			ct_jsonw_uint(&w, r->kst.lost_sys_entry[nr]);
			ct_jsonw_uint(&w, r->kst.lost_sys_exit[nr]);
			ct_jsonw_arr_end(&w);
		}
		ct_jsonw_obj_end(&w);
	}
	if (r->o.only_in_spans) {
		/* Left out on purpose, not lost: see docs/internals/threadctx.md. */
		ct_jsonw_key(&w, "only_in_spans");
		ct_jsonw_obj_begin(&w);
		ct_jsonw_kuint(&w, "processes_registered", r->kst.span_processes);
		ct_jsonw_kuint(&w, "left_out_outside_spans", r->kst.span_outside);
		ct_jsonw_kuint(&w, "left_out_no_thread_context", r->kst.span_no_ctx);
		ct_jsonw_kuint(&w, "left_out_scheduler", r->kst.span_sched);
		ct_jsonw_obj_end(&w);
	}
	ct_jsonw_obj_end(&w);
	kv(r, "kernel", &b);

	if (r->cl) {
		ct_jsonw_init(&w, &b, 0);
		ct_jsonw_obj_begin(&w);
		ct_jsonw_kuint(&w, "connections", r->cst.connections);
		ct_jsonw_kuint(&w, "failed", r->cst.failed);
		ct_jsonw_kuint(&w, "bytes", r->cst.bytes);
		ct_jsonw_kuint(&w, "records", r->cst.records);
		ct_jsonw_kuint(&w, "lost_records", r->cst.lost_records);
		ct_jsonw_obj_end(&w);
		kv(r, "clients", &b);
	}

	ct_jsonw_init(&w, &b, 0);
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kuint(&w, "processes", r->sd.processes);
	ct_jsonw_kuint(&w, "threads", r->sd.threads);
	ct_jsonw_kuint(&w, "fds", r->sd.fds);
	ct_jsonw_kuint(&w, "unreadable", r->sd.unreadable);
	ct_jsonw_obj_end(&w);
	kv(r, "statedump", &b);

	if (r->child_exited) {
		ct_jsonw_init(&w, &b, 0);
		ct_jsonw_obj_begin(&w);
		if (WIFSIGNALED(r->child_status))
			ct_jsonw_kint(&w, "signal", WTERMSIG(r->child_status));
		else
			ct_jsonw_kint(&w, "code", WEXITSTATUS(r->child_status));
		ct_jsonw_obj_end(&w);
		kv(r, "exit_status", &b);
	}
	ct_buf_fini(&b);
}

/* ---- span filter ---- */

/* A client said where its threads publish their span: the kernel filter reads it from now. */
static void on_thread_ctx(void *arg, int32_t pid, const struct ct_wire_thread_ctx *tc)
{
	struct ct_recorder *r = arg;
	char err[512];
	int e = ct_kbackend_set_thread_ctx(r->kb, pid, tc->tls_offset, tc->version, tc->size,
					   tc->ts, err, sizeof(err));

	if (e < 0)
		fprintf(stderr, "crosstrace record: %s\n", err);
	else if (e == 0 && r->o.verbose)
		fprintf(stderr,
			"crosstrace record: pid %d publishes its span at thread pointer %+lld "
			"(layout %u): span filter armed\n",
			(int)pid, (long long)tc->tls_offset, tc->version);
}

/* ---- lifecycle ---- */

int ct_recorder_new(struct ct_recorder **out, const struct ct_recorder_opts *o, char *err,
		    size_t errlen)
{
	struct ct_tracedir_opts to = {0};
	struct ct_kbackend_opts ko = {0};
	struct ct_ksink sink;
	struct epoll_event ev = {.events = EPOLLIN};
	struct ct_recorder *r;
	int e, perf_only;

	e = ct_privs_check(err, errlen);
	if (e < 0 || (e > 0 && o->backend == CT_KBACKEND_BPF))
		return e < 0 ? e : -EPERM;
	perf_only = e > 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->o = *o;
	r->window_ns = o->reorder_ns ? o->reorder_ns : DEFAULT_WINDOW_NS;
	r->ep = -1;
	r->launch.pid = -1;
	r->launch.gate_fd = r->launch.status_fd = -1;
	r->child_status = -1;
	snprintf(r->path, sizeof(r->path), "%s", o->out_dir);
	sink = (struct ct_ksink){.event = on_kevent, .lost = on_klost, .arg = r};
	ko.ring_bytes = o->ring_bytes;
	ko.verbose = o->verbose;
	ko.only_in_spans = o->only_in_spans;

	/* The backend first: a permission or BTF problem should not leave an empty directory. */
	if (o->backend == CT_KBACKEND_AUTO) {
		if (perf_only) {
			snprintf(r->fallback, sizeof(r->fallback), "%s", err);
			e = -EPERM;
		} else {
			e = ct_kbackend_open(&r->kb, CT_KBACKEND_BPF, &ko, &sink, r->fallback,
					     sizeof(r->fallback));
		}
		if (e) {
			r->have_fallback = 1;
			rlog(o, "BPF backend unavailable (%s); using perf_event_open tracepoints",
			     r->fallback);
			e = ct_kbackend_open(&r->kb, CT_KBACKEND_PERF, &ko, &sink, err, errlen);
		}
	} else {
		e = ct_kbackend_open(&r->kb, o->backend, &ko, &sink, err, errlen);
	}
	if (e)
		goto fail;

	to.path = o->out_dir;
	to.rotate_ns = o->rotate_ns;
	to.rotate_bytes = o->rotate_bytes;
	to.tool = o->tool ? o->tool : "crosstrace record";
	to.grace_ns = o->grace_ns;
	to.max_chunks = o->max_chunks;
	to.max_bytes = o->max_bytes;
	to.on_chunk = o->on_chunk;
	to.on_chunk_arg = o->hook_arg;
	e = ct_tracedir_create(&r->td, &to, err, errlen);
	if (e) {
		size_t n = strlen(err);

		if (e != -EEXIST && n + 1 < errlen)
			snprintf(err + n, errlen - n, " (choose a writable place with -o DIR)");
		goto fail;
	}
	e = ct_tracedir_stream(r->td, "statedump", UINT32_MAX, &r->sd_stream);
	if (e) {
		snprintf(err, errlen, "cannot create the statedump stream: %s", ct_strerror(e));
		goto fail;
	}
	if (!o->no_clients) {
		e = ct_clients_new(&r->cl, r->td, o->client_socket, err, errlen);
		if (e)
			goto fail;
		if (o->log)
			ct_clients_set_log(r->cl, o->log, o->log_arg);
	}
	r->ep = epoll_create1(EPOLL_CLOEXEC);
	if (r->ep < 0) {
		e = -errno;
		snprintf(err, errlen, "epoll: %s", strerror(-e));
		goto fail;
	}
	ev.data.u32 = 1;
	if (ct_kbackend_fd(r->kb) >= 0)
		epoll_ctl(r->ep, EPOLL_CTL_ADD, ct_kbackend_fd(r->kb), &ev);
	ev.data.u32 = 2;
	if (r->cl)
		epoll_ctl(r->ep, EPOLL_CTL_ADD, ct_clients_fd(r->cl), &ev);
	if (r->cl && o->only_in_spans)
		ct_clients_on_thread_ctx(r->cl, on_thread_ctx, r);
	r->start_ns = ct_mono_ns();
	r->last_stats_ns = r->last_info_ns = r->start_ns;
	update_info(r);
	*out = r;
	return 0;
fail:
	if (r->td) {
		/* Created but unusable: the manifest says so. */
		ct_tracedir_close(r->td, "failed");
		r->td = NULL;
	}
	ct_recorder_free(r);
	return e;
}

const char *ct_recorder_backend(const struct ct_recorder *r)
{
	return ct_kbackend_name(r->kb);
}

const char *ct_recorder_fallback(const struct ct_recorder *r)
{
	return r->have_fallback ? r->fallback : NULL;
}

int ct_recorder_spawn(struct ct_recorder *r, char *const argv[], pid_t *pid, char *err,
		      size_t errlen)
{
	char path[4096], *env[2] = {NULL, NULL};
	int e, e2;

	e = ct_launch_resolve(argv[0], path, sizeof(path), err, errlen);
	if (e)
		return e;
	if (r->cl)
		env[0] = (char *)ct_clients_env(r->cl);
	e = ct_kbackend_spawn_begin(r->kb, err, errlen);
	if (e)
		return e;
	e = ct_launch_fork(&r->launch, path, argv, env);
	e2 = ct_kbackend_spawn_end(r->kb, e ? 0 : r->launch.pid, err, errlen);
	if (e) {
		snprintf(err, errlen, "cannot start %s: %s", argv[0], strerror(-e));
		return e;
	}
	if (e2) {
		ct_launch_abort(&r->launch);
		return e2;
	}
	r->spawned = 1;
	/* The child waits before exec: what it will keep is what it holds now minus O_CLOEXEC. */
	statedump(r, r->launch.pid, CT_STATEDUMP_BEFORE_EXEC);
	e = ct_launch_release(&r->launch);
	if (e) {
		snprintf(err, errlen, "cannot execute %s: %s", path, strerror(-e));
		return e;
	}
	*pid = r->launch.pid;
	return 0;
}

int ct_recorder_attach(struct ct_recorder *r, pid_t pid, char *err, size_t errlen)
{
	pid_t *pids = malloc(MAX_TREE * sizeof(*pids)), *done = NULL;
	int n, ndone = 0, e = 0;

	if (!pids)
		return -ENOMEM;
	done = malloc(MAX_TREE * sizeof(*done));
	if (!done) {
		free(pids);
		return -ENOMEM;
	}
	/* Twice: a process forked by a member before that member was added is caught by the
	 * second listing (after, the kernel filter follows forks itself). */
	for (int pass = 0; pass < 2 && !e; pass++) {
		n = ct_statedump_tree("/proc", pid, pids, MAX_TREE);
		if (n < 0) {
			snprintf(err, errlen, "no process with pid %d (check the pid with ps)",
				 (int)pid);
			e = -ESRCH;
			break;
		}
		for (int i = 0; i < n && !e; i++) {
			int seen = 0;

			for (int j = 0; j < ndone; j++)
				seen |= done[j] == pids[i];
			if (seen || ndone >= MAX_TREE)
				continue;
			e = ct_kbackend_add_process(r->kb, pids[i], err, errlen);
			if (e == -ESRCH && i > 0)
				e = 0; /* a descendant that exited meanwhile */
			else if (!e)
				done[ndone++] = pids[i];
		}
	}
	for (int i = 0; i < ndone && !e; i++)
		statedump(r, done[i], 0);
	free(pids);
	free(done);
	if (!e) {
		r->attached = pid;
		r->processes_added += (unsigned)ndone;
		/* Say so in the manifest now: from here on the tree is traced. */
		update_info(r);
		note_error(r, tick_td(r, ct_mono_ns()));
	}
	return e;
}

int ct_recorder_watch(struct ct_recorder *r, pid_t pid, int tree, char *err, size_t errlen)
{
	pid_t *pids = malloc(MAX_TREE * sizeof(*pids)), *added;
	int n, nadded = 0, e = 0;

	if (!pids)
		return -ENOMEM;
	added = malloc(MAX_TREE * sizeof(*added));
	if (!added) {
		free(pids);
		return -ENOMEM;
	}
	/* As attach: twice, so that a child forked before its parent was added is caught. */
	for (int pass = 0; pass < (tree ? 2 : 1) && !e; pass++) {
		if (tree) {
			n = ct_statedump_tree("/proc", pid, pids, MAX_TREE);
		} else {
			pids[0] = pid;
			n = kill(pid, 0) && errno == ESRCH ? -ESRCH : 1;
		}
		if (n < 0) {
			if (pass == 0) {
				snprintf(err, errlen, "no process with pid %d", (int)pid);
				e = -ESRCH;
			}
			break;
		}
		for (int i = 0; i < n && !e && nadded < MAX_TREE; i++) {
			if (ct_kbackend_traces(r->kb, pids[i]))
				continue;
			e = ct_kbackend_add_process(r->kb, pids[i], err, errlen);
			if (e == -ESRCH)
				e = 0; /* exited meanwhile */
			else if (!e)
				added[nadded++] = pids[i];
		}
	}
	for (int i = 0; i < nadded; i++)
		statedump(r, added[i], 0);
	free(pids);
	free(added);
	r->processes_added += (unsigned)nadded;
	return e ? e : nadded;
}

int ct_recorder_traces(struct ct_recorder *r, pid_t pid)
{
	return ct_kbackend_traces(r->kb, pid);
}

struct ct_tracedir *ct_recorder_tracedir(struct ct_recorder *r)
{
	return r->td;
}

const char *ct_recorder_client_socket(const struct ct_recorder *r)
{
	return r->cl ? ct_clients_path(r->cl) : NULL;
}

void ct_recorder_stats(const struct ct_recorder *r, struct ct_recorder_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->kernel_records = r->kst.records;
	st->kernel_lost = r->kst.lost + r->reorder_nomem;
	st->client_records = r->cst.records;
	st->client_lost = r->cst.lost_records;
	st->client_connections = r->cst.connections;
	st->client_open = r->cst.open;
	if (r->td) {
		struct ct_tracedir_stats ts;

		ct_tracedir_stats(r->td, &ts);
		st->events = ts.events;
	} else {
		st->events = r->tst.events;
	}
	st->processes_added = r->processes_added;
}

static void check_child(struct ct_recorder *r)
{
	int st;
	pid_t p;

	if (!r->spawned || r->child_exited)
		return;
	p = waitpid(r->launch.pid, &st, WNOHANG);
	if (p == r->launch.pid) {
		r->child_exited = 1;
		r->child_status = st;
	}
}

/* One round: drain the kernel buffer, release what the windows allow, serve clients, tick. */
static int step(struct ct_recorder *r, int *more)
{
	uint64_t before = ct_mono_ns(), now;
	int n = ct_kbackend_drain(r->kb, DRAIN_BUDGET, more);

	if (n < 0)
		note_error(r, n);
	flush_windows(r, before, !*more);
	if (r->cl)
		ct_clients_poll(r->cl);
	now = ct_mono_ns();
	if (now - r->last_stats_ns >= STATS_PERIOD_NS) {
		ct_kbackend_stats(r->kb, now, &r->kst);
		if (r->cl)
			ct_clients_stats(r->cl, &r->cst);
		r->last_stats_ns = now;
	}
	note_error(r, tick_td(r, now));
	if (r->cl)
		ct_clients_tick(r->cl, now);
	if (now - r->last_info_ns >= INFO_PERIOD_NS) {
		update_info(r);
		r->last_info_ns = now;
	}
	return r->first_error;
}

int ct_recorder_run(struct ct_recorder *r, volatile sig_atomic_t *stop)
{
	uint64_t linger_until = 0, last_alive_check = 0;
	int more = 0;

	while (!*stop) {
		struct epoll_event evs[4];
		uint64_t now;

		if (!more)
			epoll_wait(r->ep, evs, 4, 10);
		if (step(r, &more))
			return r->first_error;
		now = ct_mono_ns();
		check_child(r);
		if (!linger_until && r->spawned && r->child_exited)
			linger_until = now + r->window_ns;
		if (!linger_until && !r->spawned && r->attached &&
		    now - last_alive_check >= STATS_PERIOD_NS) {
			last_alive_check = now;
			if (!ct_kbackend_alive(r->kb))
				linger_until = now + r->window_ns;
		}
		/* The last records of an exiting process (its final context switch) are written
		 * just after its parent learns of the exit: give them one window to arrive. */
		if (linger_until && now >= linger_until)
			break;
	}
	return 0;
}

int ct_recorder_poll(struct ct_recorder *r, int timeout_ms)
{
	struct epoll_event evs[8];

	if (!r->more)
		epoll_wait(r->ep, evs, 8, timeout_ms);
	step(r, &r->more);
	return r->first_error;
}

int ct_recorder_add_fd(struct ct_recorder *r, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 3};

	return epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int ct_recorder_child_status(const struct ct_recorder *r)
{
	return r->child_exited ? r->child_status : -1;
}

int ct_recorder_finish(struct ct_recorder *r, const char *status)
{
	int more = 1, e;

	if (r->finished)
		return r->first_error;
	r->finished = 1;
	check_child(r);
	ct_kbackend_stop(r->kb);
	/* Stopped: what is left is finite. Release windows as batches come, like step(). */
	for (int i = 0; more && i < 10000; i++) {
		uint64_t before = ct_mono_ns();
		int n = ct_kbackend_drain(r->kb, DRAIN_BUDGET, &more);

		if (n < 0) {
			note_error(r, n);
			break;
		}
		flush_windows(r, before, !more);
	}
	ct_kbackend_stats(r->kb, ct_mono_ns(), &r->kst);
	for (unsigned c = 0; c < r->ncpus; c++) {
		if (r->cpus[c])
			ct_reorder_flush(r->cpus[c]->ro, UINT64_MAX, emit, r->cpus[c]);
	}
	if (r->cl)
		ct_clients_finish(r->cl);
	if (r->o.flush)
		note_error(r, r->o.flush(r->o.hook_arg));
	r->end_ns = ct_mono_ns();
	update_info(r);
	snprintf(r->status, sizeof(r->status), "%s", status);
	ct_tracedir_stats(r->td, &r->tst);
	e = ct_tracedir_close(r->td, status);
	r->td = NULL;
	note_error(r, e);
	return r->first_error;
}

void ct_recorder_summary(const struct ct_recorder *r, FILE *f)
{
	const struct ct_tracedir_stats *t = &r->tst;
	uint64_t kernel_lost = r->kst.lost + r->reorder_nomem;

	fprintf(f, "crosstrace record: %s, backend %s, %.2f s\n", r->status,
		ct_kbackend_name(r->kb), (double)(r->end_ns - r->start_ns) / 1e9);
	fprintf(f, "events: %llu\n", (unsigned long long)t->events);
	for (unsigned ty = 0; ty < 256; ty++) {
		if (r->by_type[ty] && ct_ev_name(ty))
			fprintf(f, "  %-20s %llu\n", ct_ev_name(ty),
				(unsigned long long)r->by_type[ty]);
	}
	if (r->cl)
		fprintf(f,
			"spans: %llu client records received (%u connections, %llu records lost by "
			"clients)\n",
			(unsigned long long)r->cst.records, r->cst.connections,
			(unsigned long long)r->cst.lost_records);
	if (r->o.only_in_spans) {
		fprintf(f,
			"only-in-spans: %u processes published their span; left out %llu syscall "
			"and block events of threads inside no sampled span, %llu of processes "
			"that published none, %llu switches and wake-ups without a thread in a "
			"sampled span\n",
			r->kst.span_processes, (unsigned long long)r->kst.span_outside,
			(unsigned long long)r->kst.span_no_ctx,
			(unsigned long long)r->kst.span_sched);
		if (r->kst.span_no_ctx)
			fprintf(f,
				"only-in-spans: of processes that publish no span (not linked with "
				"libcrosstrace, or their spans go elsewhere) only switches and "
				"wake-ups with a thread in a sampled span are kept\n");
	}
	fprintf(f,
		"drops: kernel %llu, client %llu, late %llu, out-of-order %llu, write errors "
		"%llu\n",
		(unsigned long long)kernel_lost, (unsigned long long)r->cst.lost_records,
		(unsigned long long)t->late, (unsigned long long)t->out_of_order,
		(unsigned long long)t->write_errors);
	if (r->kst.untraced_children)
		fprintf(f, "warning: %llu child processes could not be followed (filter full)\n",
			(unsigned long long)r->kst.untraced_children);
	fprintf(f, "chunks: %u\n", t->chunks);
	fprintf(f, "output: %s\n", r->path);
}

void ct_recorder_free(struct ct_recorder *r)
{
	if (!r)
		return;
	if (!r->finished && r->td)
		ct_recorder_finish(r, "interrupted");
	if (r->launch.gate_fd >= 0)
		ct_launch_abort(&r->launch);
	ct_clients_free(r->cl);
	ct_kbackend_free(r->kb);
	for (unsigned c = 0; c < r->ncpus; c++) {
		if (r->cpus[c]) {
			ct_reorder_free(r->cpus[c]->ro);
			free(r->cpus[c]);
		}
	}
	free(r->cpus);
	if (r->ep >= 0)
		close(r->ep);
	free(r);
}
