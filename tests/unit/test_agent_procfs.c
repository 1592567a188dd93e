// SPDX-License-Identifier: MIT
/*
 * What the agent reads from /proc: cgroup membership (/proc/PID/cgroup, v1 and v2 lines),
 * TCP sockets (/proc/net/tcp and tcp6, as the kernel formats them), and the peer-pid lookup
 * on a real loopback connection made by this process (the real /proc is the oracle: the
 * client end of the connection belongs to us).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/peerpid.h"
#include "agent/watch.h"
#include "test.h"

TEST(cgroup_lines)
{
	static const char v2[] = "0::/system.slice/web.service\n";
	static const char hybrid[] = "9:name=systemd:/user.slice\n"
				     "4:memory:/process_api/abc\n"
				     "2:cpu,cpuacct:/batch\n"
				     "0::/system.slice/db.service\n";

	CHECK(ct_cgroup_text_in(v2, "", "/system.slice"));
	CHECK(ct_cgroup_text_in(v2, "", "/system.slice/web.service"));
	CHECK(ct_cgroup_text_in(v2, "", "/"));
	/* A prefix of a name is not a parent directory. */
	CHECK(!ct_cgroup_text_in(v2, "", "/system.slice/web"));
	CHECK(!ct_cgroup_text_in(v2, "", "/user.slice"));
	CHECK(!ct_cgroup_text_in(v2, "memory", "/system.slice"));
	CHECK(ct_cgroup_text_in(hybrid, "", "/system.slice/db.service"));
	CHECK(ct_cgroup_text_in(hybrid, "memory", "/process_api"));
	CHECK(!ct_cgroup_text_in(hybrid, "memory", "/batch"));
	/* Controller lists compare as sets. */
	CHECK(ct_cgroup_text_in(hybrid, "cpuacct,cpu", "/batch"));
	CHECK(!ct_cgroup_text_in(hybrid, "cpu", "/batch"));
	CHECK(ct_cgroup_text_in(hybrid, "name=systemd", "/user.slice"));
	CHECK(!ct_cgroup_text_in("", "", "/"));
	CHECK(!ct_cgroup_text_in("garbage without colons", "", "/"));
}

TEST(procnet_lines)
{
	/* As the kernel prints them: addresses are the network-order words read on the host. */
	static const char tcp[] =
		"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid "
		" "
		"timeout inode\n"
		"   0: 0100007F:10E6 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 "
		"       0 1111 1 0000000000000000 100 0 0 10 0\n"
		"   1: 0100007F:D431 0100007F:10E6 01 00000000:00000000 00:00000000 00000000     0 "
		"       0 2222 1 0000000000000000 20 4 30 10 -1\n"
		"   2: 0100007F:10E6 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0 "
		"       0 3333 1 0000000000000000 20 4 30 10 -1\n";
	static const char tcp6[] = "  sl  local_address                         remote_address     "
				   "                   st "
				   "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
				   "   0: 0000000000000000FFFF00000100007F:D432 "
				   "0000000000000000FFFF00000100007F:10E6 01 "
				   "00000000:00000000 00:00000000 00000000     0        0 4444 1 "
				   "0000000000000000 20 4 "
				   "30 10 -1\n";
	uint32_t lo = htonl(INADDR_LOOPBACK);

	/* The client end: local = peer 127.0.0.1:54321, remote = our listener :4326. */
	CHECK_U64(ct_procnet_find_inode(tcp, 0, lo, 54321, lo, 4326), 2222);
	CHECK_U64(ct_procnet_find_inode(tcp, 0, lo, 4326, lo, 54321), 3333);
	CHECK_U64(ct_procnet_find_inode(tcp, 0, lo, 1, lo, 4326), 0);
	CHECK_U64(ct_procnet_find_inode(tcp6, 1, lo, 54322, lo, 4326), 4444);
	CHECK_U64(ct_procnet_find_inode("", 0, lo, 1, lo, 2), 0);
	CHECK_U64(ct_procnet_find_inode("header only\n  0: junk\n", 0, lo, 1, lo, 2), 0);
}

/* A real connection on loopback: its client end is ours. */
TEST(peer_pid_of_own_connection)
{
	struct sockaddr_in a = {.sin_family = AF_INET}, local, peer;
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(!bind(l, (struct sockaddr *)&a, sizeof(a)) && !listen(l, 1));
	CHECK(!getsockname(l, (struct sockaddr *)&a, &len));
	CHECK(!connect(c, (struct sockaddr *)&a, sizeof(a)));
	len = sizeof(peer);
	s = accept(l, (struct sockaddr *)&peer, &len);
	CHECK(s >= 0);
	len = sizeof(local);
	getsockname(s, (struct sockaddr *)&local, &len);
	/* What the receiver sees: the peer's address and its own end. */
	CHECK_INT(ct_peer_pid("/proc", peer.sin_addr.s_addr, ntohs(peer.sin_port),
			      local.sin_addr.s_addr, ntohs(local.sin_port)),
		  getpid());
	/* Asked again (cached), still right. */
	CHECK_INT(ct_peer_pid("/proc", peer.sin_addr.s_addr, ntohs(peer.sin_port),
			      local.sin_addr.s_addr, ntohs(local.sin_port)),
		  getpid());
	/* Nobody's connection. */
	CHECK_INT(ct_peer_pid("/proc", peer.sin_addr.s_addr, 1, local.sin_addr.s_addr,
			      ntohs(local.sin_port)),
		  0);
	close(s);
	close(c);
	close(l);
}

int main(void)
{
	RUN(cgroup_lines);
	RUN(procnet_lines);
	RUN(peer_pid_of_own_connection);
	return test_main_end();
}
