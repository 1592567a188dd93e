// SPDX-License-Identifier: MIT
/*
 * The BPF backend: loads bpf/capture.bpf.c (skeleton), fills its syscall table, sizes its
 * ring buffer, and reads records from the ring into the sink. Loss counters live in the
 * program's mmapped bss and in each program's recursion-miss counter (an invocation the
 * kernel skipped because the same program was already running on that CPU). With
 * only_in_spans, the processes' thread context registrations go into the programs' tctx map.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kbackend.h"

#ifndef CT_HAVE_BPF

int ct__kbackend_bpf_open(struct ct_kbackend **out, const struct ct_kbackend_opts *o,
			  const struct ct_ksink *sink, char *err, size_t errlen)
{
	(void)out;
	(void)o;
	(void)sink;
	snprintf(err, errlen,
		 "this crosstrace was built without the BPF backend (clang, bpftool and "
		 "libbpf-dev were missing at build time)");
	return -ENOTSUP;
}

#else

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/capture.h"
#include "capture.skel.h"
#include "format/event.h"
#include "syscalls.h"

#define DEFAULT_RING (32u << 20)
#define BUDGET_REACHED 1000 /* returned by the ring callback to stop a drain early */

struct bpf_backend {
	struct ct_kbackend base;
	struct capture *skel;
	struct ring_buffer *rb;
	int ncpus;
	int spawner_set;
	int span; /* only_in_spans */
	unsigned span_processes;
	size_t ring;
	unsigned budget, taken;
	uint64_t records, malformed;
	uint64_t reported_cpu[CT_KMAX_CPUS];
	uint64_t reported_recursion;
	uint64_t lost_types[CT_KDROP_TYPES];
	uint64_t lost_entry[CT_KNR_MAX], lost_exit[CT_KNR_MAX];
	uint8_t conv[CT_KREC_HDR_SIZE + 4 + CT_KPATH_MAX + CT_KCOMM_LEN + 8];
};

/* libbpf's messages: the last warnings are kept for error reports, all shown when verbose. */
static int print_verbose;
static char last_libbpf_msg[512];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (print_verbose)
		return vfprintf(stderr, fmt, ap);
	if (level <= LIBBPF_WARN)
		vsnprintf(last_libbpf_msg, sizeof(last_libbpf_msg), fmt, ap);
	return 0;
}

static size_t strnlen_bounded(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

/* Rewrites the two records whose kernel layout differs from event.def (see capture.h). */
static const void *convert(struct bpf_backend *b, const struct ct_krec_hdr *h, size_t *len)
{
	uint8_t *p = b->conv;

	if (h->h_type == CT_EV_PROCESS_EXEC) {
		const struct ct_krec_exec *r = (const void *)h;
		size_t fl = strnlen_bounded(r->filename, CT_KPATH_MAX - 1);

		p = ct_put_u32(p, (uint32_t)r->old_tid);
		memcpy(p, r->filename, fl);
		p[fl] = 0;
		p += fl + 1;
		p = ct_put_str(p, r->comm, strnlen_bounded(r->comm, CT_KCOMM_LEN - 1));
	} else {
		const struct ct_krec_rename *r = (const void *)h;

		p = ct_put_str(p, r->oldcomm, strnlen_bounded(r->oldcomm, CT_KCOMM_LEN - 1));
		p = ct_put_str(p, r->newcomm, strnlen_bounded(r->newcomm, CT_KCOMM_LEN - 1));
	}
	*len = (size_t)(p - b->conv);
	return b->conv;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct bpf_backend *b = ctx;
	const struct ct_krec_hdr *h = data;
	const void *payload = (const uint8_t *)data + CT_KREC_HDR_SIZE;
	size_t len;

	if (size < CT_KREC_HDR_SIZE || CT_KREC_HDR_SIZE + (size_t)h->h_size > size) {
		b->malformed++;
		b->base.sink.lost(b->base.sink.arg, UINT32_MAX, 0, 1);
		return 0;
	}
	len = h->h_size;
	if (h->h_type == CT_EV_PROCESS_EXEC || h->h_type == CT_EV_TASK_RENAME) {
		if (size < (h->h_type == CT_EV_PROCESS_EXEC ? sizeof(struct ct_krec_exec)
							    : sizeof(struct ct_krec_rename))) {
			b->malformed++;
			b->base.sink.lost(b->base.sink.arg, h->h_cpu, h->h_ts, 1);
			return 0;
		}
		payload = convert(b, h, &len);
	}
	b->base.sink.event(b->base.sink.arg, h->h_cpu, h->h_type, h->h_ts, (int32_t)h->h_pid,
			   (int32_t)h->h_tid, payload, len);
	b->records++;
	/* The record is consumed even when the callback stops the drain (libbpf advances the
	 * consumer position before calling us). */
	if (b->budget && ++b->taken >= b->budget)
		return -BUDGET_REACHED;
	return 0;
}

static int set_traced(struct bpf_backend *b, pid_t tgid, uint8_t val)
{
	uint32_t key = (uint32_t)tgid;

	if (bpf_map__update_elem(b->skel->maps.traced, &key, sizeof(key), &val, sizeof(val),
				 BPF_ANY))
		return -errno;
	/* Invalidates the program's per-CPU filter caches (after the update: the program reads
	 * the generation before it looks the map up). */
	__atomic_fetch_add(&b->skel->bss->hot.traced_gen, 1, __ATOMIC_RELEASE);
	return 0;
}

static int bpf_add_process(struct ct_kbackend *base, pid_t tgid, char *err, size_t errlen)
{
	struct bpf_backend *b = (struct bpf_backend *)base;
	int e = set_traced(b, tgid, CT_KTRACE_TREE);

	if (e)
		snprintf(err, errlen, "cannot add process %d to the kernel filter: %s", (int)tgid,
			 strerror(-e));
	return e;
}

static int bpf_spawn_begin(struct ct_kbackend *base, char *err, size_t errlen)
{
	struct bpf_backend *b = (struct bpf_backend *)base;
	int e = set_traced(b, getpid(), CT_KTRACE_SPAWNER);

	if (e)
		snprintf(err, errlen, "cannot set up the kernel filter: %s", strerror(-e));
	b->spawner_set = !e;
	return e;
}

static int bpf_spawn_end(struct ct_kbackend *base, pid_t child, char *err, size_t errlen)
{
	struct bpf_backend *b = (struct bpf_backend *)base;
	uint32_t self = (uint32_t)getpid();

	if (b->spawner_set) {
		bpf_map__delete_elem(b->skel->maps.traced, &self, sizeof(self), 0);
		__atomic_fetch_add(&b->skel->bss->hot.traced_gen, 1, __ATOMIC_RELEASE);
		b->spawner_set = 0;
	}
	/* The fork program added the child; if the map was full it could not. */
	if (!base->ops->traces(base, child))
		return bpf_add_process(base, child, err, errlen);
	return 0;
}

static int bpf_set_thread_ctx(struct ct_kbackend *base, pid_t tgid, int64_t offset,
			      uint32_t version, uint32_t size, uint64_t ts, char *err,
			      size_t errlen)
{
	struct bpf_backend *b = (struct bpf_backend *)base;
	struct bpf_map *m = b->skel->maps.tctx;
	struct ct_ktctx v, old;
	uint32_t key = (uint32_t)tgid;

	if (!b->span) {
		snprintf(err, errlen, "the span filter is off (record with --only-in-spans)");
		return -EINVAL;
	}
	if (version != CT_KTCTX_VERSION || size < CT_KTCTX_SIZE) {
		snprintf(
			err, errlen,
			"process %d publishes its span in a thread context record of layout %u "
			"(%u bytes); this crosstrace reads layout %u (%u bytes): its kernel events "
			"are left out, update crosstrace or the program's libcrosstrace",
			(int)tgid, version, size, CT_KTCTX_VERSION, CT_KTCTX_SIZE);
		return -ENOTSUP;
	}
	if (!bpf_map__lookup_elem(m, &key, sizeof(key), &old, sizeof(old), 0)) {
		/* Sent by the image an exec replaced: its offset is not the new image's. */
		if (!old.version && old.exec_ns > ts)
			return 1;
		/* Known already (inherited at fork): keep the fork copy's exception. */
		if (old.version == version && old.offset == offset)
			return 1;
	}
	memset(&v, 0, sizeof(v));
	v.offset = offset;
	v.version = version;
	if (bpf_map__update_elem(m, &key, sizeof(key), &v, sizeof(v), BPF_ANY)) {
		int e = -errno;

		snprintf(err, errlen, "cannot register the thread context of process %d: %s",
			 (int)tgid, strerror(-e));
		return e;
	}
	/* Drops the programs' cached "no context" answers (after the update, as set_traced). */
	__atomic_fetch_add(&b->skel->bss->hot.traced_gen, 1, __ATOMIC_RELEASE);
	b->span_processes++;
	return 0;
}

static int bpf_fd(const struct ct_kbackend *base)
{
	const struct bpf_backend *b = (const struct bpf_backend *)base;

	return ring_buffer__epoll_fd(b->rb);
}

static int bpf_drain(struct ct_kbackend *base, unsigned budget, int *more)
{
	struct bpf_backend *b = (struct bpf_backend *)base;
	uint64_t before = b->records;
	int r;

	b->budget = budget;
	b->taken = 0;
	r = ring_buffer__consume(b->rb);
	*more = r == -BUDGET_REACHED;
	if (r < 0 && r != -BUDGET_REACHED)
		return r;
	return (int)(b->records - before);
}

static uint64_t recursion_misses(struct bpf_backend *b)
{
	struct bpf_program *p;
	uint64_t sum = 0;

	bpf_object__for_each_program(p, b->skel->obj)
	{
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			sum += info.recursion_misses;
	}
	return sum;
}

static void bpf_stats(struct ct_kbackend *base, uint64_t ts, struct ct_kbackend_stats *st)
{
	struct bpf_backend *b = (struct bpf_backend *)base;
	volatile const __u64 *cpu = b->skel->bss->drops_cpu;
	volatile const __u64 *key = b->skel->bss->drops_key;
	uint64_t lost = 0, rec;

	for (int c = 0; c < b->ncpus && c < CT_KMAX_CPUS; c++) {
		uint64_t v = __atomic_load_n(&cpu[c], __ATOMIC_RELAXED);

		if (v > b->reported_cpu[c]) {
			b->base.sink.lost(b->base.sink.arg, (unsigned)c, ts,
					  v - b->reported_cpu[c]);
			b->reported_cpu[c] = v;
		}
		lost += v;
	}
	rec = recursion_misses(b);
	if (rec > b->reported_recursion) {
		b->base.sink.lost(b->base.sink.arg, UINT32_MAX, ts, rec - b->reported_recursion);
		b->reported_recursion = rec;
	}
	for (int i = 0; i < CT_KDROP_TYPES; i++)
		b->lost_types[i] = __atomic_load_n(&key[i], __ATOMIC_RELAXED);
	for (int i = 0; i < CT_KNR_MAX; i++) {
		b->lost_entry[i] = __atomic_load_n(&key[CT_KDROP_SYS_ENTRY + i], __ATOMIC_RELAXED);
		b->lost_exit[i] = __atomic_load_n(&key[CT_KDROP_SYS_EXIT + i], __ATOMIC_RELAXED);
	}
	/* Syscall drops are counted per number only; fold them into their types. */
	b->lost_types[CT_EV_SYSCALL_ENTRY - 64] = 0;
	b->lost_types[CT_EV_SYSCALL_EXIT - 64] = 0;
	for (int i = 0; i < CT_KNR_MAX; i++) {
		b->lost_types[CT_EV_SYSCALL_ENTRY - 64] += b->lost_entry[i];
		b->lost_types[CT_EV_SYSCALL_EXIT - 64] += b->lost_exit[i];
	}
	memset(st, 0, sizeof(*st));
	st->ring_bytes = b->ring;
	st->records = b->records;
	st->lost = lost + rec + b->malformed;
	st->malformed = b->malformed;
	st->untraced_children = __atomic_load_n(&b->skel->bss->untraced_children, __ATOMIC_RELAXED);
	st->lost_by_type = b->lost_types;
	st->lost_sys_entry = b->lost_entry;
	st->lost_sys_exit = b->lost_exit;
	for (int c = 0; b->span && c < b->ncpus && c < CT_KMAX_CPUS; c++) {
		volatile const struct filter_cache *fc = &b->skel->bss->hot.fcache[c];

		st->span_outside += __atomic_load_n(&fc->outside, __ATOMIC_RELAXED);
		st->span_no_ctx += __atomic_load_n(&fc->no_ctx, __ATOMIC_RELAXED);
		st->span_sched += __atomic_load_n(&fc->sched, __ATOMIC_RELAXED);
	}
	st->span_processes = b->span_processes;
}

static int bpf_traces(struct ct_kbackend *base, pid_t tgid)
{
	struct bpf_backend *b = (struct bpf_backend *)base;
	uint32_t key = (uint32_t)tgid;
	uint8_t v = 0;

	return bpf_map__lookup_elem(b->skel->maps.traced, &key, sizeof(key), &v, sizeof(v), 0) ==
		       0 &&
	       v == CT_KTRACE_TREE;
}

static int bpf_alive(struct ct_kbackend *base)
{
	struct bpf_backend *b = (struct bpf_backend *)base;
	struct bpf_map *m = b->skel->maps.traced;
	uint32_t key, next;
	uint32_t *prev = NULL;
	int n = 0;

	/* The map loses a tgid when the process is reaped (sched_process_free). */
	while (!bpf_map__get_next_key(m, prev, &next, sizeof(next))) {
		uint8_t v = 0;

		if (!bpf_map__lookup_elem(m, &next, sizeof(next), &v, sizeof(v), 0) &&
		    v == CT_KTRACE_TREE)
			n++;
		key = next;
		prev = &key;
	}
	return n;
}

static void bpf_stop(struct ct_kbackend *base)
{
	struct bpf_backend *b = (struct bpf_backend *)base;

	capture__detach(b->skel);
}

static void bpf_free(struct ct_kbackend *base)
{
	struct bpf_backend *b = (struct bpf_backend *)base;

	ring_buffer__free(b->rb);
	capture__destroy(b->skel);
	free(b);
}

static const struct ct_kbackend_ops bpf_ops = {
	.name = "bpf",
	.add_process = bpf_add_process,
	.spawn_begin = bpf_spawn_begin,
	.spawn_end = bpf_spawn_end,
	.set_thread_ctx = bpf_set_thread_ctx,
	.fd = bpf_fd,
	.drain = bpf_drain,
	.stats = bpf_stats,
	.traces = bpf_traces,
	.alive = bpf_alive,
	.stop = bpf_stop,
	.free = bpf_free,
};

static size_t round_ring(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), r = page;

	while (r < n && r < ((size_t)1 << 31))
		r <<= 1;
	return r;
}

int ct__kbackend_bpf_open(struct ct_kbackend **out, const struct ct_kbackend_opts *o,
			  const struct ct_ksink *sink, char *err, size_t errlen)
{
	struct bpf_backend *b;
	struct stat sb;
	size_t ring = round_ring(o->ring_bytes ? o->ring_bytes : DEFAULT_RING);
	int e;

	if (stat("/sys/kernel/btf/vmlinux", &sb)) {
		snprintf(err, errlen,
			 "kernel BTF is missing (/sys/kernel/btf/vmlinux: %s): the BPF backend "
			 "needs "
			 "a kernel built with CONFIG_DEBUG_INFO_BTF; use --backend perf",
			 strerror(errno));
		return -ENOENT;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->base.ops = &bpf_ops;
	b->base.sink = *sink;
	b->ring = ring;
	b->ncpus = libbpf_num_possible_cpus();
	print_verbose = o->verbose;
	libbpf_set_print(libbpf_print);
	last_libbpf_msg[0] = 0;

	b->skel = capture__open();
	if (!b->skel) {
		e = -errno;
		snprintf(err, errlen, "cannot open the BPF programs: %s", strerror(-e));
		goto fail;
	}
	ct_sys_kind_table(b->skel->bss->hot.sys_kind);
	b->span = o->only_in_spans;
	b->skel->rodata->span_filter = b->span ? CT_KSPAN_ONLY : CT_KSPAN_OFF;
	b->skel->bss->hot.wakeup_bytes = ring / 4;
	e = bpf_map__set_max_entries(b->skel->maps.events, (uint32_t)ring);
	if (e) {
		snprintf(err, errlen, "cannot size the BPF ring buffer to %zu bytes: %s", ring,
			 strerror(-e));
		goto fail;
	}
	e = capture__load(b->skel);
	if (e) {
		if (e == -EPERM || e == -EACCES)
			snprintf(err, errlen,
				 "loading the BPF programs was refused (%s): run as root or grant "
				 "CAP_BPF and CAP_PERFMON",
				 strerror(-e));
		else
			snprintf(err, errlen, "the kernel rejected the BPF programs: %s%s%s",
				 strerror(-e), last_libbpf_msg[0] ? "; libbpf: " : "",
				 last_libbpf_msg);
		err[strcspn(err, "\n")] = 0;
		goto fail;
	}
	e = capture__attach(b->skel);
	if (e) {
		snprintf(err, errlen, "cannot attach the BPF programs to their tracepoints: %s%s%s",
			 strerror(-e), last_libbpf_msg[0] ? "; libbpf: " : "", last_libbpf_msg);
		err[strcspn(err, "\n")] = 0;
		goto fail;
	}
	b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.events), on_record, b, NULL);
	if (!b->rb) {
		e = -errno;
		snprintf(err, errlen, "cannot map the BPF ring buffer: %s", strerror(-e));
		goto fail;
	}
	*out = &b->base;
	return 0;
fail:
	capture__destroy(b->skel);
	free(b);
	return e ? e : -EINVAL;
}

#endif
