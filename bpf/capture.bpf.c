// SPDX-License-Identifier: MIT
/*
 * The kernel half of crosstrace capture: tracepoints (tp_btf, CO-RE) on syscalls, the
 * scheduler, process lifetime and block requests, filtered to the traced process trees (a
 * hash of tgids that follows fork), writing records in event.def layout (see capture.h) into
 * one BPF ring buffer. The reader is woken only past a fill threshold; it polls otherwise.
 * With --only-in-spans the programs also read each thread's span from its thread context
 * record in user memory and keep only what belongs to threads inside sampled spans.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "capture.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Event ids of format/event.def (the BPF build does not include format/). */
enum {
	EV_SYSCALL_ENTRY = 64,
	EV_SYSCALL_EXIT = 65,
	EV_SYSCALL_ENTRY_PATH = 66,
	EV_SYSCALL_ENTRY_ADDR = 67,
	EV_SYSCALL_EXIT_ADDR = 68,
	EV_SCHED_SWITCH = 69,
	EV_SCHED_WAKING = 70,
	EV_SCHED_WAKEUP = 71,
	EV_SCHED_WAKEUP_NEW = 72,
	EV_PROCESS_FORK = 73,
	EV_PROCESS_EXEC = 74,
	EV_PROCESS_EXIT = 75,
	EV_TASK_RENAME = 76,
	EV_BLOCK_RQ_ISSUE = 77,
	EV_BLOCK_RQ_COMPLETE = 78,
	EV_SPAN_TAG = 83,
};

/* Hot data of the syscall path, one page (see capture.h). */
struct ct_khot hot;

/* CT_KSPAN_*: set by the reader before loading; the verifier prunes the paths it rules out. */
const volatile __u32 span_filter = CT_KSPAN_OFF;

/* Written here, read by the reader through the mmapped bss. */
__u64 drops_cpu[CT_KMAX_CPUS];
__u64 drops_key[CT_KDROP_KEYS];
__u64 untraced_children; /* forks not followed because the traced map was full */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by the reader (--ring-size) */
} events SEC(".maps");

/* tgid -> CT_KTRACE_TREE / CT_KTRACE_SPAWNER. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

/* tgid -> where its threads publish their current span (span filter only). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct ct_ktctx);
} tctx SEC(".maps");

/* Per-thread state of the span filter; freed with the task. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ct_ktask);
} tstate SEC(".maps");

/* Syscalls that return a sockaddr: the user pointers, saved at entry, read at exit. */
struct addr_out {
	__u64 addr;
	__u64 lenp;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32); /* tid */
	__type(value, struct addr_out);
} pending_addr SEC(".maps");

/* Block requests issued by traced tasks, so that their completions are kept too. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* struct request * */
	__type(value, __u8);
} inflight_rq SEC(".maps");

/*
 * Interrupt context without preempt_count (a per-CPU variable that this kernel's kallsyms
 * does not export): hard and soft interrupts run on the per-CPU IRQ stack on x86_64, so the
 * program's own stack lies outside the current task's stack. The stack address goes through
 * a map slot because the verifier does not let a program compare stack pointers directly.
 * A function of its own (not inlined), with a frame far below 64 bytes: since 6.13 the
 * kernel runs a tracing program's function whose frame is 64 bytes or more on a per-CPU
 * private stack, where this test would always say "interrupt".
 */
const volatile __u64 thread_size = 16384; /* THREAD_SIZE of x86_64 without KASAN */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sp_slot SEC(".maps");

static __noinline int in_irq_ctx(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 base = (__u64)t->stack, sp;
	__u32 zero = 0;
	__u64 *slot = bpf_map_lookup_elem(&sp_slot, &zero);

	if (!slot)
		return 0;
	*slot = (__u64)&base;
	sp = *(volatile __u64 *)slot;
	return sp - base >= thread_size;
}

static __always_inline int is_traced(__u32 tgid)
{
	__u8 *v = bpf_map_lookup_elem(&traced, &tgid);

	return v && *v == CT_KTRACE_TREE;
}

/*
 * The filter's answer for a task (whether it is traced, and with the span filter where its
 * process publishes its span), cached per CPU: a syscall-heavy thread asks twice per syscall,
 * and a hash lookup costs more than everything else the program does but the ring write.
 * hot.traced_gen changes whenever the traced or tctx map does (here on fork, exec and free,
 * in the reader when it adds a process or a thread context), which invalidates every cached
 * answer. Past CT_KMAX_CPUS the answer is built in tmp, uncached.
 */
static __always_inline struct filter_cache *filter_get(__u64 pid_tgid, struct filter_cache *tmp)
{
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 gen = *(volatile __u64 *)&hot.traced_gen;
	__u32 tgid = pid_tgid >> 32;
	struct filter_cache *c = tmp;
	struct ct_ktctx *x = NULL;

	if (cpu < CT_KMAX_CPUS) {
		c = &hot.fcache[cpu];
		if (c->pid_tgid == pid_tgid && c->gen == gen)
			return c;
	}
	c->traced = is_traced(tgid);
	c->verdict = CT_KVERDICT_UNKNOWN;
	if (span_filter != CT_KSPAN_OFF && c->traced)
		x = bpf_map_lookup_elem(&tctx, &tgid);
	if (x) {
		c->ctx_version = x->version;
		c->ctx_offset = x->offset;
		c->fork_tid = x->fork_tid;
		c->fork_seq = x->fork_seq;
	} else {
		c->ctx_version = 0;
	}
	c->pid_tgid = pid_tgid;
	c->gen = gen;
	return c;
}

static __always_inline void traced_changed(void)
{
	__sync_fetch_and_add(&hot.traced_gen, 1);
}

/* ---- span filter (--only-in-spans) ---- */

/* A thread's span as the filter sees it: span 0 when inside no sampled span. */
struct span_state {
	__u64 span, trace_hi, trace_lo;
	__u8 flags;
};

/*
 * Reads thread t's context record (lib/threadctx.h) at its fs base + the offset its process
 * (c) registered: 1 when the thread is inside a sampled span (st filled), 0 when not, -1 when
 * the process registered no record. t must be the current task or share its memory (same
 * thread group): the read goes through the current address space. The current thread is
 * stopped where it is, so one read suffices: the record is complete or caught mid-update
 * (odd seq, which counts as no span: the span is changing right now); so is a thread of the
 * same process that sleeps or waits for a CPU. A syscall never runs between a record update
 * and the client's timestamp of it (SCOPE_ENTER/EXIT), so syscalls are judged exactly as the
 * trace's scopes say. thread.fsbase is what arch_prctl or clone set (glibc never uses
 * wrfsbase).
 */
static __always_inline int task_span(struct task_struct *t, const struct filter_cache *c, __u32 tid,
				     struct span_state *st)
{
	__u64 rec[CT_KTCTX_SIZE / 8], tail;
	__u32 seq;

	if (c->ctx_version != CT_KTCTX_VERSION)
		return -1;
	if (bpf_probe_read_user(rec, sizeof(rec), (const void *)(t->thread.fsbase + c->ctx_offset)))
		return 0;
	tail = rec[3];
	seq = tail >> 32;
	/* Byte 24 valid == 1 and bit 0 of byte 25 (W3C sampled), seq even. */
	if ((tail & 0x1ff) != 0x101 || (seq & 1))
		return 0;
	/* A fork child's copy of its parent's record, not yet cleared by the child. */
	if (tid == c->fork_tid && seq == c->fork_seq)
		return 0;
	/* W3C byte order in the record; event.def ids are those bytes read big-endian. */
	st->span = __builtin_bswap64(rec[2]);
	st->trace_hi = __builtin_bswap64(rec[0]);
	st->trace_lo = __builtin_bswap64(rec[1]);
	st->flags = (tail >> 8) & 0xff;
	return 1;
}

static __always_inline int current_span(const struct filter_cache *c, __u32 tid,
					struct span_state *st)
{
	return task_span(bpf_get_current_task_btf(), c, tid, st);
}

enum { LEFT_OUTSIDE, LEFT_NO_CTX, LEFT_SCHED };

/* Counts an event the span filter left out, per CPU (summed by the reader). */
static __always_inline void count_left_out(int why)
{
	__u32 cpu = bpf_get_smp_processor_id();

	if (cpu >= CT_KMAX_CPUS)
		cpu = CT_KMAX_CPUS - 1;
	if (why == LEFT_NO_CTX)
		__sync_fetch_and_add(&hot.fcache[cpu].no_ctx, 1);
	else if (why == LEFT_SCHED)
		__sync_fetch_and_add(&hot.fcache[cpu].sched, 1);
	else
		__sync_fetch_and_add(&hot.fcache[cpu].outside, 1);
}

/* The filter's verdict for an event of the current thread only (syscalls, block issue). */
static __always_inline int span_keep_current(const struct filter_cache *c, __u32 tid,
					     struct span_state *st)
{
	int in = current_span(c, tid, st);

	if (in <= 0)
		count_left_out(in < 0 ? LEFT_NO_CTX : LEFT_OUTSIDE);
	return in > 0;
}

static __always_inline void count_drop(__u32 cpu, __u32 key)
{
	if (cpu < CT_KMAX_CPUS)
		__sync_fetch_and_add(&drops_cpu[cpu], 1);
	if (key < CT_KDROP_KEYS)
		__sync_fetch_and_add(&drops_key[key], 1);
}

/*
 * Reserves a record of sz bytes, counting a drop under key when the ring is full. Fills the
 * header except size.
 */
static __always_inline void *reserve(__u64 sz, __u16 type, __u32 drop_key, __u64 ts, __u32 pid,
				     __u32 tid)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct ct_krec_hdr *h = bpf_ringbuf_reserve(&events, sz, 0);

	if (!h) {
		count_drop(cpu, drop_key);
		return NULL;
	}
	h->h_ts = ts;
	h->h_pid = pid;
	h->h_tid = tid;
	h->h_type = type;
	h->h_cpu = cpu;
	h->h_reserved = 0;
	h->h_aux = 0;
	return h;
}

/* Commits without waking the reader unless enough is pending (see FIELD-NOTES: per-event
 * wake-ups cost several times the rest of the path). */
static __always_inline void submit(void *rec)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(rec, avail >= hot.wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* The six syscall arguments, in order (x86-64: the fourth is in r10, not rcx). */
static __always_inline void put_args(__u64 *args, const struct pt_regs *regs)
{
	args[0] = regs->di;
	args[1] = regs->si;
	args[2] = regs->dx;
	args[3] = regs->r10;
	args[4] = regs->r8;
	args[5] = regs->r9;
}

/*
 * Copies a string into a record's tail; one that cannot be read becomes "". Returns the bytes
 * it takes in the record, NUL included (at least 1), so that the record's size stays exact.
 */
static __always_inline long kstr(char *dst, __u32 size, const void *src)
{
	long n = bpf_probe_read_kernel_str(dst, size, src);

	if (n <= 0) {
		dst[0] = 0;
		n = 1;
	}
	return n;
}

static __always_inline long ustr(char *dst, __u32 size, const void *src)
{
	long n = bpf_probe_read_user_str(dst, size, src);

	if (n <= 0) {
		dst[0] = 0;
		n = 1;
	}
	return n;
}

#define TYPE_KEY(t) ((t)-64)

/*
 * Before a kept event of a thread whose process publishes its span: a SPAN_TAG when the span
 * differs from the one the thread's last tag named (k: its task storage; without one, every
 * time). When the tag cannot be written (ring full: counted) the next event tries again, so a
 * tag that is present is never stale.
 */
static __always_inline int tag_thread(struct ct_ktask *k, const struct span_state *st, __u64 ts,
				      __u32 tgid, __u32 tid)
{
	struct ct_krec_span_tag *r;

	if (k && k->tag_span == st->span)
		return 1;
	r = reserve(sizeof(*r), EV_SPAN_TAG, TYPE_KEY(EV_SPAN_TAG), ts, tgid, tid);
	if (!r)
		return 0;
	r->span_id[0] = (__u32)st->span;
	r->span_id[1] = st->span >> 32;
	r->trace_hi[0] = (__u32)st->trace_hi;
	r->trace_hi[1] = st->trace_hi >> 32;
	r->trace_lo[0] = (__u32)st->trace_lo;
	r->trace_lo[1] = st->trace_lo >> 32;
	r->flags = st->flags;
	r->h_size = 25;
	submit(r);
	if (k)
		k->tag_span = st->span;
	return 1;
}

/* Returns whether the tag is in place (see tag_thread). */
static __always_inline int tag_current(const struct span_state *st, __u64 ts, __u32 tgid, __u32 tid)
{
	struct ct_ktask *k = bpf_task_storage_get(&tstate, bpf_get_current_task_btf(), 0,
						  BPF_LOCAL_STORAGE_GET_F_CREATE);

	return tag_thread(k, st, ts, tgid, tid);
}

static __always_inline __u64 sys_arg(struct pt_regs *regs, __u32 i)
{
	switch (i) {
	case 0:
		return regs->di;
	case 1:
		return regs->si;
	case 2:
		return regs->dx;
	case 3:
		return regs->r10;
	case 4:
		return regs->r8;
	default:
		return regs->r9;
	}
}

SEC("tp_btf/sys_enter")
int BPF_PROG(ct_sys_enter, struct pt_regs *regs, long id)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	__u32 nr = (__u32)id;
	struct filter_cache tmp, *c = filter_get(pid_tgid, &tmp);
	struct span_state st = {};
	__u8 kind = 0;
	__u64 ts;

	if (!c->traced)
		return 0;
	if (span_filter != CT_KSPAN_OFF) {
		int in = current_span(c, tid, &st);

		if (in <= 0) {
			count_left_out(in < 0 ? LEFT_NO_CTX : LEFT_OUTSIDE);
			if (c->pid_tgid == pid_tgid)
				c->verdict = in < 0 ? CT_KVERDICT_NO_CTX : CT_KVERDICT_OUTSIDE;
			return 0;
		}
	}
	ts = bpf_ktime_get_ns();
	if (span_filter != CT_KSPAN_OFF) {
		int tagged = tag_current(&st, ts, tgid, tid);

		if (c->pid_tgid == pid_tgid)
			c->verdict = tagged ? CT_KVERDICT_KEPT : CT_KVERDICT_UNKNOWN;
	}
	if (nr < CT_KNR_MAX)
		kind = hot.sys_kind[nr];

	if (CT_KSYS_KIND(kind) == CT_KSYS_PATH) {
		struct ct_krec_sys_enter_path *r;
		long n;

		r = reserve(sizeof(*r), EV_SYSCALL_ENTRY_PATH, CT_KDROP_SYS_ENTRY + nr, ts, tgid,
			    tid);
		if (!r)
			return 0;
		r->nr = nr;
		put_args(r->args, regs);
		n = ustr(r->path, sizeof(r->path),
			 (const void *)sys_arg(regs, CT_KSYS_ARG_A(kind)));
		r->h_size = 52 + n;
		submit(r);
		return 0;
	}
	if (CT_KSYS_KIND(kind) == CT_KSYS_ADDR_IN) {
		struct ct_krec_sys_enter_addr *r;
		__u64 len = sys_arg(regs, CT_KSYS_ARG_B(kind));
		const void *p = (const void *)sys_arg(regs, CT_KSYS_ARG_A(kind));

		r = reserve(sizeof(*r), EV_SYSCALL_ENTRY_ADDR, CT_KDROP_SYS_ENTRY + nr, ts, tgid,
			    tid);
		if (!r)
			return 0;
		r->nr = nr;
		put_args(r->args, regs);
		if (len > CT_KADDR_MAX)
			len = CT_KADDR_MAX;
		if (!p || bpf_probe_read_user(r->addr, len & 0xff, p))
			len = 0;
		r->addr_len = len;
		r->h_size = 54 + len;
		submit(r);
		return 0;
	}
	if (CT_KSYS_KIND(kind) == CT_KSYS_ADDR_OUT) {
		struct addr_out a = {
			.addr = sys_arg(regs, CT_KSYS_ARG_A(kind)),
			.lenp = sys_arg(regs, CT_KSYS_ARG_B(kind)),
		};

		if (a.addr && a.lenp)
			bpf_map_update_elem(&pending_addr, &tid, &a, BPF_ANY);
	}

	struct ct_krec_sys_enter *r;

	r = reserve(sizeof(*r), EV_SYSCALL_ENTRY, CT_KDROP_SYS_ENTRY + nr, ts, tgid, tid);
	if (!r)
		return 0;
	r->nr = nr;
	put_args(r->args, regs);
	r->h_size = 52;
	submit(r);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(ct_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	struct filter_cache tmp, *c = filter_get(pid_tgid, &tmp);
	struct span_state st = {};
	__u32 nr;
	__u64 ts;

	if (!c->traced)
		return 0;
	if (span_filter != CT_KSPAN_OFF) {
		/*
		 * The entry's verdict holds: the thread did not run user code since. Unknown
		 * when another thread used this CPU's cache meanwhile, the filter changed (exec,
		 * a registration), or the entry was not seen: then the record is read.
		 */
		__u8 v = c->verdict;

		c->verdict = CT_KVERDICT_UNKNOWN;
		if (v == CT_KVERDICT_OUTSIDE || v == CT_KVERDICT_NO_CTX) {
			count_left_out(v == CT_KVERDICT_NO_CTX ? LEFT_NO_CTX : LEFT_OUTSIDE);
			return 0;
		}
		if (v != CT_KVERDICT_KEPT && !span_keep_current(c, tid, &st))
			return 0;
		ts = bpf_ktime_get_ns();
		if (v != CT_KVERDICT_KEPT)
			tag_current(&st, ts, tgid, tid);
	} else {
		ts = bpf_ktime_get_ns();
	}
	nr = (__u32)regs->orig_ax;

	if (nr < CT_KNR_MAX && CT_KSYS_KIND(hot.sys_kind[nr]) == CT_KSYS_ADDR_OUT) {
		struct addr_out *a = bpf_map_lookup_elem(&pending_addr, &tid);

		if (a) {
			struct ct_krec_sys_exit_addr *r;
			__u64 addr = a->addr, lenp = a->lenp;
			__u32 len = 0;

			bpf_map_delete_elem(&pending_addr, &tid);
			r = reserve(sizeof(*r), EV_SYSCALL_EXIT_ADDR, CT_KDROP_SYS_EXIT + nr, ts,
				    tgid, tid);
			if (!r)
				return 0;
			r->nr = nr;
			r->ret = ret;
			if (ret >= 0 && !bpf_probe_read_user(&len, sizeof(len), (void *)lenp)) {
				if (len > CT_KADDR_MAX)
					len = CT_KADDR_MAX;
				if (bpf_probe_read_user(r->addr, len & 0xff, (void *)addr))
					len = 0;
			} else {
				len = 0;
			}
			r->addr_len = len;
			r->h_size = 14 + len;
			submit(r);
			return 0;
		}
	}

	struct ct_krec_sys_exit *r;

	r = reserve(sizeof(*r), EV_SYSCALL_EXIT, CT_KDROP_SYS_EXIT + nr, ts, tgid, tid);
	if (!r)
		return 0;
	r->nr = nr;
	r->ret = ret;
	r->h_size = 12;
	submit(r);
	return 0;
}

/* The state bits the sched_switch tracepoint reports (__trace_sched_switch_state). */
static __always_inline __u32 report_state(__u32 state, int exit_state)
{
	__u32 s = (state | (__u32)exit_state) & 0x7f; /* TASK_REPORT */

	if ((state & 0x402) == 0x402) /* TASK_IDLE */
		s = 0x80; /* TASK_REPORT_IDLE */
	if (state & 0x1000) /* TASK_RTLOCK_WAIT */
		s = 0x2; /* TASK_UNINTERRUPTIBLE */
	/* Only the highest set bit is reported. */
	for (int b = 7; b >= 0; b--) {
		if (s & (1u << b))
			return 1u << b;
	}
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(ct_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u32 ptgid = prev->tgid, ntgid = next->tgid;
	struct ct_krec_sched_switch *r;
	/* prev is the current task: the per-CPU cache usually knows it already. */
	struct filter_cache tmp, *c = filter_get((__u64)ptgid << 32 | (__u32)prev->pid, &tmp);
	int pt = c->traced, nt = ntgid == ptgid ? pt : is_traced(ntgid);
	__u64 ts;
	long n;

	if (!pt && !nt)
		return 0;
	ts = bpf_ktime_get_ns();
	if (span_filter != CT_KSPAN_OFF) {
		/*
		 * Kept when either thread is inside a sampled span. prev is the current task:
		 * its record is read now and remembered, since it cannot change while prev is
		 * off the CPU. next is read too when it is a thread of the same process, else
		 * judged by what was remembered when it last left.
		 */
		struct span_state st = {}, nst;
		struct ct_ktask *pk = NULL, *nk;
		int pin = -1, nin = 0;

		if (pt) {
			pin = current_span(c, prev->pid, &st);
			pk = bpf_task_storage_get(&tstate, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
			if (pk)
				pk->off_span = pin > 0 ? st.span : 0;
		}
		if (nt && pt && ntgid == ptgid) {
			nin = task_span(next, c, next->pid, &nst) > 0;
		} else if (nt) {
			nk = bpf_task_storage_get(&tstate, next, 0, 0);
			nin = nk && nk->off_span;
		}
		if (pin <= 0 && !nin) {
			count_left_out(LEFT_SCHED);
			return 0;
		}
		if (pin >= 0)
			tag_thread(pk, &st, ts, ptgid, prev->pid);
	}
	r = reserve(sizeof(*r), EV_SCHED_SWITCH, TYPE_KEY(EV_SCHED_SWITCH), ts, ptgid, prev->pid);
	if (!r)
		return 0;
	r->prev_state = preempt ? 0 : report_state(prev_state, prev->exit_state);
	r->prev_prio = prev->prio;
	r->next_tid = next->pid;
	r->next_pid = ntgid;
	r->next_prio = next->prio;
	n = kstr(r->next_comm, sizeof(r->next_comm), next->comm);
	r->h_size = 20 + n;
	submit(r);
	return 0;
}

static __always_inline int wake(struct task_struct *p, __u16 type)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	__u32 wtgid = p->tgid;
	int irq = in_irq_ctx();
	__u64 ts;

	int wt, kt;

	if (irq)
		tgid = tid = 0;
	wt = is_traced(wtgid);
	kt = tgid && is_traced(tgid);
	if (!wt && !kt)
		return 0;
	ts = bpf_ktime_get_ns();
	if (span_filter != CT_KSPAN_OFF) {
		/*
		 * Kept when the waker (the current task, outside interrupts) or the wakee is
		 * inside a sampled span. A wakee of the waker's own process is read; another
		 * is judged as it was when it last left a CPU, which is its state while it
		 * sleeps (unless the wake-up catches it before it is off the CPU).
		 */
		struct span_state st = {}, wst;
		struct filter_cache tmp, *c = &tmp;
		struct ct_ktask *k;
		int kin = -1, win = 0;

		if (kt) {
			c = filter_get(pid_tgid, &tmp);
			kin = current_span(c, tid, &st);
		}
		if (wt && kt && wtgid == tgid) {
			win = task_span(p, c, p->pid, &wst) > 0;
		} else if (wt) {
			k = bpf_task_storage_get(&tstate, p, 0, 0);
			win = k && k->off_span;
		}
		if (kin <= 0 && !win) {
			count_left_out(LEFT_SCHED);
			return 0;
		}
		if (kin >= 0)
			tag_current(&st, ts, tgid, tid);
	}
	if (type == EV_SCHED_WAKING) {
		struct ct_krec_sched_waking *r;
		long n;

		r = reserve(sizeof(*r), type, TYPE_KEY(type), ts, tgid, tid);
		if (!r)
			return 0;
		r->tid = p->pid;
		r->pid = wtgid;
		r->target_cpu = p->thread_info.cpu;
		r->flags = irq ? 1 : 0;
		n = kstr(r->comm, sizeof(r->comm), p->comm);
		r->h_size = 13 + n;
		submit(r);
		return 0;
	}
	struct ct_krec_sched_wakeup *r;

	r = reserve(sizeof(*r), type, TYPE_KEY(type), ts, tgid, tid);
	if (!r)
		return 0;
	r->tid = p->pid;
	r->pid = wtgid;
	r->target_cpu = p->thread_info.cpu;
	r->h_size = 12;
	submit(r);
	return 0;
}

SEC("tp_btf/sched_waking")
int BPF_PROG(ct_sched_waking, struct task_struct *p)
{
	return wake(p, EV_SCHED_WAKING);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(ct_sched_wakeup, struct task_struct *p)
{
	return wake(p, EV_SCHED_WAKEUP);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(ct_sched_wakeup_new, struct task_struct *p)
{
	return wake(p, EV_SCHED_WAKEUP_NEW);
}

/*
 * A forked child has its parent's memory image, so its records are where the parent's are:
 * it inherits the registration at once (its own THREAD_CTX frame comes later, if ever). Its
 * first thread holds a copy of the forking thread's record (current here) until
 * libcrosstrace clears it in the child: remember the copy's seq to ignore it meanwhile.
 */
static __always_inline void inherit_ctx(__u32 ptgid, __u32 ctgid, __u32 ctid)
{
	struct ct_ktctx *x = bpf_map_lookup_elem(&tctx, &ptgid), n;
	struct task_struct *t;
	__u64 tail = 1; /* odd: matches no stable record when unreadable */

	if (!x || !x->version)
		return;
	n = *x;
	t = bpf_get_current_task_btf();
	bpf_probe_read_user(&tail, sizeof(tail), (const void *)(t->thread.fsbase + n.offset + 24));
	n.fork_tid = ctid;
	n.fork_seq = tail >> 32;
	n.exec_ns = 0;
	bpf_map_update_elem(&tctx, &ctgid, &n, BPF_ANY);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(ct_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	struct ct_krec_fork *r;
	__u8 *v = bpf_map_lookup_elem(&traced, &ptgid);
	__u8 val;
	long n;

	if (!v)
		return 0;
	val = *v;
	/* A new process of a traced tree (or of the recorder) is traced from birth. */
	if (ctgid != ptgid) {
		__u8 tree = CT_KTRACE_TREE;

		if (bpf_map_update_elem(&traced, &ctgid, &tree, BPF_ANY))
			__sync_fetch_and_add(&untraced_children, 1);
		if (span_filter != CT_KSPAN_OFF)
			inherit_ctx(ptgid, ctgid, child->pid);
		traced_changed();
	}
	if (val != CT_KTRACE_TREE)
		return 0;
	r = reserve(sizeof(*r), EV_PROCESS_FORK, TYPE_KEY(EV_PROCESS_FORK), bpf_ktime_get_ns(),
		    ptgid, parent->pid);
	if (!r)
		return 0;
	r->child_pid = ctgid;
	r->child_tid = child->pid;
	n = kstr(r->child_comm, sizeof(r->child_comm), child->comm);
	r->h_size = 8 + n;
	submit(r);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ct_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = p->tgid;
	struct ct_krec_exec *r;
	long n;

	if (!is_traced(tgid))
		return 0;
	if (span_filter != CT_KSPAN_OFF) {
		/* A new image: its record, if any, is elsewhere until it registers again. */
		struct ct_ktctx none = {.exec_ns = bpf_ktime_get_ns()};

		bpf_map_update_elem(&tctx, &tgid, &none, BPF_ANY);
		traced_changed();
	}
	r = reserve(sizeof(*r), EV_PROCESS_EXEC, TYPE_KEY(EV_PROCESS_EXEC), bpf_ktime_get_ns(),
		    tgid, p->pid);
	if (!r)
		return 0;
	r->old_tid = old_pid;
	bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), p->comm);
	n = kstr(r->filename, sizeof(r->filename), bprm->filename);
	r->h_size = 4 + CT_KCOMM_LEN + n;
	submit(r);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(ct_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;
	struct ct_krec_exit *r;
	long n;

	if (!is_traced(tgid))
		return 0;
	r = reserve(sizeof(*r), EV_PROCESS_EXIT, TYPE_KEY(EV_PROCESS_EXIT), bpf_ktime_get_ns(),
		    tgid, p->pid);
	if (!r)
		return 0;
	r->exit_code = p->exit_code;
	n = kstr(r->comm, sizeof(r->comm), p->comm);
	r->h_size = 4 + n;
	submit(r);
	return 0;
}

/*
 * The process is gone (its leader reaped, after every thread): stop tracing the tgid. Not at
 * exit, so that the last context switches of exiting threads are still kept; and only when
 * the leader is freed, since threads and a leader replaced by exec (de_thread) go earlier.
 */
SEC("tp_btf/sched_process_free")
int BPF_PROG(ct_free, struct task_struct *p)
{
	__u32 tgid = p->tgid;

	if (p->pid != p->tgid || p->group_leader != p)
		return 0;
	if (span_filter != CT_KSPAN_OFF)
		bpf_map_delete_elem(&tctx, &tgid);
	if (bpf_map_delete_elem(&traced, &tgid) == 0)
		traced_changed();
	return 0;
}

SEC("tp_btf/task_rename")
int BPF_PROG(ct_rename, struct task_struct *task, const char *comm)
{
	__u32 tgid = task->tgid;
	struct ct_krec_rename *r;

	if (!is_traced(tgid))
		return 0;
	r = reserve(sizeof(*r), EV_TASK_RENAME, TYPE_KEY(EV_TASK_RENAME), bpf_ktime_get_ns(), tgid,
		    task->pid);
	if (!r)
		return 0;
	bpf_probe_read_kernel_str(r->oldcomm, sizeof(r->oldcomm), task->comm);
	bpf_probe_read_kernel_str(r->newcomm, sizeof(r->newcomm), comm);
	r->h_size = 2 * CT_KCOMM_LEN;
	submit(r);
	return 0;
}

/* The rwbs string of the block tracepoints (blk_fill_rwbs). */
static __always_inline void fill_rwbs(char *rwbs, __u32 opf)
{
	__u32 op = opf & 0xff; /* REQ_OP_MASK */
	int i = 0;

	if (opf & (1u << bpf_core_enum_value(enum req_flag_bits, __REQ_PREFLUSH)))
		rwbs[i++] = 'F';
	if (op == bpf_core_enum_value(enum req_op, REQ_OP_WRITE)) {
		rwbs[i++] = 'W';
	} else if (op == bpf_core_enum_value(enum req_op, REQ_OP_DISCARD)) {
		rwbs[i++] = 'D';
	} else if (op == bpf_core_enum_value(enum req_op, REQ_OP_SECURE_ERASE)) {
		rwbs[i++] = 'D';
		rwbs[i++] = 'E';
	} else if (op == bpf_core_enum_value(enum req_op, REQ_OP_FLUSH)) {
		rwbs[i++] = 'F';
	} else if (op == bpf_core_enum_value(enum req_op, REQ_OP_READ)) {
		rwbs[i++] = 'R';
	} else {
		rwbs[i++] = 'N';
	}
	if (opf & (1u << bpf_core_enum_value(enum req_flag_bits, __REQ_FUA)))
		rwbs[i++] = 'F';
	if (opf & (1u << bpf_core_enum_value(enum req_flag_bits, __REQ_RAHEAD)))
		rwbs[i++] = 'A';
	if (opf & (1u << bpf_core_enum_value(enum req_flag_bits, __REQ_SYNC)))
		rwbs[i++] = 'S';
	if (opf & (1u << bpf_core_enum_value(enum req_flag_bits, __REQ_META)))
		rwbs[i++] = 'M';
	rwbs[i] = 0;
}

static __always_inline __u32 rq_dev(struct request *rq)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);

	if (!disk)
		return 0;
	return ((__u32)BPF_CORE_READ(disk, major) << 20) | (__u32)BPF_CORE_READ(disk, first_minor);
}

static __always_inline int rwbs_len(const char *rwbs)
{
	int n = 0;

	for (int i = 0; i < CT_KRWBS_LEN; i++) {
		if (!rwbs[i])
			break;
		n++;
	}
	return n + 1;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(ct_block_issue, struct request *rq)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct ct_krec_block_issue *r;
	struct span_state st = {};
	__u64 key = (__u64)rq;
	__u8 one = 1;
	__u64 ts;

	if (in_irq_ctx() || !is_traced(tgid))
		return 0;
	if (span_filter != CT_KSPAN_OFF) {
		struct filter_cache tmp, *c = filter_get(pid_tgid, &tmp);

		if (!span_keep_current(c, (__u32)pid_tgid, &st))
			return 0;
	}
	ts = bpf_ktime_get_ns();
	if (span_filter != CT_KSPAN_OFF)
		tag_current(&st, ts, tgid, (__u32)pid_tgid);
	/* Its completion is kept with it. */
	bpf_map_update_elem(&inflight_rq, &key, &one, BPF_ANY);
	r = reserve(sizeof(*r), EV_BLOCK_RQ_ISSUE, TYPE_KEY(EV_BLOCK_RQ_ISSUE), ts, tgid,
		    (__u32)pid_tgid);
	if (!r)
		return 0;
	r->dev = rq_dev(rq);
	r->sector = BPF_CORE_READ(rq, __sector);
	r->bytes = BPF_CORE_READ(rq, __data_len);
	r->nr_sector = r->bytes >> 9;
	fill_rwbs(r->rwbs, BPF_CORE_READ(rq, cmd_flags));
	r->h_size = 20 + rwbs_len(r->rwbs);
	submit(r);
	return 0;
}

/* Completions run in interrupt context or on behalf of the device: pid/tid 0. */
SEC("tp_btf/block_rq_complete")
int BPF_PROG(ct_block_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	struct ct_krec_block_complete *r;
	__u64 key = (__u64)rq;

	if (!bpf_map_lookup_elem(&inflight_rq, &key))
		return 0;
	bpf_map_delete_elem(&inflight_rq, &key);
	r = reserve(sizeof(*r), EV_BLOCK_RQ_COMPLETE, TYPE_KEY(EV_BLOCK_RQ_COMPLETE),
		    bpf_ktime_get_ns(), 0, 0);
	if (!r)
		return 0;
	r->dev = rq_dev(rq);
	r->sector = BPF_CORE_READ(rq, __sector);
	r->nr_sector = nr_bytes >> 9;
	/* blk_status_t values are kernel-internal; any failure is reported as -EIO. */
	r->error = error ? -5 : 0;
	fill_rwbs(r->rwbs, BPF_CORE_READ(rq, cmd_flags));
	r->h_size = 20 + rwbs_len(r->rwbs);
	submit(r);
	return 0;
}
