/* SPDX-License-Identifier: MIT */
/*
 * Which syscalls carry a file name or a socket address, and in which arguments: the table the
 * BPF program uses to read those user-space arguments (x86_64 numbering).
 */
#ifndef CT_CAPTURE_SYSCALLS_H
#define CT_CAPTURE_SYSCALLS_H

#include <stdint.h>

#include "bpf/capture.h"

/* Fills table[nr] with CT_KSYS_MAKE(kind, a, b) for every syscall (CT_KSYS_PLAIN elsewhere). */
void ct_sys_kind_table(uint8_t table[CT_KNR_MAX]);

#endif
