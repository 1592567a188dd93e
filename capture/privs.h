/* SPDX-License-Identifier: MIT */
/*
 * Whether this process may trace: root, or the capabilities the kernel asks for (CAP_BPF and
 * CAP_PERFMON for BPF tracing programs; CAP_PERFMON for tracepoint perf events). Checked
 * before anything is set up, so that the user gets one sentence saying what to grant.
 */
#ifndef CT_CAPTURE_PRIVS_H
#define CT_CAPTURE_PRIVS_H

#include <stddef.h>

/*
 * Returns 0 when the effective capabilities include CAP_BPF and CAP_PERFMON (or
 * CAP_SYS_ADMIN, which older kernels required instead); 1 when only CAP_PERFMON is there
 * (enough for the perf backend; err then says what BPF would need); -EPERM when neither
 * backend can work, with a message in err naming what is missing and how to grant it.
 * Thread-safe.
 */
int ct_privs_check(char *err, size_t errlen);

/* Whether the effective capability set holds cap (CAP_IPC_LOCK, ...). Thread-safe. */
int ct_privs_has(int cap);

#endif
