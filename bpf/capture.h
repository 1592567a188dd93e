/* SPDX-License-Identifier: MIT */
/*
 * Records that capture.bpf.c writes into the ring buffer, shared by the BPF program and the
 * user-space reader (capture/backend_bpf.c). Plain __u32/__u64 fields, no pointers.
 * Every record is a 28-byte header followed by the payload in event.def layout, so that the
 * reader appends it to a CTF stream with one copy; the header is 28 bytes (not 32) so that the
 * u64 fields of the common payloads (syscall args, ret, block sector) land 8-byte aligned.
 */
#ifndef CT_BPF_CAPTURE_H
#define CT_BPF_CAPTURE_H

#ifndef __VMLINUX_H__ /* the BPF side gets these types from vmlinux.h */
#include <linux/types.h>
#endif

#define CT_KREC_HDR_SIZE 28

/*
 * The header fields, spelled out at the start of every record struct (a header struct would
 * be padded to 32 bytes). size: payload bytes after the header.
 */
#define CT_KREC_HEADER                                                      \
	__u64 h_ts; /* ns, CLOCK_MONOTONIC (bpf_ktime_get_ns) */            \
	__u32 h_pid; /* tgid of the current task, 0 in interrupt context */ \
	__u32 h_tid; /* pid of the current task, 0 in interrupt context */  \
	__u16 h_type; /* enum ct_ev_type */                                 \
	__u16 h_size; /* payload bytes */                                   \
	__u16 h_cpu;                                                        \
	__u16 h_reserved;                                                   \
	__u32 h_aux; /* 0 */

/* The header alone, for reading: payload at CT_KREC_HDR_SIZE, not at sizeof. */
struct ct_krec_hdr {
	CT_KREC_HEADER
};

#define CT_KCOMM_LEN 16
#define CT_KPATH_MAX 256
#define CT_KADDR_MAX 128
#define CT_KRWBS_LEN 8

/* Syscall numbers the kind table covers (x86_64 numbers are below 512). */
#define CT_KNR_MAX 512

/*
 * Per-syscall kind (rodata sys_kind[nr]): bits 0-1 the kind, bits 2-4 argument a, 5-7 b.
 *   PATH:       args[a] is a user string (file name) read at entry
 *   ADDR_IN:    args[a] is a sockaddr of args[b] bytes, read at entry
 *   ADDR_OUT:   args[a] receives a sockaddr whose length is at *args[b]; read at exit
 */
#define CT_KSYS_PLAIN 0
#define CT_KSYS_PATH 1
#define CT_KSYS_ADDR_IN 2
#define CT_KSYS_ADDR_OUT 3
#define CT_KSYS_KIND(k) ((k)&3)
#define CT_KSYS_ARG_A(k) (((k) >> 2) & 7)
#define CT_KSYS_ARG_B(k) (((k) >> 5) & 7)
#define CT_KSYS_MAKE(kind, a, b) ((kind) | ((a) << 2) | ((b) << 5))

/* Values of the traced map (key: tgid). */
#define CT_KTRACE_TREE 1 /* traced, and so are the processes it forks */
#define CT_KTRACE_SPAWNER 2 /* not traced; the processes it forks are (the recorder itself) */

/*
 * Drop counters (bss, mmapped by the reader): per CPU, and per kind of event so that a test
 * can check recorded + dropped = generated per syscall. Kind keys: type - 64 for kernel
 * event types, CT_KDROP_SYS_ENTRY + nr and CT_KDROP_SYS_EXIT + nr for syscall events.
 */
#define CT_KMAX_CPUS 1024
#define CT_KDROP_TYPES 32
#define CT_KDROP_SYS_ENTRY CT_KDROP_TYPES
#define CT_KDROP_SYS_EXIT (CT_KDROP_SYS_ENTRY + CT_KNR_MAX)
#define CT_KDROP_KEYS (CT_KDROP_SYS_EXIT + CT_KNR_MAX)

/*
 * The filter's per-CPU cache of its last answer (see filter_get()), with the span filter's
 * per-CPU counters in the same cache line.
 */
struct filter_cache {
	__u64 pid_tgid;
	__u64 gen; /* traced_gen when the answer was taken */
	__u8 traced;
	__u8 verdict; /* span filter: CT_KVERDICT_* of this thread's syscall entry */
	__u16 pad;
	__u32 ctx_version; /* the process's thread context layout; 0: none registered */
	__s64 ctx_offset; /* its record's address - the thread's fs base */
	__u32 fork_tid, fork_seq; /* see struct ct_ktctx */
	/* --only-in-spans: events left out (written with atomic adds, summed by the reader) */
	__u64 outside; /* syscall / block events of threads inside no sampled span */
	__u64 no_ctx; /* syscall / block events of processes that registered no thread context */
	__u64 sched; /* switches and wake-ups with no thread inside a sampled span */
};

/*
 * What every syscall event reads, packed together in the program's bss so that it costs one
 * TLB entry: syscall entry runs right after the switch to the kernel page tables (PTI), when
 * every distinct page touched is a page walk. The reader sets wakeup_bytes and sys_kind
 * before attaching and bumps traced_gen after changing the traced map.
 */
struct ct_khot {
	__u64 traced_gen;
	__u64 wakeup_bytes; /* wake the reader when this much is pending */
	__u8 sys_kind[CT_KNR_MAX];
	__u64 pad[6]; /* the caches start on a cache line */
	struct filter_cache fcache[CT_KMAX_CPUS];
};

/*
 * Span-aware filtering (--only-in-spans): values of the load-time option span_filter.
 * CT_KSPAN_ONLY keeps syscall and block events only of threads inside a sampled span, and
 * scheduler events only when a thread on one side of them is (see capture.bpf.c).
 */
#define CT_KSPAN_OFF 0
#define CT_KSPAN_ONLY 1

/*
 * The span filter's verdict on a thread's syscall entry, kept in the filter cache for its
 * exit: the record cannot change while the thread is in the kernel. UNKNOWN: read it again.
 */
#define CT_KVERDICT_UNKNOWN 0
#define CT_KVERDICT_OUTSIDE 1
#define CT_KVERDICT_NO_CTX 2
#define CT_KVERDICT_KEPT 3 /* and its SPAN_TAG, if one was due, written */

/* The thread context record (lib/threadctx.h) as the programs read it: layout version 1. */
#define CT_KTCTX_VERSION 1
#define CT_KTCTX_SIZE 32

/*
 * Values of the tctx map (key: tgid): where the threads of a process publish their current
 * span, from the process's THREAD_CTX frame (written by the reader) or inherited at fork.
 * A forked child's only thread starts with a copy of the forking thread's record, which is
 * not its own span (libcrosstrace clears it in the child): while that thread (fork_tid) still
 * shows the sequence number copied (fork_seq), it counts as inside no span.
 */
struct ct_ktctx {
	__s64 offset; /* record address - fs base, the same in every thread */
	__u32 version; /* layout; 0: none (never registered, or the image was replaced by exec) */
	__u32 fork_tid; /* 0 when not a fork copy */
	__u32 fork_seq;
	__u32 pad;
	__u64 exec_ns; /* last exec (CLOCK_MONOTONIC): registrations sent before it are stale */
};

/* Per thread (task storage) for the span filter. */
struct ct_ktask {
	__u64 tag_span; /* span id of the thread's last SPAN_TAG record (0: none) */
	__u64 off_span; /* the sampled span it was in when it last left a CPU (0: none) */
};

/* Fixed-size records (payload = fields after the header). */
struct ct_krec_sys_enter {
	CT_KREC_HEADER
	__u32 nr;
	__u64 args[6];
};

struct ct_krec_sys_exit {
	CT_KREC_HEADER
	__u32 nr;
	__s64 ret;
};

/* Variable-size records: size covers the string up to its NUL, or the bytes used. */
struct ct_krec_sys_enter_path {
	CT_KREC_HEADER
	__u32 nr;
	__u64 args[6];
	char path[CT_KPATH_MAX];
};

struct ct_krec_sys_enter_addr {
	CT_KREC_HEADER
	__u32 nr;
	__u64 args[6];
	__u16 addr_len;
	__u8 addr[CT_KADDR_MAX];
};

struct ct_krec_sys_exit_addr {
	CT_KREC_HEADER
	__u32 nr;
	__s64 ret;
	__u16 addr_len;
	__u8 addr[CT_KADDR_MAX];
};

struct ct_krec_sched_switch {
	CT_KREC_HEADER
	__u32 prev_state;
	__s32 prev_prio;
	__s32 next_tid;
	__s32 next_pid;
	__s32 next_prio;
	char next_comm[CT_KCOMM_LEN];
};

struct ct_krec_sched_waking {
	CT_KREC_HEADER
	__s32 tid;
	__s32 pid;
	__u32 target_cpu;
	__u8 flags;
	char comm[CT_KCOMM_LEN];
};

/* sched_wakeup and sched_wakeup_new. */
struct ct_krec_sched_wakeup {
	CT_KREC_HEADER
	__s32 tid;
	__s32 pid;
	__u32 target_cpu;
};

struct ct_krec_fork {
	CT_KREC_HEADER
	__s32 child_pid;
	__s32 child_tid;
	char child_comm[CT_KCOMM_LEN];
};

struct ct_krec_exit {
	CT_KREC_HEADER
	__s32 exit_code;
	char comm[CT_KCOMM_LEN];
};

/*
 * Not in event.def layout (two strings, the first of variable length): the reader rewrites
 * it as process_exec {old_tid, filename, comm}. size: bytes used up to filename's NUL.
 */
struct ct_krec_exec {
	CT_KREC_HEADER
	__s32 old_tid;
	char comm[CT_KCOMM_LEN];
	char filename[CT_KPATH_MAX];
};

/* Not in event.def layout either: both names are fixed arrays; rewritten as task_rename. */
struct ct_krec_rename {
	CT_KREC_HEADER
	char oldcomm[CT_KCOMM_LEN];
	char newcomm[CT_KCOMM_LEN];
};

/*
 * The u64 fields of span_tag would sit at offset 28, not 8-aligned: they are written as
 * little-endian halves (lo, hi) so that the struct has no padding after the header.
 */
struct ct_krec_span_tag {
	CT_KREC_HEADER
	__u32 span_id[2]; /* event.def convention: the W3C bytes read as a big-endian u64 */
	__u32 trace_hi[2];
	__u32 trace_lo[2];
	__u8 flags;
};

struct ct_krec_block_issue {
	CT_KREC_HEADER
	__u32 dev;
	__u64 sector;
	__u32 nr_sector;
	__u32 bytes;
	char rwbs[CT_KRWBS_LEN];
};

struct ct_krec_block_complete {
	CT_KREC_HEADER
	__u32 dev;
	__u64 sector;
	__u32 nr_sector;
	__s32 error;
	char rwbs[CT_KRWBS_LEN];
};

#endif
