// SPDX-License-Identifier: MIT
/* Capability check with capget(2) (no libcap dependency). */
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privs.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static int has_cap(const struct __user_cap_data_struct d[2], int cap)
{
	return (d[cap / 32].effective >> (cap % 32)) & 1;
}

int ct_privs_has(int cap)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2] = {{0}};

	if (cap < 0 || cap >= 64 || syscall(SYS_capget, &h, d))
		return 0;
	return has_cap(d, cap);
}

int ct_privs_check(char *err, size_t errlen)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2] = {{0}};
	int bpf, perfmon;

	if (syscall(SYS_capget, &h, d)) {
		snprintf(err, errlen, "cannot read this process's capabilities: %m");
		return -errno;
	}
	if (has_cap(d, CAP_SYS_ADMIN))
		return 0;
	bpf = has_cap(d, CAP_BPF);
	perfmon = has_cap(d, CAP_PERFMON);
	if (bpf && perfmon)
		return 0;
	if (perfmon) {
		snprintf(err, errlen,
			 "loading BPF programs needs CAP_BPF, which this process lacks (grant it "
			 "with `sudo setcap cap_bpf,cap_perfmon+ep $(command -v crosstrace)`)");
		return 1;
	}
	snprintf(err, errlen,
		 "kernel tracing needs root or the capabilities CAP_BPF and CAP_PERFMON (missing: "
		 "%s%s%s): run as root, or grant them with `sudo setcap cap_bpf,cap_perfmon+ep "
		 "$(command -v crosstrace)`",
		 bpf ? "" : "CAP_BPF", !bpf && !perfmon ? ", " : "", perfmon ? "" : "CAP_PERFMON");
	return -EPERM;
}
