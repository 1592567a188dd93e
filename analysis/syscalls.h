/* SPDX-License-Identifier: MIT */
/*
 * What the analysis knows about x86_64 system calls: names (a table generated from
 * asm/unistd_64.h at build time), which argument is a file descriptor, and what a thread
 * blocked inside one is waiting for. Pure tables; thread-safe.
 */
#ifndef CT_ANALYSIS_SYSCALLS_H
#define CT_ANALYSIS_SYSCALLS_H

#include <stdint.h>

/* What blocking inside a syscall means, before the fd type refines it. */
enum ct_sc_class {
	CT_SCC_OTHER = 0, /* wait4, pause, ... or unknown */
	CT_SCC_FDIO, /* read/write family: the fd's type decides (file → io, socket → network) */
	CT_SCC_NET, /* socket calls: accept, connect, recv*, send* */
	CT_SCC_POLL, /* readiness waits (poll, select, epoll_wait): counted as network */
	CT_SCC_LOCK, /* futex, flock */
	CT_SCC_SLEEP, /* nanosleep, clock_nanosleep */
	CT_SCC_DISK, /* fsync family, path lookups, aio */
};

/* The name of syscall nr ("read"), or NULL when unknown. */
const char *ct_syscall_name(unsigned nr);

/* The number of a syscall name, or -1. */
int ct_syscall_nr(const char *name);

enum ct_sc_class ct_syscall_class(unsigned nr);

/* Which argument (0-5) holds the file descriptor the call works on, or -1. */
int ct_syscall_fd_arg(unsigned nr);

/* The futex family: arg0 is the lock word's address. */
int ct_syscall_is_futex(unsigned nr);
/* clone, clone3, fork, vfork: a new task's first event is their exit (0), without entry. */
int ct_syscall_is_clone(unsigned nr);

/* Numbers the fd table needs (x86_64). */
enum {
	CT_NR_READ = 0,
	CT_NR_WRITE = 1,
	CT_NR_OPEN = 2,
	CT_NR_CLOSE = 3,
	CT_NR_MMAP = 9,
	CT_NR_PIPE = 22,
	CT_NR_DUP = 32,
	CT_NR_DUP2 = 33,
	CT_NR_SOCKET = 41,
	CT_NR_CLONE = 56,
	CT_NR_FORK = 57,
	CT_NR_VFORK = 58,
	CT_NR_CONNECT = 42,
	CT_NR_ACCEPT = 43,
	CT_NR_BIND = 49,
	CT_NR_FCNTL = 72,
	CT_NR_FSYNC = 74,
	CT_NR_CREAT = 85,
	CT_NR_FUTEX = 202,
	CT_NR_EPOLL_CREATE = 213,
	CT_NR_OPENAT = 257,
	CT_NR_SIGNALFD = 282,
	CT_NR_TIMERFD_CREATE = 283,
	CT_NR_EVENTFD = 284,
	CT_NR_ACCEPT4 = 288,
	CT_NR_SIGNALFD4 = 289,
	CT_NR_EVENTFD2 = 290,
	CT_NR_EPOLL_CREATE1 = 291,
	CT_NR_DUP3 = 292,
	CT_NR_INOTIFY_INIT1 = 294,
	CT_NR_MEMFD_CREATE = 319,
	CT_NR_CLONE3 = 435,
	CT_NR_OPENAT2 = 437,
	CT_NR_FUTEX_WAITV = 449,
};

#endif
