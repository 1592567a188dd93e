/* SPDX-License-Identifier: MIT */
/*
 * Which local process sent a request: the owner of the client end of its TCP connection.
 * The client socket is found in /proc/net/tcp (or tcp6, IPv4-mapped) by its two addresses,
 * which gives its inode; the process is the one holding "socket:[inode]" among its fds.
 * Used for spans that carry no process id (Zipkin). Recent answers are cached per
 * connection (keep-alive clients reuse it). Thread-safe.
 */
#ifndef CT_AGENT_PEERPID_H
#define CT_AGENT_PEERPID_H

#include <stdint.h>

/*
 * The pid of the process owning the TCP socket peer_ip:peer_port connected to
 * local_ip:local_port (IPv4 addresses in network byte order, ports in host order), or 0
 * when it is not a local process (or has gone). proc_root is normally "/proc".
 */
int32_t ct_peer_pid(const char *proc_root, uint32_t peer_ip4, uint16_t peer_port,
		    uint32_t local_ip4, uint16_t local_port);

/* The inode of that socket from the text of /proc/net/tcp or tcp6 (pure), or 0. */
uint64_t ct_procnet_find_inode(const char *text, int ipv6, uint32_t peer_ip4, uint16_t peer_port,
			       uint32_t local_ip4, uint16_t local_port);

#endif
