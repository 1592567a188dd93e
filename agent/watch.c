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
	char cg_rel[CT_AGENT_MAX_WATCH][PATH_MAX]; /* cgroups relative to the cgroup2 root */
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

int ct_cgroup_text_in(const char *text, const char *dir_rel)
{
	const char *line = text;
	size_t n = strlen(dir_rel);

	/* Only the cgroup v2 line ("0::/path") counts. */
	while (line && *line) {
		if (!strncmp(line, "0::", 3)) {
			const char *p = line + 3;
			size_t len = strcspn(p, "\n");

			if (n == 1 && dir_rel[0] == '/')
				return 1; /* the root holds everything */
			return len >= n && !strncmp(p, dir_rel, n) && (len == n || p[n] == '/');
		}
		line = strchr(line, '\n');
		if (line)
			line++;
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
		if (ct_cgroup_text_in(text, w->cg_rel[i]))
			return 1;
	return 0;
}

/* The cgroup2 mount point, from /proc/self/mountinfo ("/sys/fs/cgroup" usually). */
static int cgroup2_root(char *out, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int found = 0;

	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], *dash = strstr(line, " - ");

		if (!dash || strncmp(dash + 3, "cgroup2 ", 8))
			continue;
		if (sscanf(line, "%*d %*d %*s %*s %4095s", mnt) == 1) {
			snprintf(out, size, "%s", mnt);
			found = 1;
		}
	}
	fclose(f);
	return found ? 0 : -ENOENT;
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
	struct {
		struct nlmsghdr nl;
		struct cn_msg cn;
		enum proc_cn_mcast_op op;
	} __attribute__((packed)) msg;
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
	memset(&msg, 0, sizeof(msg));
	msg.nl.nlmsg_len = sizeof(msg);
	msg.nl.nlmsg_type = NLMSG_DONE;
	msg.nl.nlmsg_pid = (uint32_t)getpid();
	msg.cn.id.idx = CN_IDX_PROC;
	msg.cn.id.val = CN_VAL_PROC;
	msg.cn.len = sizeof(enum proc_cn_mcast_op);
	msg.op = PROC_CN_MCAST_LISTEN;
	if (send(s, &msg, sizeof(msg), 0) != (ssize_t)sizeof(msg)) {
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
			struct proc_event *ev;

			if (h->nlmsg_type != NLMSG_DONE || cn->id.idx != CN_IDX_PROC ||
			    cn->len < sizeof(*ev) - sizeof(ev->event_data))
				continue;
			ev = (struct proc_event *)(void *)cn->data;
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
	char root[PATH_MAX] = "";
	int e;

	if (!w)
		return -ENOMEM;
	w->r = r;
	w->c = c;
	w->nl = -1;
	w->self = getpid();
	if (c->n_watch_cgroup && cgroup2_root(root, sizeof(root))) {
		snprintf(
			err, errlen,
			"watch-cgroup needs the cgroup v2 hierarchy, and none is mounted (mount -t "
			"cgroup2 none /sys/fs/cgroup)");
		free(w);
		return -ENOENT;
	}
	for (unsigned i = 0; i < c->n_watch_cgroup; i++) {
		const char *g = c->watch_cgroup[i];
		char full[PATH_MAX];
		struct stat st;
		size_t rl = strlen(root);

		/* Given as a path under the mount, or relative to the cgroup root. */
		if (!strncmp(g, root, rl) && (g[rl] == '/' || !g[rl]))
			snprintf(w->cg_rel[i], PATH_MAX, "%s", g[rl] ? g + rl : "/");
		else
			snprintf(w->cg_rel[i], PATH_MAX, "%s%s", g[0] == '/' ? "" : "/", g);
		snprintf(full, sizeof(full), "%s%s", root, w->cg_rel[i]);
		if (stat(full, &st) || !S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "cgroup %s does not exist (no directory %s)", g,
				 full);
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
