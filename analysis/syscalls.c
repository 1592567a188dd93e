// SPDX-License-Identifier: MIT
/*
 * x86_64 syscall tables: names (generated from asm/unistd_64.h at build time), which argument
 * is an fd, and what blocking inside each call is waiting for.
 */
#include <asm/unistd_64.h>
#include <string.h>

#include "syscalls.h"

#define CT_MAX_NR 512

static const char *const names[CT_MAX_NR] = {
#define CT_SYSCALL(nr, name) [nr] = #name,
#include "syscall_table.h"
#undef CT_SYSCALL
};

/* Blocking class per syscall; absent ones are CT_SCC_OTHER. */
static const uint8_t classes[CT_MAX_NR] = {
	[__NR_read] = CT_SCC_FDIO,
	[__NR_write] = CT_SCC_FDIO,
	[__NR_pread64] = CT_SCC_FDIO,
	[__NR_pwrite64] = CT_SCC_FDIO,
	[__NR_readv] = CT_SCC_FDIO,
	[__NR_writev] = CT_SCC_FDIO,
	[__NR_preadv] = CT_SCC_FDIO,
	[__NR_pwritev] = CT_SCC_FDIO,
	[__NR_preadv2] = CT_SCC_FDIO,
	[__NR_pwritev2] = CT_SCC_FDIO,
	[__NR_sendfile] = CT_SCC_FDIO,
	[__NR_splice] = CT_SCC_FDIO,
	[__NR_tee] = CT_SCC_FDIO,
	[__NR_copy_file_range] = CT_SCC_FDIO,
	[__NR_ioctl] = CT_SCC_FDIO,
	[__NR_close] = CT_SCC_FDIO,
	[__NR_ftruncate] = CT_SCC_FDIO,
	[__NR_fallocate] = CT_SCC_FDIO,
	[__NR_getdents64] = CT_SCC_FDIO,
	[__NR_lseek] = CT_SCC_FDIO,
	[__NR_fstat] = CT_SCC_FDIO,
	[__NR_recvfrom] = CT_SCC_NET,
	[__NR_recvmsg] = CT_SCC_NET,
	[__NR_recvmmsg] = CT_SCC_NET,
	[__NR_sendto] = CT_SCC_NET,
	[__NR_sendmsg] = CT_SCC_NET,
	[__NR_sendmmsg] = CT_SCC_NET,
	[__NR_accept] = CT_SCC_NET,
	[__NR_accept4] = CT_SCC_NET,
	[__NR_connect] = CT_SCC_NET,
	[__NR_shutdown] = CT_SCC_NET,
	[__NR_poll] = CT_SCC_POLL,
	[__NR_ppoll] = CT_SCC_POLL,
	[__NR_select] = CT_SCC_POLL,
	[__NR_pselect6] = CT_SCC_POLL,
	[__NR_epoll_wait] = CT_SCC_POLL,
	[__NR_epoll_pwait] = CT_SCC_POLL,
	[__NR_epoll_pwait2] = CT_SCC_POLL,
	[__NR_futex] = CT_SCC_LOCK,
	[__NR_futex_waitv] = CT_SCC_LOCK,
	[__NR_flock] = CT_SCC_LOCK,
	[__NR_fcntl] = CT_SCC_LOCK, /* blocks only for F_SETLKW */
	[__NR_nanosleep] = CT_SCC_SLEEP,
	[__NR_clock_nanosleep] = CT_SCC_SLEEP,
	[__NR_pause] = CT_SCC_SLEEP,
	[__NR_rt_sigtimedwait] = CT_SCC_SLEEP,
	[__NR_fsync] = CT_SCC_DISK,
	[__NR_fdatasync] = CT_SCC_DISK,
	[__NR_sync] = CT_SCC_DISK,
	[__NR_syncfs] = CT_SCC_DISK,
	[__NR_sync_file_range] = CT_SCC_DISK,
	[__NR_msync] = CT_SCC_DISK,
	[__NR_open] = CT_SCC_DISK,
	[__NR_openat] = CT_SCC_DISK,
	[__NR_openat2] = CT_SCC_DISK,
	[__NR_creat] = CT_SCC_DISK,
	[__NR_stat] = CT_SCC_DISK,
	[__NR_lstat] = CT_SCC_DISK,
	[__NR_newfstatat] = CT_SCC_DISK,
	[__NR_statx] = CT_SCC_DISK,
	[__NR_access] = CT_SCC_DISK,
	[__NR_faccessat] = CT_SCC_DISK,
	[__NR_faccessat2] = CT_SCC_DISK,
	[__NR_unlink] = CT_SCC_DISK,
	[__NR_unlinkat] = CT_SCC_DISK,
	[__NR_rename] = CT_SCC_DISK,
	[__NR_renameat] = CT_SCC_DISK,
	[__NR_renameat2] = CT_SCC_DISK,
	[__NR_mkdir] = CT_SCC_DISK,
	[__NR_mkdirat] = CT_SCC_DISK,
	[__NR_rmdir] = CT_SCC_DISK,
	[__NR_truncate] = CT_SCC_DISK,
	[__NR_execve] = CT_SCC_DISK,
	[__NR_io_getevents] = CT_SCC_DISK,
	[__NR_io_pgetevents] = CT_SCC_DISK,
	[__NR_io_uring_enter] = CT_SCC_DISK,
};

/* fd argument position + 1 (0 = none). */
static const uint8_t fd_args[CT_MAX_NR] = {
	[__NR_read] = 1,
	[__NR_write] = 1,
	[__NR_pread64] = 1,
	[__NR_pwrite64] = 1,
	[__NR_readv] = 1,
	[__NR_writev] = 1,
	[__NR_preadv] = 1,
	[__NR_pwritev] = 1,
	[__NR_preadv2] = 1,
	[__NR_pwritev2] = 1,
	[__NR_sendfile] = 2, /* the input fd: where the data waits */
	[__NR_splice] = 1,
	[__NR_tee] = 1,
	[__NR_copy_file_range] = 1,
	[__NR_ioctl] = 1,
	[__NR_close] = 1,
	[__NR_ftruncate] = 1,
	[__NR_fallocate] = 1,
	[__NR_getdents64] = 1,
	[__NR_lseek] = 1,
	[__NR_fstat] = 1,
	[__NR_fsync] = 1,
	[__NR_fdatasync] = 1,
	[__NR_syncfs] = 1,
	[__NR_sync_file_range] = 1,
	[__NR_fcntl] = 1,
	[__NR_flock] = 1,
	[__NR_recvfrom] = 1,
	[__NR_recvmsg] = 1,
	[__NR_recvmmsg] = 1,
	[__NR_sendto] = 1,
	[__NR_sendmsg] = 1,
	[__NR_sendmmsg] = 1,
	[__NR_accept] = 1,
	[__NR_accept4] = 1,
	[__NR_connect] = 1,
	[__NR_bind] = 1,
	[__NR_listen] = 1,
	[__NR_shutdown] = 1,
	[__NR_getsockname] = 1,
	[__NR_getpeername] = 1,
	[__NR_setsockopt] = 1,
	[__NR_getsockopt] = 1,
	[__NR_epoll_wait] = 1,
	[__NR_epoll_pwait] = 1,
	[__NR_epoll_pwait2] = 1,
	[__NR_epoll_ctl] = 1,
	[__NR_dup] = 1,
	[__NR_dup2] = 1,
	[__NR_dup3] = 1,
	[__NR_fchmod] = 1,
	[__NR_fchown] = 1,
	[__NR_fstatfs] = 1,
	[__NR_fadvise64] = 1,
	[__NR_io_uring_enter] = 1,
	[__NR_mmap] = 5,
};

const char *ct_syscall_name(unsigned nr)
{
	return nr < CT_MAX_NR ? names[nr] : NULL;
}

int ct_syscall_nr(const char *name)
{
	for (unsigned i = 0; i < CT_MAX_NR; i++)
		if (names[i] && !strcmp(names[i], name))
			return (int)i;
	return -1;
}

enum ct_sc_class ct_syscall_class(unsigned nr)
{
	return nr < CT_MAX_NR ? (enum ct_sc_class)classes[nr] : CT_SCC_OTHER;
}

int ct_syscall_fd_arg(unsigned nr)
{
	return nr < CT_MAX_NR ? (int)fd_args[nr] - 1 : -1;
}

int ct_syscall_is_futex(unsigned nr)
{
	return nr == __NR_futex || nr == __NR_futex_waitv;
}

int ct_syscall_is_clone(unsigned nr)
{
	return nr == CT_NR_CLONE || nr == CT_NR_CLONE3 || nr == CT_NR_FORK || nr == CT_NR_VFORK;
}
