// SPDX-License-Identifier: MIT
/* The syscall argument table: path-taking syscalls and sockaddr in/out arguments. */
#include <string.h>
#include <sys/syscall.h>

#include "syscalls.h"

struct sys_arg {
	int nr;
	uint8_t kind, a, b;
};

#define PATH(name, arg)                          \
	{                                        \
		SYS_##name, CT_KSYS_PATH, arg, 0 \
	}
#define ADDR_IN(name, addr, len)                       \
	{                                              \
		SYS_##name, CT_KSYS_ADDR_IN, addr, len \
	}
#define ADDR_OUT(name, addr, lenp)                       \
	{                                                \
		SYS_##name, CT_KSYS_ADDR_OUT, addr, lenp \
	}

static const struct sys_arg table[] = {
	PATH(open, 0),
	PATH(openat, 1),
	PATH(openat2, 1),
	PATH(creat, 0),
	PATH(execve, 0),
	PATH(execveat, 1),
	PATH(stat, 0),
	PATH(lstat, 0),
	PATH(newfstatat, 1),
	PATH(statx, 1),
	PATH(statfs, 0),
	PATH(access, 0),
	PATH(faccessat, 1),
	PATH(faccessat2, 1),
	PATH(readlink, 0),
	PATH(readlinkat, 1),
	PATH(unlink, 0),
	PATH(unlinkat, 1),
	PATH(mkdir, 0),
	PATH(mkdirat, 1),
	PATH(rmdir, 0),
	PATH(rename, 0),
	PATH(renameat, 1),
	PATH(renameat2, 1),
	PATH(link, 0),
	PATH(linkat, 1),
	PATH(symlink, 1),
	PATH(symlinkat, 2),
	PATH(chdir, 0),
	PATH(chroot, 0),
	PATH(chmod, 0),
	PATH(fchmodat, 1),
	PATH(chown, 0),
	PATH(lchown, 0),
	PATH(fchownat, 1),
	PATH(truncate, 0),
	PATH(mknod, 0),
	PATH(mknodat, 1),
	PATH(utimensat, 1),
	PATH(utimes, 0),
	PATH(inotify_add_watch, 1),
	PATH(getxattr, 0),
	PATH(lgetxattr, 0),
	PATH(setxattr, 0),
	PATH(lsetxattr, 0),
	PATH(listxattr, 0),
	PATH(removexattr, 0),
	PATH(mount, 1),
	PATH(umount2, 0),
	PATH(swapon, 0),
	PATH(acct, 0),
	ADDR_IN(connect, 1, 2),
	ADDR_IN(bind, 1, 2),
	ADDR_IN(sendto, 4, 5),
	ADDR_OUT(accept, 1, 2),
	ADDR_OUT(accept4, 1, 2),
	ADDR_OUT(recvfrom, 4, 5),
	ADDR_OUT(getpeername, 1, 2),
	ADDR_OUT(getsockname, 1, 2),
};

void ct_sys_kind_table(uint8_t out[CT_KNR_MAX])
{
	memset(out, 0, CT_KNR_MAX);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (table[i].nr >= 0 && table[i].nr < CT_KNR_MAX)
			out[table[i].nr] = CT_KSYS_MAKE(table[i].kind, table[i].a, table[i].b);
	}
}
