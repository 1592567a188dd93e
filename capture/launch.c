// SPDX-License-Identifier: MIT
/* Starting the traced command behind a gate (see launch.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch.h"

static int executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int ct_launch_resolve(const char *cmd, char *out, size_t len, char *err, size_t errlen)
{
	const char *path = getenv("PATH");
	int saw_noexec = 0;

	if (!cmd || !cmd[0]) {
		snprintf(err, errlen, "no command given");
		return -EINVAL;
	}
	if (strchr(cmd, '/')) {
		struct stat st;

		if (stat(cmd, &st)) {
			snprintf(err, errlen, "command not found: %s (%s)", cmd, strerror(errno));
			return -ENOENT;
		}
		if (!S_ISREG(st.st_mode) || access(cmd, X_OK)) {
			snprintf(err, errlen,
				 "%s is not an executable file (check its permissions)", cmd);
			return -EACCES;
		}
		snprintf(out, len, "%s", cmd);
		return 0;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; *p;) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char cand[4096];

		snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, n ? p : ".", cmd);
		if (executable(cand)) {
			snprintf(out, len, "%s", cand);
			return 0;
		}
		if (access(cand, F_OK) == 0)
			saw_noexec = 1;
		p += n;
		if (*p == ':')
			p++;
	}
	if (saw_noexec) {
		snprintf(err, errlen, "%s is in PATH but not executable (check its permissions)",
			 cmd);
		return -EACCES;
	}
	snprintf(err, errlen, "command not found: %s (searched PATH=%s)", cmd, path);
	return -ENOENT;
}

int ct_launch_fork(struct ct_launch *l, const char *path, char *const argv[], char *const env_add[])
{
	int gate[2], status[2];
	pid_t pid;

	if (pipe2(gate, O_CLOEXEC))
		return -errno;
	if (pipe2(status, O_CLOEXEC)) {
		int e = -errno;

		close(gate[0]);
		close(gate[1]);
		return e;
	}
	pid = fork();
	if (pid < 0) {
		int e = -errno;

		close(gate[0]);
		close(gate[1]);
		close(status[0]);
		close(status[1]);
		return e;
	}
	if (pid == 0) {
		sigset_t none;
		char c;
		int e;

		/* Only async-signal-safe calls until exec, plus setenv (single-threaded parent). */
		for (int s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(gate[1]);
		close(status[0]);
		for (char *const *e2 = env_add; e2 && *e2; e2++)
			putenv(*e2);
		/* No byte means the recorder went away without arming: do not run untraced. */
		while ((e = (int)read(gate[0], &c, 1)) < 0 && errno == EINTR)
			;
		if (e != 1)
			_exit(126);
		close(gate[0]);
		execv(path, argv);
		e = errno;
		while (write(status[1], &e, sizeof(e)) < 0 && errno == EINTR)
			;
		_exit(127);
	}
	close(gate[0]);
	close(status[1]);
	l->pid = pid;
	l->gate_fd = gate[1];
	l->status_fd = status[0];
	return 0;
}

int ct_launch_release(struct ct_launch *l)
{
	char c = 1;
	int e = 0;
	ssize_t n;

	while (write(l->gate_fd, &c, 1) < 0 && errno == EINTR)
		;
	close(l->gate_fd);
	l->gate_fd = -1;
	while ((n = read(l->status_fd, &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(l->status_fd);
	l->status_fd = -1;
	return n == (ssize_t)sizeof(e) ? -e : 0;
}

void ct_launch_abort(struct ct_launch *l)
{
	if (l->pid <= 0)
		return;
	kill(l->pid, SIGKILL);
	if (l->gate_fd >= 0)
		close(l->gate_fd);
	if (l->status_fd >= 0)
		close(l->status_fd);
	while (waitpid(l->pid, NULL, 0) < 0 && errno == EINTR)
		;
	l->pid = -1;
	l->gate_fd = l->status_fd = -1;
}
