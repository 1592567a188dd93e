/* SPDX-License-Identifier: MIT */
/*
 * Starting the traced command: resolve it in PATH first (so that "command not found" is a
 * clear error, not a trace of a failed exec), fork a child that waits on a gate until the
 * tracer is armed for it, then let it exec. An exec failure comes back to the parent as an
 * errno through a close-on-exec pipe.
 */
#ifndef CT_CAPTURE_LAUNCH_H
#define CT_CAPTURE_LAUNCH_H

#include <stddef.h>
#include <sys/types.h>

struct ct_launch {
	pid_t pid; /* the child, > 0 after ct_launch_fork */
	int gate_fd; /* write end: one byte releases the child */
	int status_fd; /* read end: EOF on exec, or the exec errno */
};

/*
 * Finds cmd as execvp would (cmd with a '/' is taken as is). Returns 0 with the path in out,
 * or -ENOENT / -EACCES with a message in err naming the command and the PATH searched.
 */
int ct_launch_resolve(const char *cmd, char *out, size_t len, char *err, size_t errlen);

/*
 * Forks the child: it restores default signal dispositions and an empty signal mask, adds
 * env_add ("NAME=value" strings, NULL-terminated; may be NULL) to the environment, waits for
 * the gate, then execs path with argv. Returns 0 or a negative errno (no child).
 */
int ct_launch_fork(struct ct_launch *l, const char *path, char *const argv[],
		   char *const env_add[]);

/*
 * Releases the child. Returns 0 once it has exec'd, or the negative errno of its failed
 * exec (the child then exits with status 127).
 */
int ct_launch_release(struct ct_launch *l);

/* Kills and reaps a child that was never released (setup failed). */
void ct_launch_abort(struct ct_launch *l);

#endif
