// SPDX-License-Identifier: MIT
/*
 * File descriptor tables: what each fd of each process points to (path, socket, pipe...),
 * from the state dump and the syscalls that create, copy and close fds. In a soft partial an
 * fd used before anything defined it gets a pending info that stitching resolves against the
 * left partial's table; fd infos are shared by reference so that resolving one fixes every
 * syscall record that used it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "syscalls.h"

static const char *const type_names[] = {
	"unknown", "file",    "dir",   "tcp",	  "udp",      "unix", "socket",
	"pipe",	   "eventfd", "epoll", "timerfd", "signalfd", "anon", "device",
};

const char *fd_type_name(unsigned type)
{
	return type < sizeof(type_names) / sizeof(type_names[0]) ? type_names[type] : "unknown";
}

struct fdinfo *fd_new(struct ct_partial *p, uint8_t type, const char *name, size_t len)
{
	struct fdinfo *f = calloc(1, sizeof(*f));

	if (!f || (name && !(f->name = ct_strndup0(name, len)))) {
		free(f);
		p->oom++;
		return NULL;
	}
	f->type = type;
	f->refs = 1;
	f->fd = -1;
	f->born = p->last_ts;
	f->next = p->fdinfos.next;
	f->prev = &p->fdinfos;
	p->fdinfos.next->prev = f;
	p->fdinfos.next = f;
	return f;
}

void fd_unref(struct ct_partial *p, struct fdinfo *f)
{
	if (p->teardown)
		return;
	while (f && --f->refs == 0) {
		struct fdinfo *fwd = f->fwd;

		fd_unref(p, f->type_of);
		fd_unref(p, f->via);
		f->prev->next = f->next;
		f->next->prev = f->prev;
		free(f->name);
		free(f);
		f = fwd;
	}
}

uint8_t fd_type(struct fdinfo *f)
{
	for (int depth = 0; depth < 64; depth++) {
		f = fd_resolve(f);
		if (!f)
			return CT_FD_UNKNOWN;
		if (!f->type_of)
			return f->type;
		f = f->type_of;
	}
	return CT_FD_UNKNOWN;
}

/* a, b and c one after the other into buf (size bytes), cut to fit: the hot path of cause
 * texts, where snprintf cost more than the rest. */
static void put2(char *buf, size_t size, const char *a, const char *b, const char *c)
{
	const char *s[3] = {a, b, c};
	size_t at = 0;

	for (int i = 0; i < 3 && size; i++) {
		size_t n = strlen(s[i]);

		if (at + n >= size)
			n = size - at - 1;
		memcpy(buf + at, s[i], n);
		at += n;
	}
	if (size)
		buf[at] = 0;
}

/* "tcp 127.0.0.1:8080 (accepted)": a connection named by the socket it was accepted on. */
static void accepted_text(struct fdinfo *listener, char *buf, size_t size)
{
	char t[256];
	size_t n;

	fd_text(listener, t, sizeof(t));
	n = strlen(t);
	if (n > 8 && !strcmp(t + n - 8, " (bound)"))
		t[n - 8] = 0;
	snprintf(buf, size, "%s (accepted)", t);
}

/*
 * An accepted connection whose peer address was not asked for (accept(fd, NULL, NULL), as
 * most servers do): named and typed by the listening socket. Returns it with one reference.
 */
static struct fdinfo *accepted_via(struct ct_partial *p, struct fdinfo *listener)
{
	struct fdinfo *f = fd_new(p, CT_FD_UNKNOWN, NULL, 0);

	if (f) {
		f->via = fd_ref(listener);
		f->type_of = fd_ref(listener);
	}
	return f;
}

void fd_text(struct fdinfo *f, char *buf, size_t size)
{
	f = fd_resolve(f);
	if (!f)
		snprintf(buf, size, "?");
	else if (f->flags & (FD_PENDING | FD_FROM_PREFIX))
		snprintf(buf, size, "fd %d", f->fd);
	else if (f->via)
		accepted_text(f->via, buf, size);
	else if (f->type_of)
		put2(buf, size, fd_type_name(fd_type(f->type_of)), " ", f->name ? f->name : "?");
	else
		put2(buf, size, f->name ? f->name : "?", "", "");
}

struct fdinfo *fd_resolve(struct fdinfo *f)
{
	while (f && f->fwd)
		f = f->fwd;
	return f;
}

void fdt_set(struct ct_partial *p, struct proc *pr, int32_t fd, struct fdinfo *f)
{
	uint64_t key = (uint64_t)(uint32_t)fd + 1, *v = ct_hmap_get(&pr->fds, key);

	if (v) {
		struct fdinfo *old = (struct fdinfo *)(uintptr_t)*v;

		*v = (uint64_t)(uintptr_t)fd_ref(f);
		fd_unref(p, old);
		return;
	}
	if (!f)
		return;
	if (ct_hmap_put(&pr->fds, key, (uint64_t)(uintptr_t)f)) {
		p->oom++;
		return;
	}
	fd_ref(f);
}

void fdt_close(struct ct_partial *p, struct proc *pr, int32_t fd)
{
	uint64_t key = (uint64_t)(uint32_t)fd + 1, *v = ct_hmap_get(&pr->fds, key);
	struct fdinfo *old = v ? (struct fdinfo *)(uintptr_t)*v : NULL;

	if (p->at_start) {
		if (v)
			ct_hmap_del(&pr->fds, key);
	} else if (v) {
		*v = 0; /* soft: remember the close, the left partial's entry must go too */
	} else if (ct_hmap_put(&pr->fds, key, 0)) {
		p->oom++;
	}
	fd_unref(p, old);
}

struct fdinfo *fdt_lookup(struct ct_partial *p, struct proc *pr, int32_t fd)
{
	uint64_t *v = ct_hmap_get(&pr->fds, (uint64_t)(uint32_t)fd + 1);
	struct fdinfo *f;
	char name[32];

	if (v && *v)
		return (struct fdinfo *)(uintptr_t)*v;
	if (p->at_start || v) {
		/* Used but never opened in the whole recording (or used after its close). */
		snprintf(name, sizeof(name), "fd %d", fd);
		f = fd_new(p, CT_FD_UNKNOWN, name, sizeof(name));
		if (f)
			f->flags = FD_UNKNOWN;
	} else {
		f = fd_new(p, CT_FD_UNKNOWN, NULL, 0);
		if (f)
			f->flags = FD_PENDING;
	}
	if (!f)
		return NULL;
	f->pid = pr->pid;
	f->fd = fd;
	fdt_set(p, pr, fd, f);
	fd_unref(p, f); /* the table holds it */
	return f;
}

void fdt_copy(struct ct_partial *p, struct proc *dst, const struct proc *src)
{
	uint64_t k, v;

	for (size_t it = 0; ct_hmap_next(&src->fds, &it, &k, &v);) {
		if (v)
			fdt_set(p, dst, (int32_t)(k - 1), (struct fdinfo *)(uintptr_t)v);
		else if (!ct_hmap_get(&dst->fds, k) && ct_hmap_put(&dst->fds, k, 0))
			p->oom++; /* soft: closed here; the copy must not take the left's */
	}
}

int fd_sockaddr_text(const uint8_t *a, size_t len, char *buf, size_t size)
{
	uint16_t family;
	char ip[64];

	if (!a || len < 2)
		return 0;
	memcpy(&family, a, 2);
	if (family == 2 && len >= 8) { /* AF_INET */
		if (!inet_ntop(2, a + 4, ip, sizeof(ip)))
			return 0;
		return snprintf(buf, size, "%s:%u", ip, (unsigned)(a[2] << 8 | a[3]));
	}
	if (family == 10 && len >= 24) { /* AF_INET6 */
		if (!inet_ntop(10, a + 8, ip, sizeof(ip)))
			return 0;
		return snprintf(buf, size, "[%s]:%u", ip, (unsigned)(a[2] << 8 | a[3]));
	}
	if (family == 1) { /* AF_UNIX; an abstract name starts with a NUL */
		size_t n = len - 2;
		const char *path = (const char *)a + 2;

		if (n == 0)
			return snprintf(buf, size, "unix:(unnamed)");
		if (path[0] == 0)
			return snprintf(buf, size, "unix:@%.*s", (int)strnlen(path + 1, n - 1),
					path + 1);
		return snprintf(buf, size, "unix:%.*s", (int)strnlen(path, n), path);
	}
	return snprintf(buf, size, "family %u", family);
}

static uint8_t socket_type(uint64_t domain, uint64_t type)
{
	type &= 0xf;
	if (domain == 2 || domain == 10)
		return type == 1   ? CT_FD_SOCKET_TCP
		       : type == 2 ? CT_FD_SOCKET_UDP
				   : CT_FD_SOCKET_OTHER;
	if (domain == 1)
		return CT_FD_SOCKET_UNIX;
	return CT_FD_SOCKET_OTHER;
}

static void define(struct ct_partial *p, struct proc *pr, int64_t fd, uint8_t type,
		   const char *name)
{
	struct fdinfo *f;

	if (fd < 0 || fd > INT32_MAX)
		return;
	f = fd_new(p, type, name, strlen(name));
	if (!f)
		return;
	fdt_set(p, pr, (int32_t)fd, f);
	fd_unref(p, f);
}

/*
 * What the fd returned by a syscall is, from its number, arguments and path/address text.
 * Returns 1 and fills type/name when the call creates an fd described by these alone.
 */
static int describe(unsigned nr, const uint64_t *args, const char *text, uint8_t *type, char *name,
		    size_t size)
{
	const char *path = text ? text : "?";
	uint64_t oflags = 0;

	switch (nr) {
	case CT_NR_OPEN:
	case CT_NR_CREAT:
	case CT_NR_OPENAT:
	case CT_NR_OPENAT2:
		oflags = nr == CT_NR_OPEN ? args[1] : nr == CT_NR_OPENAT ? args[2] : 0;
		*type = (oflags & 0200000)	     ? CT_FD_DIR
			: !strncmp(path, "/dev/", 5) ? CT_FD_DEVICE
						     : CT_FD_FILE;
		snprintf(name, size, "%s", path);
		return 1;
	case CT_NR_SOCKET:
		*type = socket_type(args[0], args[1]);
		snprintf(name, size, "%s socket", fd_type_name(*type));
		return 1;
	case CT_NR_ACCEPT:
	case CT_NR_ACCEPT4:
		/* The peer's family tells the kind; the listening fd is not needed. */
		*type = text && !strncmp(text, "unix:", 5) ? CT_FD_SOCKET_UNIX : CT_FD_SOCKET_TCP;
		snprintf(name, size, "%s peer %s (accepted)", fd_type_name(*type), path);
		return 1;
	case CT_NR_EVENTFD:
	case CT_NR_EVENTFD2:
		*type = CT_FD_EVENTFD;
		snprintf(name, size, "eventfd");
		return 1;
	case CT_NR_EPOLL_CREATE:
	case CT_NR_EPOLL_CREATE1:
		*type = CT_FD_EPOLL;
		snprintf(name, size, "epoll");
		return 1;
	case CT_NR_TIMERFD_CREATE:
		*type = CT_FD_TIMERFD;
		snprintf(name, size, "timerfd");
		return 1;
	case CT_NR_SIGNALFD:
	case CT_NR_SIGNALFD4:
		*type = CT_FD_SIGNALFD;
		snprintf(name, size, "signalfd");
		return 1;
	case CT_NR_MEMFD_CREATE:
		*type = CT_FD_ANON;
		snprintf(name, size, "memfd");
		return 1;
	case CT_NR_INOTIFY_INIT1:
		*type = CT_FD_ANON;
		snprintf(name, size, "inotify");
		return 1;
	default:
		return 0;
	}
}

/* Fills a FROM_PREFIX fd info now that the entry of the syscall that made it is known. */
void fd_resolve_prefix(struct ct_partial *p, struct fdinfo *f, const struct screc *entry)
{
	char name[256];
	uint8_t type = CT_FD_UNKNOWN;

	if (entry && entry->fd &&
	    (entry->nr == CT_NR_DUP || entry->nr == CT_NR_DUP2 || entry->nr == CT_NR_DUP3 ||
	     entry->nr == CT_NR_FCNTL)) {
		f->fwd = fd_ref(entry->fd); /* a copy of the source fd */
		f->flags &= (uint8_t)~FD_FROM_PREFIX;
		return;
	}
	if (entry && entry->fd && !entry->text &&
	    (entry->nr == CT_NR_ACCEPT || entry->nr == CT_NR_ACCEPT4)) {
		f->via = fd_ref(entry->fd);
		f->type_of = fd_ref(entry->fd);
		f->flags &= (uint8_t)~FD_FROM_PREFIX;
		return;
	}
	if (entry && describe(entry->nr, entry->args, entry->text, &type, name, sizeof(name))) {
		free(f->name);
		f->name = ct_strndup0(name, sizeof(name));
		f->type = type;
	} else {
		snprintf(name, sizeof(name), "fd %d", f->fd);
		free(f->name);
		f->name = ct_strndup0(name, sizeof(name));
		f->type = CT_FD_UNKNOWN;
		f->flags |= FD_UNKNOWN;
	}
	if (!f->name)
		p->oom++;
	f->flags &= (uint8_t)~FD_FROM_PREFIX;
}

static int creates_fd(unsigned nr)
{
	uint8_t type;
	char name[8];
	static const uint64_t zero[6];

	return describe(nr, zero, NULL, &type, name, sizeof(name)) || nr == CT_NR_DUP ||
	       nr == CT_NR_DUP2 || nr == CT_NR_DUP3;
}

void fd_syscall_exit(struct ct_partial *p, struct thread *t, struct screc *r)
{
	struct proc *pr = t->pid > 0 ? pr_get(p, t->pid) : NULL;
	char name[256];
	uint8_t type;

	if (!pr)
		return;
	if (r->flags & SC_PREFIX) {
		/* The entry (arguments, path) lies before this partial. */
		struct fdinfo *f;

		if (r->ret < 0 || !creates_fd(r->nr))
			return;
		if ((r->nr == CT_NR_ACCEPT || r->nr == CT_NR_ACCEPT4) && r->text) {
			/* The peer address from the exit says all there is to say. */
			if (describe(r->nr, r->args, r->text, &type, name, sizeof(name)))
				define(p, pr, r->ret, type, name);
			return;
		}
		if (p->at_start) {
			snprintf(name, sizeof(name), "fd %d", (int)r->ret);
			define(p, pr, r->ret, CT_FD_UNKNOWN, name);
			return;
		}
		f = fd_new(p, CT_FD_UNKNOWN, NULL, 0);
		if (!f)
			return;
		f->flags = FD_FROM_PREFIX;
		f->pid = pr->pid;
		f->tid = t->tid;
		f->fd = (int32_t)r->ret;
		f->ret = r->ret;
		fdt_set(p, pr, (int32_t)r->ret, f);
		fd_unref(p, f);
		return;
	}
	if (r->ret < 0 && !(r->nr == CT_NR_CONNECT && r->ret == -115))
		return;
	switch (r->nr) {
	case CT_NR_CLOSE:
		fdt_close(p, pr, (int32_t)r->args[0]);
		return;
	case CT_NR_DUP:
		if (r->fd)
			fdt_set(p, pr, (int32_t)r->ret, r->fd);
		return;
	case CT_NR_DUP2:
	case CT_NR_DUP3:
		if (r->fd && r->args[0] != r->args[1])
			fdt_set(p, pr, (int32_t)r->args[1], r->fd);
		return;
	case CT_NR_FCNTL:
		if ((r->args[1] == 0 || r->args[1] == 1030) && r->fd) /* F_DUPFD(_CLOEXEC) */
			fdt_set(p, pr, (int32_t)r->ret, r->fd);
		return;
	case CT_NR_CONNECT:
	case CT_NR_BIND: {
		/* Same socket, now named by its address; its type stays the socket's, even when
		 * that is only known after stitching. */
		struct fdinfo *f;

		if (!r->text || !r->fd)
			return;
		snprintf(name, sizeof(name), r->nr == CT_NR_CONNECT ? "%s" : "%s (bound)", r->text);
		f = fd_new(p, CT_FD_UNKNOWN, name, strlen(name));
		if (!f)
			return;
		f->type_of = fd_ref(r->fd);
		fdt_set(p, pr, (int32_t)r->args[0], f);
		fd_unref(p, f);
		return;
	}
	case CT_NR_ACCEPT:
	case CT_NR_ACCEPT4:
		if (!r->text && r->fd && r->ret <= INT32_MAX) {
			struct fdinfo *f = accepted_via(p, r->fd);

			if (f) {
				fdt_set(p, pr, (int32_t)r->ret, f);
				fd_unref(p, f);
			}
			return;
		}
		/* fall through */
	default:
		if (describe(r->nr, r->args, r->text, &type, name, sizeof(name)))
			define(p, pr, r->ret, type, name);
		return;
	}
}
