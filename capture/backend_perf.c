// SPDX-License-Identifier: MIT
/*
 * The perf_event_open backend, for kernels where the BPF programs cannot load: one
 * tracepoint event per (traced thread, CPU, tracepoint) with inherit=1, so children and new
 * threads follow; all events of a CPU write into one ring (PERF_EVENT_IOC_SET_OUTPUT),
 * stamped with CLOCK_MONOTONIC (use_clockid) and read on a watermark, never per event.
 * Limits against the BPF backend (perf cannot run code in the kernel): no file names or
 * socket addresses (user memory), switches and wake-ups only as seen from traced tasks, no
 * block completions (they run in interrupt context), exit codes unknown (-1).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "crosstrace/crosstrace.h"
#include "format/event.h"
#include "kbackend.h"
#include "privs.h"
#include "tracefs.h"

#define DEFAULT_RING (8u << 20) /* per CPU */
/* Without CAP_IPC_LOCK, perf buffers count against perf_event_mlock_kb (516 KiB per CPU by
 * default) and then RLIMIT_MEMLOCK: stay within the first. */
#define DEFAULT_RING_UNPRIVILEGED (256u << 10)
#define TASK_REPORT_MAX 0x100 /* prev_state bit the tracepoint sets for a preemption */
#define TRACE_FLAG_HARDIRQ 0x08
#define TRACE_FLAG_SOFTIRQ 0x10
#define TRACE_FLAG_NMI 0x40

enum tp_kind {
	TP_SYS_ENTER,
	TP_SYS_EXIT,
	TP_SWITCH,
	TP_WAKING,
	TP_WAKEUP,
	TP_WAKEUP_NEW,
	TP_FORK,
	TP_EXEC,
	TP_EXIT,
	TP_RENAME,
	TP_BLOCK_ISSUE,
	TP_COUNT
};

static const struct {
	const char *sys, *name;
	int optional;
} tps[TP_COUNT] = {
	[TP_SYS_ENTER] = {"raw_syscalls", "sys_enter", 0},
	[TP_SYS_EXIT] = {"raw_syscalls", "sys_exit", 0},
	[TP_SWITCH] = {"sched", "sched_switch", 0},
	[TP_WAKING] = {"sched", "sched_waking", 1},
	[TP_WAKEUP] = {"sched", "sched_wakeup", 1},
	[TP_WAKEUP_NEW] = {"sched", "sched_wakeup_new", 1},
	[TP_FORK] = {"sched", "sched_process_fork", 0},
	[TP_EXEC] = {"sched", "sched_process_exec", 1},
	[TP_EXIT] = {"sched", "sched_process_exit", 0},
	[TP_RENAME] = {"task", "task_rename", 1},
	[TP_BLOCK_ISSUE] = {"block", "block_rq_issue", 1},
};

/* Field offsets of one tracepoint's raw record, resolved from its format file. */
struct tp {
	int present;
	int id;
	struct ct_tp_format fmt;
};

struct ring {
	int fd; /* the event that owns the mmap */
	void *base;
	size_t size; /* data area, a power of two */
	unsigned cpu;
	/* Last PERF_RECORD_FORK seen on this CPU: sched_process_fork has no child tgid. */
	int32_t fork_pid, fork_tid;
};

struct tgid_ent {
	int32_t tid, tgid; /* tgid 0: not found (negative cache) */
};

struct perf_backend {
	struct ct_kbackend base;
	size_t ring_bytes;
	int ncpus;
	struct tp tp[TP_COUNT];
	int id_kind[8]; /* small cache: tracepoint id -> kind is a linear scan of tp[] */
	struct ring *rings; /* per CPU; fd -1 until the first event on that CPU */
	int *fds;
	size_t nfds, capfds;
	int ep;
	pid_t *procs; /* processes traced (attached or forked): for alive() */
	size_t nprocs, capprocs;
	struct tgid_ent *tg; /* tid -> tgid, open addressing */
	size_t tgcap, tgn;
	uint64_t records, lost, malformed;
	uint8_t scratch[64 << 10]; /* a record that wraps around the ring end */
	uint8_t payload[1024];
	int stopped;
};

static long perf_open(struct perf_event_attr *a, pid_t pid, int cpu, int group, unsigned long f)
{
	return syscall(SYS_perf_event_open, a, pid, cpu, group, f);
}

/* ---- tid -> tgid ---- */

static size_t tg_slot(const struct perf_backend *b, int32_t tid)
{
	return ((uint32_t)tid * 2654435761u) & (b->tgcap - 1);
}

static void tg_put(struct perf_backend *b, int32_t tid, int32_t tgid)
{
	size_t i;

	if (tid <= 0)
		return;
	if ((b->tgn + 1) * 2 > b->tgcap) {
		size_t cap = b->tgcap ? b->tgcap * 2 : 1024;
		struct tgid_ent *n = calloc(cap, sizeof(*n)), *old = b->tg;
		size_t oldcap = b->tgcap;

		if (!n)
			return;
		b->tg = n;
		b->tgcap = cap;
		b->tgn = 0;
		for (size_t k = 0; k < oldcap; k++) {
			if (old[k].tid)
				tg_put(b, old[k].tid, old[k].tgid);
		}
		free(old);
	}
	for (i = tg_slot(b, tid); b->tg[i].tid && b->tg[i].tid != tid; i = (i + 1) & (b->tgcap - 1))
		;
	if (!b->tg[i].tid)
		b->tgn++;
	b->tg[i].tid = tid;
	b->tg[i].tgid = tgid;
}

/* The tgid of thread tid: from what the samples told, else /proc (cached, 0 when gone). */
static int32_t tg_get(struct perf_backend *b, int32_t tid)
{
	char path[64], buf[1024];
	int32_t tgid = 0;
	ssize_t n;
	int fd;

	if (tid <= 0)
		return 0;
	if (b->tgcap) {
		for (size_t i = tg_slot(b, tid); b->tg[i].tid; i = (i + 1) & (b->tgcap - 1)) {
			if (b->tg[i].tid == tid)
				return b->tg[i].tgid;
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			char *t;

			buf[n] = 0;
			t = strstr(buf, "\nTgid:");
			if (t)
				tgid = atoi(t + 6);
		}
	}
	tg_put(b, tid, tgid);
	return tgid;
}

/* ---- decoding ---- */

static uint64_t rd(const uint8_t *raw, size_t rawlen, const struct ct_tp_field *f)
{
	uint64_t v = 0;

	if (!f || f->offset < 0 || (size_t)f->offset + (size_t)f->size > rawlen)
		return 0;
	switch (f->size) {
	case 1:
		return f->is_signed ? (uint64_t)(int64_t) * (const int8_t *)(raw + f->offset)
				    : raw[f->offset];
	case 2: {
		uint16_t x;

		memcpy(&x, raw + f->offset, 2);
		return f->is_signed ? (uint64_t)(int64_t)(int16_t)x : x;
	}
	case 4: {
		uint32_t x;

		memcpy(&x, raw + f->offset, 4);
		return f->is_signed ? (uint64_t)(int64_t)(int32_t)x : x;
	}
	case 8:
		memcpy(&v, raw + f->offset, 8);
		return v;
	default:
		return 0;
	}
}

static const struct ct_tp_field *fld(const struct tp *t, const char *name)
{
	return ct_tp_format_field(&t->fmt, name);
}

/* Copies a fixed char[] field (or a __data_loc string) as a NUL-terminated STR. */
static uint8_t *put_strf(uint8_t *p, const uint8_t *raw, size_t rawlen, const struct ct_tp_field *f,
			 size_t max)
{
	const char *s = "";
	size_t n = 0;

	if (f && f->data_loc && (size_t)f->offset + 4 <= rawlen) {
		uint32_t loc;

		memcpy(&loc, raw + f->offset, 4);
		if ((loc & 0xffff) + (loc >> 16) <= rawlen) {
			s = (const char *)raw + (loc & 0xffff);
			n = loc >> 16;
		}
	} else if (f && (size_t)f->offset + (size_t)f->size <= rawlen) {
		s = (const char *)raw + f->offset;
		n = (size_t)f->size;
	}
	n = strnlen(s, n);
	if (n > max)
		n = max;
	memcpy(p, s, n);
	p[n] = 0;
	return p + n + 1;
}

static int kind_of(const struct perf_backend *b, int id)
{
	for (int k = 0; k < TP_COUNT; k++) {
		if (b->tp[k].present && b->tp[k].id == id)
			return k;
	}
	return -1;
}

static void emit(struct perf_backend *b, unsigned cpu, uint16_t type, uint64_t ts, int32_t pid,
		 int32_t tid, const uint8_t *end)
{
	b->base.sink.event(b->base.sink.arg, cpu, type, ts, pid, tid, b->payload,
			   (size_t)(end - b->payload));
	b->records++;
}

static void on_sample(struct perf_backend *b, struct ring *r, int32_t pid, int32_t tid, uint64_t ts,
		      unsigned cpu, const uint8_t *raw, size_t rawlen)
{
	uint8_t *p = b->payload;
	const struct tp *t;
	uint16_t id;
	int kind;

	if (rawlen < 8) {
		b->malformed++;
		return;
	}
	memcpy(&id, raw, 2);
	kind = kind_of(b, id);
	if (kind < 0) {
		b->malformed++;
		return;
	}
	t = &b->tp[kind];
	tg_put(b, tid, pid);
	switch (kind) {
	case TP_SYS_ENTER: {
		const struct ct_tp_field *args = fld(t, "args");

		p = ct_put_u32(p, (uint32_t)rd(raw, rawlen, fld(t, "id")));
		for (int i = 0; i < 6; i++) {
			struct ct_tp_field a = args ? *args : (struct ct_tp_field){-1, 8, 0, 0};

			a.offset += i * 8;
			a.size = 8;
			p = ct_put_u64(p, rd(raw, rawlen, &a));
		}
		emit(b, cpu, CT_EV_SYSCALL_ENTRY, ts, pid, tid, p);
		break;
	}
	case TP_SYS_EXIT:
		p = ct_put_u32(p, (uint32_t)rd(raw, rawlen, fld(t, "id")));
		p = ct_put_u64(p, rd(raw, rawlen, fld(t, "ret")));
		emit(b, cpu, CT_EV_SYSCALL_EXIT, ts, pid, tid, p);
		break;
	case TP_SWITCH: {
		uint64_t st = rd(raw, rawlen, fld(t, "prev_state"));
		int32_t next = (int32_t)rd(raw, rawlen, fld(t, "next_pid"));

		p = ct_put_u32(p, (st & TASK_REPORT_MAX) ? 0 : (uint32_t)(st & 0xff));
		p = ct_put_u32(p, (uint32_t)rd(raw, rawlen, fld(t, "prev_prio")));
		p = ct_put_u32(p, (uint32_t)next);
		p = ct_put_u32(p, (uint32_t)tg_get(b, next));
		p = ct_put_u32(p, (uint32_t)rd(raw, rawlen, fld(t, "next_prio")));
		p = put_strf(p, raw, rawlen, fld(t, "next_comm"), 15);
		emit(b, cpu, CT_EV_SCHED_SWITCH, ts, pid, tid, p);
		break;
	}
	case TP_WAKING:
	case TP_WAKEUP:
	case TP_WAKEUP_NEW: {
		int32_t wtid = (int32_t)rd(raw, rawlen, fld(t, "pid"));
		int irq =
			(raw[2] & (TRACE_FLAG_HARDIRQ | TRACE_FLAG_SOFTIRQ | TRACE_FLAG_NMI)) != 0;
		uint16_t type = kind == TP_WAKING   ? CT_EV_SCHED_WAKING
				: kind == TP_WAKEUP ? CT_EV_SCHED_WAKEUP
						    : CT_EV_SCHED_WAKEUP_NEW;

		p = ct_put_u32(p, (uint32_t)wtid);
		p = ct_put_u32(p, (uint32_t)tg_get(b, wtid));
		p = ct_put_u32(p, (uint32_t)rd(raw, rawlen, fld(t, "target_cpu")));
		if (kind == TP_WAKING) {
			p = ct_put_u8(p, irq ? CT_WAKE_FLAG_IRQ : 0);
			p = put_strf(p, raw, rawlen, fld(t, "comm"), 15);
		}
		emit(b, cpu, type, ts, irq ? 0 : pid, irq ? 0 : tid, p);
		break;
	}
	case TP_FORK: {
		int32_t ctid = (int32_t)rd(raw, rawlen, fld(t, "child_pid"));
		int32_t cpid = r->fork_tid == ctid ? r->fork_pid : tg_get(b, ctid);

		p = ct_put_u32(p, (uint32_t)cpid);
		p = ct_put_u32(p, (uint32_t)ctid);
		p = put_strf(p, raw, rawlen, fld(t, "child_comm"), 15);
		emit(b, cpu, CT_EV_PROCESS_FORK, ts, pid, tid, p);
		break;
	}
	case TP_EXEC: {
		const struct ct_tp_field *fn = fld(t, "filename");
		uint8_t *name = p + 4, *base, *e;

		p = ct_put_u32(p, (uint32_t)rd(raw, rawlen, fld(t, "old_pid")));
		p = put_strf(p, raw, rawlen, fn, 255);
		/* The kernel names the task after the file's last component, cut to 15. */
		base = (uint8_t *)strrchr((char *)name, '/');
		base = base ? base + 1 : name;
		e = p;
		p = ct_put_str(e, (const char *)base, 15);
		emit(b, cpu, CT_EV_PROCESS_EXEC, ts, pid, tid, p);
		break;
	}
	case TP_EXIT:
		p = ct_put_u32(p, UINT32_MAX); /* exit code: not in the tracepoint */
		p = put_strf(p, raw, rawlen, fld(t, "comm"), 15);
		emit(b, cpu, CT_EV_PROCESS_EXIT, ts, pid, tid, p);
		break;
	case TP_RENAME: {
		int32_t rtid = (int32_t)rd(raw, rawlen, fld(t, "pid"));

		p = put_strf(p, raw, rawlen, fld(t, "oldcomm"), 15);
		p = put_strf(p, raw, rawlen, fld(t, "newcomm"), 15);
		emit(b, cpu, CT_EV_TASK_RENAME, ts, rtid == tid ? pid : tg_get(b, rtid), rtid, p);
		break;
	}
	case TP_BLOCK_ISSUE: {
		uint32_t bytes = (uint32_t)rd(raw, rawlen, fld(t, "bytes"));

		p = ct_put_u32(p, (uint32_t)rd(raw, rawlen, fld(t, "dev")));
		p = ct_put_u64(p, rd(raw, rawlen, fld(t, "sector")));
		p = ct_put_u32(p, (uint32_t)rd(raw, rawlen, fld(t, "nr_sector")));
		p = ct_put_u32(p, bytes);
		p = put_strf(p, raw, rawlen, fld(t, "rwbs"), 9);
		emit(b, cpu, CT_EV_BLOCK_RQ_ISSUE, ts, pid, tid, p);
		break;
	}
	}
}

static void add_proc(struct perf_backend *b, pid_t pid)
{
	for (size_t i = 0; i < b->nprocs; i++) {
		if (b->procs[i] == pid)
			return;
	}
	if (b->nprocs == b->capprocs) {
		size_t cap = b->capprocs ? b->capprocs * 2 : 16;
		pid_t *p = realloc(b->procs, cap * sizeof(*p));

		if (!p)
			return;
		b->procs = p;
		b->capprocs = cap;
	}
	b->procs[b->nprocs++] = pid;
}

/*
 * One record (header included, contiguous). Sample layout for our sample_type: TID (pid,
 * tid), TIME, CPU (cpu, res), RAW (size, data). sample_id_all trailers follow the same order.
 */
static void on_record(struct perf_backend *b, struct ring *r, const uint8_t *rec, size_t len)
{
	const struct perf_event_header *h = (const void *)rec;
	const uint8_t *p = rec + sizeof(*h);
	const uint8_t *end = rec + len;

	switch (h->type) {
	case PERF_RECORD_SAMPLE: {
		uint32_t pid, tid, cpu, rawsize;
		uint64_t ts;

		if (p + 24 > end) {
			b->malformed++;
			return;
		}
		memcpy(&pid, p, 4);
		memcpy(&tid, p + 4, 4);
		memcpy(&ts, p + 8, 8);
		memcpy(&cpu, p + 16, 4);
		p += 24;
		if (p + 4 > end) {
			b->malformed++;
			return;
		}
		memcpy(&rawsize, p, 4);
		p += 4;
		if (p + rawsize > end) {
			b->malformed++;
			return;
		}
		on_sample(b, r, (int32_t)pid, (int32_t)tid, ts, cpu, p, rawsize);
		break;
	}
	case PERF_RECORD_LOST: {
		uint64_t lost, ts = 0;

		if (p + 16 > end)
			return;
		memcpy(&lost, p + 8, 8);
		if (p + 16 + 16 <= end)
			memcpy(&ts, p + 16 + 8, 8); /* sample_id: pid, tid, then time */
		b->lost += lost;
		b->base.sink.lost(b->base.sink.arg, r->cpu, ts, lost);
		break;
	}
	case PERF_RECORD_FORK: {
		uint32_t v[4]; /* pid, ppid, tid, ptid */

		if (p + 16 > end)
			return;
		memcpy(v, p, 16);
		r->fork_pid = (int32_t)v[0];
		r->fork_tid = (int32_t)v[2];
		tg_put(b, (int32_t)v[2], (int32_t)v[0]);
		if (v[0] == v[2])
			add_proc(b, (pid_t)v[0]);
		break;
	}
	default:
		break;
	}
}

/* Reads one CPU's ring up to budget records. Returns records read; *more if some are left. */
static unsigned drain_ring(struct perf_backend *b, struct ring *r, unsigned budget, int *more)
{
	struct perf_event_mmap_page *m = r->base;
	const uint8_t *data = (const uint8_t *)r->base + sysconf(_SC_PAGESIZE);
	/* Synchronizes with the kernel's release of data_head after writing records. */
	uint64_t head = __atomic_load_n(&m->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = m->data_tail;
	unsigned n = 0;

	while (tail < head) {
		struct perf_event_header h;
		size_t off = (size_t)(tail & (r->size - 1));
		const uint8_t *rec;

		if (budget && n >= budget) {
			*more = 1;
			break;
		}
		if (off + sizeof(h) <= r->size) {
			memcpy(&h, data + off, sizeof(h));
		} else {
			size_t first = r->size - off;

			memcpy(&h, data + off, first);
			memcpy((uint8_t *)&h + first, data, sizeof(h) - first);
		}
		if (h.size < sizeof(h) || tail + h.size > head)
			break; /* cannot happen with a sane kernel; stop rather than loop */
		if (off + h.size <= r->size) {
			rec = data + off;
		} else {
			size_t first = r->size - off;

			memcpy(b->scratch, data + off, first);
			memcpy(b->scratch + first, data, h.size - first);
			rec = b->scratch;
		}
		on_record(b, r, rec, h.size);
		tail += h.size;
		n++;
	}
	/* Synchronizes with the kernel's acquire of data_tail before it overwrites space. */
	__atomic_store_n(&m->data_tail, tail, __ATOMIC_RELEASE);
	return n;
}

/* ---- setup ---- */

static int push_fd(struct perf_backend *b, int fd)
{
	if (b->nfds == b->capfds) {
		size_t cap = b->capfds ? b->capfds * 2 : 64;
		int *p = realloc(b->fds, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		b->fds = p;
		b->capfds = cap;
	}
	b->fds[b->nfds++] = fd;
	return 0;
}

static int open_ring(struct perf_backend *b, struct ring *r, int fd, char *err, size_t errlen)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct epoll_event ev = {.events = EPOLLIN};

	r->base = mmap(NULL, page + r->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->base == MAP_FAILED) {
		int e = -errno;

		r->base = NULL;
		snprintf(err, errlen,
			 "cannot map the perf buffer of CPU %u (%zu bytes): %s (lower --ring-size, "
			 "or raise /proc/sys/kernel/perf_event_mlock_kb)",
			 r->cpu, r->size, strerror(-e));
		return e;
	}
	r->fd = fd;
	ev.data.u32 = r->cpu;
	epoll_ctl(b->ep, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

/*
 * One fd per (thread, CPU, tracepoint) adds up: raise the soft open-files limit to the hard
 * one when it runs out (only then, and after the traced command was forked, which keeps its
 * own limit). Returns 1 when raised.
 */
static int raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return 0;
	rl.rlim_cur = rl.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

/* Opens every tracepoint on every CPU for thread tid (events inherited by its children). */
static int attach_thread(struct perf_backend *b, pid_t tid, char *err, size_t errlen)
{
	for (int cpu = 0; cpu < b->ncpus; cpu++) {
		struct ring *r = &b->rings[cpu];

		for (int k = 0; k < TP_COUNT; k++) {
			struct perf_event_attr a;
			int fd, e;

			if (!b->tp[k].present)
				continue;
			memset(&a, 0, sizeof(a));
			a.size = sizeof(a);
			a.type = PERF_TYPE_TRACEPOINT;
			a.config = (uint64_t)b->tp[k].id;
			a.sample_period = 1;
			a.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU |
					PERF_SAMPLE_RAW;
			a.inherit = 1;
			a.sample_id_all = 1;
			a.use_clockid = 1;
			a.clockid = CLOCK_MONOTONIC;
			a.watermark = 1;
			a.wakeup_watermark = (uint32_t)(r->size / 4);
			a.task = k == TP_SYS_ENTER; /* PERF_RECORD_FORK, once per (thread, CPU) */
			fd = (int)perf_open(&a, tid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
			if (fd < 0 && errno == EMFILE && raise_nofile())
				fd = (int)perf_open(&a, tid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
			if (fd < 0) {
				e = -errno;
				if (e == -ESRCH)
					return e; /* the thread is gone: the caller skips it */
				snprintf(err, errlen,
					 "perf_event_open(%s:%s, thread %d, cpu %d) failed: %s%s",
					 tps[k].sys, tps[k].name, (int)tid, cpu, strerror(-e),
					 e == -EACCES || e == -EPERM
						 ? " (run as root or grant CAP_PERFMON)"
					 : e == -EMFILE ? " (raise the open-files limit: ulimit -n)"
							: "");
				return e;
			}
			if (push_fd(b, fd)) {
				close(fd);
				return -ENOMEM;
			}
			if (r->fd < 0) {
				e = open_ring(b, r, fd, err, errlen);
				if (e)
					return e;
			} else if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, r->fd)) {
				e = -errno;
				snprintf(err, errlen, "cannot share the perf buffer of CPU %d: %s",
					 cpu, strerror(-e));
				return e;
			}
		}
	}
	return 0;
}

/* Whether tid already has its events (tid -> tgid cache entry with this tgid). */
static int attached_to(const struct perf_backend *b, pid_t tid, pid_t tgid)
{
	if (!b->tgcap)
		return 0;
	for (size_t i = tg_slot(b, tid); b->tg[i].tid; i = (i + 1) & (b->tgcap - 1)) {
		if (b->tg[i].tid == tid)
			return b->tg[i].tgid == tgid;
	}
	return 0;
}

static int perf_add_process(struct ct_kbackend *base, pid_t tgid, char *err, size_t errlen)
{
	struct perf_backend *b = (struct perf_backend *)base;
	char path[64];
	int e = 0, n = 0, added = 1;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)tgid);
	/*
	 * A thread created while we attach to the others inherits nothing (its creator may not
	 * have its events yet): list the threads again until a pass finds no new one.
	 */
	for (int pass = 0; !e && added && pass < 8; pass++) {
		struct dirent *de;
		DIR *d = opendir(path);

		if (!d) {
			if (n)
				break;
			snprintf(err, errlen, "no process %d: %s", (int)tgid, strerror(errno));
			return -ESRCH;
		}
		added = 0;
		while (!e && (de = readdir(d))) {
			pid_t tid = (pid_t)atoi(de->d_name);

			if (tid <= 0 || attached_to(b, tid, tgid))
				continue;
			e = attach_thread(b, tid, err, errlen);
			if (e == -ESRCH) {
				e = 0;
			} else if (!e) {
				tg_put(b, tid, tgid);
				n++;
				added++;
			}
		}
		closedir(d);
	}
	if (!e && !n) {
		snprintf(err, errlen, "process %d has no thread left to trace", (int)tgid);
		return -ESRCH;
	}
	if (!e)
		add_proc(b, tgid);
	return e;
}

static int perf_spawn_begin(struct ct_kbackend *base, char *err, size_t errlen)
{
	(void)base;
	(void)err;
	(void)errlen;
	return 0;
}

static int perf_spawn_end(struct ct_kbackend *base, pid_t child, char *err, size_t errlen)
{
	if (child <= 0)
		return 0;
	return perf_add_process(base, child, err, errlen);
}

static int perf_fd(const struct ct_kbackend *base)
{
	return ((const struct perf_backend *)base)->ep;
}

static int perf_drain(struct ct_kbackend *base, unsigned budget, int *more)
{
	struct perf_backend *b = (struct perf_backend *)base;
	unsigned total = 0;

	*more = 0;
	for (int c = 0; c < b->ncpus; c++) {
		struct ring *r = &b->rings[c];

		if (r->fd < 0)
			continue;
		total += drain_ring(b, r, budget ? budget / (unsigned)b->ncpus + 1 : 0, more);
	}
	return (int)total;
}

static void perf_stats(struct ct_kbackend *base, uint64_t ts, struct ct_kbackend_stats *st)
{
	struct perf_backend *b = (struct perf_backend *)base;

	(void)ts; /* PERF_RECORD_LOST records are reported as they are read */
	memset(st, 0, sizeof(*st));
	st->ring_bytes = b->ring_bytes;
	st->records = b->records;
	st->lost = b->lost + b->malformed;
	st->malformed = b->malformed;
}

static int proc_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

static int perf_traces(struct ct_kbackend *base, pid_t tgid)
{
	struct perf_backend *b = (struct perf_backend *)base;

	for (size_t i = 0; i < b->nprocs; i++) {
		if (b->procs[i] == tgid)
			return proc_alive(tgid);
	}
	return 0;
}

static int perf_alive(struct ct_kbackend *base)
{
	struct perf_backend *b = (struct perf_backend *)base;
	int n = 0;

	for (size_t i = 0; i < b->nprocs; i++)
		n += proc_alive(b->procs[i]);
	return n;
}

static void perf_stop(struct ct_kbackend *base)
{
	struct perf_backend *b = (struct perf_backend *)base;

	for (size_t i = 0; i < b->nfds; i++)
		ioctl(b->fds[i], PERF_EVENT_IOC_DISABLE, 0);
	b->stopped = 1;
}

static void perf_free(struct ct_kbackend *base)
{
	struct perf_backend *b = (struct perf_backend *)base;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (b->rings) {
		for (int c = 0; c < b->ncpus; c++) {
			if (b->rings[c].base)
				munmap(b->rings[c].base, page + b->rings[c].size);
		}
	}
	for (size_t i = 0; i < b->nfds; i++)
		close(b->fds[i]);
	if (b->ep >= 0)
		close(b->ep);
	free(b->fds);
	free(b->rings);
	free(b->procs);
	free(b->tg);
	free(b);
}

static const struct ct_kbackend_ops perf_ops = {
	.name = "perf",
	.add_process = perf_add_process,
	.spawn_begin = perf_spawn_begin,
	.spawn_end = perf_spawn_end,
	.fd = perf_fd,
	.drain = perf_drain,
	.stats = perf_stats,
	.traces = perf_traces,
	.alive = perf_alive,
	.stop = perf_stop,
	.free = perf_free,
};

int ct__kbackend_perf_open(struct ct_kbackend **out, const struct ct_kbackend_opts *o,
			   const struct ct_ksink *sink, char *err, size_t errlen)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), size = page;
	size_t want = o->ring_bytes		   ? o->ring_bytes
		      : ct_privs_has(CAP_IPC_LOCK) ? DEFAULT_RING
						   : DEFAULT_RING_UNPRIVILEGED;
	struct perf_backend *b;
	char tracefs[256];
	int e;

	e = ct_tracefs_find(tracefs, sizeof(tracefs), NULL, err, errlen);
	if (e)
		return e;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->base.ops = &perf_ops;
	b->base.sink = *sink;
	b->ep = -1;
	for (int k = 0; k < TP_COUNT; k++) {
		e = ct_tp_format_read(tracefs, tps[k].sys, tps[k].name, &b->tp[k].fmt);
		if (e) {
			if (tps[k].optional)
				continue;
			snprintf(err, errlen, "cannot read tracepoint %s:%s under %s: %s",
				 tps[k].sys, tps[k].name, tracefs, ct_strerror(e));
			goto fail;
		}
		b->tp[k].present = 1;
		b->tp[k].id = b->tp[k].fmt.id;
	}
	while (size < want && size < ((size_t)1 << 30))
		size <<= 1;
	b->ring_bytes = size;
	b->ncpus = (int)sysconf(_SC_NPROCESSORS_CONF);
	b->rings = calloc((size_t)b->ncpus, sizeof(*b->rings));
	b->ep = epoll_create1(EPOLL_CLOEXEC);
	if (!b->rings || b->ep < 0) {
		e = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (int c = 0; c < b->ncpus; c++) {
		b->rings[c].fd = -1;
		b->rings[c].cpu = (unsigned)c;
		b->rings[c].size = size;
		b->rings[c].fork_tid = -1;
	}
	*out = &b->base;
	return 0;
fail:
	perf_free(&b->base);
	return e;
}
