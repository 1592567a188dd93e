// SPDX-License-Identifier: MIT
/*
 * The process watcher (see watch.h): /proc scans and the netlink process connector
 * (linux/cn_proc.h: PROC_EVENT_EXEC, _FORK, _COMM), feeding ct_recorder_watch.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "watch.h"

#define RESCAN_NS 1000000000ull
#define PF_KTHREAD 0x00200000u

struct ct_watch {
	struct ct_recorder *r;
	const struct ct_agent_config *c;
	/* Watched cgroups: the hierarchy ("" for v2, else its v1 controllers) and the path
	 * relative to its root, as /proc/PID/cgroup names it. */
	char cg_ctl[CT_AGENT_MAX_WATCH][64];
	char cg_rel[CT_AGENT_MAX_WATCH][PATH_MAX];
	unsigned n_cg;
	int nl; /* process connector socket, -1 none */
	pid_t self;
	uint64_t next_rescan;
	struct ct_watch_stats st;
};

/* ---- reading /proc ---- */

static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return (int)n;
}

static int is_kthread(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned flags = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return 1;
	p = strrchr(buf, ')');
	/* state ppid pgrp session tty_nr tpgid flags */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %u", &flags) != 1)
		return 1;
	return (flags & PF_KTHREAD) != 0;
}

static int comm_matches(const struct ct_watch *w, pid_t pid)
{
	char path[64], comm[32];
	int n;

	if (!w->c->n_watch_comm)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	n = read_small(path, comm, sizeof(comm));
	if (n <= 0)
		return 0;
	comm[strcspn(comm, "\n")] = 0;
	for (unsigned i = 0; i < w->c->n_watch_comm; i++)
		if (!strcmp(comm, w->c->watch_comm[i]))
			return 1;
	return 0;
}

/* Whether comma-separated lists a[0..na) and b hold the same names (any order). */
static int same_set(const char *a, size_t na, const char *b)
{
	size_t nb = strlen(b), i = 0, count_a = 0, count_b = 0;

	while (i < na) {
		size_t l = strcspn(a + i, ",");
		const char *p = b;
		int found = 0;

		if (l > na - i)
			l = na - i;
		count_a++;
		while (*p && !found) {
			size_t m = strcspn(p, ",");

			found = m == l && !strncmp(p, a + i, l);
			p += m + (p[m] == ',');
		}
		if (!found)
			return 0;
		i += l + 1;
	}
	for (size_t k = 0; k <= nb; k++)
		count_b += !b[k] || b[k] == ',';
	return nb ? count_a == count_b : na == 0;
}

int ct_cgroup_text_in(const char *text, const char *controllers, const char *dir_rel)
{
	const char *line = text;
	size_t n = strlen(dir_rel);

	/* Lines "ID:CONTROLLERS:/path"; the v2 hierarchy's is "0::/path". */
	while (line && *line) {
		const char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		const char *nl = strchr(line, '\n');

		if (c2 && (!nl || c2 < nl) &&
		    (controllers[0] ? same_set(c1 + 1, (size_t)(c2 - c1 - 1), controllers)
				    : !strncmp(line, "0::", 3))) {
			const char *p = c2 + 1;
			size_t len = strcspn(p, "\n");

			if (n == 1 && dir_rel[0] == '/')
				return 1; /* the root holds everything */
			return len >= n && !strncmp(p, dir_rel, n) && (len == n || p[n] == '/');
		}
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

static int cgroup_matches(const struct ct_watch *w, pid_t pid)
{
	char path[64], text[4096];

	if (!w->n_cg)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (read_small(path, text, sizeof(text)) <= 0)
		return 0;
	for (unsigned i = 0; i < w->n_cg; i++)
		if (ct_cgroup_text_in(text, w->cg_ctl[i], w->cg_rel[i]))
			return 1;
	return 0;
}

/* A controller name of /proc/cgroups, or a named v1 hierarchy ("name=systemd"). */
static int is_controller(const char *tok, size_t len)
{
	char line[256];
	FILE *f;
	int found = 0;

	if (len > 5 && !strncmp(tok, "name=", 5))
		return 1;
	f = fopen("/proc/cgroups", "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = line[0] != '#' && strcspn(line, "\t ") == len && !strncmp(line, tok, len);
	fclose(f);
	return found;
}

/*
 * The cgroup hierarchy that holds directory dir, from /proc/self/mountinfo (the longest
 * cgroup or cgroup2 mount point containing it): its v1 controllers in ctl ("" for v2) and
 * dir's path relative to the hierarchy's root in rel. Returns 0 or -ENOENT.
 */
static int cgroup_of(const char *dir, char *ctl, size_t ctl_size, char *rel, size_t rel_size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	size_t best = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char root[PATH_MAX], mnt[PATH_MAX], type[32], super[512];
		char *dash = strstr(line, " - ");
		size_t ml;

		if (!dash || sscanf(line, "%*d %*d %*s %4095s %4095s", root, mnt) != 2 ||
		    sscanf(dash + 3, "%31s %*s %511s", type, super) != 2)
			continue;
		if (strcmp(type, "cgroup") && strcmp(type, "cgroup2"))
			continue;
		ml = strlen(mnt);
		if (strncmp(dir, mnt, ml) || (dir[ml] && dir[ml] != '/') || ml <= best)
			continue;
		best = ml;
		snprintf(rel, rel_size, "%s%s", strcmp(root, "/") ? root : "",
			 dir[ml] ? dir + ml : (strcmp(root, "/") ? "" : "/"));
		ctl[0] = 0;
		if (!strcmp(type, "cgroup")) {
			size_t n = 0;

			for (char *t = super; *t;) {
				size_t l = strcspn(t, ",");

				if (is_controller(t, l) && n + l + 2 < ctl_size)
					n += (size_t)snprintf(ctl + n, ctl_size - n, "%s%.*s",
							      n ? "," : "", (int)l, t);
				t += l + (t[l] == ',');
			}
		}
	}
	fclose(f);
	return best ? 0 : -ENOENT;
}

/* ---- adding ---- */

enum why { W_PID, W_COMM, W_CGROUP, W_ALL };

static void add(struct ct_watch *w, pid_t pid, int tree, enum why why)
{
	char err[256];
	int n;

	if (pid == w->self || ct_recorder_traces(w->r, pid))
		return;
	n = ct_recorder_watch(w->r, pid, tree, err, sizeof(err));
	if (n < 0) {
		if (n != -ESRCH)
			ct_agent_log("cannot trace pid %d: %s", (int)pid, err);
		return;
	}
	if (!n)
		return;
	w->st.added += (unsigned)n;
	switch (why) {
	case W_PID:
		w->st.by_pid += (unsigned)n;
		break;
	case W_COMM:
		w->st.by_comm += (unsigned)n;
		break;
	case W_CGROUP:
		w->st.by_cgroup += (unsigned)n;
		break;
	case W_ALL:
		w->st.by_all += (unsigned)n;
		break;
	}
	if (w->c->verbose || why != W_ALL)
		ct_agent_log("tracing pid %d%s (%s)", (int)pid, n > 1 ? " and its descendants" : "",
			     why == W_PID      ? "watch-pid"
			     : why == W_COMM   ? "watch-comm"
			     : why == W_CGROUP ? "watch-cgroup"
					       : "watch-all");
}

/* A process that exists (or just started): trace it when it matches. */
static void consider(struct ct_watch *w, pid_t pid)
{
	if (pid == w->self || pid <= 0)
		return;
	if (w->c->watch_all) {
		if (!is_kthread(pid))
			add(w, pid, 0, W_ALL);
		return;
	}
	if (comm_matches(w, pid))
		add(w, pid, 1, W_COMM);
	else if (cgroup_matches(w, pid))
		add(w, pid, 0, W_CGROUP);
}

static void rescan(struct ct_watch *w)
{
	DIR *d;
	struct dirent *e;

	if (!w->c->watch_all && !w->c->n_watch_comm && !w->n_cg)
		return;
	d = opendir("/proc");
	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (!*end && pid > 0)
			consider(w, (pid_t)pid);
	}
	closedir(d);
	w->st.rescans++;
}

/* ---- the process connector ---- */

static int connector_open(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC};
	/* nlmsghdr | cn_msg | op, laid out by hand: cn_msg ends in a flexible array. */
	_Alignas(struct nlmsghdr)
		uint8_t msg[NLMSG_LENGTH(sizeof(struct cn_msg) + sizeof(enum proc_cn_mcast_op))];
	struct nlmsghdr *nl = (struct nlmsghdr *)(void *)msg;
	struct cn_msg *cn = NLMSG_DATA(nl);
	enum proc_cn_mcast_op op = PROC_CN_MCAST_LISTEN;
	int s = socket(PF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
	int rcv = 4 << 20;

	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = -errno;

		close(s);
		return e;
	}
	/* Fork storms overflow a small buffer; a rescan covers what is lost anyway. */
	setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv));
	memset(msg, 0, sizeof(msg));
	nl->nlmsg_len = sizeof(msg);
	nl->nlmsg_type = NLMSG_DONE;
	nl->nlmsg_pid = (uint32_t)getpid();
	cn->id.idx = CN_IDX_PROC;
	cn->id.val = CN_VAL_PROC;
	cn->len = sizeof(op);
	memcpy(cn->data, &op, sizeof(op));
	if (send(s, msg, sizeof(msg), 0) != (ssize_t)sizeof(msg)) {
		int e = -errno;

		close(s);
		return e;
	}
	return s;
}

static void connector_read(struct ct_watch *w)
{
	_Alignas(struct nlmsghdr) char buf[16384];

	for (;;) {
		ssize_t n = recv(w->nl, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno == ENOBUFS) {
				/* Messages were lost: look at /proc now rather than in a second. */
				w->next_rescan = 0;
				continue;
			}
			return;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			struct cn_msg *cn = NLMSG_DATA(h);
			struct proc_event evs, *ev = &evs;

			if (h->nlmsg_type != NLMSG_DONE || cn->id.idx != CN_IDX_PROC ||
			    cn->len < sizeof(*ev) - sizeof(ev->event_data))
				continue;
			/* The payload is only 4-byte aligned in the message: copy it. */
			memset(&evs, 0, sizeof(evs));
			memcpy(&evs, cn->data, cn->len < sizeof(evs) ? cn->len : sizeof(evs));
			w->st.events++;
			switch (ev->what) {
			case PROC_EVENT_EXEC:
				consider(w, (pid_t)ev->event_data.exec.process_tgid);
				break;
			case PROC_EVENT_COMM:
				if (ev->event_data.comm.process_pid ==
				    ev->event_data.comm.process_tgid)
					consider(w, (pid_t)ev->event_data.comm.process_tgid);
				break;
			case PROC_EVENT_FORK:
				/* New processes of untraced parents (traced parents' children are
				 * followed in the kernel). */
				if (ev->event_data.fork.child_pid ==
					    ev->event_data.fork.child_tgid &&
				    (w->c->watch_all || w->n_cg))
					consider(w, (pid_t)ev->event_data.fork.child_tgid);
				break;
			default:
				break;
			}
		}
	}
}

/* ---- lifecycle ---- */

int ct_watch_new(struct ct_watch **out, struct ct_recorder *r, const struct ct_agent_config *c,
		 char *err, size_t errlen)
{
	struct ct_watch *w = calloc(1, sizeof(*w));
	int e;

	if (!w)
		return -ENOMEM;
	w->r = r;
	w->c = c;
	w->nl = -1;
	w->self = getpid();
	for (unsigned i = 0; i < c->n_watch_cgroup; i++) {
		char full[PATH_MAX];
		struct stat st;

		/* A directory of a mounted cgroup hierarchy (v2, or v1), resolved to its path. */
		if (!realpath(c->watch_cgroup[i], full) || stat(full, &st) ||
		    !S_ISDIR(st.st_mode)) {
			snprintf(err, errlen,
				 "watch-cgroup %s: no such directory (give the cgroup's directory, "
				 "e.g. /sys/fs/cgroup/system.slice/foo.service)",
				 c->watch_cgroup[i]);
			free(w);
			return -ENOENT;
		}
		if (cgroup_of(full, w->cg_ctl[i], sizeof(w->cg_ctl[i]), w->cg_rel[i], PATH_MAX)) {
			snprintf(err, errlen,
				 "watch-cgroup %s is not in a mounted cgroup hierarchy (see "
				 "/proc/self/mountinfo)",
				 c->watch_cgroup[i]);
			free(w);
			return -ENOENT;
		}
		/* "/a/" and "/a" name the same cgroup. */
		for (size_t l = strlen(w->cg_rel[i]); l > 1 && w->cg_rel[i][l - 1] == '/'; l--)
			w->cg_rel[i][l - 1] = 0;
		w->n_cg++;
	}
	for (unsigned i = 0; i < c->n_watch_pid; i++) {
		if (c->watch_pid[i] == w->self) {
			snprintf(err, errlen, "watch-pid %d is the agent itself", (int)w->self);
			free(w);
			return -EINVAL;
		}
		e = ct_recorder_watch(r, c->watch_pid[i], 1, err, errlen);
		if (e < 0) {
			if (e == -ESRCH)
				snprintf(err, errlen,
					 "watch-pid %d: no such process (check it with ps)",
					 (int)c->watch_pid[i]);
			free(w);
			return e;
		}
		w->st.added += (unsigned)e;
		w->st.by_pid += (unsigned)e;
		ct_agent_log("tracing pid %d and its descendants (%d process(es), watch-pid)",
			     (int)c->watch_pid[i], e);
	}
	if (c->watch_all || c->n_watch_comm || w->n_cg) {
		w->nl = connector_open();
		if (w->nl < 0) {
			ct_agent_log("the process connector is unavailable (%s): new processes are "
				     "found by scanning /proc every second",
				     strerror(-w->nl));
			w->nl = -1;
		} else {
			w->st.connector = 1;
		}
		/* Subscribed first, scanned second: nothing starts unseen in between. */
		rescan(w);
	}
	*out = w;
	return 0;
}

int ct_watch_fd(const struct ct_watch *w)
{
	return w->nl;
}

void ct_watch_poll(struct ct_watch *w, uint64_t now_ns)
{
	if (w->nl >= 0)
		connector_read(w);
	if (now_ns >= w->next_rescan) {
		rescan(w);
		w->next_rescan = now_ns + RESCAN_NS;
	}
}

void ct_watch_stats(const struct ct_watch *w, struct ct_watch_stats *st)
{
	*st = w->st;
}

void ct_watch_free(struct ct_watch *w)
{
	if (!w)
		return;
	if (w->nl >= 0)
		close(w->nl);
	free(w);
}
