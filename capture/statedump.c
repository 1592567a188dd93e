// SPDX-License-Identifier: MIT
/*
 * State dump from /proc: processes, threads and fds. Socket fds are named by looking their
 * inode up in the process's own network namespace tables (/proc/<pid>/net/...).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/event.h"
#include "statedump.h"

#define NAME_MAX_LEN 256

/* ---- parsers ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses n hex digits at *p into bytes written by the kernel as %08X words (see below). */
static int parse_hex(const char **p, int ndigits, uint64_t *out)
{
	uint64_t v = 0;

	for (int i = 0; i < ndigits; i++) {
		int h = hexval((unsigned char)(*p)[i]);

		if (h < 0)
			return -1;
		v = v << 4 | (uint64_t)h;
	}
	*p += ndigits;
	*out = v;
	return 0;
}

/*
 * "0100007F:1F90": the address words are the in-memory u32s printed with %08X, so on a
 * little-endian host each word's bytes come out reversed; the port is in host order.
 */
static int parse_endpoint(const char **p, int ipv6, char *out, size_t len)
{
	uint8_t addr[16];
	char txt[INET6_ADDRSTRLEN];
	uint64_t w, port;
	int words = ipv6 ? 4 : 1;

	for (int i = 0; i < words; i++) {
		if (parse_hex(p, 8, &w))
			return -1;
		addr[i * 4 + 0] = (uint8_t)(w & 0xff);
		addr[i * 4 + 1] = (uint8_t)((w >> 8) & 0xff);
		addr[i * 4 + 2] = (uint8_t)((w >> 16) & 0xff);
		addr[i * 4 + 3] = (uint8_t)((w >> 24) & 0xff);
	}
	if (**p != ':')
		return -1;
	(*p)++;
	if (parse_hex(p, 4, &port))
		return -1;
	if (!inet_ntop(ipv6 ? AF_INET6 : AF_INET, addr, txt, sizeof(txt)))
		return -1;
	snprintf(out, len, ipv6 ? "[%s]:%u" : "%s:%u", txt, (unsigned)port);
	return 0;
}

static int is_zero_endpoint(const char *s)
{
	return !strcmp(s, "0.0.0.0:0") || !strcmp(s, "[::]:0");
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static const char *skip_field(const char *p)
{
	while (*p && *p != ' ' && *p != '\t' && *p != '\n')
		p++;
	return skip_ws(p);
}

int ct_procnet_parse_inet(const char *text, const char *proto, int ipv6, ct_sock_fn fn, void *arg)
{
	const char *line = text;
	int n = 0, is_tcp = !strcmp(proto, "tcp");

	while (*line) {
		const char *eol = strchr(line, '\n');
		const char *p = skip_ws(line);
		char local[64], remote[64], name[160];
		uint64_t state, inode = 0;
		int ok = 1;

		if (!eol)
			eol = line + strlen(line);
		/* "sl:" then local, remote, st, tx:rx, tr:when, retrnsmt, uid, timeout, inode */
		while (*p && *p != ':' && p < eol && isdigit((unsigned char)*p))
			p++;
		if (p >= eol || *p != ':' || p == skip_ws(line))
			ok = 0;
		if (ok) {
			p = skip_ws(p + 1);
			ok = !parse_endpoint(&p, ipv6, local, sizeof(local));
		}
		if (ok) {
			p = skip_ws(p);
			ok = !parse_endpoint(&p, ipv6, remote, sizeof(remote));
		}
		if (ok) {
			p = skip_ws(p);
			ok = !parse_hex(&p, 2, &state);
		}
		if (ok) {
			p = skip_ws(p);
			for (int i = 0; i < 5 && p < eol; i++)
				p = skip_field(p);
			ok = p < eol && isdigit((unsigned char)*p);
			if (ok)
				inode = strtoull(p, NULL, 10);
		}
		if (ok && inode) {
			const char *v6 = ipv6 ? "6" : "";

			if (is_tcp && state == 0x0A)
				snprintf(name, sizeof(name), "%s%s %s (listening)", proto, v6,
					 local);
			else if (is_zero_endpoint(remote))
				snprintf(name, sizeof(name), "%s%s %s", proto, v6, local);
			else
				snprintf(name, sizeof(name), "%s%s %s->%s", proto, v6, local,
					 remote);
			fn(arg, inode, is_tcp ? CT_FD_SOCKET_TCP : CT_FD_SOCKET_UDP, name);
			n++;
		}
		line = *eol ? eol + 1 : eol;
	}
	return n;
}

int ct_procnet_parse_unix(const char *text, ct_sock_fn fn, void *arg)
{
	const char *line = text;
	int n = 0;

	while (*line) {
		const char *eol = strchr(line, '\n');
		const char *p = line;
		char name[NAME_MAX_LEN + 8];
		uint64_t inode;
		size_t plen;

		if (!eol)
			eol = line + strlen(line);
		/* "Num: RefCount Protocol Flags Type St Inode [Path]" */
		while (p < eol && isxdigit((unsigned char)*p))
			p++;
		if (p == line || p >= eol || *p != ':')
			goto next;
		p = skip_ws(p + 1);
		for (int i = 0; i < 5 && p < eol; i++)
			p = skip_field(p);
		if (p >= eol || !isdigit((unsigned char)*p))
			goto next;
		inode = strtoull(p, NULL, 10);
		p = skip_field(p);
		plen = p < eol ? (size_t)(eol - p) : 0;
		if (plen > NAME_MAX_LEN)
			plen = NAME_MAX_LEN;
		if (plen)
			snprintf(name, sizeof(name), "unix %.*s", (int)plen, p);
		else
			snprintf(name, sizeof(name), "unix");
		if (inode) {
			fn(arg, inode, CT_FD_SOCKET_UNIX, name);
			n++;
		}
next:
		line = *eol ? eol + 1 : eol;
	}
	return n;
}

int ct_proc_parse_stat(const char *text, int *ppid, char *comm, size_t comm_len)
{
	const char *open = strchr(text, '(');
	const char *close = strrchr(text, ')');
	size_t n;

	/* The name may hold spaces and parentheses: it spans from the first '(' to the last ')'. */
	if (!open || !close || close < open || close[1] != ' ' || !close[2] || close[3] != ' ')
		return -EINVAL;
	n = (size_t)(close - open - 1);
	if (comm_len) {
		if (n >= comm_len)
			n = comm_len - 1;
		memcpy(comm, open + 1, n);
		comm[n] = 0;
	}
	/* ") S 1234 ..." */
	if (!isdigit((unsigned char)close[4]) && close[4] != '-')
		return -EINVAL;
	*ppid = atoi(close + 4);
	return 0;
}

/* ---- reading /proc ---- */

struct sock_ent {
	uint64_t inode;
	int type;
	char *name;
};

struct sock_table {
	struct sock_ent *e;
	size_t n, cap;
};

static void sock_add(void *arg, uint64_t inode, int fd_type, const char *name)
{
	struct sock_table *t = arg;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct sock_ent *e = realloc(t->e, cap * sizeof(*e));

		if (!e)
			return;
		t->e = e;
		t->cap = cap;
	}
	t->e[t->n].name = strdup(name);
	if (!t->e[t->n].name)
		return;
	t->e[t->n].inode = inode;
	t->e[t->n].type = fd_type;
	t->n++;
}

static void sock_table_fini(struct sock_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].name);
	free(t->e);
}

static const struct sock_ent *sock_find(const struct sock_table *t, uint64_t inode)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->e[i].inode == inode)
			return &t->e[i];
	}
	return NULL;
}

/* Reads a whole (small, /proc) file into a malloc'd NUL-terminated buffer. */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, n = 0;
	char *buf;

	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (buf) {
		buf[n] = 0;
		if (len)
			*len = n;
	}
	return buf;
}

static void load_sockets(const char *proc_root, pid_t pid, struct sock_table *t)
{
	static const struct {
		const char *file, *proto;
		int v6;
	} tabs[] = {{"tcp", "tcp", 0}, {"tcp6", "tcp", 1}, {"udp", "udp", 0}, {"udp6", "udp", 1}};
	char path[256];
	char *text;

	for (size_t i = 0; i < sizeof(tabs) / sizeof(tabs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%d/net/%s", proc_root, (int)pid, tabs[i].file);
		text = slurp(path, NULL);
		if (text)
			ct_procnet_parse_inet(text, tabs[i].proto, tabs[i].v6, sock_add, t);
		free(text);
	}
	snprintf(path, sizeof(path), "%s/%d/net/unix", proc_root, (int)pid);
	text = slurp(path, NULL);
	if (text)
		ct_procnet_parse_unix(text, sock_add, t);
	free(text);
}

static int read_link(const char *path, char *out, size_t len)
{
	ssize_t n = readlink(path, out, len - 1);

	if (n < 0)
		return -errno;
	out[n] = 0;
	return 0;
}

static unsigned fd_flags(const char *proc_root, pid_t pid, int fd)
{
	char path[256], *text, *f;
	unsigned flags = 0;

	snprintf(path, sizeof(path), "%s/%d/fdinfo/%d", proc_root, (int)pid, fd);
	text = slurp(path, NULL);
	if (!text)
		return 0;
	f = strstr(text, "flags:");
	if (f)
		flags = (unsigned)strtoul(f + 6, NULL, 8);
	free(text);
	return flags;
}

/* Classifies the target of /proc/<pid>/fd/<fd> and gives its display name. */
static int classify(const char *proc_root, pid_t pid, int fd, const char *target,
		    struct sock_table *socks, int *socks_loaded, char *name, size_t len)
{
	char path[256];
	struct stat st;
	uint64_t inode;

	snprintf(name, len, "%s", target);
	if (sscanf(target, "socket:[%" SCNu64 "]", &inode) == 1) {
		const struct sock_ent *s;

		if (!*socks_loaded) {
			load_sockets(proc_root, pid, socks);
			*socks_loaded = 1;
		}
		s = sock_find(socks, inode);
		if (!s)
			return CT_FD_SOCKET_OTHER;
		snprintf(name, len, "%s", s->name);
		return s->type;
	}
	if (!strncmp(target, "pipe:", 5))
		return CT_FD_PIPE;
	if (!strncmp(target, "anon_inode:", 11)) {
		const char *k = target + 11;

		if (strstr(k, "eventfd"))
			return CT_FD_EVENTFD;
		if (strstr(k, "eventpoll"))
			return CT_FD_EPOLL;
		if (strstr(k, "timerfd"))
			return CT_FD_TIMERFD;
		if (strstr(k, "signalfd"))
			return CT_FD_SIGNALFD;
		return CT_FD_ANON;
	}
	if (target[0] != '/')
		return CT_FD_UNKNOWN;
	snprintf(path, sizeof(path), "%s/%d/fd/%d", proc_root, (int)pid, fd);
	if (stat(path, &st))
		return CT_FD_FILE;
	if (S_ISDIR(st.st_mode))
		return CT_FD_DIR;
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		return CT_FD_DEVICE;
	return CT_FD_FILE;
}

static int dump_fds(const char *proc_root, pid_t pid, int flags, ct_statedump_emit_fn emit,
		    void *arg, struct ct_statedump_stats *st)
{
	struct sock_table socks = {0};
	int socks_loaded = 0, err = 0;
	char path[256];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%d/fd", proc_root, (int)pid);
	d = opendir(path);
	if (!d) {
		st->unreadable++;
		return 0;
	}
	while (!err && (de = readdir(d))) {
		char target[NAME_MAX_LEN], name[NAME_MAX_LEN], link[300];
		uint8_t buf[4 + 1 + 4 + NAME_MAX_LEN + 1], *p = buf;
		unsigned oflags;
		int fd, type;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		fd = atoi(de->d_name);
		oflags = fd_flags(proc_root, pid, fd);
		if ((flags & CT_STATEDUMP_BEFORE_EXEC) && (oflags & O_CLOEXEC))
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		if (read_link(link, target, sizeof(target)))
			continue; /* closed meanwhile */
		type = classify(proc_root, pid, fd, target, &socks, &socks_loaded, name,
				sizeof(name));
		p = ct_put_u32(p, (uint32_t)fd);
		p = ct_put_u8(p, (uint8_t)type);
		p = ct_put_u32(p, oflags);
		p = ct_put_str(p, name, NAME_MAX_LEN - 1);
		err = emit(arg, CT_EV_STATEDUMP_FD, pid, pid, buf, (size_t)(p - buf));
		st->fds++;
	}
	closedir(d);
	sock_table_fini(&socks);
	return err;
}

static void read_comm(const char *path, char *comm, size_t len)
{
	char *t = slurp(path, NULL);

	comm[0] = 0;
	if (t) {
		t[strcspn(t, "\n")] = 0;
		snprintf(comm, len, "%s", t);
		free(t);
	}
}

int ct_statedump_process(const char *proc_root, pid_t tgid, int flags, ct_statedump_emit_fn emit,
			 void *arg, struct ct_statedump_stats *st)
{
	char path[256], comm[64], exe[NAME_MAX_LEN];
	uint8_t buf[4 + 64 + NAME_MAX_LEN + 2], *p = buf;
	struct dirent *de;
	char *stat_text;
	int ppid = 0, err;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%d/stat", proc_root, (int)tgid);
	stat_text = slurp(path, NULL);
	if (!stat_text || ct_proc_parse_stat(stat_text, &ppid, comm, sizeof(comm))) {
		free(stat_text);
		st->unreadable++;
		return 0;
	}
	free(stat_text);
	snprintf(path, sizeof(path), "%s/%d/comm", proc_root, (int)tgid);
	read_comm(path, comm, sizeof(comm));
	snprintf(path, sizeof(path), "%s/%d/exe", proc_root, (int)tgid);
	if (read_link(path, exe, sizeof(exe)))
		exe[0] = 0;
	p = ct_put_u32(p, (uint32_t)ppid);
	p = ct_put_str(p, comm, 63);
	p = ct_put_str(p, exe, NAME_MAX_LEN - 1);
	err = emit(arg, CT_EV_STATEDUMP_PROCESS, tgid, tgid, buf, (size_t)(p - buf));
	if (err)
		return err;
	st->processes++;

	snprintf(path, sizeof(path), "%s/%d/task", proc_root, (int)tgid);
	d = opendir(path);
	if (d) {
		while (!err && (de = readdir(d))) {
			char cpath[300];
			int tid;

			if (!isdigit((unsigned char)de->d_name[0]))
				continue;
			tid = atoi(de->d_name);
			snprintf(cpath, sizeof(cpath), "%s/%d/comm", path, tid);
			read_comm(cpath, comm, sizeof(comm));
			p = ct_put_str(buf, comm, 63);
			err = emit(arg, CT_EV_STATEDUMP_THREAD, tgid, tid, buf, (size_t)(p - buf));
			st->threads++;
		}
		closedir(d);
	}
	if (err)
		return err;
	return dump_fds(proc_root, tgid, flags, emit, arg, st);
}

int ct_statedump_tree(const char *proc_root, pid_t root, pid_t *pids, int max)
{
	struct pp {
		pid_t pid, ppid;
	} *all = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int found = 0;
	char path[256];
	struct stat sb;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%d", proc_root, (int)root);
	if (stat(path, &sb))
		return -ESRCH;
	if (max < 1)
		return 0;
	pids[found++] = root;
	d = opendir(proc_root);
	if (!d)
		return found;
	while ((de = readdir(d))) {
		char *text;
		int ppid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "%s/%s/stat", proc_root, de->d_name);
		text = slurp(path, NULL);
		if (text && !ct_proc_parse_stat(text, &ppid, NULL, 0)) {
			if (n == cap) {
				size_t c = cap ? cap * 2 : 256;
				struct pp *a = realloc(all, c * sizeof(*a));

				if (!a) {
					free(text);
					break;
				}
				all = a;
				cap = c;
			}
			all[n].pid = atoi(de->d_name);
			all[n].ppid = ppid;
			n++;
		}
		free(text);
	}
	closedir(d);
	/* Breadth-first over the parent links: pids[] doubles as the queue. */
	for (int q = 0; q < found; q++) {
		for (size_t i = 0; i < n && found < max; i++) {
			if (all[i].ppid == pids[q] && all[i].pid != root)
				pids[found++] = all[i].pid;
		}
	}
	free(all);
	return found;
}
