// SPDX-License-Identifier: MIT
/*
 * The parts of capture/ that read text (the /proc/net tables, /proc/<pid>/stat, tracepoint
 * format files), the syscall argument table, command resolution, and the state dump run
 * against this test process's own /proc entries (real sockets and pipes, no root needed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/launch.h"
#include "capture/statedump.h"
#include "capture/syscalls.h"
#include "capture/tracefs.h"
#include "format/event.h"
#include "test.h"

struct socks {
	char names[16][160];
	uint64_t inodes[16];
	int types[16];
	int n;
};

static void collect(void *arg, uint64_t inode, int fd_type, const char *name)
{
	struct socks *s = arg;

	if (s->n < 16) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
		s->inodes[s->n] = inode;
		s->types[s->n] = fd_type;
		s->n++;
	}
}

TEST(procnet_tcp4)
{
	static const char text[] =
		"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   "
		"uid  timeout inode\n"
		"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 "
		"       0 12345 1 0000000000000000 100 0 0 10 0\n"
		"   1: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000 "
		"       0 67890 1 0000000000000000 20 4 30 10 -1\n"
		"   2: garbage line\n"
		"   3: 0100007F:C351 0100007F:1F90 06 00000000:00000000 03:00000F9B 00000000     0 "
		"       0 0 3 0000000000000000\n";
	struct socks s = {0};

	CHECK_INT(ct_procnet_parse_inet(text, "tcp", 0, collect, &s), 2);
	CHECK_STR(s.names[0], "tcp 127.0.0.1:8080 (listening)");
	CHECK_U64(s.inodes[0], 12345);
	CHECK_INT(s.types[0], CT_FD_SOCKET_TCP);
	CHECK_STR(s.names[1], "tcp 127.0.0.1:50000->127.0.0.1:8080");
	CHECK_U64(s.inodes[1], 67890);
}

TEST(procnet_tcp6_udp)
{
	static const char tcp6[] =
		"  sl  local_address                         remote_address                        "
		"st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
		"   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 "
		"0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 "
		"100 0 0 10 0\n";
	static const char udp[] = "   sl  local_address rem_address   st tx_queue rx_queue tr "
				  "tm->when retrnsmt   uid "
				  " timeout inode ref pointer drops\n"
				  "  123: 00000000:14E9 00000000:0000 07 00000000:00000000 "
				  "00:00000000 00000000   104 "
				  "       0 222 2 0000000000000000 0\n";
	struct socks s = {0};

	CHECK_INT(ct_procnet_parse_inet(tcp6, "tcp", 1, collect, &s), 1);
	CHECK_STR(s.names[0], "tcp6 [::1]:80 (listening)");
	CHECK_INT(ct_procnet_parse_inet(udp, "udp", 0, collect, &s), 1);
	CHECK_STR(s.names[1], "udp 0.0.0.0:5353");
	CHECK_INT(s.types[1], CT_FD_SOCKET_UDP);
}

TEST(procnet_unix)
{
	static const char text[] =
		"Num       RefCount Protocol Flags    Type St Inode Path\n"
		"0000000000000000: 00000002 00000000 00010000 0001 01 20817 /run/dbus/socket\n"
		"0000000000000000: 00000003 00000000 00000000 0001 03 20900\n"
		"0000000000000000: 00000002 00000000 00010000 0001 01 21000 @abstract\n";
	struct socks s = {0};

	CHECK_INT(ct_procnet_parse_unix(text, collect, &s), 3);
	CHECK_STR(s.names[0], "unix /run/dbus/socket");
	CHECK_STR(s.names[1], "unix");
	CHECK_STR(s.names[2], "unix @abstract");
	CHECK_U64(s.inodes[1], 20900);
	CHECK_INT(s.types[2], CT_FD_SOCKET_UNIX);
}

TEST(proc_stat)
{
	char comm[32];
	int ppid = 0;

	CHECK_INT(ct_proc_parse_stat("42 (a) (b) c) S 7 42 42 0 -1", &ppid, comm, sizeof(comm)), 0);
	CHECK_INT(ppid, 7);
	CHECK_STR(comm, "a) (b) c");
	CHECK_INT(ct_proc_parse_stat("42 (x", &ppid, comm, sizeof(comm)), -EINVAL);
	CHECK_INT(ct_proc_parse_stat("42 (x) S", &ppid, comm, sizeof(comm)), -EINVAL);
	CHECK_INT(ct_proc_parse_stat("1 (init) S 0 1 1", &ppid, NULL, 0), 0);
	CHECK_INT(ppid, 0);
}

TEST(tracepoint_format)
{
	static const char text[] =
		"name: sched_process_exec\nID: 365\nformat:\n"
		"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
		"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
		"\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n"
		"\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n"
		"\tfield:char prev_comm[16];\toffset:16;\tsize:16;\tsigned:0;\n"
		"\tfield:unsigned long args[6];\toffset:32;\tsize:48;\tsigned:0;\n"
		"\nprint fmt: \"filename=%s\", __get_str(filename)\n";
	struct ct_tp_format f;
	const struct ct_tp_field *x;

	CHECK_INT(ct_tp_format_parse(text, &f), 0);
	CHECK_INT(f.id, 365);
	CHECK_INT(f.n, 6);
	x = ct_tp_format_field(&f, "filename");
	CHECK(x && x->data_loc && x->offset == 8 && x->size == 4);
	x = ct_tp_format_field(&f, "pid");
	CHECK(x && !x->data_loc && x->offset == 12 && x->is_signed);
	x = ct_tp_format_field(&f, "prev_comm");
	CHECK(x && x->offset == 16 && x->size == 16);
	x = ct_tp_format_field(&f, "args");
	CHECK(x && x->offset == 32 && x->size == 48);
	CHECK(ct_tp_format_field(&f, "nope") == NULL);
	CHECK(ct_tp_format_parse("name: x\nformat:\n", &f) < 0);
	CHECK(ct_tp_format_parse("", &f) < 0);
}

TEST(syscall_table)
{
	uint8_t t[CT_KNR_MAX];

	ct_sys_kind_table(t);
	CHECK_INT(CT_KSYS_KIND(t[SYS_openat]), CT_KSYS_PATH);
	CHECK_INT(CT_KSYS_ARG_A(t[SYS_openat]), 1);
	CHECK_INT(CT_KSYS_KIND(t[SYS_execve]), CT_KSYS_PATH);
	CHECK_INT(CT_KSYS_ARG_A(t[SYS_execve]), 0);
	CHECK_INT(CT_KSYS_KIND(t[SYS_connect]), CT_KSYS_ADDR_IN);
	CHECK_INT(CT_KSYS_ARG_B(t[SYS_connect]), 2);
	CHECK_INT(CT_KSYS_KIND(t[SYS_sendto]), CT_KSYS_ADDR_IN);
	CHECK_INT(CT_KSYS_ARG_A(t[SYS_sendto]), 4);
	CHECK_INT(CT_KSYS_KIND(t[SYS_accept4]), CT_KSYS_ADDR_OUT);
	CHECK_INT(CT_KSYS_KIND(t[SYS_recvfrom]), CT_KSYS_ADDR_OUT);
	CHECK_INT(CT_KSYS_ARG_B(t[SYS_recvfrom]), 5);
	CHECK_INT(t[SYS_read], CT_KSYS_PLAIN);
	CHECK_INT(t[SYS_getpid], CT_KSYS_PLAIN);
}

TEST(resolve_command)
{
	char path[4096], err[512];

	CHECK_INT(ct_launch_resolve("sh", path, sizeof(path), err, sizeof(err)), 0);
	CHECK(access(path, X_OK) == 0);
	CHECK_INT(ct_launch_resolve("no-such-cmd-ct", path, sizeof(path), err, sizeof(err)),
		  -ENOENT);
	CHECK(strstr(err, "command not found: no-such-cmd-ct"));
	{
		char plain[] = "/tmp/ct-plain-XXXXXX";
		int fd = mkstemp(plain);

		CHECK(fd >= 0);
		fchmod(fd, 0644);
		close(fd);
		CHECK_INT(ct_launch_resolve(plain, path, sizeof(path), err, sizeof(err)), -EACCES);
		CHECK(strstr(err, "not an executable"));
		unlink(plain);
	}
	CHECK_INT(ct_launch_resolve("", path, sizeof(path), err, sizeof(err)), -EINVAL);
}

struct dump {
	char names[64][256];
	int fds[64], types[64];
	int n, procs, threads;
};

static int on_dump(void *arg, uint16_t type, int32_t pid, int32_t tid, const void *payload,
		   size_t len)
{
	struct dump *d = arg;
	struct ct_event e;

	(void)tid;
	CHECK_INT(pid, getpid());
	CHECK_INT(ct_ev_decode(type, payload, len, &e), (int)len);
	if (type == CT_EV_STATEDUMP_PROCESS)
		d->procs++;
	else if (type == CT_EV_STATEDUMP_THREAD)
		d->threads++;
	else if (type == CT_EV_STATEDUMP_FD && d->n < 64) {
		d->fds[d->n] = e.u.statedump_fd.fd;
		d->types[d->n] = e.u.statedump_fd.fd_type;
		snprintf(d->names[d->n], sizeof(d->names[0]), "%s", e.u.statedump_fd.name);
		d->n++;
	}
	return 0;
}

static const char *name_of(const struct dump *d, int fd, int *type)
{
	for (int i = 0; i < d->n; i++) {
		if (d->fds[i] == fd) {
			*type = d->types[i];
			return d->names[i];
		}
	}
	return NULL;
}

TEST(statedump_of_self)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct ct_statedump_stats st = {0};
	struct dump *d = calloc(1, sizeof(*d));
	socklen_t len = sizeof(a);
	char want[128], link[64], target[128];
	int ls, p[2], type = -1;
	ssize_t n;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(ls >= 0 && !bind(ls, (struct sockaddr *)&a, sizeof(a)) && !listen(ls, 1) &&
	      !getsockname(ls, (struct sockaddr *)&a, &len));
	CHECK_INT(pipe(p), 0);
	CHECK_INT(ct_statedump_process("/proc", getpid(), 0, on_dump, d, &st), 0);
	CHECK_INT(d->procs, 1);
	CHECK(d->threads >= 1);
	snprintf(want, sizeof(want), "tcp 127.0.0.1:%u (listening)", ntohs(a.sin_port));
	CHECK_STR(name_of(d, ls, &type), want);
	CHECK_INT(type, CT_FD_SOCKET_TCP);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", p[0]);
	n = readlink(link, target, sizeof(target) - 1);
	CHECK(n > 0);
	target[n > 0 ? n : 0] = 0;
	CHECK_STR(name_of(d, p[0], &type), target);
	CHECK_INT(type, CT_FD_PIPE);
	CHECK_INT(st.unreadable, 0);
	/* A process that does not exist is counted, not fatal. */
	CHECK_INT(ct_statedump_process("/proc", 0x3ffffff0, 0, on_dump, d, &st), 0);
	CHECK_INT(st.unreadable, 1);
	close(ls);
	close(p[0]);
	close(p[1]);
	free(d);
}

TEST(process_tree)
{
	pid_t pids[16];
	pid_t child = fork();
	int n;

	if (child == 0) {
		pause();
		_exit(0);
	}
	n = ct_statedump_tree("/proc", getpid(), pids, 16);
	CHECK(n >= 2);
	CHECK_INT(pids[0], getpid());
	{
		int found = 0;

		for (int i = 1; i < n; i++)
			found |= pids[i] == child;
		CHECK(found);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	CHECK_INT(ct_statedump_tree("/proc", 0x3ffffff0, pids, 16), -ESRCH);
}

int main(void)
{
	RUN(procnet_tcp4);
	RUN(procnet_tcp6_udp);
	RUN(procnet_unix);
	RUN(proc_stat);
	RUN(tracepoint_format);
	RUN(syscall_table);
	RUN(resolve_command);
	RUN(statedump_of_self);
	RUN(process_tree);
	return test_main_end();
}
