/* SPDX-License-Identifier: MIT */
/*
 * Which processes the agent traces: process trees by pid, processes by command name, the
 * processes of cgroup directories (v2, or v1 hierarchies), or all. Existing processes are
 * found in /proc at start; new ones through the kernel's process connector (netlink: exec,
 * fork and name changes, seen as they happen) and a rescan every second (processes moved
 * into a cgroup, missed netlink messages). Once a process is traced, the kernel side follows its children itself.
 * The agent never traces itself. Owner thread only (the recorder's).
 */
#ifndef CT_AGENT_WATCH_H
#define CT_AGENT_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "capture/recorder.h"
#include "config.h"

struct ct_watch_stats {
	uint64_t added; /* processes this watcher started tracing */
	uint64_t by_pid, by_comm, by_cgroup, by_all;
	uint64_t events; /* process connector messages read */
	uint64_t rescans;
	int connector; /* 1: the process connector works; 0: rescans only */
};

struct ct_watch;

/*
 * Sets up the watcher for c's watch-* options and traces the matching processes that exist
 * now. Returns 0, or a negative code with a message in err (a watched pid that does not
 * exist, a cgroup directory that does not exist).
 */
int ct_watch_new(struct ct_watch **out, struct ct_recorder *r, const struct ct_agent_config *c,
		 char *err, size_t errlen);

/* The process connector's fd (readable: events are waiting), or -1. */
int ct_watch_fd(const struct ct_watch *w);

/* Reads pending process events and rescans when due. Never blocks. */
void ct_watch_poll(struct ct_watch *w, uint64_t now_ns);

void ct_watch_stats(const struct ct_watch *w, struct ct_watch_stats *st);

void ct_watch_free(struct ct_watch *w);

/* ---- pure helpers (tests) ---- */

/*
 * Whether the text of /proc/PID/cgroup puts the process at dir_rel or below it (relative to
 * the hierarchy's root, e.g. "/a") in the hierarchy of controllers: "" for cgroup v2 (line
 * "0::/a/b"), else the v1 controllers of the hierarchy ("memory", "cpu,cpuacct",
 * "name=systemd"; any order).
 */
int ct_cgroup_text_in(const char *text, const char *controllers, const char *dir_rel);

#endif
