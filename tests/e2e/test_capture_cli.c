// SPDX-License-Identifier: MIT
/*
 * `crosstrace record` as users meet it: clear errors (command not found, output directory
 * not writable, no privileges, BTF missing), the automatic fallback to perf with its reason,
 * tracefs mounted when missing, SIGINT keeping everything recorded so far, and -p PID with
 * the state dump naming fds opened before the recording. Situations that cannot be made on
 * the host (no BTF, no tracefs, read-only directory) are made in a private mount namespace
 * (unshare -m), so the host is left alone.
 * usage: test_capture_cli CROSSTRACE WORKLOAD
 */
#include <jansson.h>

#include "test.h"

#include "capture_util.h"

static char tmp[256];

/* Runs a shell command line; returns the wait status, output in tmp/out and tmp/err. */
static int sh(const char *cmd, char **out, char **err)
{
	char o[300], e[300];
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	int st;

	snprintf(o, sizeof(o), "%s/out", tmp);
	snprintf(e, sizeof(e), "%s/err", tmp);
	st = run_argv(argv, NULL, o, e);
	if (out)
		*out = slurp_file(o);
	if (err)
		*err = slurp_file(e);
	return st;
}

static int exit_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static json_t *manifest_of(const char *dir)
{
	char p[512];
	json_error_t je;

	snprintf(p, sizeof(p), "%s/trace.json", dir);
	return json_load_file(p, 0, &je);
}

static const char *rec_str(json_t *m, const char *key)
{
	return json_string_value(json_object_get(json_object_get(m, "recording"), key));
}

TEST(command_not_found)
{
	char cmd[1024], *err = NULL;
	int st;

	snprintf(cmd, sizeof(cmd), "%s record -o %s/nf -- no-such-command-ct42", ct_bin, tmp);
	st = sh(cmd, NULL, &err);
	CHECK_INT(exit_code(st), 127);
	CHECK(err && strstr(err, "command not found: no-such-command-ct42 (searched PATH="));
	free(err);
	/* Nothing was recorded, so nothing is left behind. */
	snprintf(cmd, sizeof(cmd), "test ! -e %s/nf", tmp);
	CHECK_INT(exit_code(sh(cmd, NULL, NULL)), 0);
	snprintf(cmd, sizeof(cmd), "%s record -o %s/nf2 -- /no/such/file", ct_bin, tmp);
	st = sh(cmd, NULL, &err);
	CHECK_INT(exit_code(st), 127);
	CHECK(err && strstr(err, "command not found: /no/such/file"));
	free(err);
}

TEST(output_not_writable)
{
	char cmd[1024], *err = NULL;
	int st;

	/* Root may write anywhere: a read-only mount is what refuses it. */
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/ro && unshare -m --propagation private sh -c 'mount -t tmpfs -o ro "
		 "none %s/ro && %s record -o %s/ro/trace -- true'",
		 tmp, tmp, ct_bin, tmp);
	st = sh(cmd, NULL, &err);
	CHECK_INT(exit_code(st), 1);
	CHECK(err && strstr(err, "cannot create trace directory") && strstr(err, "/ro/trace") &&
	      strstr(err, "Read-only file system") && strstr(err, "-o DIR"));
	if (t_failed_checks)
		fprintf(stderr, "stderr: %s\n", err ? err : "");
	free(err);
}

TEST(no_such_pid)
{
	char cmd[1024], *err = NULL;
	int st;

	snprintf(cmd, sizeof(cmd), "%s record -o %s/nopid -p 2147483000", ct_bin, tmp);
	st = sh(cmd, NULL, &err);
	CHECK_INT(exit_code(st), 1);
	CHECK(err && strstr(err, "no process with pid 2147483000"));
	free(err);
}

TEST(no_statedump)
{
	char cmd[1024], dir[300], *err = NULL;
	struct trace t;
	int dumps = 0, syscalls = 0;

	snprintf(dir, sizeof(dir), "%s/nosd", tmp);
	snprintf(cmd, sizeof(cmd), "%s record --no-statedump -o %s -- true", ct_bin, dir);
	CHECK_INT(exit_code(sh(cmd, NULL, &err)), 0);
	CHECK(load_trace(dir, &t) == 0);
	for (size_t i = 0; i < t.n; i++) {
		dumps += t.ev[i].type >= CT_EV_STATEDUMP_PROCESS &&
			 t.ev[i].type <= CT_EV_STATEDUMP_FD;
		syscalls += is_sys_entry(t.ev[i].type);
	}
	CHECK_INT(dumps, 0);
	CHECK(syscalls > 0);
	free_trace(&t);
	free(err);
}

TEST(closed_stderr)
{
	char cmd[2048], *out = NULL;

	/* The reader of record's stderr goes away before the summary: record must still clean
	 * up (its client socket directory lives in TMPDIR) and exit with the command's status. */
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/pt && { TMPDIR=%s/pt %s record -o %s/pipe -- true; echo $? > "
		 "%s/pt.status; } 2>&1 | true; cat %s/pt.status; ls -A %s/pt | "
		 "wc -l",
		 tmp, tmp, ct_bin, tmp, tmp, tmp, tmp);
	CHECK_INT(exit_code(sh(cmd, &out, NULL)), 0);
	CHECK_STR(out, "0\n0\n");
	free(out);
}

TEST(not_root)
{
	char cmd[1024], *err = NULL;
	int st;

	snprintf(cmd, sizeof(cmd),
		 "chmod 0777 %s && setpriv --reuid=65534 --regid=65534 --clear-groups "
		 "--inh-caps=-all %s record -o %s/nobody -- true",
		 tmp, ct_bin, tmp);
	st = sh(cmd, NULL, &err);
	CHECK_INT(exit_code(st), 1);
	CHECK(err && strstr(err, "CAP_BPF and CAP_PERFMON") && strstr(err, "setcap"));
	if (t_failed_checks)
		fprintf(stderr, "stderr: %s\n", err ? err : "");
	free(err);
}

TEST(only_perfmon_falls_back_to_perf)
{
	char cmd[1024], dir[300], *err = NULL;
	json_t *m;
	int st;

	/* CAP_PERFMON alone: perf tracepoints work, BPF programs do not load. */
	snprintf(dir, sizeof(dir), "%s/perfmon", tmp);
	snprintf(cmd, sizeof(cmd),
		 "chmod 0777 %s && %s record -q --backend perf -o %s/warm -- true && setpriv "
		 "--reuid=65534 "
		 "--regid=65534 --clear-groups --inh-caps=+perfmon,+dac_read_search "
		 "--ambient-caps=+perfmon,+dac_read_search %s record -o %s -- %s sleep 0.2",
		 tmp, ct_bin, tmp, ct_bin, dir, wl_bin);
	st = sh(cmd, NULL, &err);
	CHECK_INT(exit_code(st), 0);
	CHECK(err && strstr(err, "BPF backend unavailable (loading BPF programs needs CAP_BPF"));
	CHECK(err && strstr(err, "backend perf"));
	m = manifest_of(dir);
	CHECK_STR(rec_str(m, "backend"), "perf");
	if (t_failed_checks)
		fprintf(stderr, "stderr: %s\n", err ? err : "");
	json_decref(m);
	free(err);
}

TEST(btf_missing)
{
	char cmd[2048], dir[300], *err = NULL;
	json_t *m;
	int st;

	/* Hide the kernel's BTF: --backend bpf must fail saying so, auto must fall back. */
	snprintf(dir, sizeof(dir), "%s/nobtf", tmp);
	snprintf(cmd, sizeof(cmd),
		 "unshare -m --propagation private sh -c 'mount -t tmpfs none /sys/kernel/btf && "
		 "%s record --backend bpf -o %s/nobtf-bpf -- true; echo status=$?; %s record -o "
		 "%s -- %s sleep 0.2'",
		 ct_bin, tmp, ct_bin, dir, wl_bin);
	st = sh(cmd, NULL, &err);
	CHECK_INT(exit_code(st), 0);
	CHECK(err && strstr(err, "kernel BTF is missing (/sys/kernel/btf/vmlinux"));
	CHECK(err && strstr(err, "BPF backend unavailable (kernel BTF is missing"));
	CHECK(err && strstr(err, "backend perf"));
	m = manifest_of(dir);
	CHECK_STR(rec_str(m, "backend"), "perf");
	CHECK(rec_str(m, "backend_fallback_reason") &&
	      strstr(rec_str(m, "backend_fallback_reason"), "BTF"));
	if (t_failed_checks)
		fprintf(stderr, "stderr: %s\n", err ? err : "");
	json_decref(m);
	free(err);
}

TEST(tracefs_mounted_when_missing)
{
	char cmd[2048], dir[300], *out = NULL, *err = NULL;
	struct trace t;
	int st;

	/* In a private namespace, unmount every tracefs (and debugfs), then record with perf,
	 * which needs tracefs for tracepoint ids. */
	snprintf(dir, sizeof(dir), "%s/notracefs", tmp);
	snprintf(
		cmd, sizeof(cmd),
		"unshare -m --propagation private sh -c 'for m in $(awk \"\\$3==\\\"tracefs\\\" || "
		"\\$3==\\\"debugfs\\\" {print \\$2}\" /proc/self/mounts | sort -r); do umount $m "
		"|| exit 9; done; echo before=$(grep -c tracefs /proc/self/mounts); %s record "
		"--backend perf -o %s -- %s sleep 0.2 && echo after=$(grep -c tracefs "
		"/proc/self/mounts)'",
		ct_bin, dir, wl_bin);
	st = sh(cmd, &out, &err);
	CHECK_INT(exit_code(st), 0);
	CHECK(out && strstr(out, "before=0") && strstr(out, "after=1"));
	CHECK(load_trace(dir, &t) == 0);
	{
		long writes = 0;

		for (size_t i = 0; i < t.n; i++)
			writes += is_sys_exit(t.ev[i].type) && t.ev[i].nr == 1 && t.ev[i].ret == 1;
		CHECK(writes >= 1);
	}
	if (t_failed_checks)
		fprintf(stderr, "out: %s\nerr: %s\n", out ? out : "", err ? err : "");
	free_trace(&t);
	free(out);
	free(err);
}

TEST(sigint_keeps_everything)
{
	char dir[300], rerr[300], bt[600], ready[300];
	char *argv[] = {(char *)ct_bin, "record", "-o", dir,   "--",
			(char *)wl_bin, "sleep",  "30", ready, NULL};
	struct trace t;
	json_t *m;
	pid_t rec;
	int st = 0;
	char *err;

	snprintf(dir, sizeof(dir), "%s/sigint", tmp);
	snprintf(rerr, sizeof(rerr), "%s/sigint.err", tmp);
	snprintf(ready, sizeof(ready), "%s/sigint.ready", tmp);
	rec = fork();
	if (rec == 0) {
		int fd = open(rerr, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 2);
		execv(ct_bin, argv);
		_exit(127);
	}
	/* Once the workload has made three writes (recorded), interrupt. */
	for (int i = 0; i < 3000; i++) {
		struct stat sb;

		if (stat(ready, &sb) == 0)
			break;
		usleep(10000);
	}
	kill(rec, SIGINT);
	waitpid(rec, &st, 0);
	err = slurp_file(rerr);
	/* The command got the signal too and died of it: its status is ours. */
	CHECK_INT(exit_code(st), 128 + SIGINT);
	CHECK(err && strstr(err, "crosstrace record: interrupted"));
	m = manifest_of(dir);
	CHECK_STR(json_string_value(json_object_get(m, "status")), "interrupted");
	CHECK(json_is_true(
		json_object_get(json_array_get(json_object_get(m, "chunks"), 0), "complete")));
	CHECK(load_trace(dir, &t) == 0);
	CHECK_U64(t.errors, 0);
	{
		long writes = 0;

		for (size_t i = 0; i < t.n; i++)
			writes += is_sys_exit(t.ev[i].type) && t.ev[i].nr == 1;
		CHECK(writes >= 3);
		CHECK_INT((long long)t.n, find_count(err, "events: "));
	}
	snprintf(bt, sizeof(bt), "babeltrace2 %s/chunks/000000 > /dev/null", dir);
	CHECK_INT(exit_code(sh(bt, NULL, NULL)), 0);
	free_trace(&t);
	json_decref(m);
	free(err);
}

TEST(attach_pid_with_statedump)
{
	char report[300], dir[300], rerr[300], line[512];
	char *hold_argv[] = {(char *)wl_bin, "hold", report, NULL};
	char *rec_argv[] = {(char *)ct_bin, "record", "-o", dir, "-p", NULL, NULL};
	char pidbuf[16], pipe_names[2][64] = {"", ""};
	int in[2], pipe_fds[2] = {-1, -1}, ready = 0, st, holder_pid = 0;
	pid_t hold, rec;
	struct trace t;
	FILE *f;

	snprintf(report, sizeof(report), "%s/hold.report", tmp);
	snprintf(dir, sizeof(dir), "%s/attach", tmp);
	snprintf(rerr, sizeof(rerr), "%s/attach.err", tmp);
	if (pipe(in))
		return;
	hold = fork();
	if (hold == 0) {
		dup2(in[0], 0);
		close(in[1]);
		execv(wl_bin, hold_argv);
		_exit(127);
	}
	close(in[0]);
	for (int i = 0; i < 500 && !ready; i++) {
		char *r = slurp_file(report);

		ready = r && strstr(r, "ready\n");
		free(r);
		if (!ready)
			usleep(10000);
	}
	CHECK(ready);
	f = fopen(report, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "pipe %d %d", &pipe_fds[0], &pipe_fds[1]) == 2) {
			for (int k = 0; k < 2; k++) {
				char p[64];
				ssize_t n;

				snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)hold, pipe_fds[k]);
				n = readlink(p, pipe_names[k], sizeof(pipe_names[k]) - 1);
				if (n > 0)
					pipe_names[k][n] = 0;
			}
		}
	}
	if (f)
		fclose(f);
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)hold);
	rec_argv[5] = pidbuf;
	rec = fork();
	if (rec == 0) {
		int fd = open(rerr, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 2);
		close(in[1]);
		execv(ct_bin, rec_argv);
		_exit(127);
	}
	/* Once the manifest says the holder is attached, let it finish: record must then stop
	 * by itself. */
	for (int i = 0; i < 1000; i++) {
		char p[400], *m;
		int attached;

		snprintf(p, sizeof(p), "%s/trace.json", dir);
		m = slurp_file(p);
		attached = m && strstr(m, "\"attached_pid\"");
		free(m);
		if (attached)
			break;
		usleep(10000);
	}
	if (write(in[1], "x", 1) != 1)
		T_FAIL("cannot write to the holder");
	close(in[1]);
	waitpid(hold, NULL, 0);
	waitpid(rec, &st, 0);
	CHECK_INT(exit_code(st), 0);
	CHECK(load_trace(dir, &t) == 0);
	f = fopen(report, "r");
	while (f && fgets(line, sizeof(line), f)) {
		char name[256];
		int fd, found = 0;

		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "pid %d", &holder_pid) == 1)
			continue;
		if (sscanf(line, "fd %d %255[^\n]", &fd, name) != 2)
			continue;
		for (size_t i = 0; i < t.n; i++) {
			const struct tev *e = &t.ev[i];

			if (e->type == CT_EV_STATEDUMP_FD && e->pid == holder_pid && e->a == fd) {
				found = 1;
				if (strcmp(e->str, name))
					T_FAIL("fd %d named \"%s\", expected \"%s\"", fd, e->str,
					       name);
			}
		}
		if (!found)
			T_FAIL("fd %d (%s) missing from the state dump", fd, name);
	}
	if (f)
		fclose(f);
	for (int k = 0; k < 2; k++) {
		int ok = 0;

		for (size_t i = 0; i < t.n; i++) {
			const struct tev *e = &t.ev[i];

			ok |= e->type == CT_EV_STATEDUMP_FD && e->a == pipe_fds[k] &&
			      !strcmp(e->str, pipe_names[k]) && e->u == CT_FD_PIPE;
		}
		if (!ok)
			T_FAIL("pipe fd %d (%s) not dumped as a pipe", pipe_fds[k], pipe_names[k]);
	}
	{
		int thread = 0, reads = 0;

		for (size_t i = 0; i < t.n; i++) {
			const struct tev *e = &t.ev[i];

			thread |= e->type == CT_EV_STATEDUMP_THREAD && e->tid == holder_pid &&
				  !strcmp(e->str, "holder");
			/* The holder's read(0) that returned the byte the test wrote. */
			reads += is_sys_exit(e->type) && e->pid == holder_pid && e->nr == 0 &&
				 e->ret == 1;
		}
		CHECK(thread);
		CHECK(reads >= 1);
	}
	free_trace(&t);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s CROSSTRACE WORKLOAD\n", argv[0]);
		return 2;
	}
	ct_bin = argv[1];
	wl_bin = argv[2];
	if (!kernel_tests_possible())
		return 0;
	make_tmp(tmp, sizeof(tmp), "cli");
	RUN(command_not_found);
	RUN(output_not_writable);
	RUN(no_such_pid);
	RUN(no_statedump);
	RUN(closed_stderr);
	RUN(not_root);
	RUN(only_perfmon_falls_back_to_perf);
	RUN(btf_missing);
	RUN(tracefs_mounted_when_missing);
	RUN(sigint_keeps_everything);
	RUN(attach_pid_with_statedump);
	if (!t_failed)
		rm_rf(tmp);
	else
		fprintf(stderr, "kept %s for inspection\n", tmp);
	return test_main_end();
}
