// SPDX-License-Identifier: MIT
/*
 * The floor for bench/capture: the least a BPF syscall tracer can do. Raw tracepoints on
 * sys_enter/sys_exit, one pid comparison, a 24-byte record per event into a ring buffer,
 * the same batched wake-ups as crosstrace (no per-event wake-up). No arguments, no filter
 * map, no drop accounting.
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u32 target_tgid = 0;
const volatile __u64 wakeup_bytes = 65536;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} rb SEC(".maps");

struct floor_rec {
	__u64 ts;
	__u32 tid;
	__u32 nr;
	__u64 val;
};

static __always_inline int emit(__u64 nr, __u64 val)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct floor_rec *r;

	if ((__u32)(pid_tgid >> 32) != target_tgid)
		return 0;
	r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
	if (!r)
		return 0;
	r->ts = bpf_ktime_get_ns();
	r->tid = (__u32)pid_tgid;
	r->nr = (__u32)nr;
	r->val = val;
	bpf_ringbuf_submit(r, bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) >= wakeup_bytes
				      ? BPF_RB_FORCE_WAKEUP
				      : BPF_RB_NO_WAKEUP);
	return 0;
}

/* raw_tp args: sys_enter (struct pt_regs *regs, long id), sys_exit (regs, long ret). */
SEC("raw_tp/sys_enter")
int floor_enter(struct bpf_raw_tracepoint_args *ctx)
{
	return emit(ctx->args[1], 0);
}

SEC("raw_tp/sys_exit")
int floor_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return emit(0, ctx->args[1]);
}
