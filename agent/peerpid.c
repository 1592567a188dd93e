// SPDX-License-Identifier: MIT
/* TCP peer → local pid, through /proc (see peerpid.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peerpid.h"

#define CACHE 64

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint32_t ip;
	uint16_t port, lport;
	uint64_t inode;
	int32_t pid;
} cache[CACHE];
static unsigned cache_next;

/* Reads a whole small file (a /proc table) into a NUL-terminated malloc'd buffer. */
static char *slurp(const char *path)
{
	size_t cap = 16384, n = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	for (;;) {
		ssize_t r;

		if (n + 1 == cap) {
			char *b = realloc(buf, cap * 2);

			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	return buf;
}

/* "0100007F:1F90" (IPv4) or the 32-hex-digit IPv6 form; IPv4-mapped IPv6 gives its IPv4. */
static int parse_addr(const char *s, int ipv6, uint32_t *ip, uint16_t *port)
{
	unsigned w[4], p;

	if (!ipv6) {
		if (sscanf(s, "%8x:%4x", &w[0], &p) != 2)
			return -1;
		*ip = w[0]; /* the kernel prints the network-order word as read by the host */
		*port = (uint16_t)p;
		return 0;
	}
	if (sscanf(s, "%8x%8x%8x%8x:%4x", &w[0], &w[1], &w[2], &w[3], &p) != 5)
		return -1;
	/* ::ffff:a.b.c.d: words 0,1 zero, word 2 = ffff0000 as read on a little-endian host. */
	if (w[0] || w[1] || w[2] != 0xffff0000u)
		return -1;
	*ip = w[3];
	*port = (uint16_t)p;
	return 0;
}

uint64_t ct_procnet_find_inode(const char *text, int ipv6, uint32_t peer_ip4, uint16_t peer_port,
			       uint32_t local_ip4, uint16_t local_port)
{
	const char *line = strchr(text, '\n'); /* skip the header */

	while (line && *++line) {
		char la[64], ra[64];
		unsigned long long inode;
		uint32_t lip, rip;
		uint16_t lp, rp;
		const char *next = strchr(line, '\n');

		/* sl local rem st tx:rx tr:when retr uid timeout inode */
		if (sscanf(line, " %*[^:]: %63s %63s %*s %*s %*s %*s %*s %*s %llu", la, ra,
			   &inode) == 3 &&
		    !parse_addr(la, ipv6, &lip, &lp) && !parse_addr(ra, ipv6, &rip, &rp) &&
		    lip == peer_ip4 && lp == peer_port && rip == local_ip4 && rp == local_port &&
		    inode)
			return inode;
		line = next;
	}
	return 0;
}

static int32_t owner_of(const char *proc_root, uint64_t inode)
{
	char want[48], path[PATH_MAX], link[64];
	struct dirent *pe, *fe;
	DIR *pd = opendir(proc_root), *fd;
	int32_t found = 0;

	if (!pd)
		return 0;
	snprintf(want, sizeof(want), "socket:[%llu]", (unsigned long long)inode);
	while (!found && (pe = readdir(pd))) {
		char *end;
		long pid = strtol(pe->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "%s/%ld/fd", proc_root, pid);
		fd = opendir(path);
		if (!fd)
			continue;
		while ((fe = readdir(fd))) {
			char p2[PATH_MAX + 300];
			ssize_t n;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(p2, sizeof(p2), "%s/%s", path, fe->d_name);
			n = readlink(p2, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = 0;
			if (!strcmp(link, want)) {
				found = (int32_t)pid;
				break;
			}
		}
		closedir(fd);
	}
	closedir(pd);
	return found;
}

int32_t ct_peer_pid(const char *proc_root, uint32_t peer_ip4, uint16_t peer_port,
		    uint32_t local_ip4, uint16_t local_port)
{
	char path[PATH_MAX];
	uint64_t inode = 0;
	int32_t pid = 0;

	if (!peer_port || !local_port)
		return 0;
	for (int v6 = 0; v6 < 2 && !inode; v6++) {
		char *text;

		snprintf(path, sizeof(path), "%s/net/%s", proc_root, v6 ? "tcp6" : "tcp");
		text = slurp(path);
		if (text)
			inode = ct_procnet_find_inode(text, v6, peer_ip4, peer_port, local_ip4,
						      local_port);
		free(text);
	}
	if (!inode)
		return 0;
	pthread_mutex_lock(&mu);
	for (unsigned i = 0; i < CACHE; i++)
		if (cache[i].inode == inode && cache[i].port == peer_port &&
		    cache[i].ip == peer_ip4 && cache[i].lport == local_port)
			pid = cache[i].pid;
	pthread_mutex_unlock(&mu);
	if (pid) {
		/* Still holding it? (a pid can be reused, a socket inode not while open.) */
		snprintf(path, sizeof(path), "%s/%d", proc_root, (int)pid);
		if (access(path, F_OK) == 0)
			return pid;
	}
	pid = owner_of(proc_root, inode);
	if (pid) {
		pthread_mutex_lock(&mu);
		cache[cache_next % CACHE].ip = peer_ip4;
		cache[cache_next % CACHE].port = peer_port;
		cache[cache_next % CACHE].lport = local_port;
		cache[cache_next % CACHE].inode = inode;
		cache[cache_next % CACHE].pid = pid;
		cache_next++;
		pthread_mutex_unlock(&mu);
	}
	return pid;
}
